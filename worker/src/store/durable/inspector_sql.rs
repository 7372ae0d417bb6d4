//! The launch inspector's table, inside the Durable Object (`inspector`): per registration the
//! newest attempts (sealed text; this file never sees what they say), trimmed on every write to
//! the count and age the deployment keeps, so the table stays bounded however many launches
//! come (the unknown-platform failures are the registration `""`). The worker side is
//! [`crate::store::inspector`].

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use worker::{SqlStorage, SqlStorageValue};

/// One stored attempt.
#[derive(Serialize, Deserialize)]
pub struct Row {
    /// Attempt id.
    pub id: String,
    /// Unix seconds.
    pub at: f64,
    /// Sealed attempt.
    pub body: String,
}

/// Create the table (once per object; cheap when it exists).
pub fn init(sql: &SqlStorage) -> worker::Result<()> {
    sql.exec(
        "CREATE TABLE IF NOT EXISTS attempts (seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL, \
         registration TEXT NOT NULL, at INTEGER NOT NULL, body TEXT NOT NULL)",
        None,
    )?;
    sql.exec("CREATE INDEX IF NOT EXISTS attempts_by_registration ON attempts (registration, seq)", None)?;
    Ok(())
}

/// One inspector operation, synchronous SQL inside the object.
pub fn handle(sql: &SqlStorage, path: &str, body: &Value) -> worker::Result<Value> {
    let s = |k: &str| body.get(k).and_then(Value::as_str).unwrap_or_default().to_string();
    let n = |k: &str| body.get(k).and_then(Value::as_i64).unwrap_or_default();
    let reg = SqlStorageValue::from(s("registration"));
    Ok(match path {
        "/ins/add" => {
            let rows: Vec<Row> = serde_json::from_value(body.get("rows").cloned().unwrap_or(Value::Null))
                .map_err(|e| worker::Error::RustError(format!("inspector rows: {e}")))?;
            for r in rows {
                sql.exec(
                    "INSERT INTO attempts (id, registration, at, body) VALUES (?, ?, ?, ?)",
                    vec![
                        SqlStorageValue::from(r.id),
                        reg.clone(),
                        SqlStorageValue::from(r.at),
                        SqlStorageValue::from(r.body),
                    ],
                )?;
            }
            // Keep the newest `max`, none older than `keepAfter`.
            sql.exec("DELETE FROM attempts WHERE at < ?", vec![SqlStorageValue::from(n("keepAfter"))])?;
            sql.exec(
                "DELETE FROM attempts WHERE registration = ? AND seq NOT IN \
                 (SELECT seq FROM attempts WHERE registration = ? ORDER BY seq DESC LIMIT ?)",
                vec![reg.clone(), reg, SqlStorageValue::from(n("max").max(1))],
            )?;
            json!({"ok": true})
        }
        "/ins/list" => {
            let rows: Vec<Row> = sql
                .exec(
                    "SELECT id, at, body FROM attempts WHERE registration = ? AND at >= ? ORDER BY seq DESC LIMIT ?",
                    vec![reg, SqlStorageValue::from(n("keepAfter")), SqlStorageValue::from(n("max").max(1))],
                )?
                .to_array()?;
            json!({"rows": rows})
        }
        "/ins/forget" => {
            sql.exec("DELETE FROM attempts WHERE registration = ?", vec![reg])?;
            json!({"ok": true})
        }
        _ => json!({"error": "not_found"}),
    })
}
