//! The measured load: patron search, proposals and decisions through HTTP and straight
//! against PostgreSQL, outbox delivery, and live-update latency.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use app::changes::ssr::{act_on_link, propose, DecisionContext, Proposal};
use app::changes::token::LinkToken;
use app::changes::{LinkAction, Reason};
use app::email::EmailAddress;
use app::settings::Settings;
use clap::Parser as _;
use sqlx::PgPool;
use tokio::sync::mpsc;

use crate::client::{browser, decide, AdminClient};
use crate::report::Report;
use crate::seed::{self, Admins};
use crate::servers::Cluster;
use crate::smtp::SmtpSink;
use crate::{BenchResult, Options};

/// What every phase shares: the database, the SMTP sink, and the next unused patron.
pub struct Context {
    pub options: Options,
    pub pool: PgPool,
    pub sink: SmtpSink,
    pub settings: Arc<Settings>,
    pub agent: i64,
    next_patron: AtomicUsize,
}

impl Context {
    pub async fn new(
        options: &Options,
        sink: &SmtpSink,
        pool: &PgPool,
        admins: &Admins,
    ) -> BenchResult<Self> {
        let cli = server::configuration::Cli::parse_from([
            "assent",
            "--database-url",
            &options.database_url(),
            "--public-url",
            &format!("http://127.0.0.1:{}", options.port),
            "--smtp-url",
            &sink.url(),
        ]);
        Ok(Context {
            options: options.clone(),
            pool: pool.clone(),
            sink: sink.clone(),
            settings: cli.config.settings()?,
            agent: admins.agent,
            next_patron: AtomicUsize::new(1),
        })
    }

    /// Patron ids no earlier phase has touched (the seed's ids run from 1), as many as
    /// are left up to `count`.
    pub fn patrons(&self, count: usize) -> BenchResult<Vec<i64>> {
        let first = self.next_patron.fetch_add(count, Ordering::SeqCst);
        let end = (first + count).min(self.options.patrons + 1);
        if end <= first {
            return Err("every seeded patron has been used; raise --patrons".into());
        }
        Ok((first..end).map(|id| id as i64).collect())
    }

