//! The venue's branding as patrons see it: the name, colour, logo and support address on
//! the patron pages and in every message. Managers change it here; until one does, the
//! configuration applies. Every instance reads the stored row, so a change shows
//! everywhere at once, and each change is an audit event with the before and after.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::auth::AdminError;
use crate::loaded::loaded;

/// The branding as the form shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BrandingView {
    pub org_name: String,
    pub colour: String,
    pub logo_url: String,
    pub support_email: String,
    /// "From the configuration", or who saved it and when.
    pub source: String,
}

#[server(endpoint = "get_branding")]
pub async fn get_branding() -> Result<BrandingView, AdminError> {
    use crate::auth::{ssr as auth, Role};
    auth::require(Role::Manager).await?;
    let state = auth::state()?;
    ssr::load_view(&state.pool, &state.settings.brand).await
}

#[server(endpoint = "save_branding")]
pub async fn save_branding(
    org_name: String,
    colour: String,
    logo_url: String,
    support_email: String,
) -> Result<(), AdminError> {
    use crate::auth::{ssr as auth, Role};
    let manager = auth::require(Role::Manager).await?;
    let brand = ssr::validate(&org_name, &colour, &logo_url, &support_email)
        .map_err(AdminError::Invalid)?;
    let state = auth::state()?;
    ssr::save(&state.pool, &state.settings.brand, &brand, manager.id).await
}

#[cfg(feature = "ssr")]
pub mod ssr {
    use sqlx::PgPool;

    use crate::audit::{record, Actor, AuditEvent};
    use crate::auth::AdminError;
    use crate::email::EmailAddress;
    use crate::settings::{is_hex_colour, Brand};

    use super::BrandingView;

    #[derive(sqlx::FromRow)]
    struct Stored {
        org_name: String,
        colour: String,
        logo_url: Option<String>,
        support_email: String,
        updated_at: chrono::DateTime<chrono::Utc>,
        updated_by: String,
    }

    impl Stored {
        fn brand(&self) -> Brand {
            Brand {
                org_name: self.org_name.clone(),
                colour: self.colour.clone(),
                logo_url: self.logo_url.clone(),
                support_email: self.support_email.clone(),
            }
        }
    }

    async fn stored(pool: &PgPool) -> Result<Option<Stored>, sqlx::Error> {
        sqlx::query_as(
            "SELECT b.org_name, b.colour, b.logo_url, b.support_email, b.updated_at,
                    a.display_name AS updated_by
             FROM branding b JOIN admins a ON a.id = b.updated_by",
        )
        .fetch_optional(pool)
        .await
    }

    /// The branding to show now: the stored one, or the configured one. A database error
    /// falls back to the configuration, so a patron page still renders.
    pub async fn current(pool: &PgPool, configured: &Brand) -> Brand {
        match stored(pool).await {
            Ok(Some(row)) => row.brand(),
            Ok(None) => configured.clone(),
            Err(error) => {
                tracing::warn!(%error, "reading the branding failed; using the configured one");
                configured.clone()
            }
        }
    }

    pub async fn load_view(pool: &PgPool, configured: &Brand) -> Result<BrandingView, AdminError> {
        let row = stored(pool).await.map_err(server_error)?;
        let (brand, source) = match &row {
            Some(row) => (
                row.brand(),
                format!(
                    "Saved by {} on {}",
                    row.updated_by,
                    row.updated_at.format("%Y-%m-%d %H:%M UTC")
                ),
            ),
            None => (
                configured.clone(),
                "From the server's configuration; nobody has changed it here yet".to_string(),
            ),
        };
        Ok(BrandingView {
            org_name: brand.org_name,
            colour: brand.colour,
            logo_url: brand.logo_url.unwrap_or_default(),
            support_email: brand.support_email,
            source,
        })
    }

