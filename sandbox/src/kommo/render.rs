//! The v4 JSON of entities and collections: HAL `_links`/`_embedded`, unix-second timestamps,
//! `custom_fields_values: null` when empty.

use axum::response::Response;
use kommo_client::ids::{AccountId, PipelineId};
use serde_json::{Value, json};

use super::config::Config;
use super::fields;
use super::model::{Company, Contact, Lead, Link, Subscription, Tag};
use super::request::{Query, encode, hal, no_content};
use super::sales::ElementLink;
use super::seeds::{CustomFieldSeed, PipelineSeed, StatusSeed, UserSeed};
use super::state::State;

/// What every rendering needs: the sandbox's base URL (links point back at it) and the
/// account id.
#[derive(Debug, Clone)]
pub(crate) struct Ctx {
    /// `http://127.0.0.1:PORT`.
    pub(crate) base: String,
    pub(crate) account_id: AccountId,
}

impl Ctx {
    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// `{"self": {"href": ...}}`.
    pub(crate) fn self_link(&self, path: &str) -> Value {
        json!({ "self": { "href": self.url(path) } })
    }

    /// An entity's own link, echoing the request's query string as Kommo does.
    fn entity_link(&self, path: &str, echo: &str) -> Value {
        if echo.is_empty() {
            self.self_link(path)
        } else {
            self.self_link(&format!("{path}?{echo}"))
        }
    }

    fn reference(&self, kind: &str, id: u64, echo: &str) -> Value {
        json!({ "id": id, "_links": self.entity_link(&format!("/api/v4/{kind}/{id}"), echo) })
    }
}

/// A price as Kommo shows it: an integer when whole.
fn price(value: f64) -> Value {
    if value.fract() == 0.0 && value.abs() < 9.0e15 {
        json!(value as i64)
    } else {
        json!(value)
    }
}

fn tags(tags: &[Tag]) -> Value {
    Value::Array(
        tags.iter()
            .map(|t| json!({ "id": t.id, "name": t.name, "color": t.color }))
            .collect(),
    )
}

/// A lead; `with` adds `contacts`, `loss_reason`, `is_price_modified_by_robot`, ...
pub(crate) fn lead(ctx: &Ctx, state: &State, lead: &Lead, query: &Query) -> Value {
    let echo = query.encoded();
    let mut embedded = json!({
        "tags": tags(&lead.tags),
        "companies": lead.company.iter().map(|c| ctx.reference("companies", c.0, &echo)).collect::<Vec<_>>(),
    });
    if query.has_with("contacts") {
        embedded["contacts"] = Value::Array(
            lead.contacts
                .iter()
                .map(|c| {
                    json!({
                        "id": c.id,
                        "is_main": c.is_main,
                        "_links": ctx.entity_link(&format!("/api/v4/contacts/{}", c.id), &echo),
                    })
                })
                .collect(),
        );
    }
    if query.has_with("loss_reason") {
        embedded["loss_reason"] = Value::Array(
            lead.loss_reason_id
                .map(|id| json!({ "id": id, "name": format!("Loss reason {id}") }))
                .into_iter()
                .collect(),
        );
    }
    if query.has_with("catalog_elements") {
        embedded["catalog_elements"] = Value::Array(
            state
                .sales
                .element_links
                .iter()
                .filter(|l| l.lead == lead.id.0)
                .map(|l| {
                    json!({
                        "id": l.element,
                        "metadata": element_metadata(l),
                        "_links": ctx.self_link(&format!(
                            "/api/v4/catalogs/{}/elements/{}",
                            l.catalog, l.element
                        )),
                    })
                })
                .collect(),
        );
    }
    let mut value = json!({
        "id": lead.id,
        "name": lead.name,
        "price": price(lead.price),
        "responsible_user_id": lead.responsible_user_id,
        "group_id": 0,
        "status_id": lead.status_id,
        "pipeline_id": lead.pipeline_id,
        "loss_reason_id": lead.loss_reason_id,
        "created_by": lead.created_by,
        "updated_by": lead.updated_by,
        "created_at": lead.created_at,
        "updated_at": lead.updated_at,
        "closed_at": lead.closed_at,
        "closest_task_at": state.closest_task_at(kommo_client::common::EntityType::Leads, lead.id.0),
        "is_deleted": false,
        "custom_fields_values": fields::to_json(&lead.custom_fields),
        "score": null,
        "account_id": ctx.account_id,
        "labor_cost": null,
        "is_price_computed": false,
        "_links": ctx.entity_link(&format!("/api/v4/leads/{}", lead.id), &echo),
        "_embedded": embedded,
    });
    if query.has_with("is_price_modified_by_robot") {
        value["is_price_modified_by_robot"] = json!(false);
    }
    value
}

