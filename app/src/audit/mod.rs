//! The audit log: every event, append-only (see `ssr` and the migration's triggers), and
//! the view admins read it through, with filters and a CSV export.

use chrono::{DateTime, NaiveDate, Utc};
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;
use serde::{Deserialize, Serialize};

use crate::auth::AdminError;
use crate::loaded::loaded;

#[cfg(feature = "ssr")]
mod ssr;
#[cfg(feature = "ssr")]
pub use ssr::*;

pub const PAGE_SIZE: i64 = 100;

/// Which events to show. Every field is optional; dates are whole UTC days, inclusive.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditFilter {
    pub patron: Option<i64>,
    pub admin: Option<i64>,
    pub kind: Option<String>,
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
}

impl AuditFilter {
    /// Reads the filter from query parameters as the filter form sends them; empty fields
    /// mean "any".
    pub fn parse(get: impl Fn(&str) -> Option<String>) -> Result<Self, String> {
        let field = |name: &str| {
            get(name)
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        let number = |name: &str| {
            field(name)
                .map(|v| {
                    v.parse::<i64>()
                        .map_err(|_| format!("{name} must be a number"))
                })
                .transpose()
        };
        let date = |name: &str| {
            field(name)
                .map(|v| {
                    NaiveDate::parse_from_str(&v, "%Y-%m-%d")
                        .map_err(|_| format!("{name} must be a date like 2026-12-04"))
                })
                .transpose()
        };
        Ok(AuditFilter {
            patron: number("patron")?,
            admin: number("admin")?,
            kind: field("kind").filter(|k| k.len() <= 40),
            from: date("from")?,
            to: date("to")?,
        })
    }

    pub fn query_string(&self) -> String {
        let mut parts = Vec::new();
        if let Some(p) = self.patron {
            parts.push(format!("patron={p}"));
        }
        if let Some(a) = self.admin {
            parts.push(format!("admin={a}"));
        }
        if let Some(k) = &self.kind {
            parts.push(format!(
                "kind={}",
                k.replace(|c: char| !c.is_ascii_alphanumeric() && c != '_', "")
            ));
        }
        if let Some(f) = self.from {
            parts.push(format!("from={f}"));
        }
        if let Some(t) = self.to {
            parts.push(format!("to={t}"));
        }
        parts.join("&")
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct AuditRow {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub actor: String,
    pub admin: Option<String>,
    pub patron_id: Option<i64>,
    pub request_id: Option<i64>,
    pub kind: String,
    pub old_value: Option<String>,
    pub new_value: Option<String>,
    pub reason: Option<String>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub text_version: Option<String>,
}

/// Newest first, `PAGE_SIZE` at a time; pass the last id as `before` for the next page.
#[server(endpoint = "audit_events")]
pub async fn audit_events(
    #[server(default)] filter: AuditFilter,
    before: Option<i64>,
) -> Result<Vec<AuditRow>, AdminError> {
    use crate::auth::{ssr as auth, Role};
    auth::require(Role::Viewer).await?;
    let pool = auth::state()?.pool;
    query(&pool, &filter, before, PAGE_SIZE).await.map_err(|e| {
        tracing::error!(error = %e, "audit query failed");
        AdminError::Server("please try again".into())
    })
}

#[component]
pub fn AuditPage() -> impl IntoView {
    let params = use_query_map();
    let filter = move || AuditFilter::parse(|name| params.read().get(name));
    let rows = Resource::new(filter, |filter| async move {
        match filter {
            Ok(filter) => audit_events(filter, None).await.map_err(|e| e.to_string()),
            Err(message) => Err(message),
        }
    });
    let value = move |name: &'static str| params.read().get(name).unwrap_or_default();
    let csv = move || {
        format!(
            "/audit.csv?{}",
            filter().map(|f| f.query_string()).unwrap_or_default()
        )
    };
    view! {
        <h1>"Audit log"</h1>
        <form method="get" action="/audit" class="filters">
            <label>"Patron #" <input name="patron" inputmode="numeric" prop:value=move || value("patron")/></label>
            <label>"Admin #" <input name="admin" inputmode="numeric" prop:value=move || value("admin")/></label>
            <label>"Kind" <input name="kind" prop:value=move || value("kind")/></label>
            <label>"From" <input name="from" type="date" prop:value=move || value("from")/></label>
            <label>"To" <input name="to" type="date" prop:value=move || value("to")/></label>
            <button type="submit">"Filter"</button>
            <a href=csv download="audit.csv">"Download CSV"</a>
        </form>
        {loaded(rows, "Loading…", move |rows: Vec<AuditRow>| view! {
            <table class="history" data-testid="audit">
                <thead><tr>
                    <th scope="col">"When"</th><th scope="col">"Who"</th><th scope="col">"What"</th>
                    <th scope="col">"Patron"</th><th scope="col">"Request"</th><th scope="col">"Before"</th>
                    <th scope="col">"After"</th><th scope="col">"Reason"</th><th scope="col">"From"</th>
                </tr></thead>
                <tbody>
                    {rows.into_iter().map(|r| view! {
                        <tr>
                            <td>{r.at.format("%Y-%m-%d %H:%M:%S").to_string()}</td>
                            <td>{r.admin.unwrap_or(r.actor)}</td>
                            <td>{r.kind}</td>
                            <td>{r.patron_id.map(|p| view! { <a href=format!("/patrons/{p}")>{p}</a> })}</td>
                            <td>{r.request_id}</td>
                            <td>{r.old_value}</td>
                            <td>{r.new_value}</td>
                            <td>{r.reason}</td>
                            <td>{r.ip}</td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
        })}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_parse_and_print_back() {
        let pairs = [
            ("patron", "7"),
            ("kind", "approved"),
            ("from", "2026-12-01"),
            ("admin", ""),
        ];
        let get = |name: &str| {
            pairs
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        };
        let filter = AuditFilter::parse(get).unwrap();
        assert_eq!(filter.patron, Some(7));
        assert_eq!(filter.admin, None);
        assert_eq!(
            filter.query_string(),
            "patron=7&kind=approved&from=2026-12-01"
        );
        assert!(AuditFilter::parse(|n| (n == "from").then(|| "yesterday".to_string())).is_err());
        assert!(AuditFilter::parse(|n| (n == "patron").then(|| "1; DROP".to_string())).is_err());
    }
}
