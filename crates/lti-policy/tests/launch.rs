#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]
//! The launch pipeline end to end — `lti-core` verifies and validates, `lti-policy` decides —
//! with native crypto: one test per rejection reason asserting the exact error and code,
//! valid launches shaped like each LMS's tokens, sessions, registrations, and the RS256/ES256
//! vectors shared with the worker's WebCrypto provider.

use std::collections::BTreeMap;

use lti_core::crypto::{Es256Verifier, Rs256Verifier};
use lti_core::error::{ClaimsError, LoginError, SignatureError, StateError, TokenError};
use lti_core::jwk::{EcPublicJwk, JwkSet, RsaPublicJwk};
use lti_core::jws::sign_rs256;
use lti_core::launch::{MessageType, UnverifiedLaunch};
use lti_core::native::{NativeEcSigner, NativeSigner, NativeVerifier};
use lti_core::registration::DeploymentPolicy;
use lti_core::state::{
    begin_login, cookie_value, Binding, ConsumedState, LoginParams, StateHandle, StateKey, ToolConfig,
};
use lti_core::url::HttpUrl;
use lti_policy::error::{AccessError, Coded, ErrorCode};
use lti_policy::registration::{Registration, RegistrationInput};
use lti_policy::roles::{resolve_role, ToolRole};
use lti_policy::session::{verify_session, SessionClaims};
use lti_policy::{category_id, Authorize, Launch};
use serde_json::{json, Value};

const NOW: i64 = 1_790_000_000;
const ISS: &str = "https://lms.example.edu";
const CLIENT: &str = "client-123";
const DEP: &str = "dep-1";
const TOOL: &str = "https://tool.example.com";
const PLATFORM_PEM: &str = include_str!("../../lti-core/fixtures/platform_key.pem");
const STRANGER_PEM: &str = include_str!("../../lti-core/fixtures/stranger_key.pem");
const PLATFORM_JWKS: &str = include_str!("../../lti-core/fixtures/platform_jwks.json");
const PADDED_JWKS: &str = include_str!("../../lti-core/fixtures/platform_jwks_padded.json");
const VECTORS: &str = include_str!("../../lti-core/fixtures/rs256_vectors.json");
const ES256_VECTORS: &str = include_str!("../../lti-core/fixtures/es256_vectors.json");
const SESSION_PEM: &str = include_str!("../../lti-core/fixtures/tool_session_key_p256.pem");

fn block<F: std::future::Future>(f: F) -> F::Output {
    pollster::block_on(f)
}

fn platform() -> NativeSigner {
    NativeSigner::from_pkcs8_pem("platform-key-1", PLATFORM_PEM).unwrap()
}

fn keys() -> JwkSet {
    JwkSet::parse(PLATFORM_JWKS.as_bytes()).unwrap()
}

fn tool() -> ToolConfig {
    ToolConfig { base_url: HttpUrl::parse(TOOL).unwrap() }
}

fn skey() -> StateKey {
    StateKey::derive("test-secret-0123456789-0123456789-abcdef")
}

fn reg() -> Registration {
    let body = json!({
        "issuer": ISS, "lti13ClientId": CLIENT, "name": "Test LMS",
        "lti13PlatformOidcAuthUrl": "https://lms.example.edu/auth",
        "lti13AuthTokenUrl": "https://lms.example.edu/token",
        "lti13KeysUrl": "https://lms.example.edu/jwks",
        "deploymentIds": [DEP],
    });
    RegistrationInput::new(&body).unwrap().validate("reg-1", None, "2026-11-22T00:00:00Z", false).unwrap()
}

fn login_params() -> Vec<(String, String)> {
    vec![
        ("iss".into(), ISS.into()),
        ("login_hint".into(), "user-7".into()),
        ("target_link_uri".into(), format!("{TOOL}/hosted/index/my-media")),
        ("lti_message_hint".into(), "opaque-hint".into()),
        ("client_id".into(), CLIENT.into()),
        ("lti_deployment_id".into(), DEP.into()),
    ]
}

struct Login {
    state: String,
    nonce: String,
    cookie_name: String,
    cookie_value: String,
}

fn login_with(r: &Registration, seed: u8) -> Login {
    let params = LoginParams::from_pairs(&login_params()).unwrap();
    let random = [seed; 64];
    let (redirect, _) =
        begin_login(&params, std::slice::from_ref(r), &tool(), "/lti/launch", &skey(), &random, "kv", NOW).unwrap();
    Login {
        nonce: redirect.record.nonce.expose().to_string(),
        state: redirect.state.clone(),
        cookie_name: redirect.cookie_name.clone(),
        cookie_value: redirect.cookie_value.clone(),
    }
}

fn consumed(l: &Login) -> ConsumedState {
    StateHandle::verify(&l.state, &skey(), NOW + 5).unwrap().consumed(true).unwrap()
}

fn claims(nonce: &str) -> Value {
    json!({
        "iss": ISS, "aud": CLIENT, "sub": "user-7", "exp": NOW + 300, "iat": NOW - 2, "nonce": nonce,
        "name": "Ada Lovelace",
        "https://purl.imsglobal.org/spec/lti/claim/message_type": "LtiResourceLinkRequest",
        "https://purl.imsglobal.org/spec/lti/claim/version": "1.3.0",
        "https://purl.imsglobal.org/spec/lti/claim/deployment_id": DEP,
        "https://purl.imsglobal.org/spec/lti/claim/target_link_uri": format!("{TOOL}/hosted/index/my-media"),
        "https://purl.imsglobal.org/spec/lti/claim/resource_link": {"id": "rl-1", "title": "Week 1 videos"},
        "https://purl.imsglobal.org/spec/lti/claim/roles": ["http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor"],
        "https://purl.imsglobal.org/spec/lti/claim/context": {"id": "course-101", "label": "BIO101", "title": "Cell Biology"},
    })
}

/// `reg()` with some fields of its registration body changed.
fn reg_with(changes: Value) -> Registration {
    let mut body = json!({
        "issuer": ISS, "lti13ClientId": CLIENT, "name": "Test LMS",
        "lti13PlatformOidcAuthUrl": "https://lms.example.edu/auth",
        "lti13AuthTokenUrl": "https://lms.example.edu/token",
        "lti13KeysUrl": "https://lms.example.edu/jwks",
        "deploymentIds": [DEP],
    });
    for (k, v) in changes.as_object().unwrap() {
        body[k] = v.clone();
    }
    let id = changes.get("id").and_then(Value::as_str).unwrap_or("reg-1");
    RegistrationInput::new(&body).unwrap().validate(id, None, "2026-11-22T00:00:00Z", false).unwrap()
}

/// Why the pipeline stopped: a protocol stage (`lti-core`) or the tool's policy.
#[derive(Debug, PartialEq)]
enum LaunchError {
    State(StateError),
    Token(TokenError),
    Signature(SignatureError),
    Claims(ClaimsError),
    Access(AccessError),
}

macro_rules! stage {
    ($($e:ident => $v:ident),*) => {$(
        impl From<$e> for LaunchError {
            fn from(e: $e) -> Self {
                Self::$v(e)
            }
        }
    )*};
}
stage!(StateError => State, TokenError => Token, SignatureError => Signature, ClaimsError => Claims, AccessError => Access);

impl LaunchError {
    fn code(&self) -> ErrorCode {
        match self {
            Self::State(e) => e.code(),
            Self::Token(e) => e.code(),
            Self::Signature(e) => e.code(),
            Self::Claims(e) => e.code(),
            Self::Access(e) => e.code(),
        }
    }
}

fn sign(c: &Value) -> String {
    block(sign_rs256(&platform(), "JWT", c)).unwrap()
}

fn run(token: &str, l: &Login, r: &Registration, keys: &JwkSet) -> Result<Launch, LaunchError> {
    let st = consumed(l);
    let unverified = UnverifiedLaunch::parse(token)?;
    let verified = block(unverified.verify(keys, &NativeVerifier))?;
    let validated = verified.validate(&st, r, NOW)?;
    Ok(validated.authorize(r, &tool(), &st.record().target_link_uri)?)
}

