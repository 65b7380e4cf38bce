//! The transactional outbox. `enqueue` writes a message row inside the caller's
//! transaction; workers deliver rows one at a time, each under `FOR UPDATE SKIP LOCKED`,
//! so any number of server instances can share the queue and a crash loses nothing.
//!
//! A link's token is made at send time: the raw token exists only in this worker's memory
//! and in the sent message; the table gets its SHA-256 in the same transaction that marks
//! the message sent.

use chrono::{DateTime, Utc};
use lettre::message::{header::ContentType, Mailbox, MultiPart, SinglePart};
use lettre::Message;
use rand::Rng;
use sqlx::{PgConnection, PgPool};
use std::sync::Arc;
use std::time::Duration;

use super::templates::{render, MessageContext};
use super::transport::Mailer;
use super::MessageKind;
use crate::audit::{self, Actor, AuditEvent};
use crate::changes::token::LinkToken;
use crate::changes::{LinkPurpose, RequestStatus};
use crate::email::mask;
use crate::events;
use crate::locale::Locale;
use crate::settings::Settings;

pub struct NewMessage<'a> {
    pub kind: MessageKind,
    pub request_id: Option<i64>,
    pub patron_id: Option<i64>,
    pub to: &'a str,
    pub locale: Locale,
}

/// Queues a message in the caller's transaction. Its Message-ID is fixed now, so every
/// retry carries the same one.
pub async fn enqueue(
    conn: &mut PgConnection,
    settings: &Settings,
    message: NewMessage<'_>,
) -> Result<i64, sqlx::Error> {
    let nonce: u64 = rand::thread_rng().gen();
    let message_id = format!(
        "<{}.{:016x}@{}>",
        message.kind.as_str().replace('_', "-"),
        nonce,
        settings.message_id_domain()
    );
    let (id,): (i64,) = sqlx::query_as(
        "INSERT INTO messages (request_id, patron_id, kind, to_address, locale, message_id)
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
    )
    .bind(message.request_id)
    .bind(message.patron_id)
    .bind(message.kind.as_str())
    .bind(message.to)
    .bind(message.locale.as_str())
    .bind(message_id)
    .fetch_one(conn)
    .await?;
    Ok(id)
}

/// What one step of a worker did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepOutcome {
    EmptyQueue,
    Sent,
    /// A link message whose request closed before it went out: sending it would be noise.
    Skipped,
    /// Delivery failed; the message waits for its next attempt.
    WillRetry,
    /// Delivery failed for the last allowed time.
    Dead,
}

#[derive(sqlx::FromRow)]
struct QueuedMessage {
    id: i64,
    kind: String,
    to_address: String,
    locale: String,
    message_id: String,
    attempts: i32,
    request_id: Option<i64>,
    patron_id: Option<i64>,
    status: Option<String>,
    cancelled_by: Option<String>,
    old_value: Option<String>,
    new_value: Option<String>,
    reason: Option<String>,
    expires_at: Option<DateTime<Utc>>,
    patron_name: Option<String>,
}

