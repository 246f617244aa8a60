//! List queries and HAL pagination.
//!
//! Every listable resource has two calls: `list_page(query)` returns one
//! [`Page`](crate::common::Page) (items, page number, total and the HAL links), and
//! `list(query)` returns a `Stream` of every item, following `_links.next` until it is
//! absent, the API answers 204, a page is empty, or the next link points to a page already
//! fetched (a loop guard: a server bug must not turn into an endless, rate-limit-burning
//! crawl).

/// The largest `limit` Kommo accepts.
pub const MAX_LIMIT: u32 = 250;

/// Builds the query of a list request: `page`, `limit`, `with`, `query`, `filter[...]` and
/// `order[...]`.
///
/// ```
/// use kommo_client::pagination::ListQuery;
/// let q = ListQuery::new()
///     .limit(500) // clamped to 250
///     .with(["contacts"])
///     .filter_ids("id", [1u64, 2])
///     .filter_status(7u64, 142u64)
///     .order("updated_at", false);
/// assert_eq!(
///     q.into_pairs(),
///     vec![
///         ("limit".to_owned(), "250".to_owned()),
///         ("with".to_owned(), "contacts".to_owned()),
///         ("filter[id][]".to_owned(), "1".to_owned()),
///         ("filter[id][]".to_owned(), "2".to_owned()),
///         ("filter[statuses][0][pipeline_id]".to_owned(), "7".to_owned()),
///         ("filter[statuses][0][status_id]".to_owned(), "142".to_owned()),
///         ("order[updated_at]".to_owned(), "desc".to_owned()),
///     ]
/// );
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListQuery {
    page: Option<u32>,
    limit: Option<u32>,
    with: Vec<String>,
    query: Option<String>,
    filters: Vec<(String, String)>,
    statuses: u32,
    order: Option<(String, bool)>,
}

impl ListQuery {
    /// An empty query (the API's defaults: page 1, 50 items).
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// The first page to fetch (1-based).
    #[must_use]
    pub fn page(mut self, page: u32) -> Self {
        self.page = Some(page.max(1));
        self
    }

    /// Items per page, clamped to `1..=250`.
    #[must_use]
    pub fn limit(mut self, limit: u32) -> Self {
        self.limit = Some(limit.clamp(1, MAX_LIMIT));
        self
    }

    /// `with=` extras (comma-joined; unknown values are sent as given).
    #[must_use]
    pub fn with<S: AsRef<str>>(mut self, with: impl IntoIterator<Item = S>) -> Self {
        self.with
            .extend(with.into_iter().map(|s| s.as_ref().to_owned()));
        self
    }

    /// Full-text search (`query=`).
    #[must_use]
    pub fn query(mut self, query: impl Into<String>) -> Self {
        self.query = Some(query.into());
        self
    }

    /// `filter[name]=value`.
    #[must_use]
    pub fn filter(mut self, name: &str, value: impl ToString) -> Self {
        self.filters
            .push((format!("filter[{name}]"), value.to_string()));
        self
    }

    /// `filter[name][]=v1&filter[name][]=v2`.
    #[must_use]
    pub fn filter_ids<V: ToString>(
        mut self,
        name: &str,
        values: impl IntoIterator<Item = V>,
    ) -> Self {
        for v in values {
            self.filters
                .push((format!("filter[{name}][]"), v.to_string()));
        }
        self
    }

    /// `filter[name][from]` / `filter[name][to]` (unix seconds for dates).
    #[must_use]
    pub fn filter_range(mut self, name: &str, from: Option<i64>, to: Option<i64>) -> Self {
        if let Some(f) = from {
            self.filters
                .push((format!("filter[{name}][from]"), f.to_string()));
        }
        if let Some(t) = to {
            self.filters
                .push((format!("filter[{name}][to]"), t.to_string()));
        }
        self
    }

    /// `filter[statuses][i][pipeline_id]=…&filter[statuses][i][status_id]=…` (leads).
    #[must_use]
    pub fn filter_status(mut self, pipeline_id: impl Into<u64>, status_id: impl Into<u64>) -> Self {
        let i = self.statuses;
        self.statuses += 1;
        self.filters.push((
            format!("filter[statuses][{i}][pipeline_id]"),
            pipeline_id.into().to_string(),
        ));
        self.filters.push((
            format!("filter[statuses][{i}][status_id]"),
            status_id.into().to_string(),
        ));
        self
    }

    /// `order[field]=asc|desc`.
    #[must_use]
    pub fn order(mut self, field: impl Into<String>, ascending: bool) -> Self {
        self.order = Some((field.into(), ascending));
        self
    }

