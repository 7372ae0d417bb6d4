//! Fuzzes what reaches the Caliper core from the network: a platform's profile document and a
//! tool's events. Properties: nothing panics, and every event the core accepts from a tool is
//! built into a Caliper event that the store-side validator accepts.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lti_core::caliper::{parse_tool_events, validate_event, CaliperSession, EventStore, LaunchFacts};

const NOW: i64 = 1_790_000_000;
const NOW_ISO: &str = "2026-09-21T14:13:20.000Z";

fuzz_target!(|data: &[u8]| {
    let _ = EventStore::parse(data, data.first().is_some_and(|b| b & 1 == 1));
    let Ok(body) = serde_json::from_slice::<serde_json::Value>(data) else { return };
    let Ok(events) = parse_tool_events(&body, NOW) else { return };
    let store = EventStore::parse(
        br#"{"apiUrl": "https://lms.example/caliper", "apiKey": "k", "includeActors": true}"#,
        false,
    )
    .expect("fixed profile");
    let roles = vec!["http://purl.imsglobal.org/vocab/lis/v2/membership#Learner".to_string()];
    let facts = LaunchFacts {
        tool_base: "https://tool.example",
        issuer: "https://lms.example",
        platform_user_id: Some("user 1/ü"),
        name: Some("Ada"),
        context_id: Some("course 7"),
        context_title: Some("Course"),
        lti_roles: &roles,
        deployment_id: "d",
        message_type: "LtiResourceLinkRequest",
        resource_link_id: Some("r"),
        federated_session_id: Some("fed session 1"),
        session_id: "00ff",
        started: NOW_ISO,
    };
    let session = CaliperSession::new(&facts, &store);
    for ev in &events {
        let built = session.event(ev, "urn:uuid:956b4a02-8de0-4991-b8c5-b6eebb6b4cab", NOW_ISO);
        if let Err(errs) = validate_event(&built) {
            panic!("accepted {ev:?} but built an invalid event: {errs:?}\n{built}");
        }
    }
});
