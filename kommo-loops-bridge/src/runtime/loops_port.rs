//! [`LoopsApi`] on `loops-client`.

use std::time::Duration;

use loops_client::Error;

use super::ports::{LoopsApi, LoopsContactStatus, PortError};
use crate::plan::{DeleteContact, SendEvent, SendTransactional, UpsertContact};

/// How long to wait after a 429 that named no delay (the Loops window is one second).
const RATE_LIMIT_WAIT: Duration = Duration::from_secs(1);

/// Classifies a `loops-client` error by what retrying can achieve. The client has already
/// retried what it safely could within one call; this decides about later attempts.
pub fn classify_loops_error(error: Error) -> PortError {
    if error.is_already_done() {
        return PortError::AlreadyDone {
            reason: error.to_string(),
        };
    }
    match &error {
        Error::RateLimited { retry_after, .. } => PortError::Transient {
            after: Some(retry_after.unwrap_or(RATE_LIMIT_WAIT)),
            reason: error.to_string(),
        },
        _ if error.is_transient() => PortError::Transient {
            after: error.retry_after(),
            reason: error.to_string(),
        },
        _ => PortError::Permanent {
            reason: error.to_string(),
        },
    }
}

/// A success whose answer did not have the documented shape still happened.
fn accepted(result: Result<(), Error>) -> Result<(), PortError> {
    match result {
        Ok(()) => Ok(()),
        Err(Error::Decode { status, .. }) if (200..300).contains(&status) => {
            tracing::warn!(
                status,
                "Loops accepted the request but its answer was not the documented shape"
            );
            Ok(())
        }
        Err(error) => Err(classify_loops_error(error)),
    }
}

#[async_trait::async_trait]
impl LoopsApi for loops_client::Client {
    async fn upsert_contact(&self, action: &UpsertContact) -> Result<(), PortError> {
        accepted(self.contacts().update(&action.to_request()).await.map(drop))
    }

    async fn send_event(&self, action: &SendEvent) -> Result<(), PortError> {
        let request = action.to_request().map_err(|e| PortError::Permanent {
            reason: e.to_string(),
        })?;
        accepted(self.events().send(&request).await.map(drop))
    }

    async fn send_transactional(&self, action: &SendTransactional) -> Result<(), PortError> {
        let request = action.to_request().map_err(|e| PortError::Permanent {
            reason: e.to_string(),
        })?;
        accepted(self.transactional().send(&request).await.map(drop))
    }

    async fn delete_contact(&self, action: &DeleteContact) -> Result<(), PortError> {
        let lookup = action.to_lookup().map_err(|e| PortError::Permanent {
            reason: e.to_string(),
        })?;
        match self.contacts().delete(&lookup).await {
            Err(error) if error.is_not_found() => Ok(()),
            result => accepted(result.map(drop)),
        }
    }

    async fn contact_status(&self, email: &str) -> Result<Option<LoopsContactStatus>, PortError> {
        let lookup = loops_client::contacts::ContactLookup::email(email);
        let Some(contact) = self
            .contacts()
            .find(&lookup)
            .await
            .map_err(classify_loops_error)?
        else {
            return Ok(None);
        };
        let suppressed = match self.contacts().check_suppression(&lookup).await {
            Ok(status) => status.is_suppressed,
            // Deleted between the two calls.
            Err(error) if error.is_not_found() => return Ok(None),
            Err(error) => return Err(classify_loops_error(error)),
        };
        Ok(Some(LoopsContactStatus::new(
            contact.id.as_str(),
            contact.user_id.clone(),
            contact.subscribed,
            suppressed,
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use loops_client::endpoint::Endpoint;
    use loops_client::error::{ApiErrorBody, TransportErrorKind};
    use loops_client::idempotency::IdempotencyKey;
    use loops_client::validate::ValidationError;

    fn api(status: u16) -> Error {
        Error::Api {
            status,
            endpoint: Endpoint::SendEvent,
            body: Box::new(ApiErrorBody::parse(b"{\"message\":\"x\"}")),
        }
    }

    #[test]
    fn classification_table() {
        let table: Vec<(Error, &str)> = vec![
            (
                Error::AlreadyDone {
                    idempotency_key: IdempotencyKey::new("k").unwrap(),
                    body: Box::new(ApiErrorBody::default()),
                },
                "already",
            ),
            (
                Error::RateLimited {
                    limit: Some(10),
                    remaining: Some(0),
                    retry_after: None,
                    body: Box::default(),
                },
                "transient",
            ),
            (api(500), "transient"),
            (api(503), "transient"),
            (
                Error::Transport {
                    kind: TransportErrorKind::Timeout,
                    source: "no complete answer within 1s".into(),
                },
                "transient",
            ),
            (
                Error::Transport {
                    kind: TransportErrorKind::Connect,
                    source: "refused".into(),
                },
                "transient",
            ),
            (
                Error::Transport {
                    kind: TransportErrorKind::ConnectionLost,
                    source: "reset".into(),
                },
                "transient",
            ),
            (
                Error::Transport {
                    kind: TransportErrorKind::Other,
                    source: "could not build the request".into(),
                },
                "permanent",
            ),
            (api(400), "permanent"),
            (api(401), "permanent"),
            (api(404), "permanent"),
            (
                Error::InvalidRequest(ValidationError::MissingIdentifier),
                "permanent",
            ),
            (Error::Config("x".into()), "permanent"),
        ];
        for (error, expected) in table {
            let shown = error.to_string();
            let got = match classify_loops_error(error) {
                PortError::AlreadyDone { .. } => "already",
                PortError::Transient { .. } => "transient",
                PortError::Permanent { .. } => "permanent",
            };
            assert_eq!(got, expected, "{shown}");
        }
    }
}
