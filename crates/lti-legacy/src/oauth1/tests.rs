use super::*;

const NOW: i64 = 1_790_000_000;
const URL: &str = "https://tool.example.com/lti/launch";

fn url() -> RequestUrl {
    RequestUrl::parse(URL).unwrap()
}

fn secret() -> ConsumerSecret {
    ConsumerSecret::new("secret")
}

/// A correctly signed form body over `params` exactly as given (no protocol parameters added),
/// so each negative test below differs from an accepted request in one respect only.
fn signed_body(params: &[(&str, &str)]) -> String {
    let normalized = normalize_parameters(params.iter().copied());
    let base = signature_base_string("POST", URL, &normalized);
    let sig = STANDARD.encode(hmac_sha1(&secret(), &base).finalize().into_bytes());
    let mut all: Vec<(&str, &str)> = params.to_vec();
    all.push(("oauth_signature", &sig));
    lti_core::encoding::form_encode(all)
}

fn good_params() -> Vec<(&'static str, &'static str)> {
    vec![
        ("lti_message_type", "basic-lti-launch-request"),
        ("resource_link_id", "r1"),
        ("oauth_consumer_key", "key"),
        ("oauth_signature_method", "HMAC-SHA1"),
        ("oauth_timestamp", "1790000000"),
        ("oauth_nonce", "n-1"),
        ("oauth_version", "1.0"),
    ]
}

fn with(name: &'static str, value: &'static str) -> Vec<(&'static str, &'static str)> {
    let mut p: Vec<_> = good_params().into_iter().filter(|(k, _)| *k != name).collect();
    p.push((name, value));
    p
}

fn without(name: &str) -> Vec<(&'static str, &'static str)> {
    good_params().into_iter().filter(|(k, _)| *k != name).collect()
}

fn verify(body: &str) -> Result<VerifiedRequest, OAuthError> {
    UnverifiedRequest::from_form("POST", &url(), body)?.verify(Some(&secret()), NOW)
}

#[test]
fn the_baseline_request_verifies() {
    let v = verify(&signed_body(&good_params())).expect("accepted");
    let a = v.confirm_nonce(NonceCheck::FirstUse).expect("first use");
    assert_eq!(a.consumer_key(), "key");
    assert!(a.params().iter().all(|(k, _)| k != "oauth_signature"));
    assert!(a.params().contains(&("resource_link_id".into(), "r1".into())));
}

// RFC 5849 §3.4.1.1: the example request and its signature base string, verbatim. The RFC
// sends the protocol parameters in the Authorization header; the signed set is the same when
// they come in the body, which is how LTI 1.1 launches carry them.
#[test]
fn rfc5849_3_4_1_1_example_base_string() {
    let url = RequestUrl::parse("http://example.com/request?b5=%3D%253D&a3=a&c%40=&a2=r%20b").unwrap();
    let body = "c2&a3=2+q&oauth_consumer_key=9djdj82h48djs9d2&oauth_token=kkk9d7dh3k39sjv7\
                &oauth_signature_method=HMAC-SHA1&oauth_timestamp=137131201&oauth_nonce=7d8f3e4a\
                &oauth_signature=bYT5CMsGcbgUdFHObYMEfcx6bsw%3D";
    let req = UnverifiedRequest::from_form("POST", &url, body).unwrap();
    let expected = concat!(
        "POST&http%3A%2F%2Fexample.com%2Frequest&a2%3Dr%2520b%26a3%3D2%2520q",
        "%26a3%3Da%26b5%3D%253D%25253D%26c%2540%3D%26c2%3D%26oauth_consumer_",
        "key%3D9djdj82h48djs9d2%26oauth_nonce%3D7d8f3e4a%26oauth_signature_m",
        "ethod%3DHMAC-SHA1%26oauth_timestamp%3D137131201%26oauth_token%3Dkkk",
        "9d7dh3k39sjv7",
    );
    assert_eq!(req.base_string(), expected);
}

// RFC 5849 §3.4.1.3.2: the normalized parameters of the same example.
#[test]
fn rfc5849_3_4_1_3_2_normalized_parameters() {
    let params = [
        ("b5", "=%3D"),
        ("a3", "a"),
        ("c@", ""),
        ("a2", "r b"),
        ("oauth_consumer_key", "9djdj82h48djs9d2"),
        ("oauth_token", "kkk9d7dh3k39sjv7"),
        ("oauth_signature_method", "HMAC-SHA1"),
        ("oauth_timestamp", "137131201"),
        ("oauth_nonce", "7d8f3e4a"),
        ("c2", ""),
        ("a3", "2 q"),
    ];
    assert_eq!(
        normalize_parameters(params),
        "a2=r%20b&a3=2%20q&a3=a&b5=%3D%253D&c%40=&c2=&oauth_consumer_key=9djdj82h48djs9d2\
         &oauth_nonce=7d8f3e4a&oauth_signature_method=HMAC-SHA1&oauth_timestamp=137131201\
         &oauth_token=kkk9d7dh3k39sjv7"
    );
}

