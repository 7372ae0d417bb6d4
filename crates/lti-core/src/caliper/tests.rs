#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use super::*;

const NOW: i64 = 1_764_669_600; // 2025-12-02T10:00:00Z
const NOW_ISO: &str = "2025-12-02T10:00:00.000Z";

fn fixture(name: &str) -> Value {
    let text = match name {
        "logged_in" => include_str!("fixtures/caliperEventSessionLoggedIn.json"),
        "viewed" => include_str!("fixtures/caliperEventViewViewedFedSession.json"),
        "media" => include_str!("fixtures/caliperEventMediaPaused.json"),
        _ => unreachable!(),
    };
    serde_json::from_str(text).unwrap()
}

fn store(actors: bool) -> EventStore {
    let body = json!({"id": "lrs", "type": "EventStore", "apiUrl": "https://lms.example.edu/caliper/events",
        "apiKey": "k-123", "sendEvents": true, "includeActors": actors, "includeGeneratedValues": true});
    EventStore::parse(body.to_string().as_bytes(), false).unwrap()
}

fn session(actors: bool) -> CaliperSession {
    let roles = vec![
        "http://purl.imsglobal.org/vocab/lis/v2/membership#Learner".to_string(),
        "http://purl.imsglobal.org/vocab/lis/v2/institution/person#Student".to_string(),
    ];
    let facts = LaunchFacts {
        tool_base: "https://tool.example.com",
        issuer: "https://lms.example.edu",
        platform_user_id: Some("554433"),
        name: Some("Jane Doe"),
        context_id: Some("course-7"),
        context_title: Some("CPS 435"),
        lti_roles: &roles,
        deployment_id: "dep-1",
        message_type: "LtiResourceLinkRequest",
        resource_link_id: Some("rl-1"),
        federated_session_id: Some("session_554433_abc"),
        session_id: "0a1b2c",
        started: NOW_ISO,
    };
    CaliperSession::new(&facts, &store(actors))
}

const ID: &str = "urn:uuid:956b4a02-8de0-4991-b8c5-b6eebb6b4cab";

fn one(v: Value) -> Result<ToolEvent, BTreeMap<String, String>> {
    match parse_tool_events(&v, NOW) {
        Ok(mut e) => Ok(e.remove(0)),
        Err(CaliperError::EventInvalid(f)) => Err(f),
        Err(e) => panic!("{e}"),
    }
}

fn field_error(v: Value, field: &str) -> String {
    let f = one(v).expect_err("must be refused");
    f.get(field).cloned().unwrap_or_else(|| panic!("no error on {field}: {f:?}"))
}

#[test]
fn the_specification_fixtures_pass_the_validator() {
    for name in ["logged_in", "viewed", "media"] {
        assert_eq!(validate_event(&fixture(name)), Ok(()), "{name}");
    }
}

#[test]
fn the_validator_refuses_what_a_store_refuses() {
    let mut e = fixture("media");
    e["action"] = json!("Submitted");
    assert!(validate_event(&e).unwrap_err()[0].contains("not allowed for MediaEvent"));
    let mut e = fixture("logged_in");
    e["@context"] = json!("http://purl.imsglobal.org/ctx/caliper/v1p1");
    assert!(validate_event(&e).is_err());
    let mut e = fixture("logged_in");
    e["id"] = json!("fcd495d0-3740-4298-9bec-1154571dc211");
    assert!(validate_event(&e).is_err());
    let mut e = fixture("logged_in");
    e["eventTime"] = json!("15/11/2016 10:15");
    assert!(validate_event(&e).is_err());
    let mut e = fixture("media");
    e["object"]["type"] = json!("Assessment");
    assert!(validate_event(&e).is_err());
    let mut e = fixture("media");
    e["target"]["currentTime"] = json!("321");
    assert!(validate_event(&e).is_err());
    let mut e = fixture("viewed");
    e.as_object_mut().unwrap().remove("object");
    assert!(validate_event(&e).is_err());
}

