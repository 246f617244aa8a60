//! Uploads: the one-call helper (create → PUT to the presigned URL → complete), what the PUT
//! carries and what it must not, and the upload errors.

use loops_client::Error;
use loops_client::endpoint::Endpoint;
use loops_client::uploads::CreateUploadRequest;
use serde_json::json;
use wiremock::matchers::{body_bytes, header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::{client, expect_call};

const PNG: &[u8] = b"\x89PNG\r\n\x1a\nnot really an image, but bytes all the same";

async fn storage() -> MockServer {
    MockServer::start().await
}

fn slot(storage: &MockServer) -> serde_json::Value {
    json!({"emailAssetId": "ea1",
           "presignedUrl": format!("{}/bucket/ea1?X-Amz-Signature=sig123", storage.uri())})
}

#[tokio::test]
async fn upload_is_create_put_complete() {
    let api = MockServer::start().await;
    let bucket = storage().await;
    expect_call(
        &api,
        "POST",
        "/v1/uploads",
        Some(json!({"contentType": "image/png", "contentLength": PNG.len()})),
        200,
        slot(&bucket),
    )
    .await;
    Mock::given(method("PUT"))
        .and(path("/bucket/ea1"))
        .and(query_param("X-Amz-Signature", "sig123"))
        .and(header("content-type", "image/png"))
        .and(header("content-length", PNG.len().to_string().as_str()))
        .and(body_bytes(PNG))
        .respond_with(ResponseTemplate::new(200))
        .expect(1)
        .mount(&bucket)
        .await;
    expect_call(
        &api,
        "POST",
        "/v1/uploads/ea1/complete",
        None,
        200,
        json!({"emailAssetId": "ea1", "finalUrl": "https://cdn.example/ea1.png"}),
    )
    .await;

    let done = client(&api)
        .uploads()
        .upload("image/png", PNG)
        .await
        .unwrap();
    assert_eq!(done.final_url, "https://cdn.example/ea1.png");
    let puts = bucket.received_requests().await.unwrap();
    assert!(
        puts[0].headers.get("authorization").is_none(),
        "the API key must not reach the storage host"
    );
}

#[tokio::test]
async fn complete_waits_out_a_425() {
    let api = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/v1/uploads/ea1/complete"))
        .respond_with(
            ResponseTemplate::new(425)
                .set_body_json(json!({"success": false, "message": "Not yet visible."})),
        )
        .up_to_n_times(1)
        .mount(&api)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/v1/uploads/ea1/complete"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"emailAssetId": "ea1", "finalUrl": "u"})),
        )
        .expect(1)
        .mount(&api)
        .await;
    assert_eq!(
        client(&api)
            .uploads()
            .complete("ea1")
            .await
            .unwrap()
            .final_url,
        "u"
    );
}

#[tokio::test]
async fn a_refused_put_stops_before_complete() {
    let api = MockServer::start().await;
    let bucket = storage().await;
    expect_call(&api, "POST", "/v1/uploads", None, 200, slot(&bucket)).await;
    Mock::given(method("PUT"))
        .respond_with(
            ResponseTemplate::new(403)
                .set_body_string("<Error><Code>SignatureDoesNotMatch</Code></Error>"),
        )
        .expect(1)
        .mount(&bucket)
        .await;
    let err = client(&api)
        .uploads()
        .upload("image/png", PNG)
        .await
        .unwrap_err();
    assert!(
        matches!(
            &err,
            Error::Api {
                status: 403,
                endpoint: Endpoint::PutUpload,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(!err.to_string().contains("sig123"), "{err}");
    assert!(
        api.received_requests()
            .await
            .unwrap()
            .iter()
            .all(|r| !r.url.path().ends_with("/complete"))
    );
}

#[tokio::test]
async fn checks_before_sending() {
    let api = MockServer::start().await;
    let uploads = client(&api).uploads();
    let too_big = vec![0u8; 4_000_001];
    let cases = [
        uploads.upload("image/png", too_big).await.unwrap_err(),
        uploads.upload("image/png", Vec::new()).await.unwrap_err(),
        uploads.upload("", PNG).await.unwrap_err(),
        uploads.upload("png", PNG).await.unwrap_err(),
    ];
    for err in cases {
        assert!(matches!(err, Error::InvalidRequest(_)), "{err:?}");
    }
    assert!(api.received_requests().await.unwrap().is_empty());
    // Exactly the limit is allowed.
    assert!(
        CreateUploadRequest::new("image/png", 4_000_000)
            .to_api_request()
            .is_ok()
    );
}

#[tokio::test]
async fn upload_errors() {
    let cases = [
        (
            429,
            json!({"success": false, "message": "Upload limit reached.", "maxUploads": 50, "windowHours": 24}),
            "quota",
        ),
        (
            413,
            json!({"success": false, "message": "Too large.", "maxBytes": 4000000}),
            "413",
        ),
        (
            400,
            json!({"success": false, "message": "Unsupported.", "supportedContentTypes": ["image/jpeg", "image/png"]}),
            "400",
        ),
    ];
    for (status, body, expected) in cases {
        let api = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/api/v1/uploads"))
            .respond_with(ResponseTemplate::new(status).set_body_json(&body))
            .expect(1)
            .mount(&api)
            .await;
        let err = client(&api)
            .uploads()
            .create(&CreateUploadRequest::new("image/tiff", 10))
            .await
            .unwrap_err();
        match (expected, &err) {
            (
                "quota",
                Error::QuotaExceeded {
                    limit: Some(50),
                    window: Some(w),
                    ..
                },
            ) => {
                assert_eq!(w.as_secs(), 86_400);
            }
            (
                "413",
                Error::PayloadTooLarge {
                    limit_bytes: Some(4_000_000),
                    ..
                },
            ) => {}
            (
                "400",
                Error::Api {
                    status: 400, body, ..
                },
            ) => {
                assert_eq!(body.supported_content_types, ["image/jpeg", "image/png"]);
            }
            _ => panic!("{status}: {err:?}"),
        }
    }
}
