//! What Kommo refuses on the CRM's own entities and settings is refused before sending.

use kommo_client::common::EntityType;
use kommo_client::companies::CompanyWrite;
use kommo_client::custom_fields::{CustomFieldWrite, FieldType};
use kommo_client::ids::*;
use kommo_client::links::EntityLink;
use kommo_client::pipelines::{PipelineWrite, StatusWrite};
use kommo_client::roles::RoleWrite;
use kommo_client::tags::NewTag;
use kommo_client::users::NewUser;

use super::table::refused;

#[tokio::test]
async fn crm_writes_kommo_refuses_are_never_sent() {
    refused(vec![
        ("won cannot be deleted", |c| {
            Box::pin(async move {
                c.pipelines()
                    .delete_status(PipelineId(7), StatusId::WON)
                    .await
            })
        }),
        ("lost cannot be deleted", |c| {
            Box::pin(async move {
                c.pipelines()
                    .delete_status(PipelineId(7), StatusId::LOST)
                    .await
            })
        }),
        ("won cannot be edited", |c| {
            Box::pin(async move {
                c.pipelines()
                    .update_status(PipelineId(7), StatusId::WON, &StatusWrite::new("Yay"))
                    .await
                    .map(drop)
            })
        }),
        ("a pipeline needs a name", |c| {
            Box::pin(async move {
                c.pipelines()
                    .add(vec![PipelineWrite::change()])
                    .await
                    .map(drop)
            })
        }),
        ("at most 100 stages", |c| {
            Box::pin(async move {
                let many = (0..101)
                    .map(|i| StatusWrite::new(format!("S{i}")))
                    .collect();
                c.pipelines()
                    .add_statuses(PipelineId(7), many)
                    .await
                    .map(drop)
            })
        }),
        ("stages are not changed in a pipeline update", |c| {
            Box::pin(async move {
                c.pipelines()
                    .update(
                        PipelineId(7),
                        &PipelineWrite::new("X", vec![StatusWrite::new("Y")]),
                    )
                    .await
                    .map(drop)
            })
        }),
        ("a select needs options", |c| {
            Box::pin(async move {
                c.custom_fields(EntityType::Leads)
                    .add(vec![CustomFieldWrite::new("Plan", FieldType::Select)])
                    .await
                    .map(drop)
            })
        }),
        ("a new field needs a type", |c| {
            Box::pin(async move {
                let mut f = CustomFieldWrite::default();
                f.name = Some("X".into());
                c.custom_fields(EntityType::Leads)
                    .add(vec![f])
                    .await
                    .map(drop)
            })
        }),
        ("no multitext on leads", |c| {
            Box::pin(async move {
                c.custom_fields(EntityType::Leads)
                    .add(vec![CustomFieldWrite::new("Phones", FieldType::Multitext)])
                    .await
                    .map(drop)
            })
        }),
        ("price fields are for catalogs", |c| {
            Box::pin(async move {
                c.custom_fields(EntityType::Contacts)
                    .add(vec![CustomFieldWrite::new("Price", FieldType::Price)])
                    .await
                    .map(drop)
            })
        }),
        ("a text field has no options", |c| {
            Box::pin(async move {
                c.custom_fields(EntityType::Contacts)
                    .add(vec![
                        CustomFieldWrite::new("Note", FieldType::Text).options(["a"]),
                    ])
                    .await
                    .map(drop)
            })
        }),
        ("field updates need ids", |c| {
            Box::pin(async move {
                c.custom_fields(EntityType::Contacts)
                    .update(vec![CustomFieldWrite::new("N", FieldType::Text)])
                    .await
                    .map(drop)
            })
        }),
        ("a group id is a path segment", |c| {
            Box::pin(async move {
                c.custom_fields(EntityType::Leads)
                    .delete_group("../leads")
                    .await
            })
        }),
        ("lead tags only have colors", |c| {
            Box::pin(async move {
                c.tags()
                    .add(EntityType::Contacts, vec![NewTag::new("x").color("fff")])
                    .await
                    .map(drop)
            })
        }),
        ("no tag to delete", |c| {
            Box::pin(async move { c.tags().delete(EntityType::Leads, &[]).await })
        }),
        ("at most 10 users", |c| {
            Box::pin(async move {
                let many = (0..11)
                    .map(|i| NewUser::new("U", format!("u{i}@example.com")))
                    .collect();
                c.users().add(many).await.map(drop)
            })
        }),
        ("a user needs an email", |c| {
            Box::pin(async move {
                c.users()
                    .add(vec![NewUser::new("U", "nobody")])
                    .await
                    .map(drop)
            })
        }),
        ("a role needs a name", |c| {
            Box::pin(async move {
                c.roles()
                    .add(vec![RoleWrite::update(RoleId(1))])
                    .await
                    .map(drop)
            })
        }),
        ("mass links name their source", |c| {
            Box::pin(async move {
                c.links()
                    .link_many(
                        EntityType::Leads,
                        vec![EntityLink::contact(ContactId(2), true)],
                    )
                    .await
                    .map(drop)
            })
        }),
        ("a NaN quantity would be sent as null", |c| {
            Box::pin(async move {
                let element =
                    EntityLink::catalog_element(CatalogId(3), CatalogElementId(4), f64::NAN, None);
                c.links()
                    .link(EntityType::Leads, 1, vec![element])
                    .await
                    .map(drop)
            })
        }),
        ("an infinite quantity in a mass link", |c| {
            Box::pin(async move {
                let element = EntityLink::catalog_element(
                    CatalogId(3),
                    CatalogElementId(4),
                    f64::INFINITY,
                    None,
                )
                .from_entity(1);
                c.links()
                    .link_many(EntityType::Leads, vec![element])
                    .await
                    .map(drop)
            })
        }),
        ("company updates need ids", |c| {
            Box::pin(async move {
                c.companies()
                    .update(vec![CompanyWrite::new("Acme")])
                    .await
                    .map(drop)
            })
        }),
    ])
    .await;
}