/// Sign `edit(claims)` with the platform key and run the whole pipeline.
fn launch_with(r: &Registration, edit: impl FnOnce(&mut Value)) -> Result<Launch, LaunchError> {
    let l = login_with(r, 7);
    let mut c = claims(&l.nonce);
    edit(&mut c);
    run(&sign(&c), &l, r, &keys())
}

fn code(r: Result<Launch, LaunchError>) -> ErrorCode {
    r.expect_err("launch must be rejected").code()
}

fn set(c: &mut Value, k: &str, v: Value) {
    c.as_object_mut().unwrap().insert(k.into(), v);
}

fn del(c: &mut Value, k: &str) {
    c.as_object_mut().unwrap().remove(k);
}

const MT: &str = "https://purl.imsglobal.org/spec/lti/claim/message_type";
const ROLES: &str = "https://purl.imsglobal.org/spec/lti/claim/roles";

// ---------------------------------------------------------------- valid launches

#[test]
fn valid_moodle_shaped_launch() {
    let l = launch_with(&reg(), |_| {}).unwrap();
    assert_eq!(l.user_id, "user-7");
    assert_eq!(l.role, ToolRole::Admin);
    assert_eq!(l.module.code, "mymedia");
    assert_eq!(l.context_id.as_deref(), Some("course-101"));
    assert_eq!(l.category, category_id("reg-1", DEP, "course-101"));
    assert_eq!(l.resource_link_id.as_deref(), Some("rl-1"));
    assert_eq!(l.message_type, MessageType::ResourceLink);
}

#[test]
fn valid_canvas_shaped_launch_with_lti1p1_and_custom_claims() {
    let l = launch_with(&reg(), |c| {
        set(c, "https://purl.imsglobal.org/spec/lti/claim/custom", json!({"canvas_course_id": "42"}));
        set(c, "https://purl.imsglobal.org/spec/lti/claim/lti1p1", json!({"user_id": "abc123"}));
        set(
            c,
            ROLES,
            json!([
                "http://purl.imsglobal.org/vocab/lis/v2/institution/person#Instructor",
                "http://purl.imsglobal.org/vocab/lis/v2/membership#Learner",
                "http://purl.imsglobal.org/vocab/lis/v2/system/person#User"
            ]),
        );
        set(c, "exp", json!((NOW + 3600) as f64 + 0.5)); // fractional NumericDate
    })
    .unwrap();
    assert_eq!(l.role, ToolRole::Viewer, "context role decides over institution role");
}

#[test]
fn valid_blackboard_shaped_launch_array_aud_with_azp() {
    let l = launch_with(&reg(), |c| {
        set(c, "aud", json!([CLIENT]));
        set(c, "azp", json!(CLIENT));
        set(c, ROLES, json!(["http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"]));
    })
    .unwrap();
    assert_eq!(l.role, ToolRole::Viewer);
}

#[test]
fn valid_brightspace_shaped_launch_ta_and_nbf() {
    let l = launch_with(&reg(), |c| {
        set(c, "nbf", json!(NOW - 10));
        set(c, ROLES, json!(["http://purl.imsglobal.org/vocab/lis/v2/membership/Instructor#TeachingAssistant"]));
        set(
            c,
            "https://purl.imsglobal.org/spec/lti/claim/target_link_uri",
            json!(format!("{TOOL}/hosted/index/course-gallery/")),
        );
    })
    .unwrap();
    assert_eq!(l.role, ToolRole::Moderator);
    assert_eq!(l.module.code, "coursegallery");
}

#[test]
fn valid_schoology_shaped_launch_array_aud_short_roles_padded_jwk() {
    let padded = JwkSet::parse(PADDED_JWKS.as_bytes()).unwrap();
    assert_eq!(padded.keys().len(), 1, "padded, standard-alphabet n with a leading zero byte is normalised");
    let r = reg();
    let lg = login_with(&r, 9);
    let mut c = claims(&lg.nonce);
    set(&mut c, "aud", json!([CLIENT, "other-audience"]));
    set(&mut c, "azp", json!(CLIENT));
    set(&mut c, ROLES, json!(["Instructor"]));
    let l = run(&sign(&c), &lg, &r, &padded).unwrap();
    assert_eq!(l.role, ToolRole::Admin);
}

#[test]
fn deep_linking_launch_opens_the_picker() {
    let l = launch_with(&reg(), |c| {
        set(c, MT, json!("LtiDeepLinkingRequest"));
        del(c, "https://purl.imsglobal.org/spec/lti/claim/resource_link");
        set(
            c,
            "https://purl.imsglobal.org/spec/lti-dl/claim/deep_linking_settings",
            json!({
            "deep_link_return_url": "https://lms.example.edu/dl", "accept_types": ["ltiResourceLink"],
            "accept_presentation_document_targets": ["iframe", "window"], "data": "opaque"}),
        );
    })
    .unwrap();
    assert_eq!(l.module.code, "browseembed");
    assert_eq!(l.resource_link_id, None);
}

#[test]
fn submission_review_launch() {
    let l = launch_with(&reg(), |c| {
        set(c, MT, json!("LtiSubmissionReviewRequest"));
        set(c, "https://purl.imsglobal.org/spec/lti/claim/for_user", json!({"user_id": "learner-1"}));
    })
    .unwrap();
    assert_eq!(l.message_type, MessageType::SubmissionReview);
}

#[test]
fn leeway_accepts_small_skew() {
    assert!(launch_with(&reg(), |c| set(c, "exp", json!(NOW - 30))).is_ok());
    assert!(launch_with(&reg(), |c| set(c, "iat", json!(NOW + 30))).is_ok());
    assert!(launch_with(&reg(), |c| set(c, "nbf", json!(NOW + 59))).is_ok());
}

// ---------------------------------------------------------------- token (header) rejections

fn raw(header: &Value, payload: &Value, sig: &str) -> String {
    use lti_core::encoding::b64url_encode as e;
    format!("{}.{}.{}", e(header.to_string().as_bytes()), e(payload.to_string().as_bytes()), sig)
}

#[test]
fn rejects_malformed_tokens() {
    for t in ["", "abc", "a.b", "a.b.c.d", "!!.e30.AAAA", "bm90anNvbg.e30.AAAA"] {
        assert_eq!(UnverifiedLaunch::parse(t).unwrap_err().code(), ErrorCode::TokenMalformed, "{t}");
    }
    let huge = "a".repeat(20_000);
    assert_eq!(
        UnverifiedLaunch::parse(&format!("{huge}.{huge}.{huge}")).unwrap_err(),
        TokenError::Malformed("token too large")
    );
    let h = json!({"alg": "RS256", "kid": "k"});
    let good_header = raw(&h, &json!({}), "AAAA");
    let bad_payload = format!("{}.!!.AAAA", good_header.split('.').next().unwrap());
    assert_eq!(UnverifiedLaunch::parse(&bad_payload).unwrap_err(), TokenError::Malformed("payload not base64url"));
    assert_eq!(
        UnverifiedLaunch::parse(&raw(&h, &json!([1]), "AAAA")).unwrap_err(),
        TokenError::Malformed("payload not a JSON object")
    );
    assert_eq!(
        UnverifiedLaunch::parse(&raw(&h, &json!({}), "")).unwrap_err(),
        TokenError::Malformed("empty signature")
    );
    let crit = json!({"alg": "RS256", "kid": "k", "crit": ["exp"]});
    assert_eq!(
        UnverifiedLaunch::parse(&raw(&crit, &json!({}), "AAAA")).unwrap_err(),
        TokenError::Malformed("crit header not supported")
    );
}

