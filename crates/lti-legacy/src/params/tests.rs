use super::*;

fn req(pairs: &[(&str, &str)]) -> AuthenticatedRequest {
    AuthenticatedRequest::for_tests(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect())
}

const BASIC: &[(&str, &str)] = &[
    ("lti_message_type", "basic-lti-launch-request"),
    ("lti_version", "LTI-1p0"),
    ("resource_link_id", "rl-1"),
    ("oauth_consumer_key", "test-key"),
    ("oauth_nonce", "n"),
];

fn parse(extra: &[(&str, &str)]) -> Result<Lti11Launch, ParamsError> {
    let mut all = BASIC.to_vec();
    all.extend_from_slice(extra);
    Lti11Launch::from_request(req(&all), ParseOptions::default())
}

fn parse_without(name: &str) -> Result<Lti11Launch, ParamsError> {
    let all: Vec<_> = BASIC.iter().copied().filter(|(k, _)| *k != name).collect();
    Lti11Launch::from_request(req(&all), ParseOptions::default())
}

#[test]
fn minimal_basic_launch() {
    let l = parse(&[]).unwrap();
    assert_eq!(l.message_type, MessageType::BasicLaunch);
    assert_eq!(l.resource_link_id.as_deref(), Some("rl-1"));
    assert_eq!(l.user_id, None);
    assert!(l.roles.is_empty() && l.context.is_none() && l.outcome_service.is_none() && l.content_item.is_none());
    assert!(l.params().iter().all(|(k, _)| !k.starts_with("oauth_")), "protocol parameters are not launch parameters");
}

#[test]
fn message_type_and_version_are_checked() {
    assert_eq!(parse_without("lti_message_type").unwrap_err(), ParamsError::Missing("lti_message_type"));
    assert_eq!(parse_without("lti_version").unwrap_err(), ParamsError::Missing("lti_version"));
    let mut all: Vec<_> = BASIC.iter().copied().filter(|(k, _)| *k != "lti_message_type").collect();
    all.push(("lti_message_type", "ToolProxyRegistrationRequest"));
    let err = Lti11Launch::from_request(req(&all), ParseOptions::default()).unwrap_err();
    assert_eq!(err, ParamsError::MessageTypeUnsupported("ToolProxyRegistrationRequest".into()));
    for v in ["LTI-2p0", "1.3.0", "lti-1p0"] {
        let mut all: Vec<_> = BASIC.iter().copied().filter(|(k, _)| *k != "lti_version").collect();
        all.push(("lti_version", v));
        let err = Lti11Launch::from_request(req(&all), ParseOptions::default()).unwrap_err();
        assert_eq!(err, ParamsError::VersionUnsupported(v.into()));
    }
    for v in ["LTI-1p1", "LTI-1p2"] {
        let mut all: Vec<_> = BASIC.iter().copied().filter(|(k, _)| *k != "lti_version").collect();
        all.push(("lti_version", v));
        assert!(Lti11Launch::from_request(req(&all), ParseOptions::default()).is_ok(), "{v}");
    }
}

#[test]
fn basic_launch_requires_resource_link_id() {
    assert_eq!(parse_without("resource_link_id").unwrap_err(), ParamsError::Missing("resource_link_id"));
}

#[test]
fn conflicting_duplicates_are_refused_identical_ones_are_not() {
    assert!(matches!(parse(&[("user_id", "a"), ("user_id", "b")]), Err(ParamsError::Invalid(n, _)) if n == "user_id"));
    assert!(
        matches!(parse(&[("custom_username", "a"), ("custom_username", "b")]), Err(ParamsError::Invalid(n, _)) if n == "custom_username")
    );
    assert_eq!(parse(&[("user_id", "a"), ("user_id", "a")]).unwrap().user_id.as_deref(), Some("a"));
    // A non-LTI name may repeat; `param` then refuses to pick one.
    let l = parse(&[("x", "1"), ("x", "2"), ("y", "3")]).unwrap();
    assert_eq!(l.param("x"), None);
    assert_eq!(l.param("y"), Some("3"));
}

