use super::*;
use crate::oauth1::{AuthenticatedRequest, ConsumerSecret, NonceCheck, UnverifiedRequest};

fn settings() -> ContentItemSettings {
    ContentItemSettings {
        return_url: "https://lms.example.edu/lti/return?c=9".into(),
        accept_media_types: vec![LTI_LINK_MEDIA_TYPE.into(), "image/*".into()],
        accept_presentation_document_targets: vec!["iframe".into(), "window".into()],
        accept_multiple: false,
        accept_unsigned: false,
        auto_create: false,
        title: None,
        text: None,
        data: Some("opaque:state=1&x=2".into()),
    }
}

fn entry() -> ContentItem {
    let mut item =
        ContentItem::lti_link("https://tool.example.com/lti/launch/entry/1_abc", "Lecture 1 <intro>", "1_abc");
    item.text = Some("First lecture".into());
    item.thumbnail =
        Some(Thumbnail { url: "https://cdn.example.com/t/1_abc.jpg".into(), width: Some(320), height: Some(180) });
    item.placement = Some(PlacementAdvice {
        presentation_document_target: "iframe".into(),
        display_width: Some(640),
        display_height: Some(360),
    });
    item
}

#[test]
fn selection_carries_json_ld_and_echoes_data() {
    let p = selection_params(&settings(), &[entry()]).unwrap();
    assert_eq!(p[0], ("lti_message_type".into(), "ContentItemSelection".into()));
    assert_eq!(p[1], ("lti_version".into(), "LTI-1p0".into()));
    assert_eq!(p[3], ("data".into(), "opaque:state=1&x=2".into()));
    let v: Value = serde_json::from_str(&p[2].1).unwrap();
    assert_eq!(
        v,
        json!({
            "@context": "http://purl.imsglobal.org/ctx/lti/v1/ContentItem",
            "@graph": [{
                "@type": "LtiLinkItem",
                "mediaType": "application/vnd.ims.lti.v1.ltilink",
                "url": "https://tool.example.com/lti/launch/entry/1_abc",
                "title": "Lecture 1 <intro>",
                "text": "First lecture",
                "thumbnail": {"@id": "https://cdn.example.com/t/1_abc.jpg", "width": 320, "height": 180},
                "placementAdvice": {"presentationDocumentTarget": "iframe", "displayWidth": 640, "displayHeight": 360},
                "custom": {"entry_id": "1_abc"}
            }]
        })
    );
    let mut no_data = settings();
    no_data.data = None;
    assert_eq!(selection_params(&no_data, &[entry()]).unwrap().len(), 3);
    let empty = selection_params(&settings(), &[]).unwrap();
    assert_eq!(serde_json::from_str::<Value>(&empty[2].1).unwrap()["@graph"], json!([]));
}

#[test]
fn selection_is_checked_against_the_request() {
    assert_eq!(selection_params(&settings(), &[entry(), entry()]).unwrap_err(), ContentItemError::TooMany(2));
    let mut multi = settings();
    multi.accept_multiple = true;
    assert!(selection_params(&multi, &[entry(), entry()]).is_ok());

    let mut html = entry();
    html.kind = ItemKind::Content { media_type: "text/html".into() };
    assert_eq!(
        selection_params(&settings(), &[html]).unwrap_err(),
        ContentItemError::MediaTypeNotAccepted("text/html".into())
    );
    let mut png = entry();
    png.kind = ItemKind::Content { media_type: "IMAGE/png".into() };
    png.placement = None;
    assert!(selection_params(&settings(), &[png]).is_ok(), "image/* accepts image/png");

    let mut embed = entry();
    if let Some(p) = embed.placement.as_mut() {
        p.presentation_document_target = "embed".into();
    }
    assert_eq!(
        selection_params(&settings(), &[embed]).unwrap_err(),
        ContentItemError::TargetNotAccepted("embed".into())
    );

    let mut bad = entry();
    bad.url = "javascript:alert(1)".into();
    assert_eq!(selection_params(&settings(), &[bad]).unwrap_err(), ContentItemError::UrlInvalid("url"));
    let mut bad_thumb = entry();
    bad_thumb.thumbnail = Some(Thumbnail { url: "/relative.jpg".into(), width: None, height: None });
    assert_eq!(selection_params(&settings(), &[bad_thumb]).unwrap_err(), ContentItemError::UrlInvalid("thumbnail"));
}

#[test]
fn signed_selection_verifies_at_the_return_url() {
    let secret = ConsumerSecret::new("shh");
    let form = signed_selection(&settings(), &[entry()], &Signer::new("key", &secret), 1_790_000_000, "n-ci").unwrap();
    assert_eq!(form.action, "https://lms.example.edu/lti/return?c=9");
    assert_eq!(form.fields.last().map(|(k, _)| k.as_str()), Some("oauth_signature"));
    // What the platform does on receipt: verify over its return URL (query included).
    let url = RequestUrl::parse(&form.action).unwrap();
    let body = lti_core::encoding::form_encode(form.fields.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    let req: AuthenticatedRequest = UnverifiedRequest::from_form("POST", &url, &body)
        .unwrap()
        .verify(Some(&secret), 1_790_000_000)
        .unwrap()
        .confirm_nonce(NonceCheck::FirstUse)
        .unwrap();
    assert!(req.params().contains(&("c".into(), "9".into())));
    let mut bad = settings();
    bad.return_url = "not a url".into();
    assert!(matches!(
        signed_selection(&bad, &[entry()], &Signer::new("key", &secret), 1, "n"),
        Err(ContentItemError::ReturnUrl(_))
    ));
}
