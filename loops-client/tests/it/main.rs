//! Integration tests for loops-client, in one binary to keep link time down.

mod client;
mod endpoints;
mod errors;
mod pacing;
mod properties;
mod secrets;
mod support;
mod webhooks;
