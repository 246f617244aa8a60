//! Cursor pagination (`perPage` + `cursor`, next cursor in `pagination.nextCursor`).
//!
//! A handle's `list_page(..)` returns one [`Page`]; its `list(..)` returns a `Stream` of every
//! item, page after page.

use http::Method;
use serde::{Deserialize, Serialize};

use crate::endpoint::{ApiRequest, Endpoint};
use crate::json::null_as_default;
use crate::validate::ValidationError;

/// One page of a list.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(bound(deserialize = "T: Deserialize<'de>"))]
#[non_exhaustive]
pub struct Page<T> {
    /// Where this page sits in the list.
    #[serde(default)]
    pub pagination: Pagination,
    /// The items.
    #[serde(default = "Vec::new", deserialize_with = "null_as_default")]
    pub data: Vec<T>,
}

/// The `pagination` object of a list answer. Every field is optional: an empty list has been
/// seen without `nextCursor` or `nextPage`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Pagination {
    /// Items in the whole list.
    #[serde(default)]
    pub total_results: Option<u64>,
    /// Items on this page.
    #[serde(default)]
    pub returned_results: Option<u64>,
    /// The page size.
    #[serde(default)]
    pub per_page: Option<u64>,
    /// Pages in the whole list.
    #[serde(default)]
    pub total_pages: Option<u64>,
    /// The cursor of the next page; `None` on the last page.
    #[serde(default)]
    pub next_cursor: Option<String>,
    /// The URL of the next page.
    #[serde(default)]
    pub next_page: Option<String>,
}

/// Which page to fetch.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PageRequest {
    /// Items per page, 10 to 50 (Loops' default is 20).
    pub per_page: Option<u32>,
    /// The cursor from the previous page's `nextCursor`.
    pub cursor: Option<String>,
}

impl PageRequest {
    /// The first page, with `per_page` items (10 to 50; `None`: Loops' default of 20).
    pub fn first(per_page: Option<u32>) -> Self {
        PageRequest {
            per_page,
            cursor: None,
        }
    }

    /// The page after the one that answered with this `nextCursor`.
    pub fn after(per_page: Option<u32>, cursor: impl Into<String>) -> Self {
        PageRequest {
            per_page,
            cursor: Some(cursor.into()),
        }
    }
}

/// `GET {path}?perPage=..&cursor=..` for one page of a cursor-paged list.
pub(crate) fn list_request(
    endpoint: Endpoint,
    path: &'static str,
    page: &PageRequest,
) -> Result<ApiRequest, ValidationError> {
    let mut request = ApiRequest::new(endpoint, Method::GET, path);
    if let Some(per_page) = page.per_page {
        check_page_size(per_page)?;
        request = request.query("perPage", per_page.to_string());
    }
    if let Some(cursor) = page.cursor.as_deref().filter(|c| !c.is_empty()) {
        request = request.query("cursor", cursor);
    }
    Ok(request)
}

/// `list_page` and `list` for a handle whose list request takes only the page.
#[cfg(feature = "client")]
macro_rules! paged_list {
    ($item:ty, $build:path, $what:literal) => {
        #[doc = concat!("One page of ", $what, ".")]
        pub async fn list_page(
            &self,
            page: &$crate::pagination::PageRequest,
        ) -> $crate::Result<$crate::pagination::Page<$item>> {
            self.client.page(&$build(page)?).await
        }

        #[doc = concat!(
            "Every one of the ", $what, ", following `pagination.nextCursor` page by page ",
            "(`per_page` 10 to 50; `None`: Loops' default of 20). The stream owns a clone of ",
            "the client."
        )]
        pub fn list(
            &self,
            per_page: Option<u32>,
        ) -> impl futures_util::Stream<Item = $crate::Result<$item>> + Send + 'static {
            self.client.pages(per_page, $build)
        }
    };
}

#[cfg(feature = "client")]
pub(crate) use paged_list;