#[test]
fn rejects_every_algorithm_but_rs256() {
    for alg in ["none", "HS256", "RS512", "PS256", "ES256", "rs256"] {
        let t = raw(&json!({"alg": alg, "kid": "platform-key-1"}), &json!({}), "AAAA");
        assert_eq!(UnverifiedLaunch::parse(&t).unwrap_err(), TokenError::AlgNotAllowed(alg.into()));
    }
    let t = raw(&json!({"kid": "platform-key-1"}), &json!({}), "AAAA");
    assert_eq!(UnverifiedLaunch::parse(&t).unwrap_err().code(), ErrorCode::TokenAlgNotAllowed);
    // alg none with empty signature (the classic bypass) is refused as an algorithm problem.
    assert_eq!(UnverifiedLaunch::parse("eyJhbGciOiJub25lIn0.e30.").unwrap_err().code(), ErrorCode::TokenAlgNotAllowed);
}

#[test]
fn rejects_missing_kid() {
    let t = raw(&json!({"alg": "RS256"}), &json!({}), "AAAA");
    assert_eq!(UnverifiedLaunch::parse(&t).unwrap_err(), TokenError::KidMissing);
    let t = raw(&json!({"alg": "RS256", "kid": ""}), &json!({}), "AAAA");
    assert_eq!(UnverifiedLaunch::parse(&t).unwrap_err(), TokenError::KidMissing);
}

// ---------------------------------------------------------------- signature rejections

#[test]
fn rejects_unknown_kid() {
    let r = reg();
    let l = login_with(&r, 7);
    let stranger = NativeSigner::from_pkcs8_pem("unknown-kid", STRANGER_PEM).unwrap();
    let t = block(sign_rs256(&stranger, "JWT", &claims(&l.nonce))).unwrap();
    assert_eq!(
        run(&t, &l, &r, &keys()).unwrap_err(),
        LaunchError::Signature(SignatureError::KeyNotFound("unknown-kid".into()))
    );
}

#[test]
fn rejects_wrong_signing_key() {
    let r = reg();
    let l = login_with(&r, 7);
    let stranger = NativeSigner::from_pkcs8_pem("platform-key-1", STRANGER_PEM).unwrap();
    let t = block(sign_rs256(&stranger, "JWT", &claims(&l.nonce))).unwrap();
    assert_eq!(run(&t, &l, &r, &keys()).unwrap_err(), LaunchError::Signature(SignatureError::Invalid));
}

#[test]
fn rejects_tampered_payload() {
    let r = reg();
    let l = login_with(&r, 7);
    let t = sign(&claims(&l.nonce));
    let mut parts: Vec<&str> = t.split('.').collect();
    let mut c = claims(&l.nonce);
    set(&mut c, ROLES, json!(["Administrator"]));
    let forged = lti_core::encoding::b64url_encode(c.to_string().as_bytes());
    parts[1] = &forged;
    assert_eq!(run(&parts.join("."), &l, &r, &keys()).unwrap_err(), LaunchError::Signature(SignatureError::Invalid));
}

#[test]
fn rejects_small_or_foreign_platform_keys() {
    let small = json!({"kty": "RSA", "kid": "k", "n": "AQAB", "e": "AQAB"});
    assert!(RsaPublicJwk::from_jwk(&small).is_err());
    let ec = json!({"kty": "EC", "kid": "k", "crv": "P-256", "x": "AA", "y": "AA"});
    assert!(RsaPublicJwk::from_jwk(&ec).is_err());
    let mut enc: Value = serde_json::from_str::<Value>(PLATFORM_JWKS).unwrap()["keys"][0].clone();
    enc["use"] = json!("enc");
    assert!(RsaPublicJwk::from_jwk(&enc).is_err());
    assert_eq!(JwkSet::parse(b"{\"keys\": [{\"kty\": \"EC\"}]}").unwrap().skipped(), 1);
    assert!(JwkSet::parse(b"[]").is_none());
}

// ---------------------------------------------------------------- claim rejections

#[test]
fn rejects_issuer_mismatch() {
    assert_eq!(code(launch_with(&reg(), |c| set(c, "iss", json!("https://evil.example")))), ErrorCode::IssuerMismatch);
    assert_eq!(code(launch_with(&reg(), |c| del(c, "iss"))), ErrorCode::ClaimMissing);
}

#[test]
fn rejects_audience_mismatch() {
    assert_eq!(code(launch_with(&reg(), |c| set(c, "aud", json!("someone-else")))), ErrorCode::AudienceMismatch);
    assert_eq!(code(launch_with(&reg(), |c| set(c, "aud", json!(["a", "b"])))), ErrorCode::AudienceMismatch);
    assert_eq!(code(launch_with(&reg(), |c| set(c, "aud", json!([])))), ErrorCode::ClaimInvalid);
    assert_eq!(code(launch_with(&reg(), |c| set(c, "aud", json!(7)))), ErrorCode::ClaimInvalid);
    assert_eq!(code(launch_with(&reg(), |c| del(c, "aud"))), ErrorCode::ClaimMissing);
}

#[test]
fn rejects_azp_mismatch() {
    assert_eq!(code(launch_with(&reg(), |c| set(c, "aud", json!([CLIENT, "other"])))), ErrorCode::AzpMismatch);
    assert_eq!(
        code(launch_with(&reg(), |c| {
            set(c, "aud", json!([CLIENT, "other"]));
            set(c, "azp", json!("other"));
        })),
        ErrorCode::AzpMismatch
    );
    assert_eq!(code(launch_with(&reg(), |c| set(c, "azp", json!("other")))), ErrorCode::AzpMismatch);
}

#[test]
fn rejects_expired_token() {
    let e = launch_with(&reg(), |c| set(c, "exp", json!(NOW - 61))).unwrap_err();
    assert_eq!(e, LaunchError::Claims(ClaimsError::Expired(61)));
    assert_eq!(code(launch_with(&reg(), |c| del(c, "exp"))), ErrorCode::ClaimMissing);
    assert_eq!(code(launch_with(&reg(), |c| set(c, "exp", json!("tomorrow")))), ErrorCode::ClaimInvalid);
}

#[test]
fn rejects_token_from_the_future() {
    assert_eq!(
        launch_with(&reg(), |c| set(c, "iat", json!(NOW + 61))).unwrap_err(),
        LaunchError::Claims(ClaimsError::NotYetValid("iat", 61))
    );
    assert_eq!(
        launch_with(&reg(), |c| set(c, "nbf", json!(NOW + 120))).unwrap_err(),
        LaunchError::Claims(ClaimsError::NotYetValid("nbf", 120))
    );
}

#[test]
fn leeway_is_per_registration() {
    let r = reg_with(json!({"leewaySeconds": 0}));
    assert_eq!(code(launch_with(&r, |c| set(c, "exp", json!(NOW - 1)))), ErrorCode::TokenExpired);
    let r = reg_with(json!({"leewaySeconds": 300}));
    assert!(launch_with(&r, |c| set(c, "exp", json!(NOW - 200))).is_ok());
}

#[test]
fn rejects_nonce_mismatch() {
    assert_eq!(
        launch_with(&reg(), |c| set(c, "nonce", json!("not-the-nonce"))).unwrap_err(),
        LaunchError::Claims(ClaimsError::NonceMismatch)
    );
    assert_eq!(code(launch_with(&reg(), |c| del(c, "nonce"))), ErrorCode::NonceMismatch);
    // A token minted for another login cannot be replayed with a new state.
    let r = reg();
    let first = login_with(&r, 1);
    let token = sign(&claims(&first.nonce));
    let second = login_with(&r, 2);
    assert_eq!(run(&token, &second, &r, &keys()).unwrap_err().code(), ErrorCode::NonceMismatch);
}

#[test]
fn rejects_deployment_not_allowed_and_records_under_accept_policy() {
    let d = "https://purl.imsglobal.org/spec/lti/claim/deployment_id";
    assert_eq!(code(launch_with(&reg(), |c| set(c, d, json!("dep-999")))), ErrorCode::DeploymentNotAllowed);
    assert_eq!(code(launch_with(&reg(), |c| del(c, d))), ErrorCode::ClaimMissing);
    let mut r = reg_with(json!({"deploymentPolicy": "acceptAndRecord"}));
    let lg = login_with(&r, 3);
    let mut c = claims(&lg.nonce);
    set(&mut c, d, json!("dep-new"));
    let st = consumed(&lg);
    let v = block(UnverifiedLaunch::parse(&sign(&c)).unwrap().verify(&keys(), &NativeVerifier))
        .unwrap()
        .validate(&st, &r, NOW)
        .unwrap();
    assert!(v.is_new_deployment());
    assert!(r.record_deployment("dep-new"));
    assert!(!r.record_deployment("dep-new"));
}

