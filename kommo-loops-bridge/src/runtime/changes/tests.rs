use proptest::prelude::*;

use super::*;

const TOL: i64 = 120;
const KEY: &str = "1:lead:4001:status:5001>5002@7001";

fn w(at: i64) -> Observation {
    Observation::webhook(KEY, true, at)
}

fn l(at: i64, id: &str) -> Observation {
    Observation::log(KEY, true, at, id)
}

fn rec(
    occurrence: u32,
    first: ChangeSource,
    webhook: Option<i64>,
    log: Option<(i64, &str)>,
) -> ChangeRecord {
    ChangeRecord::new(
        KEY,
        occurrence,
        first,
        webhook,
        log.map(|(at, _)| at),
        log.map(|(_, id)| id.to_owned()),
    )
}

/// A resolution whose sighting is new to the store.
fn r(occurrence: u32, first: bool) -> Resolution {
    Resolution {
        occurrence,
        first,
        recorded: true,
    }
}

/// A resolution of a sighting the store held already.
fn again(occurrence: u32, first: bool) -> Resolution {
    Resolution {
        recorded: false,
        ..r(occurrence, first)
    }
}

use ChangeSource::{Log, Webhook};

#[test]
fn resolution_table() {
    // (what happened, stored records, observations, expected resolutions, expected writes)
    type Row = (
        &'static str,
        Vec<ChangeRecord>,
        Vec<Observation>,
        Vec<Resolution>,
        Vec<ChangeRecord>,
    );
    let table: Vec<Row> = vec![
        (
            "a first webhook is a new change its source plans",
            vec![],
            vec![w(100)],
            vec![r(1, true)],
            vec![rec(1, Webhook, Some(100), None)],
        ),
        (
            "the same webhook again (a redelivery, a replanned job) is the same change",
            vec![rec(1, Webhook, Some(100), None)],
            vec![w(100)],
            vec![again(1, true)],
            vec![],
        ),
        (
            "its log entry at the same time is the same change, already planned",
            vec![rec(1, Webhook, Some(100), None)],
            vec![l(100, "a")],
            vec![r(1, false)],
            vec![rec(1, Webhook, Some(100), Some((100, "a")))],
        ),
        (
            "the log entry read again (overlap, another instance) changes nothing",
            vec![rec(1, Webhook, Some(100), Some((100, "a")))],
            vec![l(100, "a")],
            vec![again(1, false)],
            vec![],
        ),
        (
            "a log time within the tolerance matches",
            vec![rec(1, Webhook, Some(100), None)],
            vec![l(100 + TOL, "a")],
            vec![r(1, false)],
            vec![rec(1, Webhook, Some(100), Some((100 + TOL, "a")))],
        ),
        (
            "beyond the tolerance it is another change",
            vec![rec(1, Webhook, Some(100), None)],
            vec![l(101 + TOL, "a")],
            vec![r(2, true)],
            vec![rec(2, Log, None, Some((101 + TOL, "a")))],
        ),
        (
            "moved, back, and again: the surviving webhook keeps its own log entry",
            vec![rec(1, Webhook, Some(160), None)],
            vec![l(100, "a"), l(160, "c")],
            vec![r(2, true), r(1, false)],
            vec![
                rec(1, Webhook, Some(160), Some((160, "c"))),
                rec(2, Log, None, Some((100, "a"))),
            ],
        ),
        (
            "a late webhook finds the change the log recovered, and does not plan it",
            vec![rec(1, Log, None, Some((100, "a")))],
            vec![w(101)],
            vec![r(1, false)],
            vec![rec(1, Log, Some(101), Some((100, "a")))],
        ),
        (
            "the nearest of two recovered changes",
            vec![
                rec(1, Log, None, Some((100, "a"))),
                rec(2, Log, None, Some((200, "b"))),
            ],
            vec![w(190)],
            vec![r(2, false)],
            vec![rec(2, Log, Some(190), Some((200, "b")))],
        ),
        (
            "equally near: the lower occurrence",
            vec![
                rec(1, Log, None, Some((100, "a"))),
                rec(2, Log, None, Some((200, "b"))),
            ],
            vec![w(150)],
            vec![r(1, false)],
            vec![rec(1, Log, Some(150), Some((100, "a")))],
        ),
        (
            "a record a webhook already holds is not taken by another webhook",
            vec![rec(1, Webhook, Some(100), Some((100, "a")))],
            vec![w(101)],
            vec![r(2, true)],
            vec![rec(2, Webhook, Some(101), None)],
        ),
        (
            "two webhooks of the same move are two changes",
            vec![],
            vec![w(100), w(130)],
            vec![r(1, true), r(2, true)],
            vec![
                rec(1, Webhook, Some(100), None),
                rec(2, Webhook, Some(130), None),
            ],
        ),
        (
            "the same sighting twice in one batch is resolved once",
            vec![],
            vec![l(100, "a"), l(100, "a")],
            vec![r(1, true), r(1, true)],
            vec![rec(1, Log, None, Some((100, "a")))],
        ),
    ];
    for (what, records, observations, expected, writes) in table {
        let (got, written) = resolve_changes(&records, &observations, TOL);
        assert_eq!(got, expected, "{what}");
        assert_eq!(written, writes, "{what}");
    }
}

