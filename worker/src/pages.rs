//! The few HTML pages the edge serves itself: error pages, the demo tool module page and the
//! index. Every interpolated value is escaped.

use lti_core::encoding::html_escape as esc;
use lti_policy::modules::Module;
use lti_policy::session::SessionClaims;
use lti_policy::ErrorCode;

const STYLE: &str = "body{font:15px/1.5 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;background:#f6f7f9;color:#1d2330}\
main{max-width:720px;margin:32px auto;padding:24px 28px;background:#fff;border:1px solid #dde1e7;border-radius:10px}\
h1{font-size:20px;margin:0 0 8px}p{margin:8px 0}code{background:#eef1f5;padding:1px 5px;border-radius:4px;font-size:13px}\
dl{display:grid;grid-template-columns:max-content 1fr;gap:6px 16px;margin:16px 0}dt{color:#5b6475}dd{margin:0;word-break:break-all}\
.badge{display:inline-block;padding:2px 10px;border-radius:99px;background:#e4ecff;color:#1c3fa8;font-weight:600;font-size:13px}\
.err{border-left:4px solid #c62828}.muted{color:#6b7385;font-size:13px}\
h2{font-size:16px;margin:18px 0 6px}ul.entries{list-style:none;padding:0;margin:0}ul.entries li{display:flex;justify-content:space-between;align-items:center;padding:8px 0;border-top:1px solid #eef1f5}\
button{font:inherit;font-weight:600;background:#1c3fa8;color:#fff;border:0;border-radius:5px;padding:5px 14px;cursor:pointer}\
a{color:#1c3fa8}a:focus-visible,button:focus-visible{outline:3px solid #1c3fa8;outline-offset:2px}\
table{border-collapse:collapse;width:100%;margin:8px 0 16px}caption{text-align:left;font-weight:600;padding:4px 0}\
th,td{text-align:left;vertical-align:top;padding:6px 8px;border-top:1px solid #dde1e7}th{color:#5b6475;font-weight:600}\
td code,li code,dd code{overflow-wrap:anywhere}ol li{margin:6px 0}li,p{overflow-wrap:anywhere}nav ul{list-style:none;padding:0;display:flex;flex-wrap:wrap;gap:6px 14px}\
.scroll{overflow-x:auto}\
@media (max-width:520px){main{margin:0;border:0;border-radius:0;padding:16px}dl{grid-template-columns:1fr}dd{margin-bottom:8px}\
th,td{padding:6px 4px;overflow-wrap:anywhere;font-size:14px}.scroll table{table-layout:fixed}}";

fn shell(title: &str, class: &str, body: &str) -> String {
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
<meta name=\"referrer\" content=\"no-referrer\"><title>{}</title><style>{STYLE}</style></head><body><main class=\"{class}\">{body}</main></body></html>",
        esc(title)
    )
}

/// The policy of every static page and error page: no script at all.
pub const PAGE_CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; base-uri 'none'; form-action 'self'; frame-ancestors *";

/// CSP of a page with one inline script allowed by `nonce`, posting only to `form_action`.
pub fn script_csp(nonce: &str, form_action: &str) -> String {
    format!(
        "default-src 'none'; script-src 'nonce-{nonce}'; style-src 'unsafe-inline'; base-uri 'none'; form-action {form_action}"
    )
}

/// Error page: what happened, what to do, and the correlation id for support.
pub fn error_page(code: ErrorCode, cid: &str, extra: &str) -> String {
    let title = match code.status() {
        403 => "Access denied",
        503 => "LTI is not configured",
        s if s >= 500 => "Something went wrong",
        _ => "This launch could not be completed",
    };
    shell(
        title,
        "err",
        &format!(
            "<h1>{}</h1><p>{}</p>{extra}<p class=\"muted\">Error code <code>{}</code> · correlation id <code>{}</code></p>",
            esc(title),
            esc(code.message()),
            esc(code.as_str()),
            esc(cid)
        ),
    )
}