#[test]
fn built_events_have_the_members_of_the_fixtures_and_validate() {
    let s = session(true);
    let li = s.logged_in(ID);
    assert_eq!(validate_event(&li), Ok(()));
    let fx = fixture("logged_in");
    for k in fx.as_object().unwrap().keys() {
        assert!(li.get(k).is_some(), "LoggedIn lacks {k}");
    }
    assert_eq!(li["object"], json!({"id": "https://tool.example.com", "type": "SoftwareApplication"}));
    assert_eq!(li["actor"]["id"], "https://lms.example.edu/users/554433");
    assert_eq!(li["group"]["id"], "https://lms.example.edu/courses/course-7");
    assert_eq!(li["membership"]["roles"], json!(["Learner"]));
    assert_eq!(li["federatedSession"]["type"], "LtiSession");
    assert_eq!(li["federatedSession"]["id"], "https://lms.example.edu/lti/sessions/session_554433_abc");
    assert_eq!(
        li["federatedSession"]["messageParameters"]["custom_caliper_federated_session_id"],
        "session_554433_abc"
    );

    let ev = one(json!({"type": "MediaEvent", "action": "Paused", "position": 321,
        "object": {"id": "https://tool.example.com/media/1", "name": "Intro", "mediaType": "video/mp4", "duration": 1220}}))
    .unwrap();
    let m = s.event(&ev, ID, NOW_ISO);
    assert_eq!(validate_event(&m), Ok(()));
    for k in fixture("media").as_object().unwrap().keys() {
        assert!(m.get(k).is_some(), "MediaEvent lacks {k}");
    }
    assert_eq!(m["object"]["type"], "VideoObject");
    assert_eq!(m["object"]["duration"], "PT20M20S");
    assert_eq!(m["target"]["currentTime"], "PT5M21S");
    assert_eq!(m["target"]["id"], "https://tool.example.com/media/1#t=321");
    assert_eq!(m["eventTime"], NOW_ISO);
    for k in fixture("viewed").as_object().unwrap().keys() {
        let v = s.event(
            &one(json!({"type": "ViewEvent", "action": "Viewed", "object": {"id": "urn:x:1"}})).unwrap(),
            ID,
            NOW_ISO,
        );
        assert!(v.get(k).is_some(), "ViewEvent lacks {k}");
    }
}

#[test]
fn without_actors_no_person_appears_anywhere() {
    let s = session(false);
    let ev = one(json!({"type": "AssessmentEvent", "action": "Submitted", "object": {"id": "https://t/q/1"}, "score": 3, "scoreMaximum": 4})).unwrap();
    let e = s.event(&ev, ID, NOW_ISO);
    assert_eq!(validate_event(&e), Ok(()));
    let text = e.to_string();
    assert!(e.get("actor").is_none() && e.get("membership").is_none());
    // (the federated session id is the platform's own, whatever it contains)
    assert!(!text.contains("users/554433") && !text.contains("Person") && !text.contains("Jane"), "{text}");
    assert!(e["federatedSession"]["messageParameters"].get("sub").is_none());
    assert_eq!(e["generated"]["type"], "Attempt");
    assert_eq!(e["generated"]["extensions"]["scoreGiven"], 3.0);
}

#[test]
fn generated_values_follow_the_profile_switch() {
    let mut st = store(true);
    st.include_generated_values = false;
    let roles: Vec<String> = vec![];
    let facts = LaunchFacts {
        tool_base: "https://tool",
        issuer: "https://lms",
        platform_user_id: Some("u"),
        name: None,
        context_id: None,
        context_title: None,
        lti_roles: &roles,
        deployment_id: "d",
        message_type: "LtiResourceLinkRequest",
        resource_link_id: None,
        federated_session_id: None,
        session_id: "s",
        started: NOW_ISO,
    };
    let s = CaliperSession::new(&facts, &st);
    let ev = one(json!({"type": "AssessmentItemEvent", "action": "Completed", "object": {"id": "https://t/q/1/i/1"}}))
        .unwrap();
    assert!(s.event(&ev, ID, NOW_ISO).get("generated").is_none());
    let with = session(true).event(&ev, ID, NOW_ISO);
    assert_eq!(with["generated"]["type"], "Response");
}

