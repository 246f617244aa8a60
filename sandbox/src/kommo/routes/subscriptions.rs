//! Webhook subscriptions: `/api/v4/webhooks` (admins only).

use std::cmp::Ordering;

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use kommo_client::webhook_subscriptions::WebhookSetting;
use serde_json::Value;

use super::super::model::ValidationIssue;
use super::super::render;
use super::super::request::{ApiError, ApiResult, Query, hal, json_body, no_content};
use super::{App, require_admin};

pub(super) async fn webhooks_list(State(app): App, RawQuery(q): RawQuery) -> ApiResult {
    require_admin(&app)?;
    let query = Query::parse(q.as_deref());
    let destination = query.filter("destination").map(str::to_owned);
    let ctx = app.ctx();
    let state = app.lock();
    let mut subs: Vec<_> = state
        .subscriptions
        .iter()
        .filter(|s| destination.as_deref().is_none_or(|d| s.destination == d))
        .collect();
    subs.sort_by(|a, b| match a.sort.cmp(&b.sort) {
        Ordering::Equal => a.id.cmp(&b.id),
        other => other,
    });
    let items = subs.iter().map(|s| render::subscription(&ctx, s)).collect();
    Ok(render::collection(
        &ctx,
        "/api/v4/webhooks",
        items,
        "webhooks",
    ))
}

pub(super) async fn webhooks_subscribe(State(app): App, body: Bytes) -> ApiResult {
    require_admin(&app)?;
    let Value::Object(item) = json_body(&body)? else {
        return Err(ApiError::bad_request("Request data must be an object"));
    };
    let mut issues = Vec::new();
    let destination = item
        .get("destination")
        .and_then(Value::as_str)
        .unwrap_or("");
    if destination.trim().is_empty() {
        issues.push(ValidationIssue::blank("destination"));
    } else if !(destination.starts_with("http://") || destination.starts_with("https://")) {
        issues.push(ValidationIssue::new(
            "InvalidUrl",
            "destination",
            "This value is not a valid URL.",
        ));
    }
    let settings: Vec<WebhookSetting> = match item.get("settings") {
        Some(Value::Array(list)) if !list.is_empty() => {
            let parsed: Option<Vec<WebhookSetting>> = list
                .iter()
                .map(|v| v.as_str().map(WebhookSetting::other))
                .collect();
            parsed.unwrap_or_else(|| {
                issues.push(ValidationIssue::invalid_type(
                    "settings",
                    "array of strings",
                ));
                Vec::new()
            })
        }
        _ => {
            issues.push(ValidationIssue::blank("settings"));
            Vec::new()
        }
    };
    let sort = item.get("sort").and_then(Value::as_i64);
    let mut state = app.lock();
    if !state
        .subscriptions
        .iter()
        .any(|s| s.destination == destination)
        && state.subscriptions.len() >= 100
    {
        issues.push(ValidationIssue::new(
            "Count",
            "destination",
            "An account can have at most 100 webhooks.",
        ));
    }
    if !issues.is_empty() {
        return Err(ApiError::invalid(issues));
    }
    let sub = state.subscribe(destination, settings, sort, app.config.api_user);
    Ok(hal(render::subscription(&app.ctx(), &sub)))
}

pub(super) async fn webhooks_unsubscribe(State(app): App, body: Bytes) -> ApiResult {
    require_admin(&app)?;
    let destination = match json_body(&body)? {
        Value::Object(o) => o
            .get("destination")
            .and_then(Value::as_str)
            .map(str::to_owned),
        _ => None,
    };
    let Some(destination) = destination.filter(|d| !d.trim().is_empty()) else {
        return Err(ApiError::invalid(vec![ValidationIssue::blank(
            "destination",
        )]));
    };
    app.lock().unsubscribe(&destination);
    Ok(no_content())
}
