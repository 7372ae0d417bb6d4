//! Configuration backup and restore ("last good configuration", upgrade guide step 1): every
//! registration and the deployment settings as one JSON snapshot, with the tool keys only in
//! their encrypted form (they decrypt only under the same `LTI_ENCRYPTION_KEY`).
//!
//! Registration ids are kept on restore: course categories derive from them, so a restored
//! registration keeps every course's content where it was.

use lti_policy::ErrorCode;
use lti_policy::{Registration, RegistrationInput};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use worker::{Env, Request, Response};

use crate::clock::iso_now;
use crate::config::Config;
use crate::error::{ApiError, ApiResult};
use crate::http::body::{read_json, JSON_BACKUP};
use crate::http::response::ok_json;
use crate::log;
use crate::routes::launch::public::VERSION;
use crate::routes::Ctx;
use crate::store::keyring::{self as keys, KeyRing};
use crate::store::registry::Registry;

/// Snapshot format tag.
pub const FORMAT: &str = "lti-edge-backup/v1";

fn checksum(registrations: &Value, keys: &Value) -> String {
    let mut h = Sha256::new();
    h.update(registrations.to_string().as_bytes());
    h.update(b"\n");
    h.update(keys.to_string().as_bytes());
    lti_core::encoding::hex(&h.finalize())
}

/// `GET /lti/backup`: the snapshot.
pub async fn export(ctx: &Ctx<'_>, _req: &mut Request) -> ApiResult<Response> {
    let snap = snapshot(ctx.env, &ctx.cfg, VERSION, &iso_now()).await?;
    let count = snap.get("registrations").and_then(Value::as_array).map_or(0, Vec::len);
    log::info(&ctx.cid, "backup_exported", json!({"registrations": count}));
    ok_json(snap, 200)
}

/// `POST /lti/restore`.
pub async fn restore(ctx: &Ctx<'_>, req: &mut Request) -> ApiResult<Response> {
    let body = read_json(req, &JSON_BACKUP).await?;
    let result = apply(ctx.env, &ctx.cfg, &body).await?;
    log::info(&ctx.cid, "backup_restored", result.clone());
    ok_json(result, 200)
}

async fn snapshot(env: &Env, cfg: &Config, version: &str, now_iso: &str) -> ApiResult<Value> {
    let regs = Registry::new(env).list().await?;
    let registrations = serde_json::to_value(&regs).map_err(|e| ApiError::internal(e.to_string()))?;
    let ring = keys::ring(env).await?;
    // Operator-supplied keys (LTI_TOOL_PRIVATE_JWK) live in the secret store, not here.
    let tool_keys = if ring.keys.iter().all(|k| k.private_enc.is_empty()) {
        Value::Null
    } else {
        serde_json::to_value(&ring).map_err(|e| ApiError::internal(e.to_string()))?
    };
    Ok(json!({
        "format": FORMAT,
        "exportedAt": now_iso,
        "toolVersion": version,
        "settings": {
            "publicBaseUrl": cfg.base(),
            "nonceStore": cfg.store_name(),
            "sessionTtlSeconds": cfg.session_ttl,
            "jwksMaxAge": cfg.jwks_max_age,
        },
        "checksum": checksum(&registrations, &tool_keys),
        "registrations": registrations,
        "toolKeys": tool_keys,
    }))
}

fn invalid(fields: Vec<(String, String)>) -> ApiError {
    let mut e = ApiError::new(ErrorCode::RequestInvalid, "backup rejected");
    e.fields = Some(fields.into_iter().collect());
    e
}

