//! What must hold whatever happens: one outcome under races, nothing lost when SMTP or a
//! worker fails, no raw token at rest, an audit log nobody can rewrite, and links that
//! cannot be forged, replayed or posted from another site.

mod common;

use std::collections::HashSet;
use std::time::Duration;

use app::changes::ssr::{act_on_link, cancel, expire_due, DecisionContext};
use app::changes::token::LinkToken;
use app::changes::LinkAction;
use common::{spawn_app, TestApp};

async fn setup(app: &TestApp, patrons: usize) -> (i64, Vec<i64>) {
    let agent = app.add_admin("agent@venue.example", "agent").await;
    let mut ids = Vec::new();
    for i in 0..patrons {
        ids.push(
            app.add_patron(&format!("Patron {i}"), &format!("p{i}@old.example"), "en")
                .await,
        );
    }
    (agent, ids)
}

async fn propose_for(app: &TestApp, agent: i64, patron: i64, new_email: &str) -> i64 {
    app.propose(agent, patron, new_email, "Requested at the box office")
        .await
}

const DECISIONS: [&str; 5] = ["approved", "rejected", "cancelled", "not_me", "expired"];

#[tokio::test]
async fn concurrent_decisions_leave_exactly_one_outcome() {
    for round in 0..6 {
        let app = spawn_app().await;
        let (agent, patrons) = setup(&app, 1).await;
        let request = propose_for(&app, agent, patrons[0], "p0@new.example").await;
        app.deliver_all().await;
        let decide = app.smtp.to("p0@new.example")[0].link_token().unwrap();
        let not_me = app.smtp.to("p0@old.example")[0].link_token().unwrap();
        app.smtp.clear();
        if round % 2 == 1 {
            // Let the clock contend too: the request is due as the race starts.
            sqlx::query("UPDATE change_requests SET expires_at = now() + interval '30 milliseconds' WHERE id = $1")
                .bind(request)
                .execute(&app.pool)
                .await
                .unwrap();
        }

        let mut tasks = Vec::new();
        for i in 0..40 {
            let pool = app.pool.clone();
            let settings = app.state.settings.clone();
            let (decide, not_me) = (decide.clone(), not_me.clone());
            tasks.push(tokio::spawn(async move {
                let context = DecisionContext::default();
                match i % 5 {
                    0 => drop(
                        act_on_link(
                            &pool,
                            &settings,
                            &LinkToken::parse(&decide).unwrap(),
                            LinkAction::Approve,
                            &context,
                        )
                        .await,
                    ),
                    1 => drop(
                        act_on_link(
                            &pool,
                            &settings,
                            &LinkToken::parse(&decide).unwrap(),
                            LinkAction::Reject,
                            &context,
                        )
                        .await,
                    ),
                    2 => drop(
                        act_on_link(
                            &pool,
                            &settings,
                            &LinkToken::parse(&not_me).unwrap(),
                            LinkAction::NotMe,
                            &context,
                        )
                        .await,
                    ),
                    3 => drop(cancel(&pool, agent, request).await),
                    _ => {
                        tokio::time::sleep(Duration::from_millis(25)).await;
                        drop(expire_due(&pool, &settings).await)
                    }
                }
            }));
        }
        for task in tasks {
            task.await.unwrap();
        }
        tokio::time::sleep(Duration::from_millis(40)).await;
        expire_due(&app.pool, &app.state.settings).await.unwrap();

        let status = app.request_status(request).await;
        assert_ne!(status, "pending", "round {round}");
        let kinds = app.audit_kinds(request).await;
        let decisions: Vec<&String> = kinds
            .iter()
            .filter(|k| DECISIONS.contains(&k.as_str()))
            .collect();
        assert_eq!(
            decisions.len(),
            1,
            "round {round}: one decision in the audit log, got {kinds:?}"
        );
        let patron_email = app.patron_email(patrons[0]).await;
        assert_eq!(
            patron_email == "p0@new.example",
            status == "approved",
            "round {round}"
        );

        app.deliver_all().await;
        let expected: &[&str] = match decisions[0].as_str() {
            "approved" | "rejected" => &["agent@venue.example", "p0@new.example", "p0@old.example"],
            "cancelled" => &[],
            _ => &["agent@venue.example"],
        };
        assert_eq!(
            app.smtp.recipients(),
            expected,
            "round {round}: {}",
            decisions[0]
        );
        app.shutdown().await;
    }
}

