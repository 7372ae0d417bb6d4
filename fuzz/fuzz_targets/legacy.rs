//! Fuzzes what a platform can put in front of lti-legacy: OAuth 1.0a form bodies and URLs, the
//! launch parameters behind a verified signature (the target signs the fuzzed pairs itself so
//! the parameter parser is reachable), Basic Outcomes replies, and `lti1p1` claims. The
//! property: nothing panics.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lti_legacy::migration;
use lti_legacy::oauth1::{ConsumerSecret, NonceCheck, RequestUrl, Signer, UnverifiedRequest};
use lti_legacy::outcomes::parse_reply;
use lti_legacy::params::{Lti11Launch, ParseOptions};

const NOW: i64 = 1_790_000_000;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let secret = ConsumerSecret::new("fuzz-secret");
    let (head, tail) = text.split_once('\n').unwrap_or(("/lti/launch", &text));
    // URLs and raw bodies: parse and verify (the signature almost never matches).
    if let Ok(url) = RequestUrl::public("https://tool.example", head) {
        if let Ok(req) = UnverifiedRequest::from_form("POST", &url, tail) {
            let _ = req.base_string();
            let _ = req.verify(Some(&secret), NOW);
        }
    }
    // The same pairs, signed, so parameter parsing and claim building run on them.
    let url = RequestUrl::public("https://tool.example", "/lti/launch").expect("fixed URL");
    let pairs: Vec<(String, String)> = lti_core::encoding::form_decode(&text).into_iter().filter(|(k, _)| !k.starts_with("oauth_")).collect();
    let form = Signer::new("key", &secret).sign_form("POST", &url, pairs, NOW, "n");
    let body = lti_core::encoding::form_encode(form.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    if let Ok(req) = UnverifiedRequest::from_form("POST", &url, &body)
        .and_then(|r| r.verify(Some(&secret), NOW))
        .and_then(|v| v.confirm_nonce(NonceCheck::FirstUse))
    {
        for blackboard_base64 in [false, true] {
            if let Ok(l) = Lti11Launch::from_request(req.clone(), ParseOptions { blackboard_base64 }) {
                let _ = l.to_lti13_claims();
            }
        }
    }
    let _ = parse_reply(&text);
    if let Ok(serde_json::Value::Object(claims)) = serde_json::from_str::<serde_json::Value>(&text) {
        let _ = migration::check(&claims, "client", Some(&secret));
    }
});
