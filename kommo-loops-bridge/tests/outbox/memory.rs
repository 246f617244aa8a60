//! The reference implementation, through the same suite.

use std::sync::Arc;

use kommo_loops_bridge::runtime::{MemoryOutbox, MemoryState};

use crate::suite::{self, Store};

async fn make() -> Option<Store> {
    Some(Store::new(
        Arc::new(MemoryOutbox::new()),
        Arc::new(MemoryState::new()),
    ))
}

conformance_cases!(make);

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_workers_finish_each_item_once_in_order() {
    suite::concurrent_workers(vec![Arc::new(MemoryOutbox::new())], 8).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_coalescing_workers_finish_each_item_once_in_order() {
    suite::concurrent_coalescing_workers(vec![Arc::new(MemoryOutbox::new())], 8).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_lane_workers_finish_each_item_once_in_order() {
    suite::concurrent_lane_workers(vec![Arc::new(MemoryOutbox::new())], 8).await;
}
