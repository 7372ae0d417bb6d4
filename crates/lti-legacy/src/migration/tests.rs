use serde_json::json;

use super::*;

/// The worked example of the LTI 1.3 Migration Guide (LTI 1.1 migration claim).
fn spec_claims() -> Map<String, Value> {
    json!({
        "nonce": "172we8671fd8z",
        "iat": 1551290796,
        "exp": 1551290856,
        "iss": "https://lmsvendor.com",
        "aud": "PM48OJSfGDTAzAo",
        "sub": "3",
        "https://purl.imsglobal.org/spec/lti/claim/deployment_id": "689302",
        "https://purl.imsglobal.org/spec/lti/claim/lti1p1": {
            "user_id": "34212",
            "oauth_consumer_key": "179248902",
            "oauth_consumer_key_sign": "lWd54kFo5qU7xshAna6v8BwoBm6tmUjc6GTax6+12ps="
        }
    })
    .as_object()
    .cloned()
    .unwrap()
}

fn secret() -> ConsumerSecret {
    ConsumerSecret::new("my-lti11-secret")
}

#[test]
fn spec_example_base_string_and_signature() {
    let base = key_sign_base_string(
        "179248902",
        "689302",
        "https://lmsvendor.com",
        "PM48OJSfGDTAzAo",
        1551290856,
        "172we8671fd8z",
    );
    assert_eq!(base, "179248902&689302&https://lmsvendor.com&PM48OJSfGDTAzAo&1551290856&172we8671fd8z");
    assert_eq!(oauth_consumer_key_sign(&secret(), &base), "lWd54kFo5qU7xshAna6v8BwoBm6tmUjc6GTax6+12ps=");
}

#[test]
fn spec_example_verifies_and_exposes_the_1_1_ids() {
    let r = check(&spec_claims(), "PM48OJSfGDTAzAo", Some(&secret()));
    let c = r.verified().expect("verified");
    assert_eq!(c.user_id.as_deref(), Some("34212"));
    assert_eq!(c.oauth_consumer_key.as_deref(), Some("179248902"));
    assert_eq!(r.as_str(), "verified");
}

#[test]
fn every_input_of_the_base_string_matters() {
    let secret = secret();
    let mismatch = |claims: &Map<String, Value>, client: &str| {
        let r = check(claims, client, Some(&secret));
        assert!(r.verified().is_none());
        r
    };
    assert!(matches!(
        mismatch(&spec_claims(), "other-client"),
        Lti1p1Check::Mismatch(_, MismatchReason::SignatureDiffers)
    ));
    for (k, v) in [
        ("nonce", json!("other")),
        ("exp", json!(1551290857)),
        ("iss", json!("https://evil.example")),
        (claim::DEPLOYMENT_ID, json!("1")),
    ] {
        let mut c = spec_claims();
        c.insert(k.to_string(), v);
        assert!(
            matches!(mismatch(&c, "PM48OJSfGDTAzAo"), Lti1p1Check::Mismatch(_, MismatchReason::SignatureDiffers)),
            "{k}"
        );
    }
    let mut c = spec_claims();
    c[claim::LTI1P1]["oauth_consumer_key"] = json!("179248903");
    assert!(matches!(mismatch(&c, "PM48OJSfGDTAzAo"), Lti1p1Check::Mismatch(_, MismatchReason::SignatureDiffers)));
    let r = check(&spec_claims(), "PM48OJSfGDTAzAo", Some(&ConsumerSecret::new("wrong")));
    assert!(matches!(r, Lti1p1Check::Mismatch(_, MismatchReason::SignatureDiffers)));
    let mut c = spec_claims();
    c[claim::LTI1P1]["oauth_consumer_key_sign"] = json!("not base64!");
    assert!(matches!(mismatch(&c, "PM48OJSfGDTAzAo"), Lti1p1Check::Mismatch(_, MismatchReason::SignatureDiffers)));
}

#[test]
fn float_exp_and_unpadded_sign_still_verify() {
    let mut c = spec_claims();
    c.insert("exp".into(), json!(1551290856.0));
    c[claim::LTI1P1]["oauth_consumer_key_sign"] = json!("lWd54kFo5qU7xshAna6v8BwoBm6tmUjc6GTax6+12ps");
    assert!(check(&c, "PM48OJSfGDTAzAo", Some(&secret())).verified().is_some());
}

#[test]
fn absent_unknown_and_incomplete_are_told_apart() {
    let mut none = spec_claims();
    none.remove(claim::LTI1P1);
    assert_eq!(check(&none, "PM48OJSfGDTAzAo", Some(&secret())), Lti1p1Check::Absent(None));
    let mut unsigned = spec_claims();
    unsigned[claim::LTI1P1].as_object_mut().unwrap().remove("oauth_consumer_key_sign");
    let r = check(&unsigned, "PM48OJSfGDTAzAo", Some(&secret()));
    assert!(matches!(&r, Lti1p1Check::Absent(Some(c)) if c.user_id.as_deref() == Some("34212")));
    assert!(r.verified().is_none());
    let r = check(&spec_claims(), "PM48OJSfGDTAzAo", None);
    assert!(matches!(r, Lti1p1Check::Mismatch(_, MismatchReason::UnknownConsumerKey)));
    let mut nokey = spec_claims();
    nokey[claim::LTI1P1].as_object_mut().unwrap().remove("oauth_consumer_key");
    assert!(matches!(
        check(&nokey, "PM48OJSfGDTAzAo", Some(&secret())),
        Lti1p1Check::Mismatch(_, MismatchReason::UnknownConsumerKey)
    ));
    for k in ["nonce", "iss", "exp", claim::DEPLOYMENT_ID] {
        let mut c = spec_claims();
        c.remove(k);
        assert!(
            matches!(
                check(&c, "PM48OJSfGDTAzAo", Some(&secret())),
                Lti1p1Check::Mismatch(_, MismatchReason::ClaimsIncomplete)
            ),
            "{k}"
        );
    }
    let mut not_object = spec_claims();
    not_object.insert(claim::LTI1P1.into(), json!("x"));
    assert_eq!(check(&not_object, "PM48OJSfGDTAzAo", Some(&secret())), Lti1p1Check::Absent(None));
}

#[test]
fn claim_exposes_context_and_resource_link() {
    let mut c = spec_claims();
    c[claim::LTI1P1]["context_id"] = json!("ctx-11");
    c[claim::LTI1P1]["resource_link_id"] = json!(42);
    let r = check(&c, "PM48OJSfGDTAzAo", Some(&secret()));
    let claim = r.verified().unwrap();
    assert_eq!(claim.context_id.as_deref(), Some("ctx-11"));
    assert_eq!(claim.resource_link_id.as_deref(), Some("42"));
}