#[test]
fn oversized_values_are_refused() {
    let big = "a".repeat(MAX_VALUE + 1);
    assert!(matches!(parse(&[("user_id", &big)]), Err(ParamsError::Invalid(n, "too long")) if n == "user_id"));
    assert!(parse(&[("anything", &big)]).is_ok(), "non-LTI values get the larger limit");
    let huge = "a".repeat(MAX_DATA + 1);
    assert!(matches!(parse(&[("anything", &huge)]), Err(ParamsError::Invalid(n, "too long")) if n == "anything"));
}

#[test]
fn content_item_request_reads_its_settings() {
    let all = [
        ("lti_message_type", "ContentItemSelectionRequest"),
        ("lti_version", "LTI-1p0"),
        ("content_item_return_url", "https://lms.example/return"),
        ("accept_media_types", "application/vnd.ims.lti.v1.ltilink, text/html"),
        ("accept_presentation_document_targets", "iframe,window"),
        ("accept_multiple", "TRUE"),
        ("data", "xyz"),
    ];
    let l = Lti11Launch::from_request(req(&all), ParseOptions::default()).unwrap();
    let ci = l.content_item.unwrap();
    assert_eq!(ci.accept_media_types, ["application/vnd.ims.lti.v1.ltilink", "text/html"]);
    assert!(ci.accept_multiple && !ci.accept_unsigned && !ci.auto_create);
    assert_eq!(ci.data.as_deref(), Some("xyz"));
    for missing in ["content_item_return_url", "accept_media_types", "accept_presentation_document_targets"] {
        let some: Vec<_> = all.iter().copied().filter(|(k, _)| *k != missing).collect();
        assert_eq!(
            Lti11Launch::from_request(req(&some), ParseOptions::default()).unwrap_err(),
            ParamsError::Missing(missing)
        );
    }
    let mut bad: Vec<_> = all.iter().copied().filter(|(k, _)| *k != "content_item_return_url").collect();
    bad.push(("content_item_return_url", "javascript:alert(1)"));
    assert!(
        matches!(Lti11Launch::from_request(req(&bad), ParseOptions::default()), Err(ParamsError::Invalid(n, _)) if n == "content_item_return_url")
    );
}

#[test]
fn optional_urls_are_dropped_unless_http() {
    let l = parse(&[
        ("launch_presentation_return_url", "javascript:alert(1)"),
        ("lis_outcome_service_url", "ftp://x"),
        ("lis_result_sourcedid", "s"),
    ])
    .unwrap();
    assert_eq!(l.return_url, None);
    assert_eq!(l.outcome_service, None);
    let l = parse(&[("lis_outcome_service_url", "https://lms.example/outcomes")]).unwrap();
    assert_eq!(l.outcome_service, None, "needs the sourcedid too");
}

#[test]
fn roles_map_to_the_lti13_vocabulary() {
    let m = |r: &str| map_role(r);
    let ms = vocab::MEMBERSHIP;
    assert_eq!(m("Instructor"), [format!("{ms}#Instructor")]);
    assert_eq!(m("instructor"), [format!("{ms}#Instructor")]);
    assert_eq!(m("urn:lti:role:ims/lis/Learner"), [format!("{ms}#Learner")]);
    assert_eq!(m("URN:LTI:ROLE:IMS/LIS/learner"), [format!("{ms}#Learner")]);
    assert_eq!(m("TeachingAssistant"), [format!("{ms}/Instructor#TeachingAssistant")]);
    assert_eq!(m("urn:lti:role:ims/lis/TeachingAssistant"), [format!("{ms}/Instructor#TeachingAssistant")]);
    assert_eq!(
        m("urn:lti:role:ims/lis/TeachingAssistant/Grader"),
        [format!("{ms}/Instructor#Grader"), format!("{ms}/Instructor#TeachingAssistant")]
    );
    assert_eq!(
        m("urn:lti:role:ims/lis/Learner/NonCreditLearner"),
        [format!("{ms}/Learner#NonCreditLearner"), format!("{ms}#Learner")]
    );
    assert_eq!(m("Administrator"), [format!("{ms}#Administrator")]);
    assert_eq!(m("urn:lti:instrole:ims/lis/Administrator"), [format!("{}Administrator", vocab::INSTITUTION)]);
    assert_eq!(m("urn:lti:instrole:ims/lis/administrator"), [format!("{}Administrator", vocab::INSTITUTION)]);
    assert_eq!(m("urn:lti:sysrole:ims/lis/SysAdmin"), [format!("{}SysAdmin", vocab::SYSTEM)]);
    // Unknown or already-1.3 values pass through unchanged.
    for same in [
        "Student",
        "Custom Role",
        "urn:lti:role:ims/lis/Wizard",
        "urn:lti:role:ims/lis/A/B/C",
        "http://purl.imsglobal.org/vocab/lis/v2/membership#Mentor",
    ] {
        assert_eq!(m(same), [same.to_string()]);
    }
    assert_eq!(
        map_roles(&["Instructor".into(), "urn:lti:role:ims/lis/Instructor".into()]),
        [format!("{ms}#Instructor")]
    );
}

