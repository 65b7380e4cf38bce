//! Fault drills: SMTP down under load, `kill -9` of a server mid-load, a PostgreSQL restart,
//! and 200 concurrent decisions on one request. Each reports pass or fail with figures.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;

use crate::client::{browser, decide, AdminClient};
use crate::load::{listen, wait_for, Context};
use crate::report::Report;
use crate::seed;
use crate::servers::{wait_ready, Cluster};
use crate::BenchResult;

pub async fn run_all(ctx: &Context, cluster: &mut Cluster, report: &mut Report) -> BenchResult<()> {
    let outcome = smtp_outage(ctx, cluster, report).await;
    failed_to_run(report, "drill_smtp_outage", "SMTP down under load", outcome);
    let outcome = kill_nine(ctx, cluster, report).await;
    failed_to_run(
        report,
        "drill_kill_9",
        "kill -9 of a server under load",
        outcome,
    );
    let outcome = postgres_restart(ctx, cluster, report).await;
    failed_to_run(
        report,
        "drill_postgres_restart",
        "PostgreSQL restart under load",
        outcome,
    );
    let outcome = many_decisions(ctx, cluster, report).await;
    failed_to_run(
        report,
        "drill_200_decisions",
        "200 concurrent decisions on one request",
        outcome,
    );
    Ok(())
}

fn failed_to_run(report: &mut Report, key: &str, label: &str, outcome: BenchResult<()>) {
    if let Err(error) = outcome {
        report.drill(key, label, false, json!({ "error": error.to_string() }));
    }
}

