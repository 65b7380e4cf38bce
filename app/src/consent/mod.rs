//! The patron's pages: what a link from an email opens. Server-rendered HTML with no
//! script at all, so they work on any phone with or without JavaScript. A GET or HEAD
//! only reads; the form's POST acts, and only from our own origin (the server's
//! `security::refuse_cross_origin` layer checks that).

mod copy;

use axum::extract::{ConnectInfo, Form, Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;
use serde::Deserialize;
use std::net::SocketAddr;

use crate::changes::ssr::{act_on_link, view_link, DecisionContext};
use crate::changes::token::LinkToken;
use crate::changes::{LinkAction, LinkPurpose, LinkState};
use crate::locale::Locale;
use crate::mail::templates::escape;
use crate::settings::Brand;
use crate::state::AppState;
use copy::Copy;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/c/{token}", get(show).post(act))
        .route("/brand.css", get(brand_css))
}

#[derive(Deserialize)]
pub struct PageQuery {
    lang: Option<String>,
}

#[derive(Deserialize)]
pub struct ActForm {
    action: String,
    lang: Option<String>,
}

async fn show(
    State(state): State<AppState>,
    Path(raw): Path<String>,
    Query(query): Query<PageQuery>,
) -> Response {
    let link = match LinkToken::parse(&raw) {
        Some(token) => view_link(&state.pool, &token).await,
        None => Ok(LinkState::Invalid),
    };
    let brand = current_brand(&state).await;
    match link {
        Ok(link) => {
            let locale = chosen_locale(query.lang.as_deref(), &link);
            page(StatusCode::OK, &brand, locale, &raw, &link)
        }
        Err(_) => server_error(&brand),
    }
}

async fn act(
    State(state): State<AppState>,
    Path(raw): Path<String>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Form(form): Form<ActForm>,
) -> Response {
    let locale = form
        .lang
        .as_deref()
        .and_then(Locale::parse)
        .unwrap_or_default();
    // Cross-origin posts never get here: `security::refuse_cross_origin` runs first.
    let (Some(token), Some(action)) = (LinkToken::parse(&raw), LinkAction::parse(&form.action))
    else {
        return page(
            StatusCode::BAD_REQUEST,
            &current_brand(&state).await,
            locale,
            "",
            &LinkState::Invalid,
        );
    };
    let context = DecisionContext {
        ip: Some(peer.ip().to_string()),
        user_agent: headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string),
    };
    match act_on_link(&state.pool, &state.settings, &token, action, &context).await {
        // Post/redirect/get: the outcome page is the link's own page, now closed.
        Ok(_) => Redirect::to(&format!("/c/{raw}?lang={}", locale.as_str())).into_response(),
        Err(_) => server_error(&current_brand(&state).await),
    }
}

async fn current_brand(state: &AppState) -> Brand {
    crate::branding::ssr::current(&state.pool, &state.settings.brand).await
}

/// The brand colour as a stylesheet, so the pages need no inline style. Revalidated on
/// every use, so a manager's change shows on the next page load.
async fn brand_css(State(state): State<AppState>) -> Response {
    let css = format!(":root{{--brand:{};}}\n", current_brand(&state).await.colour);
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        css,
    )
        .into_response()
}

fn chosen_locale(requested: Option<&str>, link: &LinkState) -> Locale {
    requested.and_then(Locale::parse).unwrap_or(match link {
        LinkState::Open(open) => open.locale,
        _ => Locale::En,
    })
}

fn server_error(brand: &Brand) -> Response {
    let copy = Copy::for_locale(Locale::En);
    let body = format!("<h1>{}</h1><p>{}</p>", copy.error_title, copy.error_body);
    respond(
        StatusCode::INTERNAL_SERVER_ERROR,
        document(brand, Locale::En, copy.error_title, &body, ""),
    )
}

