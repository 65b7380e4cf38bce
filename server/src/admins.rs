//! Adding admins from the command line.

use app::auth::password::{hash_password, PasswordError};
use app::auth::Role;
use app::email::{EmailAddress, EmailError};
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
