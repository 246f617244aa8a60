//! The rules parser: any text gives rules or an error listing the problems, never a panic;
//! rules that parse plan a fixed Kommo delivery (with its fetched data) and a fixed Loops
//! event without panicking, and plan them the same way twice.
#![no_main]

use std::sync::LazyLock;

use kommo_client::webhooks::WebhookPayload;
use kommo_loops_bridge::{Mode, Rules, Snapshot};
use libfuzzer_sys::fuzz_target;
use loops_client::webhooks::WebhookEvent;

const BODY: &str = include_str!("../../kommo-loops-bridge/tests/golden/lead_status_won/body.form");
const SNAPSHOT: &str =
    include_str!("../../kommo-loops-bridge/tests/golden/lead_status_won/snapshot.json");
const LOOPS: &str =
    include_str!("../../kommo-loops-bridge/tests/golden/loops_hard_bounce/loops.json");

static FIXED: LazyLock<(WebhookPayload, Snapshot, WebhookEvent)> = LazyLock::new(|| {
    (
        kommo_client::webhooks::parse(BODY.as_bytes()).unwrap(),
        Snapshot::from_json(SNAPSHOT).unwrap(),
        WebhookEvent::parse(LOOPS.as_bytes()).unwrap(),
    )
});

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    for parsed in [
        Rules::from_toml_str("fuzz.toml", text),
        Rules::from_json_str("fuzz.json", text),
    ] {
        let Ok(rules) = parsed else { continue };
        let (payload, snapshot, event) = &*FIXED;
        for mode in [Mode::Live, Mode::Backfill] {
            let first = rules.plan_kommo(payload, snapshot, mode);
            assert_eq!(first, rules.plan_kommo(payload, snapshot, mode));
        }
        let plan = rules.plan_loops("msg_fuzz", event);
        assert_eq!(plan, rules.plan_loops("msg_fuzz", event));
        let _ = rules.kommo_events();
    }
});