#[test]
fn rejects_unsupported_message_type() {
    assert_eq!(
        launch_with(&reg(), |c| set(c, MT, json!("LtiStartProctoring"))).unwrap_err(),
        LaunchError::Claims(ClaimsError::MessageTypeUnsupported("LtiStartProctoring".into()))
    );
    assert_eq!(code(launch_with(&reg(), |c| del(c, MT))), ErrorCode::ClaimMissing);
}

#[test]
fn rejects_wrong_version() {
    let v = "https://purl.imsglobal.org/spec/lti/claim/version";
    assert_eq!(code(launch_with(&reg(), |c| set(c, v, json!("1.1")))), ErrorCode::VersionUnsupported);
    assert_eq!(code(launch_with(&reg(), |c| del(c, v))), ErrorCode::ClaimMissing);
}

#[test]
fn rejects_missing_claims_per_message_type() {
    let rl = "https://purl.imsglobal.org/spec/lti/claim/resource_link";
    assert_eq!(launch_with(&reg(), |c| del(c, rl)).unwrap_err(), LaunchError::Claims(ClaimsError::Missing(rl)));
    assert_eq!(code(launch_with(&reg(), |c| set(c, rl, json!({"title": "no id"})))), ErrorCode::ClaimMissing);
    assert_eq!(code(launch_with(&reg(), |c| set(c, rl, json!("rl-1")))), ErrorCode::ClaimInvalid);
    assert_eq!(code(launch_with(&reg(), |c| del(c, ROLES))), ErrorCode::ClaimMissing);
    assert_eq!(code(launch_with(&reg(), |c| set(c, ROLES, json!("Instructor")))), ErrorCode::ClaimInvalid);
    assert_eq!(
        code(launch_with(&reg(), |c| del(c, "https://purl.imsglobal.org/spec/lti/claim/target_link_uri"))),
        ErrorCode::ClaimMissing
    );
    assert_eq!(
        code(launch_with(&reg(), |c| set(
            c,
            "https://purl.imsglobal.org/spec/lti/claim/context",
            json!({"title": "x"})
        ))),
        ErrorCode::ClaimMissing
    );
    let dl = "https://purl.imsglobal.org/spec/lti-dl/claim/deep_linking_settings";
    assert_eq!(
        launch_with(&reg(), |c| set(c, MT, json!("LtiDeepLinkingRequest"))).unwrap_err(),
        LaunchError::Claims(ClaimsError::Missing(dl))
    );
    assert_eq!(
        code(launch_with(&reg(), |c| {
            set(c, MT, json!("LtiDeepLinkingRequest"));
            set(
                c,
                dl,
                json!({"deep_link_return_url": "https://lms/x", "accept_types": [], "accept_presentation_document_targets": []}),
            );
        })),
        ErrorCode::ClaimInvalid
    );
    let fu = "https://purl.imsglobal.org/spec/lti/claim/for_user";
    assert_eq!(
        launch_with(&reg(), |c| set(c, MT, json!("LtiSubmissionReviewRequest"))).unwrap_err(),
        LaunchError::Claims(ClaimsError::Missing(fu))
    );
}

// ---------------------------------------------------------------- access

#[test]
fn user_id_order_of_operations() {
    let custom = "https://purl.imsglobal.org/spec/lti/claim/custom";
    let lti1p1 = "https://purl.imsglobal.org/spec/lti/claim/lti1p1";
    let add = |c: &mut Value| {
        set(c, custom, json!({"custom_username": "ada.l", "employee": 1234}));
        set(c, lti1p1, json!({"user_id": "legacy-77"}));
        set(c, "email", json!("ada@example.edu"));
    };
    let mut r = reg();
    assert_eq!(launch_with(&r, add).unwrap().user_id, "user-7");
    r.lti13_user_id_claim = custom.into();
    r.lti13_user_id_claim_property = "custom_username".into();
    assert_eq!(launch_with(&r, add).unwrap().user_id, "ada.l");
    r.lti13_user_id_claim = lti1p1.into();
    r.lti13_user_id_claim_property = "user_id".into();
    assert_eq!(launch_with(&r, add).unwrap().user_id, "legacy-77");
    r.lti_user_id_attribute = "lis_person_contact_email_primary".into();
    assert_eq!(launch_with(&r, add).unwrap().user_id, "ada@example.edu", "ltiUserIdAttribute comes first");
    r.lti_user_id_attribute = "custom_employee".into();
    assert_eq!(launch_with(&r, add).unwrap().user_id, "1234");
    r.lti_user_id_attribute = "not_in_launch".into();
    assert_eq!(launch_with(&r, add).unwrap().user_id, "legacy-77", "absent attribute falls through to the claim");
}

#[test]
fn rejects_configured_user_id_claim_absent() {
    let mut r = reg();
    r.lti13_user_id_claim = "https://purl.imsglobal.org/spec/lti/claim/lti1p1".into();
    r.lti13_user_id_claim_property = "user_id".into();
    assert_eq!(code(launch_with(&r, |_| {})), ErrorCode::UserIdMissing, "never silently falls back to sub");
    let mut r = reg();
    r.lti_user_id_attribute = "lis_person_sourcedid".into();
    assert_eq!(code(launch_with(&r, |_| {})), ErrorCode::UserIdMissing);
    // No `sub` is an anonymous user (LTI 1.3 Core), not a missing configured attribute.
    assert_eq!(code(launch_with(&reg(), |c| del(c, "sub"))), ErrorCode::AnonymousLaunchRefused);
}

#[test]
fn anonymous_launches_follow_the_registration_policy() {
    let mut r = reg();
    assert_eq!(code(launch_with(&r, |c| set(c, "sub", json!("")))), ErrorCode::AnonymousLaunchRefused);
    r.anonymous_launches = lti_policy::registration::AnonymousPolicy::Guest;
    let l = launch_with(&r, |c| del(c, "sub")).unwrap();
    assert_eq!(
        (l.user_id.as_str(), l.user_id_source.as_str(), l.role),
        ("", "anonymous", ToolRole::Guest),
        "a guest, whatever the roles"
    );
    assert_eq!(launch_with(&r, |_| {}).unwrap().user_id, "user-7", "named users unaffected");
    let input = json!({"issuer": ISS, "lti13ClientId": CLIENT, "name": "n", "lti13PlatformOidcAuthUrl": "https://lms.example.edu/auth",
        "lti13AuthTokenUrl": "https://lms.example.edu/token", "lti13KeysUrl": "https://lms.example.edu/jwks", "anonymousLaunches": "sometimes"});
    let e = RegistrationInput::new(&input).unwrap().validate("id", None, "now", false).unwrap_err();
    assert!(e.fields.contains_key("anonymousLaunches"));
}

#[test]
fn empty_or_unmapped_roles_use_the_default_role_when_set() {
    let mut r = reg();
    assert_eq!(code(launch_with(&r, |c| set(c, ROLES, json!([])))), ErrorCode::RoleUnmapped, "refused by default");
    r.default_role = Some(ToolRole::Viewer);
    assert_eq!(launch_with(&r, |c| set(c, ROLES, json!([]))).unwrap().role, ToolRole::Viewer);
    assert_eq!(
        launch_with(&r, |c| set(c, ROLES, json!(["http://purl.imsglobal.org/vocab/lis/v2/membership#Mentor"])))
            .unwrap()
            .role,
        ToolRole::Viewer
    );
    assert_eq!(launch_with(&r, |_| {}).unwrap().role, ToolRole::Admin, "mapped roles still decide");
    let input = json!({"issuer": ISS, "lti13ClientId": CLIENT, "name": "n", "lti13PlatformOidcAuthUrl": "https://lms.example.edu/auth",
        "lti13AuthTokenUrl": "https://lms.example.edu/token", "lti13KeysUrl": "https://lms.example.edu/jwks", "defaultRole": "root", "learnerScores": "yes"});
    let e = RegistrationInput::new(&input).unwrap().validate("id", None, "now", false).unwrap_err();
    assert!(e.fields.contains_key("defaultRole") && e.fields.contains_key("learnerScores"));
}

