//! Admin work from the command line: adding admins, and proposing a change as one.

use app::auth::password::{hash_password, PasswordError};
use app::auth::Role;
use app::changes::ssr::{propose, Proposal};
use app::changes::{ChangeError, Reason};
use app::email::{EmailAddress, EmailError};
use app::settings::Settings;
use sqlx::PgPool;

#[derive(Debug, thiserror::Error)]
pub enum CreateAdminError {
    #[error("the admin email is not valid: {0}")]
    Email(#[from] EmailError),
    #[error("the name must be 1 to 200 characters with no control characters")]
    Name,
    #[error("{0}")]
    Password(#[from] PasswordError),
    #[error("an admin with that email already exists")]
    Exists,
    #[error("could not store the admin: {0}")]
    Database(String),
}

pub async fn create_admin(
    pool: &PgPool,
    email: &str,
    name: &str,
    role: Role,
    password: &str,
) -> Result<i64, CreateAdminError> {
    let email = EmailAddress::parse(email)?;
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 200 || name.chars().any(char::is_control) {
        return Err(CreateAdminError::Name);
    }
    let hash = hash_password(password)?;
    let inserted: Result<(i64,), sqlx::Error> = sqlx::query_as(
        "INSERT INTO admins (email, display_name, password_hash, role) VALUES ($1, $2, $3, $4)
         RETURNING id",
    )
    .bind(email.as_str())
    .bind(name)
    .bind(hash)
    .bind(role.as_str())
    .fetch_one(pool)
    .await;
    match inserted {
        Ok((id,)) => {
            tracing::info!(admin_id = id, email = %email.masked(), role = role.as_str(), "admin created");
            Ok(id)
        }
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => Err(CreateAdminError::Exists),
        Err(e) => Err(CreateAdminError::Database(e.to_string())),
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ProposeError {
    #[error("no active admin has that email")]
    UnknownAdmin,
    #[error("no patron has that email")]
    UnknownPatron,
    #[error("{0}")]
    Change(#[from] ChangeError),
    #[error("could not read the database: {0}")]
    Database(#[from] sqlx::Error),
}

/// Proposes a new email for the patron who holds `patron_email`, as the admin who signs in
/// with `admin_email`. The same operation, checks and messages as the dashboard's.
pub async fn propose_as(
    pool: &PgPool,
    settings: &Settings,
    admin_email: &str,
    patron_email: &str,
    new_email: &str,
    reason: &str,
) -> Result<i64, ProposeError> {
    let new_email = EmailAddress::parse(new_email).map_err(ChangeError::from)?;
    let reason = Reason::parse(reason)?;
    let admin: Option<(i64,)> = sqlx::query_as(
        "SELECT id FROM admins WHERE lower(email) = lower($1) AND disabled_at IS NULL",
    )
    .bind(admin_email.trim())
    .fetch_optional(pool)
    .await?;
    let (admin_id,) = admin.ok_or(ProposeError::UnknownAdmin)?;
    let patron: Option<(i64,)> =
        sqlx::query_as("SELECT id FROM patrons WHERE lower(email) = lower($1)")
            .bind(patron_email.trim())
            .fetch_optional(pool)
            .await?;
    let (patron_id,) = patron.ok_or(ProposeError::UnknownPatron)?;
    let proposal = Proposal {
        patron_id,
        new_email,
        reason,
    };
    Ok(propose(pool, settings, admin_id, proposal).await?)
}
