use lti_messages::json;

use super::*;

const TOOL: &str = "https://tool.example.com";

fn core(extra: &str) -> HostCore {
    let cfg = EmbedConfig::from_json(&format!(
        r#"{{"url": "https://lms.example.edu/launch", "allowedOrigins": ["{TOOL}"]{extra}}}"#
    ))
    .unwrap();
    HostCore::new(&cfg)
}

/// A page whose host code listens to the generic events (so their details are built).
fn env() -> Env {
    let mut listening = Listening::default();
    listening.set(Event::Message, true);
    listening.set(Event::Dropped, true);
    Env { listening, replies_limited: false }
}

fn recv(h: &HostCore, msg: Value, e: &Env, s: &mut PlatformStorage) -> Outcome {
    recv_text(h, &json::to_string(&msg), e, s)
}

fn recv_text(h: &HostCore, text: &str, e: &Env, s: &mut PlatformStorage) -> Outcome {
    let from = h.origins().check(TOOL).unwrap();
    h.receive(from, text, Channel::Parent, e, s)
}

fn replies(o: &Outcome) -> Vec<&Value> {
    o.effects.iter().filter_map(|e| if let Effect::Reply(v) = e { Some(v) } else { None }).collect()
}

fn emitted(o: &Outcome, ev: Event) -> Option<&Value> {
    o.effects.iter().find_map(|e| match e {
        Effect::Emit(k, v) if *k == ev => Some(v),
        _ => None,
    })
}