    /// Waits until the outbox has nothing left to send, or `limit` passes.
    pub async fn drain_outbox(&self, limit: Duration) -> BenchResult<Duration> {
        let started = Instant::now();
        loop {
            let (queued,): (i64,) =
                sqlx::query_as("SELECT count(*) FROM messages WHERE status = 'queued'")
                    .fetch_one(&self.pool)
                    .await?;
            if queued == 0 {
                return Ok(started.elapsed());
            }
            if started.elapsed() > limit {
                return Err(format!("{queued} messages still queued after {limit:?}").into());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The decision token in the newest message to each address.
    fn tokens_for(&self, addresses: &[String]) -> HashMap<String, String> {
        let wanted: std::collections::HashSet<&str> =
            addresses.iter().map(String::as_str).collect();
        let mut tokens = HashMap::new();
        for message in self.sink.received() {
            let to = message.to();
            if wanted.contains(to.as_str()) {
                if let Some(token) = message.link_token() {
                    tokens.insert(to, token);
                }
            }
        }
        tokens
    }

    /// Proposes a change for each patron straight through the domain function, delivers
    /// the messages, and returns each patron's decision token.
    pub async fn pending_with_links(
        &self,
        tag: &str,
        patrons: &[i64],
    ) -> BenchResult<Vec<(i64, String)>> {
        let mut addresses = Vec::new();
        for &patron_id in patrons {
            let address = format!("{tag}{patron_id}@new.bench.example");
            propose(
                &self.pool,
                &self.settings,
                self.agent,
                Proposal {
                    patron_id,
                    new_email: EmailAddress::parse(&address)?,
                    reason: Reason::parse("Benchmark")?,
                },
            )
            .await?;
            addresses.push(address);
        }
        self.drain_outbox(Duration::from_secs(300)).await?;
        self.links_for(tag, patrons)
    }

    /// Each patron's decision token, from the message to `{tag}{patron}@new.bench.example`.
    pub fn links_for(&self, tag: &str, patrons: &[i64]) -> BenchResult<Vec<(i64, String)>> {
        let addresses: Vec<String> = patrons
            .iter()
            .map(|p| format!("{tag}{p}@new.bench.example"))
            .collect();
        let tokens = self.tokens_for(&addresses);
        patrons
            .iter()
            .zip(&addresses)
            .map(|(&id, address)| {
                tokens
                    .get(address)
                    .map(|t| (id, t.clone()))
                    .ok_or_else(|| format!("no link reached {address}").into())
            })
            .collect()
    }
}

/// A small deterministic generator, so every run searches for the same things.
pub struct Lcg(u64);

impl Lcg {
    pub fn new(seed: u64) -> Self {
        Lcg(seed)
    }
    pub fn below(&mut self, n: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((self.0 >> 33) as usize) % n.max(1)
    }
}

pub async fn search(cluster: &Cluster, options: &Options, report: &mut Report) -> BenchResult<()> {
    let client =
        AdminClient::sign_in(&cluster.servers[0].base_url, seed::MANAGER, seed::PASSWORD).await?;
    let mut random = Lcg::new(7);
    // Each kind mixes a rare term (a whole name or address: a few rows) with a common one
    // (a fragment that matches thousands), as people type both.
    let name_query = |random: &mut Lcg, i: usize| {
        let (name, _, _) = seed::patron(random.below(options.patrons));
        if i.is_multiple_of(2) {
            name
        } else {
            let last = name.split(' ').nth(1).unwrap_or("garc");
            last.chars().take(4).collect()
        }
    };
    let email_query = |random: &mut Lcg, i: usize| {
        let (_, email, _) = seed::patron(random.below(options.patrons));
        if i.is_multiple_of(2) {
            email
        } else {
            email
                .split('@')
                .next()
                .unwrap_or("ana")
                .chars()
                .take(8)
                .collect()
        }
    };
    let mut run = |kind: &'static str| {
        let queries: Vec<String> = (0..options.searches + 20)
            .map(|i| {
                if kind == "name" {
                    name_query(&mut random, i)
                } else {
                    email_query(&mut random, i)
                }
            })
            .collect();
        let client = client.clone();
        async move {
            let mut samples = Vec::new();
            let mut rows = 0usize;
            for (i, query) in queries.iter().enumerate() {
                let (status, body, took) = client
                    .call("search_patrons", &[("query", query.as_str())])
                    .await?;
                if status != 200 {
                    return Err(format!("search for {query:?}: {status} {body}").into());
                }
                if i >= 20 {
                    samples.push(took);
                    rows += body.matches("\"id\":").count();
                }
            }
            BenchResult::Ok((samples, rows))
        }
    };
    let (mut names, name_rows) = run("name").await?;
    let (mut emails, email_rows) = run("email").await?;
    report.latencies(
        "search_name_ms",
        "Search by name (server function, HTTP, half whole names, half 4-letter fragments)",
        &mut names,
    );
    report.latencies(
        "search_email_ms",
        "Search by email (whole addresses and 8-character prefixes)",
        &mut emails,
    );
    report.figure(
        "search_rows_returned",
        (name_rows + email_rows) as u64,
        "rows",
        "Rows returned over all timed searches (first page each)",
    );
    Ok(())
}

struct Phase {
    samples: Vec<Duration>,
    elapsed: Duration,
    errors: usize,
}

impl Phase {
    fn throughput(&self) -> f64 {
        self.samples.len() as f64 / self.elapsed.as_secs_f64()
    }
}

/// Runs `work` for each item with `clients` concurrent workers.
async fn concurrently<T, F, Fut>(items: Vec<T>, clients: usize, work: F) -> Phase
where
    T: Send + Sync + 'static,
    F: Fn(usize, Arc<T>) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = BenchResult<Duration>> + Send,
{
    let items: Arc<Vec<Arc<T>>> = Arc::new(items.into_iter().map(Arc::new).collect());
    let next = Arc::new(AtomicUsize::new(0));
    let work = Arc::new(work);
    let started = Instant::now();
    let mut handles = Vec::new();
    for worker in 0..clients {
        let (items, next, work) = (items.clone(), next.clone(), work.clone());
        handles.push(tokio::spawn(async move {
            let mut samples = Vec::new();
            let mut errors = 0;
            loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                let Some(item) = items.get(i) else { break };
                match work(worker, item.clone()).await {
                    Ok(took) => samples.push(took),
                    Err(error) => {
                        errors += 1;
                        if errors <= 3 {
                            eprintln!("  error: {error}");
                        }
                    }
                }
            }
            (samples, errors)
        }));
    }
    let mut phase = Phase {
        samples: Vec::new(),
        elapsed: Duration::ZERO,
        errors: 0,
    };
    for handle in handles {
        if let Ok((samples, errors)) = handle.await {
            phase.samples.extend(samples);
            phase.errors += errors;
        }
    }
    phase.elapsed = started.elapsed();
    phase
}

fn record(report: &mut Report, key: &str, label: &str, mut phase: Phase) -> f64 {
    let throughput = phase.throughput();
    report.figure(
        &format!("{key}_per_second"),
        throughput,
        "/s",
        &format!("{label}: throughput"),
    );
    report.latencies(
        &format!("{key}_ms"),
        &format!("{label}: latency"),
        &mut phase.samples,
    );
    if phase.errors > 0 {
        report.figure(
            &format!("{key}_errors"),
            phase.errors as u64,
            "",
            &format!("{label}: errors"),
        );
    }
    throughput
}

/// Signs in one agent client per worker, spread over the instances.
async fn agents(cluster: &Cluster, clients: usize) -> BenchResult<Vec<AdminClient>> {
    let mut signed_in = Vec::new();
    for i in 0..clients {
        let base = &cluster.servers[i % cluster.servers.len()].base_url;
        signed_in.push(AdminClient::sign_in(base, seed::AGENT, seed::PASSWORD).await?);
    }
    Ok(signed_in)
}

pub async fn changes(ctx: &Context, cluster: &Cluster, report: &mut Report) -> BenchResult<()> {
    let clients = ctx.options.clients;
    let n = ctx.options.changes;
    report.note(&format!(
        "{clients} concurrent clients on loopback, spread over both instances; {n} proposals, then {n} approvals. \
         The raw-SQL run calls the same domain functions (`propose`, `act_on_link`), so it sends the same SQL \
         statements on a pool of its own, without HTTP, sessions, the role check or the origin check."
    ));

    // Through HTTP, as the dashboard and the patron's browser do.
    let patrons = ctx.patrons(n)?;
    let agents = Arc::new(agents(cluster, clients).await?);
    let proposals = concurrently(patrons.clone(), clients, move |worker, patron: Arc<i64>| {
        let agent = agents[worker].clone();
        async move {
            let id = patron.to_string();
            let email = format!("app{patron}@new.bench.example");
            let (status, body, took) = agent
                .call(
                    "propose_change",
                    &[
                        ("patron_id", &id),
                        ("new_email", &email),
                        ("reason", "Benchmark"),
                    ],
                )
                .await?;
            if status != 200 {
                return Err(format!("propose: {status} {body}").into());
            }
            Ok(took)
        }
    })
    .await;
    let app_proposals = record(report, "app_proposals", "Proposals via HTTP", proposals);

    // The outbox drains into the SMTP listener while the proposals arrive; its rate is
    // the messages over the span between the first and the last delivery.
    ctx.drain_outbox(Duration::from_secs(600)).await?;
    let (count, span): (i64, Option<f64>) = sqlx::query_as(
        "SELECT count(*), extract(epoch FROM max(sent_at) - min(sent_at))::float8
         FROM messages WHERE status = 'sent' AND patron_id = ANY($1)",
    )
    .bind(&patrons)
    .fetch_one(&ctx.pool)
    .await?;
    let workers = ctx.options.outbox_workers * cluster.servers.len();
    report.figure(
        "outbox_messages_per_second",
        count as f64 / span.unwrap_or(1.0).max(0.001),
        "messages/s",
        &format!("Outbox delivery to the local SMTP listener ({count} messages, {workers} workers over 2 instances)"),
    );

    let links: Vec<String> = ctx
        .links_for("app", &patrons)?
        .into_iter()
        .map(|l| l.1)
        .collect();
    let bases: Arc<Vec<String>> =
        Arc::new(cluster.servers.iter().map(|s| s.base_url.clone()).collect());
    let http = browser()?;
    let decisions = concurrently(links, clients, move |worker, token: Arc<String>| {
        let (http, bases) = (http.clone(), bases.clone());
        async move {
            let base = &bases[worker % bases.len()];
            let (status, took) = decide(&http, base, &token, "approve").await?;
            if status != 303 {
                return Err(format!("decision answered {status}").into());
            }
            Ok(took)
        }
    })
    .await;
    let app_decisions = record(
        report,
        "app_decisions",
        "Approvals via HTTP (patron page POST)",
        decisions,
    );
    let (approved,): (i64,) = sqlx::query_as(
        "SELECT count(*) FROM change_requests WHERE status = 'approved' AND patron_id = ANY($1)",
    )
    .bind(&patrons)
    .fetch_one(&ctx.pool)
    .await?;
    report.figure(
        "app_decisions_applied",
        approved,
        "requests",
        "Requests approved after the HTTP run",
    );
    ctx.drain_outbox(Duration::from_secs(600)).await?;

    // The same statements, straight against PostgreSQL.
    let patrons = ctx.patrons(n)?;
    let settings = ctx.settings.clone();
    let (pool, agent) = (ctx.pool.clone(), ctx.agent);
    let proposals = concurrently(patrons.clone(), clients, move |_, patron: Arc<i64>| {
        let (pool, settings) = (pool.clone(), settings.clone());
        async move {
            let started = Instant::now();
            propose(
                &pool,
                &settings,
                agent,
                Proposal {
                    patron_id: *patron,
                    new_email: EmailAddress::parse(&format!("raw{patron}@new.bench.example"))?,
                    reason: Reason::parse("Benchmark")?,
                },
            )
            .await?;
            Ok(started.elapsed())
        }
    })
    .await;
    let raw_proposals = record(report, "raw_proposals", "Proposals, raw SQL", proposals);
    ctx.drain_outbox(Duration::from_secs(600)).await?;
    let links: Vec<String> = ctx
        .links_for("raw", &patrons)?
        .into_iter()
        .map(|l| l.1)
        .collect();
    let settings = ctx.settings.clone();
    let pool = ctx.pool.clone();
    let decisions = concurrently(links, clients, move |_, token: Arc<String>| {
        let (pool, settings) = (pool.clone(), settings.clone());
        async move {
            let started = Instant::now();
            let token = LinkToken::parse(&token).ok_or("a malformed token")?;
            act_on_link(
                &pool,
                &settings,
                &token,
                LinkAction::Approve,
                &DecisionContext::default(),
            )
            .await?;
            Ok(started.elapsed())
        }
    })
    .await;
    let raw_decisions = record(report, "raw_decisions", "Approvals, raw SQL", decisions);
    report.figure(
        "ratio_decisions_app_to_raw",
        app_decisions / raw_decisions,
        "",
        "Decision throughput, HTTP app ÷ raw SQL (target ≥ 0.5)",
    );
    report.figure(
        "ratio_proposals_app_to_raw",
        app_proposals / raw_proposals,
        "",
        "Proposal throughput, HTTP app ÷ raw SQL",
    );
    ctx.drain_outbox(Duration::from_secs(600)).await?;
    Ok(())
}

/// Reads the dashboard's event stream and passes on each event with when it arrived.
pub fn listen(
    mut response: reqwest::Response,
) -> mpsc::UnboundedReceiver<(app::events::LiveEvent, Instant)> {
    let (send, receive) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        let mut buffer = String::new();
        while let Ok(Some(chunk)) = response.chunk().await {
            let arrived = Instant::now();
            buffer.push_str(&String::from_utf8_lossy(&chunk));
            while let Some(end) = buffer.find('\n') {
                let line: String = buffer.drain(..=end).collect();
                if let Some(data) = line.trim_end().strip_prefix("data:") {
                    if let Ok(event) = serde_json::from_str(data.trim()) {
                        if send.send((event, arrived)).is_err() {
                            return;
                        }
                    }
                }
            }
        }
    });
    receive
}

