//! The operations on change requests. Each runs in one transaction together with its audit
//! event, its queued messages and its live notification, so none of them can be half done.
//!
//! Lock order, everywhere: the patron row, then the request row. Decisions happen under
//! the request's row lock, or in one `UPDATE … WHERE status = 'pending'`; nothing reads a
//! status and writes it later without holding the lock.

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool, Postgres, Transaction};

use super::token::LinkToken;
use super::{ChangeError, LinkAction, LinkPurpose, LinkState, OpenRequest, Reason, RequestStatus};
use crate::audit::{self, Actor, AuditEvent, CONSENT_TEXT_VERSION};
use crate::email::{mask, EmailAddress};
use crate::events;
use crate::locale::Locale;
use crate::mail::outbox::{enqueue, NewMessage};
use crate::mail::MessageKind;
use crate::settings::Settings;

pub const FIELD_EMAIL: &str = "email";

impl From<sqlx::Error> for ChangeError {
    fn from(error: sqlx::Error) -> Self {
        tracing::error!(error = %error, "database error in a change-request operation");
        ChangeError::Internal
    }
}

/// An admin's proposal, already parsed.
pub struct Proposal {
    pub patron_id: i64,
    pub new_email: EmailAddress,
    pub reason: Reason,
}

/// Where a patron's decision came from, kept as evidence.
#[derive(Debug, Clone, Default)]
pub struct DecisionContext {
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

#[derive(sqlx::FromRow)]
struct PatronRow {
    email: String,
    locale: String,
}

#[derive(sqlx::FromRow)]
struct RequestRow {
    id: i64,
    patron_id: i64,
    old_value: String,
    new_value: String,
    reason: String,
    status: String,
    requested_by: i64,
    expires_at: DateTime<Utc>,
}

impl RequestRow {
    fn status(&self) -> RequestStatus {
        RequestStatus::parse(&self.status).unwrap_or(RequestStatus::Pending)
    }
}

/// Proposes a new primary email for a patron. Supersedes any pending request for the
/// same patron and field, and queues the messages to the new and the old address.
pub async fn propose(
    pool: &PgPool,
    settings: &Settings,
    admin_id: i64,
    proposal: Proposal,
) -> Result<i64, ChangeError> {
    let mut tx = pool.begin().await?;
    require_active_admin(&mut tx, admin_id, &["agent", "manager"]).await?;

    let patron: PatronRow =
        sqlx::query_as("SELECT email, locale FROM patrons WHERE id = $1 FOR UPDATE")
            .bind(proposal.patron_id)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(ChangeError::PatronNotFound)?;
    let new_email = proposal.new_email.as_str();
    if patron.email.to_lowercase() == new_email.to_lowercase() {
        return Err(ChangeError::SameAsCurrent);
    }
    if email_taken(&mut tx, new_email, proposal.patron_id).await? {
        return Err(ChangeError::BelongsToAnotherPatron);
    }

    let superseded: Vec<(i64, String, String)> = sqlx::query_as(
        "UPDATE change_requests SET status = 'superseded', decided_at = now()
         WHERE patron_id = $1 AND field = $2 AND status = 'pending'
         RETURNING id, old_value, new_value",
    )
    .bind(proposal.patron_id)
    .bind(FIELD_EMAIL)
    .fetch_all(&mut *tx)
    .await?;

    let (request_id,): (i64,) = sqlx::query_as(
        "INSERT INTO change_requests
            (patron_id, field, old_value, new_value, reason, requested_by, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, now() + $7)
         RETURNING id",
    )
    .bind(proposal.patron_id)
    .bind(FIELD_EMAIL)
    .bind(&patron.email)
    .bind(new_email)
    .bind(proposal.reason.as_str())
    .bind(admin_id)
    .bind(settings.token_ttl)
    .fetch_one(&mut *tx)
    .await?;

    for (old_id, old_value, new_value) in &superseded {
        sqlx::query("UPDATE change_requests SET superseded_by = $1 WHERE id = $2")
            .bind(request_id)
            .bind(old_id)
            .execute(&mut *tx)
            .await?;
        audit::record(
            &mut tx,
            Actor::Admin(admin_id),
            AuditEvent {
                kind: "superseded",
                patron_id: Some(proposal.patron_id),
                request_id: Some(*old_id),
                old_value: Some(old_value),
                new_value: Some(new_value),
                detail: Some(serde_json::json!({ "superseded_by": request_id })),
                ..Default::default()
            },
        )
        .await?;
        events::notify(
            &mut tx,
            "superseded",
            Some(*old_id),
            Some(proposal.patron_id),
        )
        .await?;
    }

    audit::record(
        &mut tx,
        Actor::Admin(admin_id),
        AuditEvent {
            kind: "proposed",
            patron_id: Some(proposal.patron_id),
            request_id: Some(request_id),
            old_value: Some(&patron.email),
            new_value: Some(new_email),
            reason: Some(proposal.reason.as_str()),
            ..Default::default()
        },
    )
    .await?;

    let locale = Locale::parse(&patron.locale).unwrap_or_default();
    for (kind, to) in [
        (MessageKind::ProposalToNew, new_email),
        (MessageKind::ProposalToOld, patron.email.as_str()),
    ] {
        enqueue(
            &mut tx,
            settings,
            NewMessage {
                kind,
                request_id: Some(request_id),
                patron_id: Some(proposal.patron_id),
                to,
                locale,
            },
        )
        .await?;
    }
    events::notify(
        &mut tx,
        "proposed",
        Some(request_id),
        Some(proposal.patron_id),
    )
    .await?;
    tx.commit().await?;

    tracing::info!(
        request_id,
        patron_id = proposal.patron_id,
        admin_id,
        new_email = %proposal.new_email.masked(),
        superseded = superseded.len(),
        "change proposed"
    );
    Ok(request_id)
}

/// Reads what a link leads to. Changes nothing: mail scanners open links too.
pub async fn view_link(pool: &PgPool, token: &LinkToken) -> Result<LinkState, ChangeError> {
    let mut conn = pool.acquire().await?;
    Ok(match load_link(&mut conn, token, false).await? {
        Some(link) => link.state(Utc::now()),
        None => LinkState::Invalid,
    })
}

/// Acts on a link: approve or reject from the new address, or "this wasn't me" from the
/// old one. Returns the state the link is in afterwards; a closed request is not an error,
/// it is a page.
pub async fn act_on_link(
    pool: &PgPool,
    settings: &Settings,
    token: &LinkToken,
    action: LinkAction,
    context: &DecisionContext,
) -> Result<LinkState, ChangeError> {
    let mut tx = pool.begin().await?;
    // Lock in the global order: the patron, then the request.
    let Some(unlocked) = load_link(&mut tx, token, false).await? else {
        return Ok(LinkState::Invalid);
    };
    if unlocked.purpose != action.purpose() {
        return Ok(LinkState::Invalid);
    }
    sqlx::query("SELECT 1 FROM patrons WHERE id = $1 FOR UPDATE")
        .bind(unlocked.request.patron_id)
        .execute(&mut *tx)
        .await?;
    let Some(link) = load_link(&mut tx, token, true).await? else {
        return Ok(LinkState::Invalid);
    };
    let state = link.state(Utc::now());
    if !matches!(state, LinkState::Open(_)) {
        return Ok(state);
    }

    let request = &link.request;
    let outcome = match action {
        LinkAction::Approve => {
            if apply_new_email(&mut tx, request).await? {
                RequestStatus::Approved
            } else {
                RequestStatus::Cancelled
            }
        }
        LinkAction::Reject => RequestStatus::Rejected,
        LinkAction::NotMe => RequestStatus::Cancelled,
    };
    let cancelled_by = match (action, outcome) {
        (_, RequestStatus::Approved | RequestStatus::Rejected) => None,
        (LinkAction::NotMe, _) => Some("patron"),
        _ => Some("conflict"),
    };
    sqlx::query(
        "UPDATE change_requests
         SET status = $2, cancelled_by = $3, decided_at = now(),
             decided_ip = $4, decided_user_agent = $5
         WHERE id = $1 AND status = 'pending'",
    )
    .bind(request.id)
    .bind(outcome.as_str())
    .bind(cancelled_by)
    .bind(context.ip.as_deref())
    .bind(
        context
            .user_agent
            .as_deref()
            .map(|ua| ua.chars().take(512).collect::<String>()),
    )
    .execute(&mut *tx)
    .await?;
    sqlx::query("UPDATE link_tokens SET used_at = now() WHERE token_hash = $1")
        .bind(token.hash())
        .execute(&mut *tx)
        .await?;

    let audit_kind = match (action, outcome) {
        (_, RequestStatus::Approved) => "approved",
        (_, RequestStatus::Rejected) => "rejected",
        (LinkAction::NotMe, _) => "not_me",
        _ => "email_taken",
    };
    audit::record(
        &mut tx,
        Actor::PatronViaLink,
        AuditEvent {
            kind: audit_kind,
            patron_id: Some(request.patron_id),
            request_id: Some(request.id),
            old_value: Some(&request.old_value),
            new_value: Some(&request.new_value),
            reason: Some(&request.reason),
            ip: context.ip.as_deref(),
            user_agent: context.user_agent.as_deref(),
            text_version: Some(CONSENT_TEXT_VERSION),
            detail: None,
        },
    )
    .await?;

    let mut recipients: Vec<(MessageKind, String, Locale)> = Vec::new();
    let patron_locale = link.locale;
    if matches!(outcome, RequestStatus::Approved | RequestStatus::Rejected) {
        recipients.push((
            MessageKind::OutcomeToPatron,
            request.new_value.clone(),
            patron_locale,
        ));
        recipients.push((
            MessageKind::OutcomeToPatron,
            request.old_value.clone(),
            patron_locale,
        ));
    }
    for address in
        admins_to_tell(&mut tx, request.requested_by, action == LinkAction::NotMe).await?
    {
        recipients.push((MessageKind::OutcomeToAdmin, address, Locale::En));
    }
    for (kind, to, locale) in &recipients {
        enqueue(
            &mut tx,
            settings,
            NewMessage {
                kind: *kind,
                request_id: Some(request.id),
                patron_id: Some(request.patron_id),
                to,
                locale: *locale,
            },
        )
        .await?;
    }
    events::notify(
        &mut tx,
        outcome.as_str(),
        Some(request.id),
        Some(request.patron_id),
    )
    .await?;
    tx.commit().await?;

    tracing::info!(
        request_id = request.id,
        patron_id = request.patron_id,
        outcome = outcome.as_str(),
        via = audit_kind,
        "patron acted on a link"
    );
    Ok(match (action, outcome) {
        (_, RequestStatus::Approved) => LinkState::Approved,
        (_, RequestStatus::Rejected) => LinkState::Rejected,
        (LinkAction::NotMe, _) => LinkState::Cancelled,
        _ => LinkState::Conflict,
    })
}

/// Sets the patron's email to the request's new value, unless another patron holds it
/// by now. Runs in a savepoint so a lost race leaves the transaction usable.
async fn apply_new_email(
    tx: &mut Transaction<'_, Postgres>,
    request: &RequestRow,
) -> Result<bool, sqlx::Error> {
    if email_taken(tx, &request.new_value, request.patron_id).await? {
        return Ok(false);
    }
    let mut savepoint = sqlx::Connection::begin(&mut **tx).await?;
    let updated = sqlx::query("UPDATE patrons SET email = $2, updated_at = now() WHERE id = $1")
        .bind(request.patron_id)
        .bind(&request.new_value)
        .execute(&mut *savepoint)
        .await;
    match updated {
        Ok(_) => {
            savepoint.commit().await?;
            Ok(true)
        }
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
            savepoint.rollback().await?;
            Ok(false)
        }
        Err(e) => Err(e),
    }
}

