#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]
//! lti-legacy against a third-party OAuth 1.0a implementation: every vector in
//! `fixtures/oauth1_vectors.json` was signed by oauthlib (`fixtures/gen_oauth1.py`), not by
//! our signer. Valid launches go through the whole pipeline (verify → nonce → parameters →
//! lti-core's user-id and role rules); each rejection reason is shown on a real signed launch
//! with one thing wrong; our signer reproduces oauthlib's signatures byte for byte.

use std::collections::{BTreeMap, HashSet};

use lti_core::claims as claim;
use lti_core::url::HttpUrl;
use lti_policy::registration::{Registration, RegistrationInput};
use lti_policy::roles::{resolve_role, ToolRole};
use lti_policy::user_id::{resolve_user_id, UserIdSource};
use serde::Deserialize;
use serde_json::{json, Map, Value};

use lti_legacy::error::{Coded, ErrorCode, OAuthError};
use lti_legacy::oauth1::{
    body_hash, AuthenticatedRequest, ConsumerSecret, NonceCheck, RequestUrl, Signer, UnverifiedRequest,
};
use lti_legacy::params::{Lti11Launch, MessageType, ParseOptions};

const VECTORS: &str = include_str!("fixtures/oauth1_vectors.json");

#[derive(Deserialize)]
struct Doc {
    launches: Vec<LaunchVector>,
    content_item_selection: SelectionVector,
    body_hash: BodyHashVector,
}

#[derive(Deserialize)]
struct LaunchVector {
    name: String,
    method: String,
    public_url: String,
    received_url: String,
    body: String,
    consumer_key: String,
    secret: String,
    timestamp: i64,
    signature_method: String,
    base_string: String,
}

#[derive(Deserialize)]
struct SelectionVector {
    url: String,
    params: Vec<(String, String)>,
    consumer_key: String,
    secret: String,
    timestamp: i64,
    nonce: String,
    signed: Vec<(String, String)>,
    oauth_signature: String,
}

#[derive(Deserialize)]
struct BodyHashVector {
    url: String,
    body: String,
    consumer_key: String,
    secret: String,
    timestamp: i64,
    nonce: String,
    oauth_body_hash: String,
    oauth_signature: String,
}

fn doc() -> Doc {
    serde_json::from_str(VECTORS).expect("fixture parses")
}

fn vector(name: &str) -> LaunchVector {
    doc().launches.into_iter().find(|v| v.name == name).unwrap_or_else(|| panic!("no vector {name}"))
}

impl LaunchVector {
    /// The tool's configured public origin (what an admin enters), and the URL the worker saw.
    fn url(&self) -> RequestUrl {
        let origin = HttpUrl::parse(&self.public_url).unwrap().origin();
        RequestUrl::public(&origin, &self.received_url).unwrap()
    }

    fn unverified(&self) -> Result<UnverifiedRequest, OAuthError> {
        UnverifiedRequest::from_form(&self.method, &self.url(), &self.body)
    }

    fn verify_at(&self, now: i64) -> Result<AuthenticatedRequest, OAuthError> {
        let secret = ConsumerSecret::new(self.secret.as_str());
        self.unverified()?.verify(Some(&secret), now)?.confirm_nonce(NonceCheck::FirstUse)
    }

    fn authenticated(&self) -> AuthenticatedRequest {
        self.verify_at(self.timestamp).unwrap_or_else(|e| panic!("{}: {e}", self.name))
    }

    fn launch(&self, opts: ParseOptions) -> Lti11Launch {
        Lti11Launch::from_request(self.authenticated(), opts).unwrap_or_else(|e| panic!("{}: {e}", self.name))
    }
}

#[test]
fn every_hmac_sha1_vector_verifies_with_oauthlibs_base_string() {
    let mut n = 0;
    for v in doc().launches.iter().filter(|v| v.signature_method == "HMAC-SHA1") {
        let req = v.unverified().unwrap_or_else(|e| panic!("{}: {e}", v.name));
        assert_eq!(req.base_string(), v.base_string, "{}: base string differs from oauthlib's", v.name);
        assert_eq!(req.consumer_key(), v.consumer_key);
        let secret = ConsumerSecret::new(v.secret.as_str());
        let verified = req.verify(Some(&secret), v.timestamp).unwrap_or_else(|e| panic!("{}: {e}", v.name));
        assert_eq!(verified.nonce_expires_at(), v.timestamp + 301);
        verified.confirm_nonce(NonceCheck::FirstUse).unwrap();
        n += 1;
    }
    assert_eq!(n, 9, "all HMAC-SHA1 vectors ran");
}

