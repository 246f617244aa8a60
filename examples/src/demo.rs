//! The demo: the whole Kommo to Loops flow on the sandbox fakes, in-process.
//!
//! It starts both fakes, the bridge server and its workers, wires the webhooks (Kommo posts
//! to the server, so does Loops), then plays the onboarding scenario through the fakes and
//! checks every effect in their state.

use std::future::Future;
use std::io::Write;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use kommo_client::common::EntityType;
use kommo_loops_bridge::Rules;
use kommo_loops_bridge::runtime::{
    Bridge, BridgeConfig, JobReport, MemoryOutbox, MemoryState, Outbox, Outcome, StateStore,
};
use kommo_loops_sandbox::kommo::{self, NewCompany, NewContact, NewLead, saas_onboarding};
use kommo_loops_sandbox::loops::{self, PropertyKind, TransactionalTemplate};
use loops_client::webhooks::WebhookSecret;

use crate::server::{ConnectionLimits, RunningServer, serve_with};

/// How long one step may take before the demo reports it missing.
const STEP_TIMEOUT: Duration = Duration::from_secs(10);

/// The onboarding rules, relative to the workspace root.
pub const RULES: &str = "examples/rules/saas-onboarding.toml";

/// Everything the demo runs on, for the integration tests to reuse.
pub struct Stack {
    /// The Loops fake.
    pub loops: loops::Sandbox,
    /// The Kommo fake.
    pub kommo: kommo::Sandbox,
    /// The bridge.
    pub bridge: Bridge,
    /// The bridge's HTTP server.
    pub server: RunningServer,
    /// The path token of the Kommo webhook URL.
    pub kommo_token: String,
    /// The Loops signing secret.
    pub loops_secret: String,
    workers: Option<kommo_loops_bridge::runtime::Workers>,
    worker_count: usize,
    connections: ConnectionLimits,
}

impl std::fmt::Debug for Stack {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stack")
            .field("server", &self.server.addr)
            .finish_non_exhaustive()
    }
}

/// How [`Stack::start_with`] builds the stack; the defaults are what [`Stack::start`] uses
/// (the demo's setup). Tests use it to inject faults from the start, to keep the work in a
/// durable outbox, or to shorten the clients' waits so that fault tests take seconds.
pub struct StackOptions {
    loops: loops::Config,
    kommo: kommo::Config,
    stores: Option<(Arc<dyn Outbox>, Arc<dyn StateStore>)>,
    workers: usize,
    loops_client: ClientTweak<loops_client::ClientBuilder>,
    kommo_client: ClientTweak<kommo_client::ClientBuilder>,
    connections: ConnectionLimits,
    loops_properties: bool,
}

type ClientTweak<B> = Box<dyn FnOnce(B) -> B + Send>;

impl Default for StackOptions {
    fn default() -> Self {
        StackOptions {
            loops: loops::Config::default(),
            kommo: kommo::Config::saas_onboarding(),
            stores: None,
            workers: 2,
            loops_client: Box::new(|b| b),
            kommo_client: Box::new(|b| b),
            connections: ConnectionLimits::default(),
            loops_properties: true,
        }
    }
}

impl std::fmt::Debug for StackOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StackOptions")
            .field("loops", &self.loops)
            .field("kommo", &self.kommo)
            .field("durable_stores", &self.stores.is_some())
            .field("workers", &self.workers)
            .field("connections", &self.connections)
            .finish_non_exhaustive()
    }
}

impl StackOptions {
    /// The demo's setup: default fakes (Kommo with the onboarding preset), in-memory stores,
    /// two workers, default clients.
    pub fn new() -> Self {
        Self::default()
    }

    /// Starts the Loops fake without the onboarding rules' custom contact properties, as a new
    /// Loops team is: every upsert setting them is refused until they are created (the
    /// preflight's `fix` does).
    pub fn without_loops_properties(mut self) -> Self {
        self.loops_properties = false;
        self
    }

    /// Starts the Loops fake with this configuration (its rate limit, faults, seed); the
    /// stack still adds the onboarding properties and the `cl_welcome` email.
    pub fn loops(mut self, config: loops::Config) -> Self {
        self.loops = config;
        self
    }

    /// Starts the Kommo fake with this configuration instead of the onboarding preset (start
    /// from `kommo::Config::saas_onboarding()` to keep the pipeline the rules use).
    pub fn kommo(mut self, config: kommo::Config) -> Self {
        self.kommo = config;
        self
    }

    /// Keeps the work and the state in these stores (an SQLite or PostgreSQL outbox) instead
    /// of memory.
    pub fn stores(mut self, outbox: Arc<dyn Outbox>, state: Arc<dyn StateStore>) -> Self {
        self.stores = Some((outbox, state));
        self
    }

