//! Admins: sign-in with throttling, sessions shared through PostgreSQL, the role matrix of
//! every server function, and the refusal of cross-origin requests.

mod common;

use app::auth::password::hash_password;
use common::{spawn_app, TestApp};

const PASSWORD: &str = "correct horse battery";

async fn admin_with_password(app: &TestApp, email: &str, role: &str) {
    let hash = hash_password(PASSWORD).unwrap();
    sqlx::query(
        "INSERT INTO admins (email, display_name, password_hash, role) VALUES ($1, $2, $3, $4)",
    )
    .bind(email)
    .bind(format!("Admin {role}"))
    .bind(hash)
    .bind(role)
    .execute(&app.pool)
    .await
    .unwrap();
}

fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// Calls a server function as the dashboard's forms do: a same-origin form post.
async fn call(
    app: &TestApp,
    client: &reqwest::Client,
    name: &str,
    form: &[(&str, &str)],
) -> (u16, String) {
    let response = client
        .post(format!("{}/api/{name}", app.base_url))
        .header("origin", &app.base_url)
        .header("sec-fetch-site", "same-origin")
        .header("accept", "application/json")
        .form(form)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.text().await.unwrap())
}

async fn signed_in(app: &TestApp, email: &str) -> reqwest::Client {
    let client = browser();
    let (status, body) = call(
        app,
        &client,
        "sign_in",
        &[("email", email), ("password", PASSWORD)],
    )
    .await;
    assert!(status < 400, "sign-in as {email}: {status} {body}");
    client
}

#[tokio::test]
async fn sign_in_starts_a_session_and_sign_out_ends_it() {
    let app = spawn_app().await;
    admin_with_password(&app, "agent@venue.example", "agent").await;
    let client = browser();
    let (_, body) = call(&app, &client, "current_admin", &[]).await;
    assert_eq!(body, "null", "nobody is signed in yet");

    let (status, body) = call(
        &app,
        &client,
        "sign_in",
        &[("email", "Agent@Venue.example"), ("password", PASSWORD)],
    )
    .await;
    assert!(status < 400, "{status} {body}");
    let (_, body) = call(&app, &client, "current_admin", &[]).await;
    assert!(
        body.contains("Admin agent") && body.contains("Agent"),
        "{body}"
    );

    // The session lives in PostgreSQL: a second instance on the same database knows it.
    let (rows,): (i64,) = sqlx::query_as("SELECT count(*) FROM tower_sessions.session")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(rows, 1);

    call(&app, &client, "sign_out", &[]).await;
    let (_, body) = call(&app, &client, "current_admin", &[]).await;
    assert_eq!(body, "null");
}

#[tokio::test]
async fn wrong_passwords_are_refused_and_throttled() {
    let app = spawn_app().await;
    admin_with_password(&app, "agent@venue.example", "agent").await;
    let client = browser();
    for _ in 0..5 {
        let (status, body) = call(
            &app,
            &client,
            "sign_in",
            &[
                ("email", "agent@venue.example"),
                ("password", "wrong password!"),
            ],
        )
        .await;
        assert_eq!(status, 500, "{body}");
        assert!(body.contains("BadCredentials"), "{body}");
    }
    // Even the right password now waits: guessing is throttled per account.
    let (_, body) = call(
        &app,
        &client,
        "sign_in",
        &[("email", "agent@venue.example"), ("password", PASSWORD)],
    )
    .await;
    assert!(body.contains("Throttled"), "{body}");
    let (_, body) = call(&app, &client, "current_admin", &[]).await;
    assert_eq!(body, "null");
}

