//! The last LTI 1.3 launch of each registration whose token and claims checked out (admitted or
//! not: a launch refused for its user id is exactly the one an admin needs), kept 24 h in KV,
//! sealed (AES-256-GCM under `LTI_ENCRYPTION_KEY`: the claims name people), never the id_token or
//! its signature. The user-id suggestions read it ([`lti_policy::user_id::suggestions`]).

use lti_policy::LegacyIdentity;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use worker::Env;

use crate::config::{Config, KV_BINDING};
use crate::error::{ApiError, ApiResult};
use crate::sealed;

/// How long a last launch is kept.
pub const KEEP_SECS: u64 = 24 * 3600;

/// A launch as kept.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LastLaunch {
    /// Unix seconds.
    pub at: i64,
    /// The launch's deployment.
    pub deployment_id: String,
    /// Its message type.
    pub message_type: String,
    /// Its claims (the id_token's payload; not the token).
    pub claims: Map<String, Value>,
    /// The LTI 1.1 `user_id` of an upgraded link whose `lti1p1` claim was accepted.
    #[serde(default)]
    pub lti11_user_id: Option<String>,
}

fn kv_key(registration_id: &str) -> String {
    format!("lastlaunch:{registration_id}")
}

/// Keep `launch` as the registration's last (sealed, in the background of the request).
pub fn remember(env: &Env, wctx: &worker::Context, cfg: &Config, registration_id: &str, launch: &LastLaunch) {
    let (Ok(kv), Ok(key), Ok(plain)) =
        (env.kv(KV_BINDING), sealed::key(cfg, sealed::LAST_LAUNCH), serde_json::to_vec(launch))
    else {
        return;
    };
    let name = kv_key(registration_id);
    wctx.wait_until(async move {
        if let Ok(text) = sealed::seal_with(&key, &plain).await {
            if let Ok(put) = kv.put(&name, text) {
                let _ = put.expiration_ttl(KEEP_SECS).execute().await;
            }
        }
    });
}

/// The registration's last launch, if one was kept.
pub async fn read(env: &Env, cfg: &Config, registration_id: &str) -> ApiResult<Option<LastLaunch>> {
    let Some(text) = env.kv(KV_BINDING)?.get(&kv_key(registration_id)).text().await? else {
        return Ok(None);
    };
    let plain = sealed::open(cfg, sealed::LAST_LAUNCH, &text).await?;
    serde_json::from_slice(&plain).map(Some).map_err(|e| ApiError::internal(format!("last launch: {e}")))
}

impl LastLaunch {
    /// The upgraded link's identity, as the launch saw it.
    pub fn legacy(&self) -> Option<LegacyIdentity> {
        self.lti11_user_id.clone().map(|user_id| LegacyIdentity { user_id, context_id: None })
    }
}