#[test]
fn mapped_roles_resolve_through_lti_core_like_1_3_roles() {
    use lti_policy::roles::{resolve_role, ToolRole};
    let none = BTreeMap::new();
    let tool_role =
        |r: &str| resolve_role(&map_roles(&r.split(',').map(str::to_string).collect::<Vec<_>>()), &none).ok();
    assert_eq!(tool_role("Instructor"), Some(ToolRole::Admin));
    assert_eq!(tool_role("urn:lti:role:ims/lis/TeachingAssistant"), Some(ToolRole::Moderator));
    assert_eq!(tool_role("urn:lti:role:ims/lis/Learner/NonCreditLearner"), Some(ToolRole::Viewer));
    assert_eq!(
        tool_role("Learner,urn:lti:instrole:ims/lis/Administrator"),
        Some(ToolRole::Viewer),
        "context role decides"
    );
    assert_eq!(tool_role("urn:lti:instrole:ims/lis/Administrator"), Some(ToolRole::Admin));
    assert_eq!(tool_role("urn:lti:sysrole:ims/lis/User"), None);
}

#[test]
fn blackboard_decoding_only_touches_valid_base64_text() {
    let b = |s: &str| STANDARD.encode(s);
    let mut p = vec![
        ("user_id".to_string(), b("bb-user-42")),
        ("context_title".to_string(), b("Biologie für Anfänger")),
        ("lis_person_name_full".to_string(), "Jürgen Groß".to_string()), // not base64: kept
        ("lis_person_name_given".to_string(), "1234".to_string()),       // base64 of non-UTF-8: kept
        ("lis_person_name_family".to_string(), "AAAA".to_string()),      // base64 of NULs: kept
        ("context_label".to_string(), b("BIO101")),                      // not a Blackboard-encoded parameter
        ("context_id".to_string(), "YWJj".to_string()),
    ];
    decode_blackboard_base64(&mut p);
    let v: Vec<&str> = p.iter().map(|(_, v)| v.as_str()).collect();
    assert_eq!(v, ["bb-user-42", "Biologie für Anfänger", "Jürgen Groß", "1234", "AAAA", &b("BIO101"), "YWJj"]);
    // Unpadded or URL-safe forms are not what Blackboard sends: kept.
    let mut q = vec![("user_id".to_string(), "YWJjZA".to_string())];
    decode_blackboard_base64(&mut q);
    assert_eq!(q[0].1, "YWJjZA");
}

#[test]
fn blackboard_option_is_off_by_default() {
    let enc = STANDARD.encode("bb-user-42");
    assert_eq!(parse(&[("user_id", &enc)]).unwrap().user_id.as_deref(), Some(enc.as_str()));
    let mut all = BASIC.to_vec();
    all.push(("user_id", &enc));
    let l = Lti11Launch::from_request(req(&all), ParseOptions { blackboard_base64: true }).unwrap();
    assert_eq!(l.user_id.as_deref(), Some("bb-user-42"));
    assert_eq!(l.param("user_id"), Some("bb-user-42"));
}

