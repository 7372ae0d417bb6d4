//! The launch inspector's table, inside the Durable Object (`inspector`): per registration the
//! newest attempts, stored as the batches the worker writes them in (one sealed text per
//! batch: this file never sees what they say), trimmed on every write to the count and age the
//! deployment keeps, so the table stays bounded however many launches come (the
//! unknown-platform failures are the registration `""`). The worker side is
//! [`crate::store::inspector`].

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use worker::{SqlStorage, SqlStorageValue};

/// One stored batch of attempts, as read back.
#[derive(Serialize, Deserialize)]
pub struct Row {
    /// The sealed attempts (a JSON array, oldest first).
    pub body: String,
}

/// A batch as the worker adds it.
#[derive(Serialize, Deserialize)]
pub struct NewRow {
    /// Its newest attempt (Unix seconds).
    pub at: i64,
    /// Attempts in it.
    pub n: usize,
    /// The sealed attempts (a JSON array, oldest first).
    pub body: String,
}

/// A batch's place in the count trim.
#[derive(Deserialize)]
struct Count {
    seq: f64,
    n: f64,
}

/// Create the table (once per object; cheap when it exists). The table of the first format (one
/// row per attempt) is dropped: what it held is a few hours of diagnostics.
pub fn init(sql: &SqlStorage) -> worker::Result<()> {
    sql.exec(
        "CREATE TABLE IF NOT EXISTS attempt_batches (seq INTEGER PRIMARY KEY AUTOINCREMENT, \
         registration TEXT NOT NULL, at INTEGER NOT NULL, n INTEGER NOT NULL, body TEXT NOT NULL)",
        None,
    )?;
    sql.exec("DROP TABLE IF EXISTS attempts", None)?;
    Ok(())
}

/// The oldest batch to keep so that the newest `max` attempts stay: batches newest first with
/// their attempt counts (`None`: keep them all).
fn count_cutoff(batches: &[Count], max: i64) -> Option<f64> {
    let mut kept = 0.0;
    for b in batches {
        kept += b.n.max(1.0);
        if kept >= max as f64 {
            return Some(b.seq);
        }
    }
    None
}

/// One inspector operation, synchronous SQL inside the object.
pub fn handle(sql: &SqlStorage, path: &str, body: &Value) -> worker::Result<Value> {
    let s = |k: &str| body.get(k).and_then(Value::as_str).unwrap_or_default().to_string();
    let n = |k: &str| body.get(k).and_then(Value::as_i64).unwrap_or_default();
    let reg = SqlStorageValue::from(s("registration"));
    Ok(match path {
        "/ins/add" => {
            let rows: Vec<NewRow> = serde_json::from_value(body.get("rows").cloned().unwrap_or(Value::Null))
                .map_err(|e| worker::Error::RustError(format!("inspector rows: {e}")))?;
            for r in rows {
                sql.exec(
                    "INSERT INTO attempt_batches (registration, at, n, body) VALUES (?, ?, ?, ?)",
                    vec![
                        reg.clone(),
                        SqlStorageValue::from(r.at),
                        SqlStorageValue::from(i64::try_from(r.n.max(1)).unwrap_or(i64::MAX)),
                        SqlStorageValue::from(r.body),
                    ],
                )?;
            }
            // Keep the newest `max` attempts, none older than `keepAfter` (a batch goes when its
            // newest attempt does; the reader drops its older ones).
            sql.exec("DELETE FROM attempt_batches WHERE at < ?", vec![SqlStorageValue::from(n("keepAfter"))])?;
            let batches: Vec<Count> = sql
                .exec("SELECT seq, n FROM attempt_batches WHERE registration = ? ORDER BY seq DESC", vec![reg.clone()])?
                .to_array()?;
            if let Some(cutoff) = count_cutoff(&batches, n("max").max(1)) {
                sql.exec(
                    "DELETE FROM attempt_batches WHERE registration = ? AND seq < ?",
                    vec![reg, SqlStorageValue::from(cutoff)],
                )?;
            }
            json!({"ok": true})
        }
        "/ins/list" => {
            let rows: Vec<Row> = sql
                .exec(
                    "SELECT body FROM attempt_batches WHERE registration = ? AND at >= ? ORDER BY seq DESC",
                    vec![reg, SqlStorageValue::from(n("keepAfter"))],
                )?
                .to_array()?;
            json!({"rows": rows})
        }
        "/ins/forget" => {
            sql.exec("DELETE FROM attempt_batches WHERE registration = ?", vec![reg])?;
            json!({"ok": true})
        }
        _ => json!({"error": "not_found"}),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batches(ns: &[f64]) -> Vec<Count> {
        // Newest first: seq 10, 9, 8, …
        ns.iter().enumerate().map(|(i, n)| Count { seq: 10.0 - i as f64, n: *n }).collect()
    }

    #[test]
    fn the_count_trim_keeps_the_batches_that_hold_the_newest_max_attempts() {
        assert_eq!(count_cutoff(&batches(&[3.0, 4.0, 5.0]), 5), Some(9.0), "3 + 4 reach 5: seq 8 goes");
        assert_eq!(count_cutoff(&batches(&[3.0, 2.0, 5.0]), 5), Some(9.0), "exactly 5");
        assert_eq!(count_cutoff(&batches(&[60.0, 1.0]), 50), Some(10.0), "one batch holds them all");
        assert_eq!(count_cutoff(&batches(&[1.0, 1.0]), 50), None, "fewer than max: all kept");
        assert_eq!(count_cutoff(&batches(&[0.0, 0.0]), 2), Some(9.0), "a batch counts at least one");
        assert_eq!(count_cutoff(&[], 50), None);
    }
}
