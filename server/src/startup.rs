//! Building and running the application: one binary that migrates, serves the app and the
//! patron pages, and runs the outbox workers and the expiry sweep.

use axum::routing::get;
use axum::Router;
use leptos::config::Env;
use leptos::prelude::LeptosOptions;
use leptos_axum::{generate_route_list, LeptosRoutes};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tower_governor::governor::GovernorConfigBuilder;
use tower_governor::GovernorLayer;
use tower_http::compression::predicate::{DefaultPredicate, NotForContentType, Predicate};
use tower_http::compression::CompressionLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::services::ServeDir;
use tower_http::trace::TraceLayer;
use tower_sessions::cookie::{time, SameSite};
use tower_sessions::{Expiry, SessionManagerLayer};
use tower_sessions_sqlx_store::PostgresStore;

use app::mail::transport::Mailer;
use app::state::AppState;
use app::{shell, App};

use crate::configuration::{Config, ConfigError};
use crate::database::{self, DatabaseError};
use crate::{health, seed, telemetry};

/// No form or server-function call of ours comes near this.
const MAX_BODY_BYTES: usize = 64 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Database(#[from] DatabaseError),
    #[error("cannot listen on {addr}: the port is already in use. Stop the other process or set ASSENT_ADDR to a free address")]
    AddrInUse { addr: String },
    #[error("cannot listen on {addr}: {cause}. Set ASSENT_ADDR to an address like 127.0.0.1:3000")]
    Listen { addr: String, cause: String },
    #[error("SMTP_URL is not usable ({0}). Set it like smtp://127.0.0.1:1025 or smtps://user:pass@mail.example.org")]
    Smtp(String),
    #[error("cannot create the development mailbox folder {dir}: {cause}. Set MAILBOX_DIR to a writable folder")]
    Mailbox { dir: String, cause: String },
    #[error("the server stopped: {0}")]
    Serve(String),
}

pub struct Application {
    listener: TcpListener,
    router: Router,
    pub state: AppState,
    pub addr: SocketAddr,
    expiry_sweep: Duration,
    seeded: bool,
    patron_limiter: PatronLimiter,
    sessions: PostgresStore,
}

/// The per-IP rate limiter in front of the patron's link pages.
type PatronLimiter = Arc<
    tower_governor::governor::GovernorConfig<
        tower_governor::key_extractor::PeerIpKeyExtractor,
        governor::middleware::NoOpMiddleware<governor::clock::QuantaInstant>,
    >,
>;

impl Application {
    pub async fn build(config: &Config) -> Result<Self, StartupError> {
        config.settings()?; // Refuse bad settings before touching the network.
        let listener = TcpListener::bind(&config.addr).await.map_err(|e| {
            if e.kind() == std::io::ErrorKind::AddrInUse {
                StartupError::AddrInUse {
                    addr: config.addr.clone(),
                }
            } else {
                StartupError::Listen {
                    addr: config.addr.clone(),
                    cause: e.to_string(),
                }
            }
        })?;
        let addr = listener.local_addr().map_err(|e| StartupError::Listen {
            addr: config.addr.clone(),
            cause: e.to_string(),
        })?;
        // A port of 0 picks a free one; links must then point at the real one.
        let mut config = config.clone();
        if config.public_url.is_none() {
            config.public_url = Some(format!("http://{addr}"));
        }
        let settings = config.settings()?;

        let pool = database::connect(&config.database_url).await?;
        database::migrate(&pool).await?;
        let seeded = config.development()
            && config.demo_data
            && seed::seed_if_empty(&pool).await.unwrap_or(false);

        let mailer = match &config.smtp_url {
            Some(url) => Mailer::smtp(url).map_err(|e| StartupError::Smtp(e.to_string()))?,
            None => {
                Mailer::mailbox(config.mailbox_dir.clone()).map_err(|e| StartupError::Mailbox {
                    dir: config.mailbox_dir.display().to_string(),
                    cause: e.to_string(),
                })?
            }
        };

        let leptos_options = LeptosOptions::builder()
            .output_name("assent")
            .site_root(config.site_root.as_str())
            .site_pkg_dir("pkg")
            .site_addr(addr)
            .env(if config.development() {
                Env::DEV
            } else {
                Env::PROD
            })
            .build();
        let (live, _) = tokio::sync::broadcast::channel(1024);
        tokio::spawn(app::events::relay(pool.clone(), live.clone()));
        let state = AppState {
            leptos_options,
            pool,
            settings,
            mailer: Arc::new(mailer),
            live,
        };
        let patron_limiter: PatronLimiter = Arc::new(
            GovernorConfigBuilder::default()
                .period(Duration::from_millis(config.patron_rate_period_ms.max(1)))
                .burst_size(config.patron_rate_burst.max(1))
                .finish()
                .ok_or(ConfigError::RateLimit)?,
        );
        // Its table comes from our migrations (20261204000007_admin_sessions.sql).
        let sessions = PostgresStore::new(state.pool.clone());
        // Server-side sessions: the cookie holds only an id. It is Secure behind TLS,
        // HttpOnly, SameSite=Lax, and ends after 2 idle hours (12 hours at most: see
        // app::auth::ssr::ABSOLUTE_LIFETIME_HOURS).
        let session_layer = SessionManagerLayer::new(sessions.clone())
            .with_name("assent_session")
            .with_http_only(true)
            .with_same_site(SameSite::Lax)
            .with_secure(state.settings.public_url.starts_with("https://"))
            .with_expiry(Expiry::OnInactivity(time::Duration::hours(2)));
        let router = router(
            state.clone(),
            config.development(),
            patron_limiter.clone(),
            session_layer,
        );
        Ok(Application {
            listener,
            router,
            state,
            addr,
            expiry_sweep: Duration::from_secs(config.expiry_sweep_secs.max(1)),
            seeded,
            patron_limiter,
            sessions,
        })
    }

