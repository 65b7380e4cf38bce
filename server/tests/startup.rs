//! Start-up and operations: health checks, and the clear one-line errors an operator gets
//! when the database or the port is wrong.

mod common;

use std::process::{Command, Stdio};
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};

fn assent(args: &[&str], env: &[(&str, &str)]) -> (bool, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_assent"))
        .args(args)
        .envs(env.iter().copied())
        .env_remove("SMTP_URL")
        .env("RUST_LOG", "off")
        .env(
            "MAILBOX_DIR",
            std::env::temp_dir().join("assent-test-mailbox"),
        )
        .stdin(Stdio::null())
        .output()
        .expect("the binary runs");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stderr).to_string(),
    )
}

fn assert_one_clear_line(stderr: &str, expected: &str) {
    assert!(
        stderr.contains(expected),
        "expected {expected:?} in {stderr:?}"
    );
    assert!(!stderr.contains("panicked"), "no panic: {stderr}");
    assert!(!stderr.contains("backtrace"), "no backtrace: {stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "one line: {stderr}");
}

#[test]
fn a_malformed_database_url_is_named() {
    let (ok, stderr) = assent(&["migrate"], &[("DATABASE_URL", "mysql://nope")]);
    assert!(!ok);
    assert_one_clear_line(&stderr, "DATABASE_URL is not a valid PostgreSQL URL");
    let (ok, stderr) = assent(
        &["serve", "--addr", "127.0.0.1:0"],
        &[("DATABASE_URL", "postgres://[::1")],
    );
    assert!(!ok);
    assert_one_clear_line(&stderr, "Set DATABASE_URL");
}

#[test]
fn an_unreachable_database_is_named() {
    let (ok, stderr) = assent(
        &["serve", "--addr", "127.0.0.1:0"],
        &[("DATABASE_URL", "postgres://postgres@127.0.0.1:1/assent")],
    );
    assert!(!ok);
    assert_one_clear_line(&stderr, "cannot reach PostgreSQL at 127.0.0.1:1");
}

#[tokio::test]
async fn a_taken_port_is_named() {
    let taken = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let url = common::fresh_database_url();
    let (ok, stderr) = assent(&["serve", "--addr", &addr], &[("DATABASE_URL", &url)]);
    assert!(!ok);
    assert_one_clear_line(&stderr, "already in use");
    assert!(stderr.contains("ASSENT_ADDR"));
}

#[test]
fn help_lists_the_subcommands() {
    let output = Command::new(env!("CARGO_BIN_EXE_assent"))
        .arg("--help")
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&output.stdout);
    for sub in ["serve", "migrate", "create-admin"] {
        assert!(help.contains(sub), "{help}");
    }
}

#[test]
fn create_admin_stores_only_an_argon2id_hash() {
    let url = common::fresh_database_url();
    let mut child = Command::new(env!("CARGO_BIN_EXE_assent"))
        .args([
            "create-admin",
            "--email",
            "Boss@Venue.example",
            "--name",
            "Boss",
            "--role",
            "manager",
            "--password-stdin",
        ])
        .env("DATABASE_URL", &url)
        .env("RUST_LOG", "off")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"a long enough secret\n")
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );

    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (email, hash, role): (String, String, String) = runtime.block_on(async {
        let pool = sqlx::PgPool::connect(&url).await.unwrap();
        sqlx::query_as("SELECT email, password_hash, role FROM admins")
            .fetch_one(&pool)
            .await
            .unwrap()
    });
    assert_eq!(email, "Boss@venue.example");
    assert_eq!(role, "manager");
    assert!(hash.starts_with("$argon2id$"));
    assert!(!hash.contains("a long enough secret"));

    // A short password is refused, and nothing is written.
    let mut child = Command::new(env!("CARGO_BIN_EXE_assent"))
        .args([
            "create-admin",
            "--email",
            "x@venue.example",
            "--name",
            "X",
            "--password-stdin",
        ])
        .env("DATABASE_URL", &url)
        .env("RUST_LOG", "off")
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(b"short\n").unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(!output.status.success());
    assert_one_clear_line(
        &String::from_utf8_lossy(&output.stderr),
        "at least 12 characters",
    );
}

