//! One patron: their data, the pending request, the history of changes, the messages
//! sent about them, and the form to propose a new email.

use chrono::{DateTime, Utc};
use leptos::prelude::*;
use leptos_router::hooks::use_params_map;
use serde::{Deserialize, Serialize};

use crate::auth::AdminError;
use crate::loaded::loaded;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct RequestView {
    pub id: i64,
    pub old_value: String,
    pub new_value: String,
    pub reason: String,
    pub status: String,
    pub cancelled_by: Option<String>,
    pub requested_by: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub decided_at: Option<DateTime<Utc>>,
}

/// A message's delivery, as admins may see it: never its link or token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct MessageView {
    pub id: i64,
    pub request_id: Option<i64>,
    pub kind: String,
    pub to_address: String,
    pub status: String,
    pub attempts: i32,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PatronDetail {
    pub id: i64,
    pub name: String,
    pub email: String,
    pub locale: String,
    pub requests: Vec<RequestView>,
    pub messages: Vec<MessageView>,
}

#[server(endpoint = "get_patron")]
pub async fn get_patron(id: i64) -> Result<PatronDetail, AdminError> {
    use crate::auth::{ssr, Role};
    ssr::require(Role::Viewer).await?;
    let pool = ssr::state()?.pool;
    let db = |e: sqlx::Error| {
        tracing::error!(error = %e, "patron detail failed");
        AdminError::Server("please try again".into())
    };
    let patron: Option<(String, String, String)> =
        sqlx::query_as("SELECT name, email, locale FROM patrons WHERE id = $1")
            .bind(id)
            .fetch_optional(&pool)
            .await
            .map_err(db)?;
    let (name, email, locale) = patron.ok_or(AdminError::Change(
        crate::changes::ChangeError::PatronNotFound,
    ))?;
    let requests: Vec<RequestView> = sqlx::query_as(
        "SELECT r.id, r.old_value, r.new_value, r.reason, r.status, r.cancelled_by,
                a.display_name AS requested_by,
                r.created_at, r.expires_at, r.decided_at
         FROM change_requests r JOIN admins a ON a.id = r.requested_by
         WHERE r.patron_id = $1 ORDER BY r.created_at DESC, r.id DESC LIMIT 100",
    )
    .bind(id)
    .fetch_all(&pool)
    .await
    .map_err(db)?;
    let messages: Vec<MessageView> = sqlx::query_as(
        "SELECT id, request_id, kind, to_address, status, attempts, last_error, created_at, sent_at
         FROM messages WHERE patron_id = $1 ORDER BY id DESC LIMIT 100",
    )
    .bind(id)
    .fetch_all(&pool)
    .await
    .map_err(db)?;
    Ok(PatronDetail {
        id,
        name,
        email,
        locale,
        requests,
        messages,
    })
}

#[server(endpoint = "propose_change")]
pub async fn propose_change(
    patron_id: i64,
    new_email: String,
    reason: String,
) -> Result<i64, AdminError> {
    use crate::auth::{ssr, Role};
    use crate::changes::{
        ssr::{propose, Proposal},
        ChangeError, Reason,
    };
    let admin = ssr::require(Role::Agent).await?;
    let state = ssr::state()?;
    let proposal = Proposal {
        patron_id,
        new_email: crate::email::EmailAddress::parse(&new_email).map_err(ChangeError::from)?,
        reason: Reason::parse(&reason)?,
    };
    Ok(propose(&state.pool, &state.settings, admin.id, proposal).await?)
}

#[server(endpoint = "cancel_change")]
pub async fn cancel_change(request_id: i64) -> Result<(), AdminError> {
    use crate::auth::{ssr, Role};
    let admin = ssr::require(Role::Agent).await?;
    let state = ssr::state()?;
    Ok(crate::changes::ssr::cancel(&state.pool, admin.id, request_id).await?)
}

