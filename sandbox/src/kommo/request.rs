//! Reading requests the way Kommo does (bracket query strings, array bodies), and its answers:
//! `application/hal+json` on success, `application/problem+json` on errors.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use super::model::ValidationIssue;

/// `Content-Type` of successful answers.
pub(crate) const HAL_JSON: &str = "application/hal+json";
/// `Content-Type` of error answers.
pub(crate) const PROBLEM_JSON: &str = "application/problem+json";

/// An error answer in Kommo's problem+json shape: `{title, type, status, detail}`, plus
/// `validation-errors` for 400s about fields, `hint` for OAuth, `retry_after` for 429s.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ApiError {
    pub(crate) status: StatusCode,
    pub(crate) body: Map<String, Value>,
    /// The validation errors, by batch item (`request_id`), for the scenario API.
    pub(crate) issues: Vec<(String, Vec<ValidationIssue>)>,
}

impl ApiError {
    pub(crate) fn new(status: StatusCode, detail: impl Into<String>) -> Self {
        let title = status.canonical_reason().unwrap_or("Error");
        let mut body = Map::new();
        body.insert("title".into(), json!(title));
        body.insert(
            "type".into(),
            json!(format!("https://httpstatus.es/{}", status.as_u16())),
        );
        body.insert("status".into(), json!(status.as_u16()));
        body.insert("detail".into(), json!(detail.into()));
        ApiError {
            status,
            body,
            issues: Vec::new(),
        }
    }

    pub(crate) fn bad_request(detail: impl Into<String>) -> Self {
        ApiError::new(StatusCode::BAD_REQUEST, detail)
    }

    pub(crate) fn not_found(detail: impl Into<String>) -> Self {
        ApiError::new(StatusCode::NOT_FOUND, detail)
    }

    pub(crate) fn forbidden(detail: impl Into<String>) -> Self {
        ApiError::new(StatusCode::FORBIDDEN, detail)
    }

    /// 400 "Request validation failed" with `validation-errors`, one group per failing item.
    pub(crate) fn validation(groups: Vec<(String, Vec<ValidationIssue>)>) -> Self {
        let mut error = ApiError::bad_request("Request validation failed");
        let list: Vec<Value> = groups
            .iter()
            .map(|(request_id, errors)| json!({ "request_id": request_id, "errors": errors }))
            .collect();
        error
            .body
            .insert("validation-errors".into(), Value::Array(list));
        error.issues = groups;
        error
    }

    /// A validation error for a single object (not a batch): `request_id` `"0"`.
    pub(crate) fn invalid(issues: Vec<ValidationIssue>) -> Self {
        ApiError::validation(vec![("0".to_owned(), issues)])
    }

    /// Adds a member (`hint`, `retry_after`, ...).
    pub(crate) fn with(mut self, key: &str, value: Value) -> Self {
        self.body.insert(key.to_owned(), value);
        self
    }

    /// The `detail` text.
    pub(crate) fn detail(&self) -> String {
        self.body
            .get("detail")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (self.status, axum::Json(Value::Object(self.body))).into_response();
        response
            .headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        response
    }
}

pub(crate) type ApiResult = Result<Response, ApiError>;

/// A 200 `application/hal+json` answer.
pub(crate) fn hal(body: Value) -> Response {
    let mut response = axum::Json(body).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(HAL_JSON));
    response
}

/// A 204 with an empty body: Kommo's answer to an empty list, a search without hits, a
/// missing id.
pub(crate) fn no_content() -> Response {
    StatusCode::NO_CONTENT.into_response()
}

/// The query string: decoded pairs, in order.
#[derive(Debug, Clone, Default)]
pub(crate) struct Query {
    pairs: Vec<(String, String)>,
}

impl Query {
    pub(crate) fn parse(raw: Option<&str>) -> Self {
        Query {
            pairs: raw
                .map(|q| {
                    form_urlencoded::parse(q.as_bytes())
                        .map(|(k, v)| (k.into_owned(), v.into_owned()))
                        .collect()
                })
                .unwrap_or_default(),
        }
    }

    /// Every pair, in order.
    pub(crate) fn pairs(&self) -> &[(String, String)] {
        &self.pairs
    }