/// An admin withdraws a pending request.
pub async fn cancel(pool: &PgPool, admin_id: i64, request_id: i64) -> Result<(), ChangeError> {
    let mut tx = pool.begin().await?;
    require_active_admin(&mut tx, admin_id, &["agent", "manager"]).await?;
    let cancelled: Option<(i64, String, String)> = sqlx::query_as(
        "UPDATE change_requests
         SET status = 'cancelled', cancelled_by = 'admin', decided_at = now()
         WHERE id = $1 AND status = 'pending'
         RETURNING patron_id, old_value, new_value",
    )
    .bind(request_id)
    .fetch_optional(&mut *tx)
    .await?;
    let Some((patron_id, old_value, new_value)) = cancelled else {
        return Err(not_pending_or_missing(&mut tx, request_id).await?);
    };
    audit::record(
        &mut tx,
        Actor::Admin(admin_id),
        AuditEvent {
            kind: "cancelled",
            patron_id: Some(patron_id),
            request_id: Some(request_id),
            old_value: Some(&old_value),
            new_value: Some(&new_value),
            ..Default::default()
        },
    )
    .await?;
    events::notify(&mut tx, "cancelled", Some(request_id), Some(patron_id)).await?;
    tx.commit().await?;
    tracing::info!(
        request_id,
        patron_id,
        admin_id,
        "change cancelled by an admin"
    );
    Ok(())
}