    /// Checks a manager's form. The name goes into subjects and the colour into CSS, so
    /// neither may carry control characters or anything but a colour.
    pub fn validate(
        org_name: &str,
        colour: &str,
        logo_url: &str,
        support_email: &str,
    ) -> Result<Brand, String> {
        let org_name = org_name.trim();
        if org_name.is_empty()
            || org_name.chars().count() > 100
            || org_name.chars().any(char::is_control)
        {
            return Err("Give the venue's name in 1 to 100 characters, on one line.".to_string());
        }
        let colour = colour.trim();
        if !is_hex_colour(colour) {
            return Err("Give the colour as #rgb or #rrggbb, for example #7a1f5c.".to_string());
        }
        let logo_url = logo_url.trim();
        let logo_url = if logo_url.is_empty() {
            None
        } else {
            let unsafe_char =
                |c: char| c.is_whitespace() || c.is_control() || "\"'<>\\`".contains(c);
            let parsed = url::Url::parse(logo_url).ok().filter(|u| {
                u.scheme() == "https"
                    && u.host_str().is_some()
                    && logo_url.len() <= 500
                    && !logo_url.chars().any(unsafe_char)
            });
            let Some(parsed) = parsed else {
                return Err(
                    "The logo must be an https:// address of at most 500 characters, or empty."
                        .to_string(),
                );
            };
            Some(parsed.to_string())
        };
        let support_email = EmailAddress::parse(support_email)
            .map_err(|e| format!("The support address is not usable: {e}"))?;
        Ok(Brand {
            org_name: org_name.to_string(),
            colour: colour.to_string(),
            logo_url,
            support_email: support_email.as_str().to_string(),
        })
    }

    /// Stores the branding and its audit event in one transaction.
    pub async fn save(
        pool: &PgPool,
        configured: &Brand,
        brand: &Brand,
        admin_id: i64,
    ) -> Result<(), AdminError> {
        let mut tx = pool.begin().await.map_err(server_error)?;
        // Serialises concurrent saves, so each audit event's "before" is the true one.
        sqlx::query("LOCK TABLE branding IN SHARE ROW EXCLUSIVE MODE")
            .execute(&mut *tx)
            .await
            .map_err(server_error)?;
        let before: Option<(String, String, Option<String>, String)> =
            sqlx::query_as("SELECT org_name, colour, logo_url, support_email FROM branding")
                .fetch_optional(&mut *tx)
                .await
                .map_err(server_error)?;
        let before = before
            .map(|(org_name, colour, logo_url, support_email)| Brand {
                org_name,
                colour,
                logo_url,
                support_email,
            })
            .unwrap_or_else(|| configured.clone());
        sqlx::query(
            "INSERT INTO branding (org_name, colour, logo_url, support_email, updated_by)
             VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (singleton) DO UPDATE SET
                org_name = excluded.org_name, colour = excluded.colour,
                logo_url = excluded.logo_url, support_email = excluded.support_email,
                updated_at = now(), updated_by = excluded.updated_by",
        )
        .bind(&brand.org_name)
        .bind(&brand.colour)
        .bind(&brand.logo_url)
        .bind(&brand.support_email)
        .bind(admin_id)
        .execute(&mut *tx)
        .await
        .map_err(server_error)?;
        record(
            &mut tx,
            Actor::Admin(admin_id),
            AuditEvent {
                kind: "branding_changed",
                detail: Some(serde_json::json!({
                    "before": as_json(&before),
                    "after": as_json(brand),
                })),
                ..Default::default()
            },
        )
        .await
        .map_err(server_error)?;
        tx.commit().await.map_err(server_error)?;
        tracing::info!(by = admin_id, "branding changed");
        Ok(())
    }

    fn as_json(brand: &Brand) -> serde_json::Value {
        serde_json::json!({
            "org_name": brand.org_name,
            "colour": brand.colour,
            "logo_url": brand.logo_url,
            "support_email": brand.support_email,
        })
    }

