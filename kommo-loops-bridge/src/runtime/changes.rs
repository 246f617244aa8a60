//! Which change a report is: one change seen by webhook and in Kommo's events log is resolved
//! to one record, and a genuinely new change to a new one (docs/architecture.md, "Recognising
//! one change seen twice").
//!
//! [`resolve_changes`] is the decision, pure and shared by every [`StateStore`]: a store
//! reads the records of the observations' change keys, calls it, and writes what it returns,
//! all in one atomic step ([`StateStore::observe_changes`]).
//!
//! [`StateStore`]: super::StateStore
//! [`StateStore::observe_changes`]: super::StateStore::observe_changes

use std::collections::HashMap;

/// Where a change was seen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum ChangeSource {
    /// A Kommo webhook delivery.
    Webhook,
    /// Kommo's events log (`GET /api/v4/events`).
    Log,
}

impl ChangeSource {
    /// The name stored in databases: `webhook` or `log`.
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeSource::Webhook => "webhook",
            ChangeSource::Log => "log",
        }
    }

    /// Parses [`as_str`](Self::as_str).
    pub fn parse(s: &str) -> Option<ChangeSource> {
        match s {
            "webhook" => Some(ChangeSource::Webhook),
            "log" => Some(ChangeSource::Log),
            _ => None,
        }
    }
}

/// One sighting of a change.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Observation {
    /// The change key (account, entity and, for a status change, the move).
    pub key: String,
    /// Whether the entity can make this change more than once; an addition cannot, so every
    /// sighting of it is the same change whatever its time.
    pub repeats: bool,
    /// Who saw it.
    pub source: ChangeSource,
    /// Its time as that source tells it, Unix seconds: the webhook's `updated_at`, the log's
    /// `created_at`.
    pub at: i64,
    /// The log event's id (the log only): the same id is the same sighting.
    pub log_id: Option<String>,
}

impl Observation {
    /// A webhook's sighting of `key` at its `updated_at`.
    pub fn webhook(key: impl Into<String>, repeats: bool, at: i64) -> Self {
        Observation {
            key: key.into(),
            repeats,
            source: ChangeSource::Webhook,
            at,
            log_id: None,
        }
    }

    /// The events log's sighting of `key` at its `created_at`, as the event `log_id`.
    pub fn log(key: impl Into<String>, repeats: bool, at: i64, log_id: impl Into<String>) -> Self {
        Observation {
            key: key.into(),
            repeats,
            source: ChangeSource::Log,
            at,
            log_id: Some(log_id.into()),
        }
    }

    /// What tells this sighting apart from another by the same source.
    fn identity(&self) -> (&str, ChangeSource, Option<&str>, i64) {
        match self.source {
            ChangeSource::Log if self.log_id.is_some() => {
                (&self.key, self.source, self.log_id.as_deref(), 0)
            }
            _ => (&self.key, self.source, None, self.at),
        }
    }
}

/// One change as the store keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ChangeRecord {
    /// The change key.
    pub key: String,
    /// Which occurrence of the key (1, 2, ...).
    pub occurrence: u32,
    /// The source that saw it first: the one that plans it.
    pub first: ChangeSource,
    /// The webhook's time, once a webhook was seen.
    pub webhook_at: Option<i64>,
    /// The log's time, once the log was read.
    pub log_at: Option<i64>,
    /// The log event's id.
    pub log_id: Option<String>,
}

impl ChangeRecord {
    /// A record as read back from a store.
    pub fn new(
        key: impl Into<String>,
        occurrence: u32,
        first: ChangeSource,
        webhook_at: Option<i64>,
        log_at: Option<i64>,
        log_id: Option<String>,
    ) -> Self {
        ChangeRecord {
            key: key.into(),
            occurrence,
            first,
            webhook_at,
            log_at,
            log_id,
        }
    }

    /// When `source` saw it.
    fn seen_by(&self, source: ChangeSource) -> Option<i64> {
        match source {
            ChangeSource::Webhook => self.webhook_at,
            ChangeSource::Log => self.log_at,
        }
    }

    fn other(source: ChangeSource) -> ChangeSource {
        match source {
            ChangeSource::Webhook => ChangeSource::Log,
            ChangeSource::Log => ChangeSource::Webhook,
        }
    }

    /// Whether `o` is a sighting this record already holds (rule 1).
    fn holds(&self, o: &Observation) -> bool {
        if self.key != o.key {
            return false;
        }
        match o.source {
            _ if !o.repeats => self.seen_by(o.source).is_some(),
            ChangeSource::Log if o.log_id.is_some() => self.log_id == o.log_id,
            source => self.seen_by(source) == Some(o.at),
        }
    }