/// Sends the approval link again: the old links stop working, the new one gets a full
/// lifetime, and so does the request.
pub async fn resend(
    pool: &PgPool,
    settings: &Settings,
    admin_id: i64,
    request_id: i64,
) -> Result<(), ChangeError> {
    let mut tx = pool.begin().await?;
    require_active_admin(&mut tx, admin_id, &["agent", "manager"]).await?;
    let request: RequestRow = sqlx::query_as(
        "SELECT id, patron_id, old_value, new_value, reason, status, requested_by, expires_at
         FROM change_requests WHERE id = $1 FOR UPDATE",
    )
    .bind(request_id)
    .fetch_optional(&mut *tx)
    .await?
    .ok_or(ChangeError::RequestNotFound)?;
    if request.status() != RequestStatus::Pending || request.expires_at <= Utc::now() {
        return Err(ChangeError::NotPending);
    }
    sqlx::query(
        "UPDATE link_tokens SET revoked_at = now()
         WHERE request_id = $1 AND purpose = 'decide' AND used_at IS NULL AND revoked_at IS NULL",
    )
    .bind(request_id)
    .execute(&mut *tx)
    .await?;
    sqlx::query("UPDATE change_requests SET expires_at = now() + $2 WHERE id = $1")
        .bind(request_id)
        .bind(settings.token_ttl)
        .execute(&mut *tx)
        .await?;
    let (locale,): (String,) = sqlx::query_as("SELECT locale FROM patrons WHERE id = $1")
        .bind(request.patron_id)
        .fetch_one(&mut *tx)
        .await?;
    enqueue(
        &mut tx,
        settings,
        NewMessage {
            kind: MessageKind::ProposalToNew,
            request_id: Some(request_id),
            patron_id: Some(request.patron_id),
            to: &request.new_value,
            locale: Locale::parse(&locale).unwrap_or_default(),
        },
    )
    .await?;
    audit::record(
        &mut tx,
        Actor::Admin(admin_id),
        AuditEvent {
            kind: "resent",
            patron_id: Some(request.patron_id),
            request_id: Some(request_id),
            ..Default::default()
        },
    )
    .await?;
    events::notify(&mut tx, "resent", Some(request_id), Some(request.patron_id)).await?;
    tx.commit().await?;
    tracing::info!(
        request_id,
        patron_id = request.patron_id,
        admin_id,
        "approval link resent"
    );
    Ok(())
}

