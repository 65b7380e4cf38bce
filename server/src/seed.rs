//! Demo data for development: a venue's worth of patrons and a demo admin, written only
//! into an empty database.

use app::auth::password::hash_password;
use sqlx::PgPool;

pub const DEMO_ADMIN_EMAIL: &str = "manager@demo.assent.test";
/// Development only, and printed on start so a person trying Assent can sign in.
pub const DEMO_ADMIN_PASSWORD: &str = "assent-demo-password";

const FIRST: [&str; 12] = [
    "Ana", "Bruno", "Carmen", "Diego", "Elena", "Farid", "Grace", "Hugo", "Inés", "Jonas", "Keiko",
    "Lucía",
];
const LAST: [&str; 4] = ["García", "Okafor", "Lindqvist", "Moreau"];

/// Seeds when there are no patrons yet. Returns whether it did.
pub async fn seed_if_empty(pool: &PgPool) -> Result<bool, sqlx::Error> {
    let mut tx = pool.begin().await?;
    // One instance seeds; others starting at the same moment wait, then see the rows.
    sqlx::query("SELECT pg_advisory_xact_lock(727001)")
        .execute(&mut *tx)
        .await?;
    let (patrons,): (i64,) = sqlx::query_as("SELECT count(*) FROM patrons")
        .fetch_one(&mut *tx)
        .await?;
    if patrons > 0 {
        return Ok(false);
    }
    for (i, (first, last)) in FIRST
        .iter()
        .flat_map(|f| LAST.iter().map(move |l| (*f, *l)))
        .enumerate()
    {
        let email = format!("{}.{}@example.org", ascii_lower(first), ascii_lower(last));
        let locale = if i % 3 == 0 { "es" } else { "en" };
        sqlx::query("INSERT INTO patrons (name, email, locale) VALUES ($1, $2, $3)")
            .bind(format!("{first} {last}"))
            .bind(email)
            .bind(locale)
            .execute(&mut *tx)
            .await?;
    }
    let hash =
        hash_password(DEMO_ADMIN_PASSWORD).map_err(|e| sqlx::Error::Protocol(e.to_string()))?;
    sqlx::query(
        "INSERT INTO admins (email, display_name, password_hash, role)
         VALUES ($1, 'Demo Manager', $2, 'manager')
         ON CONFLICT DO NOTHING",
    )
    .bind(DEMO_ADMIN_EMAIL)
    .bind(hash)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(true)
}

fn ascii_lower(name: &str) -> String {
    name.chars()
        .map(|c| match c {
            'á' => 'a',
            'é' => 'e',
            'í' => 'i',
            'ó' => 'o',
            'ú' => 'u',
            other => other,
        })
        .collect::<String>()
        .to_lowercase()
}
