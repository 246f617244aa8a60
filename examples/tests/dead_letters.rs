//! Dead letters end to end: a permanent failure is kept with its reason and history; once the
//! cause is fixed, the operator's replay sends exactly once; replaying again, or replaying a
//! send that had in fact landed, never sends twice.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::*;
use kommo_loops_bridge::Rules;
use kommo_loops_bridge::runtime::{BridgeConfig, Outbox, SqliteOutbox};
use kommo_loops_examples::demo::{Stack, eventually};
use kommo_loops_examples::outbox_cli;
use kommo_loops_sandbox::FaultConfig;
use kommo_loops_sandbox::loops::{self, TransactionalTemplate};

/// Won deals get a transactional email the Loops fake does not know yet (a 404: the
/// transactional id is wrong or not published).
fn welcome_rules(transactional: &str) -> Rules {
    Rules::from_toml_str(
        "welcome.toml",
        &format!(
            r#"
            [identity]
            email = "first_work"
            [[kommo]]
            name = "welcome"
            when = {{ event = "lead_status", to = "won" }}
            do = [ {{ send_transactional = {{ id = "{transactional}", data = {{ name = "{{contact.first_name}}" }} }} }} ]
            "#
        ),
    )
    .unwrap()
}

/// The operator's command line on its own connection to the outbox file, as a second process
/// would open it.
async fn outbox_command(path: &std::path::Path, args: &[&str]) -> Result<String, String> {
    let outbox = SqliteOutbox::open(path).await.unwrap();
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    let mut out = Vec::new();
    outbox_cli::run(&args, &outbox, &mut out).await?;
    Ok(String::from_utf8(out).unwrap())
}

/// A transactional email without required variables.
fn thanks(stack: &Stack) {
    stack
        .loops
        .add_transactional_email(TransactionalTemplate::new("cl_thanks", "Thanks"));
}

fn sends_of(stack: &Stack, id: &str) -> Vec<kommo_loops_sandbox::loops::RecordedTransactional> {
    stack
        .loops
        .transactional_sends()
        .into_iter()
        .filter(|t| t.transactional_id == id)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_letter_keeps_its_history_and_its_replay_sends_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("outbox.db");
    let store = Arc::new(SqliteOutbox::open(&path).await.unwrap());
    let stack = Stack::start_with(
        welcome_rules("cl_onboarding"),
        fast_bridge(),
        fast_options(loops::Config::default()).stores(store.clone(), store.clone()),
    )
    .await
    .unwrap();
    let customers = new_customers(&stack, "dead", 2);
    win(&stack, &customers);
    settle(&stack).await;

    // Loops refused the sends (404: unknown transactional id): dead letters, with the reason
    // and the attempt, after one attempt (a 404 is not worth retrying).
    let dead = stack.bridge.outbox().dead_letters(10).await.unwrap();
    assert_eq!(dead.len(), 2, "{dead:?}");
    for item in &dead {
        let reason = item.dead_reason.as_deref().unwrap();
        assert!(reason.contains("404"), "{reason}");
        assert_eq!(item.attempts.len(), 1);
        assert_eq!(item.attempts[0].outcome, "failed");
    }
    assert!(sends_of(&stack, "cl_onboarding").is_empty());
    let listing = outbox_command(&path, &["dead"]).await.unwrap();
    assert!(listing.contains("2 dead letter(s)"), "{listing}");
    assert!(listing.contains(&dead[0].key), "{listing}");
    assert!(listing.contains("failed"), "{listing}");
    assert!(
        outbox_command(&path, &["stats"])
            .await
            .unwrap()
            .contains("dead 2")
    );

    // The cause is fixed (the email is published), and the operator replays.
    stack
        .loops
        .add_transactional_email(TransactionalTemplate::new("cl_onboarding", "Onboarding"));
    let replayed = outbox_command(&path, &["replay", "--all"]).await.unwrap();
    assert_eq!(replayed, "replayed 2 dead letter(s)\n");
    // The workers find the replayed items on their own (the CLI is another connection).
    assert!(
        eventually(WAIT, || async {
            sends_of(&stack, "cl_onboarding").len() == 2
        })
        .await,
        "the replayed sends went out"
    );
    settle(&stack).await;
    let sends = sends_of(&stack, "cl_onboarding");
    let mut emails: Vec<_> = sends.iter().map(|s| s.email.clone()).collect();
    emails.sort();
    assert_eq!(emails, ["dead0@example.com", "dead1@example.com"]);
    for item in &dead {
        let now = store.get(&item.key).await.unwrap().unwrap();
        assert_eq!(now.state.as_str(), "done");
        let outcomes: Vec<_> = now.attempts.iter().map(|a| a.outcome.as_str()).collect();
        assert_eq!(outcomes, ["failed", "done"], "the history is kept");
        // Both attempts went out with the same idempotency key.
        let keyed = stack
            .loops
            .request_log()
            .iter()
            .filter(|r| r.idempotency_key.as_deref() == Some(item.key.as_str()))
            .map(|r| r.status)
            .collect::<Vec<_>>();
        assert_eq!(keyed, [404, 200]);
    }

    // Replaying again (a done item, twice, and all dead letters) changes nothing.
    let ids: Vec<String> = dead.iter().map(|i| i.id.to_string()).collect();
    let mut args = vec!["replay"];
    args.extend(ids.iter().map(String::as_str));
    args.extend(ids.iter().map(String::as_str));
    let again = outbox_command(&path, &args).await.unwrap();
    assert!(again.starts_with("replayed 0 of 4"), "{again}");
    assert_eq!(
        outbox_command(&path, &["replay", "--all"]).await.unwrap(),
        "replayed 0 dead letter(s)\n"
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    settle(&stack).await;
    assert_eq!(sends_of(&stack, "cl_onboarding").len(), 2);
    assert_eq!(dead_letters(&stack).await, 0);
    println!(
        "observed: 2 sends dead-lettered after 1 attempt each (404); replayed with `outbox replay --all`: 2 sends, each key seen by Loops as [404, 200]; replaying again: 0 replayed, 0 more sends"
    );
    stack.stop().await;
}

/// The dead letter that is most dangerous to replay: the send had landed, only its answer was
/// lost, and the bridge gave up. The replay meets the send's own key in Loops and is done.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replaying_a_send_that_had_landed_does_not_send_twice() {
    let mut no_retries = fast_retry();
    no_retries.max_attempts = 1;
    let stack = Stack::start_with(
        welcome_rules("cl_thanks"),
        BridgeConfig::default().retry(no_retries),
        fast_options(loops::Config::default())
            .loops_client(|b| b.retry_policy(loops_client::RetryPolicy::never())),
    )
    .await
    .unwrap();
    thanks(&stack);
    let customers = new_customers(&stack, "landed", 1);
    settle(&stack).await;
    // The send is applied, then its connection is cut: the bridge cannot know it landed.
    stack.loops.faults().drop_next(1);
    win(&stack, &customers);
    settle(&stack).await;
    let dead = stack.bridge.outbox().dead_letters(10).await.unwrap();
    assert_eq!(dead.len(), 1, "{dead:?}");
    assert_eq!(sends_of(&stack, "cl_thanks").len(), 1, "it did land");

    let replayed = stack
        .bridge
        .outbox()
        .replay(&[dead[0].id], std::time::SystemTime::now())
        .await
        .unwrap();
    assert_eq!(replayed, 1);
    settle(&stack).await;
    let item = stack
        .bridge
        .outbox()
        .get(&dead[0].key)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(item.state.as_str(), "already_done", "{item:?}");
    assert_eq!(sends_of(&stack, "cl_thanks").len(), 1, "still one email");
    assert_eq!(stack.loops.idempotency_conflicts().len(), 1);
    stack.stop().await;
}

