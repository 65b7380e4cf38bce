//! `spawn_app()`: the real server on a random port, against a fresh PostgreSQL database
//! and a real SMTP listener in this process.
#![allow(dead_code)]

pub mod smtp;

use clap::Parser;
use rand::Rng;
use sqlx::PgPool;
use std::time::Duration;
use tokio::task::JoinHandle;

use app::mail::outbox::{deliver_next, StepOutcome};
use app::state::AppState;
use server::configuration::Cli;
use server::startup::Application;
use smtp::SmtpSink;

pub fn server_url() -> String {
    std::env::var("TEST_DATABASE_SERVER")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".to_string())
}

pub fn fresh_database_url() -> String {
    let suffix: u64 = rand::thread_rng().gen();
    format!("{}/assent_test_{suffix:016x}", server_url())
}

pub struct TestApp {
    pub base_url: String,
    pub pool: PgPool,
    pub state: AppState,
    pub smtp: SmtpSink,
    pub database_url: String,
    pub http: reqwest::Client,
    background: Vec<JoinHandle<()>>,
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(&[]).await
}

pub async fn spawn_app_with(extra: &[&str]) -> TestApp {
    if std::env::var_os("RUST_LOG").is_some() {
        server::telemetry::init();
    }
    let smtp = SmtpSink::start().await;
    // A test may bring its own database URL (through a relay, say).
    let database_url = extra
        .iter()
        .position(|a| *a == "--database-url")
        .and_then(|i| extra.get(i + 1))
        .map(|url| url.to_string())
        .unwrap_or_else(fresh_database_url);
    let extra: Vec<&str> = match extra.iter().position(|a| *a == "--database-url") {
        Some(i) => extra
            .iter()
            .enumerate()
            .filter(|(j, _)| *j != i && *j != i + 1)
            .map(|(_, a)| *a)
            .collect(),
        None => extra.to_vec(),
    };
    let mut args = vec![
        "assent".to_string(),
        "--database-url".into(),
        database_url.clone(),
        "--addr".into(),
        "127.0.0.1:0".into(),
        "--smtp-url".into(),
        smtp.url(),
        "--demo-data".into(),
        "false".into(),
        "--outbox-backoff-ms".into(),
        "20".into(),
        "--outbox-backoff-max-ms".into(),
        "200".into(),
        "--outbox-poll-ms".into(),
        "20".into(),
        "--outbox-max-attempts".into(),
        "1000".into(),
    ];
    args.extend(extra.iter().map(|s| s.to_string()));
    let cli = Cli::parse_from(args);
    let application = Application::build(&cli.config)
        .await
        .expect("the app builds");
    let state = application.state.clone();
    tokio::spawn(application.serve());
    TestApp {
        base_url: state.settings.public_url.clone(),
        pool: state.pool.clone(),
        state,
        smtp,
        database_url,
        http: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap(),
        background: Vec::new(),
    }
}

impl TestApp {
    /// Delivers every due message, as one worker would.
    pub async fn deliver_all(&self) -> usize {
        let mut sent = 0;
        loop {
            match deliver_next(&self.pool, &self.state.mailer, &self.state.settings)
                .await
                .unwrap()
            {
                StepOutcome::EmptyQueue => return sent,
                StepOutcome::Sent => sent += 1,
                _ => {}
            }
        }
    }

    pub fn start_workers(&mut self, count: usize) {
        for _ in 0..count {
            self.background
                .push(tokio::spawn(app::mail::outbox::run_worker(
                    self.pool.clone(),
                    self.state.mailer.clone(),
                    self.state.settings.clone(),
                )));
        }
    }

    /// Closes the pool, so a test that spawns many apps stays under the server's limit.
    pub async fn shutdown(mut self) {
        self.stop_workers();
        self.pool.close().await;
    }

    pub fn stop_workers(&mut self) {
        for handle in self.background.drain(..) {
            handle.abort();
        }
    }

    /// Waits until no message is queued, or panics after `limit`.
    pub async fn wait_for_empty_outbox(&self, limit: Duration) {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let (queued,): (i64,) =
                sqlx::query_as("SELECT count(*) FROM messages WHERE status = 'queued'")
                    .fetch_one(&self.pool)
                    .await
                    .unwrap();
            if queued == 0 {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{queued} messages still queued"
            );
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    pub async fn add_admin(&self, email: &str, role: &str) -> i64 {
        let (id,): (i64,) = sqlx::query_as(
            "INSERT INTO admins (email, display_name, password_hash, role) VALUES ($1, $2, 'x', $3) RETURNING id",
        )
        .bind(email)
        .bind(format!("Admin {role}"))
        .bind(role)
        .fetch_one(&self.pool)
        .await
        .unwrap();
        id
    }

    pub async fn add_patron(&self, name: &str, email: &str, locale: &str) -> i64 {
        let (id,): (i64,) = sqlx::query_as(
            "INSERT INTO patrons (name, email, locale) VALUES ($1, $2, $3) RETURNING id",
        )
        .bind(name)
        .bind(email)
        .bind(locale)
        .fetch_one(&self.pool)
        .await
        .unwrap();
        id
    }

    /// An agent's proposal, straight through the domain operation; the request's id.
    pub async fn propose(&self, agent: i64, patron: i64, new_email: &str, reason: &str) -> i64 {
        app::changes::ssr::propose(
            &self.pool,
            &self.state.settings,
            agent,
            app::changes::ssr::Proposal {
                patron_id: patron,
                new_email: app::email::EmailAddress::parse(new_email).unwrap(),
                reason: app::changes::Reason::parse(reason).unwrap(),
            },
        )
        .await
        .unwrap()
    }

    pub async fn patron_email(&self, patron_id: i64) -> String {
        let (email,): (String,) = sqlx::query_as("SELECT email FROM patrons WHERE id = $1")
            .bind(patron_id)
            .fetch_one(&self.pool)
            .await
            .unwrap();
        email
    }

    pub async fn request_status(&self, request_id: i64) -> String {
        let (status,): (String,) =
            sqlx::query_as("SELECT status FROM change_requests WHERE id = $1")
                .bind(request_id)
                .fetch_one(&self.pool)
                .await
                .unwrap();
        status
    }

    pub async fn audit_kinds(&self, request_id: i64) -> Vec<String> {
        sqlx::query_as::<_, (String,)>(
            "SELECT kind FROM audit_events WHERE request_id = $1 ORDER BY id",
        )
        .bind(request_id)
        .fetch_all(&self.pool)
        .await
        .unwrap()
        .into_iter()
        .map(|(k,)| k)
        .collect()
    }

    pub fn link(&self, token: &str) -> String {
        format!("{}/c/{}", self.base_url, token)
    }

    /// Posts the patron's choice as the page's form does, from our own origin.
    pub async fn post_choice(&self, token: &str, action: &str) -> reqwest::Response {
        self.http
            .post(self.link(token))
            .header("origin", &self.base_url)
            .header("sec-fetch-site", "same-origin")
            .form(&[("action", action), ("lang", "en")])
            .send()
            .await
            .unwrap()
    }

    pub async fn page(&self, token: &str) -> (u16, String) {
        let response = self.http.get(self.link(token)).send().await.unwrap();
        (response.status().as_u16(), response.text().await.unwrap())
    }
}