/// Proposes changes through HTTP with `clients` agents until `stop` is set; the patrons
/// whose proposal was accepted, and the number refused or failed.
fn propose_until(
    agents: Vec<AdminClient>,
    patrons: Vec<i64>,
    tag: &'static str,
    stop: Arc<AtomicBool>,
) -> tokio::task::JoinHandle<(Vec<i64>, usize)> {
    tokio::spawn(async move {
        let patrons = Arc::new(patrons);
        let next = Arc::new(AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for agent in agents {
            let (patrons, next, stop) = (patrons.clone(), next.clone(), stop.clone());
            tasks.push(tokio::spawn(async move {
                let (mut done, mut failed) = (Vec::new(), 0);
                while !stop.load(Ordering::SeqCst) {
                    let Some(&patron) = patrons.get(next.fetch_add(1, Ordering::SeqCst)) else {
                        break;
                    };
                    let email = format!("{tag}{patron}@new.bench.example");
                    let id = patron.to_string();
                    match agent
                        .call(
                            "propose_change",
                            &[
                                ("patron_id", &id),
                                ("new_email", &email),
                                ("reason", "Drill"),
                            ],
                        )
                        .await
                    {
                        Ok((200, _, _)) => done.push(patron),
                        _ => failed += 1,
                    }
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                (done, failed)
            }));
        }
        let (mut done, mut failed) = (Vec::new(), 0);
        for task in tasks {
            if let Ok((d, f)) = task.await {
                done.extend(d);
                failed += f;
            }
        }
        (done, failed)
    })
}

async fn agents(cluster: &Cluster, count: usize) -> BenchResult<Vec<AdminClient>> {
    let mut out = Vec::new();
    for i in 0..count {
        let base = &cluster.servers[i % cluster.servers.len()].base_url;
        out.push(AdminClient::sign_in(base, seed::AGENT, seed::PASSWORD).await?);
    }
    Ok(out)
}

async fn smtp_outage(ctx: &Context, cluster: &Cluster, report: &mut Report) -> BenchResult<()> {
    let outage = Duration::from_secs(ctx.options.smtp_outage_secs);
    ctx.sink.down();
    let stop = Arc::new(AtomicBool::new(false));
    let load = propose_until(
        agents(cluster, 4).await?,
        ctx.patrons(10_000)?,
        "smtp",
        stop.clone(),
    );
    tokio::time::sleep(outage).await;
    stop.store(true, Ordering::SeqCst);
    let (patrons, failed) = load.await?;
    let (waiting,): (i64,) = sqlx::query_as(
        "SELECT count(*) FROM messages WHERE status = 'queued' AND patron_id = ANY($1)",
    )
    .bind(&patrons)
    .fetch_one(&ctx.pool)
    .await?;
    ctx.sink.up().await;
    let drained = ctx.drain_outbox(Duration::from_secs(300)).await;
    let rows: Vec<(String, i64)> = sqlx::query_as(
        "SELECT status, count(*) FROM messages WHERE patron_id = ANY($1) GROUP BY status",
    )
    .bind(&patrons)
    .fetch_all(&ctx.pool)
    .await?;
    let count = |status: &str| rows.iter().find(|r| r.0 == status).map_or(0, |r| r.1);
    let ids: Vec<(String,)> =
        sqlx::query_as("SELECT message_id FROM messages WHERE patron_id = ANY($1)")
            .bind(&patrons)
            .fetch_all(&ctx.pool)
            .await?;
    let received: std::collections::HashSet<String> = ctx
        .sink
        .received()
        .iter()
        .map(|m| m.message_id().trim_matches(['<', '>']).to_string())
        .collect();
    let lost = ids
        .iter()
        .filter(|(id,)| !received.contains(id.trim_matches(['<', '>'])))
        .count();
    let expected = 2 * patrons.len() as i64;
    let passed = !patrons.is_empty()
        && drained.is_ok()
        && count("sent") == expected
        && lost == 0
        && waiting > 0;
    report.drill(
        "drill_smtp_outage",
        &format!("SMTP down for {} s under load, then back", outage.as_secs()),
        passed,
        json!({
            "proposals_during_outage": patrons.len(),
            "proposals_refused": failed,
            "messages_expected": expected,
            "messages_queued_when_smtp_returned": waiting,
            "messages_sent": count("sent"),
            "messages_dead": count("dead"),
            "messages_not_received_by_smtp": lost,
            "seconds_to_drain_after_recovery": drained.map(|d| d.as_secs_f64()).unwrap_or(-1.0),
        }),
    );
    Ok(())
}

async fn kill_nine(ctx: &Context, cluster: &mut Cluster, report: &mut Report) -> BenchResult<()> {
    const REQUESTS: usize = 1000;
    let pending = ctx
        .pending_with_links("kill", &ctx.patrons(REQUESTS)?)
        .await?;
    let patrons: Vec<i64> = pending.iter().map(|p| p.0).collect();
    let tokens: Arc<Vec<String>> = Arc::new(pending.into_iter().map(|p| p.1).collect());
    let target = cluster.servers[0].base_url.clone();
    let next = Arc::new(AtomicUsize::new(0));
    let http = browser()?;
    let mut tasks = Vec::new();
    for _ in 0..16 {
        let (tokens, next, target, http) =
            (tokens.clone(), next.clone(), target.clone(), http.clone());
        tasks.push(tokio::spawn(async move {
            let mut failed = Vec::new();
            while let Some(token) = tokens.get(next.fetch_add(1, Ordering::SeqCst)) {
                if !matches!(decide(&http, &target, token, "approve").await, Ok((303, _))) {
                    failed.push(token.clone());
                }
            }
            failed
        }));
    }
    while next.load(Ordering::SeqCst) < REQUESTS / 3 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let sent_before_kill = next.load(Ordering::SeqCst).min(REQUESTS);
    cluster.kill(0);
    let mut retry = Vec::new();
    for task in tasks {
        retry.extend(task.await?);
    }
    let restart = cluster.restart(0).await?;
    // The patrons whose decision failed try again, as a person would.
    let mut retry_failed = 0;
    for token in &retry {
        if !matches!(decide(&http, &target, token, "approve").await, Ok((303, _))) {
            retry_failed += 1;
        }
    }
    let drained = ctx.drain_outbox(Duration::from_secs(300)).await;
    let statuses: Vec<(String, i64)> = sqlx::query_as(
        "SELECT status, count(*) FROM change_requests WHERE patron_id = ANY($1) GROUP BY status",
    )
    .bind(&patrons)
    .fetch_all(&ctx.pool)
    .await?;
    let (applied_twice,): (i64,) = sqlx::query_as(
        "SELECT count(*) FROM (
             SELECT e.request_id FROM audit_events e JOIN change_requests r ON r.id = e.request_id
             WHERE r.patron_id = ANY($1) AND e.kind IN ('approved', 'rejected')
             GROUP BY e.request_id HAVING count(*) > 1) twice",
    )
    .bind(&patrons)
    .fetch_one(&ctx.pool)
    .await?;
    let (email_mismatch,): (i64,) = sqlx::query_as(
        "SELECT count(*) FROM change_requests r JOIN patrons p ON p.id = r.patron_id
         WHERE r.patron_id = ANY($1) AND r.status = 'approved' AND lower(p.email) <> lower(r.new_value)",
    )
    .bind(&patrons)
    .fetch_one(&ctx.pool)
    .await?;
    let (unsent,): (i64,) = sqlx::query_as(
        "SELECT count(*) FROM messages WHERE patron_id = ANY($1) AND status <> 'sent'",
    )
    .bind(&patrons)
    .fetch_one(&ctx.pool)
    .await?;
    let (without_outcome,): (i64,) = sqlx::query_as(
        "SELECT count(*) FROM change_requests r WHERE r.patron_id = ANY($1) AND NOT EXISTS (
             SELECT 1 FROM messages m WHERE m.request_id = r.id
             AND m.kind = 'outcome_to_patron' AND m.status = 'sent')",
    )
    .bind(&patrons)
    .fetch_one(&ctx.pool)
    .await?;
    let approved = statuses
        .iter()
        .find(|s| s.0 == "approved")
        .map_or(0, |s| s.1);
    let passed = approved == REQUESTS as i64
        && applied_twice == 0
        && email_mismatch == 0
        && unsent == 0
        && without_outcome == 0
        && retry_failed == 0
        && drained.is_ok();
    report.drill(
        "drill_kill_9",
        "kill -9 of instance 1 a third of the way through 1,000 decisions, then a restart",
        passed,
        json!({
            "decisions_sent_before_kill": sent_before_kill,
            "decisions_cut_off_and_retried": retry.len(),
            "retries_failed": retry_failed,
            "seconds_to_restart_and_be_ready": restart.as_secs_f64(),
            "requests_by_status": statuses.iter().map(|s| (s.0.clone(), s.1)).collect::<std::collections::BTreeMap<_, _>>(),
            "decisions_applied_twice": applied_twice,
            "approved_but_email_not_changed": email_mismatch,
            "messages_not_sent": unsent,
            "requests_without_a_sent_outcome_message": without_outcome,
        }),
    );
    Ok(())
}