/// The tool side of the module page: the embed kit's `ToolClient` reports the page height and
/// sends `lti.contentSelected` for the picker's buttons. Inlined byte for byte; the CSP allows
/// exactly this script by its SHA-256.
const MODULE_SCRIPT: &str = include_str!("../../web/tool/module-page.js");

/// CSP of the module page: only the inlined module script (by hash), the kit's module and wasm
/// from `/embed/` on our own origin.
pub fn module_csp() -> String {
    use base64::Engine as _;
    use sha2::{Digest, Sha256};
    let hash = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(MODULE_SCRIPT.as_bytes()));
    format!(
        "default-src 'none'; script-src 'self' 'sha256-{hash}' 'wasm-unsafe-eval'; connect-src 'self'; style-src 'unsafe-inline'; img-src 'self' data:; base-uri 'none'; form-action 'self'"
    )
}

/// Demo entries the content picker offers (a real tool app lists the course's media).
pub const DEMO_ENTRIES: &[(&str, &str, u32)] = &[
    ("1_mitosis", "Mitosis in 2 minutes", 124),
    ("1_meiosis", "Meiosis explained", 311),
    ("1_cellwall", "The plant cell wall", 187),
];

/// The `lti.contentSelected` button of one picker entry (handled by the module script).
fn select_button(base: &str, id: &str, title: &str, secs: u32) -> String {
    let url = format!("{base}/browseandembed/index/media/entryid/{id}");
    format!(
        "<button type=\"button\" data-entry-id=\"{}\" data-title=\"{}\" data-url=\"{}\" data-duration=\"{secs}\">Select</button>",
        esc(id),
        esc(title),
        esc(&url)
    )
}

/// Title and `m:ss` duration of one picker entry.
fn entry_label(title: &str, secs: u32) -> String {
    format!("{} <span class=\"muted\">{}:{:02}</span>", esc(title), secs / 60, secs % 60)
}

fn picker(base: &str) -> String {
    let mut out = String::from("<h2>Choose a video to embed</h2><ul class=\"entries\">");
    for (id, title, secs) in DEMO_ENTRIES {
        out.push_str(&format!(
            "<li><span>{}</span> {}</li>",
            entry_label(title, *secs),
            select_button(base, id, title, *secs)
        ));
    }
    out.push_str("</ul>");
    out
}

/// A deep-linking picker: a form posting the chosen entries (checkboxes, or radio buttons
/// when the LMS accepts one item) with the session to `/lti/deep-link`. Each row also keeps the
/// `lti.contentSelected` button for host pages that take the selection by postMessage.
fn deep_link_picker(base: &str, token: &str, multiple: bool) -> String {
    let kind = if multiple { "checkbox" } else { "radio" };
    let mut out = String::from("<h2>Choose media to add to the course</h2><form method=\"post\" action=\"/lti/deep-link\" id=\"deep-link-form\"><ul class=\"entries\">");
    for (id, title, secs) in DEMO_ENTRIES {
        out.push_str(&format!(
            "<li><label><input type=\"{kind}\" name=\"entry\" value=\"{}\"> {}</label> {}</li>",
            esc(id),
            entry_label(title, *secs),
            select_button(base, id, title, *secs)
        ));
    }
    out.push_str(&format!(
        "</ul><input type=\"hidden\" name=\"session\" value=\"{}\"><p><button type=\"submit\" id=\"embed\">Add to course</button></p></form>",
        esc(token)
    ));
    out
}

