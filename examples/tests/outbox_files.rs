//! The outbox CLI and the server never write into a file that is not an outbox.
//!
//! The CLI only works on an outbox that exists: a missing or empty file, another program's
//! SQLite database or a file that is not SQLite at all is refused with exit code 2 and a
//! message saying what the file is, and the file is left byte for byte as it was. The server
//! creates its outbox in a new or empty file, and refuses another program's database at
//! startup.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use kommo_loops_examples::config::ServerConfig;
use kommo_loops_examples::{demo, outbox_cli, server};

/// The bytes of a file and of the files SQLite may put beside it.
fn snapshot(path: &Path) -> Vec<Option<Vec<u8>>> {
    ["", "-wal", "-shm", "-journal"]
        .iter()
        .map(|suffix| std::fs::read(format!("{}{suffix}", path.display())).ok())
        .collect()
}

/// Runs `outbox <args>` with these settings; returns the exit code, stdout and stderr.
async fn cli(args: &[&str], env: &[(&str, &str)]) -> (ExitCode, String, String) {
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    let env: HashMap<String, String> = env
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let code = outbox_cli::main(&args, |k| env.get(k).cloned(), &mut out, &mut err).await;
    (
        code,
        String::from_utf8(out).unwrap(),
        String::from_utf8(err).unwrap(),
    )
}

/// Another program's SQLite database, with a table and a row.
fn foreign_database(path: &Path) {
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.execute_batch(
        "CREATE TABLE invoices (id INTEGER PRIMARY KEY, total REAL);
         INSERT INTO invoices (total) VALUES (12.5);",
    )
    .unwrap();
}

#[tokio::test]
async fn the_cli_refuses_files_that_are_not_outboxes() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.db");
    let empty = dir.path().join("empty.db");
    std::fs::write(&empty, b"").unwrap();
    let foreign = dir.path().join("invoices.db");
    foreign_database(&foreign);
    let text = dir.path().join("notes.txt");
    std::fs::write(&text, "not a database\n".repeat(100)).unwrap();

    let cases: [(&PathBuf, &str); 4] = [
        (&missing, "there is no outbox at"),
        (&empty, "is empty, not an outbox"),
        (
            &foreign,
            "is not an outbox: it is an SQLite database the bridge did not create (tables: invoices)",
        ),
        (&text, "is not an outbox: it is not an SQLite database"),
    ];
    for (path, expected) in cases {
        let before = snapshot(path);
        for command in [&["stats"][..], &["dead"], &["replay", "--all"]] {
            let (code, out, err) = cli(command, &[("OUTBOX_PATH", path.to_str().unwrap())]).await;
            assert_eq!(
                code,
                ExitCode::from(2),
                "{command:?} on {}: {out}{err}",
                path.display()
            );
            assert!(err.starts_with("outbox: "), "{err}");
            assert!(err.contains(expected), "{err} should say {expected:?}");
            assert!(out.is_empty(), "{out}");
            assert_eq!(
                snapshot(path),
                before,
                "{command:?} changed {}",
                path.display()
            );
        }
    }
    let (code, _, err) = cli(&["stats"], &[("OUTBOX", "memory")]).await;
    assert_eq!(code, ExitCode::from(2));
    assert!(err.contains("lives only inside the server"), "{err}");

    // The server's outbox, once it exists, is what the CLI works on.
    let outbox = dir.path().join("outbox.db");
    drop(
        kommo_loops_bridge::runtime::SqliteOutbox::open(&outbox)
            .await
            .unwrap(),
    );
    let (code, out, err) = cli(&["stats"], &[("OUTBOX_PATH", outbox.to_str().unwrap())]).await;
    assert_eq!(code, ExitCode::SUCCESS, "{err}");
    assert!(out.contains("pending 0"), "{out}");
    let (code, out, _) = cli(&[], &[]).await;
    assert_eq!(code, ExitCode::SUCCESS);
    assert_eq!(out.trim_end(), outbox_cli::USAGE);
}

fn server_settings(outbox: &Path) -> ServerConfig {
    let rules = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .join(demo::RULES);
    let env: HashMap<&str, String> = [
        ("RULES_FILE", rules.display().to_string()),
        ("KOMMO_BASE_URL", "https://acme.kommo.com".into()),
        ("KOMMO_TOKEN", "kommo-token".into()),
        ("KOMMO_WEBHOOK_TOKEN", "0123456789abcdef0123".into()),
        ("LOOPS_API_KEY", "loops-key".into()),
        ("OUTBOX_PATH", outbox.display().to_string()),
        ("BIND_ADDR", "127.0.0.1:0".into()),
    ]
    .into_iter()
    .collect();
    ServerConfig::from_env(|k| env.get(k).cloned()).unwrap()
}

#[tokio::test]
async fn the_server_refuses_another_programs_database_at_startup() {
    let dir = tempfile::tempdir().unwrap();
    let foreign = dir.path().join("invoices.db");
    foreign_database(&foreign);
    let before = snapshot(&foreign);
    let mut listened = false;
    let result = server::run(&server_settings(&foreign), |_| listened = true, async {}).await;
    let error = result.unwrap_err();
    assert!(
        error.contains("is not an outbox: it is an SQLite database the bridge did not create"),
        "{error}"
    );
    assert!(!listened, "the server listened on a foreign database");
    assert_eq!(snapshot(&foreign), before);

    // An empty file is where a new outbox goes.
    let empty = dir.path().join("empty.db");
    std::fs::write(&empty, b"").unwrap();
    let mut listened = false;
    server::run(&server_settings(&empty), |_| listened = true, async {})
        .await
        .unwrap();
    assert!(listened);
    let (code, out, err) = cli(&["stats"], &[("OUTBOX_PATH", empty.to_str().unwrap())]).await;
    assert_eq!(code, ExitCode::SUCCESS, "{err}");
    assert!(out.contains("dead 0"), "{out}");
}
