//! Server-side sessions (tower-sessions, stored in PostgreSQL so any instance can serve
//! any admin), sign-in throttling, and the role check every server function starts with.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use std::net::SocketAddr;
use tower_sessions::Session;

use super::password::verify_password_bounded;
use super::{AdminError, Role, SignedInAdmin};
use crate::email::mask;
use crate::state::AppState;

const SESSION_KEY: &str = "admin";
/// A session ends this long after sign-in, however active (the idle limit is the cookie's).
pub const ABSOLUTE_LIFETIME_HOURS: i64 = 12;
const FAILURE_WINDOW: &str = "15 minutes";
const MAX_FAILURES_PER_ACCOUNT: i64 = 5;
const MAX_FAILURES_PER_IP: i64 = 30;

#[derive(Debug, Clone, Serialize, Deserialize)]
struct SessionRecord {
    admin_id: i64,
    signed_in_at: DateTime<Utc>,
}

pub fn state() -> Result<AppState, AdminError> {
    leptos::prelude::use_context::<AppState>()
        .ok_or_else(|| AdminError::Server("the application state is missing".into()))
}

async fn session() -> Result<Session, AdminError> {
    leptos_axum::extract::<Session>()
        .await
        .map_err(|_| AdminError::Server("no session layer".into()))
}

fn internal(error: impl std::fmt::Display) -> AdminError {
    tracing::error!(error = %error, "admin request failed");
    AdminError::Server("please try again".into())
}

/// The signed-in admin, re-read from the database so a disabled admin or a changed role
/// takes effect at once.
pub async fn signed_in() -> Result<Option<SignedInAdmin>, AdminError> {
    admin_of(&session().await?, &state()?.pool).await
}

/// The admin a session belongs to, for handlers outside server functions.
pub async fn admin_of(
    session: &Session,
    pool: &PgPool,
) -> Result<Option<SignedInAdmin>, AdminError> {
    let Some(record) = session
        .get::<SessionRecord>(SESSION_KEY)
        .await
        .map_err(internal)?
    else {
        return Ok(None);
    };
    if Utc::now() - record.signed_in_at > chrono::Duration::hours(ABSOLUTE_LIFETIME_HOURS) {
        session.flush().await.map_err(internal)?;
        return Ok(None);
    }
    load_admin(pool, record.admin_id).await
}

async fn load_admin(pool: &PgPool, admin_id: i64) -> Result<Option<SignedInAdmin>, AdminError> {
    let row: Option<(String, String)> = sqlx::query_as(
        "SELECT display_name, role FROM admins WHERE id = $1 AND disabled_at IS NULL",
    )
    .bind(admin_id)
    .fetch_optional(pool)
    .await
    .map_err(internal)?;
    Ok(row.and_then(|(display_name, role)| {
        Some(SignedInAdmin {
            id: admin_id,
            display_name,
            role: Role::parse(&role)?,
        })
    }))
}

/// The signed-in admin if their role is at least `minimum`; every server function that
/// reads or changes data starts here.
pub async fn require(minimum: Role) -> Result<SignedInAdmin, AdminError> {
    let admin = signed_in().await?.ok_or(AdminError::SignedOut)?;
    if admin.role < minimum {
        return Err(AdminError::Forbidden);
    }
    Ok(admin)
}

pub async fn sign_in(email: &str, password: &str) -> Result<SignedInAdmin, AdminError> {
    let pool = state()?.pool;
    let ip = leptos_axum::extract::<axum::extract::ConnectInfo<SocketAddr>>()
        .await
        .map(|info| info.0.ip().to_string())
        .unwrap_or_default();
    let email = email.trim();
    if email.is_empty() || email.len() > 254 || password.len() > 1024 {
        return Err(AdminError::BadCredentials);
    }

    let (by_account, by_ip): (i64, i64) = sqlx::query_as(&format!(
        "SELECT count(*) FILTER (WHERE lower(email) = lower($1)), count(*) FILTER (WHERE ip = $2)
         FROM sign_in_failures WHERE at > now() - interval '{FAILURE_WINDOW}'"
    ))
    .bind(email)
    .bind(&ip)
    .fetch_one(&pool)
    .await
    .map_err(internal)?;
    if by_account >= MAX_FAILURES_PER_ACCOUNT || by_ip >= MAX_FAILURES_PER_IP {
        tracing::warn!(email = %mask(email), "sign-in throttled");
        return Err(AdminError::Throttled);
    }

    let row: Option<(i64, String)> = sqlx::query_as(
        "SELECT id, password_hash FROM admins WHERE lower(email) = lower($1) AND disabled_at IS NULL",
    )
    .bind(email)
    .fetch_optional(&pool)
    .await
    .map_err(internal)?;
    let (id, hash) = row.unzip();
    let verified = verify_password_bounded(password.to_string(), hash)
        .await
        .then_some(id)
        .flatten();
    let Some(admin_id) = verified else {
        sqlx::query("INSERT INTO sign_in_failures (email, ip) VALUES ($1, $2)")
            .bind(email)
            .bind(&ip)
            .execute(&pool)
            .await
            .map_err(internal)?;
        tracing::warn!(email = %mask(email), "sign-in failed");
        return Err(AdminError::BadCredentials);
    };

    let session = session().await?;
    // A new session id at sign-in, so a planted cookie cannot ride along.
    session.cycle_id().await.map_err(internal)?;
    session
        .insert(
            SESSION_KEY,
            SessionRecord {
                admin_id,
                signed_in_at: Utc::now(),
            },
        )
        .await
        .map_err(internal)?;
    tracing::info!(admin_id, "admin signed in");
    load_admin(&pool, admin_id)
        .await?
        .ok_or(AdminError::BadCredentials)
}

pub async fn sign_out() -> Result<(), AdminError> {
    session().await?.flush().await.map_err(internal)
}
