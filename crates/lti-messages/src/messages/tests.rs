#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use super::*;

/// serde_json's `json!` literal as a [`Value`] of this crate (through its text).
macro_rules! json {
    ($($t:tt)+) => {
        crate::json::parse(&serde_json::json!($($t)+).to_string(), usize::MAX).expect("json! literal")
    };
}

fn resize(height: Value) -> Value {
    Object::new().with("subject", "lti.frameResize").with("height", height).into()
}

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
        assert_eq!(ok(resize(h)).message, ToolMessage::FrameResize(want));
    }
    assert_eq!(Height::Px(100.0).clamp(1000.0, 800.0, None), 800.0, "never below the minimum");
    assert_eq!(Height::Px(5000.0).clamp(1000.0, 800.0, Some(2000.0)), 2000.0);
    assert_eq!(Height::Percent(150.0).clamp(1000.0, 800.0, None), 1500.0);
    assert_eq!(Height::Max.clamp(1000.0, 800.0, None), 1000.0);
    assert_eq!(Height::Px(900.2).clamp(1000.0, 0.0, None), 901.0);
    for bad in [json!(-5), json!("abc"), json!(null), json!([1]), json!("NaN"), json!("-1px")] {
        assert!(matches!(parse(resize(bad)), Err(Rejected::BadRequest { .. })));
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
    assert!(matches!(
        parse(json!({"subject": "lti.contentSelected", "entry": {"title": "no id"}})),
        Err(Rejected::BadRequest { .. })
    ));
    assert!(matches!(
        parse(json!({"subject": "lti.contentSelected", "entry": {"entryId": "x", "url": "javascript:alert(1)"}})),
        Err(Rejected::BadRequest { .. })
    ));
}

#[test]
fn navigation_both_forms() {
    assert_eq!(
        ok(json!({"subject": "lti.navigation", "location": "next"})).message,
        ToolMessage::Navigation(Navigation::Location("next".into()))
    );
    assert_eq!(
        ok(json!({"subject": "lti.navigation", "path": "/hosted/index/my-media"})).message,
        ToolMessage::Navigation(Navigation::Path("/hosted/index/my-media".into()))
    );
}

#[test]
fn alerts_are_text_only() {
    let e = ok(json!({"subject": "lti.showAlert", "body": "<b>Saved</b>", "alertType": "success"}));
    assert!(matches!(e.message, ToolMessage::Alert { ref body, screen_reader: false, .. } if body == "<b>Saved</b>"));
    assert!(matches!(parse(json!({"subject": "lti.showAlert", "body": ""})), Err(Rejected::BadRequest { .. })));
    assert!(matches!(parse(json!({"subject": "lti.screenReaderAlert", "body": 7})), Err(Rejected::BadRequest { .. })));
    assert!(matches!(
        parse(json!({"subject": "lti.showAlert", "body": "x", "alertType": "<script>"})),
        Err(Rejected::BadRequest { .. })
    ));
}

#[test]
fn storage_messages_need_ids_and_keys() {
    let e = ok(json!({"subject": "lti.put_data", "message_id": "m1", "key": "state", "value": "abc"}));
    assert_eq!(e.message, ToolMessage::PutData { key: "state".into(), value: Some("abc".into()) });
    assert_eq!(e.message_id, Some(json!("m1")));
    assert!(matches!(
        parse(json!({"subject": "lti.put_data", "key": "k", "value": "v"})),
        Err(Rejected::BadRequest { reason: "message_id is required", .. })
    ));
    assert!(matches!(
        parse(json!({"subject": "lti.get_data", "message_id": "m", "key": ""})),
        Err(Rejected::BadRequest { .. })
    ));
    assert_eq!(
        ok(json!({"subject": "lti.put_data", "message_id": 3, "key": "k", "value": null})).message,
        ToolMessage::PutData { key: "k".into(), value: None }
    );
}

