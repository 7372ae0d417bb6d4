//! Fuzzes everything a request or a platform can put in front of the core: the id_token
//! parser, claim validation and authorization (behind a provider that accepts every signature,
//! so the fuzzer reaches the claims), JWKS documents, login parameters, state strings, URLs,
//! form bodies and registration bodies. The property: nothing panics.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lti_core::crypto::{CryptoError, Rs256Verifier};
use lti_core::jwk::{JwkSet, RsaPublicJwk};
use lti_core::launch::UnverifiedLaunch;
use lti_policy::{Authorize, RegistrationInput};
use lti_core::state::{begin_login, LoginParams, StateHandle, StateKey, ToolConfig};
use lti_core::url::HttpUrl;

/// Fuzz-only: accepts every signature so claim validation is reachable.
struct DangerousAcceptAll;

impl Rs256Verifier for DangerousAcceptAll {
    async fn verify(&self, _: &RsaPublicJwk, _: &[u8], _: &[u8]) -> Result<bool, CryptoError> {
        Ok(true)
    }
}

const NOW: i64 = 1_790_000_000;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    // URL normal form: never panics, and is a fixed point (what is checked is what is sent).
    if let Ok(u) = HttpUrl::parse(&text).and_then(|u| u.normalized()) {
        let again = HttpUrl::parse(&u.to_string()).and_then(|v| v.normalized());
        assert_eq!(again.as_ref().map(ToString::to_string), Ok(u.to_string()), "normal form is stable");
    }
    let _ = lti_core::services::ServiceUrl::parse(&text);
    let _ = lti_core::jws::strict_object(data);
    let pairs = lti_core::encoding::form_decode(&text);
    let _ = LoginParams::from_pairs(&pairs);
    let key = StateKey::derive("fuzz-secret-fuzz-secret-fuzz-secret");
    let _ = StateHandle::verify(&text, &key, NOW);
    let _ = JwkSet::parse(data);
    // The tool's own tokens: sessions parse with ES256 or RS256, and EC keys from JSON.
    let _ = lti_core::jws::CompactJws::parse_allowing(&text, &[lti_core::crypto::JwsAlg::Es256, lti_core::crypto::JwsAlg::Rs256]);
    if let Ok(v) = serde_json::from_slice::<serde_json::Value>(data) {
        let _ = lti_core::jwk::EcPublicJwk::from_jwk(&v);
        if let Ok(input) = RegistrationInput::new(&v) {
            let _ = input.validate("id", None, "now", true);
        }
    }

    let reg_body = serde_json::json!({
        "issuer": "https://lms.example", "lti13ClientId": "c", "name": "n",
        "lti13PlatformOidcAuthUrl": "https://lms.example/a", "lti13AuthTokenUrl": "https://lms.example/t",
        "lti13KeysUrl": "https://lms.example/k", "deploymentPolicy": "acceptAndRecord",
        "lti13UserIdClaim": "https://purl.imsglobal.org/spec/lti/claim/custom", "lti13UserIdClaimProperty": "u",
    });
    let Ok(reg) = RegistrationInput::new(&reg_body).and_then(|i| i.validate("r", None, "now", false)) else { return };
    let Ok(tool_url) = HttpUrl::parse("https://tool.example") else { return };
    let tool = ToolConfig { base_url: tool_url };
    let params = LoginParams { iss: reg.lti().issuer().to_string(), login_hint: "u".into(), target_link_uri: "https://tool.example/".into(), ..Default::default() };
    let Ok((redirect, _)) = begin_login(&params, std::slice::from_ref(&reg), &tool, "/lti/launch", &key, &[7; 64], "kv", NOW) else { return };
    let nonce = redirect.record.nonce.expose().to_string();
    let Ok(handle) = StateHandle::verify(&redirect.state, &key, NOW) else { return };
    let Ok(consumed) = handle.consumed(true) else { return };

    // Inputs that are JSON objects also become the claims of a well-formed token, so the
    // fuzzer explores claim validation, not only base64 framing.
    // The login's nonce is derived from the state under the secret: put it in (a claims seed
    // cannot know it), so validation runs past the nonce check.
    let wrapped = serde_json::from_slice::<serde_json::Map<String, serde_json::Value>>(data).ok().map(|mut m| {
        if m.contains_key("nonce") {
            m.insert("nonce".into(), serde_json::Value::String(nonce.clone()));
        }
        let header = lti_core::encoding::b64url_encode(br#"{"alg":"RS256","kid":"k1"}"#);
        format!("{header}.{}.AAAA", lti_core::encoding::b64url_encode(serde_json::Value::Object(m).to_string().as_bytes()))
    });
    for candidate in [Some(text.to_string()), wrapped].into_iter().flatten() {
        let Ok(unverified) = UnverifiedLaunch::parse(&candidate) else { continue };
        let jwk = serde_json::json!({"kty": "RSA", "kid": unverified.kid(), "n": "x".repeat(342) + "w", "e": "AQAB"});
        let keys = RsaPublicJwk::from_jwk(&jwk).map(|k| JwkSet::from_keys(vec![k])).unwrap_or_default();
        let Ok(verified) = pollster::block_on(unverified.verify(&keys, &DangerousAcceptAll)) else { continue };
        if let Ok(validated) = verified.validate(&consumed, &reg, NOW) {
            let _ = validated.authorize(&reg, &tool, "https://tool.example/");
        }
    }
});
