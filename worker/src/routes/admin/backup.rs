//! Configuration backup and restore ("last good configuration", upgrade guide step 1): every
//! registration and the deployment settings as one JSON snapshot, with the tool keys only in
//! their encrypted form (they decrypt only under the same `LTI_ENCRYPTION_KEY`).
//!
//! Registration ids are kept on restore: course categories derive from them, so a restored
//! registration keeps every course's content where it was.

use lti_core::error::ErrorCode;
use lti_core::registration::{Registration, RegistrationInput};
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
        return Err(invalid(vec![(
            "format".into(),
            format!("must be \"{FORMAT}\" (a snapshot from GET /lti/backup)"),
        )]));
    }
    let registrations = snap.get("registrations").cloned().unwrap_or(Value::Null);
    let tool_keys = snap.get("toolKeys").cloned().unwrap_or(Value::Null);
    let Some(list) = registrations.as_array() else {
        return Err(invalid(vec![("registrations".into(), "must be an array".into())]));
    };
    if snap.get("checksum").and_then(Value::as_str) != Some(checksum(&registrations, &tool_keys).as_str()) {
        return Err(invalid(vec![(
            "checksum".into(),
            "does not match the content: the snapshot was changed or truncated".into(),
        )]));
    }
    // Every registration must pass today's validation; ids and timestamps are kept.
    let mut regs: Vec<Registration> = Vec::with_capacity(list.len());
    let mut errors = Vec::new();
    for (i, v) in list.iter().enumerate() {
        let stored: Result<Registration, _> = serde_json::from_value(v.clone());
        let Ok(stored) = stored else {
            errors.push((format!("registrations[{i}]"), "is not a registration".to_string()));
            continue;
        };
        let id_ok = !stored.id.is_empty()
            && stored.id.len() <= 64
            && stored.id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
        if !id_ok {
            errors.push((format!("registrations[{i}].id"), "must be 1-64 letters, digits or dashes".into()));
            continue;
        }
        match RegistrationInput::new(v)
            .and_then(|input| input.validate(&stored.id, None, &stored.updated_at, cfg.allow_http_loopback))
        {
            Ok(mut reg) => {
                reg.created_at = stored.created_at.clone();
                reg.updated_at = stored.updated_at.clone();
                if regs
                    .iter()
                    .any(|r: &Registration| r.id == reg.id || (r.issuer == reg.issuer && r.client_id == reg.client_id))
                {
                    errors.push((
                        format!("registrations[{i}]"),
                        "duplicates another registration's id or issuer + client id".into(),
                    ));
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
    // The store must not hold the same issuer + client id under another id.
    let registry = Registry::new(env);
    for (i, reg) in regs.iter().enumerate() {
        for other in registry.by_issuer(&reg.issuer).await? {
            if other.client_id == reg.client_id && other.id != reg.id {
                errors.push((
                    format!("registrations[{i}]"),
                    format!("issuer + client id already registered as {}: delete it first", other.id),
                ));
            }
        }
    }
    let restore_keys = body.get("restoreKeys").and_then(Value::as_bool).unwrap_or(false);
    let ring: Option<KeyRing> = if restore_keys {
        match serde_json::from_value::<KeyRing>(tool_keys.clone()) {
            Ok(r) if r.keys.iter().filter(|k| k.status == "current").count() == 1 => {
                if keys::decrypts(cfg, &r).await {
                    Some(r)
                } else {
                    errors
                        .push(("toolKeys".into(), "do not decrypt under this deployment's LTI_ENCRYPTION_KEY".into()));
                    None
                }
            }
            _ => {
                errors.push(("toolKeys".into(), "must be a key ring with exactly one current key".into()));
                None
            }
        }
    } else {
        None
    };
    if !errors.is_empty() {
        return Err(invalid(errors));
    }
    registry.save_all(&regs).await?;
    if let Some(r) = &ring {
        keys::replace_ring(env, r).await?;
    }
    Ok(json!({"registrations": regs.len(), "keysRestored": ring.is_some()}))
}