    /// The query pairs, in a stable order.
    #[must_use]
    pub fn into_pairs(self) -> Vec<(String, String)> {
        let mut pairs = Vec::new();
        if let Some(p) = self.page {
            pairs.push(("page".to_owned(), p.to_string()));
        }
        if let Some(l) = self.limit {
            pairs.push(("limit".to_owned(), l.to_string()));
        }
        if !self.with.is_empty() {
            pairs.push(("with".to_owned(), self.with.join(",")));
        }
        if let Some(q) = self.query {
            pairs.push(("query".to_owned(), q));
        }
        pairs.extend(self.filters);
        if let Some((field, asc)) = self.order {
            pairs.push((
                format!("order[{field}]"),
                if asc { "asc" } else { "desc" }.to_owned(),
            ));
        }
        pairs
    }
}

/// A `with=` pair, or nothing for an empty list.
#[cfg_attr(not(feature = "client"), allow(dead_code))]
pub(crate) fn with_param<S: AsRef<str>>(with: &[S]) -> Option<(String, String)> {
    if with.is_empty() {
        return None;
    }
    let joined: Vec<&str> = with.iter().map(AsRef::as_ref).collect();
    Some(("with".to_owned(), joined.join(",")))
}

#[cfg(feature = "client")]
mod stream {
    use std::collections::HashSet;

    use futures_util::{Stream, StreamExt, TryStreamExt, stream};
    use serde::de::DeserializeOwned;

    use crate::client::Client;
    use crate::common::Page;
    use crate::error::{Error, RawBody, Result};
    use crate::raw::ApiRequest;

    struct State {
        client: Client,
        next: Option<ApiRequest>,
        seen: HashSet<String>,
        key: &'static str,
    }

    impl Client {
        /// One page of a HAL collection whose items live under `_embedded.<key>`; a 204 is an
        /// empty page.
        pub(crate) async fn page<T: DeserializeOwned>(
            &self,
            request: ApiRequest,
            key: &str,
        ) -> Result<Page<T>> {
            let response = self.execute(&request).await?;
            if response.status == 204 || response.body.iter().all(u8::is_ascii_whitespace) {
                return Ok(Page::default());
            }
            Page::from_hal_slice(&response.body, key).map_err(|source| Error::Decode {
                source,
                body: RawBody::from_bytes(&response.body),
            })
        }

        /// One page of the collection at `path`.
        pub(crate) async fn list_page<T: DeserializeOwned>(
            &self,
            path: impl Into<String>,
            query: super::ListQuery,
            key: &str,
        ) -> Result<Page<T>> {
            self.page(ApiRequest::get(path).queries(query.into_pairs()), key)
                .await
        }

        /// Streams every item of a HAL collection, page after page.
        pub(crate) fn paginate<T>(
            &self,
            path: impl Into<String>,
            query: super::ListQuery,
            key: &'static str,
        ) -> impl Stream<Item = Result<T>> + Send + 'static
        where
            T: DeserializeOwned + Send + 'static,
        {
            self.paginate_request(ApiRequest::get(path).queries(query.into_pairs()), key)
        }

        /// Streams every item of a HAL collection from a first request, page after page.
        pub(crate) fn paginate_request<T>(
            &self,
            first: ApiRequest,
            key: &'static str,
        ) -> impl Stream<Item = Result<T>> + Send + 'static
        where
            T: DeserializeOwned + Send + 'static,
        {
            let state = State {
                client: self.clone(),
                next: Some(first),
                seen: HashSet::new(),
                key,
            };
            stream::try_unfold(state, |mut state| async move {
                let Some(current) = state.next.take() else {
                    return Ok(None);
                };
                state.seen.insert(current.path_and_query());
                let page: Page<T> = state.client.page(current, state.key).await?;
                // An empty page ends the walk even when it links on: a server bug must not
                // turn into an endless, rate-limit-burning crawl.
                if !page.items.is_empty() {
                    state.next = page
                        .next_href()
                        .and_then(|href| state.client.relative_to_base(href))
                        .filter(|next| !state.seen.contains(&next.path_and_query()));
                }
                Ok(Some((page.items, state)))
            })
            .map_ok(|items| stream::iter(items.into_iter().map(Ok)))
            .try_flatten()
            .boxed()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_pairs() {
        let q = ListQuery::new()
            .page(0)
            .limit(0)
            .query("a@b.c")
            .filter_range("updated_at", Some(1), None);
        assert_eq!(
            q.into_pairs(),
            vec![
                ("page".to_owned(), "1".to_owned()),
                ("limit".to_owned(), "1".to_owned()),
                ("query".to_owned(), "a@b.c".to_owned()),
                ("filter[updated_at][from]".to_owned(), "1".to_owned()),
            ]
        );
        assert_eq!(with_param::<&str>(&[]), None);
        assert_eq!(
            with_param(&["a", "b"]),
            Some(("with".to_owned(), "a,b".to_owned()))
        );
    }
}
