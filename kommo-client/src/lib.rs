//! A typed client for the Kommo (amoCRM) API v4, and a total parser for Kommo's
//! form-encoded webhooks.
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod breaker;
pub mod error;
pub mod ids;
pub mod rate_limit;
pub mod retry;
mod serde_util;
pub mod webhooks;

pub use error::{Error, Result};
