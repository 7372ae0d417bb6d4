//! The registrations table, inside the Durable Object (`registry`): one synchronous SQL
//! sequence per operation, so concurrent admin calls and launches cannot lose each other's
//! writes. The worker side is [`crate::store::registry`].

use lti_core::error::RegistrationError;
use lti_policy::{Registration, RegistrationInput};
use serde::Deserialize;
use serde_json::{json, Value};
use worker::{Env, SqlStorage, SqlStorageValue};

use crate::config::KV_BINDING;

#[derive(Deserialize)]
struct Row {
    body: String,
}

fn rows(sql: &SqlStorage, query: &str, args: Vec<SqlStorageValue>) -> worker::Result<Vec<Registration>> {
    let rows: Vec<Row> = sql.exec(query, args)?.to_array()?;
    Ok(rows.into_iter().filter_map(|r| serde_json::from_str(&r.body).ok()).collect())
}

fn put(sql: &SqlStorage, reg: &Registration) -> worker::Result<()> {
    let body = serde_json::to_string(reg).map_err(|e| worker::Error::RustError(e.to_string()))?;
    let key = if reg.lti11_consumer_key.is_empty() {
        SqlStorageValue::Null
    } else {
        SqlStorageValue::from(reg.lti11_consumer_key.clone())
    };
    sql.exec(
        "INSERT INTO registrations (id, issuer, client_id, consumer_key, created, body) VALUES (?, ?, ?, ?, ?, ?) \
         ON CONFLICT(id) DO UPDATE SET issuer = excluded.issuer, client_id = excluded.client_id, consumer_key = excluded.consumer_key, body = excluded.body",
        vec![
            SqlStorageValue::from(reg.id().to_string()),
            SqlStorageValue::from(reg.lti().issuer().to_string()),
            SqlStorageValue::from(reg.lti().client_id().to_string()),
            key,
            SqlStorageValue::from(reg.created_at.clone()),
            SqlStorageValue::from(body),
        ],
    )?;
    Ok(())
}

fn invalid(fields: std::collections::BTreeMap<String, String>) -> Value {
    json!({"error": "registration_invalid", "fields": fields})
}

/// Create the table (once per object; cheap when it exists).
pub fn init(sql: &SqlStorage) -> worker::Result<()> {
    sql.exec(
        "CREATE TABLE IF NOT EXISTS registrations (id TEXT PRIMARY KEY, issuer TEXT NOT NULL, client_id TEXT NOT NULL, \
         consumer_key TEXT, created TEXT NOT NULL, body TEXT NOT NULL, UNIQUE (issuer, client_id))",
        None,
    )?;
    sql.exec("CREATE UNIQUE INDEX IF NOT EXISTS registrations_consumer_key ON registrations (consumer_key) WHERE consumer_key IS NOT NULL", None)?;
    sql.exec("CREATE TABLE IF NOT EXISTS registry_meta (k TEXT PRIMARY KEY, v TEXT NOT NULL)", None)?;
    Ok(())
}

#[derive(Deserialize)]
struct MetaRow {
    #[allow(dead_code)]
    v: String,
}

/// Registrations written by earlier versions (KV `reg:<id>`) are copied in once, so an
/// upgrade loses none.
pub async fn import_from_kv(sql: &SqlStorage, env: &Env) -> worker::Result<()> {
    let done: Vec<MetaRow> = sql.exec("SELECT v FROM registry_meta WHERE k = 'kv_imported'", None)?.to_array()?;
    if !done.is_empty() {
        return Ok(());
    }
    let kv = env.kv(KV_BINDING)?;
    let mut cursor: Option<String> = None;
    let mut found = Vec::new();
    for _ in 0..50 {
        let mut q = kv.list().prefix("reg:".into()).limit(1000);
        if let Some(c) = cursor.take() {
            q = q.cursor(c);
        }
        let page = q.execute().await?;
        for k in &page.keys {
            if let Some(text) = kv.get(&k.name).text().await? {
                if let Ok(r) = serde_json::from_str::<Registration>(&text) {
                    found.push(r);
                }
            }
        }
        if page.list_complete {
            break;
        }
        cursor = page.cursor;
    }
    for r in &found {
        // Never overwrite what the object already holds; skip conflicting old entries.
        let exists: Vec<Row> = sql
            .exec(
                "SELECT body FROM registrations WHERE id = ? OR (issuer = ? AND client_id = ?)",
                vec![
                    SqlStorageValue::from(r.id().to_string()),
                    SqlStorageValue::from(r.lti().issuer().to_string()),
                    SqlStorageValue::from(r.lti().client_id().to_string()),
                ],
            )?
            .to_array()?;
        if exists.is_empty() {
            let _ = put(sql, r);
        }
    }
    sql.exec(
        "INSERT OR REPLACE INTO registry_meta (k, v) VALUES ('kv_imported', ?)",
        vec![SqlStorageValue::from(found.len().to_string())],
    )?;
    Ok(())
}

