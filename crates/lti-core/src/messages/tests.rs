use serde_json::json;

use super::*;

fn ok(v: Value) -> Envelope {
    parse(v).expect("accepted")
}

#[test]
fn frame_resize_heights_in_every_form() {
    for (h, want) in [
        (json!(900), Height::Px(900.0)),
        (json!("1200px"), Height::Px(1200.0)),
        (json!("640"), Height::Px(640.0)),
        (json!("50%"), Height::Percent(50.0)),
        (json!("max"), Height::Max),
    ] {
        assert_eq!(ok(json!({"subject": "lti.frameResize", "height": h})).message, ToolMessage::FrameResize(want));
    }
    assert_eq!(Height::Px(100.0).clamp(1000.0, 800.0, None), 800.0, "never below the minimum");
    assert_eq!(Height::Px(5000.0).clamp(1000.0, 800.0, Some(2000.0)), 2000.0);
    assert_eq!(Height::Percent(150.0).clamp(1000.0, 800.0, None), 1500.0);
    assert_eq!(Height::Max.clamp(1000.0, 800.0, None), 1000.0);
    assert_eq!(Height::Px(900.2).clamp(1000.0, 0.0, None), 901.0);
    for bad in [json!(-5), json!("abc"), json!(null), json!([1]), json!("NaN"), json!("-1px")] {
        assert!(matches!(parse(json!({"subject": "lti.frameResize", "height": bad})), Err(Rejected::BadRequest { .. })));
    }
}

