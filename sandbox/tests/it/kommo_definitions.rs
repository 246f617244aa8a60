//! An onboarding tool's writes against the fake: pipelines, stages and custom fields.

use futures_util::TryStreamExt;
use kommo_client::common::EntityType;
use kommo_client::contacts::ContactWrite;
use kommo_client::custom_fields::{CustomFieldWrite, FieldType};
use kommo_client::field_values::FieldValueUpdate;
use kommo_client::ids::{CustomFieldId, PipelineId, StatusId};
use kommo_client::pagination::ListQuery;
use kommo_client::pipelines::{PipelineWrite, StatusWrite};
use kommo_client::{ApiRequest, Error, Method};

use crate::kommo_support::{client, kommo, saas};

#[tokio::test]
async fn an_onboarding_tool_creates_its_field_and_pipeline() {
    let sandbox = kommo(saas()).await;
    let api = client(&sandbox);

    // The "Loops status" field, created once and found again by its code.
    let fields = api.custom_fields(EntityType::Contacts);
    let field = CustomFieldWrite::new("Loops status", FieldType::Select)
        .options(["subscribed", "unsubscribed"])
        .code("LOOPS_STATUS")
        .api_only(true);
    let added = fields.add(vec![field]).await.unwrap();
    let id = CustomFieldId(added[0].id);
    let all: Vec<_> = fields.list(ListQuery::new()).try_collect().await.unwrap();
    let def = all
        .iter()
        .find(|f| f.code.as_deref() == Some("LOOPS_STATUS"))
        .expect("the new field is listed");
    assert_eq!((def.id, def.enums.len()), (id, 2));
    let subscribed = def.enum_by_value("subscribed").unwrap().id;

    // Entities can use it at once.
    api.contacts()
        .add(vec![
            ContactWrite::new()
                .name("Ada")
                .field(FieldValueUpdate::select(id, subscribed)),
        ])
        .await
        .unwrap();
    assert_eq!(sandbox.contacts()[0].custom_fields[0].field_id, id);

    // A third option keeps the others' ids; a bad write changes nothing.
    let mut more = CustomFieldWrite::update(id).options(["subscribed", "unsubscribed", "bounced"]);
    more.field_type = Some(FieldType::Select);
    api.custom_fields(EntityType::Contacts)
        .update_one(id, more)
        .await
        .unwrap();
    let def = fields.get(id).await.unwrap().unwrap();
    assert_eq!(def.enums.len(), 3);
    assert_eq!(def.enum_by_value("subscribed").unwrap().id, subscribed);
    let bad = ApiRequest::raw(Method::POST, "/api/v4/contacts/custom_fields")
        .json_body(&serde_json::json!([{"name": "Plan", "type": "select"}]))
        .unwrap();
    let err = api.raw(bad).await.unwrap_err();
    assert!(matches!(err, Error::Validation { .. }), "{err:?}");

    // A pipeline with its stages; Kommo's system stages come with it.
    let created = api
        .pipelines()
        .add(vec![PipelineWrite::new(
            "Onboarding",
            vec![StatusWrite::new("Trial"), StatusWrite::new("Activated")],
        )])
        .await
        .unwrap();
    let pipeline = created[0].id;
    let names: Vec<&str> = created[0]
        .statuses()
        .iter()
        .map(|s| s.name.as_str())
        .collect();
    assert_eq!(names[1..3], ["Trial", "Activated"]);
    assert!(
        created[0].status(StatusId::WON).is_some() && created[0].status(StatusId::LOST).is_some()
    );
    let extra = api
        .pipelines()
        .add_statuses(pipeline, vec![StatusWrite::new("Churned")])
        .await
        .unwrap();
    let churned = extra[0].id;
    api.pipelines()
        .update_status(
            pipeline,
            churned,
            &StatusWrite::new("Lost trial").color("#ffcccc"),
        )
        .await
        .unwrap();
    let statuses = api.pipelines().statuses(pipeline).await.unwrap();
    let churned_at = statuses.iter().position(|s| s.id == churned).unwrap();
    assert_eq!(statuses[churned_at].name, "Lost trial");
    assert!(
        statuses[churned_at + 1].id.is_closed(),
        "new stages go before 142/143"
    );

    // 142 is refused by the client before sending, and by the fake when sent raw.
    assert!(matches!(
        api.pipelines().delete_status(pipeline, StatusId::WON).await,
        Err(Error::InvalidRequest(_))
    ));
    let raw = ApiRequest::raw(
        Method::DELETE,
        format!("/api/v4/leads/pipelines/{pipeline}/statuses/142"),
    );
    assert_eq!(api.raw(raw).await.unwrap_err().status(), Some(400));
    api.pipelines()
        .delete_status(pipeline, churned)
        .await
        .unwrap();
    api.pipelines()
        .update(pipeline, &PipelineWrite::change().name("Onboarding 2"))
        .await
        .unwrap();
    assert_eq!(
        api.pipelines().get(pipeline).await.unwrap().unwrap().name,
        "Onboarding 2"
    );
    api.pipelines().delete(pipeline).await.unwrap();
    assert!(api.pipelines().get(pipeline).await.unwrap().is_none());
    let main = sandbox
        .pipelines()
        .into_iter()
        .find(|p| p.is_main)
        .unwrap()
        .id;
    assert_eq!(
        api.pipelines().delete(main).await.unwrap_err().status(),
        Some(400),
        "the main pipeline stays"
    );
    let _ = PipelineId(0);

    // Deleting the field removes its values.
    fields.delete(id).await.unwrap();
    assert!(sandbox.contacts()[0].custom_fields.is_empty());
    sandbox.shutdown().await;
}