#[test]
fn full_window_launch() {
    let e = ok(
        json!({"subject": "requestFullWindowLaunch", "data": {"url": "https://tool.example/x", "launchType": "popup", "launchOptions": {"width": 800, "height": 600}}}),
    );
    assert!(
        matches!(e.message, ToolMessage::RequestFullWindowLaunch { launch_type: LaunchType::Popup, width: Some(w), .. } if w == 800.0)
    );
    assert!(matches!(
        parse(json!({"subject": "requestFullWindowLaunch", "data": "javascript:alert(1)"})),
        Err(Rejected::BadRequest { .. })
    ));
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
    assert!(caps["supported_messages"]
        .as_array()
        .unwrap()
        .iter()
        .any(|m| m["subject"] == "lti.put_data" && m["frame"] == "post_message_forwarding"));
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

#[test]
fn frame_resize_wire_forms() {
    for (text, want) in [
        (r#"{"subject":"lti.frameResize","height":900}"#, Height::Px(900.0)),
        (r#"{"subject":"lti.frameResize","height":1500.4}"#, Height::Px(1500.4)),
        (r#"{"subject":"lti.frameResize","height":"1200px"}"#, Height::Px(1200.0)),
        (r#"{"subject":"lti.frameResize","height":" 12.5px "}"#, Height::Px(12.5)),
        (r#"{"subject":"lti.frameResize","height":"640"}"#, Height::Px(640.0)),
        (r#"{"subject":"lti.frameResize","height":"50%"}"#, Height::Percent(50.0)),
        (r#"{"subject":"lti.frameResize","height":"max"}"#, Height::Max),
        (r#"{"subject":"lti.frameResize","height":"MAX"}"#, Height::Max),
        (r#"{"messageType":"lti.frameResize","height":"1000px"}"#, Height::Px(1000.0)),
        (r#"{"subject":"lti.frameResize","messageType":"lti.close","height":5}"#, Height::Px(5.0)),
        (r#"{"subject":"lti.frameResize","height":100,"height":"max"}"#, Height::Max),
        (" \n{ \"subject\" : \"lti.frameResize\" , \"height\" : 1E3 }\t", Height::Px(1000.0)),
    ] {
        assert_eq!(parse_str(text).map(|e| e.message), Ok(ToolMessage::FrameResize(want)), "{text}");
    }
    let e = parse_str(r#"{"messageType":"lti.frameResize","height":900,"message_id":"r1"}"#).unwrap();
    assert_eq!(
        (e.subject.as_str(), e.message_id),
        ("lti.frameResize", Some(Value::from("r1"))),
        "legacy form keeps its id"
    );
    for bad in [
        r#""+5px""#,
        r#"".5""#,
        r#""5.px""#,
        r#""0x10""#,
        r#""px""#,
        r#""-1px""#,
        r#""1e999px""#,
        r#""NaN""#,
        r#""Infinity""#,
        "-0.5",
        "true",
        "{}",
    ] {
        let text = format!(r#"{{"subject":"lti.frameResize","height":{bad},"message_id":7}}"#);
        match parse_str(&text) {
            Err(Rejected::BadRequest { subject, message_id, reason }) => {
                assert_eq!((subject.as_str(), message_id), ("lti.frameResize", Some(Value::Number(7.0))), "{text}");
                assert_eq!(reason, "height must be a number, NNpx, NN% or max");
            }
            other => panic!("{text}: {other:?}"),
        }
    }
}

#[test]
fn text_that_is_not_a_message_is_dropped() {
    for (text, reason) in [
        (r#"{"subject":"lti.put_data.response","message_id":"x"}"#, "a reply"),
        (r#"{"messageType":"lti.get_data.response"}"#, "a reply"),
        (r#"{"subject":"","height":5}"#, "no subject"),
        (r#"{"subject":7}"#, "no subject"),
        (r#"{"subject":"lti.frameResize","height":5,}"#, "not JSON"),
        (r#"{"subject":"lti.frameResize","height":1e400}"#, "not JSON"),
        ("\"lti.frameResize\"", "not an object"),
        ("null", "not an object"),
    ] {
        assert_eq!(parse_str(text), Err(Rejected::Dropped(reason)), "{text}");
    }
    let deep = format!(r#"{{"subject":"x","a":{}1{}}}"#, "[".repeat(200), "]".repeat(200));
    assert_eq!(parse_str(&deep), Err(Rejected::Dropped("not JSON")), "too deep");
    let at_limit = format!(r#"{{"subject":"kaf.pad","p":"{}"}}"#, "x".repeat(MAX_MESSAGE_BYTES - 28));
    assert_eq!(at_limit.len(), MAX_MESSAGE_BYTES);
    assert!(parse_str(&at_limit).is_ok(), "exactly at the limit");
    assert_eq!(parse_str(&format!("{at_limit} ")), Err(Rejected::Dropped("too large")));
}

#[test]
fn lone_surrogates_become_replacement_characters() {
    let e = parse_str(r#"{"subject":"lti.showAlert","body":"saved \ud800"}"#).unwrap();
    assert!(matches!(e.message, ToolMessage::Alert { ref body, .. } if body == "saved \u{fffd}"));
}

#[test]
fn replies_on_the_wire() {
    let id = Value::from("m1");
    assert_eq!(
        json::to_string(&reply_error("lti.frameResize", Some(&id), "bad_request", "height \"tall\"\n")),
        r#"{"error":{"code":"bad_request","message":"height \"tall\"\n"},"subject":"lti.frameResize.response","message_id":"m1"}"#
    );
    let fields = Object::new().with("key", "k").with("value", Value::Null).into();
    assert_eq!(
        json::to_string(&reply("lti.get_data", Some(&Value::Number(3.0)), fields)),
        r#"{"key":"k","value":null,"subject":"lti.get_data.response","message_id":3}"#
    );
    let e = parse_str(&json::to_string(&reply("lti.put_data", Some(&id), Value::Null))).unwrap_err();
    assert_eq!(e, Rejected::Dropped("a reply"), "a reply is never answered again");
}

#[test]
fn entries_as_json() {
    let e = ok(
        json!({"subject": "lti.contentSelected", "entry": {"id": 1_234_567, "duration": "61.5", "width": 640, "height": -1}}),
    );
    let ToolMessage::ContentSelected(entries) = e.message else { panic!() };
    assert_eq!(entries[0].entry_id, "1234567", "numeric ids as integers, not 1234567.0");
    assert_eq!(
        json::to_string(&entries[0].to_json()),
        r#"{"entryId":"1234567","duration":61.5,"width":640}"#,
        "negative sizes dropped"
    );
}

#[test]
fn limits_count_characters_not_bytes() {
    for s in ["", "abc", "é", "日本語", "😀x", "\u{fffd}\u{7f}\u{80}"] {
        assert_eq!(char_count(s), s.chars().count(), "{s:?}");
    }
    let mut st = PlatformStorage::default();
    assert_eq!(
        st.put("https://a.example", "k", Some(&"é".repeat(MAX_VALUE_CHARS))),
        Ok(()),
        "4096 two-byte characters fit"
    );
    assert_eq!(
        st.put("https://a.example", "k", Some(&"é".repeat(MAX_VALUE_CHARS + 1))),
        Err(StorageError::ValueTooLarge)
    );
    assert!(parse(json!({"subject": "lti.showAlert", "body": "日".repeat(MAX_ALERT_CHARS)})).is_ok());
    assert!(parse(json!({"subject": "lti.showAlert", "body": "日".repeat(MAX_ALERT_CHARS + 1)})).is_err());
}
