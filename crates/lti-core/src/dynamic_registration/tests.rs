use serde_json::json;

use super::*;
use crate::error::{Coded, ErrorCode};

fn q(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

fn url(s: &str) -> HttpUrl {
    HttpUrl::parse(s).unwrap().normalized().unwrap()
}

/// Moodle's openid-configuration.php, shape for shape.
fn moodle() -> Value {
    json!({
        "issuer": "https://moodle.example.edu",
        "token_endpoint": "https://moodle.example.edu/mod/lti/token.php",
        "token_endpoint_auth_methods_supported": ["private_key_jwt"],
        "token_endpoint_auth_signing_alg_values_supported": ["RS256"],
        "jwks_uri": "https://moodle.example.edu/mod/lti/certs.php",
        "authorization_endpoint": "https://moodle.example.edu/mod/lti/auth.php",
        "registration_endpoint": "https://moodle.example.edu/mod/lti/openid-registration.php",
        "scopes_supported": ["https://purl.imsglobal.org/spec/lti-ags/scope/score", "openid"],
        "response_types_supported": ["id_token"],
        "subject_types_supported": ["public", "pairwise"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "claims_supported": ["sub", "iss", "name", "given_name", "family_name", "email"],
        PLATFORM_CONFIGURATION_CLAIM: {
            "product_family_code": "moodle",
            "version": "4.3",
            "messages_supported": ["LtiResourceLinkRequest", "LtiDeepLinkingRequest"],
            "placements": ["AddContentMenu"],
            "variables": ["User.username"]
        }
    })
}

const MOODLE_CONFIG_URL: &str = "https://moodle.example.edu/mod/lti/openid-configuration.php";

fn check(config_url: &str, doc: &Value) -> Result<PlatformConfiguration, DynRegError> {
    PlatformConfiguration::from_answer(&url(config_url), 200, doc.to_string().as_bytes(), false, false)
}

#[test]
fn initiation_reads_the_configuration_url_and_the_token() {
    let i =
        Initiation::parse(&q(&[("openid_configuration", MOODLE_CONFIG_URL), ("registration_token", "eyJ.a.b")]), false)
            .unwrap();
    assert_eq!(i.openid_configuration.to_string(), MOODLE_CONFIG_URL);
    assert_eq!(i.registration_token.as_ref().map(RegistrationToken::as_str), Some("eyJ.a.b"));
    assert_eq!(format!("{:?}", i.registration_token), "Some(RegistrationToken(<redacted>))");
    // The token is optional; the URL is sent in normal form.
    let i =
        Initiation::parse(&q(&[("openid_configuration", "https://LMS.example.edu/a/./b/../config")]), false).unwrap();
    assert_eq!(i.openid_configuration.to_string(), "https://lms.example.edu/a/config");
    assert!(i.registration_token.is_none());
}

#[test]
fn initiation_refuses_what_it_cannot_use() {
    let cases: &[&[(&str, &str)]] = &[
        &[],
        &[("openid_configuration", "")],
        &[("openid_configuration", "not a url")],
        &[("openid_configuration", "http://moodle.example.edu/config")],
        &[("openid_configuration", "https://a.example/%2e%2e%2fx%2Fy")],
        &[("openid_configuration", MOODLE_CONFIG_URL), ("openid_configuration", "https://evil.example/c")],
        &[("openid_configuration", MOODLE_CONFIG_URL), ("registration_token", "has space")],
    ];
    for c in cases {
        let e = Initiation::parse(&q(c), false).unwrap_err();
        assert_eq!(e.code(), ErrorCode::RegistrationUrlInvalid, "{c:?}: {e}");
    }
    let long = "a".repeat(MAX_TOKEN_LEN + 1);
    let e = Initiation::parse(&q(&[("openid_configuration", MOODLE_CONFIG_URL), ("registration_token", &long)]), false);
    assert_eq!(e.unwrap_err().code(), ErrorCode::RegistrationUrlInvalid);
    // http on loopback only when the deployment allows it.
    let local = q(&[("openid_configuration", "http://127.0.0.1:9001/dr/moodle/openid-configuration")]);
    assert!(Initiation::parse(&local, false).is_err());
    assert!(Initiation::parse(&local, true).is_ok());
}

#[test]
fn a_moodle_configuration_is_accepted() {
    let c = check(MOODLE_CONFIG_URL, &moodle()).unwrap();
    assert_eq!(c.issuer.as_str(), "https://moodle.example.edu");
    assert_eq!(c.registration_endpoint.to_string(), "https://moodle.example.edu/mod/lti/openid-registration.php");
    assert_eq!(c.product_family_code, "moodle");
    assert!(c.supports_message("LtiDeepLinkingRequest"));
    assert_eq!(c.placements_for("LtiDeepLinkingRequest"), ["AddContentMenu"]);
}

#[test]
fn a_canvas_configuration_is_accepted_with_its_placements() {
    let doc = json!({
        "issuer": "https://canvas.instructure.com",
        "authorization_endpoint": "https://sso.canvaslms.com/api/lti/authorize_redirect",
        "registration_endpoint": "https://canvas.instructure.com/api/lti/registrations",
        "jwks_uri": "https://sso.canvaslms.com/api/lti/security/jwks",
        "token_endpoint": "https://sso.canvaslms.com/login/oauth2/token",
        "token_endpoint_auth_methods_supported": ["private_key_jwt"],
        "id_token_signing_alg_values_supported": ["RS256"],
        PLATFORM_CONFIGURATION_CLAIM: {
            "product_family_code": "canvas",
            "messages_supported": [
                {"type": "LtiResourceLinkRequest", "placements": ["course_navigation", "user_navigation"]},
                {"type": "LtiDeepLinkingRequest", "placements": ["editor_button", "link_selection"]}
            ],
            "https://canvas.instructure.com/lti/account_name": "Test University"
        }
    });
    let c = check("https://canvas.instructure.com/api/lti/security/openid-configuration", &doc).unwrap();
    assert_eq!(c.placements_for("LtiResourceLinkRequest"), ["course_navigation", "user_navigation"]);
    assert_eq!(c.placements_for("LtiSubmissionReviewRequest"), Vec::<String>::new());
    assert!(!c.supports_message("LtiSubmissionReviewRequest"));
    assert_eq!(c.platform["https://canvas.instructure.com/lti/account_name"], "Test University");
}

#[test]
fn an_issuer_that_is_not_the_configuration_urls_prefix_is_refused() {
    for (issuer, config_url) in [
        ("https://other.example.edu", MOODLE_CONFIG_URL),
        ("https://moodle.example.edu/moodle", MOODLE_CONFIG_URL),
        ("https://moodle.example.edu:8443", MOODLE_CONFIG_URL),
        ("https://moodle.example.edu/mo", "https://moodle.example.edu/moodle/mod/lti/openid-configuration.php"),
        ("https://moodle.example.edu.evil.example", "https://moodle.example.edu/c"),
    ] {
        let mut doc = moodle();
        doc["issuer"] = json!(issuer);
        let e = check(config_url, &doc).unwrap_err();
        assert_eq!(e.code(), ErrorCode::PlatformIssuerMismatch, "{issuer} vs {config_url}: {e}");
    }
    // A Moodle in a sub-folder: its issuer is the folder.
    let mut doc = moodle();
    doc["issuer"] = json!("https://example.edu/moodle");
    assert!(check("https://example.edu/moodle/mod/lti/openid-configuration.php", &doc).is_ok());
}

type Mutation = Box<dyn Fn(&mut Value)>;

#[test]
fn each_missing_requirement_is_refused() {
    let mutations: Vec<(&str, Mutation)> = vec![
        ("no issuer", Box::new(|d| drop(d.as_object_mut().unwrap().remove("issuer")))),
        ("issuer with query", Box::new(|d| d["issuer"] = json!("https://moodle.example.edu?x=1"))),
        ("http issuer", Box::new(|d| d["issuer"] = json!("http://moodle.example.edu"))),
        ("no registration_endpoint", Box::new(|d| drop(d.as_object_mut().unwrap().remove("registration_endpoint")))),
        ("http jwks", Box::new(|d| d["jwks_uri"] = json!("http://moodle.example.edu/certs"))),
        ("no auth endpoint", Box::new(|d| d["authorization_endpoint"] = json!(7))),
        ("no token endpoint", Box::new(|d| drop(d.as_object_mut().unwrap().remove("token_endpoint")))),
        (
            "no private_key_jwt",
            Box::new(|d| d["token_endpoint_auth_methods_supported"] = json!(["client_secret_basic"])),
        ),
        ("no RS256", Box::new(|d| d["id_token_signing_alg_values_supported"] = json!(["HS256"]))),
        ("no platform claim", Box::new(|d| drop(d.as_object_mut().unwrap().remove(PLATFORM_CONFIGURATION_CLAIM)))),
        ("claim not an object", Box::new(|d| d[PLATFORM_CONFIGURATION_CLAIM] = json!("moodle"))),
        (
            "no product family",
            Box::new(|d| drop(d[PLATFORM_CONFIGURATION_CLAIM].as_object_mut().unwrap().remove("product_family_code"))),
        ),
        ("messages not a list", Box::new(|d| d[PLATFORM_CONFIGURATION_CLAIM]["messages_supported"] = json!("all"))),
        (
            "message without type",
            Box::new(|d| d[PLATFORM_CONFIGURATION_CLAIM]["messages_supported"] = json!([{"placements": []}])),
        ),
    ];
    for (what, mutate) in mutations {
        let mut doc = moodle();
        mutate(&mut doc);
        let e = check(MOODLE_CONFIG_URL, &doc).unwrap_err();
        assert_eq!(e.code(), ErrorCode::PlatformConfigInvalid, "{what}: {e}");
    }
    for body in [&b"not json"[..], b"[1,2]", b""] {
        let e = PlatformConfiguration::from_answer(&url(MOODLE_CONFIG_URL), 200, body, false, false).unwrap_err();
        assert_eq!(e.code(), ErrorCode::PlatformConfigInvalid);
    }
}

#[test]
fn an_unserved_configuration_is_unreachable() {
    let body = moodle().to_string();
    for (status, oversized) in [(404, false), (500, false), (302, false), (200, true)] {
        let e = PlatformConfiguration::from_answer(&url(MOODLE_CONFIG_URL), status, body.as_bytes(), oversized, false)
            .unwrap_err();
        assert_eq!(e.code(), ErrorCode::PlatformConfigUnreachable, "{status} {oversized}");
    }
}

#[test]
fn the_registration_answer_gives_the_client_and_deployment() {
    let moodle_answer =
        json!({"client_id": "r5vIQsZsINFogAP", "scope": "a b", TOOL_CONFIGURATION_CLAIM: {"deployment_id": "7"}});
    let r = ClientRegistration::from_answer(200, moodle_answer.to_string().as_bytes(), false).unwrap();
    assert_eq!(r.client_id.as_str(), "r5vIQsZsINFogAP");
    assert_eq!(r.deployment_id.as_ref().map(DeploymentId::as_str), Some("7"));
    assert_eq!(r.scope.as_deref(), Some("a b"));
    // Canvas: a numeric-looking client id, no deployment (made when the admin installs the app).
    let r = ClientRegistration::from_answer(201, br#"{"client_id": 10000000000001}"#, false).unwrap();
    assert_eq!(r.client_id.as_str(), "10000000000001");
    assert!(r.deployment_id.is_none());
    let r = ClientRegistration::from_answer(
        200,
        br#"{"client_id": "c", "https://purl.imsglobal.org/spec/lti-tool-configuration": {"deployment_id": 12}}"#,
        false,
    )
    .unwrap();
    assert_eq!(r.deployment_id.unwrap().as_str(), "12");
}

#[test]
fn a_refused_or_unusable_registration_answer_is_an_error() {
    let e = ClientRegistration::from_answer(401, br#"{"error": "invalid_token", "error_description": "used"}"#, false)
        .unwrap_err();
    assert_eq!(e, DynRegError::RegistrationRefused(401, "invalid_token used".into()));
    assert_eq!(e.code(), ErrorCode::PlatformRegistrationRefused);
    assert_eq!(
        ClientRegistration::from_answer(500, b"oops", false).unwrap_err().code(),
        ErrorCode::PlatformRegistrationRefused
    );
    for body in [
        &br#"{"client_name": "x"}"#[..],
        b"{\"client_id\": \"\"}",
        b"not json",
        b"{\"client_id\": true}",
        br#"{"client_id": "c", "https://purl.imsglobal.org/spec/lti-tool-configuration": {"deployment_id": []}}"#,
    ] {
        let e = ClientRegistration::from_answer(200, body, false).unwrap_err();
        assert_eq!(e.code(), ErrorCode::PlatformRegistrationInvalid, "{}", String::from_utf8_lossy(body));
    }
    assert_eq!(
        ClientRegistration::from_answer(200, b"", true).unwrap_err().code(),
        ErrorCode::PlatformRegistrationInvalid
    );
}
