//! Integration tests for loops-client, in one binary to keep link time down.

mod client;
mod content;
mod content_errors;
mod email_messages;
mod endpoints;
mod errors;
mod pacing;
mod properties;
mod secrets;
mod support;
mod uploads;
mod webhooks;
mod workflows;
