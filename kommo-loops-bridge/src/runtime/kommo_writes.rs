//! Kommo writes (notes, tasks, tag changes) of many outbox items at once.
//!
//! Kommo allows 7 requests per second, and its batch endpoints take many entities per request
//! (up to 250; Kommo recommends at most 50). A bulk change in Kommo, or a burst of Loops
//! events, produces one write per entity; run one by one, each note or task costs two requests
//! (the marker read and the add) and each tag change one. Here the writes of the items a
//! worker claimed are grouped by kind and entity type ([`group_writes`]) and each group costs
//! one marker read and one write, whatever its size. Every item still gets its own outcome.
//!
//! Exactly-once holds as for one item: the marker read of the group finds the notes and tasks
//! that an earlier attempt wrote (a write whose answer was lost, a crash before the outcome was
//! stored), and only the others are written; tag changes are idempotent.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, SystemTime};

use tokio::time::Instant;

use super::executor::{Executor, carries, marker, unix_seconds};
use super::outcome::Outcome;
use super::ports::{KommoEntity, KommoNote, KommoTask, PortError, TagChange};
use crate::plan::{Action, Target};

/// The most writes in one group: Kommo's recommended batch size (its hard limit is 250).
pub(crate) const KOMMO_GROUP_MAX: usize = 50;

/// What kind of Kommo write an action makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum WriteKind {
    /// `kommo.add_note`.
    Note,
    /// `kommo.add_task`.
    Task,
    /// `kommo.add_tags`.
    Tags,
}

impl WriteKind {
    /// The kind of write `action` makes, if it is a Kommo write.
    pub(crate) fn of(action: &Action) -> Option<WriteKind> {
        match action {
            Action::AddNote(_) => Some(WriteKind::Note),
            Action::AddTask(_) => Some(WriteKind::Task),
            Action::AddTags(_) => Some(WriteKind::Tags),
            _ => None,
        }
    }

    fn noun(self) -> &'static str {
        match self {
            WriteKind::Note => "note",
            WriteKind::Task => "task",
            WriteKind::Tags => "tags",
        }
    }
}

/// Groups writes for batch requests; each write is its kind and the entity it lands on, and a
/// group is a list of positions in `writes`. A group holds writes of one kind on entities of
/// one type (what one Kommo request can carry), at most `limit` of them, and each entity at
/// most once (two tag changes of one entity in one `PATCH` would leave their order to
/// Kommo). Groups come in the order they are to run, and an entity's writes keep their order
/// across groups.
pub(crate) fn group_writes(writes: &[(WriteKind, KommoEntity)], limit: usize) -> Vec<Vec<usize>> {
    let limit = limit.max(1);
    let mut groups: Vec<(WriteKind, KommoEntity, Vec<usize>)> = Vec::new();
    // The group holding each entity's latest write: a later write joins a later group only.
    let mut latest: HashMap<KommoEntity, usize> = HashMap::new();
    for (position, &(kind, entity)) in writes.iter().enumerate() {
        let from = latest.get(&entity).map_or(0, |g| g + 1);
        let open = groups
            .iter()
            .enumerate()
            .skip(from)
            .find(|(_, (k, e, members))| {
                *k == kind && e.same_type(entity) && members.len() < limit
            });
        let group = match open {
            Some((g, _)) => g,
            None => {
                groups.push((kind, entity, Vec::new()));
                groups.len() - 1
            }
        };
        groups[group].2.push(position);
        latest.insert(entity, group);
    }
    groups.into_iter().map(|(_, _, members)| members).collect()
}

/// One item's write, ready to send: the text carries the item's marker.
enum Payload<'a> {
    Note {
        key: &'a str,
        text: String,
    },
    Task {
        key: &'a str,
        text: String,
        due: i64,
        task_type: Option<u64>,
    },
    Tags {
        add: &'a [String],
        remove: &'a [String],
    },
}

impl<'a> Payload<'a> {
    fn of(action: &'a Action, now: SystemTime) -> Option<(&'a Target, Payload<'a>)> {
        match action {
            Action::AddNote(a) => Some((
                &a.target,
                Payload::Note {
                    key: &a.idempotency_key,
                    text: format!("{}\n{}", a.text, marker(&a.idempotency_key)),
                },
            )),
            Action::AddTask(a) => {
                let from = a.event_time.unwrap_or_else(|| unix_seconds(now));
                Some((
                    &a.target,
                    Payload::Task {
                        key: &a.idempotency_key,
                        text: format!("{} ({})", a.text, marker(&a.idempotency_key)),
                        due: from + i64::from(a.due_in_hours) * 3600,
                        task_type: a.task_type,
                    },
                ))
            }
            Action::AddTags(a) => Some((
                &a.target,
                Payload::Tags {
                    add: &a.tags,
                    remove: &a.remove_tags,
                },
            )),
            _ => None,
        }
    }