    /// How many workers to start (0: none; the test drives the bridge itself).
    pub fn workers(mut self, workers: usize) -> Self {
        self.workers = workers;
        self
    }

    /// The server's connection limits (default: [`ConnectionLimits::default`]).
    pub fn connections(mut self, limits: ConnectionLimits) -> Self {
        self.connections = limits;
        self
    }

    /// Adjusts the Loops client (retry policy, pacing) after the stack pointed it at the fake.
    pub fn loops_client(
        mut self,
        tweak: impl FnOnce(loops_client::ClientBuilder) -> loops_client::ClientBuilder + Send + 'static,
    ) -> Self {
        self.loops_client = Box::new(tweak);
        self
    }

    /// Adjusts the Kommo client (retry policy, breaker, pacing) after the stack pointed it at
    /// the fake.
    pub fn kommo_client(
        mut self,
        tweak: impl FnOnce(kommo_client::ClientBuilder) -> kommo_client::ClientBuilder + Send + 'static,
    ) -> Self {
        self.kommo_client = Box::new(tweak);
        self
    }
}

impl Stack {
    /// Starts the fakes (the onboarding preset), the bridge with `rules` and the server, and
    /// wires the webhooks both ways. `config` holds the bridge settings.
    pub async fn start(rules: Rules, config: BridgeConfig) -> Result<Stack, String> {
        Self::start_with(rules, config, StackOptions::default()).await
    }

    /// [`start`](Self::start) with other fakes, stores, workers or client settings.
    pub async fn start_with(
        rules: Rules,
        config: BridgeConfig,
        options: StackOptions,
    ) -> Result<Stack, String> {
        let (loops, kommo) =
            fakes_with(options.loops, options.kommo, options.loops_properties).await?;
        let loops_client = (options.loops_client)(
            loops_client::Client::builder()
                .api_key(loops.api_key())
                .base_url(loops.base_url()),
        )
        .build()
        .map_err(|e| e.to_string())?;
        let kommo_client = (options.kommo_client)(
            kommo_client::Client::builder()
                .base_url(&kommo.base_url())
                .long_lived_token(kommo.token()),
        )
        .build()
        .map_err(|e| e.to_string())?;
        let (outbox, state): (Arc<dyn Outbox>, Arc<dyn StateStore>) = match options.stores {
            Some(stores) => stores,
            None => (Arc::new(MemoryOutbox::new()), Arc::new(MemoryState::new())),
        };
        let loops_secret = WebhookSecret::from_bytes(random_bytes()).to_whsec();
        let bridge = Bridge::builder(rules, Arc::new(loops_client), Arc::new(kommo_client))
            .outbox(outbox)
            .state(state)
            .config(config)
            .loops_secret(loops_secret.clone())
            .build()
            .map_err(|e| e.to_string())?;
        let kommo_token = hex(&random_bytes());
        let server = serve_with(
            bridge.clone(),
            &kommo_token,
            SocketAddr::from(([127, 0, 0, 1], 0)),
            options.connections,
        )
        .await
        .map_err(|e| format!("server: {e}"))?;
        let worker_count = options.workers;
        let workers = (worker_count > 0).then(|| bridge.spawn_workers(worker_count));
        kommo.subscribe_all(&format!("{}/webhooks/kommo/{kommo_token}", server.url()));
        loops
            .register_webhook(&format!("{}/webhooks/loops", server.url()), &loops_secret)
            .map_err(|e| format!("Loops fake: {e}"))?;
        Ok(Stack {
            loops,
            kommo,
            bridge,
            server,
            kommo_token,
            loops_secret,
            workers,
            worker_count,
            connections: options.connections,
        })
    }

    /// Takes the bridge down as a deploy or an outage would: the HTTP server stops (Kommo's
    /// deliveries fail, the connection refused) and so do the workers. The fakes keep running;
    /// [`bring_back`](Self::bring_back) starts both again on the same address.
    pub async fn take_down(&mut self) {
        let stopped = RunningServer::stopped(self.server.addr);
        std::mem::replace(&mut self.server, stopped)
            .shutdown(Duration::from_secs(2))
            .await;
        if let Some(workers) = self.workers.take() {
            workers.shutdown().await;
        }
    }

    /// Serves the bridge again on the address it had, and starts its workers.
    pub async fn bring_back(&mut self) -> Result<(), String> {
        let addr = self.server.addr;
        self.server = serve_with(
            self.bridge.clone(),
            &self.kommo_token,
            addr,
            self.connections,
        )
        .await
        .map_err(|e| format!("server on {addr}: {e}"))?;
        if self.workers.is_none() && self.worker_count > 0 {
            self.workers = Some(self.bridge.spawn_workers(self.worker_count));
        }
        Ok(())
    }