#[test]
fn each_bad_field_is_named() {
    assert!(field_error(json!({"type": "ClickEvent", "action": "Clicked"}), "events[0].type")
        .contains("unknown event type"));
    assert!(field_error(
        json!({"type": "MediaEvent", "action": "Submitted", "object": {"id": "urn:v:1"}}),
        "events[0].action"
    )
    .contains("MediaEvent allows Started"));
    assert!(
        field_error(json!({"type": "MediaEvent", "object": {"id": "urn:v:1"}}), "events[0].action").contains("allows")
    );
    assert!(field_error(
        json!({"type": "ViewEvent", "action": "Viewed", "object": {"id": "page 1"}}),
        "events[0].object.id"
    )
    .contains("IRI"));
    assert!(field_error(json!({"type": "ViewEvent", "action": "Viewed"}), "events[0].object").contains("required"));
    assert!(field_error(
        json!({"type": "MediaEvent", "action": "Paused", "object": {"id": "urn:v:1", "type": "Document"}}),
        "events[0].object.type"
    )
    .contains("VideoObject"));
    assert!(field_error(
        json!({"type": "ViewEvent", "action": "Viewed", "object": {"id": "urn:v:1"}, "eventTime": "yesterday"}),
        "events[0].eventTime"
    )
    .contains("ISO 8601"));
    assert!(field_error(json!({"type": "ViewEvent", "action": "Viewed", "object": {"id": "urn:v:1"}, "eventTime": "2025-12-02T10:30:00Z"}), "events[0].eventTime")
        .contains("future"));
    assert!(field_error(json!({"type": "ViewEvent", "action": "Viewed", "object": {"id": "urn:v:1"}, "eventTime": "2024-12-02T10:30:00Z"}), "events[0].eventTime")
        .contains("older"));
    assert!(field_error(
        json!({"type": "MediaEvent", "action": "Paused", "object": {"id": "urn:v:1"}, "position": -1}),
        "events[0].position"
    )
    .contains("number"));
    assert!(field_error(
        json!({"type": "ViewEvent", "action": "Viewed", "object": {"id": "urn:v:1"}, "position": 3}),
        "events[0].position"
    )
    .contains("only for MediaEvent"));
    assert!(field_error(
        json!({"type": "MediaEvent", "action": "Paused", "object": {"id": "urn:v:1"}, "score": 3}),
        "events[0].score"
    )
    .contains("only for Assessment"));
    assert!(field_error(json!({"type": "AssessmentEvent", "action": "Submitted", "object": {"id": "urn:v:1"}, "score": 5, "scoreMaximum": 4}), "events[0].score")
        .contains("exceed"));
    assert!(field_error(
        json!({"type": "ViewEvent", "action": "Viewed", "object": {"id": "urn:v:1", "name": ""}}),
        "events[0].object.name"
    )
    .contains("1–500"));
    assert!(field_error(
        json!({"type": "ViewEvent", "action": "Viewed", "object": {"id": "urn:v:1"}, "actor": "x"}),
        "events[0].actor"
    )
    .contains("unknown field"));
    assert!(field_error(
        json!({"type": "SessionEvent", "action": "LoggedOut", "object": {"id": "urn:v:1"}}),
        "events[0].object"
    )
    .contains("send none"));
    let long = format!("https://t/{}", "a".repeat(MAX_IRI));
    assert!(field_error(
        json!({"type": "ViewEvent", "action": "Viewed", "object": {"id": long}}),
        "events[0].object.id"
    )
    .contains("2048"));
}

#[test]
fn a_tools_own_event_id_is_kept_and_checked() {
    let e = one(json!({"id": "urn:uuid:956B4A02-8DE0-4991-B8C5-B6EEBB6B4CAB", "type": "ViewEvent", "action": "Viewed",
        "object": {"id": "urn:v:1"}}))
    .unwrap();
    assert_eq!(e.id.as_deref(), Some(ID), "kept (lower case), so a resent event has the same id");
    for bad in [json!("956b4a02-8de0-4991-b8c5-b6eebb6b4cab"), json!("urn:uuid:x"), json!(7)] {
        let v = json!({"id": bad, "type": "ViewEvent", "action": "Viewed", "object": {"id": "urn:v:1"}});
        assert!(field_error(v, "events[0].id").contains("urn:uuid"));
    }
}

#[test]
fn a_request_holds_one_to_a_hundred_events() {
    let e = json!({"type": "ViewEvent", "action": "Viewed", "object": {"id": "urn:v:1"}});
    assert_eq!(parse_tool_events(&json!({"events": [e.clone(), e.clone()]}), NOW).unwrap().len(), 2);
    let many: Vec<Value> = (0..=MAX_EVENTS).map(|_| e.clone()).collect();
    let err = parse_tool_events(&json!({"events": many}), NOW).unwrap_err();
    assert!(err.fields().unwrap()["events"].contains("1–100"));
    let err = parse_tool_events(&json!({"events": []}), NOW).unwrap_err();
    assert_eq!(err.code(), ErrorCode::CaliperEventInvalid);
    assert!(parse_tool_events(&json!({"events": {}}), NOW).is_err());
    assert!(parse_tool_events(&json!({}), NOW).is_err());
    // one bad event among good ones: the whole request is refused, the bad one named
    let err = parse_tool_events(&json!({"events": [e.clone(), {"type": "ViewEvent"}]}), NOW).unwrap_err();
    assert!(err.fields().unwrap().keys().all(|k| k.starts_with("events[1].")));
}