#[test]
fn valid_launch_becomes_a_normalised_launch() {
    let l = vector("valid_launch").launch(ParseOptions::default());
    assert_eq!(l.message_type, MessageType::BasicLaunch);
    assert_eq!(l.consumer_key, "kaf-consumer-key");
    assert_eq!(l.user_id.as_deref(), Some("292832126"));
    assert_eq!(l.lti11_roles, ["Instructor", "urn:lti:instrole:ims/lis/Administrator"]);
    assert_eq!(
        l.roles,
        [
            "http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor",
            "http://purl.imsglobal.org/vocab/lis/v2/institution/person#Administrator"
        ]
    );
    assert_eq!(resolve_role(&l.roles, &BTreeMap::new()), Ok(ToolRole::Admin));
    let ctx = l.context.as_ref().unwrap();
    assert_eq!(
        (ctx.id.as_str(), ctx.title.as_deref(), ctx.label.as_deref()),
        ("456434513", Some("Design of Personal Environments"), Some("SI182"))
    );
    assert_eq!(l.resource_link_id.as_deref(), Some("rl-429785226"));
    assert_eq!(l.person.name_full.as_deref(), Some("Jane Q. Public"));
    assert_eq!(l.person.email.as_deref(), Some("jane@school.example"));
    assert_eq!(l.person.sourcedid.as_deref(), Some("school.example:jane"));
    assert_eq!(l.custom.get("username").map(String::as_str), Some("jpublic"));
    assert_eq!(l.ext.get("lms").map(String::as_str), Some("moodle-2"));
    assert_eq!(l.return_url.as_deref(), Some("https://lms.example.edu/course/view.php?id=7"));
    let o = l.outcome_service.as_ref().unwrap();
    assert_eq!(o.service_url, "https://lms.example.edu/mod/lti/service.php");
    assert_eq!(o.result_sourcedid, r#"{"data":{"instanceid":"7","userid":"4"},"hash":"ab12"}"#);
    assert_eq!(l.param("oauth_callback"), None, "protocol parameters are not launch parameters");
}

#[test]
fn proxy_launch_verifies_only_over_the_configured_public_url() {
    let v = vector("proxy_https_public");
    assert!(v.received_url.starts_with("http://10.0.0.5:8080/"));
    v.authenticated();
    // What a worker that trusted the URL it saw would compute: refused.
    let seen = RequestUrl::parse(&v.received_url).unwrap();
    let err = UnverifiedRequest::from_form("POST", &seen, &v.body)
        .unwrap()
        .verify(Some(&ConsumerSecret::new(v.secret.as_str())), v.timestamp)
        .unwrap_err();
    assert_eq!(err, OAuthError::SignatureInvalid);
}

#[test]
fn duplicate_parameters_are_all_signed() {
    let l = vector("duplicate_params").launch(ParseOptions::default());
    let tags: Vec<&str> = l.params().iter().filter(|(k, _)| k == "tag").map(|(_, v)| v.as_str()).collect();
    assert_eq!(tags, ["b", "a", "a"]);
    assert_eq!(l.param("tag"), None, "ambiguous value is never picked");
    assert_eq!(l.param("ext_empty"), None);
}

#[test]
fn unicode_names_and_values_survive() {
    let l = vector("unicode").launch(ParseOptions::default());
    assert_eq!(l.person.name_full.as_deref(), Some("Zoë Ångström 日本 🎬"));
    assert_eq!(l.param("context_title"), Some("Café & Crème = 100% +1 ~x*y'z!(a)"));
    assert_eq!(l.custom.get("ключ").map(String::as_str), Some("значение"));
    assert_eq!(l.custom.get("reserved").map(String::as_str), Some("a+b c/d?e#f[g]h@i$j,k;l:m"));
}

#[test]
fn query_parameters_are_signed_with_the_body() {
    let v = vector("query_and_body");
    let l = v.launch(ParseOptions::default());
    assert_eq!(l.param("module"), Some("media"));
    let xs: Vec<&str> = l.params().iter().filter(|(k, _)| k == "x").map(|(_, v)| v.as_str()).collect();
    assert_eq!(xs, [" y", "z", "from body"]);
    // Dropping the query (a proxy that strips it) breaks the signature.
    let bare = RequestUrl::public("https://tool.example.com", "/lti/launch").unwrap();
    let err = UnverifiedRequest::from_form("POST", &bare, &v.body)
        .unwrap()
        .verify(Some(&ConsumerSecret::new(v.secret.as_str())), v.timestamp)
        .unwrap_err();
    assert_eq!(err, OAuthError::SignatureInvalid);
}

#[test]
fn host_case_and_ports_normalise_like_oauthlib() {
    vector("host_case_and_port").authenticated();
    vector("default_port").authenticated();
}

#[test]
fn content_item_request_reads_settings() {
    let l = vector("content_item_request").launch(ParseOptions::default());
    assert_eq!(l.message_type, MessageType::ContentItemSelectionRequest);
    let ci = l.content_item.as_ref().unwrap();
    assert_eq!(ci.return_url, "https://lms.example.edu/lti/return?c=9");
    assert_eq!(ci.accept_media_types, ["application/vnd.ims.lti.v1.ltilink", "text/html"]);
    assert_eq!(ci.accept_presentation_document_targets, ["iframe", "window"]);
    assert!(!ci.accept_multiple && ci.auto_create);
    assert_eq!(ci.data.as_deref(), Some("opaque:state=1&x=2"));
    assert_eq!(l.to_lti13_claims()[claim::MESSAGE_TYPE], "LtiDeepLinkingRequest");
}

#[test]
fn blackboard_values_decode_only_when_the_registration_says_blackboard() {
    let v = vector("blackboard_base64");
    let plain = v.launch(ParseOptions::default());
    assert_eq!(plain.user_id.as_deref(), Some("YmItdXNlci00Mg=="));
    let bb = v.launch(ParseOptions { blackboard_base64: true });
    assert_eq!(bb.user_id.as_deref(), Some("bb-user-42"));
    assert_eq!(bb.context.as_ref().unwrap().title.as_deref(), Some("Biologie für Anfänger"));
    assert_eq!(bb.person.name_full.as_deref(), Some("Jürgen Groß"));
    assert_eq!(bb.person.name_given.as_deref(), Some("Jürgen"));
    assert_eq!(bb.person.name_family.as_deref(), Some("Groß"), "sent plain, kept");
    assert_eq!(bb.context.as_ref().unwrap().label.as_deref(), Some("QklPMTAx"), "not a parameter Blackboard encodes");
}

// ---- one test per rejection reason, each on a real signed launch with one thing wrong ----

#[test]
fn rejects_wrong_secret() {
    let v = vector("valid_launch");
    let err =
        v.unverified().unwrap().verify(Some(&ConsumerSecret::new("s3cr3t&with/odd chars ")), v.timestamp).unwrap_err();
    assert_eq!(err, OAuthError::SignatureInvalid);
    assert_eq!(err.code(), ErrorCode::OauthSignatureInvalid);
    assert_eq!(err.code().status(), 401);
}

#[test]
fn rejects_tampered_parameter() {
    let mut v = vector("valid_launch");
    v.body = v.body.replace("roles=Instructor%2C", "roles=Administrator%2C");
    assert_ne!(v.body, vector("valid_launch").body);
    assert_eq!(v.verify_at(v.timestamp).unwrap_err(), OAuthError::SignatureInvalid);
    let mut added = vector("valid_launch");
    added.body.push_str("&custom_username=admin");
    assert_eq!(added.verify_at(added.timestamp).unwrap_err(), OAuthError::SignatureInvalid);
}

#[test]
fn rejects_timestamp_too_old() {
    let v = vector("valid_launch");
    assert!(v.verify_at(v.timestamp + 300).is_ok());
    let err = v.verify_at(v.timestamp + 301).unwrap_err();
    assert_eq!(err, OAuthError::TimestampExpired(301));
    assert_eq!(err.code(), ErrorCode::OauthTimestampInvalid);
}

#[test]
fn rejects_timestamp_too_far_ahead() {
    let v = vector("valid_launch");
    assert!(v.verify_at(v.timestamp - 300).is_ok());
    let err = v.verify_at(v.timestamp - 301).unwrap_err();
    assert_eq!(err, OAuthError::TimestampInFuture(301));
    assert_eq!(err.code(), ErrorCode::OauthTimestampInvalid);
}

#[test]
fn rejects_replayed_nonce() {
    // The caller's store: insert-if-absent.
    let mut store: HashSet<String> = HashSet::new();
    let v = vector("valid_launch");
    let secret = ConsumerSecret::new(v.secret.as_str());
    let mut launch = || {
        let verified = v.unverified().unwrap().verify(Some(&secret), v.timestamp + 10).unwrap();
        let check = if store.insert(verified.nonce_key()) { NonceCheck::FirstUse } else { NonceCheck::SeenBefore };
        verified.confirm_nonce(check)
    };
    assert!(launch().is_ok());
    let err = launch().unwrap_err();
    assert_eq!(err, OAuthError::NonceReused);
    assert_eq!(err.code(), ErrorCode::OauthNonceReused);
}

#[test]
fn rejects_unknown_consumer_key() {
    let v = vector("valid_launch");
    // The caller's registration lookup by consumer key found nothing.
    let registrations: BTreeMap<&str, ConsumerSecret> = BTreeMap::from([("another-key", ConsumerSecret::new("x"))]);
    let req = v.unverified().unwrap();
    let err = req.verify(registrations.get("kaf-consumer-key"), v.timestamp).unwrap_err();
    assert_eq!(err, OAuthError::ConsumerUnknown("kaf-consumer-key".into()));
    // Answered like a wrong signature: registered keys cannot be probed.
    assert_eq!(err.code(), ErrorCode::OauthSignatureInvalid);
}

#[test]
fn rejects_other_signature_methods_even_when_correctly_signed() {
    for (name, method) in [("hmac_sha256", "HMAC-SHA256"), ("plaintext", "PLAINTEXT")] {
        let err = vector(name).unverified().unwrap_err();
        assert_eq!(err, OAuthError::SignatureMethodUnsupported(method.into()), "{name}");
        assert_eq!(err.code(), ErrorCode::OauthInvalid);
    }
}

#[test]
fn rejects_wrong_launch_path() {
    let v = vector("valid_launch");
    let other = RequestUrl::public("https://tool.example.com", "/hosted/index/my-media").unwrap();
    let err = UnverifiedRequest::from_form("POST", &other, &v.body)
        .unwrap()
        .verify(Some(&ConsumerSecret::new(v.secret.as_str())), v.timestamp)
        .unwrap_err();
    assert_eq!(err, OAuthError::SignatureInvalid);
}

// ---- our signer against oauthlib's signatures ----

#[test]
fn content_item_selection_signature_matches_oauthlib() {
    let s = doc().content_item_selection;
    let secret = ConsumerSecret::new(s.secret.as_str());
    let url = RequestUrl::parse(&s.url).unwrap();
    let ours = Signer::new(&s.consumer_key, &secret).sign_form("POST", &url, s.params.clone(), s.timestamp, &s.nonce);
    let sig = ours.iter().find(|(k, _)| k == "oauth_signature").map(|(_, v)| v.as_str());
    assert_eq!(sig, Some(s.oauth_signature.as_str()));
    let mut a = ours.clone();
    let mut b = s.signed.clone();
    a.sort();
    b.sort();
    assert_eq!(a, b, "same fields as oauthlib posts");
}

#[test]
fn body_hash_and_header_signature_match_oauthlib() {
    let b = doc().body_hash;
    assert_eq!(body_hash(b.body.as_bytes()), b.oauth_body_hash);
    let secret = ConsumerSecret::new(b.secret.as_str());
    let url = RequestUrl::parse(&b.url).unwrap();
    let header =
        Signer::new(&b.consumer_key, &secret).sign_body("POST", &url, b.body.as_bytes(), b.timestamp, &b.nonce);
    let expect_sig = format!("oauth_signature=\"{}\"", lti_core::encoding::percent_encode(&b.oauth_signature));
    assert!(header.contains(&expect_sig), "{header}");
    let expect_hash = format!("oauth_body_hash=\"{}\"", lti_core::encoding::percent_encode(&b.oauth_body_hash));
    assert!(header.contains(&expect_hash), "{header}");
    // A different body gives a different hash and so a different signature.
    let other = Signer::new(&b.consumer_key, &secret).sign_body("POST", &url, b"<x/>", b.timestamp, &b.nonce);
    assert!(!other.contains(&expect_sig));
}

// ---- the same person across the upgrade, through lti-core's user-id rules ----

fn registration(attr: &str, claim_name: &str, prop: &str) -> Registration {
    let body = json!({
        "issuer": "https://lms.example.edu",
        "lti13ClientId": "client-1",
        "name": "LMS",
        "lti13PlatformOidcAuthUrl": "https://lms.example.edu/auth",
        "lti13AuthTokenUrl": "https://lms.example.edu/token",
        "lti13KeysUrl": "https://lms.example.edu/jwks",
        "ltiUserIdAttribute": attr,
        "lti13UserIdClaim": claim_name,
        "lti13UserIdClaimProperty": prop,
    });
    RegistrationInput::new(&body).unwrap().validate("reg-1", None, "2026-01-01T00:00:00Z", false).unwrap()
}

/// The same person's LTI 1.3 launch after the upgrade, as a Moodle-like platform sends it: a new
/// `sub`, the 1.1 id in the lti1p1 claim, the same SIS id and custom parameter.
fn lti13_claims_after_upgrade() -> Map<String, Value> {
    json!({
        "sub": "a7b0c3d2-1e9f-4bbf-8a55-0c9d0e1f2a3b",
        "https://purl.imsglobal.org/spec/lti/claim/lis": {"person_sourcedid": "school.example:jane"},
        "https://purl.imsglobal.org/spec/lti/claim/custom": {"username": "jpublic"},
        "https://purl.imsglobal.org/spec/lti/claim/lti1p1": {"user_id": "292832126"},
    })
    .as_object()
    .cloned()
    .unwrap()
}

#[test]
fn lti_core_user_id_rules_give_the_same_user_before_and_after_the_upgrade() {
    let before = vector("valid_launch").launch(ParseOptions::default()).to_lti13_claims();
    let after = lti13_claims_after_upgrade();
    for (attr, claim_name, prop, want, source) in [
        ("lis_person_sourcedid", "", "", "school.example:jane", UserIdSource::LtiUserIdAttribute),
        ("custom_username", "", "", "jpublic", UserIdSource::LtiUserIdAttribute),
        ("", claim::LTI1P1, "user_id", "292832126", UserIdSource::Lti13UserIdClaim),
        ("", claim::CUSTOM, "username", "jpublic", UserIdSource::Lti13UserIdClaim),
    ] {
        let reg = registration(attr, claim_name, prop);
        let b = resolve_user_id(&before, &reg).unwrap_or_else(|e| panic!("{attr}{claim_name}: {e}"));
        let a = resolve_user_id(&after, &reg).unwrap_or_else(|e| panic!("{attr}{claim_name}: {e}"));
        assert_eq!(b, (want.to_string(), source), "1.1 launch under {attr}{claim_name}");
        assert_eq!(a, b, "same user after the upgrade under {attr}{claim_name}");
    }
    // With no rule configured, `sub` is used: the 1.1 user_id and the 1.3 sub differ. This is
    // why the user-id guide exists; the admin report should say so.
    let reg = registration("", "", "");
    assert_eq!(resolve_user_id(&before, &reg).unwrap().0, "292832126");
    assert_ne!(resolve_user_id(&after, &reg).unwrap().0, "292832126");
}

#[test]
fn any_signed_parameter_can_be_the_user_id_attribute() {
    let before = vector("valid_launch").launch(ParseOptions::default()).to_lti13_claims();
    let reg = registration("tool_consumer_instance_guid", "", "");
    assert_eq!(resolve_user_id(&before, &reg).unwrap().0, "lms.example.edu");
    let reg = registration("ext_lms", "", "");
    assert_eq!(resolve_user_id(&before, &reg).unwrap().0, "moodle-2");
    // A configured attribute the launch lacks is refused, never a silent fallback to sub.
    let reg = registration("custom_missing", "", "");
    assert!(resolve_user_id(&before, &reg).is_err());
}

#[test]
fn every_cause_answers_with_a_code_of_the_vocabulary() {
    use lti_legacy::error::{ContentItemError, OutcomeError, ParamsError};
    let causes: Vec<Box<dyn Coded>> = vec![
        Box::new(OAuthError::ParamMissing("oauth_nonce")),
        Box::new(OAuthError::ParamRepeated("oauth_nonce".into())),
        Box::new(OAuthError::SignatureMethodUnsupported("PLAINTEXT".into())),
        Box::new(OAuthError::VersionUnsupported("2.0".into())),
        Box::new(OAuthError::ConsumerUnknown("k".into())),
        Box::new(OAuthError::SignatureInvalid),
        Box::new(OAuthError::TimestampExpired(301)),
        Box::new(OAuthError::TimestampInFuture(301)),
        Box::new(OAuthError::NonceReused),
        Box::new(OAuthError::TooLarge("body")),
        Box::new(ParamsError::MessageTypeUnsupported("x".into())),
        Box::new(ParamsError::VersionUnsupported("x".into())),
        Box::new(ParamsError::Missing("resource_link_id")),
        Box::new(OutcomeError::ScoreInvalid("NaN")),
        Box::new(OutcomeError::ReplyDoctype),
        Box::new(OutcomeError::PlatformFailure { code_major: "failure".into(), description: "no".into() }),
        Box::new(ContentItemError::TooMany(2)),
    ];
    for c in causes {
        let code = c.code();
        assert!(ErrorCode::ALL.contains(&code), "{c}");
        assert!(matches!(code.status(), 400 | 401 | 413 | 422 | 502), "{c}: {}", code.status());
        assert!(code.message().ends_with('.') && code.message().len() > 20, "{c}");
    }
}