/// Expires pending requests whose time is up, a batch at a time. Rows being decided right
/// now are skipped; their decision settles them. Returns how many expired.
pub async fn expire_due(pool: &PgPool, settings: &Settings) -> Result<usize, ChangeError> {
    let mut tx = pool.begin().await?;
    let expired: Vec<RequestRow> = sqlx::query_as(
        "UPDATE change_requests SET status = 'expired', decided_at = now()
         WHERE id IN (
             SELECT id FROM change_requests
             WHERE status = 'pending' AND expires_at <= now()
             ORDER BY expires_at LIMIT 500
             FOR UPDATE SKIP LOCKED)
         AND status = 'pending'
         RETURNING id, patron_id, old_value, new_value, reason, status, requested_by, expires_at",
    )
    .fetch_all(&mut *tx)
    .await?;
    for request in &expired {
        audit::record(
            &mut tx,
            Actor::System,
            AuditEvent {
                kind: "expired",
                patron_id: Some(request.patron_id),
                request_id: Some(request.id),
                old_value: Some(&request.old_value),
                new_value: Some(&request.new_value),
                ..Default::default()
            },
        )
        .await?;
        for address in admins_to_tell(&mut tx, request.requested_by, false).await? {
            enqueue(
                &mut tx,
                settings,
                NewMessage {
                    kind: MessageKind::OutcomeToAdmin,
                    request_id: Some(request.id),
                    patron_id: Some(request.patron_id),
                    to: &address,
                    locale: Locale::En,
                },
            )
            .await?;
        }
        events::notify(
            &mut tx,
            "expired",
            Some(request.id),
            Some(request.patron_id),
        )
        .await?;
    }
    tx.commit().await?;
    if !expired.is_empty() {
        tracing::info!(count = expired.len(), "change requests expired");
    }
    Ok(expired.len())
}

/// A link's token joined with its request, as read inside a transaction.
struct LoadedLink {
    purpose: LinkPurpose,
    token_expires_at: DateTime<Utc>,
    used: bool,
    revoked: bool,
    cancelled_by: Option<String>,
    patron_name: String,
    locale: Locale,
    request: RequestRow,
}