/// The demo tool module page (what a tool app behind the edge would render).
pub fn module_page(module: &Module, s: &SessionClaims, token: &str) -> String {
    let mut page = module_page_body(module, s);
    if module.code == lti_policy::modules::PICKER_MODULE {
        if let Some(at) = page.rfind("<p class=\"muted\">This page is the demo tool app.") {
            // LTI 1.3 deep linking, or an LTI 1.1 ContentItemSelectionRequest: the form returns
            // the selection to the LMS; otherwise the selection goes to the host page.
            let lti11_multiple = s
                .lti11
                .as_ref()
                .and_then(|l| l.get("contentItem"))
                .map(|c| c.get("accept_multiple").and_then(serde_json::Value::as_bool).unwrap_or(false));
            let section = match (&s.dl, lti11_multiple) {
                (Some(dl), _) => deep_link_picker(&s.iss, token, dl.accept_multiple),
                (None, Some(multiple)) => deep_link_picker(&s.iss, token, multiple),
                (None, None) => picker(&s.iss),
            };
            page.insert_str(at, &section);
        }
    }
    if let Some(at) = page.rfind("</body>") {
        // The embed kit's tool client (MODULE_SCRIPT) reads the LMS's origin from this JSON (not
        // executed, so not in the CSP) where the browser does not report the embedding page's
        // origin, and says in the status line when it cannot talk to its host.
        let config = serde_json::json!({ "platformOrigin": platform_origin(s) });
        page.insert_str(
            at,
            &format!(
                "<p id=\"lti-embed-status\" class=\"muted\" role=\"status\" hidden></p><script type=\"application/json\" id=\"lti-embed-config\">{}</script><script type=\"module\">{MODULE_SCRIPT}</script>",
                embed_json(&config)
            ),
        );
    }
    page
}

/// The LMS's origin as the session knows it: the origin of the platform's own URLs in the launch
/// (deep-linking return URL, AGS and NRPS service URLs). The embed kit's tool client falls back to
/// it where the browser does not report the embedding page's origin (Firefox has no
/// `location.ancestorOrigins`). `None` when the launch carried none of them.
fn platform_origin(s: &SessionClaims) -> Option<String> {
    let dl = s.dl.as_ref().map(|d| d.return_url.as_str());
    let ags = s.svc.ags.as_ref().and_then(|a| a.lineitems.as_deref().or(a.lineitem.as_deref()));
    let nrps = s.svc.nrps.as_ref().map(|n| n.url.as_str());
    s.platform_origin.clone().or_else(|| {
        [dl, ags, nrps].into_iter().flatten().find_map(|u| lti_core::url::HttpUrl::parse(u).ok()).map(|u| u.origin())
    })
}

fn module_page_body(module: &Module, s: &SessionClaims) -> String {
    let course =
        s.context_title.clone().or_else(|| s.context_id.clone()).unwrap_or_else(|| "(no course context)".into());
    let who = s.name.clone().unwrap_or_else(|| s.sub.clone());
    shell(
        module.title,
        "",
        &format!(
            "<h1>{} <span class=\"badge\" id=\"role\">{}</span></h1><p>Welcome, <strong id=\"who\">{}</strong>. You are in <strong id=\"course\">{}</strong>.</p>\
<dl><dt>User id</dt><dd id=\"user-id\">{}</dd><dt>Role</dt><dd>{} (LTI: {})</dd><dt>Course category</dt><dd id=\"category\">{}</dd>\
<dt>Module</dt><dd id=\"module\">{}</dd><dt>Resource link</dt><dd>{}</dd><dt>Launch</dt><dd>{} · bound by {}</dd>\
<dt>Session expires</dt><dd id=\"exp\" data-exp=\"{}\">in {} minutes</dd></dl>\
<p class=\"muted\">This page is the demo tool app. A real tool app verifies the session token in its URL against <code>/lti/jwks</code>.</p>",
            esc(module.title),
            esc(&s.role),
            esc(&who),
            esc(&course),
            esc(&s.sub),
            esc(&s.role),
            esc(&s.lti_roles.iter().map(|r| r.rsplit(['#', '/']).next().unwrap_or(r)).collect::<Vec<_>>().join(", ")),
            esc(&s.category),
            esc(module.code),
            esc(s.resource_link_id.as_deref().unwrap_or("—")),
            esc(&s.message_type),
            esc(&s.binding),
            s.exp,
            (s.exp - s.iat) / 60,
        ),
    )
}

