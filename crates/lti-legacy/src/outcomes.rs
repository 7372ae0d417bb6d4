//! Basic Outcomes (LTI 1.1 §6, IMS POX): build `replaceResult`, `readResult` and
//! `deleteResult` requests, and read the platform's reply.
//!
//! The caller posts the XML to the launch's `lis_outcome_service_url` with
//! `Content-Type: application/xml` ([`CONTENT_TYPE`]) and the `Authorization` header from
//! [`crate::oauth1::Signer::sign_body`] (which carries `oauth_body_hash`), then hands the
//! reply body to [`parse_reply`].
//!
//! The reply reader is a small tolerant parser for this one fixed shape, not a general XML
//! parser: it refuses any `<!DOCTYPE`/`<!ENTITY` (no entity expansion, no external fetches),
//! caps size and depth, knows only the five predefined entities and character references,
//! ignores namespace prefixes, attributes, comments and processing instructions, and requires
//! matching tags.

use crate::error::OutcomeError;

/// The content type of POX requests.
pub const CONTENT_TYPE: &str = "application/xml";
/// Largest reply read.
pub const MAX_REPLY_BYTES: usize = 64 * 1024;

const MAX_ID_LEN: usize = 4096;
const MAX_RESULT_DATA: usize = 64 * 1024;
const MAX_DEPTH: usize = 32;
const NS: &str = "http://www.imsglobal.org/services/ltiv1p1/xsd/imsoms_v1p0";

/// A score normalised to 0.0–1.0, as Basic Outcomes requires.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Score(f64);

impl Score {
    /// `given / maximum`; refuses non-finite numbers, `maximum <= 0`, `given < 0` and
    /// `given > maximum` (out-of-range scores are refused, never clamped: a clamped grade is a
    /// wrong grade).
    pub fn normalise(given: f64, maximum: f64) -> Result<Self, OutcomeError> {
        if !given.is_finite() || !maximum.is_finite() {
            return Err(OutcomeError::ScoreInvalid("not a finite number"));
        }
        if maximum <= 0.0 {
            return Err(OutcomeError::ScoreInvalid("maximum must be above 0"));
        }
        if given < 0.0 {
            return Err(OutcomeError::ScoreInvalid("score below 0"));
        }
        if given > maximum {
            return Err(OutcomeError::ScoreInvalid("score above the maximum"));
        }
        Self::fraction(given / maximum)
    }

    /// An already normalised score in 0.0–1.0.
    pub fn fraction(value: f64) -> Result<Self, OutcomeError> {
        if value.is_finite() && (0.0..=1.0).contains(&value) {
            Ok(Self(value))
        } else {
            Err(OutcomeError::ScoreInvalid("fraction outside 0.0-1.0"))
        }
    }

    /// The value, 0.0–1.0.
    pub fn value(self) -> f64 {
        self.0
    }

    /// Decimal text for `textString`: at most 8 decimals, no exponent, at least one decimal
    /// (`0.0`, `0.92`, `1.0`).
    pub fn to_text(self) -> String {
        let s = format!("{:.8}", self.0);
        let t = s.trim_end_matches('0');
        if t.ends_with('.') {
            format!("{t}0")
        } else {
            t.to_string()
        }
    }
}

/// The three operations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    /// Set the score (and optional result data).
    ReplaceResult,
    /// Read the score.
    ReadResult,
    /// Remove the score.
    DeleteResult,
}

impl Operation {
    /// `replaceResult`, `readResult`, `deleteResult`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ReplaceResult => "replaceResult",
            Self::ReadResult => "readResult",
            Self::DeleteResult => "deleteResult",
        }
    }
}

/// Escape text for XML element content; characters XML 1.0 cannot carry become U+FFFD.
pub fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c if is_xml_char(c) => out.push(c),
            _ => out.push('\u{fffd}'),
        }
    }
    out
}

fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{d7ff}' | '\u{e000}'..='\u{fffd}' | '\u{10000}'..='\u{10ffff}')
}

