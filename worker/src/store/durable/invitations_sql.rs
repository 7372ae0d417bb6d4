//! The Dynamic Registration invitations table, inside the Durable Object (`invitations`): one
//! synchronous SQL sequence per operation, so two registrations racing for one invitation
//! cannot both start. The worker side and the rules are [`crate::store::invitations`] and
//! [`lti_policy::invitations`]; this file only reads and writes rows.

use lti_policy::invitations::{self, Invitation, Status, KEEP_SECS, LEASE_SECS};
use serde::Deserialize;
use serde_json::{json, Value};
use worker::{SqlStorage, SqlStorageValue};

#[derive(Deserialize)]
struct Row {
    body: String,
    status: String,
    lease: f64,
    #[serde(default)]
    registration: Option<String>,
}

impl Row {
    fn status(&self) -> Status {
        match self.status.as_str() {
            "used" => Status::Used,
            "busy" => Status::Busy { lease_until: self.lease as i64 },
            _ => Status::Open,
        }
    }

    fn invitation(&self) -> Option<Invitation> {
        serde_json::from_str(&self.body).ok()
    }
}

/// Create the table (once per object; cheap when it exists).
pub fn init(sql: &SqlStorage) -> worker::Result<()> {
    sql.exec(
        "CREATE TABLE IF NOT EXISTS invitations (digest TEXT PRIMARY KEY, id TEXT NOT NULL UNIQUE, body TEXT NOT NULL, \
         expires INTEGER NOT NULL, status TEXT NOT NULL, lease INTEGER NOT NULL DEFAULT 0, registration TEXT)",
        None,
    )?;
    Ok(())
}

fn row(sql: &SqlStorage, digest: &str) -> worker::Result<Option<Row>> {
    let rows: Vec<Row> = sql
        .exec(
            "SELECT body, status, lease, registration FROM invitations WHERE digest = ?",
            vec![SqlStorageValue::from(digest.to_string())],
        )?
        .to_array()?;
    Ok(rows.into_iter().next())
}

/// The decision for the invitation stored under `digest` at `now`: `None` when it may start.
fn refusal(found: Option<&Row>, now: i64) -> Option<&'static str> {
    let inv = found.and_then(|r| r.invitation().map(|i| (i, r.status())));
    invitations::may_start(inv.as_ref().map(|(i, s)| (i, *s)), now).err().map(|e| lti_policy::Coded::code(&e).as_str())
}

/// One invitations operation, inside the object. Everything after parsing `body` is synchronous
/// SQL, so each operation is atomic with respect to every other.
pub fn handle(sql: &SqlStorage, path: &str, body: &Value) -> worker::Result<Value> {
    let s = |k: &str| body.get(k).and_then(Value::as_str).unwrap_or_default().to_string();
    let now = body.get("now").and_then(Value::as_i64).unwrap_or_default();
    Ok(match path {
        "/inv/create" => {
            let inv: Invitation = serde_json::from_value(body.get("invitation").cloned().unwrap_or(Value::Null))
                .map_err(|e| worker::Error::RustError(format!("invitation: {e}")))?;
            // Rows past their keeping time go when a new one comes (the table stays small).
            sql.exec("DELETE FROM invitations WHERE expires < ?", vec![SqlStorageValue::from(now - KEEP_SECS)])?;
            let text = serde_json::to_string(&inv).map_err(|e| worker::Error::RustError(e.to_string()))?;
            sql.exec(
                "INSERT INTO invitations (digest, id, body, expires, status) VALUES (?, ?, ?, ?, 'open')",
                vec![
                    SqlStorageValue::from(s("digest")),
                    SqlStorageValue::from(inv.id.clone()),
                    SqlStorageValue::from(text),
                    SqlStorageValue::from(inv.expires_at),
                ],
            )?;
            json!({"ok": true})
        }
        "/inv/peek" => {
            let found = row(sql, &s("digest"))?;
            match refusal(found.as_ref(), now) {
                Some(code) => json!({"error": code}),
                None => json!({"ok": true}),
            }
        }
        "/inv/start" => {
            let found = row(sql, &s("digest"))?;
            if let Some(code) = refusal(found.as_ref(), now) {
                return Ok(json!({"error": code}));
            }
            sql.exec(
                "UPDATE invitations SET status = 'busy', lease = ? WHERE digest = ?",
                vec![SqlStorageValue::from(now + LEASE_SECS), SqlStorageValue::from(s("digest"))],
            )?;
            json!({"ok": true, "invitation": found.and_then(|r| r.invitation())})
        }
        "/inv/release" => {
            sql.exec(
                "UPDATE invitations SET status = 'open', lease = 0 WHERE digest = ? AND status = 'busy'",
                vec![SqlStorageValue::from(s("digest"))],
            )?;
            json!({"ok": true})
        }
        "/inv/finish" => {
            sql.exec(
                "UPDATE invitations SET status = 'used', lease = 0, registration = ? WHERE digest = ?",
                vec![SqlStorageValue::from(s("registration")), SqlStorageValue::from(s("digest"))],
            )?;
            json!({"ok": true})
        }
        "/inv/list" => {
            let rows: Vec<Row> = sql
                .exec("SELECT body, status, lease, registration FROM invitations ORDER BY expires DESC", None)?
                .to_array()?;
            let list: Vec<Value> = rows
                .iter()
                .filter_map(|r| {
                    r.invitation().map(|i| invitations::listed(&i, r.status(), r.registration.as_deref(), now))
                })
                .collect();
            json!({"invitations": list})
        }
        "/inv/revoke" => {
            #[derive(Deserialize)]
            struct Id {
                #[allow(dead_code)]
                id: String,
            }
            let gone: Vec<Id> = sql
                .exec("DELETE FROM invitations WHERE id = ? RETURNING id", vec![SqlStorageValue::from(s("id"))])?
                .to_array()?;
            json!({"revoked": !gone.is_empty()})
        }
        _ => json!({"error": "not_found"}),
    })
}