    fn kind(&self) -> WriteKind {
        match self {
            Payload::Note { .. } => WriteKind::Note,
            Payload::Task { .. } => WriteKind::Task,
            Payload::Tags { .. } => WriteKind::Tags,
        }
    }

    /// The marker key of a note or task.
    fn key(&self) -> Option<&str> {
        match self {
            Payload::Note { key, .. } | Payload::Task { key, .. } => Some(key),
            Payload::Tags { .. } => None,
        }
    }
}

/// How one write on one entity ended, and the size of the group it went in.
type WriteEnd = (KommoEntity, Result<Step, PortError>, usize);

/// What one write on one entity did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    Wrote,
    Already,
}

impl Executor {
    /// Executes Kommo write actions (`kommo.add_note`, `kommo.add_task`, `kommo.add_tags`),
    /// with the writes of all of them in groups of at most `limit`; one outcome per action, in
    /// order. A group of one makes the calls one action alone makes.
    ///
    /// With a `cutoff`, what starts too late waits for the next claim (see [`Cutoff`]).
    pub(crate) async fn execute_kommo(
        &self,
        actions: &[&Action],
        now: SystemTime,
        limit: usize,
        cutoff: Option<Cutoff>,
    ) -> Vec<Outcome> {
        let (resolve_by, write_by) = (cutoff.map(|c| c.resolve), cutoff.map(|c| c.write));
        let mut resolved = 0;
        let mut outcomes: Vec<Option<Outcome>> = actions.iter().map(|_| None).collect();
        let mut payloads: Vec<Option<Payload<'_>>> = Vec::with_capacity(actions.len());
        // (item, entity) of every write, in item order.
        let mut writes: Vec<(usize, KommoEntity)> = Vec::new();
        for (item, action) in actions.iter().enumerate() {
            let Some((target, payload)) = Payload::of(action, now) else {
                outcomes[item] = Some(Outcome::Failed {
                    reason: format!("{} is not a Kommo write", action.kind()),
                });
                payloads.push(None);
                continue;
            };
            // The first is always resolved, so that every claim makes progress.
            if resolved > 0 && past(resolve_by) {
                outcomes[item] = Some(deferred().into());
                payloads.push(Some(payload));
                continue;
            }
            resolved += 1;
            match self.resolve(target).await {
                Ok(Ok(entities)) if entities.is_empty() => {
                    outcomes[item] = Some(Outcome::Skipped {
                        reason: "no Kommo entity to write on".into(),
                    });
                }
                Ok(Ok(entities)) => writes.extend(entities.into_iter().map(|e| (item, e))),
                Ok(Err(skip)) => outcomes[item] = Some(Outcome::Skipped { reason: skip }),
                Err(e) => outcomes[item] = Some(e.into()),
            }
            payloads.push(Some(payload));
        }

        let keyed: Vec<(WriteKind, KommoEntity)> = writes
            .iter()
            .map(|&(item, entity)| {
                (
                    payloads[item]
                        .as_ref()
                        .map_or(WriteKind::Tags, Payload::kind),
                    entity,
                )
            })
            .collect();
        let mut results: Vec<Option<(Result<Step, PortError>, usize)>> =
            writes.iter().map(|_| None).collect();
        for group in group_writes(&keyed, limit) {
            let members: Vec<(KommoEntity, &Payload<'_>)> = group
                .iter()
                .filter_map(|&w| {
                    let (item, entity) = writes[w];
                    Some((entity, payloads[item].as_ref()?))
                })
                .collect();
            let size = members.len();
            let ends = if past(write_by) {
                members.iter().map(|_| Err(deferred())).collect()
            } else {
                self.write_group(&members, write_by).await
            };
            for (w, result) in group.iter().zip(ends) {
                results[*w] = Some((result, size));
            }
        }

        // Each item's writes, in entity order: the first failure is the item's outcome (the
        // entities done meanwhile are recognised on the retry).
        let mut per_item: BTreeMap<usize, Vec<WriteEnd>> = BTreeMap::new();
        for ((item, entity), result) in writes.iter().zip(results) {
            if let Some((result, size)) = result {
                per_item
                    .entry(*item)
                    .or_default()
                    .push((*entity, result, size));
            }
        }
        for (item, done) in per_item {
            let noun = payloads[item].as_ref().map_or("write", |p| p.kind().noun());
            outcomes[item] = Some(item_outcome(noun, done));
        }
        outcomes
            .into_iter()
            .map(|o| {
                o.unwrap_or_else(|| Outcome::Retry {
                    after: None,
                    reason: "no Kommo write was made for it".into(),
                })
            })
            .collect()
    }

    /// One group: one marker read and one write, or for a group of one the calls one action
    /// alone makes. Results in member order.
    async fn write_group(
        &self,
        members: &[(KommoEntity, &Payload<'_>)],
        deadline: Option<Instant>,
    ) -> Vec<Result<Step, PortError>> {
        let Some(&(_, first)) = members.first() else {
            return Vec::new();
        };
        let kind = first.kind();
        let entities: Vec<KommoEntity> = members.iter().map(|(e, _)| *e).collect();
        if kind == WriteKind::Tags {
            return self.change_tags(members).await;
        }
        let existing = match (kind, &entities[..]) {
            (WriteKind::Note, [one]) => {
                self.kommo.recent_notes(*one).await.map(|n| single(*one, n))
            }
            (WriteKind::Note, _) => self.kommo.recent_notes_of(&entities).await,
            (_, [one]) => self.kommo.open_tasks(*one).await.map(|t| single(*one, t)),
            _ => self.kommo.open_tasks_of(&entities).await,
        };
        let existing = match existing {
            Ok(existing) => existing,
            Err(e) => return members.iter().map(|_| Err(e.clone())).collect(),
        };
        let mut results: Vec<Option<Result<Step, PortError>>> = members
            .iter()
            .map(|(entity, payload)| {
                let key = payload.key()?;
                existing
                    .get(entity)
                    .is_some_and(|texts| texts.iter().any(|t| carries(t, key)))
                    .then_some(Ok(Step::Already))
            })
            .collect();
        let to_write: Vec<usize> = (0..members.len())
            .filter(|&i| results[i].is_none())
            .collect();
        let written: Vec<Result<(), PortError>> = match (to_write.as_slice(), members) {
            ([], _) => Vec::new(),
            // The marker read itself may have outlasted the lease.
            (rest, _) if past(deadline) => rest.iter().map(|_| Err(deferred())).collect(),
            ([i], _) => vec![self.add_one(members[*i]).await],
            _ => {
                self.add_many(to_write.iter().map(|&i| members[i]).collect())
                    .await
            }
        };
        for (i, result) in to_write.into_iter().zip(written) {
            results[i] = Some(result.map(|()| Step::Wrote));
        }
        results
            .into_iter()
            .map(|r| r.unwrap_or(Ok(Step::Already)))
            .collect()
    }

    async fn add_one(
        &self,
        (entity, payload): (KommoEntity, &Payload<'_>),
    ) -> Result<(), PortError> {
        match payload {
            Payload::Note { text, .. } => self.kommo.add_note(entity, text).await,
            Payload::Task {
                text,
                due,
                task_type,
                ..
            } => self.kommo.add_task(entity, text, *due, *task_type).await,
            Payload::Tags { add, remove } => self
                .kommo
                .change_tags(entity, add, remove)
                .await
                .map(|_| ()),
        }
    }

    /// Notes or tasks (the group's kind) in one request.
    async fn add_many(
        &self,
        members: Vec<(KommoEntity, &Payload<'_>)>,
    ) -> Vec<Result<(), PortError>> {
        let notes: Vec<KommoNote> = members
            .iter()
            .filter_map(|(entity, payload)| match payload {
                Payload::Note { text, .. } => Some(KommoNote::new(*entity, text.clone())),
                _ => None,
            })
            .collect();
        if notes.len() == members.len() {
            return self.kommo.add_notes(&notes).await;
        }
        let tasks: Vec<KommoTask> = members
            .iter()
            .filter_map(|(entity, payload)| match payload {
                Payload::Task {
                    text,
                    due,
                    task_type,
                    ..
                } => Some(KommoTask::new(*entity, text.clone(), *due, *task_type)),
                _ => None,
            })
            .collect();
        self.kommo.add_tasks(&tasks).await
    }

    /// Tag changes, registered as writes in flight so that their webhooks are recognised as
    /// echoes (see `echo.rs`).
    async fn change_tags(
        &self,
        members: &[(KommoEntity, &Payload<'_>)],
    ) -> Vec<Result<Step, PortError>> {
        let changes: Vec<TagChange> = members
            .iter()
            .map(|(entity, payload)| match payload {
                Payload::Tags { add, remove } => {
                    TagChange::new(*entity, add.to_vec(), remove.to_vec())
                }
                _ => TagChange::new(*entity, Vec::new(), Vec::new()),
            })
            .collect();
        // Each ends (dropped) after its expectation is recorded, or on failure.
        let _in_flight: Vec<_> = changes
            .iter()
            .map(|c| {
                let (kind, id) = echo_entity(c.entity);
                self.echoes.begin(kind, id)
            })
            .collect();
        let answers = match changes.as_slice() {
            [one] => vec![
                self.kommo
                    .change_tags(one.entity, &one.add, &one.remove)
                    .await,
            ],
            _ => self.kommo.change_tags_of(&changes).await,
        };
        changes
            .iter()
            .zip(answers)
            .map(|(change, answer)| {
                if let Some(updated_at) = answer? {
                    let (kind, id) = echo_entity(change.entity);
                    self.echoes
                        .expect(kind, id, updated_at, super::clock::instant());
                }
                Ok(Step::Wrote)
            })
            .collect()
    }
}

/// When a run of many Kommo writes stops starting work. Their calls share Kommo's 7 requests a
/// second with every other Kommo worker, and a marker read that comes back after the claim's
/// lease ran out may have been overtaken by another worker that claimed the same jobs, read the
/// same markers and wrote: writing then would double its notes and tasks. Targets are resolved
/// in the first quarter of the lease (at least one, so every claim makes progress), marker
/// reads and writes start in the first half (the other half is for the write under way), and
/// what is left then waits for the next claim, with a fresh lease.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Cutoff {
    resolve: Instant,
    write: Instant,
}

impl Cutoff {
    /// The cutoffs of a claim made at `claimed_at` with `lease`.
    pub(crate) fn of_claim(claimed_at: Instant, lease: Duration) -> Self {
        Cutoff {
            resolve: claimed_at + lease / 4,
            write: claimed_at + lease / 2,
        }
    }
}

/// Whether `deadline` has passed (tokio's clock: paused in tests).
fn past(deadline: Option<Instant>) -> bool {
    deadline.is_some_and(|d| Instant::now() >= d)
}

/// A write left for the next claim: a wait (not a failure), due at once.
fn deferred() -> PortError {
    PortError::Transient {
        after: Some(Duration::ZERO),
        reason: "the claim's lease ran short before this Kommo write; it runs again with a \
                 fresh lease"
            .into(),
    }
}

fn single(entity: KommoEntity, texts: Vec<String>) -> BTreeMap<KommoEntity, Vec<String>> {
    BTreeMap::from([(entity, texts)])
}

fn echo_entity(entity: KommoEntity) -> (&'static str, u64) {
    match entity {
        KommoEntity::Lead(id) => ("lead", id),
        KommoEntity::Contact(id) => ("contact", id),
    }
}

/// An item's outcome from its writes: the first failure, else done when anything was written,
/// else already done. Writes that went in a request with others say so.
fn item_outcome(noun: &str, writes: Vec<WriteEnd>) -> Outcome {
    let (mut wrote, mut already) = (Vec::new(), Vec::new());
    let mut shared = 0;
    for (entity, result, size) in writes {
        match result {
            Ok(Step::Wrote) => wrote.push(entity.to_string()),
            Ok(Step::Already) => already.push(entity.to_string()),
            Err(e) => return e.into(),
        }
        shared = shared.max(size);
    }
    let batch = if shared > 1 {
        format!(" (one Kommo request for {shared} entities)")
    } else {
        String::new()
    };
    if wrote.is_empty() {
        Outcome::AlreadyDone {
            detail: format!("{noun} already on {}{batch}", already.join(", ")),
        }
    } else {
        Outcome::Done {
            detail: format!("{noun} added on {}{batch}", wrote.join(", ")),
        }
    }
}

/// The distinct entities of each group.
#[cfg(test)]
fn entities_of(
    groups: &[Vec<usize>],
    writes: &[(WriteKind, KommoEntity)],
) -> Vec<std::collections::BTreeSet<KommoEntity>> {
    groups
        .iter()
        .map(|g| g.iter().map(|&w| writes[w].1).collect())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use KommoEntity::{Contact, Lead};
    use WriteKind::{Note, Tags, Task};

    #[test]
    fn writes_group_by_kind_and_entity_type_up_to_the_limit() {
        type Case = (
            &'static str,
            Vec<(WriteKind, KommoEntity)>,
            usize,
            Vec<Vec<usize>>,
        );
        let table: Vec<Case> = vec![
            ("nothing", vec![], 50, vec![]),
            ("one", vec![(Note, Lead(1))], 50, vec![vec![0]]),
            (
                "notes on leads together",
                vec![(Note, Lead(1)), (Note, Lead(2)), (Note, Lead(3))],
                50,
                vec![vec![0, 1, 2]],
            ),
            (
                "kinds apart",
                vec![
                    (Note, Lead(1)),
                    (Task, Lead(1)),
                    (Tags, Lead(1)),
                    (Note, Lead(2)),
                ],
                50,
                vec![vec![0, 3], vec![1], vec![2]],
            ),
            (
                "entity types apart",
                vec![
                    (Note, Lead(1)),
                    (Note, Contact(1)),
                    (Note, Lead(2)),
                    (Note, Contact(2)),
                ],
                50,
                vec![vec![0, 2], vec![1, 3]],
            ),
            (
                "at most the limit",
                vec![
                    (Tags, Lead(1)),
                    (Tags, Lead(2)),
                    (Tags, Lead(3)),
                    (Tags, Lead(4)),
                    (Tags, Lead(5)),
                ],
                2,
                vec![vec![0, 1], vec![2, 3], vec![4]],
            ),
            (
                "an entity once per group, its writes in order",
                vec![
                    (Tags, Lead(1)),
                    (Tags, Lead(2)),
                    (Tags, Lead(1)),
                    (Tags, Lead(3)),
                ],
                50,
                vec![vec![0, 1, 3], vec![2]],
            ),
            (
                "a later write never runs before an earlier one of its entity",
                // Lead 1's task comes after its tags (group 1), so it cannot join the task
                // group 0 that runs first.
                vec![
                    (Task, Lead(2)),
                    (Tags, Lead(1)),
                    (Task, Lead(1)),
                    (Task, Lead(3)),
                ],
                50,
                vec![vec![0, 3], vec![1], vec![2]],
            ),
            (
                "a limit of 0 is 1",
                vec![(Note, Lead(1)), (Note, Lead(2))],
                0,
                vec![vec![0], vec![1]],
            ),
        ];
        for (name, writes, limit, expected) in table {
            let groups = group_writes(&writes, limit);
            assert_eq!(groups, expected, "{name}");
            // Every write exactly once; each group one kind, one type, distinct entities.
            let mut all: Vec<usize> = groups.iter().flatten().copied().collect();
            all.sort_unstable();
            assert_eq!(all, (0..writes.len()).collect::<Vec<_>>(), "{name}");
            for (group, entities) in groups.iter().zip(entities_of(&groups, &writes)) {
                assert_eq!(entities.len(), group.len(), "{name}");
                let (kind, entity) = writes[group[0]];
                assert!(
                    group
                        .iter()
                        .all(|&w| writes[w].0 == kind && writes[w].1.same_type(entity)),
                    "{name}"
                );
            }
        }
    }

    #[test]
    fn an_item_fails_with_its_first_failure_and_says_when_it_shared_a_request() {
        let failed = PortError::Permanent {
            reason: "refused".into(),
        };
        let table: Vec<(Vec<WriteEnd>, Outcome)> = vec![
            (
                vec![(Lead(1), Ok(Step::Wrote), 1)],
                Outcome::Done {
                    detail: "note added on lead 1".into(),
                },
            ),
            (
                vec![(Lead(1), Ok(Step::Already), 30)],
                Outcome::AlreadyDone {
                    detail: "note already on lead 1 (one Kommo request for 30 entities)".into(),
                },
            ),
            (
                vec![
                    (Contact(1), Ok(Step::Already), 1),
                    (Contact(2), Ok(Step::Wrote), 2),
                ],
                Outcome::Done {
                    detail: "note added on contact 2 (one Kommo request for 2 entities)".into(),
                },
            ),
            (
                vec![
                    (Lead(1), Ok(Step::Wrote), 1),
                    (Lead(2), Err(failed.clone()), 1),
                ],
                Outcome::Failed {
                    reason: "refused".into(),
                },
            ),
        ];
        for (writes, expected) in table {
            assert_eq!(item_outcome("note", writes), expected);
        }
    }
}
