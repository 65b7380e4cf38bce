//! Liveness and readiness for load balancers and operators.

use axum::extract::State;
use axum::http::StatusCode;
use sqlx::PgPool;
use std::time::Duration;

/// The process is up.
pub async fn healthz() -> &'static str {
    "ok"
}

/// The database answers, within two seconds.
pub async fn readyz(State(pool): State<PgPool>) -> (StatusCode, &'static str) {
    let probe = tokio::time::timeout(
        Duration::from_secs(2),
        sqlx::query("SELECT 1").execute(&pool),
    )
    .await;
    match probe {
        Ok(Ok(_)) => (StatusCode::OK, "ready"),
        _ => (StatusCode::SERVICE_UNAVAILABLE, "database unavailable"),
    }
}