/// One registry operation, inside the object. Everything after parsing `body` is synchronous
/// SQL, so each operation is atomic with respect to every other.
pub fn handle(sql: &SqlStorage, path: &str, body: &Value) -> worker::Result<Value> {
    let s = |k: &str| SqlStorageValue::from(body.get(k).and_then(Value::as_str).unwrap_or_default().to_string());
    let one = |query: &str, arg: SqlStorageValue| rows(sql, query, vec![arg]).map(|r| r.into_iter().next());
    Ok(match path {
        "/reg/get" => json!({"registration": one("SELECT body FROM registrations WHERE id = ?", s("id"))?}),
        "/reg/by-issuer" => {
            let q = "SELECT body FROM registrations WHERE issuer = ? ORDER BY created, id";
            json!({"registrations": rows(sql, q, vec![s("issuer")])?})
        }
        "/reg/by-consumer-key" => {
            json!({"registration": one("SELECT body FROM registrations WHERE consumer_key = ?", s("key"))?})
        }
        "/reg/list" => {
            json!({"registrations": rows(sql, "SELECT body FROM registrations ORDER BY created, id", Vec::new())?})
        }
        "/reg/upsert" => upsert(sql, body, false)?,
        "/reg/create" => upsert(sql, body, true)?,
        "/reg/update" => update(sql, body)?,
        "/reg/record-deployment" => {
            let Some(mut reg) = one("SELECT body FROM registrations WHERE id = ?", s("id"))? else {
                return Ok(json!({"changed": false}));
            };
            let text = |k: &str| body.get(k).and_then(Value::as_str).unwrap_or_default().to_string();
            let changed = reg.record_deployment(&text("deployment"));
            if changed {
                reg.updated_at = text("now");
                put(sql, &reg)?;
            }
            json!({"changed": changed})
        }
        "/reg/user-id-rule" => {
            let Some(reg) = one("SELECT body FROM registrations WHERE id = ?", s("id"))? else {
                return Ok(json!({"registration": null}));
            };
            let now = body.get("now").and_then(Value::as_str).unwrap_or_default();
            match reg.with_user_id_rule(body.get("rule").unwrap_or(&Value::Null), now) {
                Ok(updated) => {
                    put(sql, &updated)?;
                    json!({"registration": updated, "changed": true})
                }
                Err(RegistrationError { fields }) => invalid(fields),
            }
        }
        "/reg/save-all" => save_all(sql, body)?,
        "/reg/delete" => {
            json!({"registration": one("DELETE FROM registrations WHERE id = ? RETURNING body", s("id"))?})
        }
        _ => json!({"error": "not_found"}),
    })
}

/// Create or update (same issuer and client id) a registration from an admin API body.
/// `create_only` (Dynamic Registration): an existing issuer + client id is left alone and
/// answered `platform_already_registered`.
fn upsert(sql: &SqlStorage, body: &Value, create_only: bool) -> worker::Result<Value> {
    let input_body = body.get("input").cloned().unwrap_or(Value::Null);
    let input = match RegistrationInput::new(&input_body) {
        Ok(i) => i,
        Err(RegistrationError { fields }) => return Ok(invalid(fields)),
    };
    let existing = match input.key() {
        (Some(iss), Some(cid)) => rows(
            sql,
            "SELECT body FROM registrations WHERE issuer = ? AND client_id = ?",
            vec![SqlStorageValue::from(iss.trim().to_string()), SqlStorageValue::from(cid.trim().to_string())],
        )?
        .into_iter()
        .next(),
        _ => None,
    };
    if create_only && existing.is_some() {
        return Ok(json!({"error": "platform_already_registered"}));
    }
    save_validated(sql, body, &input, existing)
}