// RFC 5849 §3.4.1.2: base string URIs.
#[test]
fn rfc5849_3_4_1_2_base_string_uri() {
    assert_eq!(
        RequestUrl::parse("HTTP://EXAMPLE.COM:80/r%20v/X?id=123").unwrap().base_uri(),
        "http://example.com/r%20v/X"
    );
    assert_eq!(
        RequestUrl::parse("https://www.example.net:8080/?q=1").unwrap().base_uri(),
        "https://www.example.net:8080/"
    );
    assert_eq!(RequestUrl::parse("https://www.example.net:443").unwrap().base_uri(), "https://www.example.net/");
    let u = RequestUrl::parse("https://t.example/p?a=1&b=%20&a=2").unwrap();
    assert_eq!(u.query_params(), &[("a".into(), "1".into()), ("b".into(), " ".into()), ("a".into(), "2".into())]);
}

// RFC 5849 §3.6: unreserved characters stay, everything else is %XX with upper-case hex, on
// UTF-8 bytes.
#[test]
fn rfc5849_3_6_percent_encoding() {
    assert_eq!(percent_encode("Az09-._~"), "Az09-._~");
    assert_eq!(percent_encode(" !*'()+/=&%"), "%20%21%2A%27%28%29%2B%2F%3D%26%25");
    assert_eq!(percent_encode("é日"), "%C3%A9%E6%97%A5");
}

#[test]
fn public_url_takes_the_configured_origin_and_the_received_path_and_query() {
    let a = RequestUrl::public("https://Tool.Example.com", "http://10.0.0.5:8080/lti/launch?x=1").unwrap();
    let b = RequestUrl::public("https://tool.example.com:443/ignored", "/lti/launch?x=1").unwrap();
    assert_eq!(a, b);
    assert_eq!(a.base_uri(), "https://tool.example.com/lti/launch");
    assert_eq!(a.query_params(), &[("x".into(), "1".into())]);
    assert!(matches!(RequestUrl::public("tool.example.com", "/x"), Err(OAuthError::UrlInvalid(_))));
    assert!(matches!(RequestUrl::public("https://t.example", "/x y"), Err(OAuthError::UrlInvalid(_))));
}

#[test]
fn each_required_protocol_parameter_is_required() {
    for name in ["oauth_consumer_key", "oauth_signature_method", "oauth_timestamp", "oauth_nonce"] {
        let err = verify(&signed_body(&without(name))).unwrap_err();
        assert_eq!(err, OAuthError::ParamMissing(name), "{name}");
        let err = verify(&signed_body(&with(name, ""))).unwrap_err();
        assert_eq!(err, OAuthError::ParamMissing(name), "{name} empty");
    }
    let body = lti_core::encoding::form_encode(good_params());
    assert_eq!(verify(&body).unwrap_err(), OAuthError::ParamMissing("oauth_signature"));
}

#[test]
fn a_repeated_protocol_parameter_is_refused() {
    let mut p = good_params();
    p.push(("oauth_nonce", "n-2"));
    assert_eq!(verify(&signed_body(&p)).unwrap_err(), OAuthError::ParamRepeated("oauth_nonce".into()));
    // Also across query and body.
    let url = RequestUrl::parse("https://tool.example.com/lti/launch?oauth_version=1.0").unwrap();
    let err = UnverifiedRequest::from_form("POST", &url, &signed_body(&good_params())).unwrap_err();
    assert_eq!(err, OAuthError::ParamRepeated("oauth_version".into()));
}

#[test]
fn signature_methods_other_than_hmac_sha1_are_refused() {
    for m in ["PLAINTEXT", "RSA-SHA1", "HMAC-SHA256", "hmac-sha1"] {
        let err = verify(&signed_body(&with("oauth_signature_method", m))).unwrap_err();
        assert_eq!(err, OAuthError::SignatureMethodUnsupported(m.into()));
    }
}

#[test]
fn oauth_version_other_than_1_0_is_refused_and_absent_is_fine() {
    let err = verify(&signed_body(&with("oauth_version", "2.0"))).unwrap_err();
    assert_eq!(err, OAuthError::VersionUnsupported("2.0".into()));
    assert!(verify(&signed_body(&without("oauth_version"))).is_ok());
}

#[test]
fn malformed_timestamp_nonce_and_key_are_refused() {
    for ts in ["-5", "1.5", "1e9", "9999999999999", " 1790000000"] {
        let err = verify(&signed_body(&with("oauth_timestamp", ts))).unwrap_err();
        assert_eq!(err, OAuthError::ParamMalformed("oauth_timestamp"), "{ts}");
    }
    let long: &'static str = Box::leak("n".repeat(MAX_NONCE_LEN + 1).into_boxed_str());
    assert_eq!(
        verify(&signed_body(&with("oauth_nonce", long))).unwrap_err(),
        OAuthError::ParamMalformed("oauth_nonce")
    );
    let long: &'static str = Box::leak("k".repeat(MAX_CONSUMER_KEY_LEN + 1).into_boxed_str());
    assert_eq!(
        verify(&signed_body(&with("oauth_consumer_key", long))).unwrap_err(),
        OAuthError::ParamMalformed("oauth_consumer_key")
    );
}