#[tokio::test]
async fn every_server_function_checks_the_role() {
    let app = spawn_app().await;
    for role in ["viewer", "agent", "manager"] {
        admin_with_password(&app, &format!("{role}@venue.example"), role).await;
    }
    let patron = app
        .add_patron("Ana García", "ana@example.org", "en")
        .await
        .to_string();
    let rank = |role: &str| {
        ["viewer", "agent", "manager"]
            .iter()
            .position(|r| *r == role)
    };
    let (viewer_id,): (i64,) = sqlx::query_as("SELECT id FROM admins WHERE role = 'viewer'")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let viewer_id = viewer_id.to_string();

    for who in [None, Some("viewer"), Some("agent"), Some("manager")] {
        let client = match who {
            Some(role) => signed_in(&app, &format!("{role}@venue.example")).await,
            None => browser(),
        };
        let new_email = format!("ana.{}@new.example", who.unwrap_or("nobody"));
        let (status, proposed) = call(
            &app,
            &client,
            "propose_change",
            &[
                ("patron_id", &patron),
                ("new_email", &new_email),
                ("reason", "Phoned"),
            ],
        )
        .await;
        let request = if status == 200 {
            proposed.clone()
        } else {
            "1".to_string()
        };

        // (server function, its form, the lowest role it allows; None: anyone)
        type Row<'a> = (&'a str, Vec<(&'a str, &'a str)>, Option<&'a str>);
        let matrix: Vec<Row> = vec![
            ("current_admin", vec![], None),
            ("search_patrons", vec![("query", "ana")], Some("viewer")),
            ("get_patron", vec![("id", &patron)], Some("viewer")),
            ("recent_changes", vec![], Some("viewer")),
            ("audit_events", vec![], Some("viewer")),
            ("list_admins", vec![], Some("manager")),
            ("get_branding", vec![], Some("manager")),
            (
                "save_branding",
                vec![
                    ("org_name", "Teatro Matrix"),
                    ("colour", "#123456"),
                    ("logo_url", ""),
                    ("support_email", "help@venue.example"),
                ],
                Some("manager"),
            ),
            (
                "set_admin_disabled",
                vec![("admin_id", &viewer_id), ("disabled", "false")],
                Some("manager"),
            ),
            (
                "preview_proposal",
                vec![
                    ("patron_id", &patron),
                    ("new_email", "x@new.example"),
                    ("reason", "Phoned"),
                ],
                Some("agent"),
            ),
            (
                "resend_change",
                vec![("request_id", &request)],
                Some("agent"),
            ),
            (
                "cancel_change",
                vec![("request_id", &request)],
                Some("agent"),
            ),
        ];
        let mut calls = vec![("propose_change", status, proposed, Some("agent"))];
        for (name, form, minimum) in matrix {
            let (status, body) = call(&app, &client, name, &form).await;
            calls.push((name, status, body, minimum));
        }
        for (name, status, body, minimum) in calls {
            let allowed = match (minimum, who) {
                (None, _) => true,
                (Some(_), None) => false,
                (Some(min), Some(role)) => rank(role) >= rank(min),
            };
            if allowed {
                assert_eq!(status, 200, "{who:?} calling {name}: {body}");
            } else {
                assert_eq!(status, 500, "{who:?} calling {name}: {body}");
                let refusal = if who.is_none() {
                    "SignedOut"
                } else {
                    "Forbidden"
                };
                assert!(body.contains(refusal), "{who:?} calling {name}: {body}");
            }
        }
    }
    // Only the agent's and the manager's proposals exist, each cancelled by its author.
    let statuses: Vec<(String, Option<String>)> =
        sqlx::query_as("SELECT status, cancelled_by FROM change_requests ORDER BY id")
            .fetch_all(&app.pool)
            .await
            .unwrap();
    assert_eq!(
        statuses,
        vec![("cancelled".to_string(), Some("admin".to_string())); 2]
    );
}

