//! Stateful fakes of the APIs this workspace talks to, for tests: real HTTP servers on
//! 127.0.0.1 with in-memory state, an inspection API, and fault injection.
//!
//! Behaviour follows what the providers document; where they do not document something (a
//! message text, an edge case), the fake picks the plausible answer and its docs say so.
//!
//! # Loops: [`LoopsSandbox`]
//!
//! ```no_run
//! # async fn run() -> std::io::Result<()> {
//! use kommo_loops_sandbox::{FaultConfig, LoopsConfig, LoopsSandbox};
//! use std::time::Duration;
//!
//! let sandbox = LoopsSandbox::start(LoopsConfig::default().seed(42)).await?;
//! // Give `sandbox.base_url()` and `sandbox.api_key()` to the code under test, e.g.
//! // loops_client::Client::builder().api_key(sandbox.api_key()).base_url(sandbox.base_url()).build()
//! sandbox.faults().set(FaultConfig::none().error_rate(0.3).latency(Duration::from_millis(20)));
//! // ... run it ...
//! let stats = sandbox.request_stats();
//! assert_eq!(stats.with_status(429), 0, "the client stayed under the rate limit");
//! sandbox.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! **API** (under `/api`, so the base URL is `http://127.0.0.1:PORT/api`):
//! `GET /v1/api-key`, `POST /v1/contacts/create`, `PUT /v1/contacts/update`,
//! `GET /v1/contacts/find`, `POST /v1/contacts/delete`, `GET`/`DELETE /v1/contacts/suppression`,
//! `GET`/`POST /v1/contacts/properties`, `GET /v1/lists`, `POST /v1/events/send`,
//! `POST /v1/transactional`, `GET /v1/transactional-emails`, `GET /v1/transactional` (legacy),
//! `GET /v1/dedicated-sending-ips`. An unknown path is a 404, a wrong method a 405, a bad JSON
//! body a 400, all with `{"success": false, "message": ...}` (the 405 has no body).
//!
//! **Every API request** goes through, in order:
//! 1. the added latency ([`FaultConfig::latency`]);
//! 2. the API key (`Authorization: Bearer <key>`; otherwise 401
//!    `{"success":false,"message":"Invalid API key","error":"Invalid API key"}`);
//! 3. a forced 429 ([`Faults::force_429_next`], [`FaultConfig::force_429_rate`]);
//! 4. the rate limit, a token bucket of R requests/second holding R (429
//!    `{"success":false,"message":"Rate limit exceeded"}`, optionally with `Retry-After`);
//! 5. an injected 5xx ([`FaultConfig::error_rate`]), without applying the request;
//! 6. the handler, then for a dropped request ([`FaultConfig::drop_rate`]) a cut connection.
//!
//! Every answer carries `x-ratelimit-limit` and `x-ratelimit-remaining` (unless the limit is
//! off), and every request is counted by endpoint and status ([`RequestStats`]).
//!
//! **Inspection over HTTP** (under `/_sandbox`: JSON, no key, no rate limit, no faults, not
//! counted), for tests in any language; the same is available in Rust on [`LoopsSandbox`]:
//!
//! | route | what |
//! | --- | --- |
//! | `GET /_sandbox/contacts[?email=…\|?userId=…]` | contacts, in find shape plus `_suppressed` |
//! | `POST /_sandbox/contacts` | seed a contact ([`SeedContact`] as JSON) |
//! | `GET /_sandbox/events[?email=…&eventName=…]` | recorded events ([`RecordedEvent`]) |
//! | `GET /_sandbox/transactional[?email=…&transactionalId=…]` | recorded sends ([`RecordedTransactional`]) |
//! | `GET /_sandbox/requests` | counts by endpoint and status ([`RequestStats`]) |
//! | `GET /_sandbox/requests/log` | every request, the last 10,000 ([`RequestRecord`]) |
//! | `GET /_sandbox/idempotency-conflicts` | sends refused for a repeated key |
//! | `GET /_sandbox/webhooks` | outgoing webhook deliveries ([`WebhookDelivery`]) |
//! | `GET`/`PUT /_sandbox/faults` | the fault knobs ([`FaultConfig`] as JSON, durations in ms) |
//! | `POST /_sandbox/lists` | seed a list ([`MailingListSeed`]) |
//! | `POST /_sandbox/transactional-emails` | seed a transactional email ([`TransactionalTemplate`]) |
//! | `POST /_sandbox/contact-properties` | create a property, `{"name", "type"}` |
//! | `POST /_sandbox/suppressions` | suppress an email, `{"email"}` |
//! | `POST /_sandbox/reset` | back to the configured start |
//!
//! **Outgoing webhooks**: [`LoopsSandbox::register_webhook`], then
//! [`email_hard_bounced`](LoopsSandbox::email_hard_bounced),
//! [`contact_unsubscribed`](LoopsSandbox::contact_unsubscribed),
//! [`email_spam_reported`](LoopsSandbox::email_spam_reported), ... or
//! [`emit`](LoopsSandbox::emit) for any event; signed as Loops signs them, recorded, and
//! replayable ([`LoopsSandbox::replay_webhook`]), with stale or forged variants
//! ([`DeliveryOptions`]) for negative tests.
//!
//! # Kommo: [`KommoSandbox`]
//!
//! A fake of the Kommo (amoCRM) API v4 and of the webhooks Kommo sends.
//!
//! ```no_run
//! # async fn run() -> std::io::Result<()> {
//! use kommo_loops_sandbox::{KommoConfig, KommoSandbox, NewContact, NewLead, saas_onboarding};
//!
//! let kommo = KommoSandbox::start(KommoConfig::saas_onboarding().seed(7)).await?;
//! // Give `kommo.base_url()` and `kommo.token()` to the code under test, e.g.
//! // kommo_client::Client::builder().base_url(&kommo.base_url()).long_lived_token(kommo.token())
//! kommo.subscribe_all("http://127.0.0.1:8080/hooks/kommo"); // where the bridge listens
//!
//! // A manager works in Kommo's UI: state changes, and Kommo's webhooks go out.
//! let ada = kommo.create_contact(NewContact::new("Ada").email("ada@example.com")).unwrap();
//! let lead = kommo
//!     .create_lead(
//!         NewLead::new("Ada's trial")
//!             .status(saas_onboarding::PIPELINE_ID, saas_onboarding::TRIAL)
//!             .contact(ada)
//!             .field("PLAN", "pro"),
//!     )
//!     .unwrap();
//! kommo.move_lead(lead, saas_onboarding::ACTIVATED).unwrap(); // leads[status]
//! kommo.flush_webhooks().await;
//! assert_eq!(kommo.webhook_deliveries().len(), 3);
//! kommo.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! **API** (the base URL is `http://127.0.0.1:PORT`; the client appends `/api/v4/...`):
//! `GET /api/v4/account`; `GET /api/v4/users[/{id}]`; `GET|POST|PATCH /api/v4/leads`,
//! `GET|PATCH /api/v4/leads/{id}`, `POST /api/v4/leads/complex`;
//! `GET /api/v4/leads/pipelines[/{id}[/statuses[/{id}]]]`; the same list/get/add/update routes
//! for `contacts` and `companies`; for each of `leads`, `contacts`, `companies`:
//! `GET /{entity}/custom_fields[/{id}]`, `GET|POST /{entity}/notes`,
//! `GET /{entity}/notes/{id}`, `GET|POST /{entity}/{id}/notes`, `GET|POST /{entity}/tags`,
//! `POST /{entity}/{id}/link`, `POST /{entity}/{id}/unlink`, `GET /{entity}/{id}/links`;
//! `GET|POST|PATCH /api/v4/tasks`, `GET|PATCH /api/v4/tasks/{id}`;
//! `GET|POST|DELETE /api/v4/webhooks`; `POST /oauth2/access_token`.
//!
//! Answers are `application/hal+json` in Kommo's shapes: `_links` pointing back at the sandbox,
//! `_embedded`, unix-second timestamps, `custom_fields_values: null` when empty, lists paged
//! with `page` and `limit` (default 50, at most 250) and `_links.next`, **204 with an empty
//! body** for an empty page, a search without hits and (by default) `GET` of a missing id.
//! Errors are `application/problem+json` (`title`, `type`, `status`, `detail`); a write with
//! bad fields is a 400 with `validation-errors: [{request_id, errors: [{code, path,
//! detail}]}]` and changes nothing; more than 250 entities is a 422; an unknown id on a write
//! or sub-resource path is a 404; an unknown route a 404, a wrong method a 405.
//!
//! **Every API request** goes through, in order:
//! 1. the added latency ([`FaultConfig::latency`]);
//! 2. the IP block ([`KommoSandbox::block`], or automatic after repeated 429s with
//!    [`KommoConfig::auto_block`]): 403 with an nginx HTML page on **every** request;
//! 3. the token (`Authorization: Bearer`, the long-lived token or an OAuth access token; 401
//!    problem+json otherwise; `/oauth2/access_token` needs none);
//! 4. "payment required" ([`KommoSandbox::set_payment_required`]): 402;
//! 5. a forced 429 ([`Faults::force_429_next`], [`FaultConfig::force_429_rate`]);
//! 6. the rate limit: a token bucket of 7 requests/second (429 with `retry_after` in the body,
//!    `Retry-After` optional);
//! 7. an injected 5xx ([`FaultConfig::error_rate`]): a 500 problem+json, or a 502/503 HTML
//!    page, without applying the request;
//! 8. the handler (a batch over [`KommoSandbox::time_out_batches_over`] is a 504, not
//!    applied), then for a dropped request ([`FaultConfig::drop_rate`]) a cut connection.
//!
//! Every request is counted by endpoint, with ids as `{id}` (`"GET /api/v4/leads/{id}"`), and
//! status ([`RequestStats`]).
//!
//! **Webhooks**: subscriptions come from `POST /api/v4/webhooks` (`destination` and
//! `settings`), [`KommoSandbox::subscribe`] or [`KommoSandbox::subscribe_all`]. Every change,
//! made through the API (echoes included) or through the scenario API, sends the events the
//! subscription's `settings` ask for, as `application/x-www-form-urlencoded` bracket bodies in
//! Kommo's legacy field set, built with `kommo_client`'s encoder, with `User-Agent:
//! amoCRM-Webhooks/3.0` and `X-Amocrm-Requestid: <uuid>`:
//!
//! | change | event (setting) |
//! | --- | --- |
//! | lead created | `leads[add]` (`add_lead`) |
//! | lead moved | `leads[status]` (`status_lead`) with `old_status_id`, and `old_pipeline_id` when the pipeline changed |
//! | any other lead change (name, price, fields, tags, links, responsible) | `leads[update]` (`update_lead`) |
//! | lead responsible changed | also `leads[responsible]` (`responsible_lead`) |
//! | lead deleted ([`KommoSandbox::delete_lead`]) | `leads[delete]` (`delete_lead`) |
//! | contact created / changed | `contacts[add]` / `contacts[update]`, `type=contact` (`add_contact`, `update_contact`, `responsible_contact`) |
//! | company created / changed | `contacts[add]` / `contacts[update]`, `type=company` (`add_company`, `update_company`, `responsible_company`) |
//! | note added | `leads[note]`, `contacts[note]` (`note_lead`, `note_contact`, `note_company`) |
//! | task added / changed | `task[add]` / `task[update]` (`add_task`, `update_task`; `task[responsible]` for `responsible_task`) |
//!
//! One request or action makes at most one body per subscription. Deliveries are queued per
//! destination, so they arrive in the order of the changes, and the change never waits for
//! them ([`KommoSandbox::flush_webhooks`] does). Every attempt is recorded
//! ([`KommoWebhookDelivery`]); a failure (outside 100–299, or no answer within 2 s) is retried
//! only if configured ([`KommoConfig::webhook_retries`]); a subscription failing more than 100
//! times in 2 hours is disabled until it is saved again. Tests can redeliver a recorded body
//! ([`KommoSandbox::redeliver_webhook`]), send several entities in one body
//! ([`KommoSandbox::send_webhook`]) or send a raw body ([`KommoSandbox::send_raw_webhook`]).
//!
//! **Scenario API** (what a person does in the UI; made as the configured UI user, so webhooks
//! carry a different `modified_user_id` than the bridge's own API writes):
//! [`create_contact`](KommoSandbox::create_contact), [`create_company`](KommoSandbox::create_company),
//! [`create_lead`](KommoSandbox::create_lead), [`move_lead`](KommoSandbox::move_lead),
//! [`move_lead_to`](KommoSandbox::move_lead_to), [`update_lead`](KommoSandbox::update_lead),
//! [`update_contact`](KommoSandbox::update_contact), [`update_company`](KommoSandbox::update_company),
//! [`link_contact`](KommoSandbox::link_contact), [`add_note`](KommoSandbox::add_note),
//! [`add_task`](KommoSandbox::add_task), [`complete_task`](KommoSandbox::complete_task),
//! [`delete_lead`](KommoSandbox::delete_lead); `seed_*` variants change state without
//! webhooks.
//!
//! **Inspection over HTTP** (under `/_sandbox`: JSON in snake_case, no token, no rate limit,
//! no faults, not counted); the same is available in Rust on [`KommoSandbox`]:
//!
//! | route | what |
//! | --- | --- |
//! | `GET /_sandbox/leads[/{id}]`, `/contacts[/{id}][?email=…]`, `/companies[/{id}]` | entities ([`KommoLead`], [`KommoContact`], [`KommoCompany`]) |
//! | `GET /_sandbox/notes[?entity_type=&entity_id=]`, `/tasks[?…]`, `/tags[?entity_type=]`, `/links` | activity, tag directories, links |
//! | `GET /_sandbox/pipelines`, `/custom-fields[?entity_type=]`, `/users` | account settings |
//! | `POST /_sandbox/pipelines`, `/custom-fields`, `/users` | seed settings ([`PipelineSeed`], [`CustomFieldSeed`], [`UserSeed`] as JSON) |
//! | `POST /_sandbox/contacts`, `/companies`, `/leads` `[?webhooks=true]` | create ([`NewContact`], [`NewCompany`], [`NewLead`] as JSON), silently unless asked |
//! | `PATCH /_sandbox/leads/{id}`, `/contacts/{id}`, `/companies/{id}`; `POST /_sandbox/leads/{id}/move` | scenario changes, with webhooks |
//! | `GET /_sandbox/requests`, `/requests/log` | counts by endpoint and status, the log |
//! | `GET /_sandbox/webhooks`; `POST /_sandbox/webhooks/flush`, `/webhooks/send` `{url, body}`, `/webhooks/{id}/redeliver` | deliveries |
//! | `GET`/`POST`/`DELETE /_sandbox/subscriptions` | subscriptions (`settings` may be `"all"`) |
//! | `GET`/`PUT /_sandbox/faults`, `/conditions`; `POST /_sandbox/block`, `/unblock` | knobs ([`FaultConfig`], [`KommoConditions`]) |
//! | `POST /_sandbox/oauth/code`, `/oauth/tokens`, `/oauth/revoke`, `/clock` `{seconds}`, `/reset` | tokens, clock, reset |
//!
//! Where Kommo documents nothing the fake chooses, and says so: ids count up from
//! [`IdBases`]; a lead without a status goes to its pipeline's first stage after "incoming";
//! `updated_at` is strictly increasing per entity; numeric field values are answered as
//! strings; select options may be written by id, code or label; duplicate control in complex
//! adds is not modelled; webhook notes use legacy numeric types (4 text, 5 attachment, 10/11
//! calls, 102/103 SMS, 25 service messages) and UTC `YYYY-MM-DD HH:MM:SS` dates; a link
//! changes (and bumps) the entity that holds it (the lead, or the contact for its company).
//!
//! # Adding a fake
//!
//! Each fake is a module folder (`src/loops/`, `src/kommo/`) with its own state, routes and
//! gate. The shared pieces: `server.rs` (bind 127.0.0.1, serve, graceful shutdown, stop on
//! drop), `faults.rs` ([`Faults`], the 502/503 HTML pages, cutting a connection after the
//! answer started), `rate_limit.rs` (a token bucket on tokio's clock) and `records.rs`
//! ([`RequestStats`], [`RequestRecord`], [`DeliveryOutcome`]).