#[test]
fn oversized_bodies_and_parameter_floods_are_refused() {
    let big = format!("{}&x={}", signed_body(&good_params()), "a".repeat(MAX_FORM_BYTES));
    assert_eq!(verify(&big).unwrap_err(), OAuthError::TooLarge("body"));
    let flood = format!("{}{}", signed_body(&good_params()), "&a=1".repeat(MAX_PARAMS));
    assert_eq!(verify(&flood).unwrap_err(), OAuthError::TooLarge("parameters"));
}

#[test]
fn unknown_consumer_wrong_secret_and_tampering_are_refused() {
    let body = signed_body(&good_params());
    let req = || UnverifiedRequest::from_form("POST", &url(), &body).unwrap();
    assert_eq!(req().verify(None, NOW).unwrap_err(), OAuthError::ConsumerUnknown("key".into()));
    assert_eq!(req().verify(Some(&ConsumerSecret::new("Secret")), NOW).unwrap_err(), OAuthError::SignatureInvalid);
    let tampered = body.replace("resource_link_id=r1", "resource_link_id=r2");
    assert_eq!(verify(&tampered).unwrap_err(), OAuthError::SignatureInvalid);
    let other_path = RequestUrl::parse("https://tool.example.com/lti/launch2").unwrap();
    let err =
        UnverifiedRequest::from_form("POST", &other_path, &body).unwrap().verify(Some(&secret()), NOW).unwrap_err();
    assert_eq!(err, OAuthError::SignatureInvalid);
    let get = UnverifiedRequest::from_form("GET", &url(), &body).unwrap().verify(Some(&secret()), NOW).unwrap_err();
    assert_eq!(get, OAuthError::SignatureInvalid);
    let not_b64 = body.replace("oauth_signature=", "oauth_signature=%21%21");
    assert_eq!(verify(&not_b64).unwrap_err(), OAuthError::SignatureInvalid);
}

#[test]
fn timestamp_window_is_plus_minus_300_seconds_inclusive() {
    let body = signed_body(&good_params());
    let at = |now| UnverifiedRequest::from_form("POST", &url(), &body).unwrap().verify(Some(&secret()), now);
    assert!(at(NOW + 300).is_ok());
    assert!(at(NOW - 300).is_ok());
    assert_eq!(at(NOW + 301).unwrap_err(), OAuthError::TimestampExpired(301));
    assert_eq!(at(NOW - 301).unwrap_err(), OAuthError::TimestampInFuture(301));
    assert_eq!(at(i64::MIN).unwrap_err(), OAuthError::TimestampInFuture(NOW.saturating_sub(i64::MIN)));
    assert!(matches!(at(i64::MAX), Err(OAuthError::TimestampExpired(_))));
}

#[test]
fn replayed_nonce_is_refused_and_nonce_key_is_stable_and_scoped() {
    let v = verify(&signed_body(&good_params())).unwrap();
    let key = v.nonce_key();
    assert!(key.starts_with("oauth1-nonce:") && key.len() == "oauth1-nonce:".len() + 64);
    assert_eq!(v.nonce_expires_at(), NOW + 301);
    assert_eq!(v.confirm_nonce(NonceCheck::SeenBefore).unwrap_err(), OAuthError::NonceReused);
    let again = verify(&signed_body(&good_params())).unwrap();
    assert_eq!(again.nonce_key(), key, "same request, same key");
    let other = verify(&signed_body(&with("oauth_nonce", "n-2"))).unwrap();
    assert_ne!(other.nonce_key(), key);
}

#[test]
fn signer_output_verifies_and_secret_debug_is_redacted() {
    let s = secret();
    let signer = Signer::new("key", &s);
    let form = signer.sign_form("post", &url(), vec![("a".into(), "1 2".into()), ("a".into(), "0".into())], NOW, "n-9");
    let body = lti_core::encoding::form_encode(form.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    let v = verify(&body).expect("our own form verifies");
    assert_eq!(v.consumer_key(), "key");
    assert_eq!(format!("{s:?}"), "ConsumerSecret(…)");
    let header = signer.sign_body("POST", &url(), b"<x/>", NOW, "n-10");
    assert!(header.starts_with("OAuth oauth_consumer_key=\"key\", "));
    assert!(header.contains(&format!("oauth_body_hash=\"{}\"", percent_encode(&body_hash(b"<x/>")))));
}

#[test]
fn body_hash_of_empty_body_is_the_known_constant() {
    // SHA-1 of the empty string, base64: the value every GET carries.
    assert_eq!(body_hash(b""), "2jmj7l5rSw0yVb/vlWAYkK/YBwk=");
}
