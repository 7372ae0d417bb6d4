use serde_json::json;

use super::*;
use crate::registration::RegistrationInput;

fn validate(body: Value) -> Result<crate::Registration, BTreeMap<String, String>> {
    RegistrationInput::new(&body)
        .and_then(|i| i.validate("id-1", None, "2026-11-22T00:00:00Z", false))
        .map_err(|e| e.fields)
}

fn validate_loopback(body: Value) -> Result<crate::Registration, BTreeMap<String, String>> {
    RegistrationInput::new(&body)
        .and_then(|i| i.validate("id-1", None, "2026-11-22T00:00:00Z", true))
        .map_err(|e| e.fields)
}

fn urls(r: &crate::Registration) -> [String; 4] {
    let l = r.lti();
    [l.issuer().to_string(), l.auth_login_url().to_string(), l.auth_token_url().to_string(), l.keyset_url().to_string()]
}

#[test]
fn moodle_fills_its_endpoints_from_the_site() {
    let r = validate(json!({"preset": "moodle", "siteUrl": "https://moodle.example.edu/", "lti13ClientId": "abc", "deploymentIds": ["3"]}))
        .unwrap();
    assert_eq!(
        urls(&r),
        [
            "https://moodle.example.edu",
            "https://moodle.example.edu/mod/lti/auth.php",
            "https://moodle.example.edu/mod/lti/token.php",
            "https://moodle.example.edu/mod/lti/certs.php"
        ]
    );
    assert_eq!(r.platform_family, "moodle");
    assert_eq!(r.name, "Moodle (moodle.example.edu)");
    assert_eq!(r.lti().deployment_ids()[0].as_str(), "3");
    // A Moodle in a sub-folder keeps its path (its issuer is $CFG->wwwroot).
    let r = validate(json!({"preset": "moodle", "siteUrl": "https://www.example.edu/moodle", "lti13ClientId": "abc"}))
        .unwrap();
    assert_eq!(urls(&r)[0], "https://www.example.edu/moodle");
    assert_eq!(urls(&r)[3], "https://www.example.edu/moodle/mod/lti/certs.php");
}

#[test]
fn canvas_needs_only_the_client_id_and_knows_its_environments() {
    let r = validate(json!({"preset": "canvas", "lti13ClientId": "10000000000042"})).unwrap();
    assert_eq!(
        urls(&r),
        [
            "https://canvas.instructure.com",
            "https://sso.canvaslms.com/api/lti/authorize_redirect",
            "https://sso.canvaslms.com/login/oauth2/token",
            "https://sso.canvaslms.com/api/lti/security/jwks"
        ]
    );
    assert_eq!(r.name, "Canvas (client 10000000000042)");
    assert!(r.lti().deployment_ids().is_empty(), "no deployment: the first launch's is recorded");
    let r = validate(json!({"preset": "canvas", "lti13ClientId": "1", "canvasEnvironment": "beta"})).unwrap();
    assert_eq!(urls(&r)[0], "https://canvas.beta.instructure.com");
    assert_eq!(urls(&r)[3], "https://sso.beta.canvaslms.com/api/lti/security/jwks");
    let r = validate(json!({"preset": "canvas", "lti13ClientId": "1", "canvasEnvironment": "test"})).unwrap();
    assert_eq!(urls(&r)[1], "https://sso.test.canvaslms.com/api/lti/authorize_redirect");
    let e = validate(json!({"preset": "canvas", "lti13ClientId": "1", "canvasEnvironment": "staging"})).unwrap_err();
    assert_eq!(e.keys().collect::<Vec<_>>(), ["canvasEnvironment"]);
}

