//! What an LMS admin pastes, for each LMS: an HTML page (or JSON with `Accept:
//! application/json`), and Canvas's developer-key configuration Canvas imports by URL. Nothing
//! here is secret (the same URLs as `/lti/config`); a registration's own ids are admin-only
//! (`GET /lti/platforms/{id}/setup`).

use lti_policy::presets;
use lti_policy::setup::{self, LMSS};
use lti_policy::ErrorCode;
use serde_json::{json, Value};
use worker::{Request, Response};

use crate::error::{ApiError, ApiResult};
use crate::http::response::{html_response, ok_json, with_headers};
use crate::pages;
use crate::routes::Ctx;

fn wants_json(req: &Request) -> bool {
    let accept = req.headers().get("accept").ok().flatten().unwrap_or_default().to_ascii_lowercase();
    accept.contains("application/json") && !accept.contains("text/html")
}

/// Every LMS: code and name.
fn lms_list() -> Vec<(&'static str, &'static str)> {
    LMSS.iter().map(|l| (l.code, presets::by_code(l.code).map_or(l.code, |p| p.name))).collect()
}

/// `GET /lti/setup`: the LMSs, each with its page.
pub async fn index(ctx: &Ctx<'_>, req: &mut Request) -> ApiResult<Response> {
    let base = ctx.cfg.base();
    if wants_json(req) {
        let list: Vec<Value> = lms_list()
            .into_iter()
            .map(|(code, name)| json!({"lms": code, "name": name, "url": format!("{base}/lti/setup/{code}")}))
            .collect();
        return ok_json(list, 200);
    }
    html_response(pages::setup_index(&base, &lms_list()), 200)
}

/// `GET /lti/presets`: each LMS preset, what it asks for and what it fills (the admin console
/// builds its registration form from this; the same presets `POST /lti/platforms` applies).
pub async fn presets(_ctx: &Ctx<'_>, _req: &mut Request) -> ApiResult<Response> {
    ok_json(lti_policy::presets::PRESETS.iter().map(|p| p.describe()).collect::<Vec<Value>>(), 200)
}

/// `GET /lti/setup/{lms}`: what to paste in that LMS.
pub async fn page(ctx: &Ctx<'_>, req: &mut Request) -> ApiResult<Response> {
    let lms = setup::lms(&ctx.params.id).ok_or_else(|| ApiError::new(ErrorCode::NotFound, "no such LMS"))?;
    let sheet = setup::paste_sheet(&ctx.cfg.base(), lms);
    if wants_json(req) {
        return ok_json(sheet, 200);
    }
    html_response(pages::setup_page(&sheet, &lms_list()), 200)
}

/// `GET /lti/config/canvas.json`: the developer key configuration (as is, no envelope: Canvas
/// reads it by URL).
pub async fn canvas_json(ctx: &Ctx<'_>, _req: &mut Request) -> ApiResult<Response> {
    let config = setup::canvas_config(&ctx.cfg.base());
    Ok(with_headers(
        Response::from_bytes(config.to_string().into_bytes())?,
        &[
            ("content-type", "application/json"),
            ("cache-control", "no-store"),
            ("x-content-type-options", "nosniff"),
            ("access-control-allow-origin", "*"),
        ],
    ))
}