    /// The URL Kommo posts webhooks to (the fake is subscribed to it).
    pub fn kommo_webhook_url(&self) -> String {
        format!("{}/webhooks/kommo/{}", self.server.url(), self.kommo_token)
    }

    /// A Loops client on the fake (its own, not the bridge's: its own rate limiter).
    pub fn loops_client(&self) -> loops_client::Client {
        loops_client::Client::builder()
            .api_key(self.loops.api_key())
            .base_url(self.loops.base_url())
            .build()
            .expect("a client for the fake")
    }

    /// A Kommo client on the fake (its own, not the bridge's).
    pub fn kommo_client(&self) -> kommo_client::Client {
        kommo_client::Client::builder()
            .base_url(&self.kommo.base_url())
            .long_lived_token(self.kommo.token())
            .build()
            .expect("a client for the fake")
    }

    /// What the preflight needs to recognise this stack's webhooks: its Kommo path token and
    /// its Loops signing secret.
    pub fn preflight_options(&self) -> kommo_loops_bridge::runtime::preflight::PreflightOptions {
        kommo_loops_bridge::runtime::preflight::PreflightOptions::new()
            .kommo_webhook_token(self.kommo_token.clone())
            .loops_webhook_secret(self.loops_secret.clone())
    }

    /// The URL Loops posts webhooks to (the fake is registered with it).
    pub fn loops_webhook_url(&self) -> String {
        format!("{}/webhooks/loops", self.server.url())
    }

    /// Stops everything.
    pub async fn stop(self) {
        self.server.shutdown(Duration::from_secs(2)).await;
        if let Some(workers) = self.workers {
            workers.shutdown().await;
        }
        self.kommo.shutdown().await;
        self.loops.shutdown().await;
    }
}

/// Starts the two fakes as the stack uses them: the Loops fake with the contact properties
/// and the `cl_welcome` email the onboarding rules send, the Kommo fake as configured (the
/// onboarding preset by default). For tests that run the bridge elsewhere, e.g. in a child
/// process.
pub async fn fakes(
    loops: loops::Config,
    kommo: kommo::Config,
) -> Result<(loops::Sandbox, kommo::Sandbox), String> {
    fakes_with(loops, kommo, true).await
}

/// [`fakes`], with or without the onboarding rules' custom contact properties in Loops.
pub async fn fakes_with(
    loops: loops::Config,
    kommo: kommo::Config,
    properties: bool,
) -> Result<(loops::Sandbox, kommo::Sandbox), String> {
    let loops = loops::Sandbox::start(loops)
        .await
        .map_err(|e| format!("Loops fake: {e}"))?;
    let onboarding_properties = if properties {
        ONBOARDING_PROPERTIES
    } else {
        &[]
    };
    for (name, kind) in onboarding_properties.iter().copied() {
        loops
            .add_contact_property(name, kind)
            .map_err(|e| format!("Loops fake: {e}"))?;
    }
    loops.add_transactional_email(
        TransactionalTemplate::new("cl_welcome", "Welcome").required(["name", "company"]),
    );
    let kommo = kommo::Sandbox::start(kommo)
        .await
        .map_err(|e| format!("Kommo fake: {e}"))?;

    Ok((loops, kommo))
}

/// The custom contact properties the onboarding rules set.
const ONBOARDING_PROPERTIES: &[(&str, PropertyKind)] = &[
    ("companyName", PropertyKind::String),
    ("kommoStage", PropertyKind::String),
    ("kommoPipeline", PropertyKind::String),
    ("plan", PropertyKind::String),
];