#[test]
fn rejects_unmapped_role() {
    let e = launch_with(&reg(), |c| set(c, ROLES, json!(["http://purl.imsglobal.org/vocab/lis/v2/membership#Mentor"])))
        .unwrap_err();
    assert_eq!(
        e,
        LaunchError::Access(AccessError::RoleUnmapped(vec![
            "http://purl.imsglobal.org/vocab/lis/v2/membership#Mentor".into()
        ]))
    );
    assert_eq!(code(launch_with(&reg(), |c| set(c, ROLES, json!([])))), ErrorCode::RoleUnmapped);
    let mut r = reg();
    r.role_map.insert("Mentor".into(), Some(ToolRole::Moderator));
    assert_eq!(
        launch_with(&r, |c| set(c, ROLES, json!(["http://purl.imsglobal.org/vocab/lis/v2/membership#Mentor"])))
            .unwrap()
            .role,
        ToolRole::Moderator
    );
    r.role_map.insert("Instructor".into(), None);
    assert_eq!(code(launch_with(&r, |_| {})), ErrorCode::RoleUnmapped, "null unmaps a default");
}

#[test]
fn role_resolution_rules() {
    let m = BTreeMap::new();
    let r = |v: &[&str]| resolve_role(&v.iter().map(|s| s.to_string()).collect::<Vec<_>>(), &m);
    assert_eq!(r(&["Learner", "Instructor"]).unwrap(), ToolRole::Admin);
    assert_eq!(r(&["urn:lti:role:ims/lis/Learner"]).unwrap(), ToolRole::Viewer);
    assert_eq!(r(&["urn:lti:instrole:ims/lis/Administrator"]).unwrap(), ToolRole::Admin);
    assert_eq!(r(&["http://purl.imsglobal.org/vocab/lis/v2/institution/person#Student"]).unwrap(), ToolRole::Viewer);
    assert_eq!(r(&["Guest"]).unwrap(), ToolRole::Guest);
    assert_eq!(r(&["ContentDeveloper"]).unwrap(), ToolRole::Admin);
}

#[test]
fn rejects_disabled_and_unknown_modules_and_foreign_targets() {
    let mut r = reg();
    r.disabled_modules = vec!["mymedia".into()];
    assert_eq!(launch_with(&r, |_| {}).unwrap_err(), LaunchError::Access(AccessError::ModuleDisabled("mymedia")));
    let t = "https://purl.imsglobal.org/spec/lti/claim/target_link_uri";
    assert_eq!(code(launch_with(&reg(), |c| set(c, t, json!(format!("{TOOL}/admin"))))), ErrorCode::ModuleUnknown);
    assert_eq!(
        code(launch_with(&reg(), |c| set(c, t, json!("https://evil.example/hosted/index/my-media")))),
        ErrorCode::TargetLinkUriInvalid
    );
    assert_eq!(launch_with(&reg(), |c| set(c, t, json!(format!("{TOOL}/lti/launch")))).unwrap().module.code, "mymedia");
}

#[test]
fn categories_isolate_courses() {
    let a = category_id("reg-1", "dep-1", "course-101");
    assert_eq!(a, category_id("reg-1", "dep-1", "course-101"));
    assert_ne!(a, category_id("reg-1", "dep-1", "course-102"));
    assert_ne!(a, category_id("reg-1", "dep-2", "course-101"));
    assert_ne!(a, category_id("reg-2", "dep-1", "course-101"));
    assert_ne!(category_id("a", "bc", ""), category_id("ab", "c", ""), "length-prefixed, no ambiguity");
}

// ---------------------------------------------------------------- state

#[test]
fn state_is_signed_expiring_single_use_and_cookie_bound() {
    let r = reg();
    let l = login_with(&r, 5);
    assert_eq!(StateHandle::verify("garbage", &skey(), NOW).unwrap_err(), StateError::Invalid);
    let (body, mac) = l.state.rsplit_once('.').unwrap();
    let record =
        String::from_utf8(lti_core::encoding::b64url_decode(body.strip_prefix("v2.").unwrap()).unwrap()).unwrap();
    assert!(
        !record.contains(&l.nonce) && !record.contains(&l.cookie_value),
        "nonce and cookie are derived, not carried"
    );
    let longer = record.replace(&format!("\"e\":{}", NOW + 600), &format!("\"e\":{}", NOW + 6000));
    assert_ne!(longer, record);
    let tampered = format!("v2.{}.{mac}", lti_core::encoding::b64url_encode(longer.as_bytes()));
    // A login from before states carried the record reads as expired: relaunch.
    assert_eq!(
        StateHandle::verify(&format!("v1.abc.{}.def", NOW + 600), &skey(), NOW).unwrap_err(),
        StateError::Expired
    );
    assert_eq!(StateHandle::verify(&"v2.".repeat(3000), &skey(), NOW).unwrap_err(), StateError::Invalid);
    assert_eq!(StateHandle::verify(&tampered, &skey(), NOW).unwrap_err(), StateError::Invalid);
    assert_eq!(
        StateHandle::verify(&l.state, &StateKey::derive("another-secret-another-secret-xx"), NOW).unwrap_err(),
        StateError::Invalid
    );
    assert_eq!(StateHandle::verify(&l.state, &skey(), NOW + 601).unwrap_err(), StateError::Expired);
    let h = StateHandle::verify(&l.state, &skey(), NOW + 599).unwrap();
    assert_eq!(h.cookie_name(), l.cookie_name);
    assert_eq!(h.store(), "kv");
    assert_eq!(h.consumed(false).unwrap_err(), StateError::Reused);
    let st = consumed(&l);
    assert_eq!(st.check_cookie(None).unwrap(), Binding::StateOnly);
    assert_eq!(st.check_cookie(Some(&l.cookie_value)).unwrap(), Binding::Cookie);
    assert_eq!(st.check_cookie(Some("other")).unwrap_err(), StateError::CookieMismatch);
    assert_eq!(StateError::Reused.code().status(), 401);
    let header = format!("a=1; {}={}; b=2", l.cookie_name, l.cookie_value);
    assert_eq!(cookie_value(&header, &l.cookie_name), Some(l.cookie_value.as_str()));
}

// ---------------------------------------------------------------- login

#[test]
fn login_redirect_carries_every_required_parameter() {
    let r = reg();
    let params = LoginParams::from_pairs(&login_params()).unwrap();
    let random: Vec<u8> = (0..64).collect();
    let (redirect, reg_id) =
        begin_login(&params, &[r], &tool(), "/lti/launch", &skey(), random.as_slice().try_into().unwrap(), "kv", NOW)
            .unwrap();
    assert_eq!(reg_id, "reg-1");
    let (base, q) = redirect.location.split_once('?').unwrap();
    assert_eq!(base, "https://lms.example.edu/auth");
    let q: BTreeMap<String, String> = lti_core::encoding::form_decode(q).into_iter().collect();
    assert_eq!(q["scope"], "openid");
    assert_eq!(q["response_type"], "id_token");
    assert_eq!(q["response_mode"], "form_post");
    assert_eq!(q["prompt"], "none");
    assert_eq!(q["client_id"], CLIENT);
    assert_eq!(q["redirect_uri"], format!("{TOOL}/lti/launch"));
    assert_eq!(q["login_hint"], "user-7");
    assert_eq!(q["lti_message_hint"], "opaque-hint");
    assert_eq!(q["state"], redirect.state);
    assert_eq!(q["nonce"], redirect.record.nonce.expose());
    assert!(redirect.record.nonce.expose().len() >= 32, "≥192 bits of nonce");
    assert!(redirect.set_cookie().contains("SameSite=None; Partitioned"));
    assert!(!format!("{:?}", redirect.record).contains(redirect.record.nonce.expose()), "nonce redacted in Debug");
}