/// One page and every page of a list, for the handles.
#[cfg(feature = "client")]
impl crate::Client {
    pub(crate) async fn page<T: serde::de::DeserializeOwned>(
        &self,
        request: &ApiRequest,
    ) -> Result<Page<T>, crate::Error> {
        self.execute(request).await?.json()
    }

    pub(crate) fn pages<T>(
        &self,
        per_page: Option<u32>,
        build: fn(&PageRequest) -> Result<ApiRequest, ValidationError>,
    ) -> impl futures_util::Stream<Item = Result<T, crate::Error>> + Send + 'static
    where
        T: serde::de::DeserializeOwned + Send + 'static,
    {
        let client = self.clone();
        paginate(per_page, move |page| {
            let client = client.clone();
            async move { client.page(&build(&page)?).await }
        })
    }
}

pub(crate) fn check_page_size(per_page: u32) -> Result<(), ValidationError> {
    if (10..=50).contains(&per_page) {
        Ok(())
    } else {
        Err(ValidationError::InvalidPageSize { value: per_page })
    }
}

/// Follows `nextCursor` until it is absent, empty or repeats (a server bug must not loop
/// forever). After an error the stream ends with that error.
#[cfg(feature = "client")]
pub(crate) fn paginate<T, F, Fut>(
    per_page: Option<u32>,
    fetch: F,
) -> impl futures_util::Stream<Item = Result<T, crate::Error>> + Send + 'static
where
    T: Send + 'static,
    F: Fn(PageRequest) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = Result<Page<T>, crate::Error>> + Send + 'static,
{
    use futures_util::{StreamExt, TryStreamExt, stream};

    enum State {
        Next(Option<String>),
        Done,
    }
    let pages = stream::try_unfold(
        (State::Next(None), fetch),
        move |(state, fetch)| async move {
            let State::Next(cursor) = state else {
                return Ok::<_, crate::Error>(None);
            };
            let page = fetch(PageRequest {
                per_page,
                cursor: cursor.clone(),
            })
            .await?;
            let next = match page.pagination.next_cursor {
                Some(next) if !next.is_empty() && Some(&next) != cursor.as_ref() => {
                    State::Next(Some(next))
                }
                _ => State::Done,
            };
            Ok(Some((page.data, (next, fetch))))
        },
    );
    pages
        .map_ok(|items| stream::iter(items.into_iter().map(Ok)))
        .try_flatten()
        .boxed()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_sizes() {
        for (n, ok) in [
            (9, false),
            (10, true),
            (20, true),
            (50, true),
            (51, false),
            (0, false),
        ] {
            assert_eq!(check_page_size(n).is_ok(), ok, "{n}");
        }
    }

    #[test]
    fn list_requests() {
        let request = list_request(
            Endpoint::ListThemes,
            "/v1/themes",
            &PageRequest::after(Some(20), "abc"),
        )
        .unwrap();
        assert_eq!(request.path_and_query(), "/v1/themes?perPage=20&cursor=abc");
        let first = list_request(
            Endpoint::ListThemes,
            "/v1/themes",
            &PageRequest::first(None),
        );
        assert_eq!(first.unwrap().path_and_query(), "/v1/themes");
        let empty_cursor = PageRequest::after(None, "");
        let request = list_request(Endpoint::ListThemes, "/v1/themes", &empty_cursor).unwrap();
        assert_eq!(request.path_and_query(), "/v1/themes");
        assert!(
            list_request(
                Endpoint::ListThemes,
                "/v1/themes",
                &PageRequest::first(Some(5))
            )
            .is_err()
        );
    }

    #[test]
    fn empty_pages_without_cursor_fields_parse() {
        let page: Page<serde_json::Value> =
            serde_json::from_str(r#"{"pagination":{"totalResults":0,"returnedResults":0,"perPage":20,"totalPages":0},"data":[]}"#)
                .unwrap();
        assert!(page.pagination.next_cursor.is_none());
        let page: Page<serde_json::Value> = serde_json::from_str(r#"{"data":null}"#).unwrap();
        assert!(page.data.is_empty());
    }
}
