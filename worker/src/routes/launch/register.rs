//! `GET /lti/register/{invitation}`: LTI Dynamic Registration, the tool's side. The LMS opens
//! this URL (with `openid_configuration` and usually `registration_token`); the protocol checks
//! are [`lti_core::dynamic_registration`], what the tool asks for is
//! [`lti_policy::setup::registration_request`], the invitation rules are
//! [`lti_policy::invitations`]. This handler does the I/O, in order:
//!
//! 1. the invitation exists, is open and unexpired (nothing changes yet);
//! 2. the request carries a usable `openid_configuration` (https; http on loopback only with
//!    `ALLOW_HTTP_LOOPBACK`), sent in normal form;
//! 3. the invitation is leased to this request (atomic: a second window is refused);
//! 4. the platform's configuration is fetched (the token as bearer, no redirects, 10 s, 64 KB)
//!    and checked;
//! 5. the tool's configuration is posted to the `registration_endpoint` (same rules);
//! 6. the registration is created (never an update of an existing issuer + client id);
//! 7. the invitation is marked used, and the page tells the LMS to close
//!    (`org.imsglobal.lti.close`).
//!
//! A failure in 2–6 returns the invitation (nothing was saved), answers its own code and leaves
//! the LMS window on the error page.

use lti_core::dynamic_registration::{ClientRegistration, Initiation, PlatformConfiguration, MAX_ANSWER_BYTES};
use lti_core::encoding::form_decode;
use lti_core::error::DynRegError;
use lti_core::registration::uuid_v4;
use lti_policy::invitations::{self, Invitation};
use lti_policy::setup;
use lti_policy::{ErrorCode, Registration};
use lti_webcrypto::random_bytes;
use serde_json::{json, Value};
use worker::{Method, Request, Response};

use crate::clock::{iso_now, now};
use crate::error::{ApiError, ApiResult};
use crate::http::outbound::{self, Outbound, SERVICE_TIMEOUT_MS};
use crate::http::response::{html_response, html_response_csp, script_csp};
use crate::routes::Ctx;
use crate::store::invitations::Invitations;
use crate::store::registry::Registry;
use crate::{log, pages};

/// `GET /lti/register/{invitation}`.
pub async fn register(ctx: &Ctx<'_>, req: &mut Request) -> ApiResult<Response> {
    if req.method() == Method::Head {
        // A link checker's HEAD registers nothing and uses nothing.
        return html_response(pages::register_head(), 200);
    }
    let secret = ctx.params.id.as_str();
    if !invitations::looks_like_secret(secret) {
        return Err(ApiError::new(ErrorCode::InvitationInvalid, "not an invitation secret"));
    }
    let store = Invitations::new(ctx.env);
    // 1. The invitation, read only.
    store.check(secret, now()).await?;
    // 2. The initiation request.
    let initiation = Initiation::parse(&form_decode(&ctx.query), ctx.cfg.allow_http_loopback).map_err(|e| coded(&e))?;
    // 3. Lease the invitation to this request.
    let invitation = store.start(secret, now()).await?;
    let (registration, platform) = match flow(ctx, &initiation, &invitation).await {
        Ok(done) => done,
        Err(e) => {
            if let Err(r) = store.release(secret).await {
                log::warn(&ctx.cid, "invitation_release_failed", &r.detail);
            }
            return Err(e);
        }
    };
    // 7. Used (a failure here leaves the invitation leased; its lease then runs out).
    if let Err(e) = store.finish(secret, registration.id()).await {
        log::warn(&ctx.cid, "invitation_finish_failed", &e.detail);
    }
    log::info(
        &ctx.cid,
        "dynamic_registration",
        json!({"id": registration.id(), "invitation": invitation.id, "family": registration.platform_family,
               "product": platform.product_family_code, "deployment": !registration.lti().deployment_ids().is_empty()}),
    );
    let (nonce, csp) = script_csp("'none'")?;
    html_response_csp(pages::registered_page(&nonce, &registration, &platform.product_family_code), 200, &csp)
}

fn coded(e: &DynRegError) -> ApiError {
    ApiError::coded(e)
}

