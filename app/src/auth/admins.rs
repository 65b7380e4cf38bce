//! Managing admins: managers add admins and disable or re-enable them.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use super::AdminError;
#[cfg(feature = "ssr")]
use super::Role;
use crate::loaded::loaded;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct AdminRow {
    pub id: i64,
    pub email: String,
    pub display_name: String,
    pub role: String,
    pub disabled: bool,
}

#[server(endpoint = "list_admins")]
pub async fn list_admins() -> Result<Vec<AdminRow>, AdminError> {
    super::ssr::require(Role::Manager).await?;
    let pool = super::ssr::state()?.pool;
    sqlx::query_as(
        "SELECT id, email, display_name, role, disabled_at IS NOT NULL AS disabled
         FROM admins ORDER BY lower(email)",
    )
    .fetch_all(&pool)
    .await
    .map_err(|e| {
        tracing::error!(error = %e, "listing admins failed");
        AdminError::Server("please try again".into())
    })
}

#[server(endpoint = "add_admin")]
pub async fn add_admin(
    email: String,
    display_name: String,
    role: String,
    password: String,
) -> Result<i64, AdminError> {
    use super::password::hash_password_bounded;
    use crate::email::EmailAddress;
    let manager = super::ssr::require(Role::Manager).await?;
    let pool = super::ssr::state()?.pool;
    let email = EmailAddress::parse(&email).map_err(|e| AdminError::Invalid(e.to_string()))?;
    let name = display_name.trim();
    if name.is_empty() || name.chars().count() > 200 || name.chars().any(char::is_control) {
        return Err(AdminError::Invalid(
            "Give a name of 1 to 200 characters.".into(),
        ));
    }
    let role = Role::parse(&role)
        .ok_or_else(|| AdminError::Invalid("Choose viewer, agent or manager.".into()))?;
    let hash = hash_password_bounded(password)
        .await
        .map_err(|e| AdminError::Invalid(format!("The password is not usable: {e}.")))?;
    let inserted = insert_admin(&pool, manager.id, &email, name, role, &hash).await;
    match inserted {
        Ok(id) => {
            tracing::info!(admin_id = id, by = manager.id, role = role.as_str(), email = %email.masked(), "admin added");
            Ok(id)
        }
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => Err(AdminError::Invalid(
            "An admin with that email already exists.".into(),
        )),
        Err(e) => {
            tracing::error!(error = %e, "adding an admin failed");
            Err(AdminError::Server("please try again".into()))
        }
    }
}

/// Inserts the admin and its audit event in one transaction.
#[cfg(feature = "ssr")]
async fn insert_admin(
    pool: &sqlx::PgPool,
    manager_id: i64,
    email: &crate::email::EmailAddress,
    name: &str,
    role: Role,
    hash: &str,
) -> Result<i64, sqlx::Error> {
    use crate::audit::{record, Actor, AuditEvent};
    let mut tx = pool.begin().await?;
    let (id,): (i64,) = sqlx::query_as(
        "INSERT INTO admins (email, display_name, password_hash, role) VALUES ($1, $2, $3, $4) RETURNING id",
    )
    .bind(email.as_str())
    .bind(name)
    .bind(hash)
    .bind(role.as_str())
    .fetch_one(&mut *tx)
    .await?;
    record(
        &mut tx,
        Actor::Admin(manager_id),
        AuditEvent {
            kind: "admin_added",
            detail: Some(serde_json::json!({ "admin_id": id, "role": role.as_str() })),
            ..Default::default()
        },
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}

#[server(endpoint = "set_admin_disabled")]
pub async fn set_admin_disabled(admin_id: i64, disabled: bool) -> Result<(), AdminError> {
    let manager = super::ssr::require(Role::Manager).await?;
    if manager.id == admin_id {
        return Err(AdminError::Invalid("You cannot disable yourself.".into()));
    }
    let pool = super::ssr::state()?.pool;
    let changed = set_disabled(&pool, manager.id, admin_id, disabled)
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "disabling an admin failed");
            AdminError::Server("please try again".into())
        })?;
    if !changed {
        return Err(AdminError::Invalid("No such admin.".into()));
    }
    tracing::info!(admin_id, by = manager.id, disabled, "admin access changed");
    Ok(())
}