impl LoadedLink {
    /// The page a link shows, decided from the token and its request alone.
    fn state(&self, now: DateTime<Utc>) -> LinkState {
        match self.request.status() {
            RequestStatus::Approved => LinkState::Approved,
            RequestStatus::Rejected => LinkState::Rejected,
            RequestStatus::Expired => LinkState::Expired,
            RequestStatus::Superseded => LinkState::Replaced,
            RequestStatus::Cancelled if self.cancelled_by.as_deref() == Some("conflict") => {
                LinkState::Conflict
            }
            RequestStatus::Cancelled => LinkState::Cancelled,
            RequestStatus::Pending if self.revoked || self.used => LinkState::Replaced,
            RequestStatus::Pending
                if self.token_expires_at <= now || self.request.expires_at <= now =>
            {
                LinkState::Expired
            }
            RequestStatus::Pending => LinkState::Open(OpenRequest {
                purpose: self.purpose,
                patron_name: self.patron_name.clone(),
                locale: self.locale,
                old_email_masked: mask(&self.request.old_value),
                new_email: self.request.new_value.clone(),
                reason: self.request.reason.clone(),
                expires_at: self.request.expires_at,
            }),
        }
    }
}

async fn load_link(
    conn: &mut PgConnection,
    token: &LinkToken,
    lock_request: bool,
) -> Result<Option<LoadedLink>, sqlx::Error> {
    let sql = format!(
        "SELECT t.purpose, t.expires_at AS token_expires_at, t.used_at IS NOT NULL AS used,
                t.revoked_at IS NOT NULL AS revoked, r.cancelled_by, p.name, p.locale,
                r.id, r.patron_id, r.old_value, r.new_value, r.reason, r.status,
                r.requested_by, r.expires_at
         FROM link_tokens t
         JOIN change_requests r ON r.id = t.request_id
         JOIN patrons p ON p.id = r.patron_id
         WHERE t.token_hash = $1 {}",
        if lock_request { "FOR UPDATE OF r" } else { "" }
    );
    let row: Option<LinkRow> = sqlx::query_as(&sql)
        .bind(token.hash())
        .fetch_optional(conn)
        .await?;
    Ok(row.and_then(|row| {
        Some(LoadedLink {
            purpose: LinkPurpose::parse(&row.purpose)?,
            token_expires_at: row.token_expires_at,
            used: row.used,
            revoked: row.revoked,
            cancelled_by: row.cancelled_by,
            patron_name: row.name,
            locale: Locale::parse(&row.locale).unwrap_or_default(),
            request: row.request,
        })
    }))
}

#[derive(sqlx::FromRow)]
struct LinkRow {
    purpose: String,
    token_expires_at: DateTime<Utc>,
    used: bool,
    revoked: bool,
    cancelled_by: Option<String>,
    name: String,
    locale: String,
    #[sqlx(flatten)]
    request: RequestRow,
}

async fn email_taken(
    conn: &mut PgConnection,
    email: &str,
    except_patron: i64,
) -> Result<bool, sqlx::Error> {
    let taken: Option<(i64,)> =
        sqlx::query_as("SELECT id FROM patrons WHERE lower(email) = lower($1) AND id <> $2")
            .bind(email)
            .bind(except_patron)
            .fetch_optional(conn)
            .await?;
    Ok(taken.is_some())
}

/// The requesting admin, and for a "this wasn't me" alarm every active manager too.
async fn admins_to_tell(
    conn: &mut PgConnection,
    requested_by: i64,
    include_managers: bool,
) -> Result<Vec<String>, sqlx::Error> {
    let rows: Vec<(String,)> = sqlx::query_as(
        "SELECT DISTINCT ON (lower(email)) email FROM admins
         WHERE disabled_at IS NULL AND (id = $1 OR ($2 AND role = 'manager'))
         ORDER BY lower(email)",
    )
    .bind(requested_by)
    .bind(include_managers)
    .fetch_all(conn)
    .await?;
    Ok(rows.into_iter().map(|(email,)| email).collect())
}

async fn require_active_admin(
    conn: &mut PgConnection,
    admin_id: i64,
    roles: &[&str],
) -> Result<(), ChangeError> {
    let role: Option<(String,)> =
        sqlx::query_as("SELECT role FROM admins WHERE id = $1 AND disabled_at IS NULL")
            .bind(admin_id)
            .fetch_optional(conn)
            .await?;
    match role {
        Some((role,)) if roles.contains(&role.as_str()) => Ok(()),
        _ => Err(ChangeError::Forbidden),
    }
}

async fn not_pending_or_missing(
    conn: &mut PgConnection,
    request_id: i64,
) -> Result<ChangeError, sqlx::Error> {
    let exists: Option<(i64,)> = sqlx::query_as("SELECT id FROM change_requests WHERE id = $1")
        .bind(request_id)
        .fetch_optional(conn)
        .await?;
    Ok(if exists.is_some() {
        ChangeError::NotPending
    } else {
        ChangeError::RequestNotFound
    })
}
