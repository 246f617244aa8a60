//! The calls most collections share, written once: `list_page`/`list`, `get`, batch `add`
//! and `update`, `update_one` and `delete` on a handle whose collection path is
//! `self.path()`. Each resource module picks the calls its endpoint has.

/// `list_page` and `list`.
macro_rules! list_calls {
    ($api:ty, $item:ty, $key:literal, $what:literal) => {
        impl $api {
            #[doc = concat!("One page of ", $what, "; a 204 is an empty page.")]
            ///
            /// # Errors
            ///
            /// Any [`Error`](crate::Error) of the request.
            pub async fn list_page(
                &self,
                query: crate::pagination::ListQuery,
            ) -> crate::Result<crate::common::Page<$item>> {
                self.client.list_page(self.path(), query, $key).await
            }

            #[doc = concat!("Every one of ", $what, ", following `_links.next`.")]
            pub fn list(
                &self,
                query: crate::pagination::ListQuery,
            ) -> impl futures_util::Stream<Item = crate::Result<$item>> + Send + 'static {
                self.client.paginate(self.path(), query, $key)
            }
        }
    };
}

/// `get(id)`: `GET {path}/{id}`, `None` on 204.
macro_rules! get_call {
    ($api:ty, $item:ty, $id:ty, $what:literal) => {
        impl $api {
            #[doc = concat!("One of ", $what, " by id; `None` on 204.")]
            ///
            /// # Errors
            ///
            /// Any [`Error`](crate::Error) of the request.
            pub async fn get(&self, id: $id) -> crate::Result<Option<$item>> {
                self.client
                    .get_json(format!("{}/{id}", self.path()), None)
                    .await
            }
        }
    };
}

/// `add(items)`: a batch `POST`, in chunks of the client's batch size.
macro_rules! add_call {
    ($api:ty, $write:ty, $key:literal, $what:literal) => {
        impl $api {
            #[doc = concat!("Adds ", $what, " (a batch `POST`, in chunks of the client's batch size).")]
            ///
            /// # Errors
            ///
            /// [`Error::InvalidRequest`](crate::Error::InvalidRequest) for an item the API
            /// would refuse (nothing is sent), [`Error::PartialBatch`](crate::Error::PartialBatch)
            /// when a later chunk fails, otherwise the request's error.
            pub async fn add(
                &self,
                items: Vec<$write>,
            ) -> crate::Result<Vec<crate::common::WriteResult>> {
                for item in &items {
                    crate::crud::Checked::check(item)?;
                }
                self.client.batch_add_at(&self.path(), $key, items).await
            }
        }
    };
}

/// `update(items)`: a batch `PATCH`; every item needs its id.
macro_rules! update_call {
    ($api:ty, $write:ty, $key:literal, $noun:literal) => {
        impl crate::batch::Identified for $write {
            fn has_id(&self) -> bool {
                self.id.is_some()
            }
        }

        impl $api {
            #[doc = concat!("Updates ", $noun, "s (a batch `PATCH`); every item needs its id.")]
            ///
            /// # Errors
            ///
            /// [`Error::InvalidRequest`](crate::Error::InvalidRequest) for an item without
            /// an id (nothing is sent), otherwise as `add`.
            pub async fn update(
                &self,
                items: Vec<$write>,
            ) -> crate::Result<Vec<crate::common::WriteResult>> {
                self.client
                    .batch_update_at(&self.path(), $key, $noun, items)
                    .await
            }
        }
    };
}

/// `update_one(id, write)`: `PATCH {path}/{id}` with the write (its own id left out).
macro_rules! update_one_call {
    ($api:ty, $write:ty, $id:ty, $what:literal) => {
        impl $api {
            #[doc = concat!("Updates one of ", $what, ": `PATCH {path}/{id}`.")]
            ///
            /// # Errors
            ///
            /// Any [`Error`](crate::Error) of the request.
            pub async fn update_one(
                &self,
                id: $id,
                mut write: $write,
            ) -> crate::Result<crate::common::WriteResult> {
                write.id = None;
                let request =
                    crate::ApiRequest::raw(http::Method::PATCH, format!("{}/{id}", self.path()))
                        .json_body(&write)?
                        .safe_to_retry(true);
                self.client.write_one(request).await
            }
        }
    };
}

/// `delete(id)`: `DELETE {path}/{id}`.
macro_rules! delete_call {
    ($api:ty, $id:ty, $what:literal) => {
        impl $api {
            #[doc = concat!("Deletes one of ", $what, ": `DELETE {path}/{id}` (204).")]
            ///
            /// # Errors
            ///
            /// Any [`Error`](crate::Error) of the request.
            pub async fn delete(&self, id: $id) -> crate::Result<()> {
                self.client
                    .delete::<()>(format!("{}/{id}", self.path()), None)
                    .await
            }
        }
    };
}

pub(crate) use {add_call, delete_call, get_call, list_calls, update_call, update_one_call};

/// What a write must hold before it is sent; the default accepts everything.
pub(crate) trait Checked {
    /// `Err` with the reason when the API would refuse the item.
    fn check(&self) -> crate::Result<()> {
        Ok(())
    }
}

/// Refuses a blank required string.
pub(crate) fn required(value: Option<&str>, what: &str) -> crate::Result<()> {
    if value.is_some_and(|v| !v.trim().is_empty()) {
        Ok(())
    } else {
        Err(crate::Error::InvalidRequest(format!("{what} is required")))
    }
}
