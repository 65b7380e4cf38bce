//! The live pending-changes view: pending and recently decided requests, newest first,
//! updated the moment any server instance records an event.

use chrono::{DateTime, Utc};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::auth::AdminError;
use crate::loaded::loaded;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct ChangeRow {
    pub id: i64,
    pub patron_id: i64,
    pub patron_name: String,
    pub new_value: String,
    pub status: String,
    pub cancelled_by: Option<String>,
    pub requested_by: String,
    pub created_at: DateTime<Utc>,
    pub decided_at: Option<DateTime<Utc>>,
    pub dead_messages: i64,
}

/// Pending requests, and those decided in the last 24 hours.
#[server(endpoint = "recent_changes")]
pub async fn recent_changes() -> Result<Vec<ChangeRow>, AdminError> {
    use crate::auth::{ssr, Role};
    ssr::require(Role::Viewer).await?;
    let pool = ssr::state()?.pool;
    let rows: Vec<ChangeRow> = sqlx::query_as(
        "SELECT r.id, r.patron_id, p.name AS patron_name, r.new_value, r.status, r.cancelled_by,
                a.display_name AS requested_by, r.created_at, r.decided_at,
                (SELECT count(*) FROM messages m WHERE m.request_id = r.id AND m.status = 'dead')
                    AS dead_messages
         FROM change_requests r
         JOIN patrons p ON p.id = r.patron_id
         JOIN admins a ON a.id = r.requested_by
         WHERE r.status = 'pending' OR r.decided_at > now() - interval '24 hours'
         ORDER BY r.created_at DESC, r.id DESC
         LIMIT 200",
    )
    .fetch_all(&pool)
    .await
    .map_err(|e| {
        tracing::error!(error = %e, "recent changes failed");
        AdminError::Server("please try again".into())
    })?;
    Ok(rows)
}

/// The server-sent event stream behind the view. Each event only says "something
/// changed"; the page then asks for the list again, so a missed event costs nothing.
#[cfg(feature = "ssr")]
pub async fn stream(
    axum::extract::State(state): axum::extract::State<crate::state::AppState>,
    session: tower_sessions::Session,
) -> axum::response::Response {
    use axum::response::sse::{Event, KeepAlive, Sse};
    use axum::response::IntoResponse;
    use tokio::sync::broadcast::error::RecvError;
    match crate::auth::ssr::admin_of(&session, &state.pool).await {
        Ok(Some(_)) => {}
        _ => return axum::http::StatusCode::UNAUTHORIZED.into_response(),
    }
    let events = futures::stream::unfold(state.live.subscribe(), |mut events| async move {
        let event = match events.recv().await {
            Ok(event) => Event::default().json_data(&event).unwrap_or_default(),
            // Too far behind: tell the page to reload its list.
            Err(RecvError::Lagged(_)) => Event::default().data("{\"kind\":\"lagged\"}"),
            Err(RecvError::Closed) => return None,
        };
        Some((Ok::<_, std::convert::Infallible>(event), events))
    });
    Sse::new(events)
        .keep_alive(KeepAlive::default())
        .into_response()
}

fn when(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

#[component]
pub fn ChangesPage() -> impl IntoView {
    let tick = RwSignal::new(0u64);
    let connected = RwSignal::new(false);
    let changes = Resource::new(move || tick.get(), |_| recent_changes());

    #[cfg(feature = "hydrate")]
    Effect::new(move |opened: Option<()>| {
        if opened.is_none() {
            connect(tick, connected);
        }
    });

    view! {
        <h1>"Changes"</h1>
        <p class="live" role="status" data-testid="live-status" data-connected=move || connected.get().to_string()>
            {move || if connected.get() { "● Live" } else { "○ Connecting…" }}
        </p>
        {loaded(changes, "Loading…", move |rows: Vec<ChangeRow>| view! {
            <table class="history" data-testid="changes">
                <thead><tr>
                    <th scope="col">"#"</th><th scope="col">"Patron"</th><th scope="col">"New email"</th>
                    <th scope="col">"Status"</th><th scope="col">"By"</th><th scope="col">"Proposed"</th>
                    <th scope="col">"Decided"</th><th scope="col">"Dead messages"</th>
                </tr></thead>
                <tbody>
                    {rows.into_iter().map(|r| view! {
                        <tr data-testid=format!("change-{}", r.id)>
                            <td>{r.id}</td>
                            <td><a href=format!("/patrons/{}", r.patron_id)>{r.patron_name}</a></td>
                            <td>{r.new_value}</td>
                            <td class=format!("status {}", r.status)>{match r.cancelled_by { Some(by) => format!("{} ({by})", r.status), None => r.status.clone() }}</td>
                            <td>{r.requested_by}</td>
                            <td>{when(r.created_at)}</td>
                            <td>{r.decided_at.map(when).unwrap_or_default()}</td>
                            <td>{(r.dead_messages > 0).then(|| r.dead_messages.to_string())}</td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
        })}
    }
}

/// Opens the event stream. The browser reconnects by itself; every (re)open reloads the
/// list, which is how the view catches up on whatever it missed while away.
#[cfg(feature = "hydrate")]
fn connect(tick: RwSignal<u64>, connected: RwSignal<bool>) {
    use send_wrapper::SendWrapper;
    use wasm_bindgen::closure::Closure;
    use wasm_bindgen::JsCast;

    let Ok(source) = web_sys::EventSource::new("/events") else {
        return;
    };
    let on_open = Closure::<dyn FnMut()>::new(move || {
        connected.set(true);
        tick.update(|t| *t += 1);
    });
    let on_message = Closure::<dyn FnMut(web_sys::MessageEvent)>::new(move |_| {
        tick.update(|t| *t += 1);
    });
    let on_error = Closure::<dyn FnMut()>::new(move || connected.set(false));
    source.set_onopen(Some(on_open.as_ref().unchecked_ref()));
    source.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    source.set_onerror(Some(on_error.as_ref().unchecked_ref()));
    let handles = SendWrapper::new((source, on_open, on_message, on_error));
    on_cleanup(move || handles.0.close());
}