/// A TCP relay to PostgreSQL that the test can cut, to stage a database outage.
async fn relay_to_postgres() -> (String, tokio::sync::watch::Sender<bool>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let (cut, mut is_cut) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        loop {
            let (mut inbound, _) = tokio::select! {
                accepted = listener.accept() => accepted.unwrap(),
                _ = is_cut.changed() => return,
            };
            let mut watch = is_cut.clone();
            tokio::spawn(async move {
                let Ok(mut outbound) = TcpStream::connect("127.0.0.1:5432").await else {
                    return;
                };
                tokio::select! {
                    _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
                    _ = watch.changed() => {
                        let _ = inbound.shutdown().await;
                    }
                }
            });
        }
    });
    let database = common::fresh_database_url();
    let name = database.rsplit('/').next().unwrap().to_string();
    (format!("postgres://postgres@127.0.0.1:{port}/{name}"), cut)
}

#[tokio::test]
async fn health_and_readiness_follow_the_database() {
    let (database_url, cut) = relay_to_postgres().await;
    let app = common::spawn_app_with(&["--database-url", &database_url]).await;
    let http = reqwest::Client::new();
    let get = |path: &'static str| {
        let http = http.clone();
        let url = format!("{}{path}", app.base_url);
        async move { http.get(url).send().await.unwrap().status().as_u16() }
    };
    assert_eq!(get("/healthz").await, 200);
    assert_eq!(get("/readyz").await, 200);

    cut.send(true).unwrap();
    let started = tokio::time::Instant::now();
    let mut status = 200;
    while started.elapsed() < Duration::from_secs(5) {
        status = get("/readyz").await;
        if status == 503 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(status, 503, "readiness reports the outage within seconds");
    assert_eq!(get("/healthz").await, 200, "the process itself is still up");
}

#[tokio::test]
async fn the_home_page_is_served() {
    let app = common::spawn_app().await;
    let body = reqwest::get(format!("{}/", app.base_url))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(body.contains("Staff cannot silently change"));
}

#[tokio::test]
async fn propose_from_the_command_line_queues_the_same_messages() {
    let app = common::spawn_app().await;
    app.add_admin("agent@venue.example", "agent").await;
    let patron = app.add_patron("Ana García", "ana@old.example", "en").await;
    // `assent propose` for Ana, as `admin`, to `new_email`.
    let run = |admin: &str, new_email: &str| {
        let output = Command::new(env!("CARGO_BIN_EXE_assent"))
            .arg("propose")
            .args(["--admin", admin, "--patron", "ana@old.example"])
            .args(["--new-email", new_email, "--reason", "Phoned"])
            .env("DATABASE_URL", &app.database_url)
            .env("RUST_LOG", "off")
            .stdin(Stdio::null())
            .output()
            .unwrap();
        (
            output.status.success(),
            String::from_utf8_lossy(&output.stderr).to_string(),
        )
    };
    let (ok, stderr) = run("nobody@venue.example", "ana@new.example");
    assert!(!ok);
    assert_one_clear_line(&stderr, "no active admin has that email");
    let (ok, stderr) = run(
        "agent@venue.example",
        "ana@new.example\r\nBcc: x@evil.example",
    );
    assert!(!ok);
    assert_one_clear_line(&stderr, "line breaks");
    let (ok, stderr) = run("agent@venue.example", "ana@new.example");
    assert!(ok, "{stderr}");

    assert_eq!(
        app.patron_email(patron).await,
        "ana@old.example",
        "nothing changes yet"
    );
    app.deliver_all().await;
    assert_eq!(
        app.smtp.recipients(),
        ["ana@new.example", "ana@old.example"]
    );
}