#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod faults;
mod kommo;
mod loops;
mod rate_limit;
mod records;
mod server;
mod time;

pub use faults::{FaultAction, FaultConfig, FaultPlan, Faults, ServerErrorKind};
pub use kommo::{
    CompanyUpdate, ContactUpdate, CustomFieldSeed, DEFAULT_KOMMO_RATE_LIMIT, DEFAULT_KOMMO_TOKEN,
    DEFAULT_OAUTH_CLIENT_ID, DEFAULT_OAUTH_CLIENT_SECRET, DEFAULT_OAUTH_REDIRECT_URI,
    DEFAULT_RATE_TOLERANCE, EMAIL_KINDS, EnumSeed, FieldKey, FieldSet, IdBases, KommoCompany,
    KommoConditions, KommoConfig, KommoContact, KommoFieldValues, KommoLead, KommoLink, KommoNote,
    KommoSandbox, KommoSubscription, KommoTag, KommoTask, KommoValue, KommoWebhookDelivery,
    LeadContactLink, LeadUpdate, NewCompany, NewContact, NewLead, NewTask, OAuthApp, PHONE_KINDS,
    PipelineSeed, ScenarioError, StatusSeed, TaskTypeSeed, TokenPair, UserSeed, ValidationIssue,
    WebhookPolicy, all_webhook_settings, defaults, saas_onboarding,
};
pub use loops::{
    DEFAULT_API_KEY, DEFAULT_RATE_LIMIT, DeliveryOptions, EmailEventKind, EmailSource,
    IDEMPOTENCY_WINDOW, IdempotencyConflict, LoopsConfig, LoopsSandbox, MailingListSeed,
    PropertyKind, RecordedEvent, RecordedTransactional, SandboxContact, SeedContact, SeedError,
    SignatureMode, TransactionalTemplate, WebhookDelivery, WebhookSendError,
};
pub use records::{DeliveryOutcome, EndpointStats, InjectedFault, RequestRecord, RequestStats};

/// The crate README's example, compiled as a doc test so it cannot rot.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