#[test]
fn blackboard_takes_the_application_id_as_client_id() {
    let r = validate(json!({"preset": "blackboard", "applicationId": "675de6fc-ccd1-497c-958b-cc72e60d098d", "deploymentIds": ["d-1"]}))
        .unwrap();
    assert_eq!(r.lti().client_id().as_str(), "675de6fc-ccd1-497c-958b-cc72e60d098d");
    assert_eq!(
        urls(&r),
        [
            "https://blackboard.com",
            "https://developer.blackboard.com/api/v1/gateway/oidcauth",
            "https://developer.blackboard.com/api/v1/gateway/oauth2/jwttoken",
            "https://developer.blackboard.com/api/v1/management/applications/675de6fc-ccd1-497c-958b-cc72e60d098d/jwks.json"
        ]
    );
    assert_eq!(r.platform_family, "blackboard", "LTI 1.1 parameters are base64-decoded for Blackboard");
    // The client id alone is enough (it is the application id).
    let r = validate(json!({"preset": "blackboard", "lti13ClientId": "app-1"})).unwrap();
    assert!(urls(&r)[3].ends_with("/applications/app-1/jwks.json"));
    let e = validate(json!({"preset": "blackboard", "applicationId": "app-1", "lti13ClientId": "app-2"})).unwrap_err();
    assert!(e["applicationId"].contains("must equal lti13ClientId"), "{e:?}");
    let e = validate(json!({"preset": "blackboard"})).unwrap_err();
    assert_eq!(e.keys().collect::<Vec<_>>(), ["applicationId"], "lti13ClientId and the key set URL come from it");
    let e = validate(json!({"preset": "blackboard", "applicationId": "../../x"})).unwrap_err();
    assert!(e.contains_key("applicationId"), "{e:?}");
}

#[test]
fn brightspace_sakai_and_schoology_fill_their_patterns() {
    let r =
        validate(json!({"preset": "brightspace", "siteUrl": "https://school.brightspace.com", "lti13ClientId": "c"}))
            .unwrap();
    assert_eq!(
        urls(&r),
        [
            "https://school.brightspace.com",
            "https://school.brightspace.com/d2l/lti/authenticate",
            "https://auth.brightspace.com/core/connect/token",
            "https://school.brightspace.com/d2l/.well-known/jwks"
        ]
    );
    let r = validate(
        json!({"preset": "sakai", "siteUrl": "https://sakai.example.edu", "toolId": "18", "lti13ClientId": "c"}),
    )
    .unwrap();
    assert_eq!(
        urls(&r),
        [
            "https://sakai.example.edu",
            "https://sakai.example.edu/imsoidc/lti13/oidc_auth",
            "https://sakai.example.edu/imsblis/lti13/token/18",
            "https://sakai.example.edu/imsblis/lti13/keyset/18"
        ]
    );
    let r = validate(json!({"preset": "schoology", "lti13ClientId": "6558245496"})).unwrap();
    assert_eq!(
        urls(&r),
        [
            "https://schoology.schoology.com",
            "https://lti-service.svc.schoology.com/lti-service/authorize-redirect",
            "https://lti-service.svc.schoology.com/lti-service/access-token",
            "https://lti-service.svc.schoology.com/lti-service/.well-known/jwks"
        ]
    );
    assert_eq!(r.platform_family, "schoology");
}

#[test]
fn missing_inputs_are_field_errors_and_nothing_is_reported_twice() {
    let e = validate(json!({"preset": "sakai"})).unwrap_err();
    assert_eq!(e.keys().collect::<Vec<_>>(), ["lti13ClientId", "siteUrl", "toolId"], "{e:?}");
    assert!(e["siteUrl"].contains("required by the sakai preset"), "{e:?}");
    let e = validate(json!({"preset": "moodle", "lti13ClientId": "c"})).unwrap_err();
    assert_eq!(e.keys().collect::<Vec<_>>(), ["siteUrl"], "{e:?}");
    let e = validate(json!({"preset": "canvas"})).unwrap_err();
    assert_eq!(e.keys().collect::<Vec<_>>(), ["lti13ClientId"], "{e:?}");
    // Other field errors are still reported with the preset's.
    let e = validate(json!({"preset": "moodle", "lti13ClientId": "c", "leewaySeconds": 999})).unwrap_err();
    assert_eq!(e.keys().collect::<Vec<_>>(), ["leewaySeconds", "siteUrl"], "{e:?}");
}