fn random_bytes() -> Vec<u8> {
    (0..24).map(|_| fastrand::u8(..)).collect()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Polls `check` until it holds or `timeout` passes.
pub async fn eventually<F, Fut>(timeout: Duration, mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if check().await {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// One effect checked after a step.
#[derive(Debug, Clone)]
pub struct Check {
    /// What is expected.
    pub what: String,
    /// Whether it held.
    pub held: bool,
}

/// Runs the demo, printing a timeline to `out`; returns every check (all must hold).
pub async fn run(workspace_root: &Path, out: &mut dyn Write) -> Result<Vec<Check>, String> {
    let started = Instant::now();
    let rules = Rules::from_path(workspace_root.join(RULES)).map_err(|e| e.to_string())?;
    let stack = Stack::start(rules, BridgeConfig::default()).await?;
    let mut reports = stack.bridge.subscribe();
    let mut checks = Vec::new();
    let say = |out: &mut dyn Write, line: String| {
        let _ = writeln!(out, "{line}");
    };
    say(
        out,
        format!(
            "bridge listening on {} (Loops fake {}, Kommo fake {})",
            stack.server.url(),
            stack.loops.base_url(),
            stack.kommo.base_url()
        ),
    );

    // 1. A new lead.
    say(
        out,
        "\n1. Sales adds a lead for Ada Lovelace (Acme Inc) in \"SaaS sales\"".into(),
    );
    let kommo = &stack.kommo;
    let company = kommo
        .create_company(NewCompany::new("Acme Inc"))
        .map_err(|e| e.to_string())?;
    let ada = kommo
        .create_contact(
            NewContact::new("Ada Lovelace")
                .email_kind("ada@acme.io", "WORK")
                .phone("+1 555 0100")
                .company(company),
        )
        .map_err(|e| e.to_string())?;
    let lead = kommo
        .create_lead(
            NewLead::new("Acme Inc - Pro plan")
                .status(saas_onboarding::PIPELINE_ID, saas_onboarding::INCOMING)
                .price(1200.0)
                .contact(ada)
                .company(company)
                .field("PLAN", "pro")
                .field(saas_onboarding::TRIAL_DAYS_FIELD, 14),
        )
        .map_err(|e| e.to_string())?;
    kommo.flush_webhooks().await;
    let loops = &stack.loops;
    step(out, &mut checks, &mut reports, vec![
        ("Loops contact ada@acme.io exists with userGroup \"leads\" and companyName \"Acme Inc\"", Box::new(|| {
            loops.contact("ada@acme.io").is_some_and(|c| {
                c.user_group == "leads" && c.properties.get("companyName").and_then(|v| v.as_str()) == Some("Acme Inc")
                    && c.first_name.as_deref() == Some("Ada")
            })
        })),
        ("Loops event lead_created for ada@acme.io", Box::new(|| events(loops, "lead_created") == 1)),
    ]).await;

    // 2. Trial.
    say(out, "\n2. The lead moves to Trial".into());
    kommo
        .move_lead(lead, saas_onboarding::TRIAL)
        .map_err(|e| e.to_string())?;
    kommo.flush_webhooks().await;
    step(
        out,
        &mut checks,
        &mut reports,
        vec![
            (
                "Loops event trial_started with plan \"pro\" and trial_days 14",
                Box::new(|| {
                    loops.events().iter().any(|e| {
                        e.event_name == "trial_started"
                            && e.event_properties.get("plan").and_then(|v| v.as_str())
                                == Some("pro")
                            && e.event_properties
                                .get("trial_days")
                                .and_then(|v| v.as_i64())
                                == Some(14)
                    })
                }),
            ),
            (
                "Loops contact ada@acme.io has kommoStage \"Trial\"",
                Box::new(|| {
                    loops.contact("ada@acme.io").is_some_and(|c| {
                        c.properties.get("kommoStage").and_then(|v| v.as_str()) == Some("Trial")
                    })
                }),
            ),
        ],
    )
    .await;

    // 3. Won.
    say(out, "\n3. The deal is won".into());
    kommo
        .move_lead(lead, saas_onboarding::WON)
        .map_err(|e| e.to_string())?;
    kommo.flush_webhooks().await;
    step(out, &mut checks, &mut reports, vec![
        ("Loops event deal_won with deal_value 1200 and company \"Acme Inc\"", Box::new(|| {
            loops.events().iter().any(|e| {
                e.event_name == "deal_won"
                    && e.event_properties.get("deal_value").and_then(|v| v.as_f64()) == Some(1200.0)
                    && e.event_properties.get("company").and_then(|v| v.as_str()) == Some("Acme Inc")
            })
        })),
        ("Loops transactional cl_welcome to ada@acme.io with name \"Ada\" and company \"Acme Inc\"", Box::new(|| {
            loops.transactional_sends().iter().any(|t| {
                t.transactional_id == "cl_welcome"
                    && t.email == "ada@acme.io"
                    && t.data_variables.get("name").and_then(|v| v.as_str()) == Some("Ada")
                    && t.data_variables.get("company").and_then(|v| v.as_str()) == Some("Acme Inc")
            })
        })),
    ]).await;

    // 4. A hard bounce.
    say(
        out,
        "\n4. Loops reports a hard bounce for ada@acme.io".into(),
    );
    loops
        .email_hard_bounced("ada@acme.io")
        .await
        .map_err(|e| e.to_string())?;
    let lead_id = lead.0;
    step(
        out,
        &mut checks,
        &mut reports,
        vec![
            (
                "Kommo note about the hard bounce on the lead",
                Box::new(|| {
                    kommo
                        .notes_for(EntityType::Leads, lead_id)
                        .iter()
                        .any(|n| note_text(n).contains("hard bounce"))
                }),
            ),
            (
                "Kommo task to update the email on the lead",
                Box::new(|| {
                    kommo
                        .tasks_for(EntityType::Leads, lead_id)
                        .iter()
                        .any(|t| t.text.contains("update contact email"))
                }),
            ),
        ],
    )
    .await;

    // 5. An unsubscribe.
    say(out, "\n5. Ada unsubscribes in Loops".into());
    loops
        .contact_unsubscribed("ada@acme.io")
        .await
        .map_err(|e| e.to_string())?;
    let ada_id = ada.0;
    step(
        out,
        &mut checks,
        &mut reports,
        vec![
            (
                "Kommo note about the unsubscribe on the contact",
                Box::new(|| {
                    kommo
                        .notes_for(EntityType::Contacts, ada_id)
                        .iter()
                        .any(|n| note_text(n).contains("unsubscribed"))
                }),
            ),
            (
                "Kommo tag email_unsubscribed on the contact",
                Box::new(|| {
                    kommo
                        .contact(kommo_client::ids::ContactId(ada_id))
                        .is_some_and(|c| c.tags.iter().any(|t| t.name == "email_unsubscribed"))
                }),
            ),
        ],
    )
    .await;

    // Nothing was sent twice, nothing was lost.
    say(out, "\nFinally: every send happened exactly once".into());
    let once = |name: &str| events(loops, name) == 1;
    let finals: Vec<(&str, bool)> = vec![
        ("lead_created sent once", once("lead_created")),
        ("trial_started sent once", once("trial_started")),
        ("deal_won sent once", once("deal_won")),
        (
            "cl_welcome sent once",
            loops.transactional_sends().len() == 1,
        ),
        (
            "no dead letters",
            stack
                .bridge
                .outbox()
                .stats()
                .await
                .map(|s| s.dead == 0)
                .unwrap_or(false),
        ),
    ];
    for (what, held) in finals {
        say(
            out,
            format!("   {} {what}", if held { "ok  " } else { "FAIL" }),
        );
        checks.push(Check {
            what: what.to_owned(),
            held,
        });
    }
    let failed = checks.iter().filter(|c| !c.held).count();
    say(
        out,
        format!(
            "\n{} of {} checks hold; {:.1} s",
            checks.len() - failed,
            checks.len(),
            started.elapsed().as_secs_f64()
        ),
    );
    stack.stop().await;
    Ok(checks)
}

type Probe<'a> = Box<dyn Fn() -> bool + 'a>;

/// Waits for each expected effect, printing what the bridge did meanwhile.
async fn step(
    out: &mut dyn Write,
    checks: &mut Vec<Check>,
    reports: &mut tokio::sync::broadcast::Receiver<JobReport>,
    expected: Vec<(&str, Probe<'_>)>,
) {
    let first = checks.len();
    for (what, probe) in expected {
        let held = eventually(STEP_TIMEOUT, || {
            let held = probe();
            async move { held }
        })
        .await;
        checks.push(Check {
            what: what.to_owned(),
            held,
        });
    }
    // What the bridge did, in order.
    while let Ok(report) = reports.try_recv() {
        let _ = writeln!(out, "   bridge: {}", describe(&report));
    }
    for check in &checks[first..] {
        let _ = writeln!(
            out,
            "   {} {}",
            if check.held { "ok  " } else { "FAIL" },
            check.what
        );
    }
}

fn describe(report: &JobReport) -> String {
    match (&report.outcome, &report.plan) {
        (Outcome::Done { .. }, Some(plan)) => {
            let kinds: Vec<String> = plan
                .actions
                .iter()
                .map(|a| format!("{} ({})", a.kind(), a.rule()))
                .collect();
            if kinds.is_empty() {
                "planned a Kommo delivery: nothing to do".into()
            } else {
                format!("planned a Kommo delivery: {}", kinds.join(", "))
            }
        }
        (outcome, _) => format!("{}: {outcome}", report.job),
    }
}

fn events(loops: &loops::Sandbox, name: &str) -> usize {
    loops
        .events()
        .iter()
        .filter(|e| e.event_name == name)
        .count()
}

fn note_text(note: &kommo_loops_sandbox::kommo::Note) -> String {
    note.params
        .get("text")
        .and_then(|v| v.as_str())
        .unwrap_or_default()
        .to_owned()
}