    fn record(&mut self, o: &Observation) {
        match o.source {
            ChangeSource::Webhook => self.webhook_at = Some(o.at),
            ChangeSource::Log => {
                self.log_at = Some(o.at);
                self.log_id.clone_from(&o.log_id);
            }
        }
    }
}

/// What a sighting was resolved to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Resolution {
    /// Which occurrence of its change key it is: the same for a webhook and its log entry.
    pub occurrence: u32,
    /// Whether its source saw the change first, so plans it; `false` when the other source
    /// did (and planned it).
    pub first: bool,
    /// Whether this sighting was new to the store; `false` when the store held it already (a
    /// redelivery, a re-read of the log), so its planning may already have happened.
    pub recorded: bool,
}

/// Resolves `observations` against the stored `records` of their keys (records of other keys
/// are ignored), with `tolerance` seconds between a webhook and its log entry. Returns one
/// resolution per observation, in order, and the records to store (new ones, and existing
/// ones that gained a sighting), each once.
///
/// The rules, in order: a sighting a record already holds is that record; a sighting by the
/// other source than the one a record holds is matched to the nearest such record within the
/// tolerance (regardless of time for changes that do not repeat), the closest pairs of the
/// whole batch first; anything else is a new occurrence. Sightings within one batch are
/// matched to records, never to each other: a batch comes from one source.
pub fn resolve_changes(
    records: &[ChangeRecord],
    observations: &[Observation],
    tolerance: i64,
) -> (Vec<Resolution>, Vec<ChangeRecord>) {
    // Identical sightings in one batch (a page read twice) are resolved once.
    let mut unique: Vec<&Observation> = Vec::new();
    let mut index_of: HashMap<(&str, ChangeSource, Option<&str>, i64), usize> = HashMap::new();
    let slots: Vec<usize> = observations
        .iter()
        .map(|o| {
            *index_of.entry(o.identity()).or_insert_with(|| {
                unique.push(o);
                unique.len() - 1
            })
        })
        .collect();

    let mut records: Vec<ChangeRecord> = records
        .iter()
        .filter(|r| unique.iter().any(|o| o.key == r.key))
        .cloned()
        .collect();
    let mut touched = vec![false; records.len()];
    let mut resolved: Vec<Option<Resolution>> = vec![None; unique.len()];

    // 1. A sighting already recorded.
    for (i, o) in unique.iter().enumerate() {
        if let Some(r) = records.iter().find(|r| r.holds(o)) {
            resolved[i] = Some(Resolution {
                occurrence: r.occurrence,
                first: r.first == o.source,
                recorded: false,
            });
        }
    }

    // 2. The other source's sighting of a recorded change: nearest pairs first.
    let mut pairs: Vec<(i64, u32, usize, usize)> = Vec::new();
    for (i, o) in unique.iter().enumerate() {
        if resolved[i].is_some() {
            continue;
        }
        for (j, r) in records.iter().enumerate() {
            if r.key != o.key || r.seen_by(o.source).is_some() {
                continue;
            }
            let Some(other) = r.seen_by(ChangeRecord::other(o.source)) else {
                continue;
            };
            let distance = if o.repeats { other.abs_diff(o.at) } else { 0 };
            if !o.repeats || distance <= tolerance.unsigned_abs() {
                pairs.push((
                    i64::try_from(distance).unwrap_or(i64::MAX),
                    r.occurrence,
                    i,
                    j,
                ));
            }
        }
    }
    pairs.sort_unstable();
    for (_, _, i, j) in pairs {
        if resolved[i].is_some() || records[j].seen_by(unique[i].source).is_some() {
            continue;
        }
        records[j].record(unique[i]);
        touched[j] = true;
        resolved[i] = Some(Resolution {
            occurrence: records[j].occurrence,
            first: false,
            recorded: true,
        });
    }

    // 3. A new change.
    for (i, o) in unique.iter().enumerate() {
        if resolved[i].is_some() {
            continue;
        }
        let occurrence = records
            .iter()
            .filter(|r| r.key == o.key)
            .map(|r| r.occurrence)
            .max()
            .unwrap_or(0)
            + 1;
        let mut record = ChangeRecord::new(o.key.clone(), occurrence, o.source, None, None, None);
        record.record(o);
        records.push(record);
        touched.push(true);
        resolved[i] = Some(Resolution {
            occurrence,
            first: true,
            recorded: true,
        });
    }

    let resolutions = slots
        .iter()
        .map(|&slot| {
            resolved[slot].unwrap_or(Resolution {
                occurrence: 0,
                first: true,
                recorded: false,
            })
        })
        .collect();
    let writes = records
        .into_iter()
        .zip(touched)
        .filter_map(|(r, t)| t.then_some(r))
        .collect();
    (resolutions, writes)
}

#[cfg(test)]
mod tests;
