use super::*;

fn ok(json: &str) -> EmbedConfig {
    EmbedConfig::from_json(json).expect("accepted")
}

fn err(json: &str) -> OptionsError {
    EmbedConfig::from_json(json).expect_err("refused")
}

#[test]
fn defaults_are_secure_and_tall_enough() {
    let c = ok(r#"{"url": "https://lms.example.edu/launch?x=1", "allowedOrigins": ["https://tool.example.com"]}"#);
    assert_eq!(c.launch, Launch::Url("https://lms.example.edu/launch?x=1".into()));
    assert_eq!(c.min_height, 800.0);
    assert_eq!(c.max_height, DEFAULT_MAX_HEIGHT);
    assert_eq!(c.scroll_to_top, ScrollPolicy::Gesture);
    assert_eq!(c.allow, DEFAULT_ALLOW);
    assert_eq!(c.sandbox.as_deref(), Some(DEFAULT_SANDBOX));
    assert_eq!(c.title, DEFAULT_TITLE);
    assert_eq!(c.name, None);
    assert_eq!(c.origins.iter().collect::<Vec<_>>(), ["https://tool.example.com"]);
}

#[test]
fn form_launch() {
    let c = ok(
        r#"{"form": {"action": "/lti/launch", "fields": {"b": "2", "a": "1"}}, "allowedOrigins": ["http://127.0.0.1:8787"], "name": "tool-1"}"#,
    );
    assert_eq!(
        c.launch,
        Launch::Form {
            action: "/lti/launch".into(),
            method: "post",
            fields: vec![("a".into(), "1".into()), ("b".into(), "2".into())]
        }
    );
    assert_eq!(c.name.as_deref(), Some("tool-1"));
    let g = ok(
        r#"{"form": {"action": "https://lms.example.edu/x", "method": "GET"}, "allowedOrigins": ["https://t.example"]}"#,
    );
    assert!(matches!(g.launch, Launch::Form { method: "get", .. }));
    assert_eq!(
        err(r#"{"form": {"action": "https://x.example", "method": "put"}, "allowedOrigins": ["https://t.example"]}"#),
        OptionsError::Invalid { field: "form.method", reason: "must be \"post\" or \"get\"" }
    );
}

#[test]
fn launch_is_required_and_unique() {
    assert!(matches!(err(r#"{"allowedOrigins": ["https://t.example"]}"#), OptionsError::Invalid { field: "url", .. }));
    assert!(matches!(
        err(
            r#"{"url": "https://a.example", "form": {"action": "https://a.example"}, "allowedOrigins": ["https://t.example"]}"#
        ),
        OptionsError::Invalid { field: "url", .. }
    ));
    for bad in [
        "javascript:alert(1)",
        "//evil.example/x",
        "http://lms.example.edu/launch",
        "data:text/html,hi",
        "https://a@b.example/",
    ] {
        let json = serde_json::json!({"url": bad, "allowedOrigins": ["https://t.example"]}).to_string();
        assert!(matches!(err(&json), OptionsError::Invalid { field: "url", .. }), "{bad} accepted");
    }
}

#[test]
fn origins_are_exact() {
    assert!(matches!(err(r#"{"url": "/x"}"#), OptionsError::Invalid { field: "allowedOrigins", .. }));
    assert!(matches!(
        err(r#"{"url": "/x", "allowedOrigins": []}"#),
        OptionsError::Invalid { field: "allowedOrigins", .. }
    ));
    assert_eq!(
        err(r#"{"url": "/x", "allowedOrigins": ["https://t.example", "null"]}"#),
        OptionsError::Origin { field: "allowedOrigins", index: 1, error: OriginError::Null }
    );
    assert_eq!(
        err(r#"{"url": "/x", "allowedOrigins": ["*"]}"#),
        OptionsError::Origin { field: "allowedOrigins", index: 0, error: OriginError::Wildcard }
    );
    assert_eq!(
        err(r#"{"url": "/x", "allowedOrigins": ["https://t.example/path"]}"#),
        OptionsError::Origin { field: "allowedOrigins", index: 0, error: OriginError::Malformed }
    );
}

#[test]
fn unknown_and_mistyped_fields_are_refused() {
    assert_eq!(
        err(r#"{"url": "/x", "allowedOrigin": ["https://t.example"]}"#),
        OptionsError::Unknown("allowedOrigin".into())
    );
    assert!(matches!(
        err(r#"{"url": "/x", "allowedOrigins": "https://t.example"}"#),
        OptionsError::Invalid { field: "allowedOrigins", .. }
    ));
    assert!(matches!(
        err(r#"{"url": "/x", "allowedOrigins": [7]}"#),
        OptionsError::Invalid { field: "allowedOrigins", .. }
    ));
    assert!(matches!(
        err(r#"{"url": 7, "allowedOrigins": ["https://t.example"]}"#),
        OptionsError::Invalid { field: "url", .. }
    ));
    assert!(matches!(
        err(r#"{"url": "/x", "allowedOrigins": ["https://t.example"], "minHeight": "800"}"#),
        OptionsError::Invalid { field: "minHeight", .. }
    ));
    assert!(matches!(
        err(r#"{"form": {"action": "/x", "fields": {"a": 1}}, "allowedOrigins": ["https://t.example"]}"#),
        OptionsError::Invalid { field: "form.fields", .. }
    ));
    assert_eq!(
        err(r#"{"form": {"action": "/x", "target": "_top"}, "allowedOrigins": ["https://t.example"]}"#),
        OptionsError::Unknown("target".into())
    );
    assert_eq!(err(r#"[1]"#), OptionsError::NotObject);
    assert_eq!(err(r#"null"#), OptionsError::NotObject);
    assert_eq!(
        ok(r#"{"url": "/x", "allowedOrigins": ["https://t.example"], "title": null}"#).title,
        DEFAULT_TITLE,
        "null counts as absent"
    );
}

#[test]
fn heights() {
    let c = ok(r#"{"url": "/x", "allowedOrigins": ["https://t.example"], "minHeight": 400, "maxHeight": 2000}"#);
    assert_eq!((c.min_height, c.max_height), (400.0, 2000.0));
    let c = ok(r#"{"url": "/x", "allowedOrigins": ["https://t.example"], "minHeight": 400.2}"#);
    assert_eq!(c.min_height, 401.0, "whole pixels");
    assert!(matches!(
        err(r#"{"url": "/x", "allowedOrigins": ["https://t.example"], "maxHeight": 500}"#),
        OptionsError::Invalid { field: "maxHeight", .. }
    ));
    assert!(matches!(
        err(r#"{"url": "/x", "allowedOrigins": ["https://t.example"], "minHeight": -1}"#),
        OptionsError::Invalid { field: "minHeight", .. }
    ));
    assert!(matches!(
        err(r#"{"url": "/x", "allowedOrigins": ["https://t.example"], "minHeight": 1e9}"#),
        OptionsError::Invalid { field: "minHeight", .. }
    ));
}

#[test]
fn sandbox_keeps_the_origin_verifiable() {
    let c = ok(r#"{"url": "/x", "allowedOrigins": ["https://t.example"], "sandbox": false}"#);
    assert_eq!(c.sandbox, None);
    let c =
        ok(r#"{"url": "/x", "allowedOrigins": ["https://t.example"], "sandbox": "allow-scripts  allow-same-origin"}"#);
    assert_eq!(c.sandbox.as_deref(), Some("allow-scripts allow-same-origin"));
    assert!(matches!(
        err(r#"{"url": "/x", "allowedOrigins": ["https://t.example"], "sandbox": "allow-scripts"}"#),
        OptionsError::Invalid { field: "sandbox", .. }
    ));
    assert!(matches!(
        err(
            r#"{"url": "/x", "allowedOrigins": ["https://t.example"], "sandbox": "allow-scripts allow-same-origin allow-everything"}"#
        ),
        OptionsError::Invalid { field: "sandbox", .. }
    ));
}

#[test]
fn frame_names() {
    for good in ["tool", "lti-embed-1", "a_b", "X9"] {
        assert!(valid_frame_name(good), "{good}");
    }
    for bad in ["", "_blank", "_parent", "a b", "a\"b", "é", &"x".repeat(65)] {
        assert!(!valid_frame_name(bad), "{bad}");
    }
    assert!(matches!(
        err(r#"{"url": "/x", "allowedOrigins": ["https://t.example"], "name": "_top"}"#),
        OptionsError::Invalid { field: "name", .. }
    ));
    assert!(matches!(
        err(r#"{"url": "/x", "allowedOrigins": ["https://t.example"], "name": "a", "storageFrame": "a"}"#),
        OptionsError::Invalid { field: "storageFrame", .. }
    ));
}

#[test]
fn tool_options() {
    let d = ToolConfig::from_json("null").unwrap();
    assert_eq!(
        d,
        ToolConfig {
            host_origin: None,
            platform_origin: None,
            storage_target: StorageTarget::Parent,
            storage_origin: None,
            timeout_ms: DEFAULT_TIMEOUT_MS
        }
    );
    let c = ToolConfig::from_json(
        r#"{"hostOrigin": "HTTPS://LMS.example.edu", "storageTarget": "post_message_forwarding", "timeoutMs": 500}"#,
    )
    .unwrap();
    assert_eq!(c.host_origin.as_deref(), Some("https://lms.example.edu"));
    assert_eq!(c.storage_target, StorageTarget::Frame("post_message_forwarding".into()));
    assert_eq!(c.timeout_ms, 500);
    assert!(matches!(
        ToolConfig::from_json(r#"{"hostOrigin": "*"}"#),
        Err(OptionsError::OriginField { field: "hostOrigin", .. })
    ));
    assert!(matches!(
        ToolConfig::from_json(r#"{"hostOrigin": "null"}"#),
        Err(OptionsError::OriginField { error: OriginError::Null, .. })
    ));
    let p = ToolConfig::from_json(r#"{"platformOrigin": "https://LMS.example.edu:443"}"#).unwrap();
    assert_eq!(p.platform_origin.as_deref(), Some("https://lms.example.edu"));
    assert!(matches!(
        ToolConfig::from_json(r#"{"storageTarget": "_top"}"#),
        Err(OptionsError::Invalid { field: "storageTarget", .. })
    ));
    assert!(matches!(
        ToolConfig::from_json(r#"{"timeoutMs": 0}"#),
        Err(OptionsError::Invalid { field: "timeoutMs", .. })
    ));
}

#[test]
fn error_messages_name_the_option() {
    assert_eq!(err("[1]").message(), "options must be an object");
    assert_eq!(
        err(r#"{"url": "/x", "allowedOrigin": [], "zzz": 1}"#).message(),
        "options.allowedOrigin is not an option"
    );
    assert_eq!(
        err(r#"{"url": "/x", "allowedOrigins": ["https://t.example", "*"]}"#).message(),
        "options.allowedOrigins[1]: wildcards are not allowed: list each origin exactly"
    );
    assert_eq!(
        err(r#"{"url": "/x", "allowedOrigins": ["https://t.example"], "minHeight": "1"}"#).message(),
        "options.minHeight: must be a number"
    );
    // A single-value option is named without a list index.
    assert_eq!(
        ToolConfig::from_json(r#"{"hostOrigin": "*"}"#).unwrap_err().message(),
        "options.hostOrigin: wildcards are not allowed: list each origin exactly"
    );
    assert_eq!(
        ToolConfig::from_json(r#"{"storageOrigin": "https://x.example/p"}"#).unwrap_err().message(),
        "options.storageOrigin: must be scheme://host[:port] with nothing after it"
    );
    assert_eq!(
        err(r#"{"url": "/x", "allowedOrigins": ["https://t.example"], "scrollToTop": "often"}"#).message(),
        "options.scrollToTop: must be \"gesture\", \"always\" or \"never\""
    );
    assert_eq!(
        ok(r#"{"url": "/x", "allowedOrigins": ["https://t.example"], "scrollToTop": "never"}"#).scroll_to_top,
        ScrollPolicy::Never
    );
    assert_eq!(
        ok(r#"{"url": "/x", "allowedOrigins": ["https://t.example"], "minHeight": 30000}"#).max_height,
        30000.0,
        "the default max never undercuts minHeight"
    );
    for e in [err("[1]"), err(r#"{"url": "/x", "allowedOrigins": ["http://t.example"]}"#), err(r#"{"x": 1}"#)] {
        assert_eq!(e.to_string(), e.message(), "Display is the same text");
    }
}

#[test]
fn form_fields_by_name_last_value_wins() {
    let c = ok(
        r#"{"form": {"action": "/l", "fields": {"b": "1", "a": "2", "b": "3"}}, "allowedOrigins": ["https://t.example"]}"#,
    );
    assert_eq!(
        c.launch,
        Launch::Form {
            action: "/l".into(),
            method: "post",
            fields: vec![("a".into(), "2".into()), ("b".into(), "3".into())]
        }
    );
    let many: Vec<String> = (0..201).map(|i| format!(r#""f{i}": "v""#)).collect();
    let json = format!(
        r#"{{"form": {{"action": "/l", "fields": {{{}}}}}, "allowedOrigins": ["https://t.example"]}}"#,
        many.join(",")
    );
    assert!(matches!(err(&json), OptionsError::Invalid { field: "form.fields", .. }));
}

#[test]
fn adopting_an_iframe_needs_no_launch() {
    let c = EmbedConfig::adopting(r#"{"allowedOrigins": ["https://t.example"]}"#).unwrap();
    assert_eq!(c.launch, Launch::Adopted);
    assert_eq!(
        EmbedConfig::adopting(r#"{"url": "/x", "allowedOrigins": ["https://t.example"]}"#).unwrap().launch,
        Launch::Url("/x".into())
    );
    assert!(matches!(
        EmbedConfig::adopting(r#"{"url": "/x"}"#),
        Err(OptionsError::Invalid { field: "allowedOrigins", .. })
    ));
    assert!(matches!(err(r#"{"allowedOrigins": ["https://t.example"]}"#), OptionsError::Invalid { field: "url", .. }));
}