#[test]
fn strings_and_legacy_message_type() {
    let e = parse_str(r#"{"messageType": "lti.frameResize", "height": 1000}"#).unwrap();
    assert_eq!(e.subject, "lti.frameResize");
    assert_eq!(parse_str("not json"), Err(Rejected::Dropped("not JSON")));
    assert_eq!(parse_str("[1,2]"), Err(Rejected::Dropped("not an object")));
    assert_eq!(parse_str(&format!("\"{}\"", "x".repeat(MAX_MESSAGE_BYTES))), Err(Rejected::Dropped("too large")));
    assert_eq!(parse(json!({"height": 5})), Err(Rejected::Dropped("no subject")));
    assert_eq!(parse(json!({"subject": "lti.get_data.response"})), Err(Rejected::Dropped("a reply")));
}

#[test]
fn content_selected_kaf_fields() {
    let e = ok(json!({"subject": "lti.contentSelected", "entry": {
        "entryId": "1_abc", "title": "Mitosis", "url": "https://tool.example/embed/1_abc",
        "thumbnailUrl": "https://cdn.example/t.jpg", "duration": 123, "width": "640", "height": 360}}));
    let ToolMessage::ContentSelected(entries) = e.message else { panic!() };
    assert_eq!(entries[0].entry_id, "1_abc");
    assert_eq!(entries[0].width, Some(640.0));
    assert_eq!(entries[0].to_json()["thumbnailUrl"], "https://cdn.example/t.jpg");
    let many = ok(json!({"subject": "lti.contentSelected", "entries": [{"entry_id": "a"}, {"id": 7}]}));
    assert!(matches!(many.message, ToolMessage::ContentSelected(ref v) if v.len() == 2));
    assert!(matches!(parse(json!({"subject": "lti.contentSelected", "entry": {"title": "no id"}})), Err(Rejected::BadRequest { .. })));
    assert!(matches!(parse(json!({"subject": "lti.contentSelected", "entry": {"entryId": "x", "url": "javascript:alert(1)"}})), Err(Rejected::BadRequest { .. })));
}

#[test]
fn navigation_both_forms() {
    assert_eq!(ok(json!({"subject": "lti.navigation", "location": "next"})).message, ToolMessage::Navigation(Navigation::Location("next".into())));
    assert_eq!(ok(json!({"subject": "lti.navigation", "path": "/hosted/index/my-media"})).message, ToolMessage::Navigation(Navigation::Path("/hosted/index/my-media".into())));
}

#[test]
fn alerts_are_text_only() {
    let e = ok(json!({"subject": "lti.showAlert", "body": "<b>Saved</b>", "alertType": "success"}));
    assert!(matches!(e.message, ToolMessage::Alert { ref body, screen_reader: false, .. } if body == "<b>Saved</b>"));
    assert!(matches!(parse(json!({"subject": "lti.showAlert", "body": ""})), Err(Rejected::BadRequest { .. })));
    assert!(matches!(parse(json!({"subject": "lti.screenReaderAlert", "body": 7})), Err(Rejected::BadRequest { .. })));
    assert!(matches!(parse(json!({"subject": "lti.showAlert", "body": "x", "alertType": "<script>"})), Err(Rejected::BadRequest { .. })));
}

#[test]
fn storage_messages_need_ids_and_keys() {
    let e = ok(json!({"subject": "lti.put_data", "message_id": "m1", "key": "state", "value": "abc"}));
    assert_eq!(e.message, ToolMessage::PutData { key: "state".into(), value: Some("abc".into()) });
    assert_eq!(e.message_id, Some(json!("m1")));
    assert!(matches!(parse(json!({"subject": "lti.put_data", "key": "k", "value": "v"})), Err(Rejected::BadRequest { reason: "message_id is required", .. })));
    assert!(matches!(parse(json!({"subject": "lti.get_data", "message_id": "m", "key": ""})), Err(Rejected::BadRequest { .. })));
    assert_eq!(ok(json!({"subject": "lti.put_data", "message_id": 3, "key": "k", "value": null})).message, ToolMessage::PutData { key: "k".into(), value: None });
}

#[test]
fn full_window_launch() {
    let e = ok(json!({"subject": "requestFullWindowLaunch", "data": {"url": "https://tool.example/x", "launchType": "popup", "launchOptions": {"width": 800, "height": 600}}}));
    assert!(matches!(e.message, ToolMessage::RequestFullWindowLaunch { launch_type: LaunchType::Popup, width: Some(w), .. } if w == 800.0));
    assert!(matches!(parse(json!({"subject": "requestFullWindowLaunch", "data": "javascript:alert(1)"})), Err(Rejected::BadRequest { .. })));
}

#[test]
fn unknown_subjects_surface_as_other() {
    assert_eq!(ok(json!({"subject": "kaf.custom", "x": 1})).message, ToolMessage::Other);
}

#[test]
fn replies() {
    let r = reply("lti.get_data", Some(&json!("m1")), json!({"key": "k", "value": null}));
    assert_eq!(r, json!({"subject": "lti.get_data.response", "message_id": "m1", "key": "k", "value": null}));
    let e = reply_error("lti.foo", None, "unsupported_subject", "nope");
    assert_eq!(e["error"]["code"], "unsupported_subject");
    assert_eq!(e["subject"], "lti.foo.response");
    let caps = capabilities(Some("post_message_forwarding"));
    assert!(caps["supported_messages"].as_array().unwrap().iter().any(|m| m["subject"] == "lti.put_data" && m["frame"] == "post_message_forwarding"));
}

#[test]
fn storage_partitioned_with_quotas() {
    let mut s = PlatformStorage::default();
    s.put("https://a.example", "k", Some("1")).unwrap();
    assert_eq!(s.get("https://a.example", "k"), Some("1"));
    assert_eq!(s.get("https://b.example", "k"), None, "partitioned by origin");
    assert_eq!(s.put("https://a.example", "big", Some(&"x".repeat(4097))), Err(StorageError::ValueTooLarge));
    for i in 0..499 {
        s.put("https://a.example", &format!("k{i}"), Some("v")).unwrap();
    }
    assert_eq!(s.len("https://a.example"), 500);
    assert_eq!(s.put("https://a.example", "one-more", Some("v")), Err(StorageError::Exhausted));
    s.put("https://a.example", "k", Some("overwrite is fine at quota")).unwrap();
    s.put("https://a.example", "k", None).unwrap();
    assert_eq!(s.get("https://a.example", "k"), None);
    assert_eq!(StorageError::Exhausted.code(), "storage_exhaustion");
}