/// Takes the next due message, if any, and tries to deliver it.
pub async fn deliver_next(
    pool: &PgPool,
    mailer: &Mailer,
    settings: &Settings,
) -> Result<StepOutcome, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let queued: Option<QueuedMessage> = sqlx::query_as(
        "SELECT m.id, m.kind, m.to_address, m.locale, m.message_id, m.attempts,
                m.request_id, r.patron_id, r.status, r.cancelled_by, r.old_value, r.new_value,
                r.reason, r.expires_at, p.name AS patron_name
         FROM messages m
         LEFT JOIN change_requests r ON r.id = m.request_id
         LEFT JOIN patrons p ON p.id = r.patron_id
         WHERE m.id = (
             SELECT id FROM messages
             WHERE status = 'queued' AND next_attempt_at <= now()
             ORDER BY next_attempt_at, id
             LIMIT 1
             FOR UPDATE SKIP LOCKED)",
    )
    .fetch_optional(&mut *tx)
    .await?;
    let Some(queued) = queued else {
        tx.commit().await?;
        return Ok(StepOutcome::EmptyQueue);
    };

    let kind = MessageKind::parse(&queued.kind);
    let status = queued.status.as_deref().and_then(RequestStatus::parse);
    let purpose = match kind {
        Some(MessageKind::ProposalToNew) => Some(LinkPurpose::Decide),
        Some(MessageKind::ProposalToOld) => Some(LinkPurpose::NotMe),
        _ => None,
    };
    let still_open = status == Some(RequestStatus::Pending)
        && queued.expires_at.is_some_and(|at| at > Utc::now());
    if purpose.is_some() && !still_open {
        sqlx::query("UPDATE messages SET status = 'skipped' WHERE id = $1")
            .bind(queued.id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        tracing::info!(
            message_id = queued.id,
            "link message skipped: its request is closed"
        );
        return Ok(StepOutcome::Skipped);
    }

    let token = purpose.map(|_| LinkToken::generate());
    let brand = crate::branding::ssr::current(pool, &settings.brand).await;
    let built = kind
        .ok_or_else(|| "unknown message kind".to_string())
        .and_then(|kind| build_message(&queued, kind, status, token.as_ref(), settings, &brand));
    let sent = match built {
        Ok(message) => mailer.send(message).await.map_err(|e| e.0),
        Err(e) => Err(e),
    };

    let outcome = match sent {
        Ok(()) => {
            if let (Some(token), Some(purpose), Some(request_id), Some(expires_at)) =
                (&token, purpose, queued.request_id, queued.expires_at)
            {
                sqlx::query(
                    "INSERT INTO link_tokens (token_hash, request_id, purpose, expires_at)
                     VALUES ($1, $2, $3, $4)",
                )
                .bind(token.hash())
                .bind(request_id)
                .bind(purpose.as_str())
                .bind(expires_at)
                .execute(&mut *tx)
                .await?;
            }
            sqlx::query(
                "UPDATE messages SET status = 'sent', attempts = attempts + 1, sent_at = now(),
                                     last_error = NULL
                 WHERE id = $1",
            )
            .bind(queued.id)
            .execute(&mut *tx)
            .await?;
            events::notify(&mut tx, "message_sent", queued.request_id, queued.patron_id).await?;
            StepOutcome::Sent
        }
        Err(error) => {
            let attempts = queued.attempts + 1;
            if attempts >= settings.outbox.max_attempts {
                sqlx::query(
                    "UPDATE messages SET status = 'dead', attempts = $2, last_error = $3 WHERE id = $1",
                )
                .bind(queued.id)
                .bind(attempts)
                .bind(&error)
                .execute(&mut *tx)
                .await?;
                audit::record(
                    &mut tx,
                    Actor::System,
                    AuditEvent {
                        kind: "message_dead",
                        patron_id: queued.patron_id,
                        request_id: queued.request_id,
                        detail: Some(serde_json::json!({
                            "message": queued.id,
                            "kind": queued.kind,
                            "attempts": attempts,
                            "error": error,
                        })),
                        ..Default::default()
                    },
                )
                .await?;
                events::notify(&mut tx, "message_dead", queued.request_id, queued.patron_id)
                    .await?;
                StepOutcome::Dead
            } else {
                let delay = backoff(attempts, settings);
                sqlx::query(
                    "UPDATE messages SET attempts = $2, last_error = $3, next_attempt_at = now() + $4
                     WHERE id = $1",
                )
                .bind(queued.id)
                .bind(attempts)
                .bind(&error)
                .bind(delay)
                .execute(&mut *tx)
                .await?;
                StepOutcome::WillRetry
            }
        }
    };
    tx.commit().await?;

    let to = mask(&queued.to_address);
    match outcome {
        StepOutcome::Sent => {
            tracing::info!(message_id = queued.id, kind = %queued.kind, to = %to, "message sent")
        }
        StepOutcome::Dead => {
            tracing::error!(message_id = queued.id, kind = %queued.kind, to = %to, "message is dead after its last attempt")
        }
        _ => {
            tracing::warn!(message_id = queued.id, kind = %queued.kind, to = %to, attempt = queued.attempts + 1, "message delivery failed; will retry")
        }
    }
    Ok(outcome)
}