#[test]
fn additions_match_whatever_their_time() {
    let added = |source, at| Observation {
        key: "1:lead:4001:added".into(),
        repeats: false,
        source,
        at,
        log_id: (source == Log).then(|| "x".to_owned()),
    };
    let (first, writes) = resolve_changes(&[], &[added(Webhook, 100)], TOL);
    assert_eq!(first, vec![r(1, true)]);
    let (later, writes) = resolve_changes(&writes, &[added(Log, 100 + 10 * TOL)], TOL);
    assert_eq!(later, vec![r(1, false)]);
    let (repeated, none) = resolve_changes(&writes, &[added(Webhook, 5)], TOL);
    assert_eq!(repeated, vec![again(1, true)]);
    assert!(none.is_empty());
}

#[test]
fn records_of_other_keys_are_left_alone() {
    let other = ChangeRecord::new("1:lead:9:added", 1, Webhook, Some(100), None, None);
    let (got, writes) = resolve_changes(&[other], &[w(100)], TOL);
    assert_eq!(got, vec![r(1, true)]);
    assert_eq!(writes, vec![rec(1, Webhook, Some(100), None)]);
}

/// Changes of one move at distinct times, each logged; some webhooks lost, some arriving
/// before the catch-up and some after it.
#[derive(Debug, Clone)]
struct Scenario {
    /// Per change: its time gap from the previous one, and what became of its webhook (0 lost,
    /// 1 before the catch-up, 2 after).
    changes: Vec<(i64, u8)>,
    skew: i64,
}

fn scenario() -> impl Strategy<Value = Scenario> {
    (prop::collection::vec((1i64..400, 0u8..3), 1..12), -5i64..=5)
        .prop_map(|(changes, skew)| Scenario { changes, skew })
}

proptest! {
    /// Whatever was lost and in which order the sources came, every change is planned by
    /// exactly one source, and a webhook and its log entry resolve to the same occurrence,
    /// as long as two repeats are further apart than twice the clock skew.
    #[test]
    fn each_change_is_planned_once(s in scenario()) {
        let mut t = 1_000;
        let times: Vec<i64> = s.changes.iter().map(|(gap, _)| { t += gap + 2 * s.skew.abs(); t }).collect();
        let mut records = Vec::new();
        let apply = |records: &mut Vec<ChangeRecord>, batch: &[Observation]| {
            let (res, writes) = resolve_changes(records, batch, TOL);
            for w in writes {
                match records.iter_mut().find(|r| r.key == w.key && r.occurrence == w.occurrence) {
                    Some(slot) => *slot = w,
                    None => records.push(w),
                }
            }
            res
        };
        let early: Vec<Observation> = s.changes.iter().zip(&times)
            .filter(|((_, fate), _)| *fate == 1).map(|(_, &at)| w(at)).collect();
        let early_res: Vec<Resolution> = early.iter().map(|o| apply(&mut records, std::slice::from_ref(o))[0]).collect();
        let log: Vec<Observation> = times.iter().enumerate()
            .map(|(i, &at)| l(at + s.skew, &format!("e{i}"))).collect();
        let log_res = apply(&mut records, &log);
        let late: Vec<(usize, Observation)> = s.changes.iter().zip(&times).enumerate()
            .filter(|(_, ((_, fate), _))| *fate == 2).map(|(i, (_, &at))| (i, w(at))).collect();
        let late_res: Vec<Resolution> = late.iter().map(|(_, o)| apply(&mut records, std::slice::from_ref(o))[0]).collect();

        // Distinct changes, distinct occurrences.
        let mut occurrences: Vec<u32> = log_res.iter().map(|r| r.occurrence).collect();
        occurrences.sort_unstable();
        occurrences.dedup();
        prop_assert_eq!(occurrences.len(), times.len());
        // Each change planned by exactly one source, and both sources agree on its occurrence.
        let mut early_iter = early_res.iter();
        let mut late_iter = late_res.iter();
        for (i, (_, fate)) in s.changes.iter().enumerate() {
            let webhook = match fate {
                1 => early_iter.next().copied(),
                2 => late_iter.next().copied(),
                _ => None,
            };
            let planners = usize::from(log_res[i].first) + usize::from(webhook.is_some_and(|r| r.first));
            prop_assert_eq!(planners, 1, "change {} ({:?})", i, fate);
            if let Some(webhook) = webhook {
                prop_assert_eq!(webhook.occurrence, log_res[i].occurrence, "change {}", i);
            }
        }
    }
}
