//! The benchmark and the fault drills: what Assent promises, measured in one run.
//!
//!     ./scripts/bench            # builds the release binary and bundle, then runs this
//!     cargo run --release -p server --example bench -- --help
//!
//! It seeds a fresh database, starts two release `assent` processes on one database with
//! an SMTP listener in this process, and measures through the same HTTP endpoints the
//! dashboard and the patron pages use. Every figure lands in `bench-results/report.md`
//! and `bench-results/report.json`. It asserts nothing about speed: the drills report
//! pass or fail, the figures are for reading against the targets.

#[path = "../../tests/common/smtp.rs"]
mod smtp;

mod bundle;
mod client;
mod drills;
mod load;
mod report;
mod seed;
mod servers;

use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;

use report::Report;

pub type BenchResult<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

#[derive(Debug, Clone, Parser)]
#[command(about = "Assent's benchmark and fault drills; writes bench-results/report.{md,json}")]
pub struct Options {
    /// Patrons to seed.
    #[arg(long, default_value_t = 1_000_000)]
    pub patrons: usize,
    /// Concurrent HTTP clients for proposals and decisions.
    #[arg(long, default_value_t = 32)]
    pub clients: usize,
    /// Proposals, and then decisions, in each of the app and raw-SQL runs.
    #[arg(long, default_value_t = 2000)]
    pub changes: usize,
    /// Searches timed per kind (name, email).
    #[arg(long, default_value_t = 300)]
    pub searches: usize,
    /// Decisions timed for the live-update latency.
    #[arg(long, default_value_t = 200)]
    pub live_samples: usize,
    /// Outbox workers in each server instance.
    #[arg(long, default_value_t = 4)]
    pub outbox_workers: usize,
    /// How long SMTP stays down in its drill.
    #[arg(long, default_value_t = 30)]
    pub smtp_outage_secs: u64,
    /// Skip the fault drills.
    #[arg(long)]
    pub skip_drills: bool,
    /// The release server binary.
    #[arg(long, default_value = "target/release/assent")]
    pub binary: PathBuf,
    /// The site root with the release bundle (`cargo leptos build --release`).
    #[arg(long, default_value = "target/site")]
    pub site_root: PathBuf,
    /// Where the report goes.
    #[arg(long, default_value = "bench-results")]
    pub out: PathBuf,
    /// The PostgreSQL server, without a database name.
    #[arg(
        long,
        env = "TEST_DATABASE_SERVER",
        default_value = "postgres://postgres@127.0.0.1:5432"
    )]
    pub database_server: String,
    /// The database this run creates, dropping any earlier one of the same name.
    #[arg(long, default_value = "assent_bench")]
    pub database: String,
    /// First of the two ports the server instances listen on.
    #[arg(long, default_value_t = 3300)]
    pub port: u16,
}

impl Options {
    pub fn database_url(&self) -> String {
        format!("{}/{}", self.database_server, self.database)
    }
}

#[tokio::main]
async fn main() {
    let options = Options::parse();
    if let Err(error) = run(&options).await {
        eprintln!("bench failed: {error}");
        std::process::exit(1);
    }
}

async fn run(options: &Options) -> BenchResult<()> {
    let mut report = Report::new(options).await?;
    let pool = seed::fresh_database(options).await?;
    report.machine(&pool).await?;

    report.section("Seeding");
    seed::patrons(&pool, options, &mut report).await?;
    let admins = seed::admins(&pool).await?;

    let sink = smtp::SmtpSink::start().await;
    let mut cluster = servers::Cluster::start(options, &sink.url()).await?;
    tokio::time::sleep(Duration::from_secs(3)).await;
    report.section("Server memory");
    memory(
        &mut report,
        &cluster,
        "rss_idle",
        "RSS idle",
        servers::Server::rss_mib,
    );

    report.section("Patron search");
    load::search(&cluster, options, &mut report).await?;

    report.section("Proposals and decisions");
    let ctx = load::Context::new(options, &sink, &pool, &admins).await?;
    load::changes(&ctx, &cluster, &mut report).await?;
    report.section("Server memory at peak");
    memory(
        &mut report,
        &cluster,
        "rss_peak",
        "Peak RSS (VmHWM) after the load",
        servers::Server::peak_rss_mib,
    );

    report.section("Live updates");
    load::live(&ctx, &cluster, &mut report).await?;

    report.section("Release bundle");
    bundle::measure(options, &cluster, &mut report).await?;

    if !options.skip_drills {
        report.section("Fault drills");
        drills::run_all(&ctx, &mut cluster, &mut report).await?;
    }
    cluster.stop();
    report.write(&options.out)?;
    println!(
        "\nreport: {}/report.md and {}/report.json",
        options.out.display(),
        options.out.display()
    );
    Ok(())
}

fn memory(
    report: &mut Report,
    cluster: &servers::Cluster,
    key: &str,
    label: &str,
    read: fn(&servers::Server) -> f64,
) {
    for (i, server) in cluster.servers.iter().enumerate() {
        report.figure(
            &format!("{key}_mib_instance_{}", i + 1),
            read(server),
            "MiB",
            &format!("{label}, instance {}", i + 1),
        );
    }
}