#[tokio::test]
async fn proposal_errors_reach_the_form_typed() {
    let app = spawn_app().await;
    admin_with_password(&app, "agent@venue.example", "agent").await;
    let patron = app
        .add_patron("Ana García", "ana@example.org", "en")
        .await
        .to_string();
    app.add_patron("Bruno Okafor", "bruno@example.org", "en")
        .await;
    let client = signed_in(&app, "agent@venue.example").await;
    for (new_email, reason, expected) in [
        ("not an email", "Phoned", "InvalidEmail"),
        ("ana@example.org", "Phoned", "SameAsCurrent"),
        ("BRUNO@example.org", "Phoned", "BelongsToAnotherPatron"),
        ("ana@new.example", "  ", "ReasonRequired"),
        (
            "ana@new.example\r\nBcc: eve@evil.example",
            "Phoned",
            "InvalidEmail",
        ),
    ] {
        let (status, body) = call(
            &app,
            &client,
            "propose_change",
            &[
                ("patron_id", &patron),
                ("new_email", new_email),
                ("reason", reason),
            ],
        )
        .await;
        assert_eq!(status, 500);
        assert!(body.contains(expected), "{new_email:?}: {body}");
    }
    let (requests,): (i64,) = sqlx::query_as("SELECT count(*) FROM change_requests")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(requests, 0, "bad input writes nothing");

    let (_, preview) = call(
        &app,
        &client,
        "preview_proposal",
        &[
            ("patron_id", &patron),
            ("new_email", "ana@new.example"),
            ("reason", "Phoned"),
        ],
    )
    .await;
    assert!(
        preview.contains("Please confirm your new email address"),
        "{preview}"
    );
    assert!(
        !preview.contains("/c/"),
        "a preview carries no link: {preview}"
    );
}

