use serde_json::json;

use super::*;
use crate::registration::RegistrationInput;

fn reg(extra: Value) -> Registration {
    let mut body = json!({"preset": "canvas", "lti13ClientId": "c"});
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    RegistrationInput::new(&body).unwrap().validate("r-1", None, "now", false).unwrap()
}

fn claims() -> Map<String, Value> {
    json!({
        "iss": "https://canvas.instructure.com", "aud": "c", "sub": "opaque-42", "email": "ada@example.edu",
        "name": "Ada Lovelace",
        "https://purl.imsglobal.org/spec/lti/claim/lis": {"person_sourcedid": "sis-1001"},
        "https://purl.imsglobal.org/spec/lti/claim/custom": {"username": "ada.l", "course_code": "BIO101", "nested": {"x": 1}},
        "https://purl.imsglobal.org/spec/lti/claim/lti1p1": {"user_id": "legacy-7"},
        "https://purl.imsglobal.org/spec/lti/claim/lti11_legacy_user_id": "legacy-7",
        "https://www.example-lms.com/extension": {"login_id": "alovelace"},
        "https://purl.imsglobal.org/spec/lti/claim/roles": ["http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"],
    })
    .as_object()
    .unwrap()
    .clone()
}

fn find<'a>(s: &'a [Suggestion], attribute: &str) -> &'a Suggestion {
    s.iter().find(|x| x.attribute == attribute).unwrap_or_else(|| panic!("no {attribute} in {s:#?}"))
}

#[test]
fn every_attribute_that_could_be_the_user_id_is_offered_with_its_rule() {
    let s = suggestions(&claims(), &reg(json!({})), None);
    let sub = find(&s, "sub");
    assert_eq!(
        (sub.value.as_str(), sub.current, sub.configuration.clone()),
        ("opaque-42", true, UserIdRule::default())
    );
    assert_eq!(find(&s, "lis: person_sourcedid").configuration.lti_user_id_attribute, "lis_person_sourcedid");
    assert_eq!(find(&s, "email").value, "ada@example.edu");
    assert_eq!(find(&s, "custom: username").configuration, UserIdRule::attribute("custom_username"));
    assert_eq!(find(&s, "custom: username").value, "ada.l");
    let l = find(&s, "lti1p1: user_id");
    assert_eq!(l.configuration, UserIdRule::claim(claim::LTI1P1, "user_id"));
    assert!(l.matches_lti11_user_id && !l.current);
    assert!(find(&s, "https://purl.imsglobal.org/spec/lti/claim/lti11_legacy_user_id").matches_lti11_user_id);
    let ext = find(&s, "https://www.example-lms.com/extension → login_id");
    assert_eq!(ext.value, "alovelace");
    // Not offered: protocol claims, names, and values no rule can read (an object).
    for a in ["iss", "name", "custom: nested", "https://purl.imsglobal.org/spec/lti/claim/roles"] {
        assert!(s.iter().all(|x| x.attribute != a), "{a} offered");
    }
    assert_eq!(s.iter().filter(|x| x.current).count(), 1);
}

#[test]
fn each_suggestion_is_what_the_launch_would_decide() {
    let c = claims();
    for sg in suggestions(&c, &reg(json!({})), None) {
        let configured = reg(serde_json::to_value(&sg.configuration).unwrap());
        assert_eq!(decide_user_id(&c, &configured, None), Ok((sg.value.clone(), sg.source)), "{sg:?}");
        assert!(suggestions(&c, &configured, None).iter().any(|x| x.current && x.value == sg.value));
    }
}

#[test]
fn an_upgraded_link_under_the_default_rule_keeps_its_lti11_user() {
    let legacy = LegacyIdentity { user_id: "legacy-7".into(), context_id: None };
    let s = suggestions(&claims(), &reg(json!({})), Some(&legacy));
    let default = find(&s, "sub");
    assert_eq!((default.value.as_str(), default.source), ("legacy-7", UserIdSource::Lti1p1));
    assert!(default.matches_lti11_user_id);
}

#[test]
fn a_rule_that_finds_nothing_still_gets_suggestions() {
    // The registration's rule reads a parameter this launch lacks (the launch was refused with
    // user_id_missing): the suggestions show what it could use instead, none marked current.
    let r = reg(json!({"ltiUserIdAttribute": "custom_employee_no"}));
    let s = suggestions(&claims(), &r, None);
    assert!(s.iter().all(|x| !x.current));
    assert!(s.len() >= 6, "{s:#?}");
}