fn check_id(value: &str, field: &'static str) -> Result<(), OutcomeError> {
    if value.trim().is_empty() || value.len() > MAX_ID_LEN {
        return Err(OutcomeError::FieldInvalid(field));
    }
    Ok(())
}

fn envelope(message_id: &str, op: Operation, record: &str) -> Result<String, OutcomeError> {
    check_id(message_id, "message_identifier")?;
    Ok(format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <imsx_POXEnvelopeRequest xmlns=\"{NS}\">\
         <imsx_POXHeader><imsx_POXRequestHeaderInfo><imsx_version>V1.0</imsx_version>\
         <imsx_messageIdentifier>{}</imsx_messageIdentifier></imsx_POXRequestHeaderInfo></imsx_POXHeader>\
         <imsx_POXBody><{op}Request><resultRecord>{record}</resultRecord></{op}Request></imsx_POXBody>\
         </imsx_POXEnvelopeRequest>",
        xml_escape(message_id),
        op = op.as_str(),
    ))
}

fn sourced_guid(sourcedid: &str) -> Result<String, OutcomeError> {
    check_id(sourcedid, "lis_result_sourcedid")?;
    Ok(format!("<sourcedGUID><sourcedId>{}</sourcedId></sourcedGUID>", xml_escape(sourcedid)))
}

/// `replaceResultRequest`: set `score` for the user and link named by `sourcedid`
/// (`lis_result_sourcedid`), with optional `resultData` text (LTI 1.1 outcomes extension).
/// `message_id` is the caller's unique identifier for this message.
pub fn replace_result(
    message_id: &str,
    sourcedid: &str,
    score: Score,
    result_text: Option<&str>,
) -> Result<String, OutcomeError> {
    let data = match result_text {
        Some(t) if t.len() > MAX_RESULT_DATA => return Err(OutcomeError::FieldInvalid("resultData")),
        Some(t) => format!("<resultData><text>{}</text></resultData>", xml_escape(t)),
        None => String::new(),
    };
    let record = format!(
        "{}<result><resultScore><language>en</language><textString>{}</textString></resultScore>{data}</result>",
        sourced_guid(sourcedid)?,
        score.to_text()
    );
    envelope(message_id, Operation::ReplaceResult, &record)
}

/// `readResultRequest` for `sourcedid`.
pub fn read_result(message_id: &str, sourcedid: &str) -> Result<String, OutcomeError> {
    envelope(message_id, Operation::ReadResult, &sourced_guid(sourcedid)?)
}

/// `deleteResultRequest` for `sourcedid`.
pub fn delete_result(message_id: &str, sourcedid: &str) -> Result<String, OutcomeError> {
    envelope(message_id, Operation::DeleteResult, &sourced_guid(sourcedid)?)
}

/// `imsx_codeMajor`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeMajor {
    /// The operation succeeded.
    Success,
    /// Accepted, still processing.
    Processing,
    /// The operation failed.
    Failure,
    /// The platform does not support the operation.
    Unsupported,
}

impl CodeMajor {
    fn parse(s: &str) -> Option<Self> {
        match s.to_ascii_lowercase().as_str() {
            "success" => Some(Self::Success),
            "processing" => Some(Self::Processing),
            "failure" => Some(Self::Failure),
            "unsupported" => Some(Self::Unsupported),
            _ => None,
        }
    }

    /// The wire value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::Processing => "processing",
            Self::Failure => "failure",
            Self::Unsupported => "unsupported",
        }
    }
}

/// A successful (or processing) reply.
#[derive(Debug, Clone, PartialEq)]
pub struct OutcomeReply {
    /// `success` or `processing`.
    pub code_major: CodeMajor,
    /// `imsx_description`
    pub description: Option<String>,
    /// `imsx_messageRefIdentifier`: should be the request's message identifier.
    pub message_ref: Option<String>,
    /// `imsx_operationRefIdentifier`
    pub operation: Option<String>,
    /// `readResult`'s score; `None` when the user has none (empty `textString`) or for other
    /// operations.
    pub score: Option<f64>,
}