/// A contact; `with=leads` adds `_embedded.leads`.
pub(crate) fn contact(ctx: &Ctx, state: &State, contact: &Contact, query: &Query) -> Value {
    let echo = query.encoded();
    let mut embedded = json!({
        "tags": tags(&contact.tags),
        "companies": contact.company.iter().map(|c| ctx.reference("companies", c.0, &echo)).collect::<Vec<_>>(),
    });
    if query.has_with("leads") {
        embedded["leads"] = Value::Array(
            state
                .leads_of_contact(contact.id)
                .into_iter()
                .map(|l| ctx.reference("leads", l.0, &echo))
                .collect(),
        );
    }
    if query.has_with("customers") {
        embedded["customers"] = json!([]);
    }
    if query.has_with("catalog_elements") {
        embedded["catalog_elements"] = json!([]);
    }
    json!({
        "id": contact.id,
        "name": contact.name,
        "first_name": contact.first_name.clone().unwrap_or_default(),
        "last_name": contact.last_name.clone().unwrap_or_default(),
        "responsible_user_id": contact.responsible_user_id,
        "group_id": 0,
        "created_by": contact.created_by,
        "updated_by": contact.updated_by,
        "created_at": contact.created_at,
        "updated_at": contact.updated_at,
        "closest_task_at": state.closest_task_at(kommo_client::common::EntityType::Contacts, contact.id.0),
        "is_deleted": false,
        "is_unsorted": false,
        "custom_fields_values": fields::to_json(&contact.custom_fields),
        "account_id": ctx.account_id,
        "_links": ctx.entity_link(&format!("/api/v4/contacts/{}", contact.id), &echo),
        "_embedded": embedded,
    })
}

/// A company; `with=contacts` and `with=leads` add the linked entities.
pub(crate) fn company(ctx: &Ctx, state: &State, company: &Company, query: &Query) -> Value {
    let echo = query.encoded();
    let mut embedded = json!({ "tags": tags(&company.tags) });
    if query.has_with("contacts") {
        embedded["contacts"] = Value::Array(
            state
                .contacts_of_company(company.id)
                .into_iter()
                .map(|c| ctx.reference("contacts", c.0, &echo))
                .collect(),
        );
    }
    if query.has_with("leads") {
        embedded["leads"] = Value::Array(
            state
                .leads_of_company(company.id)
                .into_iter()
                .map(|l| ctx.reference("leads", l.0, &echo))
                .collect(),
        );
    }
    if query.has_with("customers") {
        embedded["customers"] = json!([]);
    }
    json!({
        "id": company.id,
        "name": company.name,
        "responsible_user_id": company.responsible_user_id,
        "group_id": 0,
        "created_by": company.created_by,
        "updated_by": company.updated_by,
        "created_at": company.created_at,
        "updated_at": company.updated_at,
        "closest_task_at": state.closest_task_at(kommo_client::common::EntityType::Companies, company.id.0),
        "is_deleted": false,
        "custom_fields_values": fields::to_json(&company.custom_fields),
        "account_id": ctx.account_id,
        "_links": ctx.entity_link(&format!("/api/v4/companies/{}", company.id), &echo),
        "_embedded": embedded,
    })
}

/// A status of a pipeline.
pub(crate) fn status(ctx: &Ctx, pipeline: PipelineId, status: &StatusSeed) -> Value {
    json!({
        "id": status.id,
        "name": status.name,
        "sort": status.sort,
        "is_editable": status.is_editable,
        "pipeline_id": pipeline,
        "color": status.color,
        "type": status.kind,
        "account_id": ctx.account_id,
        "_links": ctx.self_link(&format!("/api/v4/leads/pipelines/{pipeline}/statuses/{}", status.id)),
    })
}

/// A pipeline with its statuses.
pub(crate) fn pipeline(ctx: &Ctx, pipeline: &PipelineSeed) -> Value {
    json!({
        "id": pipeline.id,
        "name": pipeline.name,
        "sort": pipeline.sort,
        "is_main": pipeline.is_main,
        "is_unsorted_on": pipeline.is_unsorted_on,
        "is_archive": pipeline.is_archive,
        "account_id": ctx.account_id,
        "_links": ctx.self_link(&format!("/api/v4/leads/pipelines/{}", pipeline.id)),
        "_embedded": {
            "statuses": pipeline.statuses.iter().map(|s| status(ctx, pipeline.id, s)).collect::<Vec<_>>(),
        },
    })
}

