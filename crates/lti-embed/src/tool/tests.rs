use super::*;

fn text(v: &Value) -> String {
    json::to_string(v)
}

fn put(core: &mut ToolCore, key: &str, value: Option<&str>) -> (String, Value) {
    core.request(Request::PutData { key: key.into(), value: value.map(String::from) }, 0xabc).unwrap()
}

#[test]
fn requests_carry_fresh_ids() {
    let mut c = ToolCore::default();
    let (a, ma) = put(&mut c, "k", Some("v"));
    let (b, _) = c.request(Request::GetData { key: "k".into() }, 0xabc).unwrap();
    assert_ne!(a, b);
    assert_eq!(ma, json!({"subject": "lti.put_data", "message_id": a, "key": "k", "value": "v"}));
    assert_eq!(c.pending(), 2);
}

#[test]
fn settles_only_matching_replies() {
    let mut c = ToolCore::default();
    let (id, _) = c.request(Request::GetData { key: "state".into() }, 1).unwrap();
    for stray in [
        json!({"subject": "lti.get_data.response", "message_id": "other", "key": "state", "value": "x"}),
        json!({"subject": "lti.put_data.response", "message_id": id, "key": "state"}),
        json!({"subject": "lti.get_data", "message_id": id, "key": "state"}),
        json!({"subject": "lti.get_data.response", "message_id": id, "key": "another", "value": "x"}),
        json!({"subject": "lti.get_data.response", "key": "state"}),
    ] {
        assert_eq!(c.settle(&text(&stray)), None, "{stray:?}");
    }
    assert_eq!(c.settle("not json"), None);
    let ok = json!({"subject": "lti.get_data.response", "message_id": id, "key": "state", "value": "abc"});
    assert_eq!(c.settle(&text(&ok)), Some(Settled { message_id: id.clone(), result: Ok(json!("abc")) }));
    assert_eq!(c.settle(&text(&ok)), None, "settled once");
    assert_eq!(c.pending(), 0);
}

#[test]
fn errors_and_values() {
    let mut c = ToolCore::default();
    let (id, _) = put(&mut c, "k", Some("v"));
    let r = c.settle(&text(&json!({"subject": "lti.put_data.response", "message_id": id, "error": {"code": "storage_exhaustion", "message": "full"}}))).unwrap();
    assert_eq!(r.result, Err(ReplyError::new("storage_exhaustion", "full")));
    let (id, _) = c.request(Request::GetData { key: "none".into() }, 1).unwrap();
    let r = c
        .settle(&text(&json!({"subject": "lti.get_data.response", "message_id": id, "key": "none", "value": null})))
        .unwrap();
    assert_eq!(r.result, Ok(Value::Null));
    let (id, _) = c.request(Request::Capabilities, 1).unwrap();
    let r = c.settle(&text(&json!({"subject": "lti.capabilities.response", "message_id": id, "supported_messages": [{"subject": "lti.put_data"}]}))).unwrap();
    assert_eq!(r.result, Ok(json!([{"subject": "lti.put_data"}])));
}

#[test]
fn local_checks_before_sending() {
    let mut c = ToolCore::default();
    assert_eq!(
        c.request(Request::GetData { key: String::new() }, 1).map(|_| ()),
        Err(ReplyError::new("bad_request", "key must be a non-empty string"))
    );
    assert_eq!(
        c.request(Request::PutData { key: "k".into(), value: Some("x".repeat(4097)) }, 1)
            .map(|_| ())
            .map_err(|e| e.code),
        Err("storage_exhaustion".to_string())
    );
    assert_eq!(c.pending(), 0);
}

#[test]
fn timeouts_forget() {
    let mut c = ToolCore::default();
    let (id, _) = put(&mut c, "k", None);
    assert!(c.forget(&id));
    assert!(!c.forget(&id));
    assert_eq!(
        c.settle(&text(&json!({"subject": "lti.put_data.response", "message_id": id, "key": "k"}))),
        None,
        "a late reply is ignored"
    );
}

#[test]
fn bounded_pending() {
    let mut c = ToolCore::default();
    for _ in 0..MAX_PENDING {
        put(&mut c, "k", Some("v"));
    }
    assert!(c.request(Request::Capabilities, 1).is_err());
}

#[test]
fn tool_messages_are_checked_like_the_host_does() {
    assert_eq!(frame_resize(812.2), Some(json!({"subject": "lti.frameResize", "height": 813.0})));
    assert_eq!(frame_resize(f64::NAN), None);
    let m = content_selected(json!({"entryId": "1_a", "title": "T", "url": "https://tool.example.com/e/1_a"})).unwrap();
    assert_eq!(m["entry"]["entryId"], "1_a");
    assert!(content_selected(json!([{"entryId": "a"}, {"entryId": "b"}])).unwrap()["entries"].is_array());
    assert_eq!(content_selected(json!({"title": "no id"})).map_err(|e| e.code), Err("bad_request".to_string()));
    assert!(content_selected(json!({"entryId": "x", "url": "javascript:alert(1)"})).is_err());
    assert_eq!(message("lti.navigation", json!({"location": "next"})).unwrap()["subject"], "lti.navigation");
    assert!(message("lti.showAlert", json!({"body": ""})).is_err());
    assert!(message("x.response", Value::Null).is_err(), "a tool never sends replies");
}

#[test]
fn loop_guard_stops_a_page_that_follows_its_viewport() {
    // body{min-height:100vh;margin:8px}: always 16 px taller than the frame.
    let mut g = LoopGuard::default();
    let mut vh = 800.0;
    let mut steps = 0;
    while !g.observe(vh + 16.0, vh) {
        vh += 16.0; // the host applied the report
        steps += 1;
        assert!(steps < 10, "never detected");
    }
    assert_eq!(steps, usize::from(LOOP_STEPS));
    // A page whose height does not depend on the viewport: one report, then a fixed point.
    let mut g = LoopGuard::default();
    assert!(!g.observe(1400.0, 800.0));
    assert!(!g.observe(1400.0, 1400.0));
    // Content growing while the viewport stays: never a loop.
    let mut g = LoopGuard::default();
    assert!((0..20).all(|i| !g.observe(1000.0 + 16.0 * f64::from(i), 800.0)));
    // min-height:100vh without a margin: the page equals the viewport, a fixed point.
    let mut g = LoopGuard::default();
    assert!((0..20).all(|i| !g.observe(800.0 + f64::from(i), 800.0 + f64::from(i))));
}