/// A dead letter from an outage that outlasted the retries gets a fresh set of attempts when
/// it is replayed: one more transient error after the replay must not kill it at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replayed_dead_letter_gets_fresh_attempts() {
    let mut three = fast_retry();
    three.max_attempts = 3;
    let stack = Stack::start_with(
        welcome_rules("cl_thanks"),
        BridgeConfig::default().retry(three),
        fast_options(loops::Config::default())
            .loops_client(|b| b.retry_policy(loops_client::RetryPolicy::never())),
    )
    .await
    .unwrap();
    thanks(&stack);
    let customers = new_customers(&stack, "outage", 1);
    settle(&stack).await;
    // Loops is down for every attempt the policy allows.
    stack
        .loops
        .faults()
        .set(FaultConfig::none().error_rate(1.0));
    win(&stack, &customers);
    settle(&stack).await;
    let dead = stack.bridge.outbox().dead_letters(10).await.unwrap();
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].attempts.len(), 3, "{:?}", dead[0].attempts);
    assert!(
        dead[0]
            .dead_reason
            .as_deref()
            .unwrap()
            .contains("gave up after 3 attempts")
    );

    // Loops is back but fails once more: the replayed item retries instead of dying again.
    stack.loops.faults().clear();
    stack.loops.faults().fail_next(1);
    stack
        .bridge
        .outbox()
        .replay(&[dead[0].id], std::time::SystemTime::now())
        .await
        .unwrap();
    settle(&stack).await;
    let item = stack
        .bridge
        .outbox()
        .get(&dead[0].key)
        .await
        .unwrap()
        .unwrap();
    let outcomes: Vec<_> = item.attempts.iter().map(|a| a.outcome.as_str()).collect();
    assert_eq!(outcomes, ["retry", "retry", "failed", "retry", "done"]);
    assert_eq!(sends_of(&stack, "cl_thanks").len(), 1);
    assert_eq!(dead_letters(&stack).await, 0);
    stack.stop().await;
}
