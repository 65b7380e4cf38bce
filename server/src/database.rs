//! Connecting to PostgreSQL: create the database when it is missing, apply migrations,
//! and say clearly what is wrong when that fails.

use sqlx::migrate::MigrateDatabase;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{PgPool, Postgres};
use std::str::FromStr;
use std::time::Duration;

pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations");

#[derive(Debug, thiserror::Error)]
pub enum DatabaseError {
    #[error("DATABASE_URL is not a valid PostgreSQL URL ({0}). Set DATABASE_URL like postgres://user@127.0.0.1:5432/assent")]
    InvalidUrl(String),
    #[error("cannot reach PostgreSQL at {at}: {cause}. Start PostgreSQL or set DATABASE_URL to a server that is running")]
    Unreachable { at: String, cause: String },
    #[error("cannot apply database migrations: {0}")]
    Migrate(String),
}

/// Connects, creating the database first if the server has none of that name.
pub async fn connect(url: &str) -> Result<PgPool, DatabaseError> {
    let options = parse_url(url)?;
    let at = format!("{}:{}", options.get_host(), options.get_port());
    let unreachable = |cause: String| DatabaseError::Unreachable {
        at: at.clone(),
        cause,
    };

    let exists = tokio::time::timeout(Duration::from_secs(10), Postgres::database_exists(url))
        .await
        .map_err(|_| unreachable("no answer within 10 s".into()))?
        .map_err(|e| unreachable(short_cause(&e)))?;
    if !exists {
        Postgres::create_database(url).await.map_err(|e| {
            unreachable(format!(
                "the database is missing and could not be created: {}",
                short_cause(&e)
            ))
        })?;
        tracing::info!(
            database = options.get_database().unwrap_or_default(),
            "created the database"
        );
    }
    PgPoolOptions::new()
        .max_connections(20)
        .acquire_timeout(Duration::from_secs(5))
        .connect_with(options)
        .await
        .map_err(|e| unreachable(short_cause(&e)))
}

pub async fn migrate(pool: &PgPool) -> Result<(), DatabaseError> {
    MIGRATOR
        .run(pool)
        .await
        .map_err(|e| DatabaseError::Migrate(e.to_string()))
}

fn parse_url(url: &str) -> Result<PgConnectOptions, DatabaseError> {
    let parsed = url::Url::parse(url).map_err(|e| DatabaseError::InvalidUrl(e.to_string()))?;
    if !matches!(parsed.scheme(), "postgres" | "postgresql") {
        return Err(DatabaseError::InvalidUrl(format!(
            "the scheme is {:?}, expected postgres",
            parsed.scheme()
        )));
    }
    if parsed.path().trim_start_matches('/').is_empty() {
        return Err(DatabaseError::InvalidUrl("it names no database".into()));
    }
    PgConnectOptions::from_str(url).map_err(|e| DatabaseError::InvalidUrl(e.to_string()))
}

/// The first line of a driver error, which can be long and nested.
fn short_cause(error: &sqlx::Error) -> String {
    match error {
        sqlx::Error::Io(io) => io.to_string(),
        other => other
            .to_string()
            .lines()
            .next()
            .unwrap_or_default()
            .to_string(),
    }
}