fn postgres_version() -> Option<String> {
    std::fs::read_dir("/etc/postgresql")
        .ok()?
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().to_string())
        .next()
}

async fn postgres_restart(
    ctx: &Context,
    cluster: &Cluster,
    report: &mut Report,
) -> BenchResult<()> {
    let version = postgres_version().ok_or("no /etc/postgresql: cannot restart PostgreSQL here")?;
    let stop = Arc::new(AtomicBool::new(false));
    let load = propose_until(
        agents(cluster, 4).await?,
        ctx.patrons(5_000)?,
        "pgre",
        stop.clone(),
    );
    // Watch /readyz on both instances every 100 ms.
    let started = Instant::now();
    let mut watchers = Vec::new();
    let probe = reqwest::Client::builder()
        .timeout(Duration::from_secs(2))
        .build()?;
    for server in &cluster.servers {
        let (base, stop, http) = (server.base_url.clone(), stop.clone(), probe.clone());
        watchers.push(tokio::spawn(async move {
            let mut seen = Vec::new();
            while !stop.load(Ordering::SeqCst) {
                let ok = matches!(
                    http.get(format!("{base}/readyz")).send().await,
                    Ok(r) if r.status().is_success()
                );
                seen.push((started.elapsed(), ok));
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            seen
        }));
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    // A restart as maintenance does it: stop, a few seconds down, start.
    let restart_at = started.elapsed();
    let pg_ctl = |action: &'static str| {
        let version = version.clone();
        tokio::task::spawn_blocking(move || {
            std::process::Command::new("pg_ctlcluster")
                .args(["--skip-systemctl-redirect", &version, "main", action])
                .output()
        })
    };
    let stopped = pg_ctl("stop").await??;
    tokio::time::sleep(Duration::from_secs(5)).await;
    let started_again = pg_ctl("start").await??;
    for outcome in [&stopped, &started_again] {
        if !outcome.status.success() {
            stop.store(true, Ordering::SeqCst);
            return Err(format!(
                "pg_ctlcluster failed: {}",
                String::from_utf8_lossy(&outcome.stderr).trim()
            )
            .into());
        }
    }
    let restart_took = started.elapsed() - restart_at;
    tokio::time::sleep(Duration::from_secs(10)).await;
    stop.store(true, Ordering::SeqCst);
    let (done, failed) = load.await?;
    let mut outages = Vec::new();
    for watcher in watchers {
        let seen = watcher.await?;
        let down = seen
            .iter()
            .find(|(at, ok)| *at >= restart_at && !ok)
            .map(|s| s.0);
        let up = down.and_then(|d| seen.iter().find(|(at, ok)| *at > d && *ok).map(|s| s.0));
        outages.push((down, up, seen.last().is_some_and(|s| s.1)));
    }
    // After the restart: both instances take a proposal, and the live relay is back.
    let mut after = Vec::new();
    for server in &cluster.servers {
        let agent = AdminClient::sign_in(&server.base_url, seed::AGENT, seed::PASSWORD).await?;
        let patron = ctx.patrons(1)?[0];
        let (status, _, _) = agent
            .call(
                "propose_change",
                &[
                    ("patron_id", &patron.to_string()),
                    ("new_email", &format!("after{patron}@new.bench.example")),
                    ("reason", "Drill"),
                ],
            )
            .await?;
        after.push(status == 200);
    }
    let watcher =
        AdminClient::sign_in(&cluster.servers[1].base_url, seed::MANAGER, seed::PASSWORD).await?;
    let mut events = listen(watcher.events().await?);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let patron = ctx.patrons(1)?[0];
    let agent =
        AdminClient::sign_in(&cluster.servers[0].base_url, seed::AGENT, seed::PASSWORD).await?;
    agent
        .call(
            "propose_change",
            &[
                ("patron_id", &patron.to_string()),
                ("new_email", &format!("relay{patron}@new.bench.example")),
                ("reason", "Drill"),
            ],
        )
        .await?;
    let relayed = wait_for(&mut events, "proposed", patron, Duration::from_secs(10))
        .await
        .is_some();
    let saw_outage_and_recovery = outages
        .iter()
        .all(|(down, up, last)| down.is_some() && up.is_some() && *last);
    let passed = saw_outage_and_recovery && after.iter().all(|ok| *ok) && relayed;
    let secs = |d: Option<Duration>| d.map(|d| (d.as_secs_f64() * 10.0).round() / 10.0);
    report.drill(
        "drill_postgres_restart",
        "PostgreSQL restarted under proposal load; /readyz polled every 100 ms",
        passed,
        json!({
            "postgres_down_seconds": restart_took.as_secs_f64(),
            "restart_at_seconds": restart_at.as_secs_f64(),
            "readyz_instance_1": { "first_503_at": secs(outages[0].0), "ready_again_at": secs(outages[0].1) },
            "readyz_instance_2": { "first_503_at": secs(outages[1].0), "ready_again_at": secs(outages[1].1) },
            "proposals_accepted_during_drill": done.len(),
            "proposals_failed_during_drill": failed,
            "proposal_accepted_after_on_each_instance": after,
            "live_event_relayed_after_restart": relayed,
        }),
    );
    wait_ready(&cluster.servers[0].base_url, Duration::from_secs(30)).await?;
    Ok(())
}

async fn many_decisions(ctx: &Context, cluster: &Cluster, report: &mut Report) -> BenchResult<()> {
    const DECISIONS: usize = 200;
    let pending = ctx.pending_with_links("race", &ctx.patrons(1)?).await?;
    let (patron, token) = pending.into_iter().next().ok_or("no pending request")?;
    let barrier = Arc::new(tokio::sync::Barrier::new(DECISIONS));
    let mut tasks = Vec::new();
    for i in 0..DECISIONS {
        let base = cluster.servers[i % cluster.servers.len()].base_url.clone();
        let (token, barrier) = (token.clone(), barrier.clone());
        let http = browser()?;
        tasks.push(tokio::spawn(async move {
            let action = if i.is_multiple_of(2) {
                "approve"
            } else {
                "reject"
            };
            barrier.wait().await;
            decide(&http, &base, &token, action)
                .await
                .map(|r| r.0)
                .unwrap_or(0)
        }));
    }
    let mut answers = std::collections::BTreeMap::new();
    for task in tasks {
        *answers.entry(task.await?.to_string()).or_insert(0) += 1;
    }
    let (status, new_value): (String, String) =
        sqlx::query_as("SELECT status, new_value FROM change_requests WHERE patron_id = $1")
            .bind(patron)
            .fetch_one(&ctx.pool)
            .await?;
    let (decisions,): (i64,) = sqlx::query_as(
        "SELECT count(*) FROM audit_events e JOIN change_requests r ON r.id = e.request_id
         WHERE r.patron_id = $1 AND e.kind IN ('approved', 'rejected')",
    )
    .bind(patron)
    .fetch_one(&ctx.pool)
    .await?;
    let (email,): (String,) = sqlx::query_as("SELECT email FROM patrons WHERE id = $1")
        .bind(patron)
        .fetch_one(&ctx.pool)
        .await?;
    let consistent = match status.as_str() {
        "approved" => email == new_value,
        "rejected" => email != new_value,
        _ => false,
    };
    report.drill(
        "drill_200_decisions",
        "200 concurrent decisions (half approve, half reject) on one request, over both instances",
        decisions == 1 && consistent,
        json!({
            "final_status": status,
            "decision_events": decisions,
            "patron_email_matches_outcome": consistent,
            "http_answers": answers,
        }),
    );
    Ok(())
}
