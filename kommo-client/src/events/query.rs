//! The query of `GET /api/v4/events`: paging, `with=` and every filter, checked before
//! sending.

use crate::ids::{EnumId, PipelineId, StatusId, UserId};

use super::EventType;

/// The most events per page (Kommo's events list allows 100, not the usual 250).
pub const EVENTS_MAX_LIMIT: u32 = 100;
/// The most ids `filter[entity_id]` and `filter[created_by]` take.
pub const EVENTS_MAX_FILTER_IDS: usize = 10;

/// A filter on the value before or after a change (`filter[value_before]`,
/// `filter[value_after]`). Each one is documented for some event types only.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ValueFilter {
    /// `leads_statuses`: these stages (`lead_status_changed`).
    LeadsStatuses(Vec<(PipelineId, StatusId)>),
    /// `responsible_user_id`: these users (`entity_responsible_changed`).
    ResponsibleUsers(Vec<UserId>),
    /// `custom_field_values`: these options of a select-like field
    /// (`custom_field_{ID}_value_changed`, with exactly one type in the query).
    CustomFieldValues(Vec<EnumId>),
    /// `value`: this exact value (`sale_field_changed`, `name_field_changed`,
    /// `ltv_field_changed`, `nps_rate_added`, `custom_field_value_changed`).
    Value(String),
}

impl ValueFilter {
    fn push_pairs(&self, side: &str, out: &mut Vec<(String, String)>) {
        let base = format!("filter[{side}]");
        match self {
            ValueFilter::LeadsStatuses(stages) => {
                for (i, (pipeline, status)) in stages.iter().enumerate() {
                    out.push((
                        format!("{base}[leads_statuses][{i}][pipeline_id]"),
                        pipeline.to_string(),
                    ));
                    out.push((
                        format!("{base}[leads_statuses][{i}][status_id]"),
                        status.to_string(),
                    ));
                }
            }
            ValueFilter::ResponsibleUsers(users) => {
                out.push((format!("{base}[responsible_user_id]"), join(users)));
            }
            ValueFilter::CustomFieldValues(enums) => {
                out.push((format!("{base}[custom_field_values]"), join(enums)));
            }
            ValueFilter::Value(v) => out.push((format!("{base}[value]"), v.clone())),
        }
    }

    fn is_empty(&self) -> bool {
        match self {
            ValueFilter::LeadsStatuses(v) => v.is_empty(),
            ValueFilter::ResponsibleUsers(v) => v.is_empty(),
            ValueFilter::CustomFieldValues(v) => v.is_empty(),
            ValueFilter::Value(_) => false,
        }
    }
}

fn join<T: ToString>(items: &[T]) -> String {
    items
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

/// `with=` values of the events list: the names of the entities the events belong to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum EventWith {
    /// `contact_name`.
    ContactName,
    /// `lead_name`.
    LeadName,
    /// `company_name`.
    CompanyName,
    /// `catalog_element_name`.
    CatalogElementName,
    /// `customer_name`.
    CustomerName,
    /// `catalog_name`.
    CatalogName,
}

impl AsRef<str> for EventWith {
    fn as_ref(&self) -> &str {
        match self {
            EventWith::ContactName => "contact_name",
            EventWith::LeadName => "lead_name",
            EventWith::CompanyName => "company_name",
            EventWith::CatalogElementName => "catalog_element_name",
            EventWith::CustomerName => "customer_name",
            EventWith::CatalogName => "catalog_name",
        }
    }
}

/// The query of the events list.
///
/// ```
/// use kommo_client::events::{EventType, EventsQuery, ValueFilter};
/// use kommo_client::ids::{PipelineId, StatusId};
///
/// let q = EventsQuery::new()
///     .limit(100)
///     .types([EventType::LeadStatusChanged, EventType::LeadAdded])
///     .entity("lead")
///     .created_at(Some(1_700_000_000), Some(1_700_003_600))
///     .value_after(ValueFilter::LeadsStatuses(vec![(PipelineId(12345), StatusId(99999999))]));
/// let pairs = q.into_pairs()?;
/// assert!(pairs.contains(&("filter[type]".into(), "lead_status_changed,lead_added".into())));
/// assert!(pairs.contains(&(
///     "filter[value_after][leads_statuses][0][status_id]".into(),
///     "99999999".into()
/// )));
///
/// // What Kommo refuses is refused before sending.
/// let too_many = EventsQuery::new().entity("lead").entity_ids(1u64..=11);
/// assert!(too_many.into_pairs().is_err());
/// # Ok::<(), kommo_client::Error>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventsQuery {
    page: Option<u32>,
    limit: Option<u32>,
    with: Vec<EventWith>,
    ids: Vec<String>,
    types: Vec<EventType>,
    entities: Vec<String>,
    entity_ids: Vec<u64>,
    created_by: Vec<UserId>,
    created_at: (Option<i64>, Option<i64>),
    value_before: Option<ValueFilter>,
    value_after: Option<ValueFilter>,
}

impl EventsQuery {
    /// An empty query (the newest events first, Kommo's default page size).
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

    /// Events per page, clamped to `1..=100`.
    #[must_use]
    pub fn limit(mut self, limit: u32) -> Self {
        self.limit = Some(limit.clamp(1, EVENTS_MAX_LIMIT));
        self
    }

    /// `with=` extras.
    #[must_use]
    pub fn with(mut self, with: impl IntoIterator<Item = EventWith>) -> Self {
        self.with.extend(with);
        self
    }

