//! A pure rule engine that turns Kommo CRM events into Loops actions, and Loops webhook
//! events into Kommo actions.
//!
//! This crate is being built; see the workspace README for its status.