#[test]
fn resize_clamped_to_min_and_max() {
    let mut s = PlatformStorage::default();
    let h = core(r#", "maxHeight": 3000"#);
    for (height, want) in [
        (json!(300), 800.0),
        (json!("1200px"), 1200.0),
        (json!(99999), 3000.0),
        (json!("50%"), 800.0),
        (json!("max"), 1000.0),
        (json!(1500.4), 1501.0),
    ] {
        let o = recv(
            &h,
            Object::new().with("subject", "lti.frameResize").with("height", height.clone()).into(),
            &env(),
            &mut s,
        );
        assert_eq!(o.verdict, Verdict::Accepted);
        let Some(Effect::Resize { height: asked, requested }) = o.effects.first() else { panic!("{:?}", o.effects) };
        assert_eq!(requested, &height);
        assert_eq!(h.clamp(*asked, 1000.0), want, "{height:?}");
        assert_eq!(
            h.clamp(*asked, 1000.0),
            asked.clamp(1000.0, 800.0, Some(3000.0)),
            "same as the core's Height::clamp"
        );
        assert!(replies(&o).is_empty(), "a resize is not answered");
    }
}

#[test]
fn string_and_object_forms_and_legacy_message_type() {
    let mut s = PlatformStorage::default();
    let h = core("");
    let a = recv_text(&h, r#"{"subject":"lti.frameResize","height":900}"#, &env(), &mut s);
    let b = recv_text(&h, r#"{"messageType":"lti.frameResize","height":"900px"}"#, &env(), &mut s);
    assert!(matches!(a.effects[0], Effect::Resize { height: Height::Px(x), .. } if x == 900.0));
    assert!(matches!(b.effects[0], Effect::Resize { height: Height::Px(x), .. } if x == 900.0));
}

#[test]
fn malformed_oversized_and_replies_are_dropped_silently() {
    let mut s = PlatformStorage::default();
    let h = core("");
    let big = format!(r#"{{"subject":"lti.frameResize","height":900,"pad":"{}"}}"#, "x".repeat(70_000));
    for (text, reason) in [
        ("not json", "not JSON"),
        ("[1,2]", "not an object"),
        ("42", "not an object"),
        (r#"{"height": 5}"#, "no subject"),
        (r#"{"subject": "lti.get_data.response", "message_id": "1"}"#, "a reply"),
        (big.as_str(), "too large"),
    ] {
        let o = recv_text(&h, text, &env(), &mut s);
        assert_eq!(o.verdict, Verdict::Dropped(reason), "{}", text.get(..40).unwrap_or(text));
        assert!(replies(&o).is_empty(), "never answer a dropped message");
        assert_eq!(emitted(&o, Event::Dropped).and_then(|d| d["reason"].as_str()), Some(reason));
    }
}

#[test]
fn bad_payload_answered_bad_request() {
    let mut s = PlatformStorage::default();
    let h = core("");
    let o = recv(&h, json!({"subject": "lti.frameResize", "height": "tall", "message_id": 7}), &env(), &mut s);
    assert!(matches!(o.verdict, Verdict::BadRequest(_)));
    let r = replies(&o);
    assert_eq!(r.len(), 1);
    assert_eq!(r[0]["subject"], "lti.frameResize.response");
    assert_eq!(r[0]["message_id"], 7);
    assert_eq!(r[0]["error"]["code"], "bad_request");
}

#[test]
fn unknown_subjects_surface_as_messages() {
    let mut s = PlatformStorage::default();
    let h = core("");
    let o = recv(&h, json!({"subject": "kaf.custom", "x": 1}), &env(), &mut s);
    assert_eq!(o.verdict, Verdict::Accepted);
    assert!(replies(&o).is_empty(), "no message_id: fire and forget");
    let m = emitted(&o, Event::Message).unwrap();
    assert_eq!(m["subject"], "kaf.custom");
    assert_eq!(m["origin"], TOOL);
    assert_eq!(m["data"]["x"], 1);
    let o = recv(&h, json!({"subject": "kaf.custom", "message_id": "q1"}), &env(), &mut s);
    assert_eq!(replies(&o)[0]["error"]["code"], "unsupported_subject");
    assert_eq!(replies(&o)[0]["message_id"], "q1");
}

#[test]
fn kaf_events() {
    let mut s = PlatformStorage::default();
    let h = core("");
    let o = recv(
        &h,
        json!({"subject": "lti.contentSelected", "entry": {"entryId": "1_abc", "title": "Mitosis", "duration": 61}}),
        &env(),
        &mut s,
    );
    let d = emitted(&o, Event::ContentSelected).unwrap();
    assert_eq!(d["entry"]["entryId"], "1_abc");
    assert_eq!(d["entries"].as_array().map(Vec::len), Some(1));
    let o = recv(&h, json!({"subject": "lti.navigation", "location": "next"}), &env(), &mut s);
    assert_eq!(emitted(&o, Event::Navigation), Some(&json!({"location": "next"})));
    let o = recv(&h, json!({"subject": "lti.navigation", "path": "/hosted/index/my-media"}), &env(), &mut s);
    assert_eq!(emitted(&o, Event::Navigation), Some(&json!({"path": "/hosted/index/my-media"})));
    let o = recv(&h, json!({"subject": "lti.hideModuleHeader"}), &env(), &mut s);
    assert_eq!(emitted(&o, Event::HideModuleHeader), Some(&json!({})));
    let o = recv(&h, json!({"subject": "lti.showModuleNavigation", "show": false}), &env(), &mut s);
    assert_eq!(emitted(&o, Event::ModuleNavigation), Some(&json!({"show": false})));
}

#[test]
fn window_and_scroll_messages() {
    let mut s = PlatformStorage::default();
    let h = core("");
    let o = recv(&h, json!({"subject": "lti.scrollToTop"}), &env(), &mut s);
    assert_eq!(o.effects[0], Effect::ScrollToTop);
    let o = recv(&h, json!({"subject": "lti.fetchWindowSize", "message_id": "w"}), &env(), &mut s);
    assert_eq!(
        o.effects[0],
        Effect::SendWindowSize { subject: "lti.fetchWindowSize".into(), message_id: Some(json!("w")) }
    );
    let r = window_size_reply(
        "lti.fetchWindowSize",
        Some(&json!("w")),
        &WindowSize { height: 900.0, width: 1200.0, top: 120.0, left: 8.0, footer: 0.0, scroll_y: 40.0 },
    );
    assert_eq!(
        r,
        json!({"subject": "lti.fetchWindowSize.response", "message_id": "w", "height": 900.0, "width": 1200.0, "offset": {"top": 120.0, "left": 8.0}, "footer": 0.0, "scrollY": 40.0})
    );
    let o = recv(&h, json!({"subject": "lti.enableScrollEvents"}), &env(), &mut s);
    assert_eq!(o.effects[0], Effect::EnableScrollEvents);
    assert_eq!(scroll_message(12.0), json!({"subject": "lti.scroll", "scrollY": 12.0}));
}

#[test]
fn alerts_are_announced_as_text() {
    let mut s = PlatformStorage::default();
    let h = core("");
    let o =
        recv(&h, json!({"subject": "lti.showAlert", "body": "<b>Saved</b>", "alertType": "success"}), &env(), &mut s);
    assert_eq!(o.effects[0], Effect::Announce("<b>Saved</b>".into()), "nobody listens: announced, as text");
    let mut listening = env();
    listening.listening.set(Event::Alert, true);
    let o = recv(&h, json!({"subject": "lti.showAlert", "body": "Saved"}), &listening, &mut s);
    assert!(!o.effects.iter().any(|e| matches!(e, Effect::Announce(_))), "host code shows it");
    assert_eq!(emitted(&o, Event::Alert).map(|d| d["screenReader"].clone()), Some(json!(false)));
    let o = recv(&h, json!({"subject": "lti.screenReaderAlert", "body": "Loaded"}), &listening, &mut s);
    assert_eq!(o.effects[0], Effect::Announce("Loaded".into()), "screen-reader alerts always announced");
}

#[test]
fn unload_close_and_full_window() {
    let mut s = PlatformStorage::default();
    let h = core("");
    let o = recv(&h, json!({"subject": "lti.setUnloadMessage"}), &env(), &mut s);
    assert_eq!(o.effects[0], Effect::SetUnloadMessage(Some(DEFAULT_UNLOAD_MESSAGE.into())));
    let o = recv(&h, json!({"subject": "lti.removeUnloadMessage"}), &env(), &mut s);
    assert_eq!(o.effects[0], Effect::SetUnloadMessage(None));

    let o = recv(&h, json!({"subject": "lti.close", "message_id": 1}), &env(), &mut s);
    assert_eq!(replies(&o)[0]["error"]["code"], "unsupported_subject", "no close listener");
    let mut l = env();
    l.listening.set(Event::Close, true);
    l.listening.set(Event::FullWindowLaunch, true);
    let o = recv(&h, json!({"subject": "lti.close"}), &l, &mut s);
    assert!(emitted(&o, Event::Close).is_some());

    let o = recv(
        &h,
        json!({"subject": "requestFullWindowLaunch", "data": {"url": "https://tool.example.com/x", "launchType": "popup", "launchOptions": {"width": 640}}}),
        &l,
        &mut s,
    );
    assert_eq!(
        emitted(&o, Event::FullWindowLaunch),
        Some(&json!({"url": "https://tool.example.com/x", "launchType": "popup", "width": 640.0}))
    );
    let o = recv(&h, json!({"subject": "requestFullWindowLaunch", "data": "https://evil.example/x"}), &l, &mut s);
    assert_eq!(o.verdict, Verdict::BadRequest("url must be on the tool's own origin"));
    assert_eq!(replies(&o)[0]["error"]["code"], "bad_request");
    let o =
        recv(&h, json!({"subject": "requestFullWindowLaunch", "data": "https://tool.example.com/x"}), &env(), &mut s);
    assert_eq!(replies(&o)[0]["error"]["code"], "unsupported_subject", "no listener");
}

#[test]
fn storage_round_trip_with_ids_echoed_and_quota() {
    let mut s = PlatformStorage::default();
    let h = core("");
    let o = recv(
        &h,
        json!({"subject": "lti.put_data", "message_id": "p1", "key": "state", "value": "abc"}),
        &env(),
        &mut s,
    );
    assert_eq!(
        replies(&o)[0],
        &json!({"subject": "lti.put_data.response", "message_id": "p1", "key": "state", "value": "abc"})
    );
    let o = recv(&h, json!({"subject": "lti.get_data", "message_id": "g1", "key": "state"}), &env(), &mut s);
    assert_eq!(
        replies(&o)[0],
        &json!({"subject": "lti.get_data.response", "message_id": "g1", "key": "state", "value": "abc"})
    );
    let o = recv(&h, json!({"subject": "lti.get_data", "message_id": 9, "key": "missing"}), &env(), &mut s);
    assert_eq!(replies(&o)[0]["value"], Value::Null);
    assert_eq!(replies(&o)[0]["message_id"], 9);
    let o = recv(
        &h,
        json!({"subject": "lti.put_data", "message_id": "big", "key": "k", "value": "x".repeat(4097)}),
        &env(),
        &mut s,
    );
    assert_eq!(replies(&o)[0]["error"]["code"], "storage_exhaustion");
    assert_eq!(replies(&o)[0]["message_id"], "big");
    assert_eq!(s.get(TOOL, "state"), Some("abc"), "stored under the sender's origin");
}

#[test]
fn capabilities_name_the_storage_frame() {
    let mut s = PlatformStorage::default();
    let h = core(r#", "storageFrame": "lti-storage""#);
    let o = recv(&h, json!({"subject": "lti.capabilities", "message_id": "c"}), &env(), &mut s);
    let r = replies(&o)[0];
    assert_eq!(r["subject"], "lti.capabilities.response");
    assert_eq!(r["message_id"], "c");
    let list = r["supported_messages"].as_array().unwrap();
    assert!(list.iter().any(|m| m["subject"] == "lti.put_data" && m["frame"] == "lti-storage"));
    assert!(list.iter().any(|m| m["subject"] == "lti.frameResize" && m.get("frame").is_none()));
}

#[test]
fn storage_frame_answers_storage_only() {
    let mut s = PlatformStorage::default();
    let h = core(r#", "storageFrame": "lti-storage""#);
    let from = h.origins().check(TOOL).unwrap();
    let o = h.receive(from, r#"{"subject":"lti.frameResize","height":900}"#, Channel::StorageFrame, &env(), &mut s);
    assert_eq!(o.verdict, Verdict::Dropped("not a storage message"));
    assert!(replies(&o).is_empty());
    let o = h.receive(
        from,
        r#"{"subject":"lti.get_data","message_id":"1","key":"k"}"#,
        Channel::StorageFrame,
        &env(),
        &mut s,
    );
    assert_eq!(o.verdict, Verdict::Accepted);
    assert_eq!(replies(&o)[0]["subject"], "lti.get_data.response");
}

#[test]
fn every_accepted_message_is_also_a_generic_message() {
    let mut s = PlatformStorage::default();
    let h = core("");
    let o = recv(&h, json!({"subject": "lti.hideModuleHeader", "message_id": "m"}), &env(), &mut s);
    assert_eq!(emitted(&o, Event::Message).map(|d| d["messageId"].clone()), Some(json!("m")));
}

#[test]
fn generic_details_only_for_listeners() {
    let mut s = PlatformStorage::default();
    let h = core("");
    let quiet = Env::default();
    let o = recv(&h, json!({"subject": "lti.frameResize", "height": 900}), &quiet, &mut s);
    assert_eq!(o.effects.len(), 1, "only the resize: {:?}", o.effects);
    let o = recv_text(&h, "nope", &quiet, &mut s);
    assert!(o.effects.is_empty());
    let o = recv(&h, json!({"subject": "lti.frameResize", "height": "x"}), &quiet, &mut s);
    assert_eq!(replies(&o).len(), 1, "bad_request is still answered");
    assert_eq!(o.effects.len(), 1);
}

#[test]
fn events_by_name() {
    for e in Event::ALL {
        assert_eq!(Event::from_name(e.name()), Some(e));
    }
    assert_eq!(Event::from_name("Resize"), None);
    let mut l = Listening::default();
    l.set(Event::Close, true);
    assert!(l.has(Event::Close) && !l.has(Event::Alert));
    l.set(Event::Close, false);
    assert!(!l.has(Event::Close));
}

#[test]
fn navigation_follows_the_url_rules_of_content_selection() {
    let mut s = PlatformStorage::default();
    let h = core("");
    for ok in [
        "next",
        "home",
        "/hosted/index/my-media",
        "media/1_abc?x=1#t",
        "https://tool.example.com/x",
        "http://127.0.0.1:8787/a",
        "?q=1",
        "#top",
    ] {
        for key in ["location", "path"] {
            let o = recv(&h, json!({"subject": "lti.navigation", key: ok}), &env(), &mut s);
            assert_eq!(o.verdict, Verdict::Accepted, "{key}: {ok}");
            assert_eq!(emitted(&o, Event::Navigation).and_then(|d| d.get(key)).and_then(Value::as_str), Some(ok));
        }
    }
    for bad in [
        "javascript:alert(1)",
        "JavaScript:alert(1)",
        "java\tscript:alert(1)",
        " javascript:alert(1)",
        "javascript:alert(1)//x",
        "data:text/html,<script>1</script>",
        "vbscript:x",
        "blob:https://a/b",
        "//evil.example/x",
        "\\\\evil.example",
        "/\\evil.example",
        "",
        "https:evil.example",
        "mailto:a@b.c",
        "ftp://x.example/",
    ] {
        for key in ["location", "path"] {
            let o = recv(&h, json!({"subject": "lti.navigation", key: bad}), &env(), &mut s);
            let why = "navigation target must be an http(s) URL or a relative path";
            if bad.is_empty() && key == "path" {
                // An empty path is refused by the core's parser already (bad_request).
                assert!(matches!(o.verdict, Verdict::BadRequest(_) | Verdict::Dropped(_)), "{key}: {bad:?}");
            } else {
                assert_eq!(o.verdict, Verdict::Dropped(why), "{key}: {bad:?}");
                assert_eq!(
                    emitted(&o, Event::Dropped).and_then(|d| d.get("reason")).and_then(Value::as_str),
                    Some(why)
                );
            }
            assert!(emitted(&o, Event::Navigation).is_none(), "{key}: {bad:?} reached host code");
        }
    }
}

#[test]
fn heights_never_pass_the_default_maximum() {
    let mut s = PlatformStorage::default();
    let h = core("");
    for (height, want) in [("1e9", 20_000.0), ("1e10", 20_000.0), ("19999.5", 20_000.0), ("\"1e300px\"", 20_000.0)] {
        let o = recv_text(&h, &format!(r#"{{"subject":"lti.frameResize","height":{height}}}"#), &env(), &mut s);
        if let Some(Effect::Resize { height: asked, .. }) = o.effects.first() {
            assert_eq!(h.clamp(*asked, 1000.0), want, "{height:?}");
        }
    }
    assert_eq!(h.max_height(), crate::options::DEFAULT_MAX_HEIGHT);
}

#[test]
fn replies_over_the_budget_are_dropped_before_acting() {
    let mut s = PlatformStorage::default();
    let h = core("");
    let limited = Env { replies_limited: true, ..env() };
    for m in [
        json!({"subject": "lti.put_data", "message_id": "1", "key": "k", "value": "v"}),
        json!({"subject": "lti.get_data", "message_id": "2", "key": "k"}),
        json!({"subject": "lti.capabilities", "message_id": "3"}),
        json!({"subject": "lti.fetchWindowSize", "message_id": "4"}),
        json!({"subject": "org.example.unknown", "message_id": "5"}),
        json!({"subject": "lti.put_data", "message_id": "6"}),
    ] {
        let o = recv(&h, m.clone(), &limited, &mut s);
        assert_eq!(o.verdict, Verdict::Dropped(RATE_LIMITED), "{m:?}");
        assert!(
            replies(&o).is_empty() && !o.effects.iter().any(|e| matches!(e, Effect::SendWindowSize { .. })),
            "{m:?}"
        );
    }
    assert_eq!(s.get(TOOL, "k"), None, "the limited put_data stored nothing");
    // Messages that are not answered still work while the budget is spent.
    let o = recv(&h, json!({"subject": "lti.frameResize", "height": 900}), &limited, &mut s);
    assert_eq!(o.verdict, Verdict::Accepted);
}

#[test]
fn rate_limit_is_a_token_bucket_on_the_callers_clock() {
    let mut r = RateLimit::new(3.0, 10.0);
    assert!((0..3).all(|_| r.take(0.0)));
    assert!(!r.take(0.0) && !r.take(50.0), "empty until 100 ms have passed");
    assert!(r.take(100.0));
    assert!(!r.take(100.0));
    assert!(!r.take(f64::NAN) && !r.take(10.0), "a clock going backwards refills nothing");
    assert!(r.take(10_000.0) && r.take(10_000.0) && r.take(10_000.0) && !r.take(10_000.0), "never above capacity");
}

#[test]
fn scroll_to_top_needs_a_gesture_and_waits_between() {
    use crate::options::ScrollPolicy::*;
    assert!(!scroll_allowed(Gesture, false, 0.0, None));
    assert!(scroll_allowed(Gesture, true, 0.0, None));
    assert!(!scroll_allowed(Gesture, true, SCROLL_INTERVAL_MS - 1.0, Some(0.0)));
    assert!(scroll_allowed(Gesture, true, SCROLL_INTERVAL_MS, Some(0.0)));
    assert!(scroll_allowed(Always, false, 0.0, None));
    assert!(!scroll_allowed(Always, false, 5.0, Some(0.0)));
    assert!(!scroll_allowed(Never, true, 0.0, None));
}