#[test]
fn login_rejections() {
    let r = reg();
    for missing in ["iss", "login_hint", "target_link_uri"] {
        let p: Vec<_> = login_params().into_iter().filter(|(k, _)| k != missing).collect();
        assert_eq!(LoginParams::from_pairs(&p).unwrap_err(), LoginError::ParamMissing(missing));
    }
    type Edit<'a> = &'a dyn Fn(&mut Vec<(String, String)>);
    let go = |edit: Edit<'_>, regs: &[Registration]| {
        let mut p = login_params();
        edit(&mut p);
        let params = LoginParams::from_pairs(&p).unwrap();
        begin_login(&params, regs, &tool(), "/lti/launch", &skey(), &[0; 64], "kv", NOW).map(|_| ()).unwrap_err()
    };
    let setp = |k: &'static str, v: &'static str| {
        move |p: &mut Vec<(String, String)>| {
            p.retain(|(x, _)| x != k);
            p.push((k.into(), v.into()));
        }
    };
    assert_eq!(go(&setp("client_id", "nope"), std::slice::from_ref(&r)), LoginError::PlatformUnregistered);
    assert_eq!(go(&setp("iss", "https://other"), std::slice::from_ref(&r)), LoginError::PlatformUnregistered);
    let r2 = reg_with(json!({"lti13ClientId": "client-456", "id": "reg-2"}));
    assert_eq!(go(&|p| p.retain(|(k, _)| k != "client_id"), &[r.clone(), r2.clone()]), LoginError::PlatformAmbiguous);
    assert_eq!(
        go(&setp("target_link_uri", "https://evil.example/hosted/index/my-media"), std::slice::from_ref(&r)),
        LoginError::TargetLinkUriInvalid
    );
    assert_eq!(
        go(&setp("target_link_uri", "https://tool.example.com@evil.example/"), std::slice::from_ref(&r)),
        LoginError::TargetLinkUriInvalid
    );
    assert_eq!(
        go(&setp("lti_deployment_id", "dep-9"), std::slice::from_ref(&r)),
        LoginError::DeploymentNotAllowed("dep-9".into())
    );
    // Canvas's `deployment_id` spelling is read too.
    let p: Vec<(String, String)> = login_params()
        .into_iter()
        .filter(|(k, _)| k != "lti_deployment_id")
        .chain([("deployment_id".to_string(), "dep-9".to_string())])
        .collect();
    assert_eq!(LoginParams::from_pairs(&p).unwrap().deployment_id.as_deref(), Some("dep-9"));
    // Without client_id, the issuer's only registration is used.
    let p: Vec<_> = login_params().into_iter().filter(|(k, _)| k != "client_id").collect();
    assert!(begin_login(
        &LoginParams::from_pairs(&p).unwrap(),
        &[r],
        &tool(),
        "/lti/launch",
        &skey(),
        &[0; 64],
        "kv",
        NOW
    )
    .is_ok());
}

// ---------------------------------------------------------------- registrations

#[test]
fn registration_validation_table() {
    let ok = json!({
        "issuer": ISS, "clientId": CLIENT, "name": "LMS", "authLoginUrl": "https://lms/a",
        "authTokenUrl": "https://lms/t", "keysetUrl": "https://lms/k", "deploymentId": "1",
    });
    let r = RegistrationInput::new(&ok).unwrap().validate("id-1", None, "now", false).unwrap();
    assert_eq!(
        (
            r.lti().client_id().as_str(),
            r.lti().deployment_ids().iter().map(|d| d.to_string()).collect::<Vec<_>>(),
            r.lti().deployment_policy()
        ),
        (CLIENT, vec!["1".to_string()], DeploymentPolicy::AllowList)
    );
    assert_eq!(r.lti().leeway_seconds(), 60);
    let bad = |edit: &dyn Fn(&mut Value), field: &str| {
        let mut b = ok.clone();
        edit(&mut b);
        let e = RegistrationInput::new(&b).unwrap().validate("id", None, "now", false).unwrap_err();
        assert!(e.fields.contains_key(field), "{field}: {:?}", e.fields);
        assert_eq!(e.code(), ErrorCode::RegistrationInvalid);
    };
    bad(&|b| del(b, "issuer"), "issuer");
    bad(&|b| set(b, "issuer", json!("not a url")), "issuer");
    bad(&|b| set(b, "issuer", json!(format!("https://lms.example/{}", "a".repeat(500)))), "issuer");
    bad(&|b| set(b, "clientId", json!("")), "lti13ClientId");
    bad(&|b| set(b, "clientId", json!("x".repeat(256))), "lti13ClientId");
    bad(&|b| set(b, "name", json!("")), "name");
    bad(&|b| set(b, "name", json!(7)), "name");
    bad(&|b| set(b, "authLoginUrl", json!("ftp://x")), "lti13PlatformOidcAuthUrl");
    bad(&|b| set(b, "authTokenUrl", json!("http://lms.example/t")), "lti13AuthTokenUrl");
    bad(&|b| set(b, "keysetUrl", json!("javascript:alert(1)")), "lti13KeysUrl");
    bad(&|b| set(b, "deploymentId", json!("d".repeat(256))), "deploymentId");
    bad(&|b| set(b, "leewaySeconds", json!(301)), "leewaySeconds");
    bad(&|b| set(b, "deploymentPolicy", json!("whatever")), "deploymentPolicy");
    bad(&|b| set(b, "roleMap", json!({"Mentor": "superuser"})), "roleMap");
    bad(&|b| set(b, "disabledModules", json!(["nosuchmodule"])), "disabledModules");
    bad(&|b| set(b, "lti13UserIdClaimProperty", json!("user_id")), "lti13UserIdClaimProperty");
    // http on loopback only when allowed.
    let mut local = ok.clone();
    set(&mut local, "keysetUrl", json!("http://127.0.0.1:9001/jwks"));
    assert!(RegistrationInput::new(&local).unwrap().validate("id", None, "now", false).is_err());
    assert!(RegistrationInput::new(&local).unwrap().validate("id", None, "now", true).is_ok());
    // Upsert keeps id and createdAt.
    let again = RegistrationInput::new(&ok).unwrap().validate("id-2", Some(&r), "later", false).unwrap();
    assert_eq!((again.id(), again.created_at.as_str(), again.updated_at.as_str()), ("id-1", "now", "later"));
    assert!(RegistrationInput::new(&json!([1])).is_err());
}

// ---------------------------------------------------------------- session

#[test]
fn session_round_trip_and_rejections() {
    let launch = launch_with(&reg(), |_| {}).unwrap();
    let tool_key = NativeSigner::from_pkcs8_pem("tool-1", STRANGER_PEM).unwrap();
    let tool_keys = JwkSet::from_keys(vec![tool_key.public_jwk().clone()]);
    let claims = SessionClaims::for_launch(&launch, TOOL, "cookie", NOW, 3600, "jti-1".into());
    let token = block(claims.sign(&tool_key)).unwrap();
    let back = block(verify_session(&token, &tool_keys, &NativeVerifier, TOOL, NOW + 10)).unwrap();
    assert_eq!(back, claims);
    assert_eq!((back.role.as_str(), back.module.as_str(), back.sub.as_str()), ("admin", "mymedia", "user-7"));
    assert!(block(verify_session(&token, &tool_keys, &NativeVerifier, TOOL, NOW + 3600)).is_err(), "expired");
    assert!(block(verify_session(&token, &tool_keys, &NativeVerifier, "https://other", NOW)).is_err(), "issuer");
    assert!(block(verify_session(&token, &keys(), &NativeVerifier, TOOL, NOW)).is_err(), "platform keys");
    let mut tampered = token.clone();
    tampered.insert(token.len() - 5, 'A');
    assert!(block(verify_session(&tampered, &tool_keys, &NativeVerifier, TOOL, NOW)).is_err(), "tampered");
    let long = SessionClaims::for_launch(&launch, TOOL, "cookie", NOW, 99_999, "j".into());
    assert_eq!(long.exp - long.iat, 3600, "lifetime capped at one hour");
}

