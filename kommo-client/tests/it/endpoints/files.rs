//! `client.files(drive_url)`: the drive on the account's own domain, its uploads in parts.

use kommo_client::pagination::ListQuery;
use kommo_client::{Client, Error};
use serde_json::json;
use wiremock::matchers::{body_bytes, header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

use super::{mount, ok};
use crate::support::{bearer, client};

const UUID: &str = "a1b2c3d4-0000-4000-8000-000000000001";

fn file() -> serde_json::Value {
    json!({"uuid": UUID, "version_uuid": "b1b2c3d4-0000-4000-8000-000000000002", "name": "offer.pdf",
        "size": 8, "type": "document", "mime_type": "application/pdf", "is_trashed": false,
        "created_by": {"id": 5, "type": "user"}, "created_at": 1700000000,
        "_links": {"download": {"href": "https://drive-b.kommo.com/download/x"}}})
}

#[tokio::test]
async fn the_drive_lists_renames_deletes_and_uploads_in_parts() {
    let server = MockServer::start().await;
    let drive = server.uri();
    mount(
        &server,
        "GET",
        "/v1.0/files",
        &[("limit", "10")],
        None,
        ok(json!({"_embedded": {"files": [file()]}})),
    )
    .await;
    mount(
        &server,
        "GET",
        &format!("/v1.0/files/{UUID}"),
        &[],
        None,
        ok(file()),
    )
    .await;
    mount(
        &server,
        "PATCH",
        &format!("/v1.0/files/{UUID}"),
        &[],
        Some(json!({"name": "offer-2.pdf"})),
        ok(file()),
    )
    .await;
    mount(
        &server,
        "DELETE",
        "/v1.0/files",
        &[],
        Some(json!([{"uuid": UUID}])),
        ResponseTemplate::new(204),
    )
    .await;
    mount(
        &server,
        "POST",
        "/v1.0/sessions",
        &[],
        Some(json!({"file_name": "offer.pdf", "file_size": 6, "content_type": "application/pdf"})),
        ok(
            json!({"session_id": "s1", "upload_url": format!("{drive}/upload/s1/1?token=t"),
            "max_file_size": 1000, "max_part_size": 4}),
        ),
    )
    .await;
    Mock::given(method("POST"))
        .and(path("/upload/s1/1"))
        .and(query_param("token", "t"))
        .and(header("content-type", "application/pdf"))
        .and(body_bytes(b"%PDF".to_vec()))
        .and(bearer())
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"next_url": format!("{drive}/upload/s1/2")})),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/upload/s1/2"))
        .and(body_bytes(b"-1".to_vec()))
        .and(bearer())
        .respond_with(ResponseTemplate::new(200).set_body_json(file()))
        .expect(1)
        .mount(&server)
        .await;

    let c = client(&server);
    let files = c.files(&drive).unwrap();
    let page = files.list_page(ListQuery::new().limit(10)).await.unwrap();
    assert_eq!(page.items[0].mime_type.as_deref(), Some("application/pdf"));
    assert_eq!(files.get(UUID).await.unwrap().unwrap().size, Some(8));
    files.rename(UUID, "offer-2.pdf").await.unwrap();
    files.delete(&[UUID]).await.unwrap();
    let uploaded = files
        .upload("offer.pdf", "application/pdf", b"%PDF-1".to_vec())
        .await
        .unwrap();
    assert_eq!(uploaded.uuid, UUID);
    assert_eq!(uploaded.created_by.unwrap().id, Some(5));
}

#[tokio::test]
async fn the_token_goes_to_the_accounts_own_domain_only() {
    let c = Client::new("acme.kommo.com", "token").unwrap();
    assert!(c.files("https://drive-b.kommo.com").is_ok());
    for bad in [
        "https://drive.evil.example",
        "http://drive-b.kommo.com",
        "https://kommo.com.evil.example",
        "not a url",
    ] {
        assert!(matches!(c.files(bad), Err(Error::Config(_))), "{bad}");
    }
    let server = MockServer::start().await;
    let drive = client(&server).files(&server.uri()).unwrap();
    for refused in [
        drive.get("../x").await.map(drop),
        drive.delete(&[]).await,
        drive.rename(UUID, " ").await.map(drop),
        drive
            .upload("a.txt", "text/plain", Vec::new())
            .await
            .map(drop),
    ] {
        assert!(
            matches!(refused, Err(Error::InvalidRequest(_))),
            "{refused:?}"
        );
    }
    assert!(server.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn an_upload_url_off_the_drive_is_not_followed() {
    let server = MockServer::start().await;
    mount(
        &server,
        "POST",
        "/v1.0/sessions",
        &[],
        None,
        ok(json!({"upload_url": "https://elsewhere.example/upload", "max_part_size": 4})),
    )
    .await;
    let err = client(&server)
        .files(&server.uri())
        .unwrap()
        .upload("a.txt", "text/plain", b"hello".to_vec())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Decode { .. }), "{err:?}");
}
