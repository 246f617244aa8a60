//! Incoming leads (unsorted), catalogs with their elements (and the elements linked to
//! leads), customers with their statuses, segments, transactions and bonus points, and the
//! chats linked to contacts: the records the fake keeps for them.
//!
//! An incoming lead is a real lead in its pipeline's incoming column (and a real contact), so
//! the leads API, the events log and the webhooks see it as Kommo shows it; accepting moves
//! the lead to the next stage (or the one asked for), declining deletes it. The fake's
//! choices: uids are 40 hexadecimal digits; only forms and calls can be added (as over
//! Kommo's API) and so nothing can be linked (Kommo links only chats); `unsorted[...]`
//! webhooks are not sent, the lead's own are.

use std::collections::BTreeMap;

use kommo_client::ids::{ContactId, LeadId, PipelineId, UserId};
use serde::Serialize;
use serde_json::Value;

/// What became of an incoming lead.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum UnsortedState {
    Waiting,
    Accepted,
    Declined,
}

/// An incoming lead.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct UnsortedItem {
    pub(crate) uid: String,
    pub(crate) source_uid: String,
    pub(crate) source_name: String,
    /// `forms` or `sip`.
    pub(crate) category: String,
    pub(crate) pipeline_id: PipelineId,
    pub(crate) created_at: i64,
    pub(crate) metadata: Value,
    pub(crate) lead: Option<LeadId>,
    pub(crate) contact: Option<ContactId>,
    pub(crate) state: UnsortedState,
    /// When it was accepted or declined.
    pub(crate) sorted_at: Option<i64>,
}

/// A catalog (list).
#[derive(Debug, Clone, Serialize)]
pub(crate) struct CatalogRecord {
    pub(crate) id: u64,
    pub(crate) name: String,
    pub(crate) kind: String,
    pub(crate) sort: i64,
    pub(crate) created_by: UserId,
    pub(crate) created_at: i64,
    pub(crate) updated_at: i64,
}

/// An element of a catalog; its field values are kept as written.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct ElementRecord {
    pub(crate) id: u64,
    pub(crate) catalog_id: u64,
    pub(crate) name: String,
    pub(crate) custom_fields_values: Value,
    pub(crate) created_by: UserId,
    pub(crate) created_at: i64,
    pub(crate) updated_at: i64,
}

/// A customer.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct CustomerRecord {
    pub(crate) id: u64,
    pub(crate) name: String,
    pub(crate) next_price: Option<f64>,
    pub(crate) next_date: Option<i64>,
    pub(crate) responsible_user_id: UserId,
    pub(crate) created_by: UserId,
    pub(crate) created_at: i64,
    pub(crate) updated_at: i64,
    pub(crate) bonus_points: i64,
}

/// A customer's purchase.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct TransactionRecord {
    pub(crate) id: u64,
    pub(crate) customer_id: u64,
    pub(crate) price: f64,
    pub(crate) comment: Option<String>,
    pub(crate) completed_at: i64,
    pub(crate) created_by: UserId,
    pub(crate) created_at: i64,
}

/// An element of a catalog on a lead (a product with its quantity).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct ElementLink {
    pub(crate) lead: u64,
    pub(crate) element: u64,
    pub(crate) catalog: u64,
    pub(crate) quantity: f64,
    /// The price field used, when the catalog has several.
    pub(crate) price_id: Option<u64>,
}

/// A customer status (a stage of the periodic purchase mode).
#[derive(Debug, Clone, Serialize)]
pub(crate) struct CustomerStatusRecord {
    pub(crate) id: u64,
    pub(crate) name: String,
    pub(crate) sort: i64,
    pub(crate) color: String,
    /// 0 regular; the built-in kinds: 1 expected purchase, 2 did not purchase, 3 closed,
    /// 4 recently purchased.
    pub(crate) kind: i64,
    /// Built-in statuses cannot be changed or deleted.
    pub(crate) is_default: bool,
}

/// A customer segment.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct SegmentRecord {
    pub(crate) id: u64,
    pub(crate) name: String,
    pub(crate) color: String,
    pub(crate) custom_fields_values: Value,
    pub(crate) created_at: i64,
    pub(crate) updated_at: i64,
}

/// A chat of Kommo's Chats API linked to a contact.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct ChatLinkRecord {
    /// Kommo gives a link a new id when the chat moves to another contact.
    pub(crate) id: u64,
    pub(crate) chat_id: String,
    pub(crate) contact_id: u64,
}