#[server(endpoint = "resend_change")]
pub async fn resend_change(request_id: i64) -> Result<(), AdminError> {
    use crate::auth::{ssr, Role};
    let admin = ssr::require(Role::Agent).await?;
    let state = ssr::state()?;
    Ok(crate::changes::ssr::resend(&state.pool, &state.settings, admin.id, request_id).await?)
}

/// The plain-text email the new address would receive, with a stand-in for the link.
#[server(endpoint = "preview_proposal")]
pub async fn preview_proposal(
    patron_id: i64,
    new_email: String,
    reason: String,
) -> Result<String, AdminError> {
    use crate::auth::{ssr, Role};
    use crate::changes::{ChangeError, Reason, RequestStatus};
    use crate::mail::templates::{render, MessageContext};
    use crate::mail::MessageKind;
    ssr::require(Role::Agent).await?;
    let state = ssr::state()?;
    let new_email = crate::email::EmailAddress::parse(&new_email).map_err(ChangeError::from)?;
    let reason = Reason::parse(&reason)?;
    let patron: Option<(String, String, String)> =
        sqlx::query_as("SELECT name, email, locale FROM patrons WHERE id = $1")
            .bind(patron_id)
            .fetch_optional(&state.pool)
            .await
            .map_err(|_| AdminError::Server("please try again".into()))?;
    let (name, email, locale) = patron.ok_or(AdminError::Change(ChangeError::PatronNotFound))?;
    let brand = crate::branding::ssr::current(&state.pool, &state.settings.brand).await;
    let rendered = render(
        &MessageContext {
            kind: MessageKind::ProposalToNew,
            locale: crate::locale::Locale::parse(&locale).unwrap_or_default(),
            request_id: 0,
            patron_id,
            patron_name: &name,
            old_email: &email,
            new_email: new_email.as_str(),
            reason: reason.as_str(),
            status: RequestStatus::Pending,
            cancelled_by: None,
            expires_at: Utc::now() + state.settings.token_ttl,
            link: Some("[a personal link, sent only to the patron]"),
        },
        &brand,
    );
    Ok(format!(
        "Subject: {}\n\n{}",
        rendered.subject, rendered.text
    ))
}

fn when(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M UTC").to_string()
}

