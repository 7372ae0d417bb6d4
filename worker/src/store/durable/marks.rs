//! Single-use marks and short-lived records inside the Durable Object: one SQL table,
//! `kv (k, v, exp)`, with atomic insert-if-absent (claim) and delete-returning (take).

use serde::Deserialize;
use worker::{SqlStorage, SqlStorageValue};

use super::PutBody;
use crate::clock::now;

/// Create the table (once per object; cheap when it exists).
pub fn init(sql: &SqlStorage) {
    let _ = sql.exec("CREATE TABLE IF NOT EXISTS kv (k TEXT PRIMARY KEY, v TEXT NOT NULL, exp INTEGER NOT NULL)", None);
}

/// How long until the alarm that deletes whatever is left at `exp`.
pub fn alarm_delay_ms(exp: i64) -> i64 {
    (exp - now()).max(1).saturating_mul(1000)
}

/// Store a record (kept if one is already there). Returns its expiry.
pub fn put(sql: &SqlStorage, b: PutBody) -> worker::Result<i64> {
    let exp = b.exp;
    sql.exec(
        "INSERT INTO kv (k, v, exp) VALUES (?, ?, ?) ON CONFLICT(k) DO NOTHING",
        vec![SqlStorageValue::from(b.key), SqlStorageValue::from(b.value), SqlStorageValue::from(b.exp)],
    )?;
    Ok(exp)
}

/// Mark `b.key` used: `true` the first time. Expired marks do not count: they are dropped
/// first, then one atomic insert decides.
pub fn claim(sql: &SqlStorage, b: PutBody) -> worker::Result<bool> {
    sql.exec(
        "DELETE FROM kv WHERE k = ? AND exp < ?",
        vec![SqlStorageValue::from(b.key.clone()), SqlStorageValue::from(now())],
    )?;
    #[derive(Deserialize)]
    struct K {
        #[allow(dead_code)]
        k: String,
    }
    let rows: Vec<K> = sql
        .exec(
            "INSERT INTO kv (k, v, exp) VALUES (?, ?, ?) ON CONFLICT(k) DO NOTHING RETURNING k",
            vec![SqlStorageValue::from(b.key), SqlStorageValue::from(b.value), SqlStorageValue::from(b.exp)],
        )?
        .to_array()?;
    Ok(!rows.is_empty())
}

#[derive(Deserialize)]
struct Row {
    v: String,
    exp: f64,
}

/// Read and delete a record in one statement: exactly one concurrent caller gets it.
pub fn take(sql: &SqlStorage, b: super::TakeBody) -> worker::Result<Option<String>> {
    let rows: Vec<Row> =
        sql.exec("DELETE FROM kv WHERE k = ? RETURNING v, exp", vec![SqlStorageValue::from(b.key)])?.to_array()?;
    Ok(rows.into_iter().find(|r| r.exp as i64 >= now()).map(|r| r.v))
}

/// Delete everything expired (the alarm).
pub fn sweep(sql: &SqlStorage) -> worker::Result<()> {
    sql.exec("DELETE FROM kv WHERE exp <= ?", vec![SqlStorageValue::from(now())])?;
    Ok(())
}