    /// The first value of `key`.
    pub(crate) fn get(&self, key: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Every value of `key`, `key[]` and `key[<n>]`.
    pub(crate) fn all(&self, key: &str) -> Vec<&str> {
        self.pairs
            .iter()
            .filter(|(k, _)| {
                k == key
                    || k.strip_prefix(key).is_some_and(|rest| {
                        rest.starts_with('[')
                            && rest.ends_with(']')
                            && rest[1..rest.len() - 1].bytes().all(|b| b.is_ascii_digit())
                    })
            })
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// `with=a,b` as a list.
    pub(crate) fn with(&self) -> Vec<String> {
        self.get("with")
            .map(|w| {
                w.split(',')
                    .map(|s| s.trim().to_owned())
                    .filter(|s| !s.is_empty())
                    .collect()
            })
            .unwrap_or_default()
    }

    pub(crate) fn has_with(&self, name: &str) -> bool {
        self.with().iter().any(|w| w == name)
    }

    /// `page` (1-based, default 1) and `limit` (default 50, at most 250).
    pub(crate) fn page_limit(&self) -> (usize, usize) {
        self.page_limit_max(250)
    }

    /// `page` and `limit` (default 50, at most `max`).
    pub(crate) fn page_limit_max(&self, max: usize) -> (usize, usize) {
        let page = self
            .get("page")
            .and_then(|p| p.trim().parse::<usize>().ok())
            .filter(|p| *p >= 1)
            .unwrap_or(1);
        let limit = self
            .get("limit")
            .and_then(|l| l.trim().parse::<usize>().ok())
            .map_or(50.min(max), |l| l.clamp(1, max));
        (page, limit)
    }

    /// Every value of `key` (see [`Query::all`]), a value's commas splitting it further,
    /// blanks dropped; `None` when the key is absent.
    pub(crate) fn values(&self, key: &str) -> Option<Vec<&str>> {
        let values = self.all(key);
        (!values.is_empty()).then(|| {
            values
                .iter()
                .flat_map(|v| v.split(','))
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .collect()
        })
    }

    /// [`Query::values`] as numbers: a value that is not one is a 400 naming `key` (the fake's
    /// choice: Kommo documents no answer), rather than a filter that quietly answers for the
    /// other values alone.
    pub(crate) fn numbers(&self, key: &str) -> Result<Option<Vec<u64>>, ApiError> {
        self.values(key)
            .map(|values| {
                values
                    .iter()
                    .map(|v| v.parse::<u64>())
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|_| ApiError::bad_request(format!("{key} takes numbers")))
            })
            .transpose()
    }

    /// The numeric values of `filter[name]` (single or list), others dropped; `None` when
    /// absent. The entity lists have always read their filters this way; the chats list and
    /// the events log refuse what is not a number ([`Query::numbers`]).
    pub(crate) fn filter_ids(&self, name: &str) -> Option<Vec<u64>> {
        self.values(&format!("filter[{name}]"))
            .map(|values| values.iter().filter_map(|v| v.parse().ok()).collect())
    }

    /// `filter[name]` as one string.
    pub(crate) fn filter(&self, name: &str) -> Option<&str> {
        self.get(&format!("filter[{name}]"))
    }

    /// `filter[name][from]`/`[to]`, or `filter[name]=<exact>` (unix seconds).
    pub(crate) fn filter_range(&self, name: &str) -> (Option<i64>, Option<i64>) {
        let number = |k: String| self.get(&k).and_then(|v| v.trim().parse::<i64>().ok());
        if let Some(exact) = number(format!("filter[{name}]")) {
            return (Some(exact), Some(exact));
        }
        (
            number(format!("filter[{name}][from]")),
            number(format!("filter[{name}][to]")),
        )
    }

    /// `filter[statuses][i][pipeline_id]` / `[status_id]` pairs.
    pub(crate) fn filter_statuses(&self) -> Vec<(Option<u64>, Option<u64>)> {
        let mut found: std::collections::BTreeMap<String, (Option<u64>, Option<u64>)> =
            Default::default();
        for (key, value) in &self.pairs {
            let Some(rest) = key.strip_prefix("filter[statuses][") else {
                continue;
            };
            let Some((index, field)) = rest.split_once("][") else {
                continue;
            };
            let entry = found.entry(index.to_owned()).or_default();
            let id = value.trim().parse().ok();
            match field {
                "pipeline_id]" => entry.0 = id,
                "status_id]" => entry.1 = id,
                _ => {}
            }
        }
        found.into_values().collect()
    }

    /// `order[field]=asc|desc`: the field and whether ascending.
    pub(crate) fn order(&self) -> Option<(String, bool)> {
        self.pairs.iter().find_map(|(k, v)| {
            let field = k.strip_prefix("order[")?.strip_suffix(']')?;
            Some((field.to_owned(), !v.eq_ignore_ascii_case("desc")))
        })
    }

    /// The query re-encoded without `page`/`limit`, for building page links.
    pub(crate) fn without_paging(&self) -> Vec<(String, String)> {
        self.pairs
            .iter()
            .filter(|(k, _)| k != "page" && k != "limit")
            .cloned()
            .collect()
    }

    /// The query re-encoded as sent (for `_links.self` of embedded items, which Kommo echoes).
    pub(crate) fn encoded(&self) -> String {
        encode(&self.pairs)
    }
}

/// Encodes pairs as a query string (brackets percent-encoded).
pub(crate) fn encode(pairs: &[(String, String)]) -> String {
    let mut s = form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        s.append_pair(k, v);
    }
    s.finish()
}

