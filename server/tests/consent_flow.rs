//! The consent flow as patrons and admins live it: every path, with the patron row, the
//! request state, the audit trail and the exact recipients of every message.

mod common;

use app::changes::ssr::{cancel, expire_due, propose, Proposal};
use app::changes::{ChangeError, Reason};
use app::email::EmailAddress;
use common::{spawn_app, TestApp};

const OLD: &str = "ana.garcia@old.example";
const NEW: &str = "ana@new.example";
const AGENT: &str = "agent@venue.example";
const MANAGER: &str = "manager@venue.example";

struct Scenario {
    app: TestApp,
    agent: i64,
    patron: i64,
}

async fn scenario() -> Scenario {
    let app = spawn_app().await;
    let agent = app.add_admin(AGENT, "agent").await;
    app.add_admin(MANAGER, "manager").await;
    let patron = app.add_patron("Ana García", OLD, "en").await;
    Scenario { app, agent, patron }
}

async fn propose_new_email(s: &Scenario, new_email: &str) -> Result<i64, ChangeError> {
    propose(
        &s.app.pool,
        &s.app.state.settings,
        s.agent,
        Proposal {
            patron_id: s.patron,
            new_email: EmailAddress::parse(new_email)?,
            reason: Reason::parse("Patron phoned the box office")?,
        },
    )
    .await
}

/// Proposes, delivers, and returns (request id, decide token, not-me token).
async fn proposed(s: &Scenario) -> (i64, String, String) {
    let request = propose_new_email(s, NEW).await.unwrap();
    assert_eq!(s.app.deliver_all().await, 2);
    let to_new = s.app.smtp.to(NEW);
    let to_old = s.app.smtp.to(OLD);
    assert_eq!(to_new.len(), 1, "one message to the new address");
    assert_eq!(to_old.len(), 1, "one message to the old address");
    let decide = to_new[0].link_token().expect("the new address gets a link");
    let not_me = to_old[0].link_token().expect("the old address gets a link");
    assert_ne!(decide, not_me);
    s.app.smtp.clear();
    (request, decide, not_me)
}

#[tokio::test]
async fn proposal_messages_say_who_why_and_when_and_change_nothing() {
    let s = scenario().await;
    let request = propose_new_email(&s, NEW).await.unwrap();
    s.app.deliver_all().await;

    let new = &s.app.smtp.to(NEW)[0];
    assert!(new.subject().contains("Teatro Demo"));
    let text = new.text();
    assert!(
        text.contains("Patron phoned the box office"),
        "the reason is shown"
    );
    assert!(
        text.contains("a•••@old.example"),
        "the old address is masked: {text}"
    );
    assert!(!text.contains(OLD));
    assert!(text.contains("expires"));
    assert!(
        new.html().contains("Review the change"),
        "multipart with an HTML part"
    );
    assert!(new.message_id().contains('@'));

    let old = &s.app.smtp.to(OLD)[0];
    assert!(old.text().contains("If this wasn't you"));
    assert!(
        !old.text().contains(NEW),
        "the old address sees the new one masked"
    );

    assert_eq!(s.app.patron_email(s.patron).await, OLD);
    assert_eq!(s.app.request_status(request).await, "pending");
    assert_eq!(s.app.audit_kinds(request).await, ["proposed"]);
}

#[tokio::test]
async fn approve_changes_the_patron_and_tells_everyone() {
    let s = scenario().await;
    let (request, decide, _) = proposed(&s).await;

    let (status, page) = s.app.page(&decide).await;
    assert_eq!(status, 200);
    assert!(page.contains(NEW) && page.contains("Approve"));

    let response = s.app.post_choice(&decide, "approve").await;
    assert_eq!(response.status().as_u16(), 303);

    assert_eq!(s.app.patron_email(s.patron).await, NEW);
    assert_eq!(s.app.request_status(request).await, "approved");
    assert_eq!(s.app.audit_kinds(request).await, ["proposed", "approved"]);
    s.app.deliver_all().await;
    assert_eq!(s.app.smtp.recipients(), [AGENT, OLD, NEW]);

    let (_, after) = s.app.page(&decide).await;
    assert!(after.contains("Change approved"));
    assert!(!after.contains(NEW), "a closed page shows no personal data");

    let (ip, text_version): (Option<String>, Option<String>) = sqlx::query_as(
        "SELECT ip, text_version FROM audit_events WHERE request_id = $1 AND kind = 'approved'",
    )
    .bind(request)
    .fetch_one(&s.app.pool)
    .await
    .unwrap();
    assert_eq!(ip.as_deref(), Some("127.0.0.1"));
    assert!(
        text_version.is_some(),
        "the evidence names the text the patron saw"
    );
}

