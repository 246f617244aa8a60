//! Integration tests: the real `loops_client::Client` and `kommo_client::Client` (and raw
//! HTTP) against running sandboxes.
//! One binary to keep link time down. Everything stays on 127.0.0.1 and is bounded in time.

mod contacts;
mod content;
mod endpoints;
mod faults;
mod inspect;
mod kommo_api;
mod kommo_batches;
mod kommo_bulk;
mod kommo_definitions;
mod kommo_errors;
mod kommo_events;
mod kommo_inspect;
mod kommo_parity;
mod kommo_sales;
mod kommo_support;
mod kommo_webhooks;
mod rate_limit;
mod sends;
mod support;
mod webhooks;
mod workflows;
