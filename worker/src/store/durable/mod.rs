//! The Durable Object: a small strongly consistent store with SQL inside, and the client the
//! worker calls it with. It holds data and runs single-statement SQL; every decision about
//! that data (key rotation, registration validation) is made above it, in [`crate::store`].
//!
//! Objects by name: one per launch state or LTI 1.1 nonce (single-use marks, [`marks`]), the
//! `registry` (registrations, [`registry_sql`]), `invitations` (Dynamic Registration
//! invitations, [`invitations_sql`]), `inspector` (recent launch attempts, [`inspector_sql`]), and documents replaced by compare-and-swap (the tool's key
//! ring, object `tool-key-ring`).

pub mod inspector_sql;
pub mod invitations_sql;
pub mod marks;
pub mod registry_sql;

use serde::{Deserialize, Serialize};
use worker::{durable_object, DurableObject, Env, Method, Request, RequestInit, Response, Result, State};

use crate::config::DO_BINDING;
use crate::error::{ApiError, ApiResult};

/// `/state/put` and `/state/claim`.
#[derive(Serialize, Deserialize)]
pub struct PutBody {
    /// Mark or record key.
    pub key: String,
    /// Value kept.
    pub value: String,
    /// Expiry (Unix seconds).
    pub exp: i64,
}

/// `/state/take`.
#[derive(Serialize, Deserialize)]
pub struct TakeBody {
    /// Record key.
    pub key: String,
}

/// Answer of `/state/take`.
#[derive(Serialize, Deserialize)]
pub struct TakeReply {
    /// The record, if it was there and alive.
    pub value: Option<String>,
}

/// `/doc/get`, `/doc/cas`: a whole document under `key`, replaced only when it still equals
/// `expect` (`None`: absent).
#[derive(Serialize, Deserialize)]
pub struct DocBody {
    /// Document key.
    pub key: String,
    /// What the caller read (compare-and-swap).
    #[serde(default)]
    pub expect: Option<String>,
    /// The new document (`/doc/cas`, `/doc/put`).
    #[serde(default)]
    pub value: Option<String>,
}

/// Answer of the `/doc/*` operations.
#[derive(Serialize, Deserialize)]
pub struct DocReply {
    /// The write happened (`/doc/cas`, `/doc/put`).
    #[serde(default)]
    pub ok: bool,
    /// The document now stored.
    pub value: Option<String>,
}

/// Call operation `path` of the object named `object`.
pub async fn call(env: &Env, object: &str, path: &str, body: &impl Serialize) -> ApiResult<Response> {
    let ns = env.durable_object(DO_BINDING)?;
    let stub = ns.id_from_name(object)?.get_stub()?;
    let mut init = RequestInit::new();
    init.with_method(Method::Post)
        .with_body(Some(serde_json::to_string(body).map_err(|e| ApiError::internal(e.to_string()))?.into()));
    let req = Request::new_with_init(&format!("https://do.internal{path}"), &init)?;
    let resp = stub.fetch_with_request(req).await?;
    if resp.status_code() != 200 {
        return Err(ApiError::internal(format!("durable object {path} answered {}", resp.status_code())));
    }
    Ok(resp)
}

/// A document operation (`/doc/get`, `/doc/cas`, `/doc/put`) on object `object`.
pub async fn doc(env: &Env, object: &str, op: &str, body: &DocBody) -> ApiResult<DocReply> {
    let mut resp = call(env, object, op, body).await?;
    resp.json().await.map_err(|e| ApiError::internal(format!("durable object {op} reply: {e}")))
}

/// Strongly consistent storage: per-state objects, the registry, documents.
#[durable_object]
pub struct LtiEdgeObject {
    state: State,
    env: Env,
}

impl DurableObject for LtiEdgeObject {
    fn new(state: State, env: Env) -> Self {
        marks::init(&state.storage().sql());
        Self { state, env }
    }

    async fn fetch(&self, mut req: Request) -> Result<Response> {
        let storage = self.state.storage();
        let sql = storage.sql();
        let path = req.path();
        if path.starts_with("/reg/") {
            registry_sql::init(&sql)?;
            registry_sql::import_from_kv(&sql, &self.env).await?;
            let b: serde_json::Value = req.json().await?;
            return Response::from_json(&registry_sql::handle(&sql, &path, &b)?);
        }
        if path.starts_with("/inv/") {
            invitations_sql::init(&sql)?;
            let b: serde_json::Value = req.json().await?;
            return Response::from_json(&invitations_sql::handle(&sql, &path, &b)?);
        }
        if path.starts_with("/ins/") {
            inspector_sql::init(&sql)?;
            let b: serde_json::Value = req.json().await?;
            return Response::from_json(&inspector_sql::handle(&sql, &path, &b)?);
        }
        if let Some(op) = path.strip_prefix("/state/") {
            return match op {
                "put" => {
                    let exp = marks::put(&sql, req.json().await?)?;
                    storage.set_alarm(marks::alarm_delay_ms(exp)).await?;
                    Response::from_json(&serde_json::json!({"ok": true}))
                }
                "claim" => {
                    let b: PutBody = req.json().await?;
                    let exp = b.exp;
                    let first = marks::claim(&sql, b)?;
                    storage.set_alarm(marks::alarm_delay_ms(exp)).await?;
                    Response::from_json(&serde_json::json!({"first": first}))
                }
                "take" => Response::from_json(&TakeReply { value: marks::take(&sql, req.json().await?)? }),
                _ => Response::error("not found", 404),
            };
        }
        // Documents. The object runs one request's storage operations at a time (its input
        // gate), so read-compare-write here is atomic.
        let b: DocBody = match path.as_str() {
            "/doc/get" | "/doc/cas" | "/doc/put" => req.json().await?,
            _ => return Response::error("not found", 404),
        };
        let current = storage.get::<String>(&b.key).await?;
        let write = match path.as_str() {
            "/doc/cas" => current == b.expect,
            "/doc/put" => true,
            _ => false,
        };
        match (write, b.value) {
            (true, Some(value)) => {
                storage.put(&b.key, value.clone()).await?;
                Response::from_json(&DocReply { ok: true, value: Some(value) })
            }
            _ => Response::from_json(&DocReply { ok: false, value: current }),
        }
    }

    async fn alarm(&self) -> Result<Response> {
        marks::sweep(&self.state.storage().sql())?;
        Response::ok("ok")
    }
}
