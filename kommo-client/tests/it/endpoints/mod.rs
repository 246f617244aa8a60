//! One wiremock test per endpoint, a file per resource: method, path, exact query, bearer
//! header and JSON body.

mod account;
mod batches;
mod companies;
mod contact_chats;
mod contacts;
mod custom_fields;
mod events;
mod files;
mod leads;
mod links;
mod notes;
mod pagination;
mod parity_crm;
mod parity_crm_refused;
mod parity_misc;
mod parity_misc_single;
mod parity_sales;
mod parity_sales_single;
mod pipelines;
mod raw;
mod table;
mod tags;
mod tasks;
mod users;
mod webhook_subscriptions;

use serde_json::{Value, json};
use wiremock::matchers::{body_json, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::{ExactQuery, bearer};

/// Mounts a mock that must be called exactly once with this method, path, exact query,
/// bearer token and (when given) JSON body.
async fn mount(
    server: &MockServer,
    m: &str,
    p: &str,
    query: &[(&str, &str)],
    body: Option<Value>,
    resp: ResponseTemplate,
) {
    let mut mock = Mock::given(method(m))
        .and(path(p))
        .and(ExactQuery::new(query))
        .and(bearer());
    if let Some(b) = body {
        mock = mock.and(body_json(b));
    }
    mock.respond_with(resp).expect(1).mount(server).await;
}

fn ok(v: Value) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(v)
}

/// A batch answer: `_embedded.<key>` with these ids, each echoing its id as `request_id`.
fn added(key: &str, ids: std::ops::Range<u64>) -> Value {
    let items: Vec<Value> = ids
        .map(|i| json!({"id": i, "request_id": i.to_string(), "_links": {}}))
        .collect();
    json!({"_links": {}, "_embedded": {key: items}})
}