#[test]
fn every_allowed_action_of_every_type_builds_a_valid_event() {
    let s = session(true);
    for k in EventKind::ALL {
        for a in k.actions() {
            let mut v = json!({"type": k.as_str(), "action": a});
            if *k != EventKind::Session {
                v["object"] = json!({"id": "https://tool.example.com/o/1"});
            }
            let ev = one(v).unwrap();
            assert_eq!(validate_event(&s.event(&ev, ID, NOW_ISO)), Ok(()), "{} {a}", k.as_str());
        }
    }
}

#[test]
fn profiles_are_parsed_strictly() {
    let ok = |v: Value, loopback: bool| EventStore::parse(v.to_string().as_bytes(), loopback);
    let base = json!({"apiUrl": "https://lms/caliper", "apiKey": "k"});
    let s = ok(base.clone(), false).unwrap();
    assert!(s.send_events && s.include_actors && s.include_generated_values, "flags default to true");
    assert_eq!(s.api_key.expose(), "k");
    assert!(!format!("{s:?}").contains("\"k\""), "Debug hides the key");
    assert_eq!(
        ok(json!({"apiUrl": "http://lms/c", "apiKey": "k"}), false).unwrap_err().code(),
        ErrorCode::CaliperProfileInvalid
    );
    assert!(ok(json!({"apiUrl": "http://127.0.0.1:9/c", "apiKey": "k"}), true).is_ok());
    assert!(ok(json!({"apiUrl": "http://127.0.0.1:9/c", "apiKey": "k"}), false).is_err());
    assert!(ok(json!({"apiKey": "k"}), false).is_err());
    assert!(ok(json!({"apiUrl": "https://lms/c"}), false).is_err());
    assert!(ok(json!({"apiUrl": "https://lms/c", "apiKey": ""}), false).is_err());
    assert!(ok(json!({"apiUrl": "https://lms/c", "apiKey": "a\nb"}), false).is_err());
    assert!(ok(json!({"apiUrl": "https://lms/c", "apiKey": "k", "sendEvents": "yes"}), false).is_err());
    assert!(EventStore::parse(b"[1]", false).is_err());
    assert!(EventStore::parse(b"not json", false).is_err());
    assert!(EventStore::parse(&vec![b' '; MAX_PROFILE_BYTES + 1], false).is_err());
}

#[test]
fn times_and_durations() {
    assert_eq!(parse_datetime("1970-01-01T00:00:00Z"), Some(0));
    assert_eq!(parse_datetime(NOW_ISO), Some(NOW));
    assert_eq!(parse_datetime("2025-12-02T11:00:00+01:00"), Some(NOW));
    assert_eq!(parse_datetime("2024-02-29T00:00:00.123456Z"), Some(1_709_164_800));
    for bad in [
        "2025-02-29T00:00:00Z",
        "2025-12-02 10:00:00Z",
        "2025-12-02T10:00:00",
        "2025-13-01T00:00:00Z",
        "2025-12-02T10:00:00.Z",
        "x",
    ] {
        assert_eq!(parse_datetime(bad), None, "{bad}");
    }
    assert_eq!(format_duration(0.0), "PT0S");
    assert_eq!(format_duration(321.0), "PT5M21S");
    assert_eq!(format_duration(3723.25), "PT1H2M3.25S");
    for ok in ["PT05M21S", "PT0S", "P1D", "PT1H2M3.25S", "P1DT2H"] {
        assert!(is_duration(ok), "{ok}");
    }
    for bad in ["PT", "P", "321", "PT5S3M", "PT.5S", "PT1.5M"] {
        assert!(!is_duration(bad), "{bad}");
    }
    let u = urn_uuid([0xff; 16]);
    assert_eq!(u, "urn:uuid:ffffffff-ffff-4fff-bfff-ffffffffffff");
    assert!(is_urn_uuid(&u));
}

#[test]
fn lti_roles_map_to_caliper_roles() {
    let r = |v: &[&str]| caliper_roles(&v.iter().map(|s| s.to_string()).collect::<Vec<_>>());
    assert_eq!(r(&["http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor"]), ["Instructor"]);
    assert_eq!(
        r(&["http://purl.imsglobal.org/vocab/lis/v2/membership/Instructor#TeachingAssistant"]),
        ["Instructor#TeachingAssistant"]
    );
    assert_eq!(r(&["Learner", "urn:lti:role:ims/lis/Instructor"]), ["Learner", "Instructor"]);
    assert!(r(&["http://purl.imsglobal.org/vocab/lis/v2/institution/person#Student"]).is_empty());
}

#[test]
fn the_envelope_has_the_four_members() {
    let e = envelope("https://tool", NOW_ISO, vec![session(true).logged_in(ID)]);
    let keys: Vec<&String> = e.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["data", "dataVersion", "sendTime", "sensor"]);
    assert_eq!(e["dataVersion"], CONTEXT);
}
