//! Patrons as admins find them: search by any part of a name or address, a page at a time.

use leptos::prelude::*;
use leptos_router::components::Form;
use leptos_router::hooks::use_query_map;
use serde::{Deserialize, Serialize};

use crate::auth::AdminError;
use crate::loaded::loaded;

mod detail;
pub use detail::*;

pub const PAGE_SIZE: i64 = 25;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PatronSummary {
    pub id: i64,
    pub name: String,
    pub email: String,
    pub pending: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PatronPage {
    pub patrons: Vec<PatronSummary>,
    /// Pass as `after` for the next page; `None` on the last one.
    pub next_after: Option<i64>,
}

/// Patrons whose name or email contains `query` (case-insensitive), in id order after
/// `after` (keyset pagination: as fast on page 400 as on page 1).
#[server(endpoint = "search_patrons")]
pub async fn search_patrons(query: String, after: Option<i64>) -> Result<PatronPage, AdminError> {
    use crate::auth::{ssr::require, Role};
    require(Role::Viewer).await?;
    let pool = crate::auth::ssr::state()?.pool;
    let query = query
        .trim()
        .chars()
        .take(100)
        .collect::<String>()
        .to_lowercase();
    // LIKE treats % and _ as wildcards; a search for them means the characters.
    let pattern = format!(
        "%{}%",
        query
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_")
    );
    // A query with a space is a name and one with an @ is an address, so only that
    // column's trigram index is read. Each search is planned for its own pattern (not
    // a cached generic plan): a whole address wants the index, a common fragment the
    // primary key. The pending flag is an index probe per row shown.
    let matches = if query.is_empty() {
        "true"
    } else if query.contains(char::is_whitespace) {
        "lower(name) LIKE $1"
    } else if query.contains('@') {
        "lower(email) LIKE $1"
    } else {
        "(lower(name) LIKE $1 OR lower(email) LIKE $1)"
    };
    let sql = format!(
        "SELECT p.id, p.name, p.email, r.pending IS NOT NULL
         FROM (SELECT id, name, email FROM patrons
               WHERE {matches} AND id > $2 ORDER BY id LIMIT $3) p
         LEFT JOIN LATERAL (
             SELECT true AS pending FROM change_requests
             WHERE patron_id = p.id AND status = 'pending' LIMIT 1) r ON true
         ORDER BY p.id"
    );
    let rows: Vec<(i64, String, String, bool)> = sqlx::query_as(&sql)
        .persistent(false)
        .bind(&pattern)
        .bind(after.unwrap_or(0))
        .bind(PAGE_SIZE + 1)
        .fetch_all(&pool)
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "patron search failed");
            AdminError::Server("please try again".into())
        })?;
    let more = rows.len() as i64 > PAGE_SIZE;
    let patrons: Vec<PatronSummary> = rows
        .into_iter()
        .take(PAGE_SIZE as usize)
        .map(|(id, name, email, pending)| PatronSummary {
            id,
            name,
            email,
            pending,
        })
        .collect();
    let next_after = if more {
        patrons.last().map(|p| p.id)
    } else {
        None
    };
    Ok(PatronPage {
        patrons,
        next_after,
    })
}

#[component]
pub fn PatronsPage() -> impl IntoView {
    let params = use_query_map();
    let from_url = move || params.read().get("q").unwrap_or_default();
    let after = move || {
        params
            .read()
            .get("after")
            .and_then(|a| a.parse::<i64>().ok())
    };
    // Typing searches at once; the form's GET is the same search without JavaScript.
    let typed = RwSignal::new(None::<String>);
    let query = move || typed.get().unwrap_or_else(from_url);
    let results = Resource::new(
        move || (query(), after()),
        |(q, after)| search_patrons(q, after),
    );

    view! {
        <h1>"Patrons"</h1>
        <Form method="GET" action="">
            <label for="patron-search">"Search by name or email"</label>
            <div class="search-row">
                <input
                    id="patron-search"
                    type="search"
                    name="q"
                    autocomplete="off"
                    prop:value=query
                    on:input=move |ev| typed.set(Some(event_target_value(&ev)))
                />
                <button type="submit">"Search"</button>
            </div>
        </Form>
        {loaded(results, "Searching…", move |page: PatronPage| view! { <PatronTable page query=query()/> })}
    }
}

#[component]
fn PatronTable(page: PatronPage, query: String) -> impl IntoView {
    let next = page
        .next_after
        .map(|after| format!("?q={}&after={after}", urlencode(&query)));
    let empty = page.patrons.is_empty();
    view! {
        <table class="patrons" data-testid="patron-results">
            <caption class="visually-hidden">"Matching patrons"</caption>
            <thead>
                <tr><th scope="col">"Name"</th><th scope="col">"Email"</th><th scope="col">"Pending change"</th></tr>
            </thead>
            <tbody>
                {page.patrons.into_iter().map(|p| view! {
                    <tr>
                        <td><a href=format!("/patrons/{}", p.id)>{p.name}</a></td>
                        <td>{p.email}</td>
                        <td>{if p.pending { "yes" } else { "" }}</td>
                    </tr>
                }).collect_view()}
            </tbody>
        </table>
        {empty.then(|| view! { <p>"No patron matches."</p> })}
        {next.map(|href| view! { <a href=href class="next-page">"Next page"</a> })}
    }
}

fn urlencode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