/// Read the platform's reply. `failure` and `unsupported` become
/// [`OutcomeError::PlatformFailure`] with the platform's description; an unreadable reply is
/// [`OutcomeError::ReplyMalformed`] (or `ReplyTooLarge`, `ReplyDoctype`).
pub fn parse_reply(xml: &str) -> Result<OutcomeReply, OutcomeError> {
    if xml.len() > MAX_REPLY_BYTES {
        return Err(OutcomeError::ReplyTooLarge(MAX_REPLY_BYTES));
    }
    let fields = scan(xml)?;
    let code = fields.code_major.ok_or(OutcomeError::ReplyMalformed("imsx_codeMajor missing"))?;
    let code_major = CodeMajor::parse(&code).ok_or(OutcomeError::ReplyMalformed("imsx_codeMajor unknown"))?;
    if matches!(code_major, CodeMajor::Failure | CodeMajor::Unsupported) {
        return Err(OutcomeError::PlatformFailure {
            code_major: code_major.as_str().to_string(),
            description: fields.description.unwrap_or_default().chars().take(500).collect(),
        });
    }
    let score = match fields.text_string.as_deref() {
        None | Some("") => None,
        Some(t) => match t.parse::<f64>() {
            Ok(v) if v.is_finite() && (0.0..=1.0).contains(&v) => Some(v),
            _ => return Err(OutcomeError::ReplyMalformed("textString is not a score in 0.0-1.0")),
        },
    };
    Ok(OutcomeReply {
        code_major,
        description: fields.description,
        message_ref: fields.message_ref,
        operation: fields.operation,
        score,
    })
}

#[derive(Default)]
struct Fields {
    code_major: Option<String>,
    description: Option<String>,
    message_ref: Option<String>,
    operation: Option<String>,
    text_string: Option<String>,
}

fn local(qname: &str) -> &str {
    qname.rsplit(':').next().unwrap_or(qname)
}

/// Walk the reply once, checking nesting, and keep the text of the few leaves we read.
fn scan(xml: &str) -> Result<Fields, OutcomeError> {
    let malformed = OutcomeError::ReplyMalformed;
    let mut f = Fields::default();
    let mut stack: Vec<&str> = Vec::new();
    let mut text = String::new();
    let mut root_seen = false;
    let mut rest = xml.trim_start_matches('\u{feff}');
    while !rest.is_empty() {
        let Some(lt) = rest.find('<') else {
            if rest.trim().is_empty() {
                break;
            }
            return Err(malformed("text outside the root element"));
        };
        let (before, tag_on) = rest.split_at(lt);
        if !before.is_empty() {
            if stack.is_empty() && !before.trim().is_empty() {
                return Err(malformed("text outside the root element"));
            }
            text.push_str(&decode_entities(before)?);
        }
        if let Some(r) = tag_on.strip_prefix("<?") {
            let end = r.find("?>").ok_or(malformed("unterminated processing instruction"))?;
            rest = r.get(end + 2..).unwrap_or("");
        } else if let Some(r) = tag_on.strip_prefix("<!--") {
            let end = r.find("-->").ok_or(malformed("unterminated comment"))?;
            rest = r.get(end + 3..).unwrap_or("");
        } else if let Some(r) = tag_on.strip_prefix("<![CDATA[") {
            let end = r.find("]]>").ok_or(malformed("unterminated CDATA"))?;
            text.push_str(r.get(..end).unwrap_or(""));
            rest = r.get(end + 3..).unwrap_or("");
        } else if tag_on.starts_with("<!") {
            // DOCTYPE, ENTITY, ELEMENT, …: never expanded, never fetched.
            return Err(OutcomeError::ReplyDoctype);
        } else if let Some(r) = tag_on.strip_prefix("</") {
            let end = r.find('>').ok_or(malformed("unterminated end tag"))?;
            let name = r.get(..end).unwrap_or("").trim_end();
            let open = stack.pop().ok_or(malformed("end tag without start tag"))?;
            if open != name {
                return Err(malformed("mismatched tags"));
            }
            record(&mut f, &stack, local(name), text.trim());
            text.clear();
            rest = r.get(end + 1..).unwrap_or("");
        } else {
            let r = tag_on.get(1..).unwrap_or("");
            let end = tag_end(r).ok_or(malformed("unterminated start tag"))?;
            let inner = r.get(..end).unwrap_or("");
            let self_closing = inner.ends_with('/');
            let inner = inner.trim_end_matches('/');
            let name = inner.split(|c: char| c.is_ascii_whitespace()).next().unwrap_or("");
            if name.is_empty() || !name.chars().all(|c| c.is_alphanumeric() || matches!(c, ':' | '_' | '-' | '.')) {
                return Err(malformed("bad element name"));
            }
            if stack.is_empty() {
                if root_seen {
                    return Err(malformed("several root elements"));
                }
                root_seen = true;
                if local(name) != "imsx_POXEnvelopeResponse" {
                    return Err(malformed("not an imsx_POXEnvelopeResponse"));
                }
            }
            text.clear();
            if !self_closing {
                if stack.len() >= MAX_DEPTH {
                    return Err(malformed("nested too deep"));
                }
                stack.push(name);
            }
            rest = r.get(end + 1..).unwrap_or("");
        }
    }
    if !stack.is_empty() || !root_seen {
        return Err(malformed("unterminated document"));
    }
    Ok(f)
}

