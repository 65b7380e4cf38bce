//! The append-only audit log: who did what to whom, when, and from where. The table's
//! triggers refuse UPDATE, DELETE and TRUNCATE; this module only ever inserts.

use sqlx::PgConnection;

/// Who caused an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Actor {
    Admin(i64),
    /// The patron, acting through a link from an email.
    PatronViaLink,
    System,
}

/// The version of the wording a patron saw when deciding. Bump it when the page or the
/// message text changes, so the record of consent names what was shown.
pub const CONSENT_TEXT_VERSION: &str = "consent-2026-12-04";

#[derive(Debug, Default)]
pub struct AuditEvent<'a> {
    pub kind: &'a str,
    pub patron_id: Option<i64>,
    pub request_id: Option<i64>,
    pub old_value: Option<&'a str>,
    pub new_value: Option<&'a str>,
    pub reason: Option<&'a str>,
    pub ip: Option<&'a str>,
    pub user_agent: Option<&'a str>,
    pub text_version: Option<&'a str>,
    pub detail: Option<serde_json::Value>,
}

pub async fn record(
    conn: &mut PgConnection,
    actor: Actor,
    event: AuditEvent<'_>,
) -> Result<(), sqlx::Error> {
    let (actor_kind, admin_id) = match actor {
        Actor::Admin(id) => ("admin", Some(id)),
        Actor::PatronViaLink => ("patron", None),
        Actor::System => ("system", None),
    };
    sqlx::query(
        "INSERT INTO audit_events
            (actor, admin_id, patron_id, request_id, kind, old_value, new_value, reason,
             ip, user_agent, text_version, detail)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
    )
    .bind(actor_kind)
    .bind(admin_id)
    .bind(event.patron_id)
    .bind(event.request_id)
    .bind(event.kind)
    .bind(event.old_value)
    .bind(event.new_value)
    .bind(event.reason)
    .bind(event.ip)
    .bind(event.user_agent.map(|ua| truncate(ua, 512)))
    .bind(event.text_version)
    .bind(event.detail)
    .execute(conn)
    .await?;
    Ok(())
}

fn truncate(value: &str, max_chars: usize) -> String {
    value.chars().take(max_chars).collect()
}
