//! Batch writes: one path for the add and update calls of every resource that has them.
//!
//! Kommo's batch endpoints (`POST`/`PATCH /api/v4/{leads,contacts,tasks,...}`) take an array
//! and answer with `_embedded.<key>`; they differ in path, key and noun only, so a resource
//! names those in a [`Batch`] and calls [`Client::batch_add`] or [`Client::batch_update`].

use std::collections::VecDeque;

use http::Method;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::client::Client;
use crate::common::WriteResult;
use crate::error::{BatchItemResult, Error, Result};
use crate::raw::ApiRequest;

/// Where a resource's batch writes go.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Batch {
    /// The collection path, e.g. `/api/v4/leads`.
    pub(crate) path: &'static str,
    /// The `_embedded` key of the answer, e.g. `leads`.
    pub(crate) key: &'static str,
    /// One item, for errors: `lead`.
    pub(crate) noun: &'static str,
}

/// An item of a batch update, which must name the entity it changes.
pub(crate) trait Identified {
    /// Whether the item carries the entity's id.
    fn has_id(&self) -> bool;
}

/// The write types whose `id` field names the entity an update changes.
macro_rules! identified_by_id {
    ($($write:ty),* $(,)?) => {
        $(
            impl Identified for $write {
                fn has_id(&self) -> bool {
                    self.id.is_some()
                }
            }
        )*
    };
}

identified_by_id!(
    crate::leads::LeadWrite,
    crate::contacts::ContactWrite,
    crate::custom_fields::CustomFieldWrite,
    crate::notes::NoteUpdate,
    crate::tasks::TaskWrite,
);

impl Client {
    /// `POST` the items in chunks of the batch size. Never re-sent after an ambiguous failure:
    /// creating twice would be visible.
    pub(crate) async fn batch_add<B: Serialize>(
        &self,
        batch: Batch,
        items: Vec<B>,
    ) -> Result<Vec<WriteResult>> {
        self.batch_add_at(batch.path, batch.key, items).await
    }

    /// [`Client::batch_add`] to a path built at run time (`/api/v4/{entity}/custom_fields`).
    pub(crate) async fn batch_add_at<B: Serialize>(
        &self,
        path: &str,
        key: &'static str,
        items: Vec<B>,
    ) -> Result<Vec<WriteResult>> {
        self.batch_write(Method::POST, path, items, key, false)
            .await
    }

    /// `PATCH` the items in chunks; every item needs its id. Setting the same values twice is
    /// harmless, so updates are retried.
    pub(crate) async fn batch_update<B: Serialize + Identified>(
        &self,
        batch: Batch,
        items: Vec<B>,
    ) -> Result<Vec<WriteResult>> {
        self.batch_update_at(batch.path, batch.key, batch.noun, items)
            .await
    }

    /// [`Client::batch_update`] to a path built at run time.
    pub(crate) async fn batch_update_at<B: Serialize + Identified>(
        &self,
        path: &str,
        key: &'static str,
        noun: &str,
        items: Vec<B>,
    ) -> Result<Vec<WriteResult>> {
        if items.iter().any(|item| !item.has_id()) {
            return Err(Error::invalid_request(format!(
                "every {noun} in a batch update needs an id"
            )));
        }
        self.batch_write(Method::PATCH, path, items, key, true)
            .await
    }

    /// A batch write split into chunks of the configured batch size; results come from
    /// `_embedded.<key>`, in request order.
    ///
    /// Kommo answers 504 when a batch is too large to finish in time and advises smaller
    /// batches. For idempotent writes (updates) a chunk that still gets 504 after the retry
    /// policy is halved and sent again, down to single entities. A create is never re-sent
    /// after a 504 (it may have been applied), so the error is returned.
    pub(crate) async fn batch_write<B: Serialize>(
        &self,
        method: Method,
        path: &str,
        items: Vec<B>,
        key: &'static str,
        idempotent: bool,
    ) -> Result<Vec<WriteResult>> {
        self.batch_write_as(method, path, items, key, idempotent, WriteResult::clone)
            .await
    }

    /// [`Client::batch_write`] for an endpoint that answers with richer items than
    /// [`WriteResult`] (chat links); `committed` tells what of an item a
    /// [`Error::PartialBatch`] reports.
    pub(crate) async fn batch_write_as<B: Serialize, T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        items: Vec<B>,
        key: &'static str,
        idempotent: bool,
        committed_as: fn(&T) -> BatchItemResult,
    ) -> Result<Vec<T>> {
        let mut committed: Vec<T> = Vec::with_capacity(items.len());
        let mut pending: VecDeque<Vec<B>> = VecDeque::new();
        let mut iter = items.into_iter().peekable();
        while iter.peek().is_some() {
            pending.push_back(iter.by_ref().take(self.inner.batch_size).collect());
        }
        while let Some(mut chunk) = pending.pop_front() {
            let page = match ApiRequest::raw(method.clone(), path).json_body(&chunk) {
                Ok(request) => {
                    let request = request.safe_to_retry(idempotent);
                    self.page::<T>(request, key).await
                }
                Err(e) => Err(e),
            };
            match page {
                Ok(page) => committed.extend(page.items),
                Err(Error::GatewayTimeout(_)) if idempotent && chunk.len() > 1 => {
                    let second = chunk.split_off(chunk.len() / 2);
                    tracing::debug!(
                        size = chunk.len() + second.len(),
                        "504 on a batch; halving it"
                    );
                    pending.push_front(second);
                    pending.push_front(chunk);
                }
                Err(e) if committed.is_empty() => return Err(e),
                Err(e) => {
                    return Err(Error::PartialBatch {
                        committed: committed.iter().map(committed_as).collect(),
                        source: Box::new(e),
                    });
                }
            }
        }
        Ok(committed)
    }
}