fn page(
    status: StatusCode,
    brand: &Brand,
    locale: Locale,
    raw: &str,
    link: &LinkState,
) -> Response {
    let copy = Copy::for_locale(locale);
    let contact = format!(
        "<p>{} <a href=\"mailto:{support}\">{support}</a></p>",
        copy.contact,
        support = escape(&brand.support_email)
    );
    let (title, body) = match link {
        LinkState::Open(open) => {
            let org = escape(&brand.org_name);
            let action = format!("/c/{}", escape(raw));
            let expires = open.expires_at.format("%Y-%m-%d %H:%M UTC");
            let details = format!(
                "<dl class=\"facts\">\
<dt>{asked_by}</dt><dd>{org}</dd>\
<dt>{current}</dt><dd>{old}</dd>\
<dt>{new}</dt><dd><strong>{new_email}</strong></dd>\
<dt>{reason}</dt><dd>{reason_text}</dd>\
<dt>{expires_label}</dt><dd><time datetime=\"{iso}\">{expires}</time></dd>\
</dl>",
                asked_by = copy.asked_by,
                current = copy.current_address,
                old = escape(&open.old_email_masked),
                new = copy.new_address,
                new_email = escape(&open.new_email),
                reason = copy.reason,
                reason_text = escape(&open.reason),
                expires_label = copy.expires,
                iso = open.expires_at.to_rfc3339(),
            );
            let lang = format!(
                "<input type=\"hidden\" name=\"lang\" value=\"{}\">",
                locale.as_str()
            );
            match open.purpose {
                LinkPurpose::Decide => (
                    copy.decide_title,
                    format!(
                        "<h1>{title}</h1><p>{intro}</p>{details}\
<form method=\"post\" action=\"{action}\" class=\"choices\">{lang}\
<button type=\"submit\" name=\"action\" value=\"approve\" class=\"primary\">{approve}</button>\
<button type=\"submit\" name=\"action\" value=\"reject\" class=\"secondary\">{reject}</button>\
</form><p class=\"note\">{note}</p>",
                        title = copy.decide_title,
                        intro = copy.decide_intro.replace("{org}", &org),
                        approve = copy.approve,
                        reject = copy.reject,
                        note = copy.decide_note,
                    ),
                ),
                LinkPurpose::NotMe => (
                    copy.not_me_title,
                    format!(
                        "<h1>{title}</h1><p>{intro}</p>{details}\
<form method=\"post\" action=\"{action}\" class=\"choices\">{lang}\
<button type=\"submit\" name=\"action\" value=\"not_me\" class=\"primary\">{button}</button>\
</form><p class=\"note\">{note}</p>",
                        title = copy.not_me_title,
                        intro = copy.not_me_intro.replace("{org}", &org),
                        button = copy.not_me_button,
                        note = copy.not_me_note,
                    ),
                ),
            }
        }
        closed => {
            let (title, text) = copy.closed(closed);
            (title, format!("<h1>{title}</h1><p>{text}</p>{contact}"))
        }
    };
    let switcher = language_switcher(locale, raw, copy.language);
    respond(status, document(brand, locale, title, &body, &switcher))
}

fn language_switcher(current: Locale, raw: &str, label: &str) -> String {
    if raw.is_empty() {
        return String::new();
    }
    let links: Vec<String> = Locale::ALL
        .iter()
        .map(|locale| {
            if *locale == current {
                format!("<span aria-current=\"true\">{}</span>", locale.endonym())
            } else {
                format!(
                    "<a href=\"/c/{}?lang={}\" lang=\"{}\" hreflang=\"{}\">{}</a>",
                    escape(raw),
                    locale.as_str(),
                    locale.as_str(),
                    locale.as_str(),
                    locale.endonym()
                )
            }
        })
        .collect();
    format!(
        "<nav class=\"languages\" aria-label=\"{label}\">{}</nav>",
        links.join(" · ")
    )
}

fn document(brand: &Brand, locale: Locale, title: &str, body: &str, nav: &str) -> String {
    let logo = brand
        .logo_url
        .as_deref()
        .map(|url| format!("<img src=\"{}\" alt=\"\" class=\"logo\">", escape(url)))
        .unwrap_or_default();
    let org = escape(&brand.org_name);
    format!(
        "<!DOCTYPE html><html lang=\"{lang}\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
<title>{title} · {org}</title>\
<link rel=\"stylesheet\" href=\"/pkg/assent.css\"><link rel=\"stylesheet\" href=\"/brand.css\">\
</head><body class=\"patron\"><header class=\"brand-bar\">{logo}<span class=\"org\">{org}</span></header>\
<main class=\"card\">{body}</main><footer class=\"patron-footer\">{nav}</footer></body></html>",
        lang = locale.as_str(),
    )
}

fn respond(status: StatusCode, html: String) -> Response {
    let mut response = (status, axum::response::Html(html)).into_response();
    let headers = response.headers_mut();
    for (name, value) in [
        ("referrer-policy", "no-referrer"),
        ("cache-control", "no-store"),
        (
            "content-security-policy",
            "default-src 'none'; style-src 'self'; img-src 'self' https:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
        ("x-content-type-options", "nosniff"),
        ("x-frame-options", "DENY"),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
    response
}
