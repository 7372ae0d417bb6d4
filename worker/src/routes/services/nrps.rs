//! Names and Role Provisioning: the course roster, every page, mapped to the tool's roles.

use lti_core::error::ServiceError;
use lti_core::services::ServiceUrl;
use lti_policy::roles::{map_member, role_matches};
use serde_json::{json, Value};
use worker::{Request, Response};

use super::caller::{bad_request, caller, query_object, svc_err};
use crate::auth::service_credential;
use crate::error::ApiResult;
use crate::http::response::ok_json as ok;
use crate::log;
use crate::routes::Ctx;

const NRPS_TYPE: &str = "application/vnd.ims.lti-nrps.v2.membershipcontainer+json";

/// `GET /lti/nrps/members`.
pub async fn members(ctx: &Ctx<'_>, req: &mut Request) -> ApiResult<Response> {
    let (env, cfg, cid) = (ctx.env, &ctx.cfg, ctx.cid.as_str());
    let query = &query_object(&ctx.query);
    let credential = service_credential(env, cfg, req).await?;
    let c = caller(env, credential, query).await?;
    c.require_staff()?;
    let nrps = c.svc.nrps.as_ref().ok_or_else(|| svc_err(&ServiceError::NrpsNotGranted))?;
    let roster = ServiceUrl::parse(&nrps.url).map_err(|_| svc_err(&ServiceError::NrpsNotGranted))?;
    let q = |k: &str| query.get(k).and_then(Value::as_str).filter(|s| !s.is_empty());
    let first = match q("since") {
        Some(since) => roster
            .same_resource(since)
            .ok_or_else(|| bad_request("since", "a differences URL of this course's roster"))?,
        None => {
            let mut pairs: Vec<(&str, &str)> = Vec::new();
            if let Some(r) = q("role") {
                pairs.push(("role", r));
            }
            if let Some(l) = q("limit") {
                pairs.push(("limit", l));
            }
            roster.with_query(&pairs)
        }
    };
    let (raw, first_page, walk, differences) = c.get_all(ctx, &first, NRPS_TYPE, Some("members")).await?;
    let role = q("role");
    let members: Vec<Value> = raw
        .iter()
        .filter_map(|m| map_member(m, &c.reg.role_map))
        .filter(|m| {
            role.is_none_or(|r| {
                let roles: Vec<String> = m
                    .get("roles")
                    .and_then(Value::as_array)
                    .map(|a| a.iter().filter_map(Value::as_str).map(str::to_string).collect())
                    .unwrap_or_default();
                role_matches(r, &roles)
            })
        })
        .collect();
    // Personal data: the log gets counts only.
    log::info(
        cid,
        "roster_read",
        json!({"registration": c.reg.id(), "members": members.len(), "pages": walk.pages(), "truncated": walk.truncated()}),
    );
    let mut data = json!({
        "id": first_page.get("id").cloned().unwrap_or(Value::Null),
        "context": first_page.get("context").cloned().unwrap_or(Value::Null),
        "members": members,
        "pages": walk.pages(),
        "truncated": walk.truncated(),
    });
    if let (Some(d), Some(o)) = (differences.and_then(|d| roster.same_resource(&d)), data.as_object_mut()) {
        o.insert("differencesUrl".into(), json!(d.as_str()));
    }
    ok(data, 200)
}
