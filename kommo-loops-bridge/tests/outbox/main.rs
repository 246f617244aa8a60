//! Conformance tests: every outbox and state store runs the same suite (`suite.rs`), plus the
//! checks only one backend can make (durability of the SQLite file, several PostgreSQL pools).
//!
//! The PostgreSQL tests need `KOMMO_LOOPS_TEST_POSTGRES_URL` (a database the tests may create
//! schemas in); without it they say so and pass. `.ci/run` starts a throwaway server and sets it.

/// One `#[tokio::test]` per conformance case, each on a fresh store from `$make` (an async
/// function returning `Option<Store>`: `None` when the backend is unavailable, so skipped).
macro_rules! conformance_cases {
    ($make:path) => {
        conformance_cases!(@cases $make;
            enqueue_dedupes_by_key,
            concurrent_enqueues_are_each_counted,
            get_round_trips_an_item,
            claim_follows_partition_order,
            claim_respects_max,
            retry_waits_for_not_before,
            expired_lease_is_reclaimed,
            lost_lease_cannot_finish,
            holder_may_finish_after_expiry_if_not_reclaimed,
            dead_letters_and_replay,
            a_planned_job_drops_its_body_and_keeps_its_key,
            replayed_item_waits_for_running_partition_item,
            stats_count_states,
            next_due_is_the_earliest_pending,
            first_delivery_dedupes_per_scope,
            advance_version_is_monotonic,
            synced_email_round_trips,
            observe_changes_resolves_and_stores,
            concurrent_observations_resolve_once,
            watermark_only_moves_forward,
            synced_contacts_are_paged_in_order,
            oldest_unplanned_delivery_is_a_waiting_webhook,
            a_burst_of_upserts_is_claimed_as_one,
            an_event_first_folds_nothing,
            a_plain_claim_folds_nothing,
            folded_items_outlive_a_crashed_worker,
            folded_items_retry_with_their_head,
            delivered_upserts_are_remembered_and_forgotten,
            items_are_stored_in_their_lane,
            a_lane_claims_only_its_own_items,
            a_lane_waits_behind_the_other_lanes_head,
            a_coalescing_lane_waits_behind_the_other_lanes_head,
            next_due_is_per_lane,
        );
    };
    (@cases $make:path; $($case:ident),* $(,)?) => {
        $(
            #[tokio::test]
            async fn $case() {
                if let Some(store) = $make().await {
                    crate::suite::$case(&store).await;
                    store.close().await;
                }
            }
        )*
    };
}

mod catch_up_suite;
mod coalesce_suite;
mod lane_suite;
mod memory;
#[cfg(feature = "postgres")]
mod postgres;
#[cfg(feature = "sqlite")]
mod sqlite;
mod suite;