/// The index page.
pub fn index(base: &str, configured: bool) -> String {
    let b = esc(base);
    let status = if configured {
        "<p><span class=\"badge\">LTI enabled</span></p>"
    } else {
        "<p class=\"err\"><strong>LTI is disabled:</strong> set the <code>LTI_ENCRYPTION_KEY</code> secret.</p>"
    };
    shell(
        "LTI Edge",
        "",
        &format!(
            "<h1>LTI Edge</h1>{status}<p>Paste these into your LMS's LTI 1.3 tool registration:</p>\
<dl><dt>Login initiation URL</dt><dd><code>{b}/lti/login</code></dd><dt>Redirect / launch URL</dt><dd><code>{b}/lti/launch</code></dd>\
<dt>Public keyset URL</dt><dd><code>{b}/lti/jwks</code></dd><dt>KAF-compatible</dt><dd><code>{b}/hosted/index/oidc-init</code>, \
<code>{b}/hosted/index/oauth2-launch</code>, <code>{b}/hosted/index/lti-advantage-key-set</code></dd></dl>\
<p class=\"muted\">Machine-readable: <code>GET {b}/lti/config</code></p>"
        ),
    )
}

/// JSON safe to embed in a `<script type="application/json">` element.
pub fn embed_json(v: &serde_json::Value) -> String {
    v.to_string().replace('<', "\\u003c").replace('>', "\\u003e").replace('&', "\\u0026")
}

/// Shared client for LTI Platform Storage (1EdTech LTI Client Side postMessages): post to the
/// storage frame with the platform's OIDC origin as target origin, accept only a reply from that
/// origin with the expected subject and `message_id`, give up after 1.5 s.
const STORAGE_JS: &str = r#"const c=JSON.parse(document.getElementById('lti-edge').textContent);
function frame(){try{return c.target==='_parent'?window.parent:(window.parent.frames[c.target]||window.parent)}catch(_){return window.parent}}
function ask(subject,body){return new Promise(function(done){
 const id='lti-edge-'+Array.from(crypto.getRandomValues(new Uint8Array(12)),function(b){return b.toString(16).padStart(2,'0')}).join('');
 let over=false;const end=function(r){if(!over){over=true;removeEventListener('message',on);done(r)}};
 const on=function(e){if(e.origin!==c.origin)return;let d=e.data;if(typeof d==='string'){try{d=JSON.parse(d)}catch(_){return}}
  if(!d||typeof d!=='object'||d.subject!==subject+'.response'||d.message_id!==id)return;end(d)};
 addEventListener('message',on);
 try{frame().postMessage(Object.assign({subject:subject,message_id:id},body),c.origin)}catch(_){end(null)}
 setTimeout(function(){end(null)},1500)})}"#;

fn script_page(title: &str, nonce: &str, config: &serde_json::Value, body: &str, script: &str) -> String {
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"referrer\" content=\"no-referrer\">\
<title>{}</title><style>{STYLE}</style></head><body><main><p class=\"muted\">{}</p>{body}</main>\
<script type=\"application/json\" id=\"lti-edge\">{}</script><script nonce=\"{}\">{STORAGE_JS}\n{script}</script></body></html>",
        esc(title),
        esc(title),
        embed_json(config),
        esc(nonce)
    )
}

/// Login with `lti_storage_target`: store the binding secret in platform storage, then go on to
/// the platform's authorization endpoint (whatever the answer: storage is optional).
pub fn storage_login_page(nonce: &str, config: &serde_json::Value, next: &str) -> String {
    script_page(
        "Connecting to your LMS…",
        nonce,
        config,
        &format!("<noscript><p><a href=\"{}\">Continue</a></p></noscript>", esc(next)),
        "ask('lti.put_data',{key:c.key,value:c.value}).then(function(){location.replace(c.next)});",
    )
}

