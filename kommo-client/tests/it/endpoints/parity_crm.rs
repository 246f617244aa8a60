//! Writes on the CRM's own entities and settings: companies, pipelines and stages, custom
//! fields and groups, notes, tags, users, roles and mass links.

use kommo_client::common::{EntityType, TagRef};
use kommo_client::companies::CompanyWrite;
use kommo_client::custom_fields::{CustomFieldGroupWrite, CustomFieldWrite, FieldType};
use kommo_client::ids::*;
use kommo_client::links::EntityLink;
use kommo_client::notes::NoteUpdate;
use kommo_client::pagination::ListQuery;
use kommo_client::pipelines::{PipelineWrite, StatusWrite};
use kommo_client::roles::RoleWrite;
use kommo_client::tags::NewTag;
use kommo_client::users::NewUser;
use serde_json::{Value, json};

use super::table::{Case, run, written};
use crate::support::fixture_json;

fn pipeline_answer() -> Value {
    let mut p = fixture_json("get_pipelines.json")["_embedded"]["pipelines"][0].clone();
    p["id"] = json!(7);
    p
}

#[tokio::test]
async fn crm_writes() {
    let cases = vec![
        Case {
            method: "POST",
            path: "/api/v4/companies",
            query: &[],
            body: Some(json!([{"name": "Acme", "tags_to_add": [{"name": "partner"}]}])),
            status: 200,
            answer: written("companies", 1),
            call: |c| {
                Box::pin(async move {
                    let r = c
                        .companies()
                        .add(vec![CompanyWrite::new("Acme").add_tag("partner")])
                        .await?;
                    assert_eq!(r[0].id, 1);
                    Ok(())
                })
            },
        },
        Case {
            method: "PATCH",
            path: "/api/v4/companies",
            query: &[],
            body: Some(json!([{"id": 3, "responsible_user_id": 5, "tags_to_delete": [{"id": 9}]}])),
            status: 200,
            answer: written("companies", 1),
            call: |c| {
                Box::pin(async move {
                    let w = CompanyWrite::update(CompanyId(3))
                        .responsible(UserId(5))
                        .remove_tag(TagId(9));
                    c.companies().update(vec![w]).await.map(drop)
                })
            },
        },
        Case {
            method: "PATCH",
            path: "/api/v4/companies/3",
            query: &[],
            body: Some(json!({"name": "Acme Ltd"})),
            status: 200,
            answer: json!({"id": 3, "updated_at": 1700000000}),
            call: |c| {
                Box::pin(async move {
                    let r = c
                        .companies()
                        .update_one(
                            CompanyId(3),
                            CompanyWrite::update(CompanyId(3)).name("Acme Ltd"),
                        )
                        .await?;
                    assert_eq!(r.updated_at, Some(1_700_000_000));
                    Ok(())
                })
            },
        },
        Case {
            method: "POST",
            path: "/api/v4/leads/pipelines",
            query: &[],
            body: Some(
                json!([{"name": "Onboarding", "sort": 20, "_embedded": {"statuses": [
                {"name": "Trial", "sort": 10, "color": "#fffeb2"}]}}]),
            ),
            status: 200,
            answer: json!({"_total_items": 1, "_embedded": {"pipelines": [pipeline_answer()]}}),
            call: |c| {
                Box::pin(async move {
                    let p = PipelineWrite::new(
                        "Onboarding",
                        vec![StatusWrite::new("Trial").sort(10).color("#fffeb2")],
                    )
                    .sort(20);
                    let added = c.pipelines().add(vec![p]).await?;
                    assert_eq!(added[0].id, PipelineId(7));
                    Ok(())
                })
            },
        },
        Case {
            method: "PATCH",
            path: "/api/v4/leads/pipelines/7",
            query: &[],
            body: Some(json!({"name": "Sales 2"})),
            status: 200,
            answer: pipeline_answer(),
            call: |c| {
                Box::pin(async move {
                    let p = c
                        .pipelines()
                        .update(PipelineId(7), &PipelineWrite::change().name("Sales 2"))
                        .await?;
                    assert!(p.is_some());
                    Ok(())
                })
            },
        },
        Case {
            method: "DELETE",
            path: "/api/v4/leads/pipelines/7",
            query: &[],
            body: None,
            status: 204,
            answer: Value::Null,
            call: |c| Box::pin(async move { c.pipelines().delete(PipelineId(7)).await }),
        },
        Case {
            method: "POST",
            path: "/api/v4/leads/pipelines/7/statuses",
            query: &[],
            body: Some(json!([{"name": "Demo"}])),
            status: 200,
            answer: json!({"_embedded": {"statuses": [{"id": 55, "name": "Demo", "pipeline_id": 7}]}}),
            call: |c| {
                Box::pin(async move {
                    let s = c
                        .pipelines()
                        .add_statuses(PipelineId(7), vec![StatusWrite::new("Demo")])
                        .await?;
                    assert_eq!(s[0].id, StatusId(55));
                    Ok(())
                })
            },
        },
        Case {
            method: "PATCH",
            path: "/api/v4/leads/pipelines/7/statuses/55",
            query: &[],
            body: Some(json!({"name": "Live demo", "color": "#99ccff"})),
            status: 200,
            answer: json!({"id": 55, "name": "Live demo"}),
            call: |c| {
                Box::pin(async move {
                    let w = StatusWrite::new("Live demo").color("#99ccff");
                    c.pipelines()
                        .update_status(PipelineId(7), StatusId(55), &w)
                        .await
                        .map(drop)
                })
            },
        },
        Case {
            method: "DELETE",
            path: "/api/v4/leads/pipelines/7/statuses/55",
            query: &[],
            body: None,
            status: 204,
            answer: Value::Null,
            call: |c| {
                Box::pin(async move {
                    c.pipelines()
                        .delete_status(PipelineId(7), StatusId(55))
                        .await
                })
            },
        },
        Case {
            method: "POST",
            path: "/api/v4/contacts/custom_fields",
            query: &[],
            body: Some(
                json!([{"name": "Loops status", "type": "select", "code": "LOOPS_STATUS",
                "is_api_only": true, "enums": [{"value": "subscribed", "sort": 10}, {"value": "unsubscribed", "sort": 20}]}]),
            ),
            status: 200,
            answer: written("custom_fields", 1),
            call: |c| {
                Box::pin(async move {
                    let f = CustomFieldWrite::new("Loops status", FieldType::Select)
                        .options(["subscribed", "unsubscribed"])
                        .code("LOOPS_STATUS")
                        .api_only(true);
                    c.custom_fields(EntityType::Contacts)
                        .add(vec![f])
                        .await
                        .map(drop)
                })
            },
        },
        Case {
            method: "PATCH",
            path: "/api/v4/customers/custom_fields",
            query: &[],
            body: Some(json!([{"id": 12, "sort": 5}])),
            status: 200,
            answer: written("custom_fields", 1),
            call: |c| {
                Box::pin(async move {
                    let mut f = CustomFieldWrite::update(CustomFieldId(12));
                    f.sort = Some(5);
                    c.custom_fields(EntityType::Customers)
                        .update(vec![f])
                        .await
                        .map(drop)
                })
            },
        },
        Case {
            method: "PATCH",
            path: "/api/v4/catalogs/4113/custom_fields/12",
            query: &[],
            body: Some(json!({"name": "Price"})),
            status: 200,
            answer: json!({"id": 12}),
            call: |c| {
                Box::pin(async move {
                    let mut f = CustomFieldWrite::update(CustomFieldId(12));
                    f.name = Some("Price".into());
                    c.catalog_custom_fields(CatalogId(4113))
                        .update_one(CustomFieldId(12), f)
                        .await
                        .map(drop)
                })
            },
        },
        Case {
            method: "DELETE",
            path: "/api/v4/customers/segments/custom_fields/12",
            query: &[],
            body: None,
            status: 204,
            answer: Value::Null,
            call: |c| {
                Box::pin(async move { c.segment_custom_fields().delete(CustomFieldId(12)).await })
            },
        },
        Case {
            method: "GET",
            path: "/api/v4/leads/custom_fields/groups",
            query: &[("with", "fields")],
            body: None,
            status: 200,
            answer: fixture_json("get_custom_field_groups.json"),
            call: |c| {
                Box::pin(async move {
                    let p = c
                        .custom_fields(EntityType::Leads)
                        .groups_page(ListQuery::new().with(["fields"]))
                        .await?;
                    assert_eq!(p.items[0].id, "leads_16231615");
                    Ok(())
                })
            },
        },
        Case {
            method: "GET",
            path: "/api/v4/leads/custom_fields/groups/leads_16231615",
            query: &[],
            body: None,
            status: 200,
            answer:
                fixture_json("get_custom_field_groups.json")["_embedded"]["custom_field_groups"][0]
                    .clone(),
            call: |c| {
                Box::pin(async move {
                    let g = c
                        .custom_fields(EntityType::Leads)
                        .group("leads_16231615")
                        .await?
                        .unwrap();
                    assert_eq!(g.name, "Billing");
                    Ok(())
                })
            },
        },
        Case {
            method: "POST",
            path: "/api/v4/leads/custom_fields/groups",
            query: &[],
            body: Some(json!([{"name": "Billing", "sort": 3}])),
            status: 200,
            answer: fixture_json("get_custom_field_groups.json"),
            call: |c| {
                Box::pin(async move {
                    let mut g = CustomFieldGroupWrite::new("Billing");
                    g.sort = Some(3);
                    c.custom_fields(EntityType::Leads)
                        .add_groups(vec![g])
                        .await
                        .map(drop)
                })
            },
        },
        Case {
            method: "PATCH",
            path: "/api/v4/leads/custom_fields/groups/leads_16231615",
            query: &[],
            body: Some(json!({"name": "Invoices"})),
            status: 200,
            answer:
                fixture_json("get_custom_field_groups.json")["_embedded"]["custom_field_groups"][0]
                    .clone(),
            call: |c| {
                Box::pin(async move {
                    c.custom_fields(EntityType::Leads)
                        .update_group("leads_16231615", &CustomFieldGroupWrite::new("Invoices"))
                        .await
                        .map(drop)
                })
            },
        },
        Case {
            method: "DELETE",
            path: "/api/v4/leads/custom_fields/groups/leads_16231615",
            query: &[],
            body: None,
            status: 204,
            answer: Value::Null,
            call: |c| {
                Box::pin(async move {
                    c.custom_fields(EntityType::Leads)
                        .delete_group("leads_16231615")
                        .await
                })
            },
        },
        Case {
            method: "PATCH",
            path: "/api/v4/leads/notes",
            query: &[],
            body: Some(json!([{"id": 8, "note_type": "common", "params": {"text": "Edited"}}])),
            status: 200,
            answer: written("notes", 1),
            call: |c| {
                Box::pin(async move {
                    c.notes(EntityType::Leads)
                        .update(vec![NoteUpdate::text(NoteId(8), "Edited")])
                        .await
                        .map(drop)
                })
            },
        },
        Case {
            method: "PATCH",
            path: "/api/v4/contacts/notes/8",
            query: &[],
            body: Some(json!({"note_type": "common", "params": {"text": "Edited"}})),
            status: 200,
            answer: json!({"id": 8, "updated_at": 1}),
            call: |c| {
                Box::pin(async move {
                    c.notes(EntityType::Contacts)
                        .update_one(NoteId(8), NoteUpdate::text(NoteId(8), "Edited"))
                        .await
                        .map(drop)
                })
            },
        },
        Case {
            method: "POST",
            path: "/api/v4/leads/notes/8/pin",
            query: &[],
            body: None,
            status: 204,
            answer: Value::Null,
            call: |c| Box::pin(async move { c.notes(EntityType::Leads).pin(NoteId(8)).await }),
        },
        Case {
            method: "POST",
            path: "/api/v4/leads/notes/8/unpin",
            query: &[],
            body: None,
            status: 204,
            answer: Value::Null,
            call: |c| Box::pin(async move { c.notes(EntityType::Leads).unpin(NoteId(8)).await }),
        },
        Case {
            method: "POST",
            path: "/api/v4/leads/tags",
            query: &[],
            body: Some(json!([{"name": "vip", "color": "DDEBB5"}])),
            status: 200,
            answer: json!({"_total_items": 1, "_embedded": {"tags": [{"id": 263807, "name": "vip", "request_id": "0"}]}}),
            call: |c| {
                Box::pin(async move {
                    let t = c
                        .tags()
                        .add(EntityType::Leads, vec![NewTag::new("vip").color("DDEBB5")])
                        .await?;
                    assert_eq!(t[0].id, TagId(263807));
                    Ok(())
                })
            },
        },
        Case {
            method: "DELETE",
            path: "/api/v4/contacts/tags",
            query: &[],
            body: Some(json!([{"id": 1}, {"id": 2}])),
            status: 204,
            answer: Value::Null,
            call: |c| {
                Box::pin(async move {
                    c.tags()
                        .delete(EntityType::Contacts, &[TagId(1), TagId(2)])
                        .await
                })
            },
        },
        Case {
            method: "PATCH",
            path: "/api/v4/companies",
            query: &[],
            body: Some(json!([{"id": 3, "tags_to_add": [{"name": "vip"}]}])),
            status: 200,
            answer: written("companies", 1),
            call: |c| {
                Box::pin(async move {
                    c.tags()
                        .add_to_company(CompanyId(3), vec![TagRef::from("vip")])
                        .await
                        .map(drop)
                })
            },
        },
        Case {
            method: "PATCH",
            path: "/api/v4/customers",
            query: &[],
            body: Some(json!([{"id": 4, "tags_to_delete": [{"name": "vip"}]}])),
            status: 200,
            answer: written("customers", 1),
            call: |c| {
                Box::pin(async move {
                    c.tags()
                        .remove_from_customer(CustomerId(4), vec![TagRef::from("vip")])
                        .await
                        .map(drop)
                })
            },
        },
        Case {
            method: "POST",
            path: "/api/v4/users",
            query: &[],
            body: Some(
                json!([{"name": "Ada", "email": "ada@example.com", "rights": {"role_id": 2}}]),
            ),
            status: 200,
            answer: written("users", 1),
            call: |c| {
                Box::pin(async move {
                    c.users()
                        .add(vec![
                            NewUser::new("Ada", "ada@example.com").rights(json!({"role_id": 2})),
                        ])
                        .await
                        .map(drop)
                })
            },
        },
        Case {
            method: "POST",
            path: "/api/v4/users/deactivate",
            query: &[],
            body: Some(json!([{"id": 5}])),
            status: 204,
            answer: Value::Null,
            call: |c| Box::pin(async move { c.users().deactivate(&[UserId(5)]).await }),
        },
        Case {
            method: "POST",
            path: "/api/v4/users/activate",
            query: &[],
            body: Some(json!([{"id": 5}, {"id": 6}])),
            status: 204,
            answer: Value::Null,
            call: |c| Box::pin(async move { c.users().activate(&[UserId(5), UserId(6)]).await }),
        },
        Case {
            method: "GET",
            path: "/api/v4/roles",
            query: &[("with", "users")],
            body: None,
            status: 200,
            answer: fixture_json("get_roles.json"),
            call: |c| {
                Box::pin(async move {
                    let p = c
                        .roles()
                        .list_page(ListQuery::new().with(["users"]))
                        .await?;
                    let role = &p.items[0];
                    assert_eq!(
                        (role.id, role.embedded.users[0].id),
                        (RoleId(2), UserId(504141))
                    );
                    assert!(role.rights.as_ref().unwrap().other.contains_key("leads"));
                    Ok(())
                })
            },
        },
        Case {
            method: "GET",
            path: "/api/v4/roles/2",
            query: &[],
            body: None,
            status: 200,
            answer: fixture_json("get_roles.json")["_embedded"]["roles"][0].clone(),
            call: |c| {
                Box::pin(
                    async move { c.roles().get(RoleId(2)).await.map(|r| assert!(r.is_some())) },
                )
            },
        },
        Case {
            method: "POST",
            path: "/api/v4/roles",
            query: &[],
            body: Some(json!([{"name": "Support", "rights": {"leads": {"view": "A"}}}])),
            status: 200,
            answer: written("roles", 1),
            call: |c| {
                Box::pin(async move {
                    c.roles()
                        .add(vec![RoleWrite::new(
                            "Support",
                            json!({"leads": {"view": "A"}}),
                        )])
                        .await
                        .map(drop)
                })
            },
        },
        Case {
            method: "PATCH",
            path: "/api/v4/roles",
            query: &[],
            body: Some(json!([{"id": 2, "name": "Help desk"}])),
            status: 200,
            answer: written("roles", 1),
            call: |c| {
                Box::pin(async move {
                    let mut r = RoleWrite::update(RoleId(2));
                    r.name = Some("Help desk".into());
                    c.roles().update(vec![r]).await.map(drop)
                })
            },
        },
        Case {
            method: "PATCH",
            path: "/api/v4/roles/2",
            query: &[],
            body: Some(json!({"name": "Help desk"})),
            status: 200,
            answer: json!({"id": 2}),
            call: |c| {
                Box::pin(async move {
                    let mut r = RoleWrite::update(RoleId(2));
                    r.name = Some("Help desk".into());
                    c.roles().update_one(RoleId(2), r).await.map(drop)
                })
            },
        },
        Case {
            method: "DELETE",
            path: "/api/v4/roles/2",
            query: &[],
            body: None,
            status: 204,
            answer: Value::Null,
            call: |c| Box::pin(async move { c.roles().delete(RoleId(2)).await }),
        },
        Case {
            method: "POST",
            path: "/api/v4/leads/link",
            query: &[],
            body: Some(
                json!([{"entity_id": 1, "to_entity_id": 2, "to_entity_type": "contacts", "metadata": {"is_main": true}}]),
            ),
            status: 200,
            answer: json!({"_embedded": {"links": [{"entity_id": 1, "entity_type": "leads", "to_entity_id": 2, "to_entity_type": "contacts"}]}}),
            call: |c| {
                Box::pin(async move {
                    let l = c
                        .links()
                        .link_many(
                            EntityType::Leads,
                            vec![EntityLink::contact(ContactId(2), true).from_entity(1)],
                        )
                        .await?;
                    assert_eq!(l[0].to_entity_id, 2);
                    Ok(())
                })
            },
        },
        Case {
            method: "POST",
            path: "/api/v4/contacts/unlink",
            query: &[],
            body: Some(json!([{"entity_id": 2, "to_entity_id": 9, "to_entity_type": "companies"}])),
            status: 204,
            answer: Value::Null,
            call: |c| {
                Box::pin(async move {
                    c.links()
                        .unlink_many(
                            EntityType::Contacts,
                            vec![EntityLink::company(CompanyId(9)).from_entity(2)],
                        )
                        .await
                })
            },
        },
        Case {
            method: "GET",
            path: "/api/v4/leads/links",
            query: &[("filter[entity_id][]", "1"), ("filter[entity_id][]", "2")],
            body: None,
            status: 200,
            answer: json!({"_embedded": {"links": [{"entity_id": 1, "to_entity_id": 2, "to_entity_type": "contacts"}]}}),
            call: |c| {
                Box::pin(async move {
                    let p = c
                        .links()
                        .list_many_page(
                            EntityType::Leads,
                            ListQuery::new().filter_ids("entity_id", [1u64, 2]),
                        )
                        .await?;
                    assert_eq!(p.items.len(), 1);
                    Ok(())
                })
            },
        },
    ];
    run(cases).await;
}
