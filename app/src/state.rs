//! The one piece of shared state the server hands to every handler and server function.

use axum::extract::FromRef;
use leptos::prelude::LeptosOptions;
use sqlx::PgPool;
use std::sync::Arc;

use crate::events::LiveEvent;
use crate::mail::transport::Mailer;
use crate::settings::Settings;

#[derive(Clone, FromRef)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    pub pool: PgPool,
    pub settings: Arc<Settings>,
    pub mailer: Arc<Mailer>,
    /// Live events heard from PostgreSQL, for this instance's dashboards.
    pub live: tokio::sync::broadcast::Sender<LiveEvent>,
}