/// The most entities one add or update may carry.
pub(crate) const MAX_BATCH: usize = 250;

/// A JSON body, or 400.
pub(crate) fn json_body(body: &[u8]) -> Result<Value, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::bad_request("Request data can not be empty"));
    }
    serde_json::from_slice(body)
        .map_err(|_| ApiError::bad_request("Request body is not valid JSON"))
}

/// A batch body: a non-empty array of at most `max` objects (400 otherwise; 422 over `max`).
pub(crate) fn batch_body(body: &[u8], max: usize) -> Result<Vec<Map<String, Value>>, ApiError> {
    let items = match json_body(body)? {
        Value::Array(items) => items,
        Value::Object(_) => {
            return Err(ApiError::bad_request(
                "Request data must be an array of entities",
            ));
        }
        _ => return Err(ApiError::bad_request("Request data can not be empty")),
    };
    if items.is_empty() {
        return Err(ApiError::bad_request("Request data can not be empty"));
    }
    if items.len() > max {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            format!("Limit {max} per page"),
        ));
    }
    items
        .into_iter()
        .map(|item| match item {
            Value::Object(object) => Ok(object),
            _ => Err(ApiError::bad_request("Every entity must be a JSON object")),
        })
        .collect()
}

/// A single-object body (`PATCH /api/v4/leads/{id}`).
pub(crate) fn object_body(body: &[u8]) -> Result<Map<String, Value>, ApiError> {
    match json_body(body)? {
        Value::Object(object) if !object.is_empty() => Ok(object),
        Value::Object(_) => Err(ApiError::bad_request("Request data can not be empty")),
        _ => Err(ApiError::bad_request("Request data must be an object")),
    }
}

/// The `request_id` of batch item `index`: as sent (string or number), else the index.
pub(crate) fn request_id(item: &Map<String, Value>, index: usize) -> String {
    match item.get("request_id") {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => index.to_string(),
    }
}

/// A path id segment: a positive integer, or `None` (the route then answers 404).
pub(crate) fn path_id(segment: &str) -> Option<u64> {
    segment.parse().ok().filter(|id| *id > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_filters() {
        let q = Query::parse(Some(
            "with=contacts,%20companies&page=2&limit=900&filter%5Bid%5D%5B%5D=1&filter%5Bid%5D%5B%5D=2\
             &filter%5Bstatuses%5D%5B0%5D%5Bpipeline_id%5D=7&filter%5Bstatuses%5D%5B0%5D%5Bstatus_id%5D=142\
             &filter%5Bupdated_at%5D%5Bfrom%5D=10&order%5Bupdated_at%5D=desc&query=a%40b.co",
        ));
        assert_eq!(q.with(), vec!["contacts", "companies"]);
        assert!(q.has_with("companies"));
        assert_eq!(q.page_limit(), (2, 250));
        assert_eq!(q.filter_ids("id"), Some(vec![1, 2]));
        assert_eq!(q.filter_ids("responsible_user_id"), None);
        assert_eq!(q.filter_statuses(), vec![(Some(7), Some(142))]);
        assert_eq!(q.filter_range("updated_at"), (Some(10), None));
        assert_eq!(q.order(), Some(("updated_at".to_owned(), false)));
        assert_eq!(q.get("query"), Some("a@b.co"));
        assert!(!q.without_paging().iter().any(|(k, _)| k == "page"));
        assert_eq!(Query::parse(None).page_limit(), (1, 50));
    }

    #[test]
    fn bodies() {
        assert_eq!(
            batch_body(b"[]", 250).unwrap_err().status,
            StatusCode::BAD_REQUEST
        );
        assert_eq!(
            batch_body(b"", 250).unwrap_err().status,
            StatusCode::BAD_REQUEST
        );
        assert_eq!(
            batch_body(b"{}", 250).unwrap_err().status,
            StatusCode::BAD_REQUEST
        );
        assert_eq!(
            batch_body(b"[{},{}]", 1).unwrap_err().status,
            StatusCode::UNPROCESSABLE_ENTITY
        );
        assert_eq!(batch_body(br#"[{"a":1}]"#, 250).unwrap().len(), 1);
        assert!(object_body(b"{}").is_err());
        let error = ApiError::validation(vec![(
            "7".into(),
            vec![ValidationIssue::choice("status_id")],
        )]);
        assert_eq!(error.body["validation-errors"][0]["request_id"], "7");
        assert_eq!(
            error.body["validation-errors"][0]["errors"][0]["code"],
            "NotSupportedChoice"
        );
        assert_eq!(error.body["type"], "https://httpstatus.es/400");
        let mut item = Map::new();
        assert_eq!(request_id(&item, 3), "3");
        item.insert("request_id".into(), json!(12));
        assert_eq!(request_id(&item, 3), "12");
        assert_eq!(path_id("12"), Some(12));
        assert_eq!(path_id("0"), None);
        assert_eq!(path_id("x"), None);
    }
}