/// Waits for the event of `kind` about `patron_id`.
pub async fn wait_for(
    events: &mut mpsc::UnboundedReceiver<(app::events::LiveEvent, Instant)>,
    kind: &str,
    patron_id: i64,
    limit: Duration,
) -> Option<Instant> {
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        let next = tokio::time::timeout_at(deadline, events.recv())
            .await
            .ok()??;
        if next.0.kind == kind && next.0.patron_id == Some(patron_id) {
            return Some(next.1);
        }
    }
}

pub async fn live(ctx: &Context, cluster: &Cluster, report: &mut Report) -> BenchResult<()> {
    let samples = ctx.options.live_samples;
    let pending = ctx
        .pending_with_links("live", &ctx.patrons(samples)?)
        .await?;
    let watcher =
        AdminClient::sign_in(&cluster.servers[1].base_url, seed::MANAGER, seed::PASSWORD).await?;
    let mut events = listen(watcher.events().await?);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let http = browser()?;
    let mut from_click = Vec::new();
    let mut from_answer = Vec::new();
    let mut missed = 0;
    for (patron_id, token) in pending {
        let clicked = Instant::now();
        decide(&http, &cluster.servers[0].base_url, &token, "approve").await?;
        let answered = Instant::now();
        match wait_for(&mut events, "approved", patron_id, Duration::from_secs(5)).await {
            Some(arrived) => {
                from_click.push(arrived - clicked);
                from_answer.push(arrived.saturating_duration_since(answered));
            }
            None => missed += 1,
        }
    }
    report.latencies(
        "live_click_to_event_ms",
        "Decision POST sent on instance 1 → event read by a dashboard client of instance 2",
        &mut from_click,
    );
    report.latencies(
        "live_answer_to_event_ms",
        "Decision answered (committed) → event read on instance 2 (0 when it arrived first)",
        &mut from_answer,
    );
    report.figure(
        "live_missed",
        missed as u64,
        "events",
        "Events not seen within 5 s",
    );
    Ok(())
}