#[tokio::test]
async fn reject_keeps_the_address_and_tells_everyone() {
    let s = scenario().await;
    let (request, decide, _) = proposed(&s).await;
    s.app.post_choice(&decide, "reject").await;

    assert_eq!(s.app.patron_email(s.patron).await, OLD);
    assert_eq!(s.app.request_status(request).await, "rejected");
    assert_eq!(s.app.audit_kinds(request).await, ["proposed", "rejected"]);
    s.app.deliver_all().await;
    assert_eq!(s.app.smtp.recipients(), [AGENT, OLD, NEW]);
    assert!(s.app.smtp.to(NEW)[0].text().contains("rejected"));
}

#[tokio::test]
async fn this_wasnt_me_cancels_and_alerts_the_admins() {
    let s = scenario().await;
    let (request, decide, not_me) = proposed(&s).await;

    // The old address's link cannot approve, and the new one cannot say "not me".
    s.app.post_choice(&not_me, "approve").await;
    s.app.post_choice(&decide, "not_me").await;
    assert_eq!(s.app.request_status(request).await, "pending");

    let (_, page) = s.app.page(&not_me).await;
    assert!(page.contains("This wasn't me"));
    s.app.post_choice(&not_me, "not_me").await;

    assert_eq!(s.app.patron_email(s.patron).await, OLD);
    assert_eq!(s.app.request_status(request).await, "cancelled");
    assert_eq!(s.app.audit_kinds(request).await, ["proposed", "not_me"]);
    s.app.deliver_all().await;
    assert_eq!(s.app.smtp.recipients(), [AGENT, MANAGER]);
    assert!(s.app.smtp.to(MANAGER)[0]
        .text()
        .contains("did not ask for this"));

    let (_, page) = s.app.page(&decide).await;
    assert!(page.contains("Request cancelled"));
}

#[tokio::test]
async fn an_admin_can_cancel_and_the_links_say_so() {
    let s = scenario().await;
    let (request, decide, _) = proposed(&s).await;
    cancel(&s.app.pool, s.agent, request).await.unwrap();
    assert_eq!(
        cancel(&s.app.pool, s.agent, request).await,
        Err(ChangeError::NotPending)
    );

    s.app.post_choice(&decide, "approve").await;
    assert_eq!(s.app.patron_email(s.patron).await, OLD);
    assert_eq!(s.app.request_status(request).await, "cancelled");
    assert_eq!(s.app.audit_kinds(request).await, ["proposed", "cancelled"]);
    assert_eq!(
        s.app.deliver_all().await,
        0,
        "an admin's own cancel mails nobody"
    );
    assert!(s.app.page(&decide).await.1.contains("Request cancelled"));
}

#[tokio::test]
async fn requests_expire_and_their_links_stop_working() {
    let s = scenario().await;
    let (request, decide, _) = proposed(&s).await;
    sqlx::query(
        "UPDATE change_requests SET expires_at = now() - interval '1 second' WHERE id = $1",
    )
    .bind(request)
    .execute(&s.app.pool)
    .await
    .unwrap();

    // Before the sweep runs, the link already refuses to act.
    s.app.post_choice(&decide, "approve").await;
    assert_eq!(s.app.request_status(request).await, "pending");
    assert!(s.app.page(&decide).await.1.contains("expired"));

    assert_eq!(
        expire_due(&s.app.pool, &s.app.state.settings)
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        expire_due(&s.app.pool, &s.app.state.settings)
            .await
            .unwrap(),
        0
    );
    assert_eq!(s.app.request_status(request).await, "expired");
    assert_eq!(s.app.patron_email(s.patron).await, OLD);
    assert_eq!(s.app.audit_kinds(request).await, ["proposed", "expired"]);
    s.app.deliver_all().await;
    assert_eq!(s.app.smtp.recipients(), [AGENT]);
}

#[tokio::test]
async fn a_newer_request_supersedes_the_old_one() {
    let s = scenario().await;
    let (first, first_decide, _) = proposed(&s).await;
    let second = propose_new_email(&s, "ana@newer.example").await.unwrap();

    assert_eq!(s.app.request_status(first).await, "superseded");
    assert_eq!(s.app.audit_kinds(first).await, ["proposed", "superseded"]);
    s.app.post_choice(&first_decide, "approve").await;
    assert_eq!(s.app.patron_email(s.patron).await, OLD);
    assert!(s.app.page(&first_decide).await.1.contains("replaced"));

    s.app.deliver_all().await;
    assert_eq!(s.app.smtp.recipients(), [OLD, "ana@newer.example"]);
    let token = s.app.smtp.to("ana@newer.example")[0].link_token().unwrap();
    s.app.post_choice(&token, "approve").await;
    assert_eq!(s.app.request_status(second).await, "approved");
    assert_eq!(s.app.patron_email(s.patron).await, "ana@newer.example");
}