/// Everything above, with its id counters.
#[derive(Debug)]
pub(crate) struct Sales {
    pub(crate) unsorted: Vec<UnsortedItem>,
    pub(crate) catalogs: BTreeMap<u64, CatalogRecord>,
    pub(crate) elements: BTreeMap<u64, ElementRecord>,
    /// Elements on leads, in the order they were linked.
    pub(crate) element_links: Vec<ElementLink>,
    pub(crate) customers: BTreeMap<u64, CustomerRecord>,
    pub(crate) customer_statuses: BTreeMap<u64, CustomerStatusRecord>,
    pub(crate) segments: BTreeMap<u64, SegmentRecord>,
    pub(crate) transactions: BTreeMap<u64, TransactionRecord>,
    /// Chat links by chat id: a chat belongs to one contact at a time.
    pub(crate) chat_links: BTreeMap<String, ChatLinkRecord>,
    /// The products module (`/api/v4/catalogs/products/settings`); on by default.
    pub(crate) products_enabled: bool,
    /// The customers module's mode (`segments` or `periodicity`) and whether it is on
    /// (`/api/v4/customers/mode`); only the statuses depend on them.
    pub(crate) customers_mode: String,
    pub(crate) customers_enabled: bool,
    next_id: u64,
    next_uid: u64,
}

/// The built-in customer statuses every account starts with: the first and the three final
/// ones, which Kommo does not let anyone change (the fake's names and colors; the ids are the
/// fake's, outside the other counters).
const BUILT_IN_STATUSES: [(&str, &str, i64); 4] = [
    ("Recently purchased", "#ccff66", 4),
    ("Expected purchase", "#fffeb2", 1),
    ("Did not purchase", "#ff8f92", 2),
    ("Closed", "#d6eaff", 3),
];

/// At most this many customer statuses, built-in ones included (amoCRM's reference).
pub(crate) const MAX_CUSTOMER_STATUSES: usize = 30;
/// At most this many segments (amoCRM's reference).
pub(crate) const MAX_SEGMENTS: usize = 100;

impl Default for Sales {
    fn default() -> Self {
        let customer_statuses = BUILT_IN_STATUSES
            .iter()
            .zip(1..)
            .map(|((name, color, kind), sort)| {
                let id = 4_000_000 + sort as u64;
                let status = CustomerStatusRecord {
                    id,
                    name: (*name).to_owned(),
                    sort,
                    color: (*color).to_owned(),
                    kind: *kind,
                    is_default: true,
                };
                (id, status)
            })
            .collect();
        Sales {
            unsorted: Vec::new(),
            catalogs: BTreeMap::new(),
            elements: BTreeMap::new(),
            element_links: Vec::new(),
            customers: BTreeMap::new(),
            customer_statuses,
            segments: BTreeMap::new(),
            transactions: BTreeMap::new(),
            chat_links: BTreeMap::new(),
            products_enabled: true,
            customers_mode: "periodicity".to_owned(),
            customers_enabled: true,
            next_id: 0,
            next_uid: 0,
        }
    }
}

impl Sales {
    /// Ids for catalogs, elements, customers, their statuses and segments, transactions and
    /// chat links, kept apart from the CRM's.
    pub(crate) fn next_id(&mut self) -> u64 {
        self.next_id += 1;
        70_000_000 + self.next_id
    }

    pub(crate) fn next_uid(&mut self) -> String {
        self.next_uid += 1;
        format!("{:040x}", 0x5a1e_0000_u64 + self.next_uid)
    }

    /// The totals `GET /api/v4/leads/unsorted/summary` reports.
    pub(crate) fn summary(&self, pipeline: Option<u64>) -> Value {
        let items: Vec<&UnsortedItem> = self
            .unsorted
            .iter()
            .filter(|u| pipeline.is_none_or(|p| u.pipeline_id.0 == p))
            .collect();
        let count = |s: UnsortedState| items.iter().filter(|u| u.state == s).count();
        let sorted: Vec<i64> = items
            .iter()
            .filter_map(|u| u.sorted_at.map(|at| at - u.created_at))
            .collect();
        let average = if sorted.is_empty() {
            0
        } else {
            sorted.iter().sum::<i64>() / sorted.len() as i64
        };
        let per = |c: &str| items.iter().filter(|u| u.category == c).count();
        serde_json::json!({
            "total": items.len(),
            "accepted": count(UnsortedState::Accepted),
            "declined": count(UnsortedState::Declined),
            "average_sort_time": average,
            "categories": { "forms": per("forms"), "sip": per("sip"), "chats": 0, "mail": 0 },
        })
    }
}