fn es256_fixture() -> (Value, EcPublicJwk) {
    let doc: Value = serde_json::from_str(ES256_VECTORS).unwrap();
    let key = EcPublicJwk::from_jwk(&doc["jwk"]).unwrap();
    (doc, key)
}

#[test]
fn es256_session_round_trip_and_no_algorithm_confusion() {
    let launch = launch_with(&reg(), |_| {}).unwrap();
    let (_, ec_public) = es256_fixture();
    let ec = NativeEcSigner::from_pkcs8_pem(ec_public.kid(), SESSION_PEM).unwrap();
    let rsa = NativeSigner::from_pkcs8_pem("tool-rsa-1", STRANGER_PEM).unwrap();
    let tool_keys = JwkSet::from_keys(vec![rsa.public_jwk().clone()]).with_ec(vec![ec_public.clone()]);
    let claims = SessionClaims::for_launch(&launch, TOOL, "cookie", NOW, 3600, "jti-es".into());
    let token = block(claims.sign(&ec)).unwrap();
    let header: Value =
        serde_json::from_slice(&lti_core::encoding::b64url_decode(token.split('.').next().unwrap()).unwrap()).unwrap();
    assert_eq!((header["alg"].as_str(), header["kid"].as_str()), (Some("ES256"), Some(ec_public.kid())));
    assert_eq!(lti_core::encoding::b64url_decode(token.rsplit('.').next().unwrap()).unwrap().len(), 64, "r || s");
    assert_eq!(block(verify_session(&token, &tool_keys, &NativeVerifier, TOOL, NOW + 1)).unwrap(), claims);
    // RS256 sessions (an operator-supplied RSA key) still verify.
    let rs_token = block(claims.sign(&rsa)).unwrap();
    assert_eq!(block(verify_session(&rs_token, &tool_keys, &NativeVerifier, TOOL, NOW + 1)).unwrap(), claims);
    // An ES256 header naming the RSA kid (or the other way round) finds no key of its type.
    let swap = |tok: &str, alg: &str, kid: &str| {
        let rest = tok.split_once('.').unwrap().1;
        let h = lti_core::encoding::b64url_encode(
            json!({"alg": alg, "typ": "lti-edge-session+jwt", "kid": kid}).to_string().as_bytes(),
        );
        format!("{h}.{rest}")
    };
    assert!(
        block(verify_session(&swap(&token, "ES256", "tool-rsa-1"), &tool_keys, &NativeVerifier, TOOL, NOW)).is_err()
    );
    assert!(block(verify_session(&swap(&rs_token, "RS256", ec_public.kid()), &tool_keys, &NativeVerifier, TOOL, NOW))
        .is_err());
    // Other algorithms and a tampered signature.
    for alg in ["ES384", "HS256", "none", "PS256"] {
        assert!(
            block(verify_session(&swap(&token, alg, ec_public.kid()), &tool_keys, &NativeVerifier, TOOL, NOW)).is_err(),
            "{alg}"
        );
    }
    let mut tampered = token.clone();
    tampered.insert(token.len() - 5, 'A');
    assert!(block(verify_session(&tampered, &tool_keys, &NativeVerifier, TOOL, NOW)).is_err(), "tampered");
    // A signature that is not the 64-byte r || s form (one byte more, or a DER-style prefix).
    let (input, sig) = token.rsplit_once('.').unwrap();
    let raw = lti_core::encoding::b64url_decode(sig).unwrap();
    for bad in [[raw.as_slice(), &[0]].concat(), [&[0x30, 0x44][..], raw.as_slice()].concat(), raw[..63].to_vec()] {
        let forged = format!("{input}.{}", lti_core::encoding::b64url_encode(&bad));
        assert!(
            block(verify_session(&forged, &tool_keys, &NativeVerifier, TOOL, NOW)).is_err(),
            "{} signature bytes",
            bad.len()
        );
    }
    // Malleability: the high-S twin (s' = n − s) verifies mathematically, and is refused; our
    // own signatures are always low-S.
    assert!(lti_core::jws::es256_low_s(&raw), "we sign low-S");
    let mut high = raw.clone();
    lti_core::jws::es256_normalize_s(&mut high);
    assert_eq!(high, raw, "normalising a low-S signature changes nothing");
    let n: [u8; 32] = [
        0xFF, 0xFF, 0xFF, 0xFF, 0x00, 0x00, 0x00, 0x00, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xBC, 0xE6,
        0xFA, 0xAD, 0xA7, 0x17, 0x9E, 0x84, 0xF3, 0xB9, 0xCA, 0xC2, 0xFC, 0x63, 0x25, 0x51,
    ];
    let mut borrow = 0i16;
    for i in (0..32).rev() {
        let v = i16::from(n[i]) - i16::from(raw[32 + i]) - borrow;
        borrow = i16::from(v < 0);
        high[32 + i] = (v + 256 * borrow) as u8;
    }
    assert!(!lti_core::jws::es256_low_s(&high));
    assert!(
        block(NativeVerifier.verify_es256(&ec_public, input.as_bytes(), &high)).unwrap_or(false),
        "the twin is a valid ECDSA signature"
    );
    let twin = format!("{input}.{}", lti_core::encoding::b64url_encode(&high));
    assert!(block(verify_session(&twin, &tool_keys, &NativeVerifier, TOOL, NOW)).is_err(), "high-S twin refused");
    let mut back = high.clone();
    lti_core::jws::es256_normalize_s(&mut back);
    assert_eq!(back, raw, "normalising the twin gives the original");
    // A session must say it is one: another `typ` (or none) is refused even when signed.
    for typ in [Some("JWT"), None] {
        let mut h = json!({"alg": "ES256", "kid": ec_public.kid()});
        if let Some(t) = typ {
            h["typ"] = json!(t);
        }
        let payload = token.split('.').nth(1).unwrap();
        let input = format!("{}.{payload}", lti_core::encoding::b64url_encode(h.to_string().as_bytes()));
        let sig = block(lti_core::crypto::JwsSigner::sign(&ec, input.as_bytes())).unwrap();
        let other = format!("{input}.{}", lti_core::encoding::b64url_encode(&sig));
        assert!(block(verify_session(&other, &tool_keys, &NativeVerifier, TOOL, NOW)).is_err(), "typ {typ:?}");
    }
    // Without the EC key in the set, an ES256 session does not verify.
    let rsa_only = JwkSet::from_keys(vec![rsa.public_jwk().clone()]);
    assert!(block(verify_session(&token, &rsa_only, &NativeVerifier, TOOL, NOW)).is_err(), "unknown kid");
    // The published set carries both, each with its alg.
    let doc = tool_keys.to_json();
    let algs: Vec<&str> = doc["keys"].as_array().unwrap().iter().map(|k| k["alg"].as_str().unwrap()).collect();
    assert_eq!(algs, ["RS256", "ES256"]);
    assert_eq!(EcPublicJwk::from_jwk(&doc["keys"][1]).unwrap(), ec_public);
}

