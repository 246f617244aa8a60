//! A pure rule engine that turns Kommo CRM events into Loops actions, and Loops webhook events
//! into Kommo actions.
//!
//! The engine does no IO and reads no clock: it takes a parsed webhook, the data fetched
//! from Kommo (a [`Snapshot`]) and the [`Rules`], and returns a [`Planning`]: either a
//! [`Plan`] of typed [`Action`]s with an explain trace, or the exact data it still needs.
//! Every action carries an idempotency key derived only from the event, the rule and the
//! action's place, so the same delivery twice gives the same keys and a send is never doubled.
//!
//! ```
//! use kommo_loops_bridge::{Mode, Planning, Rules, Snapshot};
//!
//! let rules = Rules::from_toml_str("rules.toml", r#"
//!     [[kommo]]
//!     name = "won"
//!     when = { event = "lead_status", to = "won" }
//!     do = [ { send_event = { event = "deal_won", properties = { deal_value = "{lead.price}" } } } ]
//! "#).unwrap();
//!
//! // A status webhook, as Kommo posts it (form-encoded, bracket keys).
//! let body = "leads%5Bstatus%5D%5B0%5D%5Bid%5D=42&leads%5Bstatus%5D%5B0%5D%5Bstatus_id%5D=142\
//!             &leads%5Bstatus%5D%5B0%5D%5Bold_status_id%5D=5001&leads%5Bstatus%5D%5B0%5D%5Bpipeline_id%5D=7001\
//!             &account%5Bid%5D=1&account%5Bsubdomain%5D=acme";
//! let payload = kommo_client::webhooks::parse(body.as_bytes()).unwrap();
//!
//! // Nothing fetched yet: the engine says what it needs.
//! let planning = rules.plan_kommo(&payload, &Snapshot::new(), Mode::Live);
//! let Planning::NeedsData { needs, .. } = planning else { panic!() };
//! assert!(needs.leads.contains(&42));
//! ```

#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![deny(missing_docs)]

mod engine;
mod explain;
mod facts;
mod keys;
mod plan;
mod rules;
mod snapshot;
mod template;
mod text;
mod value;

#[cfg(feature = "runtime")]
pub mod runtime;

pub use engine::Mode;
pub use plan::{
    Action, AddNote, AddTags, AddTask, DataValue, DeleteContact, Explain, Needs, Plan, Planning,
    Reason, SendEvent, SendTransactional, Target, TargetEntity, UpsertContact,
};
pub use rules::{KOMMO_EVENTS, Rules, RulesError, STATUS_LOST, STATUS_WON};
pub use snapshot::Snapshot;

// The README's examples are compiled and run with the doc tests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeExamples;