/// Update registration `id` from an admin API body: every field may change (issuer and client
/// id too, unless another registration has the new pair); id, creation time and the sealed 1.1
/// secret (unless a new one is given) stay.
fn update(sql: &SqlStorage, body: &Value) -> worker::Result<Value> {
    let id = body.get("id").and_then(Value::as_str).unwrap_or_default().to_string();
    let Some(existing) =
        rows(sql, "SELECT body FROM registrations WHERE id = ?", vec![SqlStorageValue::from(id)])?.into_iter().next()
    else {
        return Ok(json!({"registration": null}));
    };
    let input_body = body.get("input").cloned().unwrap_or(Value::Null);
    let input = match RegistrationInput::new(&input_body) {
        Ok(i) => i,
        Err(RegistrationError { fields }) => return Ok(invalid(fields)),
    };
    if let (Some(iss), Some(cid)) = input.key() {
        let clash = rows(
            sql,
            "SELECT body FROM registrations WHERE issuer = ? AND client_id = ? AND id != ?",
            vec![
                SqlStorageValue::from(iss.trim().to_string()),
                SqlStorageValue::from(cid.trim().to_string()),
                SqlStorageValue::from(existing.id().to_string()),
            ],
        )?;
        if let Some(o) = clash.first() {
            let why = format!("this issuer and client id are already registration {}: edit or delete that one", o.id());
            return Ok(invalid([("lti13ClientId".to_string(), why)].into()));
        }
    }
    save_validated(sql, body, &input, Some(existing))
}

/// Validate `input` over `existing` (if any), seal in a new 1.1 secret, check the consumer key
/// is not another registration's, store.
fn save_validated(
    sql: &SqlStorage,
    body: &Value,
    input: &RegistrationInput<'_>,
    existing: Option<Registration>,
) -> worker::Result<Value> {
    let s = |k: &str| body.get(k).and_then(Value::as_str).unwrap_or_default().to_string();
    let loopback = body.get("allowHttpLoopback").and_then(Value::as_bool).unwrap_or(false);
    let mut reg = match input.validate(&s("newId"), existing.as_ref(), &s("now"), loopback) {
        Ok(r) => r,
        Err(RegistrationError { fields }) => return Ok(invalid(fields)),
    };
    if reg.lti11_secret_new.take().is_some() {
        match body.get("secretEnc").and_then(Value::as_str) {
            Some(enc) => reg.lti11_secret_enc = enc.to_string(),
            None => return Err(worker::Error::RustError("new 1.1 secret without its sealed form".into())),
        }
    }
    if !reg.lti11_consumer_key.is_empty() {
        let other = rows(
            sql,
            "SELECT body FROM registrations WHERE consumer_key = ? AND id != ?",
            vec![SqlStorageValue::from(reg.lti11_consumer_key.clone()), SqlStorageValue::from(reg.id().to_string())],
        )?;
        if let Some(o) = other.first() {
            let why = format!("already used by registration {}", o.id());
            return Ok(invalid([("lti11ConsumerKey".to_string(), why)].into()));
        }
    }
    put(sql, &reg)?;
    Ok(json!({"registration": reg, "created": existing.is_none()}))
}

/// Restore: check every constraint first, then write every registration (all or nothing).
fn save_all(sql: &SqlStorage, body: &Value) -> worker::Result<Value> {
    let regs: Vec<Registration> = serde_json::from_value(body.get("registrations").cloned().unwrap_or(Value::Null))
        .map_err(|e| worker::Error::RustError(format!("registrations: {e}")))?;
    for (i, r) in regs.iter().enumerate() {
        let clash = rows(
            sql,
            "SELECT body FROM registrations WHERE id != ? AND ((issuer = ? AND client_id = ?) OR (consumer_key IS NOT NULL AND consumer_key = ?))",
            vec![
                SqlStorageValue::from(r.id().to_string()),
                SqlStorageValue::from(r.lti().issuer().to_string()),
                SqlStorageValue::from(r.lti().client_id().to_string()),
                SqlStorageValue::from(r.lti11_consumer_key.clone()),
            ],
        )?;
        if let Some(o) = clash.first() {
            let why = format!("issuer + client id or consumer key already registered as {}: delete it first", o.id());
            return Ok(invalid([(format!("registrations[{i}]"), why)].into()));
        }
    }
    for r in &regs {
        put(sql, r)?;
    }
    Ok(json!({"changed": true}))
}