/// Changes an admin's access and records it, in one transaction. False if there is no
/// such admin.
#[cfg(feature = "ssr")]
async fn set_disabled(
    pool: &sqlx::PgPool,
    manager_id: i64,
    admin_id: i64,
    disabled: bool,
) -> Result<bool, sqlx::Error> {
    use crate::audit::{record, Actor, AuditEvent};
    let mut tx = pool.begin().await?;
    let updated = sqlx::query(
        "UPDATE admins SET disabled_at = CASE WHEN $2 THEN coalesce(disabled_at, now()) ELSE NULL END WHERE id = $1",
    )
    .bind(admin_id)
    .bind(disabled)
    .execute(&mut *tx)
    .await?;
    if updated.rows_affected() == 0 {
        return Ok(false);
    }
    record(
        &mut tx,
        Actor::Admin(manager_id),
        AuditEvent {
            kind: if disabled {
                "admin_disabled"
            } else {
                "admin_enabled"
            },
            detail: Some(serde_json::json!({ "admin_id": admin_id })),
            ..Default::default()
        },
    )
    .await?;
    tx.commit().await?;
    Ok(true)
}

#[component]
pub fn AdminsPage() -> impl IntoView {
    let add = ServerAction::<AddAdmin>::new();
    let toggle = ServerAction::<SetAdminDisabled>::new();
    let admins = Resource::new(
        move || (add.version().get(), toggle.version().get()),
        |_| list_admins(),
    );
    let failure = move || {
        [
            add.value().get().and_then(|r| r.err()),
            toggle.value().get().and_then(Result::err),
        ]
        .into_iter()
        .flatten()
        .next()
        .map(|e| e.to_string())
    };
    view! {
        <h1>"Admins"</h1>
        {loaded(admins, "Loading…", move |rows: Vec<AdminRow>| view! {
            <table class="history" data-testid="admins">
                <thead><tr>
                    <th scope="col">"Email"</th><th scope="col">"Name"</th><th scope="col">"Role"</th>
                    <th scope="col">"Access"</th>
                </tr></thead>
                <tbody>
                    {rows.into_iter().map(|a| view! {
                        <tr>
                            <td>{a.email}</td><td>{a.display_name.clone()}</td><td>{a.role}</td>
                            <td>
                                <ActionForm action=toggle>
                                    <input type="hidden" name="admin_id" value=a.id/>
                                    <input type="hidden" name="disabled" value=(!a.disabled).to_string()/>
                                    <button type="submit">
                                        {if a.disabled { format!("Enable {}", a.display_name) } else { format!("Disable {}", a.display_name) }}
                                    </button>
                                </ActionForm>
                            </td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
        })}
        <section aria-labelledby="add-admin-title" class="propose">
            <h2 id="add-admin-title">"Add an admin"</h2>
            <ActionForm action=add>
                <label for="admin-email">"Email"</label>
                <input id="admin-email" name="email" type="email" required/>
                <label for="admin-name">"Name"</label>
                <input id="admin-name" name="display_name" required/>
                <label for="admin-role">"Role"</label>
                <select id="admin-role" name="role">
                    <option value="viewer">"Viewer: reads"</option>
                    <option value="agent" selected>"Agent: proposes, resends, cancels"</option>
                    <option value="manager">"Manager: also manages admins"</option>
                </select>
                <label for="admin-password">"Initial password (at least 12 characters)"</label>
                <input id="admin-password" name="password" type="password" autocomplete="new-password" required/>
                <button type="submit" class="primary">"Add the admin"</button>
            </ActionForm>
        </section>
        <p role="alert" class="error" data-testid="admins-error">{failure}</p>
    }
}
