//! Parsing Loops error bodies: every shape Loops has used, and non-JSON bodies.

use std::fmt;

use serde_json::Value;

/// Raw bodies kept in errors are cut to this many bytes.
pub(crate) const MAX_KEPT_BODY: usize = 4096;

/// A Loops error body, parsed from whichever shape arrived.
///
/// Shapes seen in the wild: `{"success":false,"message":"…"}` (current), `{"error":"…"}`
/// (legacy), the transactional variants with `path`, a nested `error: {path, message|reason}`
/// and `transactionalId`, the upload failures with `supportedContentTypes`, `maxBytes`,
/// `maxUploads` and `windowHours`, and non-JSON bodies such as a load balancer's HTML 502
/// page. Lists of `errors` and `warnings` (422 answers on LMX and publishing) are kept item by
/// item. Every field is optional: a body is parsed whatever it holds.
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct ApiErrorBody {
    /// The most specific message found (nested `error.message`/`error.reason` first, then
    /// `message`, then a legacy `error` string).
    pub message: Option<String>,
    /// The request field the error is about (`path` or `error.path`).
    pub path: Option<String>,
    /// A machine-readable reason (`error.reason`).
    pub reason: Option<String>,
    /// The transactional email concerned, on transactional errors.
    pub transactional_id: Option<String>,
    /// Blocking problems listed in an `errors` array (422 answers).
    pub errors: Vec<ApiIssue>,
    /// Advisory problems listed in a `warnings` array (422 answers, LMX compilation).
    pub warnings: Vec<ApiIssue>,
    /// The MIME types an upload may have (`supportedContentTypes`, on a refused upload).
    pub supported_content_types: Vec<String>,
    /// The size limit in bytes (`maxBytes`, on a 413).
    pub max_bytes: Option<u64>,
    /// The upload cap (`maxUploads`, on the 429 of the daily upload limit).
    pub max_uploads: Option<u64>,
    /// The window of that cap in hours (`windowHours`).
    pub window_hours: Option<u64>,
    /// The current revision, when a 409 body names it in a field (`currentRevisionId`,
    /// `latestRevisionId`, `workflowRevisionId` or `contentRevisionId`). Loops documents no
    /// such field; these names are read so that the revision is kept if one appears.
    pub current_revision_id: Option<String>,
    /// The parsed JSON, when the body was JSON.
    pub json: Option<Value>,
    /// The raw body when it was not JSON (cut to 4 KiB).
    pub raw: Option<String>,
}

/// One item of an `errors` or `warnings` list.
///
/// Loops documents warnings as `{rule, severity, message, path?}`; Guardian-style items use
/// `title` and `description`. Whatever arrives is kept in `json`; `message` is the first text
/// found among `message`, `title`, `description` (or the item itself when it is a string).
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct ApiIssue {
    /// The rule that fired, when named.
    pub rule: Option<String>,
    /// `warning` or `error`, when given.
    pub severity: Option<String>,
    /// A human-readable message.
    pub message: Option<String>,
    /// Where in the request (or the LMX) the problem is.
    pub path: Option<String>,
    /// The item as received.
    pub json: Value,
}

impl ApiIssue {
    fn parse(item: &Value) -> Self {
        if let Some(text) = item.as_str() {
            return ApiIssue {
                message: Some(text.to_owned()),
                json: item.clone(),
                ..ApiIssue::default()
            };
        }
        ApiIssue {
            rule: text(item, "rule"),
            severity: text(item, "severity"),
            message: text(item, "message")
                .or_else(|| text(item, "title"))
                .or_else(|| text(item, "description")),
            path: text(item, "path"),
            json: item.clone(),
        }
    }
}

impl fmt::Display for ApiIssue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.rule, &self.message) {
            (Some(rule), Some(message)) => write!(f, "{rule}: {message}"),
            (None, Some(message)) => f.write_str(message),
            (Some(rule), None) => f.write_str(rule),
            (None, None) => write!(f, "{}", self.json),
        }
    }
}

fn text(v: &Value, key: &str) -> Option<String> {
    v.get(key).and_then(Value::as_str).map(str::to_owned)
}