    /// `filter[id]`: these event ids.
    #[must_use]
    pub fn ids<S: Into<String>>(mut self, ids: impl IntoIterator<Item = S>) -> Self {
        self.ids.extend(ids.into_iter().map(Into::into));
        self
    }

    /// `filter[type]`: these event types.
    #[must_use]
    pub fn types(mut self, types: impl IntoIterator<Item = EventType>) -> Self {
        self.types.extend(types);
        self
    }

    /// `filter[entity]`: events of this entity type (`lead`, `contact`, `company`, `task`,
    /// `customer`, `catalog_{ID}`); may be given several times.
    #[must_use]
    pub fn entity(mut self, entity: impl Into<String>) -> Self {
        self.entities.push(entity.into());
        self
    }

    /// `filter[entity_id]`: events of these entities (at most 10; needs exactly one
    /// [`EventsQuery::entity`]).
    #[must_use]
    pub fn entity_ids<I: Into<u64>>(mut self, ids: impl IntoIterator<Item = I>) -> Self {
        self.entity_ids.extend(ids.into_iter().map(Into::into));
        self
    }

    /// `filter[created_by]`: events made by these users (at most 10; `0` is the robot).
    #[must_use]
    pub fn created_by(mut self, users: impl IntoIterator<Item = UserId>) -> Self {
        self.created_by.extend(users);
        self
    }

    /// `filter[created_at][from]` / `[to]`, unix seconds, both ends included.
    #[must_use]
    pub fn created_at(mut self, from: Option<i64>, to: Option<i64>) -> Self {
        self.created_at = (from, to);
        self
    }

    /// `filter[value_before][...]`.
    #[must_use]
    pub fn value_before(mut self, filter: ValueFilter) -> Self {
        self.value_before = Some(filter);
        self
    }

    /// `filter[value_after][...]`.
    #[must_use]
    pub fn value_after(mut self, filter: ValueFilter) -> Self {
        self.value_after = Some(filter);
        self
    }

    /// The limit this query asks for, if set.
    #[must_use]
    pub fn limit_value(&self) -> Option<u32> {
        self.limit
    }

    /// Checks the query against what Kommo documents, then returns its pairs in a stable
    /// order.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidRequest`](crate::Error::InvalidRequest) for more than 10 entity ids or
    /// creators, entity ids without exactly one entity type, a `custom_field_values` filter
    /// without exactly one event type, an empty value filter, or a `created_at` range whose
    /// start is after its end.
    pub fn into_pairs(self) -> crate::Result<Vec<(String, String)>> {
        self.check()?;
        let mut pairs = Vec::new();
        if let Some(p) = self.page {
            pairs.push(("page".to_owned(), p.to_string()));
        }
        if let Some(l) = self.limit {
            pairs.push(("limit".to_owned(), l.to_string()));
        }
        if !self.with.is_empty() {
            let with: Vec<&str> = self.with.iter().map(AsRef::as_ref).collect();
            pairs.push(("with".to_owned(), with.join(",")));
        }
        if !self.ids.is_empty() {
            pairs.push(("filter[id]".to_owned(), self.ids.join(",")));
        }
        if !self.types.is_empty() {
            let types: Vec<String> = self.types.iter().map(|t| t.as_str().into_owned()).collect();
            pairs.push(("filter[type]".to_owned(), types.join(",")));
        }
        if !self.entities.is_empty() {
            pairs.push(("filter[entity]".to_owned(), self.entities.join(",")));
        }
        if !self.entity_ids.is_empty() {
            pairs.push(("filter[entity_id]".to_owned(), join(&self.entity_ids)));
        }
        if !self.created_by.is_empty() {
            pairs.push(("filter[created_by]".to_owned(), join(&self.created_by)));
        }
        if let Some(from) = self.created_at.0 {
            pairs.push(("filter[created_at][from]".to_owned(), from.to_string()));
        }
        if let Some(to) = self.created_at.1 {
            pairs.push(("filter[created_at][to]".to_owned(), to.to_string()));
        }
        if let Some(f) = &self.value_before {
            f.push_pairs("value_before", &mut pairs);
        }
        if let Some(f) = &self.value_after {
            f.push_pairs("value_after", &mut pairs);
        }
        Ok(pairs)
    }

    fn check(&self) -> crate::Result<()> {
        let refuse = |why: &str| Err(crate::Error::InvalidRequest(format!("events query: {why}")));
        if self.entity_ids.len() > EVENTS_MAX_FILTER_IDS {
            return refuse("filter[entity_id] takes at most 10 ids");
        }
        if !self.entity_ids.is_empty() && self.entities.len() != 1 {
            return refuse("filter[entity_id] needs exactly one filter[entity]");
        }
        if self.created_by.len() > EVENTS_MAX_FILTER_IDS {
            return refuse("filter[created_by] takes at most 10 users");
        }
        if let (Some(from), Some(to)) = self.created_at
            && from > to
        {
            return refuse("filter[created_at] starts after it ends");
        }
        for f in [&self.value_before, &self.value_after]
            .into_iter()
            .flatten()
        {
            if f.is_empty() {
                return refuse("an empty value filter");
            }
            if matches!(f, ValueFilter::CustomFieldValues(_)) && self.types.len() != 1 {
                return refuse("custom_field_values needs exactly one event type");
            }
        }
        Ok(())
    }
}
