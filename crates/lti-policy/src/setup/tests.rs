use lti_core::dynamic_registration::{PlatformConfiguration, PLATFORM_CONFIGURATION_CLAIM};
use lti_core::url::HttpUrl;
use serde_json::json;

use super::*;

const BASE: &str = "https://tool.example.com";

fn platform(family: &str, messages: Value, scopes: Value) -> PlatformConfiguration {
    let doc = json!({
        "issuer": "https://lms.example.edu",
        "authorization_endpoint": "https://lms.example.edu/auth",
        "token_endpoint": "https://lms.example.edu/token",
        "jwks_uri": "https://lms.example.edu/jwks",
        "registration_endpoint": "https://lms.example.edu/register",
        "token_endpoint_auth_methods_supported": ["private_key_jwt"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "scopes_supported": scopes,
        PLATFORM_CONFIGURATION_CLAIM: {"product_family_code": family, "messages_supported": messages, "placements": ["AddContentMenu"]},
    });
    let url = HttpUrl::parse("https://lms.example.edu/config").unwrap().normalized().unwrap();
    PlatformConfiguration::from_answer(&url, 200, doc.to_string().as_bytes(), false, false).unwrap()
}

#[test]
fn every_preset_has_a_sheet_whose_steps_are_filled_in() {
    for p in presets::PRESETS {
        let l = lms(p.code).unwrap_or_else(|| panic!("no sheet for {}", p.code));
        let sheet = paste_sheet(BASE, l);
        assert_eq!(sheet["lms"], p.code);
        for step in sheet["steps"].as_array().unwrap() {
            let s = step.as_str().unwrap();
            assert!(!s.contains("{loginUrl}") && !s.contains("Url}") && !s.contains("{redirectUris}"), "{s}");
        }
        assert_eq!(
            sheet["toolUrls"]["redirectUris"],
            json!([format!("{BASE}/lti/launch"), format!("{BASE}/hosted/index/oauth2-launch")])
        );
        assert_eq!(sheet["toolUrls"]["jwksUrl"], format!("{BASE}/lti/jwks"));
        assert_eq!(sheet["customParameters"], json!({"username": "$User.username"}));
        for pl in sheet["placements"].as_array().unwrap() {
            let m = modules::by_code(pl["module"].as_str().unwrap()).unwrap();
            assert_eq!(pl["targetLinkUri"], format!("{BASE}{}", m.path));
            assert_eq!(pl["title"], m.title);
        }
        assert!(sheet["placements"].as_array().unwrap().iter().any(|p| p["messageType"] == "LtiDeepLinkingRequest"));
        assert_eq!(sheet["preset"]["preset"], p.code);
    }
    assert_eq!(LMSS.len(), presets::PRESETS.len());
}

#[test]
fn canvas_sheet_points_at_its_json_configuration() {
    let sheet = paste_sheet(BASE, lms("canvas").unwrap());
    assert_eq!(sheet["canvasConfigUrl"], format!("{BASE}/lti/config/canvas.json"));
    assert!(sheet["steps"][1].as_str().unwrap().contains("https://tool.example.com/lti/config/canvas.json"));
    assert!(paste_sheet(BASE, lms("moodle").unwrap()).get("canvasConfigUrl").is_none());
}

#[test]
fn canvas_json_has_what_canvas_requires() {
    let c = canvas_config("https://tool.example.com:8443/");
    // Required by Canvas's JSON configuration: title, description, oidc_initiation_url,
    // target_link_uri, privacy_level, and public_jwk or public_jwk_url.
    assert_eq!(c["title"], TOOL_NAME);
    assert!(c["description"].as_str().is_some_and(|d| !d.is_empty()));
    assert_eq!(c["oidc_initiation_url"], "https://tool.example.com:8443/lti/login");
    assert_eq!(c["target_link_uri"], "https://tool.example.com:8443/hosted/index/course-gallery");
    assert_eq!(c["public_jwk_url"], "https://tool.example.com:8443/lti/jwks");
    let ext = &c["extensions"][0];
    assert_eq!(ext["platform"], "canvas.instructure.com");
    assert_eq!(ext["privacy_level"], "public");
    assert_eq!(ext["domain"], "tool.example.com:8443");
    let placements: Vec<(&str, &str)> = ext["settings"]["placements"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["placement"].as_str().unwrap(), p["message_type"].as_str().unwrap()))
        .collect();
    assert_eq!(
        placements,
        [
            ("course_navigation", "LtiResourceLinkRequest"),
            ("user_navigation", "LtiResourceLinkRequest"),
            ("editor_button", "LtiDeepLinkingRequest"),
            ("link_selection", "LtiDeepLinkingRequest")
        ]
    );
    for s in c["scopes"].as_array().unwrap() {
        // Canvas's allowed scope values.
        assert!(SCOPES.contains(&s.as_str().unwrap()));
    }
    assert_eq!(c["custom_fields"]["username"], "$User.username");
}