#[test]
fn duplicate_json_keys_are_refused_in_tokens() {
    use lti_core::jws::strict_object;
    assert!(strict_object(br#"{"a":1,"b":{"c":[{"d":2}]}}"#).is_some());
    for bad in [
        &br#"{"sub":"a","sub":"b"}"#[..],
        br#"{"x":{"k":1,"k":2}}"#,
        br#"{"x":[{"k":1,"k":1}]}"#,
        br#"{"a":1,"\u0061":2}"#,
        br#"[1,2]"#,
        br#"{"a":1} x"#,
    ] {
        assert!(strict_object(bad).is_none(), "{}", String::from_utf8_lossy(bad));
    }
    // In an id_token, a duplicate claim or header member is malformed, before any key lookup.
    let h = lti_core::encoding::b64url_encode(br#"{"alg":"RS256","kid":"k1"}"#);
    let dup_payload = lti_core::encoding::b64url_encode(br#"{"sub":"alice","iss":"x","sub":"bob"}"#);
    let sig = lti_core::encoding::b64url_encode(b"sig");
    assert!(matches!(UnverifiedLaunch::parse(&format!("{h}.{dup_payload}.{sig}")), Err(TokenError::Malformed(_))));
    let dup_header = lti_core::encoding::b64url_encode(br#"{"alg":"RS256","kid":"k1","kid":"k2"}"#);
    let ok_payload = lti_core::encoding::b64url_encode(br#"{"sub":"alice"}"#);
    assert!(matches!(
        UnverifiedLaunch::parse(&format!("{dup_header}.{ok_payload}.{sig}")),
        Err(TokenError::Malformed(_))
    ));
}

#[test]
fn ec_jwk_parsing_refuses_what_is_not_p256_es256() {
    let (doc, key) = es256_fixture();
    let mut v = doc["jwk"].clone();
    assert_eq!(EcPublicJwk::from_jwk(&v).unwrap(), key);
    for (field, value) in [
        ("crv", json!("P-384")),
        ("kty", json!("RSA")),
        ("alg", json!("ES384")),
        ("use", json!("enc")),
        ("x", json!("AAAA")),
        ("y", json!(5)),
    ] {
        let saved = v[field].clone();
        v[field] = value;
        assert!(EcPublicJwk::from_jwk(&v).is_err(), "{field}");
        v[field] = saved;
    }
    // A platform's set never yields EC keys: platforms sign RS256.
    let set = JwkSet::parse(json!({"keys": [doc["jwk"].clone()]}).to_string().as_bytes()).unwrap();
    assert_eq!((set.keys().len(), set.ec_keys().len(), set.skipped()), (0, 0, 1));
}

// ---------------------------------------------------------------- crypto vectors shared with the worker

#[test]
fn rs256_vectors_pass_on_the_native_provider() {
    let vectors: Vec<Value> = serde_json::from_str(VECTORS).unwrap();
    assert!(vectors.len() >= 5);
    for v in vectors {
        let name = v["name"].as_str().unwrap();
        let key = RsaPublicJwk::from_jwk(&v["jwk"]).unwrap();
        let sig = lti_core::encoding::b64url_decode(v["signature"].as_str().unwrap()).unwrap();
        let got = block(NativeVerifier.verify(&key, v["message"].as_str().unwrap().as_bytes(), &sig)).unwrap_or(false);
        assert_eq!(got, v["valid"].as_bool().unwrap(), "vector {name}");
    }
}

#[test]
fn es256_vectors_pass_on_the_native_provider() {
    let (doc, key) = es256_fixture();
    let vectors = doc["vectors"].as_array().unwrap();
    assert!(vectors.len() >= 6);
    for (i, v) in vectors.iter().enumerate() {
        let message = lti_core::encoding::b64url_decode(v["message"].as_str().unwrap()).unwrap();
        let sig = lti_core::encoding::b64url_decode(v["signature"].as_str().unwrap()).unwrap();
        let got = block(NativeVerifier.verify_es256(&key, &message, &sig)).unwrap_or(false);
        assert_eq!(got, v["valid"].as_bool().unwrap(), "vector {i}");
    }
}

#[test]
fn every_error_code_has_a_status_and_a_sentence() {
    let mut seen = std::collections::HashSet::new();
    for c in ErrorCode::ALL {
        assert!(seen.insert(c.as_str()), "duplicate code {c}");
        assert!(matches!(c.status(), 400..=599));
        assert!(c.message().ends_with('.'), "{c}");
    }
}

#[test]
fn readme_troubleshooting_lists_every_error_code() {
    let readme = include_str!("../../../README.md");
    for c in ErrorCode::ALL {
        assert!(readme.contains(&format!("`{}`", c.as_str())), "README troubleshooting lacks `{c}`");
    }
}

/// docs/troubleshooting.md has every code in a table row with its status, and its sentence
/// word for word under "The sentences users see".
#[test]
fn troubleshooting_guide_lists_every_code_with_status_and_sentence() {
    let guide = include_str!("../../../docs/troubleshooting.md");
    let (tables, sentences) = guide.split_once("## The sentences users see").expect("sentences section");
    for c in ErrorCode::ALL {
        let code = c.as_str();
        let row = tables.lines().find(|l| l.starts_with('|') && l.contains(&format!("`{code}`")));
        let row = row.unwrap_or_else(|| panic!("docs/troubleshooting.md has no table row for `{code}`"));
        assert!(row.contains(&format!("| {} |", c.status())), "row of `{code}` lacks status {}: {row}", c.status());
        let line = format!("- `{code}` ({}): {}", c.status(), c.message());
        assert!(sentences.contains(&line), "docs/troubleshooting.md lacks the sentence of `{code}`: {line}");
    }
}

/// The inspector's "apply": the user-id rule changes, validated like a registration's, and
/// nothing else does.
#[test]
fn applying_a_user_id_rule_changes_only_the_rule() {
    let before = reg();
    let after = before
        .with_user_id_rule(
            &json!({"lti13UserIdClaim": "https://lms.example.edu/sis", "lti13UserIdClaimProperty": "login"}),
            "2026-12-02T00:00:00Z",
        )
        .unwrap();
    assert_eq!(after.lti13_user_id_claim, "https://lms.example.edu/sis");
    assert_eq!(after.lti13_user_id_claim_property, "login");
    assert_eq!(after.lti_user_id_attribute, "");
    assert_eq!(after.updated_at, "2026-12-02T00:00:00Z");
    let mut same = after.clone();
    same.lti13_user_id_claim = before.lti13_user_id_claim.clone();
    same.lti13_user_id_claim_property = before.lti13_user_id_claim_property.clone();
    same.updated_at = before.updated_at.clone();
    assert_eq!(serde_json::to_value(&same).unwrap(), serde_json::to_value(&before).unwrap());
    // A property without its claim, a field that is not part of the rule, a non-object: refused,
    // each naming the field.
    let e = before.with_user_id_rule(&json!({"lti13UserIdClaimProperty": "login"}), "t").unwrap_err();
    assert!(e.fields.contains_key("lti13UserIdClaimProperty"), "{:?}", e.fields);
    let e = before.with_user_id_rule(&json!({"name": "x"}), "t").unwrap_err();
    assert!(e.fields.contains_key("name"), "{:?}", e.fields);
    assert!(before.with_user_id_rule(&json!([1]), "t").is_err());
    let long = "x".repeat(300);
    assert!(before.with_user_id_rule(&json!({"ltiUserIdAttribute": long}), "t").is_err());
    // Empty clears back to the default rule (sub).
    let cleared = after.with_user_id_rule(&json!({}), "t").unwrap();
    assert_eq!((cleared.lti13_user_id_claim.as_str(), cleared.lti_user_id_attribute.as_str()), ("", ""));
}

/// Caliper is on unless the registration says `caliper: false`; a registration stored before
/// the switch existed reads as on; anything but a boolean is refused.
#[test]
fn caliper_switch_defaults_on_and_refuses_non_booleans() {
    assert!(reg().caliper);
    assert!(!reg_with(json!({"caliper": false})).caliper);
    let mut stored = serde_json::to_value(reg()).unwrap();
    stored.as_object_mut().unwrap().remove("caliper");
    let old: Registration = serde_json::from_value(stored).unwrap();
    assert!(old.caliper, "stored JSON without the field reads as on");
    let mut body = serde_json::to_value(reg()).unwrap();
    body["caliper"] = json!("no");
    let err =
        RegistrationInput::new(&body).unwrap().validate("reg-1", None, "2026-11-22T00:00:00Z", false).unwrap_err();
    assert!(err.fields.contains_key("caliper"), "{:?}", err.fields);
}
