//! Dynamic Registration invitations (the worker side): kept in one strongly consistent Durable
//! Object (`invitations`, the table is [`super::durable::invitations_sql`]) under the SHA-256 of
//! their secret, so starting a registration is one atomic check-and-lease. The rules (lifetime,
//! lease, which state refuses what) are [`lti_policy::invitations`].

use lti_policy::invitations::{secret_digest, Invitation};
use lti_policy::ErrorCode;
use serde::Deserialize;
use serde_json::{json, Value};
use worker::Env;

use super::durable;
use crate::error::{ApiError, ApiResult};

/// The Durable Object that holds invitations.
const OBJECT: &str = "invitations";

#[derive(Deserialize)]
struct Reply {
    #[serde(default)]
    error: Option<String>,
    #[serde(default)]
    invitation: Option<Invitation>,
    #[serde(default)]
    invitations: Vec<Value>,
    #[serde(default)]
    revoked: bool,
}

/// Invitation store.
pub struct Invitations<'a> {
    env: &'a Env,
}

fn refused(code: &str) -> ApiError {
    let code = match code {
        "invitation_expired" => ErrorCode::InvitationExpired,
        "invitation_used" => ErrorCode::InvitationUsed,
        _ => ErrorCode::InvitationInvalid,
    };
    ApiError::new(code, code.as_str())
}

impl<'a> Invitations<'a> {
    /// Over the Durable Object binding.
    pub fn new(env: &'a Env) -> Self {
        Self { env }
    }

    async fn ask(&self, path: &str, body: &Value) -> ApiResult<Reply> {
        let mut resp = durable::call(self.env, OBJECT, path, body).await?;
        resp.json().await.map_err(|e| ApiError::internal(format!("invitations reply: {e}")))
    }

    /// Store a new invitation under its secret's digest.
    pub async fn create(&self, secret: &str, inv: &Invitation, now: i64) -> ApiResult<()> {
        self.ask("/inv/create", &json!({"digest": secret_digest(secret), "invitation": inv, "now": now})).await?;
        Ok(())
    }

    /// Whether the invitation could start a registration now (nothing changes).
    pub async fn check(&self, secret: &str, now: i64) -> ApiResult<()> {
        let reply = self.ask("/inv/peek", &json!({"digest": secret_digest(secret), "now": now})).await?;
        reply.error.as_deref().map_or(Ok(()), |c| Err(refused(c)))
    }

    /// Start a registration: the invitation is leased to this request (atomic), or refused.
    pub async fn start(&self, secret: &str, now: i64) -> ApiResult<Invitation> {
        let reply = self.ask("/inv/start", &json!({"digest": secret_digest(secret), "now": now})).await?;
        if let Some(c) = reply.error.as_deref() {
            return Err(refused(c));
        }
        reply.invitation.ok_or_else(|| ApiError::internal("invitation start without invitation"))
    }

    /// The registration failed before anything was saved: the invitation is usable again.
    pub async fn release(&self, secret: &str) -> ApiResult<()> {
        self.ask("/inv/release", &json!({"digest": secret_digest(secret)})).await?;
        Ok(())
    }

    /// A registration was saved: the invitation is used.
    pub async fn finish(&self, secret: &str, registration_id: &str) -> ApiResult<()> {
        self.ask("/inv/finish", &json!({"digest": secret_digest(secret), "registration": registration_id})).await?;
        Ok(())
    }

    /// Every invitation still kept, newest expiry first, as the admin list shows them.
    pub async fn list(&self, now: i64) -> ApiResult<Vec<Value>> {
        Ok(self.ask("/inv/list", &json!({"now": now})).await?.invitations)
    }

    /// Revoke by public id; whether it existed.
    pub async fn revoke(&self, id: &str) -> ApiResult<bool> {
        if id.is_empty() || id.len() > 64 {
            return Ok(false);
        }
        Ok(self.ask("/inv/revoke", &json!({"id": id})).await?.revoked)
    }
}