#[component]
pub fn PatronDetailPage() -> impl IntoView {
    let params = use_params_map();
    let id = move || {
        params
            .read()
            .get("id")
            .and_then(|id| id.parse::<i64>().ok())
            .unwrap_or_default()
    };
    let propose = ServerAction::<ProposeChange>::new();
    let cancel = ServerAction::<CancelChange>::new();
    let resend = ServerAction::<ResendChange>::new();
    let preview = ServerAction::<PreviewProposal>::new();
    let detail = Resource::new(
        move || {
            (
                id(),
                propose.version().get(),
                cancel.version().get(),
                resend.version().get(),
            )
        },
        |(id, ..)| get_patron(id),
    );
    let failure = move || {
        [
            propose.value().get().and_then(|r| r.err()),
            cancel.value().get().and_then(Result::err),
            resend.value().get().and_then(Result::err),
        ]
        .into_iter()
        .flatten()
        .next()
        .map(|e| e.to_string())
    };

    view! {
        {loaded(detail, "Loading…", move |patron: PatronDetail| {
            let pending = patron.requests.iter().find(|r| r.status == "pending").cloned();
            view! {
                <h1>{patron.name.clone()}</h1>
                <dl class="facts">
                    <dt>"Primary email"</dt><dd data-testid="primary-email">{patron.email.clone()}</dd>
                    <dt>"Language"</dt><dd>{patron.locale.clone()}</dd>
                </dl>
                {pending.map(|r| {
                    let age = (Utc::now() - r.created_at).num_minutes();
                    view! {
                        <section class="pending" aria-labelledby="pending-title" data-testid="pending-request">
                            <h2 id="pending-title">"Waiting for the patron"</h2>
                            <p>{format!("Change to {} proposed {age} min ago by {}; expires {}.", r.new_value, r.requested_by, when(r.expires_at))}</p>
                            <div class="row">
                                <ActionForm action=resend>
                                    <input type="hidden" name="request_id" value=r.id/>
                                    <button type="submit">"Resend the link"</button>
                                </ActionForm>
                                <ActionForm action=cancel>
                                    <input type="hidden" name="request_id" value=r.id/>
                                    <button type="submit">"Cancel the request"</button>
                                </ActionForm>
                            </div>
                        </section>
                    }
                })}
                <section aria-labelledby="propose-title" class="propose">
                    <h2 id="propose-title">"Propose a new primary email"</h2>
                    <p>"Nothing changes until the patron approves from the new address."</p>
                    <ActionForm action=propose>
                        <input type="hidden" name="patron_id" value=patron.id/>
                        <label for="new_email">"New email"</label>
                        <input id="new_email" name="new_email" type="email" required/>
                        <label for="reason">"Reason (the patron reads it)"</label>
                        <input id="reason" name="reason" type="text" maxlength="500" required/>
                        <button type="submit" class="primary">"Propose the change"</button>
                    </ActionForm>
                    <details class="preview">
                        <summary>"Preview the email"</summary>
                        <ActionForm action=preview>
                            <input type="hidden" name="patron_id" value=patron.id/>
                            <label for="preview_email">"New email to preview"</label>
                            <input id="preview_email" name="new_email" type="email" required/>
                            <label for="preview_reason">"Reason to preview"</label>
                            <input id="preview_reason" name="reason" type="text" required/>
                            <button type="submit">"Show preview"</button>
                        </ActionForm>
                        <pre data-testid="preview">{move || preview.value().get().map(|r| match r { Ok(text) => text, Err(e) => e.to_string() })}</pre>
                    </details>
                </section>
                <section aria-labelledby="history-title">
                    <h2 id="history-title">"History of changes"</h2>
                    <table class="history" data-testid="history">
                        <thead><tr>
                            <th scope="col">"Proposed"</th><th scope="col">"By"</th><th scope="col">"Before"</th>
                            <th scope="col">"After"</th><th scope="col">"Reason"</th><th scope="col">"Outcome"</th><th scope="col">"Decided"</th>
                        </tr></thead>
                        <tbody>
                            {patron.requests.into_iter().map(|r| view! {
                                <tr>
                                    <td>{when(r.created_at)}</td><td>{r.requested_by}</td><td>{r.old_value}</td>
                                    <td>{r.new_value}</td><td>{r.reason}</td>
                                    <td>{match r.cancelled_by { Some(by) => format!("{} ({by})", r.status), None => r.status }}</td>
                                    <td>{r.decided_at.map(when).unwrap_or_default()}</td>
                                </tr>
                            }).collect_view()}
                        </tbody>
                    </table>
                </section>
                <section aria-labelledby="messages-title">
                    <h2 id="messages-title">"Messages"</h2>
                    <table class="history" data-testid="messages">
                        <thead><tr>
                            <th scope="col">"Queued"</th><th scope="col">"Kind"</th><th scope="col">"To"</th>
                            <th scope="col">"Delivery"</th><th scope="col">"Attempts"</th><th scope="col">"Sent"</th>
                        </tr></thead>
                        <tbody>
                            {patron.messages.into_iter().map(|m| view! {
                                <tr>
                                    <td>{when(m.created_at)}</td><td>{m.kind}</td><td>{m.to_address}</td>
                                    <td>{match m.last_error { Some(e) if m.status != "sent" => format!("{} ({e})", m.status), _ => m.status }}</td>
                                    <td>{m.attempts}</td><td>{m.sent_at.map(when).unwrap_or_default()}</td>
                                </tr>
                            }).collect_view()}
                        </tbody>
                    </table>
                </section>
            }
        })}
        <p role="alert" class="error" data-testid="action-error">{failure}</p>
    }
}