/// A custom field definition.
pub(crate) fn field_definition(ctx: &Ctx, def: &CustomFieldSeed) -> Value {
    let enums: Value = if def.enums.is_empty() {
        Value::Null
    } else {
        def.enums
            .iter()
            .map(|e| json!({ "id": e.id, "value": e.value, "sort": e.sort }))
            .collect()
    };
    json!({
        "id": def.id,
        "name": def.name,
        "type": def.field_type.as_str(),
        "account_id": ctx.account_id,
        "code": def.code,
        "sort": def.sort,
        "is_api_only": def.is_api_only,
        "enums": enums,
        "group_id": null,
        "required_statuses": [],
        "is_deletable": !def.is_predefined,
        "is_predefined": def.is_predefined,
        "entity_type": def.entity_type.as_str(),
        "remind": null,
        "settings": null,
        "hidden_statuses": [],
        "chained_lists": null,
        "tracking_callback": null,
        "search_in": null,
        "currency": null,
        "_links": ctx.self_link(&format!(
            "/api/v4/{}/custom_fields/{}",
            def.entity_type.as_str(),
            def.id
        )),
    })
}

/// A user with full rights (admins) or the usual manager rights.
pub(crate) fn user(ctx: &Ctx, user: &UserSeed) -> Value {
    let crud = json!({ "view": "A", "edit": "A", "add": "A", "delete": "A", "export": "A" });
    json!({
        "id": user.id,
        "name": user.name,
        "email": user.email,
        "lang": user.lang,
        "rights": {
            "leads": crud,
            "contacts": crud,
            "companies": crud,
            "tasks": { "edit": "A", "delete": "A" },
            "mail_access": true,
            "catalog_access": true,
            "status_rights": [],
            "is_admin": user.is_admin,
            "is_free": false,
            "is_active": user.is_active,
            "group_id": null,
            "role_id": null,
        },
        "_links": ctx.self_link(&format!("/api/v4/users/{}", user.id)),
    })
}

/// A webhook subscription.
pub(crate) fn subscription(ctx: &Ctx, sub: &Subscription) -> Value {
    json!({
        "id": sub.id,
        "account_id": ctx.account_id,
        "created_by": sub.created_by,
        "created_at": sub.created_at,
        "updated_at": sub.updated_at,
        "sort": sub.sort,
        "disabled": sub.disabled,
        "destination": sub.destination,
        "settings": sub.settings,
    })
}

/// A link between entities (`metadata.main_contact` for lead-contact links).
pub(crate) fn link(link: &Link) -> Value {
    json!({
        "entity_id": link.entity_id,
        "entity_type": link.entity_type.as_str(),
        "to_entity_id": link.to_entity_id,
        "to_entity_type": link.to_entity_type.as_str(),
        "metadata": link.is_main.map(|main| json!({ "main_contact": main })),
    })
}

/// An element on a lead, as a link.
pub(crate) fn element_link(link: &ElementLink) -> Value {
    json!({
        "entity_id": link.lead,
        "entity_type": "leads",
        "to_entity_id": link.element,
        "to_entity_type": "catalog_elements",
        "metadata": element_metadata(link),
    })
}

fn element_metadata(link: &ElementLink) -> Value {
    json!({
        "quantity": link.quantity,
        "catalog_id": link.catalog,
        "price_id": link.price_id,
    })
}