fn number(v: &Value, key: &str) -> Option<u64> {
    match v.get(key)? {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn issues(v: &Value, key: &str) -> Vec<ApiIssue> {
    v.get(key)
        .and_then(Value::as_array)
        .map(|items| items.iter().map(ApiIssue::parse).collect())
        .unwrap_or_default()
}

impl ApiErrorBody {
    /// Parses any body; never fails.
    pub fn parse(bytes: &[u8]) -> Self {
        let Ok(json) = serde_json::from_slice::<Value>(bytes) else {
            let text = String::from_utf8_lossy(bytes);
            let raw = text.trim();
            return ApiErrorBody {
                raw: (!raw.is_empty()).then(|| truncate(raw)),
                ..ApiErrorBody::default()
            };
        };
        let nested = json.get("error").filter(|e| e.is_object());
        let nested_message = nested.and_then(|e| text(e, "message"));
        let reason = nested.and_then(|e| text(e, "reason"));
        let legacy = json.get("error").and_then(Value::as_str).map(str::to_owned);
        let message = nested_message
            .or_else(|| reason.clone())
            .or_else(|| text(&json, "message"))
            .or(legacy);
        let current_revision_id = [
            "currentRevisionId",
            "latestRevisionId",
            "workflowRevisionId",
            "contentRevisionId",
        ]
        .iter()
        .find_map(|key| text(&json, key));
        ApiErrorBody {
            message,
            path: text(&json, "path").or_else(|| nested.and_then(|e| text(e, "path"))),
            reason,
            transactional_id: text(&json, "transactionalId"),
            errors: issues(&json, "errors"),
            warnings: issues(&json, "warnings"),
            supported_content_types: json
                .get("supportedContentTypes")
                .and_then(Value::as_array)
                .map(|types| {
                    types
                        .iter()
                        .filter_map(Value::as_str)
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_default(),
            max_bytes: number(&json, "maxBytes"),
            max_uploads: number(&json, "maxUploads"),
            window_hours: number(&json, "windowHours"),
            current_revision_id,
            json: Some(json),
            raw: None,
        }
    }
}

fn truncate(text: &str) -> String {
    if text.len() <= MAX_KEPT_BODY {
        return text.to_owned();
    }
    let mut end = MAX_KEPT_BODY;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}

#[cfg_attr(not(feature = "client"), allow(dead_code))]
pub(crate) fn raw_body_text(bytes: &[u8]) -> String {
    truncate(&String::from_utf8_lossy(bytes))
}

impl fmt::Display for ApiErrorBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.message, &self.path, &self.raw) {
            (Some(m), Some(p), _) => write!(f, "{m} (at `{p}`)")?,
            (Some(m), None, _) => f.write_str(m)?,
            (None, Some(p), _) => write!(f, "error at `{p}`")?,
            (None, None, Some(raw)) => {
                let snippet: String = raw.chars().take(200).collect();
                write!(f, "non-JSON body: {snippet}")?;
            }
            (None, None, None) if self.errors.is_empty() => f.write_str("no error message")?,
            (None, None, None) => f.write_str("errors")?,
        }
        for (label, list) in [("error", &self.errors), ("warning", &self.warnings)] {
            for issue in list.iter().take(5) {
                write!(f, "; {label}: {issue}")?;
            }
            if list.len() > 5 {
                write!(f, "; {} more {label}s", list.len() - 5)?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_documented_body_shape() {
        type Row<'a> = (&'a str, Option<&'a str>, Option<&'a str>, Option<&'a str>);
        #[rustfmt::skip]
        let table: &[Row<'_>] = &[
            // current
            (r#"{"success":false,"message":"Invalid email"}"#, Some("Invalid email"), None, None),
            // legacy 401
            (r#"{"error":"Invalid API key"}"#, Some("Invalid API key"), None, None),
            // current 401 with the deprecated key
            (r#"{"success":false,"message":"Invalid API key","error":"Invalid API key"}"#, Some("Invalid API key"), None, None),
            // transactional 1..5
            (r#"{"success":false,"message":"Transactional email not found"}"#, Some("Transactional email not found"), None, None),
            (r#"{"success":false,"message":"Bad field","path":"dataVariables"}"#, Some("Bad field"), Some("dataVariables"), None),
            (r#"{"success":false,"message":"Invalid","error":{"path":"email","message":"Invalid email"}}"#, Some("Invalid email"), Some("email"), None),
            (r#"{"success":false,"message":"Invalid","error":{"path":"attachments","reason":"not enabled"}}"#, Some("not enabled"), Some("attachments"), None),
            (r#"{"success":false,"message":"Missing","error":{"path":"dataVariables","message":"Missing required fields: login_url"},"transactionalId":"clfq6"}"#, Some("Missing required fields: login_url"), Some("dataVariables"), Some("clfq6")),
            // legacy nested without message
            (r#"{"success":false,"error":{"path":"dataVariables","message":"Missing required fields: login_url"},"transactionalId":"clfq6"}"#, Some("Missing required fields: login_url"), Some("dataVariables"), Some("clfq6")),
            // JSON but unexpected
            (r#"[1,2]"#, None, None, None),
            (r#"{"success":false}"#, None, None, None),
        ];
        for (body, message, path, tid) in table {
            let parsed = ApiErrorBody::parse(body.as_bytes());
            assert_eq!(parsed.message.as_deref(), *message, "{body}");
            assert_eq!(parsed.path.as_deref(), *path, "{body}");
            assert_eq!(parsed.transactional_id.as_deref(), *tid, "{body}");
            assert!(parsed.json.is_some());
            assert!(parsed.raw.is_none());
        }
    }

    #[test]
    fn content_fields() {
        let upload = ApiErrorBody::parse(
            br#"{"success":false,"message":"Unsupported","supportedContentTypes":["image/png","image/gif",3],"maxBytes":"4000000"}"#,
        );
        assert_eq!(upload.supported_content_types, ["image/png", "image/gif"]);
        assert_eq!(upload.max_bytes, Some(4_000_000));
        let cap =
            ApiErrorBody::parse(br#"{"message":"Upload limit","maxUploads":50,"windowHours":24}"#);
        assert_eq!((cap.max_uploads, cap.window_hours), (Some(50), Some(24)));
        let lmx = ApiErrorBody::parse(
            br#"{"success":false,"message":"LMX failed to compile","errors":[{"rule":"missingImageSrc","message":"<Image> needs src","path":"lmx:3"},"bare text",{"title":"Guardian title"}],"warnings":[{"rule":"missingAlt","severity":"warning","message":"add alt"}]}"#,
        );
        assert_eq!(lmx.errors.len(), 3);
        assert_eq!(lmx.errors[0].rule.as_deref(), Some("missingImageSrc"));
        assert_eq!(lmx.errors[0].path.as_deref(), Some("lmx:3"));
        assert_eq!(lmx.errors[1].message.as_deref(), Some("bare text"));
        assert_eq!(lmx.errors[2].message.as_deref(), Some("Guardian title"));
        assert_eq!(lmx.warnings[0].severity.as_deref(), Some("warning"));
        let shown = lmx.to_string();
        assert!(
            shown.contains("missingImageSrc: <Image> needs src"),
            "{shown}"
        );
        assert!(shown.contains("warning: missingAlt: add alt"), "{shown}");
        let stale = ApiErrorBody::parse(br#"{"message":"stale","workflowRevisionId":"rev_9"}"#);
        assert_eq!(stale.current_revision_id.as_deref(), Some("rev_9"));
        // Not lists where lists are expected: ignored, never an error.
        let odd = ApiErrorBody::parse(
            br#"{"errors":null,"warnings":{"a":1},"supportedContentTypes":"png"}"#,
        );
        assert!(odd.errors.is_empty() && odd.warnings.is_empty());
        assert!(odd.supported_content_types.is_empty());
    }

    #[test]
    fn non_json_bodies_are_kept() {
        let html = "<html><body><h1>502 Bad Gateway</h1></body></html>";
        let parsed = ApiErrorBody::parse(html.as_bytes());
        assert_eq!(parsed.raw.as_deref(), Some(html));
        assert!(parsed.to_string().contains("502 Bad Gateway"));
        assert_eq!(ApiErrorBody::parse(b"").raw, None);
        let huge = "x".repeat(10_000);
        assert!(ApiErrorBody::parse(huge.as_bytes()).raw.unwrap().len() <= MAX_KEPT_BODY + 3);
        // Invalid UTF-8 does not panic.
        assert!(ApiErrorBody::parse(&[0xff, 0xfe, b'a']).raw.is_some());
    }
}