    pub fn seeded(&self) -> bool {
        self.seeded
    }

    /// Starts the background work: outbox workers and the expiry sweep. The handles stop
    /// it when aborted, which tests use to kill a worker mid-flight.
    pub fn spawn_background(&self) -> Vec<JoinHandle<()>> {
        let mut handles = Vec::new();
        for _ in 0..self.state.settings.outbox.workers {
            handles.push(tokio::spawn(app::mail::outbox::run_worker(
                self.state.pool.clone(),
                self.state.mailer.clone(),
                self.state.settings.clone(),
            )));
        }
        handles.push(tokio::spawn({
            use tower_sessions::ExpiredDeletion;
            let sessions = self.sessions.clone();
            async move {
                if let Err(error) = sessions
                    .continuously_delete_expired(Duration::from_secs(600))
                    .await
                {
                    tracing::error!(%error, "expired-session cleanup stopped");
                }
            }
        }));
        let limiter = self.patron_limiter.limiter().clone();
        handles.push(tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_secs(60)).await;
                limiter.retain_recent();
            }
        }));
        let pool = self.state.pool.clone();
        let settings = self.state.settings.clone();
        let every = self.expiry_sweep;
        handles.push(tokio::spawn(async move {
            loop {
                if let Err(error) = app::changes::ssr::expire_due(&pool, &settings).await {
                    tracing::error!(?error, "expiry sweep failed");
                }
                tokio::time::sleep(every).await;
            }
        }));
        handles
    }

    /// Serves, with the background work, until the process is told to stop.
    pub async fn run(self) -> Result<(), StartupError> {
        let background = self.spawn_background();
        let served = self.serve().await;
        for handle in background {
            handle.abort();
        }
        served
    }

    /// Serves HTTP only, until the process is told to stop. Tests drive the background
    /// work themselves.
    pub async fn serve(self) -> Result<(), StartupError> {
        axum::serve(
            self.listener,
            self.router
                .into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(shutdown_signal())
        .await
        .map_err(|e| StartupError::Serve(e.to_string()))
    }
}

pub fn router(
    state: AppState,
    development: bool,
    patron_limiter: PatronLimiter,
    sessions: SessionManagerLayer<PostgresStore>,
) -> Router {
    let routes = generate_route_list(App);
    let mut router = Router::new()
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/events", get(app::changes::dashboard::stream))
        .route("/audit.csv", get(app::audit::csv_export))
        .merge(app::consent::routes().layer(GovernorLayer::new(patron_limiter)));
    if development && state.mailer.mailbox_dir().is_some() {
        router = router.route("/dev/mailbox", get(app::mail::mailbox::page));
    }
    let options = state.leptos_options.clone();
    // The bundle, precompressed by `assent compress-assets` when it has run; the files
    // as built otherwise.
    let pkg = std::path::Path::new(options.site_root.as_ref()).join(options.site_pkg_dir.as_ref());
    router = router.nest_service(
        "/pkg",
        ServeDir::new(pkg).precompressed_br().precompressed_gzip(),
    );
    router
        .leptos_routes_with_context(&state, routes, || {}, move || shell(options.clone()))
        .fallback(leptos_axum::file_and_error_handler::<AppState, _>(shell))
        .layer(sessions)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            app::security::refuse_cross_origin,
        ))
        .layer(RequestBodyLimitLayer::new(MAX_BODY_BYTES))
        // Pages and server-function answers; not the event stream, not what is already
        // compressed, not the WASM (too big to compress per request: `compress-assets`
        // does it once), and not the patron pages (no-store): they carry a link token,
        // and compressing a secret beside request-controlled text invites BREACH.
        .layer(CompressionLayer::new().compress_when(compressible()))
        .layer(TraceLayer::new_for_http().make_span_with(telemetry::request_span))
        .with_state(state)
}

fn compressible() -> impl Predicate {
    DefaultPredicate::new()
        .and(NotForContentType::const_new("application/wasm"))
        .and(
            |_: axum::http::StatusCode,
             _: axum::http::Version,
             headers: &axum::http::HeaderMap,
             _: &axum::http::Extensions| {
                headers
                    .get(axum::http::header::CACHE_CONTROL)
                    .is_none_or(|v| v.as_bytes() != b"no-store")
            },
        )
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        if let Ok(mut signal) =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            signal.recv().await;
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
    tracing::info!("shutting down");
}