/// Launch without a cookie after a login that offered platform storage: read the binding secret
/// back (`lti.get_data`) and post it with the continuation.
pub fn storage_launch_page(nonce: &str, config: &serde_json::Value, continuation: &str) -> String {
    script_page(
        "Opening the tool…",
        nonce,
        config,
        &format!(
            "<form method=\"post\" action=\"/lti/launch/storage\"><input type=\"hidden\" name=\"continuation\" value=\"{}\">\
<input type=\"hidden\" name=\"value\" value=\"\"><input type=\"hidden\" name=\"storage_error\" value=\"\">\
<noscript><button type=\"submit\">Continue</button></noscript></form>",
            esc(continuation)
        ),
        "ask('lti.get_data',{key:c.key}).then(function(r){const f=document.forms[0],el=f.elements;\
if(r&&typeof r.value==='string'){el['value'].value=r.value}else{el['storage_error'].value=r&&r.error&&typeof r.error.code==='string'?r.error.code.slice(0,64):(r?'no_value':'timeout')}\
f.submit()});",
    )
}

/// An auto-submitting form posting `fields` to `action` (the `JWT` of a Deep Linking response,
/// or the fields of an LTI 1.1 ContentItemSelection), with a button when scripts do not run.
pub fn auto_post_page(nonce: &str, action: &str, fields: &[(String, String)], items: usize) -> String {
    let inputs: String = fields
        .iter()
        .map(|(k, v)| format!("<input type=\"hidden\" name=\"{}\" value=\"{}\">", esc(k), esc(v)))
        .collect();
    shell(
        "Returning to the course",
        "",
        &format!(
            "<h1>Adding {items} item{} to the course…</h1><form method=\"post\" action=\"{}\" id=\"deep-link-return\">{inputs}\
<button type=\"submit\">Continue</button></form><script nonce=\"{}\">document.getElementById('deep-link-return').submit();</script>",
            if items == 1 { "" } else { "s" },
            esc(action),
            esc(nonce)
        ),
    )
}

/// Links to every LMS's page, `current` marked for assistive technology.
fn lms_nav(list: &[(&str, &str)], current: Option<&str>) -> String {
    let mut out = String::from("<nav aria-label=\"LMS\"><ul>");
    for (code, name) in list {
        let here = if current == Some(*code) { " aria-current=\"page\"" } else { "" };
        out.push_str(&format!("<li><a href=\"/lti/setup/{}\"{here}>{}</a></li>", esc(code), esc(name)));
    }
    out.push_str("</ul></nav>");
    out
}

/// `GET /lti/setup`: one link per LMS.
pub fn setup_index(base: &str, list: &[(&str, &str)]) -> String {
    shell(
        "Connect your LMS",
        "",
        &format!(
            "<h1>Connect your LMS</h1><p>Choose your LMS for exactly what to paste there, then register it with the tool \
(<code>POST /lti/platforms</code> with a <code>preset</code>, or by LTI Dynamic Registration with an invitation from \
<code>POST /lti/invitations</code>).</p>{}<p class=\"muted\">Tool: <code>{}</code> · machine-readable: \
<code>GET /lti/setup/&lt;lms&gt;</code> with <code>Accept: application/json</code></p>",
            lms_nav(list, None),
            esc(base)
        ),
    )
}

fn str_of<'a>(v: &'a serde_json::Value, k: &str) -> &'a str {
    v.get(k).and_then(serde_json::Value::as_str).unwrap_or_default()
}

