//! Logs: `tracing` with fields, filtered by RUST_LOG. Request spans name the route
//! template, never the raw path, because patron links carry tokens in their path.

use axum::extract::MatchedPath;
use axum::http::Request;
use tracing_subscriber::EnvFilter;

pub fn init() {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,tower_http=info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

/// The span for one HTTP request: method and matched route (`/c/{token}`), no query.
pub fn request_span<B>(request: &Request<B>) -> tracing::Span {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_string())
        .unwrap_or_else(|| redacted_path(request.uri().path()));
    tracing::info_span!("request", method = %request.method(), route = %route)
}

/// For paths no route matched: keep static assets readable, hide anything else.
fn redacted_path(path: &str) -> String {
    if path.starts_with("/pkg/") && path.len() < 100 {
        path.to_string()
    } else {
        "(unmatched)".to_string()
    }
}
