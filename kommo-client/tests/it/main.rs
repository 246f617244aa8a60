//! Integration tests, in one binary to keep link time down.

#[cfg(feature = "client")]
mod endpoints;
#[cfg(feature = "client")]
mod errors;
mod events_prop;
mod models;
#[cfg(feature = "client")]
mod oauth;
mod support;
mod webhooks_events;
mod webhooks_fixtures;
mod webhooks_limits;
mod webhooks_prop;
