//! The batch operations of [`KommoApi`](super::KommoApi) on `kommo-client`: one request for
//! many entities, and each item's result mapped back to it.

use std::collections::{BTreeMap, VecDeque};

use kommo_client::common::{EntityType, WriteResult};
use kommo_client::{ApiRequest, Error, Method};
use serde_json::Value;

use super::super::ports::{BatchOutcome, KommoEntity, PortError};
use super::{classify_kommo_error, get_value, path_of};

/// What [`recent_notes`](super::KommoApi::recent_notes) and
/// [`open_tasks`](super::KommoApi::open_tasks) read per entity: a batched read that saw fewer
/// of an entity's items than this, and was cut short, reads that entity on its own.
pub(super) const PER_ENTITY: usize = 50;

/// Pages of 250 a batched read follows before falling back to reading entity by entity: a few
/// busy entities must not make the read of the others page through their whole history.
const MAX_PAGES: u32 = 4;

/// Entity ids per batched read, which keeps the URL short.
const IDS_PER_READ: usize = 100;

/// The positions of `items` by entity type, in order.
pub(super) fn by_type<I>(
    items: &[I],
    entity: impl Fn(&I) -> KommoEntity,
) -> Vec<(EntityType, Vec<usize>)> {
    let mut groups: Vec<(EntityType, Vec<usize>)> = Vec::new();
    for (index, item) in items.iter().enumerate() {
        let (kind, _) = path_of(entity(item));
        match groups.iter_mut().find(|(k, _)| *k == kind) {
            Some((_, positions)) => positions.push(index),
            None => groups.push((kind, vec![index])),
        }
    }
    groups
}

/// A list read of items (notes, tasks) filtered by many entities of one type: `request` builds
/// the read of one page for some ids, `text` takes an item's text. Each entity gets the texts
/// of its items as far as the pages read reach; an entity of which fewer than [`PER_ENTITY`]
/// items were seen when the pages stopped early is read on its own with `single`, so the
/// answer is never less than reading entity by entity.
pub(super) async fn texts_by_entity<R, T, S, Fut>(
    client: &kommo_client::Client,
    entities: &[KommoEntity],
    key: &str,
    request: R,
    text: T,
    single: S,
) -> Result<BTreeMap<KommoEntity, Vec<String>>, PortError>
where
    R: Fn(EntityType, &[u64], u32) -> ApiRequest,
    T: Fn(&Value) -> Option<String>,
    S: Fn(KommoEntity) -> Fut,
    Fut: Future<Output = Result<Vec<String>, PortError>>,
{
    let mut out = BTreeMap::new();
    for (kind, positions) in by_type(entities, |e| *e) {
        let mut ids: Vec<u64> = positions.iter().map(|&i| entities[i].id()).collect();
        ids.sort_unstable();
        ids.dedup();
        for chunk in ids.chunks(IDS_PER_READ) {
            let mut seen: BTreeMap<u64, (usize, Vec<String>)> =
                chunk.iter().map(|&id| (id, (0, Vec::new()))).collect();
            let mut complete = false;
            for page in 1..=MAX_PAGES {
                let Some(answer) = get_value(client, request(kind, chunk, page)).await? else {
                    complete = true;
                    break;
                };
                let items = answer
                    .get("_embedded")
                    .and_then(|e| e.get(key))
                    .and_then(Value::as_array);
                for item in items.into_iter().flatten() {
                    // An item of an entity not asked for (a server ignoring the filter) is
                    // left out rather than trusted.
                    let Some((count, texts)) = item
                        .get("entity_id")
                        .and_then(Value::as_u64)
                        .and_then(|id| seen.get_mut(&id))
                    else {
                        continue;
                    };
                    *count += 1;
                    texts.extend(text(item));
                }
                let more = answer
                    .pointer("/_links/next/href")
                    .and_then(Value::as_str)
                    .is_some_and(|href| !href.is_empty());
                if !more || seen.values().all(|(count, _)| *count >= PER_ENTITY) {
                    complete = true;
                    break;
                }
            }
            for (id, (count, texts)) in seen {
                let entity = entity_of(kind, id);
                let texts = if complete || count >= PER_ENTITY {
                    texts
                } else {
                    single(entity).await?
                };
                out.insert(entity, texts);
            }
        }
    }
    Ok(out)
}

fn entity_of(kind: EntityType, id: u64) -> KommoEntity {
    match kind {
        EntityType::Contacts => KommoEntity::Contact(id),
        _ => KommoEntity::Lead(id),
    }
}