#[test]
fn bad_inputs_are_reported_on_the_input() {
    let e = validate(json!({"preset": "moodle", "siteUrl": "http://moodle.example.edu", "lti13ClientId": "c"}))
        .unwrap_err();
    assert_eq!(e.keys().collect::<Vec<_>>(), ["siteUrl"], "{e:?}");
    assert!(e["siteUrl"].contains("https"), "{e:?}");
    for bad in
        [json!("moodle.example.edu"), json!("https://m.example.edu/?x=1"), json!("https://m.example.edu/#x"), json!(7)]
    {
        let e = validate(json!({"preset": "moodle", "siteUrl": bad, "lti13ClientId": "c"})).unwrap_err();
        assert_eq!(e.keys().collect::<Vec<_>>(), ["siteUrl"], "{bad}: {e:?}");
    }
    let e = validate(
        json!({"preset": "sakai", "siteUrl": "https://s.example.edu", "toolId": "1/../2", "lti13ClientId": "c"}),
    )
    .unwrap_err();
    assert_eq!(e.keys().collect::<Vec<_>>(), ["toolId"], "{e:?}");
    for bad in [json!("nope"), json!(3), json!("")] {
        let e = validate(json!({"preset": bad, "lti13ClientId": "c"})).unwrap_err();
        assert!(e["preset"].starts_with("must be one of moodle, canvas"), "{e:?}");
        assert_eq!(e.keys().collect::<Vec<_>>(), ["preset"], "{e:?}");
    }
    // http on loopback only where the deployment allows it (local development).
    let local = json!({"preset": "moodle", "siteUrl": "http://127.0.0.1:9001", "lti13ClientId": "c"});
    assert!(validate(local.clone()).is_err());
    assert_eq!(urls(&validate_loopback(local).unwrap())[2], "http://127.0.0.1:9001/mod/lti/token.php");
}

#[test]
fn explicit_fields_win_over_the_preset() {
    let r = validate(json!({
        "preset": "moodle", "siteUrl": "https://moodle.example.edu", "lti13ClientId": "c",
        "lti13PlatformOidcAuthUrl": "https://moodle.example.edu/local/kaltura/auth.php",
        "name": "Moodle with the Kaltura plugin", "platformFamily": "other"
    }))
    .unwrap();
    assert_eq!(urls(&r)[1], "https://moodle.example.edu/local/kaltura/auth.php");
    assert_eq!(urls(&r)[2], "https://moodle.example.edu/mod/lti/token.php");
    assert_eq!(r.name, "Moodle with the Kaltura plugin");
    assert_eq!(r.platform_family, "other");
    // Self-hosted Canvas: its own issuer.
    let r =
        validate(json!({"preset": "canvas", "lti13ClientId": "c", "issuer": "https://canvas.example.edu"})).unwrap();
    assert_eq!(urls(&r)[0], "https://canvas.example.edu");
}

#[test]
fn other_asks_for_everything_and_a_body_without_preset_is_unchanged() {
    let e = validate(json!({"preset": "other", "lti13ClientId": "c"})).unwrap_err();
    assert_eq!(
        e.keys().collect::<Vec<_>>(),
        ["issuer", "lti13AuthTokenUrl", "lti13KeysUrl", "lti13PlatformOidcAuthUrl"],
        "{e:?}"
    );
    let plain = json!({"issuer": "https://lms.example.edu", "lti13ClientId": "c"});
    let x = expand(plain.as_object().unwrap());
    assert_eq!(&x.body, plain.as_object().unwrap());
    assert!(x.errors.is_empty() && x.derived.is_empty() && x.unfilled.is_empty());
}

#[test]
fn the_upsert_key_is_read_after_the_preset() {
    let body = json!({"preset": "canvas", "lti13ClientId": "42"});
    let input = RegistrationInput::new(&body).unwrap();
    assert_eq!(input.key(), (Some("https://canvas.instructure.com".to_string()), Some("42".to_string())));
}

#[test]
fn every_preset_is_described_and_covers_a_platform_family() {
    for p in PRESETS {
        assert!(crate::registration::PLATFORM_FAMILIES.contains(&p.code), "{}", p.code);
        let d = p.describe();
        assert_eq!(d["preset"], p.code);
        assert!(d["asks"].as_array().is_some_and(|a| !a.is_empty()));
    }
    assert_eq!(
        PRESETS.iter().map(|p| p.code).collect::<Vec<_>>(),
        ["moodle", "canvas", "blackboard", "brightspace", "sakai", "schoology", "other"]
    );
}