#[test]
fn dynamic_registration_request_for_moodle() {
    let p = platform("moodle", json!(["LtiResourceLinkRequest", "LtiDeepLinkingRequest"]), json!([]));
    let r = registration_request(BASE, &p, "LTI Edge");
    // What Moodle's registration_helper requires.
    assert_eq!(r["response_types"], json!(["id_token"]));
    assert_eq!(r["token_endpoint_auth_method"], "private_key_jwt");
    assert_eq!(r["initiate_login_uri"], format!("{BASE}/lti/login"));
    assert_eq!(r["jwks_uri"], format!("{BASE}/lti/jwks"));
    assert_eq!(r["client_name"], "LTI Edge");
    assert!(r["redirect_uris"].is_array());
    let tool = &r[TOOL_CONFIGURATION_CLAIM];
    assert_eq!(tool["domain"], "tool.example.com");
    assert_eq!(tool["target_link_uri"], format!("{BASE}/hosted/index/course-gallery"));
    assert_eq!(tool["custom_parameters"], json!({"username": "$User.username"}));
    assert_eq!(
        tool["messages"],
        json!([{"type": "LtiDeepLinkingRequest", "target_link_uri": format!("{BASE}/browseandembed/index/browseandembed"),
                "label": "Content Picker", "placements": ["AddContentMenu"]}])
    );
    assert!(tool.get("https://canvas.instructure.com/lti/privacy_level").is_none());
    // No scopes_supported listed: all of the tool's scopes.
    assert_eq!(r["scope"], SCOPES.join(" "));
}

#[test]
fn dynamic_registration_request_for_canvas_uses_canvas_placements() {
    let p = platform(
        "canvas",
        json!([
            {"type": "LtiResourceLinkRequest", "placements": ["course_navigation", "account_navigation"]},
            {"type": "LtiDeepLinkingRequest", "placements": ["editor_button", "link_selection", "assignment_selection"]}
        ]),
        json!([SCOPE_SCORE, SCOPE_NRPS, "https://canvas.instructure.com/lti/public_jwk/scope/update"]),
    );
    let r = registration_request(BASE, &p, "LTI Edge");
    let tool = &r[TOOL_CONFIGURATION_CLAIM];
    assert_eq!(tool["https://canvas.instructure.com/lti/privacy_level"], "public");
    assert_eq!(tool["https://canvas.instructure.com/lti/tool_id"], TOOL_ID);
    let messages: Vec<(String, Value)> = tool["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (m["target_link_uri"].as_str().unwrap().to_string(), m["placements"].clone()))
        .collect();
    // user_navigation is not offered by this Canvas: My Media has no message.
    assert_eq!(
        messages,
        [
            (format!("{BASE}/hosted/index/course-gallery"), json!(["course_navigation"])),
            (format!("{BASE}/browseandembed/index/browseandembed"), json!(["editor_button", "link_selection"]))
        ]
    );
    // Only the scopes Canvas says it supports.
    assert_eq!(r["scope"], format!("{SCOPE_SCORE} {SCOPE_NRPS}"));
}

#[test]
fn custom_parameters_follow_the_user_id_rule() {
    assert_eq!(
        custom_parameters_for("custom_username", "", ""),
        json!({"username": "$User.username"}).as_object().unwrap().clone()
    );
    assert_eq!(
        custom_parameters_for("", lti_core::claims::CUSTOM, "employee_no"),
        json!({"employee_no": "<the LMS variable that holds the user id>"}).as_object().unwrap().clone()
    );
    assert!(custom_parameters_for("lis_person_sourcedid", "", "").is_empty());
    assert!(custom_parameters_for("", "", "").is_empty());
    // The user-id options name configurations the registration validator accepts.
    for opt in user_id_options().as_array().unwrap() {
        let mut body = json!({"preset": "canvas", "lti13ClientId": "1"});
        for (k, v) in opt["configuration"].as_object().unwrap() {
            body[k] = v.clone();
        }
        let r = crate::RegistrationInput::new(&body).unwrap().validate("id", None, "now", false);
        assert!(r.is_ok(), "{opt}");
    }
}

#[test]
fn product_family_codes_map_to_platform_families() {
    for (code, family) in [
        ("moodle", "moodle"),
        ("canvas", "canvas"),
        ("BlackboardLearn", "blackboard"),
        ("desire2learn", "brightspace"),
        ("sakai", "sakai"),
        ("schoology", "schoology"),
        ("local-lms", "other"),
    ] {
        assert_eq!(platform_family(code), family);
        assert!(crate::registration::PLATFORM_FAMILIES.contains(&platform_family(code)));
    }
}