#[tokio::test]
async fn nothing_is_lost_while_smtp_is_down() {
    let mut app = spawn_app().await;
    let (agent, patrons) = setup(&app, 10).await;
    app.smtp.down();
    for (i, patron) in patrons.iter().enumerate() {
        propose_for(&app, agent, *patron, &format!("p{i}@new.example")).await;
    }
    app.start_workers(3);
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert!(app.smtp.received().is_empty());
    let (failing,): (i64,) =
        sqlx::query_as("SELECT count(*) FROM messages WHERE status = 'queued' AND attempts > 0")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert!(failing > 0, "the workers tried and will retry");
    let (tokens,): (i64,) = sqlx::query_as("SELECT count(*) FROM link_tokens")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(
        tokens, 0,
        "no token is stored for a message that was not sent"
    );

    app.smtp.up().await;
    app.wait_for_empty_outbox(Duration::from_secs(20)).await;
    app.stop_workers();

    let received = app.smtp.received();
    assert_eq!(received.len(), 20, "every message arrives once");
    let ids: HashSet<String> = received.iter().map(|r| r.message_id()).collect();
    assert_eq!(ids.len(), 20);
    let (sent,): (i64,) = sqlx::query_as("SELECT count(*) FROM messages WHERE status = 'sent'")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(sent, 20);
    // Every delivered link works: its token was stored when it was sent.
    for (i, patron) in patrons.iter().enumerate() {
        let token = app.smtp.to(&format!("p{i}@new.example"))[0]
            .link_token()
            .unwrap();
        app.post_choice(&token, "approve").await;
        assert_eq!(app.patron_email(*patron).await, format!("p{i}@new.example"));
    }
}

#[tokio::test]
async fn a_worker_killed_mid_batch_loses_nothing() {
    let mut app = spawn_app().await;
    let (agent, patrons) = setup(&app, 6).await;
    for (i, patron) in patrons.iter().enumerate() {
        propose_for(&app, agent, *patron, &format!("p{i}@new.example")).await;
    }
    app.smtp.set_delay(Duration::from_millis(150));
    app.start_workers(2);
    tokio::time::sleep(Duration::from_millis(400)).await;
    app.stop_workers(); // Killed while sends are in flight.
    app.smtp.set_delay(Duration::ZERO);

    app.start_workers(2);
    app.wait_for_empty_outbox(Duration::from_secs(20)).await;
    app.stop_workers();

    let (sent, total): (i64, i64) =
        sqlx::query_as("SELECT count(*) FILTER (WHERE status = 'sent'), count(*) FROM messages")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(
        (sent, total),
        (12, 12),
        "every message is marked sent exactly once"
    );
    let delivered: HashSet<String> = app.smtp.received().iter().map(|r| r.message_id()).collect();
    assert_eq!(delivered.len(), 12, "every message reached the SMTP server");
    // A send interrupted after the server accepted it may arrive twice (at least once),
    // but only the copy whose sending committed carries a live link; the newest one does.
    for (i, patron) in patrons.iter().enumerate() {
        let copies = app.smtp.to(&format!("p{i}@new.example"));
        let token = copies.last().unwrap().link_token().unwrap();
        app.post_choice(&token, "approve").await;
        assert_eq!(app.patron_email(*patron).await, format!("p{i}@new.example"));
    }
}

#[tokio::test]
async fn no_raw_token_is_at_rest() {
    let app = spawn_app().await;
    let (agent, patrons) = setup(&app, 2).await;
    propose_for(&app, agent, patrons[0], "p0@new.example").await;
    propose_for(&app, agent, patrons[1], "p1@new.example").await;
    app.deliver_all().await;
    let tokens: Vec<String> = app
        .smtp
        .received()
        .iter()
        .filter_map(|r| r.link_token())
        .collect();
    assert_eq!(tokens.len(), 4);
    app.post_choice(&tokens[0], "approve").await;

    let dump = std::process::Command::new("pg_dump")
        .arg("--data-only")
        .arg("--inserts")
        .arg(&app.database_url)
        .output()
        .expect("pg_dump runs");
    assert!(
        dump.status.success(),
        "{}",
        String::from_utf8_lossy(&dump.stderr)
    );
    let dump = String::from_utf8_lossy(&dump.stdout);
    assert!(
        dump.contains("link_tokens"),
        "the dump holds the token table"
    );
    for token in &tokens {
        let raw = LinkToken::parse(token).unwrap();
        assert!(
            !dump.contains(token.as_str()),
            "a raw token is in the database"
        );
        let hex: String = base64_to_hex(token);
        assert!(
            !dump.contains(&hex),
            "a raw token's bytes are in the database"
        );
        let hash_hex: String = raw.hash().iter().map(|b| format!("{b:02x}")).collect();
        assert!(dump.contains(&hash_hex), "its SHA-256 is");
    }
}

/// The raw bytes of a token, in hex, as `pg_dump` would print a bytea holding them.
fn base64_to_hex(token: &str) -> String {
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut bits = 0u32;
    let mut nbits = 0;
    let mut out = String::new();
    for c in token.bytes() {
        let v = alphabet.iter().position(|&a| a == c).unwrap() as u32;
        bits = (bits << 6) | v;
        nbits += 6;
        if nbits >= 8 {
            nbits -= 8;
            out.push_str(&format!("{:02x}", (bits >> nbits) & 0xff));
        }
    }
    out
}