/// The read of one page of notes of entities of one type, newest first: the service messages
/// the bridge writes, and the common notes 0.1.0 wrote.
pub(super) fn notes_page(kind: EntityType, ids: &[u64], page: u32) -> ApiRequest {
    let request = ApiRequest::raw(Method::GET, format!("/api/v4/{}/notes", kind.as_str()))
        .query("filter[note_type][0]", "service_message")
        .query("filter[note_type][1]", "common");
    with_ids(request, ids)
        .query("order[id]", "desc")
        .query("limit", "250")
        .query("page", page.to_string())
}

/// The read of one page of open tasks of entities of one type, newest first.
pub(super) fn open_tasks_page(kind: EntityType, ids: &[u64], page: u32) -> ApiRequest {
    let request =
        ApiRequest::raw(Method::GET, "/api/v4/tasks").query("filter[entity_type]", kind.as_str());
    with_ids(request, ids)
        .query("filter[is_completed]", "0")
        .query("order[id]", "desc")
        .query("limit", "250")
        .query("page", page.to_string())
}

fn with_ids(mut request: ApiRequest, ids: &[u64]) -> ApiRequest {
    for id in ids {
        request = request.query("filter[entity_id][]", id.to_string());
    }
    request
}

/// Sends `items` as one batch write, each with its position as `request_id`, and maps Kommo's
/// answer back to them. `value` takes an item's result from its answer.
///
/// Kommo checks a batch before applying any of it: a 400 whose `validation-errors` name items
/// by `request_id` applied nothing, so those items fail for good and the others are sent again
/// without them. A 400 that names none of them is narrowed down by sending each item on its
/// own. Any other failure is every item's failure (a retry finds, through the markers, what
/// landed of a write whose answer was lost). When the client split the batch into chunks and
/// a later one failed, the items committed before it are written and the rest are handled as
/// above.
pub(super) async fn write_batch<I, T, S, Fut>(
    items: &[I],
    send: S,
    value: impl Fn(&WriteResult) -> T,
) -> BatchOutcome<T>
where
    I: Clone,
    S: Fn(Vec<(usize, I)>) -> Fut,
    Fut: Future<Output = Result<Vec<WriteResult>, Error>>,
{
    let mut out: Vec<Option<Result<T, PortError>>> = items.iter().map(|_| None).collect();
    let mut queue: VecDeque<Vec<usize>> = VecDeque::from([(0..items.len()).collect()]);
    while let Some(batch) = queue.pop_front() {
        if batch.is_empty() {
            continue;
        }
        let sent: Vec<(usize, I)> = batch.iter().map(|&i| (i, items[i].clone())).collect();
        match send(sent).await {
            Ok(results) => {
                for (i, result) in map_results(&batch, &results) {
                    out[i] = Some(Ok(value(result)));
                }
            }
            Err(error) => {
                // The client sends a long batch in chunks: those before the failing one were
                // committed, and the rest is what the error is about (a refusal in a later
                // chunk names items there, and the chunks after it were never sent).
                let (committed, error) = match error {
                    Error::PartialBatch { committed, source } => (committed, *source),
                    error => (Vec::new(), error),
                };
                for (i, result) in map_results(&batch, &committed) {
                    out[i] = Some(Ok(value(result)));
                }
                let batch: Vec<usize> = batch.into_iter().filter(|&i| out[i].is_none()).collect();
                let named = refused_items(&error, &batch);
                if !named.is_empty() {
                    for (&i, reason) in &named {
                        out[i] = Some(Err(PortError::Permanent {
                            reason: reason.clone(),
                        }));
                    }
                    queue.push_back(
                        batch
                            .into_iter()
                            .filter(|i| !named.contains_key(i))
                            .collect(),
                    );
                } else if error.status() == Some(400) && batch.len() > 1 {
                    queue.extend(batch.into_iter().map(|i| vec![i]));
                } else {
                    let error = classify_kommo_error(error);
                    for i in batch {
                        out[i] = Some(Err(error.clone()));
                    }
                }
            }
        }
    }
    out.into_iter()
        .map(|result| {
            result.unwrap_or_else(|| {
                Err(PortError::Transient {
                    after: None,
                    reason: "Kommo's answer to the batch did not list this item".into(),
                })
            })
        })
        .collect()
}

/// Ties the answer's items to the positions sent: by `request_id`, or by order when Kommo
/// echoed none (it answers in request order).
fn map_results<'a>(batch: &[usize], results: &'a [WriteResult]) -> Vec<(usize, &'a WriteResult)> {
    if results.iter().all(|r| r.request_id.is_none()) {
        return batch.iter().copied().zip(results).collect();
    }
    results
        .iter()
        .filter_map(|r| {
            let i = r.request_id.as_deref()?.parse::<usize>().ok()?;
            batch.contains(&i).then_some((i, r))
        })
        .collect()
}

