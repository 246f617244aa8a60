//! Reading requests the way Loops does, and its error answers.

use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

/// The longest string value Loops accepts: 500 characters including the JSON quotes.
const MAX_VALUE_CHARS: usize = 498;

/// The longest `Idempotency-Key` Loops accepts.
const MAX_IDEMPOTENCY_KEY_CHARS: usize = 100;

/// An error answer. The body is always JSON in the current Loops envelope,
/// `{"success": false, "message": "..."}`, sometimes with more keys.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ApiError {
    pub(crate) status: StatusCode,
    pub(crate) body: Value,
}

impl ApiError {
    pub(crate) fn new(status: StatusCode, message: impl Into<String>) -> Self {
        ApiError {
            status,
            body: json!({ "success": false, "message": message.into() }),
        }
    }

    pub(crate) fn bad_request(message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::BAD_REQUEST, message)
    }

    pub(crate) fn not_found(message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::NOT_FOUND, message)
    }

    pub(crate) fn conflict(message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::CONFLICT, message)
    }

    /// Adds a top-level key (`path`, `error`, `transactionalId`).
    pub(crate) fn with(mut self, key: &str, value: Value) -> Self {
        if let Value::Object(object) = &mut self.body {
            object.insert(key.to_owned(), value);
        }
        self
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, axum::Json(self.body)).into_response()
    }
}

/// The body as a JSON object, or 400.
pub(crate) fn json_object(body: &[u8]) -> Result<Map<String, Value>, ApiError> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(object)) => Ok(object),
        Ok(_) => Err(ApiError::bad_request(
            "The request body must be a JSON object.",
        )),
        Err(_) => Err(ApiError::bad_request("Invalid JSON in the request body.")),
    }
}

/// Refuses any key or string value longer than Loops allows, searching nested values too
/// except under the keys in `skip` (attachment data is long by nature).
pub(crate) fn check_lengths(object: &Map<String, Value>, skip: &[&str]) -> Result<(), ApiError> {
    fn too_long(s: &str) -> bool {
        s.chars().count() > MAX_VALUE_CHARS
    }
    fn walk(value: &Value) -> bool {
        match value {
            Value::String(s) => too_long(s),
            Value::Array(items) => items.iter().any(walk),
            Value::Object(object) => object.iter().any(|(k, v)| too_long(k) || walk(v)),
            _ => false,
        }
    }
    let bad = object
        .iter()
        .filter(|(k, _)| !skip.contains(&k.as_str()))
        .any(|(k, v)| too_long(k) || walk(v));
    if bad {
        Err(ApiError::bad_request(
            "Some body key or value is longer than allowable",
        ))
    } else {
        Ok(())
    }
}

/// The query parameters, in order.
pub(crate) fn query_pairs(query: Option<&str>) -> Vec<(String, String)> {
    query
        .map(|q| {
            form_urlencoded::parse(q.as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect()
        })
        .unwrap_or_default()
}

/// One query parameter (the first, if repeated).
pub(crate) fn query_param<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// Exactly one of `email` / `userId`, from a query string or a body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Lookup {
    Email(String),
    UserId(String),
}

impl Lookup {
    pub(crate) fn from_parts(email: Option<&str>, user_id: Option<&str>) -> Result<Self, ApiError> {
        let email = email.filter(|s| !s.is_empty());
        let user_id = user_id.filter(|s| !s.is_empty());
        match (email, user_id) {
            (Some(_), Some(_)) => Err(ApiError::bad_request(
                "Only one parameter is allowed: email or userId.",
            )),
            (None, None) => Err(ApiError::bad_request("An email or userId is required.")),
            (Some(email), None) => {
                if is_valid_email(email) {
                    Ok(Lookup::Email(email.to_owned()))
                } else {
                    Err(ApiError::bad_request("Invalid email address."))
                }
            }
            (None, Some(id)) => Ok(Lookup::UserId(id.to_owned())),
        }
    }

    pub(crate) fn from_query(pairs: &[(String, String)]) -> Result<Self, ApiError> {
        Lookup::from_parts(query_param(pairs, "email"), query_param(pairs, "userId"))
    }
}

/// A plausible address: one `@`, something before it, a dotted domain after it, no spaces.
pub(crate) fn is_valid_email(email: &str) -> bool {
    let Some((local, domain)) = email.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && !domain.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !email.chars().any(char::is_whitespace)
}

/// The `Idempotency-Key` header: `None` when absent or empty (the JS SDK drops empty keys),
/// 400 when longer than 100 characters or not text.
pub(crate) fn idempotency_key(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    let Some(value) = headers.get("idempotency-key") else {
        return Ok(None);
    };
    let key = value
        .to_str()
        .map_err(|_| ApiError::bad_request("The Idempotency-Key header must be text."))?
        .trim();
    if key.is_empty() {
        return Ok(None);
    }
    if key.chars().count() > MAX_IDEMPOTENCY_KEY_CHARS {
        return Err(ApiError::bad_request(
            "The Idempotency-Key header must be 100 characters or fewer.",
        ));
    }
    Ok(Some(key.to_owned()))
}

/// An optional string field: absent and `null` are `None`; another type is 400.
pub(crate) fn optional_string(
    object: &Map<String, Value>,
    key: &str,
) -> Result<Option<String>, ApiError> {
    match object.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => {
            Err(ApiError::bad_request(format!("`{key}` must be a string."))
                .with("path", json!(key)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails() {
        for ok in ["a@b.co", "ada+crm@example.com", "x.y@sub.example.org"] {
            assert!(is_valid_email(ok), "{ok}");
        }
        for bad in [
            "", "a", "@b.co", "a@", "a@b", "a@.b", "a@b.", "a b@c.d", "a@b@c.d",
        ] {
            assert!(!is_valid_email(bad), "{bad}");
        }
    }

    #[test]
    fn lookups() {
        assert_eq!(
            Lookup::from_parts(Some("a@b.co"), None),
            Ok(Lookup::Email("a@b.co".into()))
        );
        assert_eq!(
            Lookup::from_parts(None, Some("u1")),
            Ok(Lookup::UserId("u1".into()))
        );
        for (email, user) in [
            (Some("a@b.co"), Some("u")),
            (None, None),
            (Some(""), None),
            (Some("nope"), None),
        ] {
            let err = Lookup::from_parts(email, user).unwrap_err();
            assert_eq!(err.status, StatusCode::BAD_REQUEST);
        }
    }

    #[test]
    fn lengths_and_keys() {
        let ok = json_object(br#"{"a":"x"}"#).unwrap();
        assert!(check_lengths(&ok, &[]).is_ok());
        let long = json!({"nested": {"v": "y".repeat(499)}});
        let Value::Object(long) = long else {
            unreachable!()
        };
        assert!(check_lengths(&long, &[]).is_err());
        assert!(check_lengths(&long, &["nested"]).is_ok());
        assert!(json_object(b"[1]").is_err());
        assert!(json_object(b"{nope").is_err());

        let mut headers = HeaderMap::new();
        assert_eq!(idempotency_key(&headers), Ok(None));
        headers.insert("idempotency-key", "".parse().unwrap());
        assert_eq!(idempotency_key(&headers), Ok(None));
        headers.insert("idempotency-key", "k".repeat(100).parse().unwrap());
        assert!(idempotency_key(&headers).unwrap().is_some());
        headers.insert("idempotency-key", "k".repeat(101).parse().unwrap());
        assert!(idempotency_key(&headers).is_err());
    }
}