#[tokio::test]
async fn the_audit_log_cannot_be_rewritten() {
    let app = spawn_app().await;
    let (agent, patrons) = setup(&app, 1).await;
    propose_for(&app, agent, patrons[0], "p0@new.example").await;
    for statement in [
        "UPDATE audit_events SET reason = 'forged'",
        "DELETE FROM audit_events",
        "TRUNCATE audit_events",
    ] {
        let error = sqlx::query(statement).execute(&app.pool).await.unwrap_err();
        assert!(
            error.to_string().contains("append-only"),
            "{statement}: {error}"
        );
    }
    let (count,): (i64,) =
        sqlx::query_as("SELECT count(*) FROM audit_events WHERE reason <> 'forged'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(count, 1);
}

#[tokio::test]
async fn bad_links_and_bad_posts_change_nothing() {
    let app = spawn_app().await;
    let (agent, patrons) = setup(&app, 1).await;
    let request = propose_for(&app, agent, patrons[0], "p0@new.example").await;
    app.deliver_all().await;
    let decide = app.smtp.to("p0@new.example")[0].link_token().unwrap();

    // Mail scanners open links with GET and HEAD: nothing may change.
    for _ in 0..5 {
        assert_eq!(app.page(&decide).await.0, 200);
        let head = app.http.head(app.link(&decide)).send().await.unwrap();
        assert_eq!(head.status().as_u16(), 200);
    }
    assert_eq!(app.request_status(request).await, "pending");

    // A forged token of the right shape, and a malformed one: the same neutral page.
    let forged = LinkToken::generate().encode();
    let (_, forged_page) = app.page(&forged).await;
    let (_, malformed_page) = app.page("not-a-token").await;
    assert!(forged_page.contains("not valid"));
    assert_eq!(
        forged_page.replace(&forged, ""),
        malformed_page.replace("not-a-token", "")
    );
    app.post_choice(&forged, "approve").await;

    // A cross-site form post is refused.
    let cross = app
        .http
        .post(app.link(&decide))
        .header("origin", "https://evil.example")
        .header("sec-fetch-site", "cross-site")
        .form(&[("action", "approve")])
        .send()
        .await
        .unwrap();
    assert_eq!(cross.status().as_u16(), 403);

    // An unknown action, and an oversized body.
    let odd = app
        .http
        .post(app.link(&decide))
        .form(&[("action", "delete")])
        .send()
        .await
        .unwrap();
    assert_eq!(odd.status().as_u16(), 400);
    let huge = app
        .http
        .post(app.link(&decide))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("action=approve&pad={}", "x".repeat(200_000)))
        .send()
        .await
        .unwrap();
    assert_eq!(huge.status().as_u16(), 413);

    assert_eq!(app.request_status(request).await, "pending");
    assert_eq!(app.patron_email(patrons[0]).await, "p0@old.example");
    assert_eq!(app.audit_kinds(request).await, ["proposed"]);

    // A used token cannot act again.
    app.post_choice(&decide, "reject").await;
    app.post_choice(&decide, "approve").await;
    assert_eq!(app.request_status(request).await, "rejected");
    assert_eq!(app.audit_kinds(request).await, ["proposed", "rejected"]);
}

#[tokio::test]
async fn patron_pages_carry_protective_headers() {
    let app = spawn_app().await;
    let response = app
        .http
        .get(app.link(&LinkToken::generate().encode()))
        .send()
        .await
        .unwrap();
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default()
    };
    assert_eq!(header("referrer-policy"), "no-referrer");
    assert_eq!(header("cache-control"), "no-store");
    let csp = header("content-security-policy");
    assert!(csp.contains("frame-ancestors 'none'"));
    assert!(!csp.contains("unsafe-inline"));

    // A page that carries a token is never compressed (BREACH); the dashboard's are.
    let encoding = |path: String| {
        let http = app.http.clone();
        async move {
            let response = http
                .get(path)
                .header("accept-encoding", "gzip, br")
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), 200);
            response
                .headers()
                .get("content-encoding")
                .map(|v| v.to_str().unwrap().to_string())
        }
    };
    let (agent, patrons) = setup(&app, 1).await;
    propose_for(&app, agent, patrons[0], "p0@new.example").await;
    app.deliver_all().await;
    let token = app.smtp.to("p0@new.example")[0].link_token().unwrap();
    assert_eq!(encoding(app.link(&token)).await, None);
    assert!(encoding(format!("{}/signin", app.base_url)).await.is_some());
}

#[tokio::test]
async fn patron_links_are_rate_limited_per_ip() {
    let app = common::spawn_app_with(&[
        "--patron-rate-burst",
        "3",
        "--patron-rate-period-ms",
        "60000",
    ])
    .await;
    let (agent, patrons) = setup(&app, 1).await;
    let request = propose_for(&app, agent, patrons[0], "p0@new.example").await;
    app.deliver_all().await;
    let decide = app.smtp.to("p0@new.example")[0].link_token().unwrap();

    for _ in 0..3 {
        assert_eq!(app.page(&decide).await.0, 200);
    }
    assert_eq!(
        app.page(&decide).await.0,
        429,
        "the fourth request in a burst is refused"
    );
    assert_eq!(
        app.post_choice(&decide, "approve").await.status().as_u16(),
        429
    );
    assert_eq!(app.request_status(request).await, "pending");
    let health = app
        .http
        .get(format!("{}/healthz", app.base_url))
        .send()
        .await
        .unwrap();
    assert_eq!(
        health.status().as_u16(),
        200,
        "only the patron pages are limited"
    );
}