/// The items of `batch` that a validation error names by `request_id`, with why.
fn refused_items(error: &Error, batch: &[usize]) -> BTreeMap<usize, String> {
    let mut named = BTreeMap::new();
    for group in error.validation_errors() {
        let Some(i) = group
            .request_id
            .as_deref()
            .and_then(|r| r.parse::<usize>().ok())
            .filter(|i| batch.contains(i))
        else {
            continue;
        };
        let fields: Vec<String> = group
            .errors
            .iter()
            .map(|f| format!("{} {}: {}", f.path, f.code, f.detail))
            .collect();
        named.insert(
            i,
            format!(
                "Kommo refused it: validation failed ({})",
                fields.join("; ")
            ),
        );
    }
    named
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(id: u64, request_id: Option<&str>) -> WriteResult {
        serde_json::from_value(serde_json::json!({"id": id, "request_id": request_id})).unwrap()
    }

    #[test]
    fn results_map_back_by_request_id_or_by_order() {
        let batch = [0, 2, 5];
        let echoed = [
            result(10, Some("5")),
            result(11, Some("0")),
            result(12, Some("9")),
        ];
        let mapped: Vec<(usize, u64)> = map_results(&batch, &echoed)
            .into_iter()
            .map(|(i, r)| (i, r.id))
            .collect();
        assert_eq!(
            mapped,
            vec![(5, 10), (0, 11)],
            "an unknown request_id is dropped"
        );
        let bare = [result(20, None), result(21, None), result(22, None)];
        let mapped: Vec<(usize, u64)> = map_results(&batch, &bare)
            .into_iter()
            .map(|(i, r)| (i, r.id))
            .collect();
        assert_eq!(mapped, vec![(0, 20), (2, 21), (5, 22)]);
    }

    /// A refusal of `refused` (by `request_id`) as Kommo answers it.
    fn validation(refused: &[usize]) -> Error {
        let groups: Vec<Value> = refused
            .iter()
            .map(|i| {
                serde_json::json!({"request_id": i.to_string(), "errors": [
                    {"code": "NotSupportedChoice", "path": "text", "detail": "bad"}
                ]})
            })
            .collect();
        let body = serde_json::json!({"validation-errors": groups, "title": "Bad Request",
            "status": 400, "detail": "Request validation failed"});
        Error::from_response(400, None, None, body.to_string().as_bytes())
    }

    /// A client that sends `sent` in chunks of `chunk` as `kommo-client` does: a chunk with a
    /// refused item fails whole, after the chunks before it were committed.
    fn chunked(
        sent: &[(usize, u32)],
        chunk: usize,
        refused: &[usize],
    ) -> Result<Vec<WriteResult>, Error> {
        let mut committed = Vec::new();
        for part in sent.chunks(chunk) {
            let named: Vec<usize> = part
                .iter()
                .map(|(i, _)| *i)
                .filter(|i| refused.contains(i))
                .collect();
            if !named.is_empty() {
                let source = validation(&named);
                return Err(if committed.is_empty() {
                    source
                } else {
                    Error::PartialBatch {
                        committed,
                        source: Box::new(source),
                    }
                });
            }
            committed.extend(
                part.iter()
                    .map(|(i, id)| result(u64::from(*id), Some(&i.to_string()))),
            );
        }
        Ok(committed)
    }

    #[tokio::test]
    async fn a_refusal_in_a_later_chunk_fails_only_the_items_it_names() {
        // Five notes, sent by a client in chunks of two: the refusal of item 3 comes after
        // the first chunk was committed.
        let items: Vec<u32> = (100..105).collect();
        let calls = std::sync::Mutex::new(Vec::new());
        let outcome = write_batch(
            &items,
            |sent: Vec<(usize, u32)>| {
                calls
                    .lock()
                    .unwrap()
                    .push(sent.iter().map(|(i, _)| *i).collect::<Vec<_>>());
                let answer = chunked(&sent, 2, &[3]);
                async move { answer }
            },
            |r| r.id,
        )
        .await;
        let ends: Vec<Result<u64, bool>> = outcome
            .into_iter()
            .map(|r| r.map_err(|e| matches!(e, PortError::Permanent { .. })))
            .collect();
        assert_eq!(
            ends,
            vec![Ok(100), Ok(101), Ok(102), Err(true), Ok(104)],
            "only the named item fails; the others of its chunk and after it are written"
        );
        assert_eq!(
            calls.into_inner().unwrap(),
            vec![vec![0, 1, 2, 3, 4], vec![2, 4]]
        );
    }

    #[test]
    fn entities_split_by_type_in_order() {
        let entities = [
            KommoEntity::Lead(1),
            KommoEntity::Contact(2),
            KommoEntity::Lead(3),
        ];
        let groups = by_type(&entities, |e| *e);
        assert_eq!(
            groups,
            vec![
                (EntityType::Leads, vec![0, 2]),
                (EntityType::Contacts, vec![1])
            ]
        );
    }
}