/// Index of the `>` closing a start tag, skipping quoted attribute values.
fn tag_end(s: &str) -> Option<usize> {
    let mut quote: Option<char> = None;
    for (i, c) in s.char_indices() {
        match (quote, c) {
            (None, '"' | '\'') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            (None, '>') => return Some(i),
            (None, '<') => return None,
            _ => {}
        }
    }
    None
}

fn record(f: &mut Fields, ancestors: &[&str], name: &str, text: &str) {
    let under = |a: &str| ancestors.iter().any(|x| local(x) == a);
    let slot = match name {
        "imsx_codeMajor" if under("imsx_statusInfo") => &mut f.code_major,
        "imsx_description" if under("imsx_statusInfo") => &mut f.description,
        "imsx_messageRefIdentifier" if under("imsx_statusInfo") => &mut f.message_ref,
        "imsx_operationRefIdentifier" if under("imsx_statusInfo") => &mut f.operation,
        "textString" if under("resultScore") && under("readResultResponse") => &mut f.text_string,
        _ => return,
    };
    if slot.is_none() {
        *slot = Some(text.to_string());
    }
}

fn decode_entities(s: &str) -> Result<String, OutcomeError> {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(amp) = rest.find('&') {
        out.push_str(rest.get(..amp).unwrap_or(""));
        let after = rest.get(amp + 1..).unwrap_or("");
        let semi = after.find(';').filter(|&i| i <= 10).ok_or(OutcomeError::ReplyMalformed("bad entity"))?;
        let name = after.get(..semi).unwrap_or("");
        let c = match name {
            "lt" => '<',
            "gt" => '>',
            "amp" => '&',
            "quot" => '"',
            "apos" => '\'',
            n => {
                let code = if let Some(h) = n.strip_prefix("#x").or_else(|| n.strip_prefix("#X")) {
                    u32::from_str_radix(h, 16).ok()
                } else if let Some(d) = n.strip_prefix('#') {
                    d.parse::<u32>().ok()
                } else {
                    None
                };
                code.and_then(char::from_u32)
                    .filter(|&c| is_xml_char(c))
                    .ok_or(OutcomeError::ReplyMalformed("bad entity"))?
            }
        };
        out.push(c);
        rest = after.get(semi + 1..).unwrap_or("");
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests;