/// `GET /api/v4/account` (with `with=` extras).
pub(crate) fn account(ctx: &Ctx, config: &Config, state: &State, query: &Query) -> Value {
    let mut value = json!({
        "id": config.account_id,
        "name": config.account_name,
        "subdomain": config.subdomain,
        "created_at": 1_577_836_800,
        "created_by": config.api_user,
        "updated_at": 1_577_836_800,
        "updated_by": config.api_user,
        "current_user_id": config.api_user,
        "country": "US",
        "currency": config.currency,
        "currency_symbol": if config.currency == "USD" { "$" } else { "" },
        "customers_mode": "disabled",
        "is_unsorted_on": true,
        "mobile_feature_version": 0,
        "is_loss_reason_enabled": true,
        "is_helpbot_enabled": false,
        "is_technical_account": false,
        "contact_name_display_order": 1,
        "_links": ctx.self_link("/api/v4/account"),
    });
    let mut embedded = serde_json::Map::new();
    for with in query.with() {
        match with.as_str() {
            "amojo_id" => value["amojo_id"] = json!(format!("sandbox-{}", config.account_id)),
            "version" => value["version"] = json!(11),
            "drive_url" => value["drive_url"] = json!(format!("{}/drive", ctx.base)),
            "datetime_settings" => {
                value["datetime_settings"] = json!({
                    "date_pattern": "Y-m-d", "short_date_pattern": "Y-m-d",
                    "short_time_pattern": "H:i", "date_format": "Y-m-d", "time_format": "H:i:s",
                    "timezone": "UTC", "timezone_offset": "+00:00",
                });
            }
            "entity_names" => {
                value["entity_names"] = json!({ "leads": { "en": { "singular_form": { "default": "lead" }, "plural_form": { "default": "leads" } } } });
            }
            "task_types" => {
                embedded.insert(
                    "task_types".into(),
                    state
                        .task_types
                        .iter()
                        .map(|t| json!({ "id": t.id, "name": t.name, "color": null, "icon_id": null, "code": t.code }))
                        .collect(),
                );
            }
            "users_groups" => {
                embedded.insert(
                    "users_groups".into(),
                    json!([{ "id": 0, "name": "Main office", "uuid": null }]),
                );
            }
            "amojo_rights" => {
                embedded.insert(
                    "amojo_rights".into(),
                    json!({ "can_direct": true, "can_create_groups": true }),
                );
            }
            _ => {}
        }
    }
    if !embedded.is_empty() {
        value["_embedded"] = Value::Object(embedded);
    }
    value
}

/// A HAL page of `items` (already filtered and ordered): `page`/`limit` from the query,
/// `_links.next` when more items follow, `_links.prev` after the first page, 204 when the page
/// is empty.
pub(crate) fn page(ctx: &Ctx, path: &str, query: &Query, items: Vec<Value>, key: &str) -> Response {
    page_with_max(ctx, path, query, items, key, 250)
}

/// [`page`] with another largest `limit` (the events list allows 100).
pub(crate) fn page_with_max(
    ctx: &Ctx,
    path: &str,
    query: &Query,
    items: Vec<Value>,
    key: &str,
    max: usize,
) -> Response {
    let (page, limit) = query.page_limit_max(max);
    let start = (page - 1).saturating_mul(limit);
    if start >= items.len() {
        return no_content();
    }
    let total = items.len();
    let slice: Vec<Value> = items.into_iter().skip(start).take(limit).collect();
    let rest = query.without_paging();
    let href = |page: usize| {
        let mut pairs = rest.clone();
        pairs.push(("page".into(), page.to_string()));
        pairs.push(("limit".into(), limit.to_string()));
        json!({ "href": ctx.url(&format!("{path}?{}", encode(&pairs))) })
    };
    let mut links = serde_json::Map::new();
    links.insert("self".into(), href(page));
    if start + limit < total {
        links.insert("next".into(), href(page + 1));
    }
    if page > 1 {
        links.insert("prev".into(), href(page - 1));
    }
    hal(json!({
        "_page": page,
        "_links": links,
        "_embedded": { key: slice },
    }))
}

/// A collection with `_total_items` (pipelines, statuses, webhooks); 204 when empty.
pub(crate) fn collection(ctx: &Ctx, path: &str, items: Vec<Value>, key: &str) -> Response {
    if items.is_empty() {
        return no_content();
    }
    hal(json!({
        "_total_items": items.len(),
        "_links": ctx.self_link(path),
        "_embedded": { key: items },
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prices_and_pages() {
        assert_eq!(price(1500.0), json!(1500));
        assert_eq!(price(10.5), json!(10.5));
        let ctx = Ctx {
            base: "http://127.0.0.1:1".into(),
            account_id: AccountId(1),
        };
        let items: Vec<Value> = (1..=5).map(|i| json!({ "id": i })).collect();
        let query = Query::parse(Some("limit=2&page=2&with=contacts"));
        let response = page(&ctx, "/api/v4/leads", &query, items.clone(), "leads");
        assert_eq!(response.status(), 200);
        let empty = page(
            &ctx,
            "/api/v4/leads",
            &Query::parse(Some("page=9")),
            items,
            "leads",
        );
        assert_eq!(empty.status(), 204);
        assert_eq!(collection(&ctx, "/x", Vec::new(), "x").status(), 204);
    }
}
