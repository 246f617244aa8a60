//! A typed client for the Kommo (amoCRM) API v4, and a total parser for Kommo's
//! form-encoded webhooks.
//!
//! This crate is being built; see the workspace README for its status.