#[tokio::test]
async fn cross_origin_posts_are_refused_before_they_act() {
    let app = spawn_app().await;
    admin_with_password(&app, "agent@venue.example", "agent").await;
    let client = browser();
    let response = client
        .post(format!("{}/api/sign_in", app.base_url))
        .header("origin", "https://evil.example")
        .header("sec-fetch-site", "cross-site")
        .form(&[
            ("email", "agent@venue.example"),
            ("password", "wrong password!"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 403);
    let (failures,): (i64,) = sqlx::query_as("SELECT count(*) FROM sign_in_failures")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(failures, 0, "the request never reached the server function");

    // A signed-in admin's session cannot be ridden from another site either.
    let client = signed_in(&app, "agent@venue.example").await;
    let response = client
        .post(format!("{}/api/search_patrons", app.base_url))
        .header("sec-fetch-site", "cross-site")
        .form(&[("query", "")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 403);
}

#[tokio::test]
async fn the_live_stream_is_for_signed_in_admins() {
    let app = spawn_app().await;
    admin_with_password(&app, "viewer@venue.example", "viewer").await;
    let anonymous = browser()
        .get(format!("{}/events", app.base_url))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status().as_u16(), 401);

    let client = signed_in(&app, "viewer@venue.example").await;
    let mut stream = client
        .get(format!("{}/events", app.base_url))
        .send()
        .await
        .unwrap();
    assert_eq!(stream.status().as_u16(), 200);
    assert!(stream.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/event-stream"));
    // An event recorded anywhere on the database reaches this instance's stream.
    let patron = app.add_patron("Ana García", "ana@example.org", "en").await;
    let agent = app.add_admin("agent@venue.example", "agent").await;
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    app.propose(agent, patron, "ana@new.example", "Phoned")
        .await;
    let chunk = tokio::time::timeout(std::time::Duration::from_secs(5), stream.chunk())
        .await
        .expect("an event within 5 s")
        .unwrap()
        .unwrap();
    let text = String::from_utf8_lossy(&chunk);
    assert!(text.contains("\"kind\":\"proposed\""), "{text}");
    assert!(
        !text.contains("ana@new.example"),
        "events carry ids, not addresses: {text}"
    );
}

#[tokio::test]
async fn the_audit_log_filters_and_exports_csv() {
    let app = spawn_app().await;
    admin_with_password(&app, "viewer@venue.example", "viewer").await;
    let agent = app.add_admin("agent@venue.example", "agent").await;
    let ana = app.add_patron("Ana García", "ana@example.org", "en").await;
    let bruno = app
        .add_patron("Bruno Okafor", "bruno@example.org", "en")
        .await;
    for (patron, email, reason) in [
        (ana, "ana@new.example", "=HYPERLINK(\"evil\")"),
        (bruno, "bruno@new.example", "Phoned"),
    ] {
        app.propose(agent, patron, email, reason).await;
    }

    let anonymous = browser()
        .get(format!("{}/audit.csv", app.base_url))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status().as_u16(), 401);

    let client = signed_in(&app, "viewer@venue.example").await;
    let patron = ana.to_string();
    let (status, body) = call(
        &app,
        &client,
        "audit_events",
        &[("filter[patron]", &patron)],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert!(
        body.contains("ana@new.example") && !body.contains("bruno@new.example"),
        "{body}"
    );

    let csv = client
        .get(format!(
            "{}/audit.csv?patron={patron}&kind=proposed",
            app.base_url
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(csv.status().as_u16(), 200);
    assert!(csv.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    let text = csv.text().await.unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "a header and one event: {text}");
    assert!(lines[0].starts_with("id,at,actor,admin"));
    assert!(lines[1].contains("ana@new.example"));
    assert!(
        lines[1].contains("'=HYPERLINK"),
        "formulas are defused: {text}"
    );

    let bad = client
        .get(format!("{}/audit.csv?from=yesterday", app.base_url))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status().as_u16(), 400);
    assert!(bad.text().await.unwrap().contains("date like 2026-12-04"));
}

#[tokio::test]
async fn managers_add_and_disable_admins() {
    let app = spawn_app().await;
    admin_with_password(&app, "manager@venue.example", "manager").await;
    admin_with_password(&app, "agent@venue.example", "agent").await;
    let agent = signed_in(&app, "agent@venue.example").await;
    let (_, body) = call(
        &app,
        &agent,
        "add_admin",
        &[
            ("email", "new@venue.example"),
            ("display_name", "New"),
            ("role", "manager"),
            ("password", PASSWORD),
        ],
    )
    .await;
    assert!(
        body.contains("Forbidden"),
        "an agent cannot add admins: {body}"
    );

    let manager = signed_in(&app, "manager@venue.example").await;
    for (form, expected) in [
        (
            [
                ("email", "not an email"),
                ("display_name", "New"),
                ("role", "agent"),
                ("password", PASSWORD),
            ],
            "Invalid",
        ),
        (
            [
                ("email", "new@venue.example"),
                ("display_name", "New"),
                ("role", "owner"),
                ("password", PASSWORD),
            ],
            "viewer, agent or manager",
        ),
        (
            [
                ("email", "new@venue.example"),
                ("display_name", "New"),
                ("role", "agent"),
                ("password", "short"),
            ],
            "12 characters",
        ),
        (
            [
                ("email", "AGENT@venue.example"),
                ("display_name", "Dup"),
                ("role", "agent"),
                ("password", PASSWORD),
            ],
            "already exists",
        ),
    ] {
        let (status, body) = call(&app, &manager, "add_admin", &form).await;
        assert_eq!(status, 500, "{body}");
        assert!(body.contains(expected), "{form:?}: {body}");
    }
    let (status, body) = call(
        &app,
        &manager,
        "add_admin",
        &[
            ("email", "new@venue.example"),
            ("display_name", "New"),
            ("role", "viewer"),
            ("password", PASSWORD),
        ],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let (_, listed) = call(&app, &manager, "list_admins", &[]).await;
    assert!(listed.contains("new@venue.example"), "{listed}");
    assert!(
        !listed.contains("argon2"),
        "no hashes leave the server: {listed}"
    );

    // Disabling takes effect at once, on the disabled admin's live session too.
    let (agent_id,): (i64,) =
        sqlx::query_as("SELECT id FROM admins WHERE email = 'agent@venue.example'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    let (status, body) = call(
        &app,
        &manager,
        "set_admin_disabled",
        &[("admin_id", &agent_id.to_string()), ("disabled", "true")],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let (_, body) = call(&app, &agent, "search_patrons", &[("query", "")]).await;
    assert!(body.contains("SignedOut"), "{body}");
    let (manager_id,): (i64,) =
        sqlx::query_as("SELECT id FROM admins WHERE email = 'manager@venue.example'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    let (_, body) = call(
        &app,
        &manager,
        "set_admin_disabled",
        &[("admin_id", &manager_id.to_string()), ("disabled", "true")],
    )
    .await;
    assert!(body.contains("cannot disable yourself"), "{body}");
    let kinds: Vec<(String, i64)> = sqlx::query_as(
        "SELECT kind, admin_id FROM audit_events WHERE kind LIKE 'admin_%' ORDER BY id",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert_eq!(
        kinds,
        vec![
            ("admin_added".to_string(), manager_id),
            ("admin_disabled".to_string(), manager_id)
        ],
        "each change of access is in the audit log, under the manager who made it"
    );
}

#[tokio::test]
async fn managers_change_the_branding_patrons_see() {
    let app = spawn_app().await;
    admin_with_password(&app, "manager@venue.example", "manager").await;
    let manager = signed_in(&app, "manager@venue.example").await;
    let branding_events = || async {
        let (n,): (i64,) =
            sqlx::query_as("SELECT count(*) FROM audit_events WHERE kind = 'branding_changed'")
                .fetch_one(&app.pool)
                .await
                .unwrap();
        n
    };
    let (_, before) = call(&app, &manager, "get_branding", &[]).await;
    assert!(
        before.contains("Teatro Demo") && before.contains("configuration"),
        "{before}"
    );

    let good = [
        ("org_name", "Teatro Nuevo"),
        ("colour", "#0a5c36"),
        ("logo_url", "https://cdn.teatro.example/logo.png"),
        ("support_email", "ayuda@teatro.example"),
    ];
    let with = |field: &str, value: &'static str| {
        good.map(|(k, v)| if k == field { (k, value) } else { (k, v) })
    };
    for (form, expected) in [
        (
            with("org_name", "Teatro\r\nBcc: all@evil.example"),
            "one line",
        ),
        (with("colour", "red;}body{display:none"), "#rgb"),
        (with("logo_url", "javascript:alert(1)"), "https://"),
        (
            with("support_email", "help@teatro.example\nBcc: x@evil.example"),
            "support address",
        ),
    ] {
        let (status, body) = call(&app, &manager, "save_branding", &form).await;
        assert_eq!(status, 500, "{form:?}: {body}");
        assert!(body.contains(expected), "{form:?}: {body}");
    }
    assert_eq!(branding_events().await, 0, "a refused form writes nothing");
    let css = app
        .http
        .get(format!("{}/brand.css", app.base_url))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        css.contains("#7a1f5c"),
        "the configured colour until a change: {css}"
    );

    let (status, body) = call(&app, &manager, "save_branding", &good).await;
    assert_eq!(status, 200, "{body}");
    let (_, after) = call(&app, &manager, "get_branding", &[]).await;
    assert!(
        after.contains("Teatro Nuevo") && after.contains("Saved by Admin manager"),
        "{after}"
    );
    let (detail,): (serde_json::Value,) =
        sqlx::query_as("SELECT detail FROM audit_events WHERE kind = 'branding_changed'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(detail["before"]["org_name"], "Teatro Demo");
    assert_eq!(detail["after"]["colour"], "#0a5c36");

    // Patrons see it at once: the stylesheet, the message and the page.
    let css = app
        .http
        .get(format!("{}/brand.css", app.base_url))
        .send()
        .await
        .unwrap();
    assert_eq!(css.headers()["cache-control"], "no-cache");
    assert!(css.text().await.unwrap().contains("#0a5c36"));
    let patron = app.add_patron("Ana García", "ana@old.example", "en").await;
    let (status, body) = call(
        &app,
        &manager,
        "propose_change",
        &[
            ("patron_id", &patron.to_string()),
            ("new_email", "ana@new.example"),
            ("reason", "Phoned"),
        ],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    app.deliver_all().await;
    let to_new = app
        .smtp
        .received()
        .into_iter()
        .find(|m| m.to() == "ana@new.example")
        .expect("a message to the new address");
    assert!(
        to_new.subject().contains("Teatro Nuevo"),
        "{}",
        to_new.subject()
    );
    assert!(to_new.text().contains("ayuda@teatro.example"));
    assert!(to_new
        .html()
        .contains("https://cdn.teatro.example/logo.png"));
    let (_, page) = app.page(&to_new.link_token().unwrap()).await;
    assert!(page.contains("Teatro Nuevo"), "{page}");
    assert!(!page.contains("Teatro Demo"), "{page}");
}

#[tokio::test]
async fn patron_search_matches_names_and_addresses_literally_and_pages_by_id() {
    let app = spawn_app().await;
    admin_with_password(&app, "viewer@venue.example", "viewer").await;
    let ana = app.add_patron("Ana García", "ana@old.example", "en").await;
    let anabel = app.add_patron("Anabel Smith", "as@box.example", "en").await;
    let percent = app.add_patron("Bruno 100%", "b_r@box.example", "en").await;
    for i in 0..30 {
        app.add_patron(
            &format!("Page Test {i}"),
            &format!("page{i}@box.example"),
            "en",
        )
        .await;
    }
    let agent = app.add_admin("agent@venue.example", "agent").await;
    app.propose(agent, ana, "ana@new.example", "Phoned").await;
    let viewer = signed_in(&app, "viewer@venue.example").await;
    let search = |query: &'static str, after: Option<i64>| {
        let (app, viewer) = (&app, &viewer);
        async move {
            let after = after.map(|a| a.to_string()).unwrap_or_default();
            let mut form = vec![("query", query)];
            if !after.is_empty() {
                form.push(("after", after.as_str()));
            }
            let (status, body) = call(app, viewer, "search_patrons", &form).await;
            assert_eq!(status, 200, "{query}: {body}");
            let page: app::patrons::PatronPage = serde_json::from_str(&body).unwrap();
            page
        }
    };
    let ids =
        |page: &app::patrons::PatronPage| page.patrons.iter().map(|p| p.id).collect::<Vec<_>>();

    assert_eq!(
        ids(&search("ANA GARC", None).await),
        vec![ana],
        "a name, any case"
    );
    assert_eq!(
        ids(&search("@old.example", None).await),
        vec![ana],
        "an address"
    );
    assert_eq!(
        ids(&search("ana", None).await),
        vec![ana, anabel],
        "either column"
    );
    assert_eq!(
        ids(&search("%", None).await),
        vec![percent],
        "% is a character, not a wildcard"
    );
    assert_eq!(ids(&search("b_r", None).await), vec![percent], "so is _");
    assert!(search("a_a", None).await.patrons.is_empty());
    let found = search("ana garcía", None).await;
    assert!(found.patrons[0].pending, "the pending request shows");
    assert!(!search("anabel", None).await.patrons[0].pending);

    let first = search("page test", None).await;
    assert_eq!(first.patrons.len(), 25);
    let rest = search("page test", first.next_after).await;
    assert_eq!(rest.patrons.len(), 5);
    assert_eq!(rest.next_after, None);
    assert!(
        ids(&first).last() < ids(&rest).first(),
        "pages follow in id order"
    );
    let everyone = search("", None).await;
    assert_eq!(everyone.patrons.len(), 25);
    assert_eq!(everyone.patrons[0].id, ana);
}
