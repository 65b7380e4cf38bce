//! Benchmark: how fast the outbox delivers to a local SMTP listener.
//!
//!     cargo run --release -p server --example outbox_rate -- [messages] [workers]
//!
//! Queues proposals (two messages each) against a fresh database, then lets `workers`
//! delivery loops drain the queue into an SMTP listener in this process, and prints
//! messages per second. Not a test: it asserts nothing but that all messages arrived.

#[path = "../tests/common/smtp.rs"]
mod smtp;

use std::time::{Duration, Instant};

use app::changes::ssr::{propose, Proposal};
use app::changes::Reason;
use app::email::EmailAddress;
use clap::Parser;
use server::configuration::Cli;
use server::startup::Application;

type BenchResult<T> = Result<T, Box<dyn std::error::Error>>;

#[tokio::main]
async fn main() -> BenchResult<()> {
    let mut args = std::env::args().skip(1);
    let messages: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(2000);
    let workers: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(4);
    let proposals = messages.div_ceil(2);

    let sink = smtp::SmtpSink::start().await;
    let server = std::env::var("TEST_DATABASE_SERVER")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".into());
    let database_url = format!("{server}/assent_bench_outbox_{}", std::process::id());
    let smtp_url = sink.url();
    let cli = Cli::parse_from([
        "assent",
        "--database-url",
        &database_url,
        "--addr",
        "127.0.0.1:0",
        "--smtp-url",
        &smtp_url,
        "--demo-data",
        "false",
        "--outbox-poll-ms",
        "10",
        "--outbox-workers",
        &workers.to_string(),
    ]);
    let app = Application::build(&cli.config).await?;
    let state = app.state.clone();
    let pool = state.pool.clone();

    let (agent,): (i64,) = sqlx::query_as(
        "INSERT INTO admins (email, display_name, password_hash, role) VALUES ('bench@venue.example', 'Bench', 'x', 'agent') RETURNING id",
    )
    .fetch_one(&pool)
    .await?;
    for i in 0..proposals {
        let (patron,): (i64,) =
            sqlx::query_as("INSERT INTO patrons (name, email) VALUES ($1, $2) RETURNING id")
                .bind(format!("Patron {i}"))
                .bind(format!("p{i}@old.example"))
                .fetch_one(&pool)
                .await?;
        propose(
            &pool,
            &state.settings,
            agent,
            Proposal {
                patron_id: patron,
                new_email: EmailAddress::parse(&format!("p{i}@new.example"))?,
                reason: Reason::parse("Benchmark")?,
            },
        )
        .await?;
    }
    let total = proposals * 2;

    let started = Instant::now();
    let handles = app.spawn_background();
    while sink.received().len() < total {
        assert!(
            started.elapsed() < Duration::from_secs(600),
            "delivery stalled"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let elapsed = started.elapsed();
    for handle in handles {
        handle.abort();
    }
    println!(
        "outbox delivery: {total} messages, {workers} workers, {:.2} s, {:.0} messages/s",
        elapsed.as_secs_f64(),
        total as f64 / elapsed.as_secs_f64()
    );
    pool.close().await;
    let admin = sqlx::PgPool::connect(&format!("{server}/postgres")).await?;
    let name = database_url.rsplit('/').next().unwrap_or_default();
    let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
        .execute(&admin)
        .await;
    Ok(())
}