    fn server_error(error: sqlx::Error) -> AdminError {
        tracing::error!(%error, "branding request failed");
        AdminError::Server("please try again".into())
    }

    #[cfg(test)]
    mod tests {
        use super::validate;

        #[test]
        fn accepts_a_plain_branding() {
            let brand = validate(
                " Teatro Nuevo ",
                "#0A5",
                "https://cdn.example/logo.png",
                "help@teatro.example",
            )
            .unwrap();
            assert_eq!(brand.org_name, "Teatro Nuevo");
            assert_eq!(brand.colour, "#0A5");
            assert_eq!(
                brand.logo_url.as_deref(),
                Some("https://cdn.example/logo.png")
            );
            assert_eq!(
                validate("T", "#000000", "", "a@b.example")
                    .unwrap()
                    .logo_url,
                None
            );
        }

        #[test]
        fn refuses_what_could_break_a_header_a_stylesheet_or_a_page() {
            let ok = ("Teatro", "#123456", "", "help@teatro.example");
            let cases = [
                ("Teatro\r\nBcc: x@evil.example", ok.1, ok.2, ok.3),
                ("", ok.1, ok.2, ok.3),
                (&"x".repeat(101) as &str, ok.1, ok.2, ok.3),
                (ok.0, "red;}body{display:none", ok.2, ok.3),
                (ok.0, "#12345", ok.2, ok.3),
                (ok.0, ok.1, "javascript:alert(1)", ok.3),
                (ok.0, ok.1, "http://plain.example/logo.png", ok.3),
                (ok.0, ok.1, "https://x.example/\"onerror=", ok.3),
                (ok.0, ok.1, ok.2, "not an address"),
                (
                    ok.0,
                    ok.1,
                    ok.2,
                    "help@teatro.example\r\nBcc: x@evil.example",
                ),
            ];
            for (name, colour, logo, support) in cases {
                assert!(
                    validate(name, colour, logo, support).is_err(),
                    "accepted {name:?} {colour:?} {logo:?} {support:?}"
                );
            }
        }
    }
}

#[component]
pub fn BrandingPage() -> impl IntoView {
    let save = ServerAction::<SaveBranding>::new();
    let current = Resource::new(move || save.version().get(), |_| get_branding());
    let outcome = move || match save.value().get() {
        Some(Ok(())) => Some((
            "status",
            "Saved. Patron pages and new messages use it now.".to_string(),
        )),
        Some(Err(error)) => Some(("alert", error.to_string())),
        None => None,
    };
    view! {
        <h1>"Branding"</h1>
        <p>"What patrons see on their pages and in every message: the venue's name, colour, logo and support address."</p>
        {loaded(current, "Loading…", move |brand: BrandingView| view! {
            <p data-testid="branding-source">{brand.source.clone()}</p>
            <section class="propose" aria-labelledby="branding-form-title">
                <h2 id="branding-form-title">"Change the branding"</h2>
                <ActionForm action=save>
                    <label for="brand-name">"Venue name"</label>
                    <input id="brand-name" name="org_name" required maxlength="100" value=brand.org_name/>
                    <label for="brand-colour">"Colour (#rgb or #rrggbb)"</label>
                    <input id="brand-colour" name="colour" required pattern="#([0-9a-fA-F]{3}|[0-9a-fA-F]{6})" value=brand.colour/>
                    <label for="brand-logo">"Logo address (https://, optional)"</label>
                    <input id="brand-logo" name="logo_url" type="url" value=brand.logo_url/>
                    <label for="brand-support">"Support email"</label>
                    <input id="brand-support" name="support_email" type="email" required value=brand.support_email/>
                    <button type="submit" class="primary">"Save the branding"</button>
                </ActionForm>
            </section>
        })}
        {move || outcome().map(|(role, text)| view! {
            <p role=role class=if role == "alert" { "error" } else { "notice" } data-testid="branding-outcome">{text}</p>
        })}
    }
}
