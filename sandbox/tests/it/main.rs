//! Integration tests: the real `loops_client::Client` (and raw HTTP) against a running sandbox.
//! One binary to keep link time down. Everything stays on 127.0.0.1 and is bounded in time.

mod contacts;
mod endpoints;
mod faults;
mod inspect;
mod rate_limit;
mod sends;
mod support;
mod webhooks;
