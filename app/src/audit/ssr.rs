//! The append-only audit log: who did what to whom, when, and from where. The table's
//! triggers refuse UPDATE, DELETE and TRUNCATE; this module only inserts, and reads for
//! the audit view and its CSV export.

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

/// The filtered events, newest first.
pub async fn query(
    pool: &sqlx::PgPool,
    filter: &super::AuditFilter,
    before: Option<i64>,
    limit: i64,
) -> Result<Vec<super::AuditRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT e.id, e.at, e.actor, a.display_name AS admin, e.patron_id, e.request_id, e.kind,
                e.old_value, e.new_value, e.reason, e.ip, e.user_agent, e.text_version
         FROM audit_events e LEFT JOIN admins a ON a.id = e.admin_id
         WHERE ($1::bigint IS NULL OR e.patron_id = $1)
           AND ($2::bigint IS NULL OR e.admin_id = $2)
           AND ($3::text IS NULL OR e.kind = $3)
           AND ($4::date IS NULL OR e.at >= $4::date)
           AND ($5::date IS NULL OR e.at < $5::date + 1)
           AND ($6::bigint IS NULL OR e.id < $6)
         ORDER BY e.id DESC
         LIMIT $7",
    )
    .bind(filter.patron)
    .bind(filter.admin)
    .bind(&filter.kind)
    .bind(filter.from)
    .bind(filter.to)
    .bind(before)
    .bind(limit)
    .fetch_all(pool)
    .await
}

/// `GET /audit.csv`: the filtered log as CSV, for signed-in admins.
pub async fn csv_export(
    axum::extract::State(state): axum::extract::State<crate::state::AppState>,
    session: tower_sessions::Session,
    axum::extract::Query(params): axum::extract::Query<std::collections::HashMap<String, String>>,
) -> axum::response::Response {
    use axum::http::{header, StatusCode};
    use axum::response::IntoResponse;
    match crate::auth::ssr::admin_of(&session, &state.pool).await {
        Ok(Some(_)) => {}
        _ => return StatusCode::UNAUTHORIZED.into_response(),
    }
    let filter = match super::AuditFilter::parse(|name| params.get(name).cloned()) {
        Ok(filter) => filter,
        Err(message) => return (StatusCode::BAD_REQUEST, message).into_response(),
    };
    let rows = match query(&state.pool, &filter, None, 100_000).await {
        Ok(rows) => rows,
        Err(error) => {
            tracing::error!(%error, "audit export failed");
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
    };
    let mut out = csv::Writer::from_writer(Vec::new());
    let header_row = [
        "id",
        "at",
        "actor",
        "admin",
        "patron_id",
        "request_id",
        "kind",
        "old_value",
        "new_value",
        "reason",
        "ip",
        "user_agent",
        "text_version",
    ];
    let mut written = out.write_record(header_row);
    for r in rows {
        if written.is_err() {
            break;
        }
        let opt = |v: Option<String>| v.map(|s| defuse(&s)).unwrap_or_default();
        written = out.write_record([
            r.id.to_string(),
            r.at.to_rfc3339(),
            r.actor,
            opt(r.admin),
            r.patron_id.map(|v| v.to_string()).unwrap_or_default(),
            r.request_id.map(|v| v.to_string()).unwrap_or_default(),
            r.kind,
            opt(r.old_value),
            opt(r.new_value),
            opt(r.reason),
            opt(r.ip),
            opt(r.user_agent),
            opt(r.text_version),
        ]);
    }
    match (written, out.into_inner()) {
        (Ok(()), Ok(bytes)) => (
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
                (
                    header::CONTENT_DISPOSITION,
                    "attachment; filename=\"assent-audit.csv\"",
                ),
                (header::CACHE_CONTROL, "no-store"),
            ],
            bytes,
        )
            .into_response(),
        _ => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

/// Spreadsheets run cells that start with = + - @ as formulas; a leading quote keeps an
/// admin's reason or a user agent from becoming one.
fn defuse(value: &str) -> String {
    if value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{value}")
    } else {
        value.to_string()
    }
}