#[tokio::test]
async fn resending_replaces_the_link() {
    let s = scenario().await;
    let (request, old_token, _) = proposed(&s).await;
    app::changes::ssr::resend(&s.app.pool, &s.app.state.settings, s.agent, request)
        .await
        .unwrap();
    s.app.deliver_all().await;
    let new_token = s.app.smtp.to(NEW)[0].link_token().unwrap();
    assert_ne!(new_token, old_token);

    s.app.post_choice(&old_token, "approve").await;
    assert_eq!(
        s.app.request_status(request).await,
        "pending",
        "the old link is dead"
    );
    assert!(s.app.page(&old_token).await.1.contains("replaced"));
    s.app.post_choice(&new_token, "approve").await;
    assert_eq!(s.app.request_status(request).await, "approved");
}

#[tokio::test]
async fn proposals_are_checked_before_anything_is_written() {
    let s = scenario().await;
    s.app
        .add_patron("Bruno Okafor", "bruno@example.org", "es")
        .await;
    let viewer = s.app.add_admin("viewer@venue.example", "viewer").await;

    assert_eq!(
        propose_new_email(&s, "ANA.GARCIA@old.example").await,
        Err(ChangeError::SameAsCurrent)
    );
    assert_eq!(
        propose_new_email(&s, "Bruno@Example.org").await,
        Err(ChangeError::BelongsToAnotherPatron)
    );
    assert!(matches!(
        propose_new_email(&s, "not an email").await,
        Err(ChangeError::InvalidEmail(_))
    ));
    assert!(matches!(
        propose_new_email(&s, "ana@new.example\r\nBcc: eve@evil.example").await,
        Err(ChangeError::InvalidEmail(_))
    ));
    let as_viewer = propose(
        &s.app.pool,
        &s.app.state.settings,
        viewer,
        Proposal {
            patron_id: s.patron,
            new_email: EmailAddress::parse(NEW).unwrap(),
            reason: Reason::parse("because").unwrap(),
        },
    )
    .await;
    assert_eq!(as_viewer, Err(ChangeError::Forbidden));

    let (requests,): (i64,) = sqlx::query_as("SELECT count(*) FROM change_requests")
        .fetch_one(&s.app.pool)
        .await
        .unwrap();
    let (messages,): (i64,) = sqlx::query_as("SELECT count(*) FROM messages")
        .fetch_one(&s.app.pool)
        .await
        .unwrap();
    let (events,): (i64,) = sqlx::query_as("SELECT count(*) FROM audit_events")
        .fetch_one(&s.app.pool)
        .await
        .unwrap();
    assert_eq!((requests, messages, events), (0, 0, 0));
}

#[tokio::test]
async fn approval_fails_cleanly_when_the_address_was_taken_meanwhile() {
    let s = scenario().await;
    let (request, decide, _) = proposed(&s).await;
    s.app
        .add_patron("Someone Else", "ANA@new.example", "en")
        .await;

    s.app.post_choice(&decide, "approve").await;
    assert_eq!(s.app.patron_email(s.patron).await, OLD);
    assert_eq!(s.app.request_status(request).await, "cancelled");
    assert_eq!(
        s.app.audit_kinds(request).await,
        ["proposed", "email_taken"]
    );
    assert!(s.app.page(&decide).await.1.contains("not possible"));
    s.app.deliver_all().await;
    assert_eq!(s.app.smtp.recipients(), [AGENT]);
}

#[tokio::test]
async fn the_patron_locale_is_used() {
    let s = scenario().await;
    let patron = s
        .app
        .add_patron("Lucía Moreau", "lucia@example.org", "es")
        .await;
    propose(
        &s.app.pool,
        &s.app.state.settings,
        s.agent,
        Proposal {
            patron_id: patron,
            new_email: EmailAddress::parse("lucia@nuevo.example").unwrap(),
            reason: Reason::parse("Cambio pedido por teléfono").unwrap(),
        },
    )
    .await
    .unwrap();
    s.app.deliver_all().await;
    let message = &s.app.smtp.to("lucia@nuevo.example")[0];
    assert!(
        message.subject().contains("Confirme"),
        "{}",
        message.subject()
    );
    let token = message.link_token().unwrap();
    assert!(s.app.page(&token).await.1.contains("Aprobar el cambio"));
}