#[test]
fn lti13_claims_feed_lti_core_user_id_rules() {
    let l = parse(&[
        ("user_id", "u-1"),
        ("lis_person_sourcedid", "sis:42"),
        ("custom_username", "jdoe"),
        ("ext_user_username", "jdoe-ext"),
        ("lis_person_contact_email_primary", "j@x.example"),
        ("context_id", "c-1"),
        ("tool_consumer_info_product_family_code", "moodle"),
        ("sub", "evil"),
    ])
    .unwrap();
    let c = l.to_lti13_claims();
    assert_eq!(c["sub"], "u-1", "a 1.1 parameter named sub never replaces user_id");
    assert_eq!(c[claim::LTI1P1]["user_id"], "u-1");
    assert_eq!(c[claim::LTI1P1]["oauth_consumer_key"], "test-key");
    assert_eq!(c[claim::LTI1P1]["context_id"], "c-1");
    assert_eq!(c[claim::LTI1P1]["resource_link_id"], "rl-1");
    assert_eq!(c[LIS_CLAIM]["person_sourcedid"], "sis:42");
    assert_eq!(c[claim::CUSTOM]["username"], "jdoe");
    assert_eq!(c[EXT_CLAIM]["user_username"], "jdoe-ext");
    assert_eq!(c["tool_consumer_info_product_family_code"], "moodle");
    assert_eq!(c[claim::MESSAGE_TYPE], "LtiResourceLinkRequest");
    assert!(c.get("oauth_consumer_key").is_none() && c.get("oauth_nonce").is_none());
}

fn registration(body: serde_json::Value) -> lti_policy::Registration {
    lti_policy::registration::RegistrationInput::new(&body)
        .and_then(|i| i.validate("reg-1", None, "2026-01-01T00:00:00Z", false))
        .unwrap()
}

fn base_registration(extra: serde_json::Value) -> lti_policy::Registration {
    let mut b = serde_json::json!({
        "issuer": "https://lms.example", "lti13ClientId": "c", "name": "LMS",
        "lti13PlatformOidcAuthUrl": "https://lms.example/auth", "lti13AuthTokenUrl": "https://lms.example/token",
        "lti13KeysUrl": "https://lms.example/jwks", "deploymentIds": ["dep-1"],
        "lti11ConsumerKey": "test-key", "lti11Secret": "a-secret-of-8+"
    });
    if let (Some(o), Some(e)) = (b.as_object_mut(), extra.as_object()) {
        for (k, v) in e {
            o.insert(k.clone(), v.clone());
        }
    }
    registration(b)
}

#[test]
fn authorize_gives_the_category_a_1_3_launch_of_the_deployment_gets() {
    let l = parse(&[("user_id", "u-1"), ("roles", "Instructor"), ("context_id", "c-1")]).unwrap();
    let reg = base_registration(serde_json::json!({}));
    let launch = l.authorize(&reg, "/lti/launch").unwrap();
    assert_eq!(launch.lti_version, "1.1");
    assert_eq!(launch.user_id, "u-1");
    assert_eq!(launch.category, lti_policy::category_id("reg-1", "dep-1", "c-1"));
    assert_eq!(launch.module.code, "mymedia");
    assert_eq!(launch.role, lti_policy::roles::ToolRole::Admin);
    // lti11DeploymentId overrides the first deployment id.
    let reg = base_registration(serde_json::json!({"lti11DeploymentId": "dep-legacy"}));
    assert_eq!(
        l.authorize(&reg, "/hosted/index/course-gallery").unwrap().category,
        lti_policy::category_id("reg-1", "dep-legacy", "c-1")
    );
    assert_eq!(l.authorize(&reg, "/hosted/index/course-gallery").unwrap().module.code, "coursegallery");
    // User-id rules apply to 1.1 parameters.
    let reg = base_registration(serde_json::json!({"ltiUserIdAttribute": "lis_person_sourcedid"}));
    let l = parse(&[("user_id", "u-1"), ("roles", "Learner"), ("lis_person_sourcedid", "sis:42")]).unwrap();
    assert_eq!(l.authorize(&reg, "/lti/launch").unwrap().user_id, "sis:42");
    // Unknown module paths and disabled modules are refused.
    assert!(l.authorize(&reg, "/nowhere").is_err());
    let reg = base_registration(serde_json::json!({"disabledModules": ["mymedia"]}));
    assert!(l.authorize(&reg, "/lti/launch").is_err());
}