/// Check a snapshot completely, then write it: registrations by id (replacing those ids), and
/// the key ring when `restoreKeys` is true. Nothing is written when anything is wrong.
async fn apply(env: &Env, cfg: &Config, body: &Value) -> ApiResult<Value> {
    let snap = body.get("data").filter(|d| d.get("format").is_some()).unwrap_or(body);
    if snap.get("format").and_then(Value::as_str) != Some(FORMAT) {
        let why = format!("must be \"{FORMAT}\" (a snapshot from GET /lti/backup)");
        return Err(invalid(vec![("format".into(), why)]));
    }
    let registrations = snap.get("registrations").cloned().unwrap_or(Value::Null);
    let tool_keys = snap.get("toolKeys").cloned().unwrap_or(Value::Null);
    let Some(list) = registrations.as_array() else {
        return Err(invalid(vec![("registrations".into(), "must be an array".into())]));
    };
    if snap.get("checksum").and_then(Value::as_str) != Some(checksum(&registrations, &tool_keys).as_str()) {
        let why = "does not match the content: the snapshot was changed or truncated";
        return Err(invalid(vec![("checksum".into(), why.into())]));
    }
    let mut errors = Vec::new();
    let regs = validate_all(list, cfg.allow_http_loopback, &mut errors);
    // The store must not hold the same issuer + client id under another id.
    let registry = Registry::new(env);
    for (i, reg) in regs.iter().enumerate() {
        for other in registry.by_issuer(reg.lti().issuer().as_str()).await? {
            if other.lti().client_id() == reg.lti().client_id() && other.id() != reg.id() {
                let why = format!("issuer + client id already registered as {}: delete it first", other.id());
                errors.push((format!("registrations[{i}]"), why));
            }
        }
    }
    let restore_keys = body.get("restoreKeys").and_then(Value::as_bool).unwrap_or(false);
    let ring = if restore_keys { key_ring(cfg, &tool_keys, &mut errors).await } else { None };
    if !errors.is_empty() {
        return Err(invalid(errors));
    }
    registry.save_all(&regs).await?;
    if let Some(r) = &ring {
        keys::replace_ring(env, r).await?;
    }
    Ok(json!({"registrations": regs.len(), "keysRestored": ring.is_some()}))
}

/// Every registration must pass today's validation; ids and timestamps are kept, and no two
/// share an id or an issuer + client id.
fn validate_all(list: &[Value], allow_http_loopback: bool, errors: &mut Vec<(String, String)>) -> Vec<Registration> {
    let mut regs: Vec<Registration> = Vec::with_capacity(list.len());
    for (i, v) in list.iter().enumerate() {
        let text = |k: &str| v.get(k).and_then(Value::as_str);
        let (Some(id), Some(created), Some(updated)) = (text("id"), text("createdAt"), text("updatedAt")) else {
            errors.push((format!("registrations[{i}]"), "is not a registration".to_string()));
            continue;
        };
        if id.is_empty() || id.len() > 64 || !id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
            errors.push((format!("registrations[{i}].id"), "must be 1-64 letters, digits or dashes".into()));
            continue;
        }
        match RegistrationInput::new(v).and_then(|input| input.validate(id, None, updated, allow_http_loopback)) {
            Ok(mut reg) => {
                reg.created_at = created.to_string();
                reg.updated_at = updated.to_string();
                let (iss, cid) = (reg.lti().issuer(), reg.lti().client_id());
                if regs.iter().any(|r| r.id() == reg.id() || (r.lti().issuer() == iss && r.lti().client_id() == cid)) {
                    let why = "duplicates another registration's id or issuer + client id";
                    errors.push((format!("registrations[{i}]"), why.into()));
                } else {
                    regs.push(reg);
                }
            }
            Err(e) => {
                for (f, why) in e.fields {
                    errors.push((format!("registrations[{i}].{f}"), why));
                }
            }
        }
    }
    regs
}

/// The snapshot's key ring, when it has exactly one current key and decrypts here.
async fn key_ring(cfg: &Config, tool_keys: &Value, errors: &mut Vec<(String, String)>) -> Option<KeyRing> {
    match serde_json::from_value::<KeyRing>(tool_keys.clone()) {
        Ok(r) if r.keys.iter().filter(|k| k.status == "current").count() == 1 => {
            if keys::decrypts(cfg, &r).await {
                return Some(r);
            }
            errors.push(("toolKeys".into(), "do not decrypt under this deployment's LTI_ENCRYPTION_KEY".into()));
        }
        _ => errors.push(("toolKeys".into(), "must be a key ring with exactly one current key".into())),
    }
    None
}