/// `GET /lti/setup/{lms}`: the paste sheet of one LMS (see `lti_policy::setup::paste_sheet`).
/// Semantic HTML only (headings, an ordered list, tables with header cells), no script.
pub fn setup_page(sheet: &serde_json::Value, list: &[(&str, &str)]) -> String {
    use serde_json::Value;
    let name = str_of(sheet, "name");
    let urls = &sheet["toolUrls"];
    let mut body = format!(
        "<h1>Connect {}</h1>{}<p>Start in: <strong>{}</strong></p><h2 id=\"steps\">Steps</h2><ol>",
        esc(name),
        lms_nav(list, sheet.get("lms").and_then(Value::as_str)),
        esc(str_of(sheet, "start"))
    );
    for step in sheet["steps"].as_array().into_iter().flatten() {
        body.push_str(&format!("<li>{}</li>", esc(step.as_str().unwrap_or_default())));
    }
    body.push_str("</ol><h2 id=\"urls\">Tool URLs</h2><dl>");
    let redirects: Vec<String> = urls["redirectUris"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(|u| format!("<code>{}</code>", esc(u)))
        .collect();
    let mut rows: Vec<(&str, String)> = vec![
        ("Login (OIDC initiation) URL", format!("<code>{}</code>", esc(str_of(urls, "loginUrl")))),
        ("Redirect (launch) URIs", redirects.join("<br>")),
        ("Public key set (JWKS) URL", format!("<code>{}</code>", esc(str_of(urls, "jwksUrl")))),
        ("Target link URI (default)", format!("<code>{}</code>", esc(str_of(urls, "targetLinkUri")))),
        ("Deep linking URL", format!("<code>{}</code>", esc(str_of(urls, "deepLinkUrl")))),
        ("Domain", format!("<code>{}</code>", esc(str_of(urls, "domain")))),
    ];
    if let Some(c) = sheet.get("canvasConfigUrl").and_then(Value::as_str) {
        rows.insert(0, ("Canvas JSON configuration URL", format!("<code>{}</code>", esc(c))));
    }
    for (k, v) in rows {
        body.push_str(&format!("<dt>{}</dt><dd>{v}</dd>", esc(k)));
    }
    body.push_str("</dl><h2 id=\"placements\">Placements</h2><div class=\"scroll\" role=\"region\" aria-labelledby=\"placements\" tabindex=\"0\"><table><caption>Where the LMS shows the tool, and the module each opens</caption>\
<thead><tr><th scope=\"col\">Placement</th><th scope=\"col\">Module</th><th scope=\"col\">Message</th><th scope=\"col\">Target link URI</th></tr></thead><tbody>");
    for p in sheet["placements"].as_array().into_iter().flatten() {
        body.push_str(&format!(
            "<tr><td>{}</td><td>{} (<code>{}</code>)</td><td><code>{}</code></td><td><code>{}</code></td></tr>",
            esc(str_of(p, "placement")),
            esc(str_of(p, "title")),
            esc(str_of(p, "module")),
            esc(str_of(p, "messageType")),
            esc(str_of(p, "targetLinkUri"))
        ));
    }
    body.push_str("</tbody></table></div><h2 id=\"custom\">Custom parameters</h2><p>Paste these so the user-id rules below can read them:</p><ul>");
    for (k, v) in sheet["customParameters"].as_object().into_iter().flatten() {
        body.push_str(&format!("<li><code>{}={}</code></li>", esc(k), esc(v.as_str().unwrap_or_default())));
    }
    body.push_str("</ul><h2 id=\"user-id\">Which user id</h2><div class=\"scroll\" role=\"region\" aria-labelledby=\"user-id\" tabindex=\"0\"><table><caption>Set on the registration (POST /lti/platforms) to choose the user id</caption>\
<thead><tr><th scope=\"col\">User id</th><th scope=\"col\">Registration fields</th><th scope=\"col\">Custom parameter</th></tr></thead><tbody>");
    for o in sheet["userIdOptions"].as_array().into_iter().flatten() {
        let conf =
            o["configuration"].as_object().filter(|c| !c.is_empty()).map_or("(none: the default)".to_string(), |c| {
                c.iter()
                    .map(|(k, v)| format!("<code>{}: {}</code>", esc(k), esc(&v.to_string())))
                    .collect::<Vec<_>>()
                    .join(" ")
            });
        let custom = o["customParameters"].as_object().filter(|c| !c.is_empty()).map_or("—".to_string(), |c| {
            c.iter()
                .map(|(k, v)| format!("<code>{}={}</code>", esc(k), esc(v.as_str().unwrap_or_default())))
                .collect::<Vec<_>>()
                .join(" ")
        });
        body.push_str(&format!("<tr><td>{}</td><td>{conf}</td><td>{custom}</td></tr>", esc(str_of(o, "what"))));
    }
    body.push_str("</tbody></table></div><h2 id=\"scopes\">Services</h2><p>Grant these scopes for grades and rosters (launches work without them):</p><ul>");
    for sc in sheet["scopes"].as_array().into_iter().flatten() {
        body.push_str(&format!("<li><code>{}</code></li>", esc(sc.as_str().unwrap_or_default())));
    }
    let dr = if sheet["dynamicRegistration"].as_bool() == Some(true) {
        "This LMS offers LTI Dynamic Registration: an invitation URL (POST /lti/invitations) replaces the pasting."
    } else {
        "This LMS is registered by hand (no LTI Dynamic Registration)."
    };
    body.push_str(&format!(
        "</ul><p>{}</p><p class=\"muted\">KAF-compatible paths: <code>{}</code>, <code>{}</code>, <code>{}</code></p>",
        esc(dr),
        esc(str_of(&sheet["kaf"], "oidcInitUrl")),
        esc(str_of(&sheet["kaf"], "launchUrl")),
        esc(str_of(&sheet["kaf"], "jwksUrl"))
    ));
    shell(&format!("Connect {name}"), "", &body)
}

/// The answer to a `HEAD` of a registration URL: nothing happened.
pub fn register_head() -> String {
    shell(
        "LTI Dynamic Registration",
        "",
        "<h1>LTI Dynamic Registration</h1><p>Open this link from your LMS's Dynamic Registration page.</p>",
    )
}

/// Dynamic Registration done: what was registered, and the `org.imsglobal.lti.close` message to
/// the window that opened this page (the LMS), at once and from the Done button. The message
/// carries nothing but its subject, so it is sent to any origin: the LMS's page may be on
/// another host than its issuer (Canvas: an account domain, issuer canvas.instructure.com).
pub fn registered_page(nonce: &str, reg: &lti_policy::Registration, product: &str) -> String {
    let lti = reg.lti();
    let deployment = lti
        .deployment_ids()
        .first()
        .map_or("recorded at the first launch".to_string(), |d| format!("<code>{}</code>", esc(d.as_str())));
    let next = match reg.platform_family.as_str() {
        "canvas" => {
            "In Canvas: turn the new developer key ON, then install the app (Settings › Apps › + App › By Client ID)."
        }
        "moodle" => "In Moodle: activate the tool in Manage tools, then add it to a course.",
        _ => "In your LMS: enable the tool and add it to a course.",
    };
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
<meta name=\"referrer\" content=\"no-referrer\"><title>Registered</title><style>{STYLE}</style></head><body><main>\
<h1 id=\"done\">The tool is registered</h1><p role=\"status\">{} can now launch the tool.</p>\
<dl><dt>LMS</dt><dd>{}</dd><dt>Registration</dt><dd><code id=\"registration-id\">{}</code></dd><dt>Issuer</dt><dd><code>{}</code></dd>\
<dt>Client id</dt><dd><code id=\"client-id\">{}</code></dd><dt>Deployment</dt><dd>{deployment}</dd></dl>\
<p>{}</p><p><button type=\"button\" id=\"close\">Done — return to the LMS</button></p>\
<p class=\"muted\">Change its user-id rule or roles with <code>POST /lti/platforms</code> (same issuer and client id).</p></main>\
<script nonce=\"{}\">function done(){{try{{(window.opener||window.parent).postMessage({{subject:'{}'}},'*')}}catch(_){{}}}}\
document.getElementById('close').addEventListener('click',done);done();</script></body></html>",
        esc(&reg.name),
        esc(product),
        esc(reg.id()),
        esc(lti.issuer().as_str()),
        esc(lti.client_id().as_str()),
        esc(next),
        esc(nonce),
        lti_core::dynamic_registration::CLOSE_SUBJECT,
    )
}