/// Steps 4–6.
async fn flow(
    ctx: &Ctx<'_>,
    init: &Initiation,
    invitation: &Invitation,
) -> ApiResult<(Registration, PlatformConfiguration)> {
    let allow_loopback = ctx.cfg.allow_http_loopback;
    let bearer = init.registration_token.as_ref().map(|t| format!("Bearer {}", t.as_str()));
    let mut get_headers = vec![("accept", "application/json")];
    if let Some(b) = &bearer {
        get_headers.push(("authorization", b.as_str()));
    }
    // 4. The platform's configuration, fetched from the URL as checked.
    let config_url = init.openid_configuration.to_string();
    let answer = outbound::fetch(&Outbound {
        method: "GET",
        url: &config_url,
        headers: &get_headers,
        body: None,
        cap: MAX_ANSWER_BYTES,
        timeout_ms: SERVICE_TIMEOUT_MS,
        follow_redirects: false,
    })
    .await
    .map_err(|e| coded(&DynRegError::ConfigUnreachable(e)))?;
    let platform = PlatformConfiguration::from_answer(
        &init.openid_configuration,
        answer.status,
        &answer.body,
        answer.oversized,
        allow_loopback,
    )
    .map_err(|e| coded(&e))?;
    // 5. The tool's registration, posted to the endpoint in normal form.
    let request = setup::registration_request(&ctx.cfg.base(), &platform, setup::TOOL_NAME).to_string();
    let register_url = platform.registration_endpoint.to_string();
    let mut post_headers = vec![("accept", "application/json"), ("content-type", "application/json")];
    if let Some(b) = &bearer {
        post_headers.push(("authorization", b.as_str()));
    }
    let answer = outbound::fetch(&Outbound {
        method: "POST",
        url: &register_url,
        headers: &post_headers,
        body: Some(&request),
        cap: MAX_ANSWER_BYTES,
        timeout_ms: SERVICE_TIMEOUT_MS,
        follow_redirects: false,
    })
    .await
    .map_err(|e| coded(&DynRegError::RegistrationFailed(e)))?;
    let client =
        ClientRegistration::from_answer(answer.status, &answer.body, answer.oversized).map_err(|e| coded(&e))?;
    // 6. The registration, created (an existing issuer + client id is not touched).
    let body = registration_body(invitation, &platform, &client);
    let id = uuid_v4(random_bytes::<16>().map_err(|e| ApiError::internal(e.0))?);
    let registration = Registry::new(ctx.env).create(&body, &id, &iso_now(), allow_loopback).await?;
    Ok((registration, platform))
}

/// The registration the platform's answers make: its issuer and endpoints, the client id it
/// issued, the deployment it created (allow-listed) or, without one, the first launch's
/// (recorded), its family, and the invitation's name (else the LMS's product and host).
fn registration_body(invitation: &Invitation, platform: &PlatformConfiguration, client: &ClientRegistration) -> Value {
    let family = setup::platform_family(&platform.product_family_code);
    let host =
        lti_core::url::HttpUrl::parse(platform.issuer.as_str()).map(|u| u.host().to_string()).unwrap_or_default();
    let account = platform.platform.get("https://canvas.instructure.com/lti/account_name").and_then(Value::as_str);
    let label = lti_policy::presets::by_code(family).map_or(platform.product_family_code.as_str(), |p| p.name);
    let name = invitation.name.clone().unwrap_or_else(|| {
        let place: String = account.unwrap_or(&host).chars().take(200).collect();
        format!("{label} ({place})")
    });
    let mut body = json!({
        "issuer": platform.issuer.as_str(),
        "lti13ClientId": client.client_id.as_str(),
        "name": name,
        "lti13PlatformOidcAuthUrl": platform.authorization_endpoint.as_str(),
        "lti13AuthTokenUrl": platform.token_endpoint.as_str(),
        "lti13KeysUrl": platform.jwks_uri.as_str(),
        "platformFamily": family,
    });
    if let (Some(d), Some(o)) = (&client.deployment_id, body.as_object_mut()) {
        o.insert("deploymentIds".into(), json!([d.as_str()]));
        o.insert("deploymentPolicy".into(), json!("allowList"));
    }
    body
}
