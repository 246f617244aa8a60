//! The worker's pure decisions: retry counts, item states, and how a claim is divided.

use super::*;

#[test]
fn a_replay_starts_a_fresh_count() {
    let t = std::time::SystemTime::UNIX_EPOCH;
    let history = |outcomes: &[&str]| -> Vec<Attempt> {
        outcomes.iter().map(|o| Attempt::new(t, *o, "")).collect()
    };
    assert_eq!(attempts_since_replay(&[]), (0, 0, 0));
    assert_eq!(
        attempts_since_replay(&history(&["retry", "wait", "retry"])),
        (2, 1, 3)
    );
    // Dead after its retries, replayed, one more failure: only that one counts.
    assert_eq!(
        attempts_since_replay(&history(&["retry", "retry", "failed", "retry"])),
        (1, 0, 1)
    );
    assert_eq!(
        attempts_since_replay(&history(&["retry", "failed", "wait", "failed"])),
        (0, 0, 0)
    );
}

#[test]
fn folded_items_end_with_their_head() {
    let now = std::time::SystemTime::UNIX_EPOCH + Duration::from_secs(100);
    let later = now + Duration::from_secs(60);
    let table: Vec<(Finish, Finish, &str, ItemState)> = vec![
        (Finish::Done, Finish::Done, "done", ItemState::Done),
        (
            Finish::AlreadyDone,
            Finish::AlreadyDone,
            "already_done",
            ItemState::AlreadyDone,
        ),
        (
            Finish::RetryAt(later),
            Finish::RetryAt(later),
            "folded",
            ItemState::Pending,
        ),
        // A refusal for good releases them, to run without the head.
        (
            Finish::Dead("bad property".into()),
            Finish::RetryAt(now),
            "released",
            ItemState::Pending,
        ),
    ];
    for (head, expected, outcome, state) in table {
        let (finish, attempt, _) = folded_finish(7, &head, now);
        assert_eq!(finish, expected, "{head:?}");
        assert_eq!(attempt.outcome, outcome, "{head:?}");
        assert!(
            attempt.detail.contains("outbox item 7"),
            "{}",
            attempt.detail
        );
        assert_eq!(finish_state(&finish), state);
    }
    // Neither kind of attempt counts against the item's own retries.
    let history = [
        Attempt::new(now, "folded", ""),
        Attempt::new(now, "released", ""),
    ];
    assert_eq!(attempts_since_replay(&history), (0, 0, 2));
}

#[test]
fn retry_table() {
    let p = RetryPolicy::default();
    let s = Duration::from_secs;
    let table: Vec<(u32, u32, Option<Duration>, f64, RetryStep)> = vec![
        (
            0,
            0,
            None,
            0.0,
            RetryStep::After {
                delay: s(1),
                explained: false,
            },
        ),
        (
            0,
            0,
            None,
            1.0,
            RetryStep::After {
                delay: s(2),
                explained: false,
            },
        ),
        (
            1,
            0,
            None,
            0.0,
            RetryStep::After {
                delay: s(2),
                explained: false,
            },
        ),
        (
            3,
            0,
            None,
            1.0,
            RetryStep::After {
                delay: s(16),
                explained: false,
            },
        ),
        (
            10,
            0,
            None,
            1.0,
            RetryStep::After {
                delay: s(900),
                explained: false,
            },
        ),
        (11, 0, None, 0.0, RetryStep::GiveUp),
        (
            0,
            0,
            Some(s(60)),
            0.0,
            RetryStep::After {
                delay: s(60),
                explained: true,
            },
        ),
        // Waits do not use up attempts.
        (
            11,
            500,
            Some(s(60)),
            0.0,
            RetryStep::After {
                delay: s(60),
                explained: true,
            },
        ),
        (0, 1000, Some(s(1)), 0.0, RetryStep::GiveUp),
    ];
    for (failures, waits, asked, jitter, expected) in table {
        assert_eq!(
            p.next(failures, waits, asked, jitter),
            expected,
            "{failures} {waits} {asked:?}"
        );
    }
}

#[test]
fn a_claim_is_read_a_page_of_entities_at_a_time() {
    // Units: Some(n) a delivery naming n entities, None another job.
    let parts = |units: &[Option<usize>]| parts_for_reads(units.to_vec(), |u| *u);
    let cases: &[(&[Option<usize>], &[usize])] = &[
        (&[], &[]),
        (&[None, None], &[2]),
        // Eight bodies of 50 leads: five, then three.
        (&[Some(50); 8], &[5, 3]),
        (&[Some(1); 8], &[8]),
        // Other jobs stay where they were, with the delivery before them.
        (&[Some(200), None, Some(50), None, Some(1)], &[4, 1]),
        // A body of more than a page is read alone.
        (&[Some(10), Some(400), Some(10)], &[1, 1, 1]),
        (&[Some(250), Some(250)], &[1, 1]),
        (&[None, Some(300)], &[2]),
    ];
    for (units, sizes) in cases {
        let got = parts(units);
        let got_sizes: Vec<usize> = got.iter().map(Vec::len).collect();
        assert_eq!(&got_sizes, sizes, "{units:?}");
        assert_eq!(got.concat(), units.to_vec(), "order kept: {units:?}");
    }
}