/// Exponential backoff with jitter: the n-th failure waits between half and all of
/// `base · 2^(n-1)`, capped at `max`.
pub fn backoff(attempts: i32, settings: &Settings) -> Duration {
    let exp = attempts.clamp(1, 20) as u32 - 1;
    let full = settings
        .outbox
        .backoff_base
        .saturating_mul(2u32.saturating_pow(exp))
        .min(settings.outbox.backoff_max);
    let half = full / 2;
    let jittered = half + half.mul_f64(rand::thread_rng().gen::<f64>());
    // PostgreSQL intervals hold microseconds; whole milliseconds are plenty.
    Duration::from_millis(jittered.as_millis() as u64)
}

fn build_message(
    queued: &QueuedMessage,
    kind: MessageKind,
    status: Option<RequestStatus>,
    token: Option<&LinkToken>,
    settings: &Settings,
    brand: &crate::settings::Brand,
) -> Result<Message, String> {
    let link = token.map(|t| settings.link_url(&t.encode()));
    let context = MessageContext {
        kind,
        locale: Locale::parse(&queued.locale).unwrap_or_default(),
        request_id: queued.request_id.unwrap_or_default(),
        patron_id: queued.patron_id.unwrap_or_default(),
        patron_name: queued.patron_name.as_deref().unwrap_or_default(),
        old_email: queued.old_value.as_deref().unwrap_or_default(),
        new_email: queued.new_value.as_deref().unwrap_or_default(),
        reason: queued.reason.as_deref().unwrap_or_default(),
        status: status.unwrap_or(RequestStatus::Pending),
        cancelled_by: queued.cancelled_by.as_deref(),
        expires_at: queued.expires_at.unwrap_or_else(Utc::now),
        link: link.as_deref(),
    };
    let rendered = render(&context, brand);
    let from: Mailbox = settings
        .mail_from
        .parse()
        .map_err(|_| "the configured sender address is invalid".to_string())?;
    let to: Mailbox = queued
        .to_address
        .parse()
        .map_err(|_| "the recipient address cannot be used in a message".to_string())?;
    Message::builder()
        .from(from)
        .to(to)
        .subject(rendered.subject)
        .message_id(Some(queued.message_id.clone()))
        .multipart(
            MultiPart::alternative()
                .singlepart(
                    SinglePart::builder()
                        .header(ContentType::TEXT_PLAIN)
                        .body(rendered.text),
                )
                .singlepart(
                    SinglePart::builder()
                        .header(ContentType::TEXT_HTML)
                        .body(rendered.html),
                ),
        )
        .map_err(|_| "the message could not be built".to_string())
}

/// Runs one delivery loop until the task is dropped. Several loops, in one process or
/// many, can run side by side.
pub async fn run_worker(pool: PgPool, mailer: Arc<Mailer>, settings: Arc<Settings>) {
    loop {
        match deliver_next(&pool, &mailer, &settings).await {
            Ok(StepOutcome::EmptyQueue) => tokio::time::sleep(settings.outbox.poll_interval).await,
            Ok(_) => {}
            Err(error) => {
                tracing::error!(error = %error, "outbox worker step failed");
                tokio::time::sleep(settings.outbox.poll_interval).await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        let mut settings = Settings::for_tests("http://127.0.0.1:3000");
        settings.outbox.backoff_base = Duration::from_secs(2);
        settings.outbox.backoff_max = Duration::from_secs(60);
        for attempt in 1..30 {
            let d = backoff(attempt, &settings);
            let full = Duration::from_secs(2)
                .saturating_mul(2u32.saturating_pow(attempt.min(20) as u32 - 1))
                .min(Duration::from_secs(60));
            assert!(
                d + Duration::from_millis(1) >= full / 2 && d <= full,
                "attempt {attempt}: {d:?}"
            );
        }
    }
}
