//! The development mailbox: in development with no SMTP server, messages are written to a
//! folder and this page shows them, so a person trying Assent can follow a link. The
//! server mounts it only in development.

use axum::extract::State;
use axum::http::{header, HeaderValue};
use axum::response::{Html, IntoResponse, Response};
use std::path::Path;

use super::templates::escape;
use crate::state::AppState;

struct Letter {
    to: String,
    subject: String,
    date: String,
    text: String,
}

pub async fn page(State(state): State<AppState>) -> Response {
    let Some(dir) = state.mailer.mailbox_dir().cloned() else {
        return (
            axum::http::StatusCode::NOT_FOUND,
            "No local mailbox: SMTP is configured.",
        )
            .into_response();
    };
    let letters = tokio::task::spawn_blocking(move || read_letters(&dir, 50))
        .await
        .unwrap_or_default();
    let mut body = String::from(
        "<h1>Development mailbox</h1><p>Messages Assent would have sent, newest first. \
         This page exists only in development.</p>",
    );
    if letters.is_empty() {
        body.push_str("<p>No messages yet.</p>");
    }
    for letter in letters {
        body.push_str(&format!(
            "<article class=\"letter\"><h2>{}</h2><p class=\"meta\">To: {} · {}</p><pre>{}</pre></article>",
            escape(&letter.subject),
            escape(&letter.to),
            escape(&letter.date),
            linkify(&letter.text)
        ));
    }
    let html = format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>Mailbox · Assent</title>\
<link rel=\"stylesheet\" href=\"/pkg/assent.css\"></head><body><main class=\"mailbox\">{body}</main></body></html>"
    );
    let mut response = Html(html).into_response();
    response.headers_mut().insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

fn read_letters(dir: &Path, limit: usize) -> Vec<Letter> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<(std::time::SystemTime, std::path::PathBuf)> = entries
        .filter_map(Result::ok)
        .filter(|e| e.path().extension().is_some_and(|x| x == "eml"))
        .filter_map(|e| Some((e.metadata().ok()?.modified().ok()?, e.path())))
        .collect();
    files.sort_by_key(|f| std::cmp::Reverse(f.0));
    files
        .into_iter()
        .take(limit)
        .filter_map(|(_, path)| {
            let raw = std::fs::read(&path).ok()?;
            let parsed = mail_parser::MessageParser::default().parse(&raw)?;
            Some(Letter {
                to: parsed
                    .to()
                    .and_then(|to| to.first())
                    .and_then(|a| a.address())
                    .unwrap_or_default()
                    .to_string(),
                subject: parsed.subject().unwrap_or_default().to_string(),
                date: parsed.date().map(|d| d.to_rfc3339()).unwrap_or_default(),
                text: parsed
                    .body_text(0)
                    .map(|t| t.into_owned())
                    .unwrap_or_default(),
            })
        })
        .collect()
}

/// Escapes the text and turns http(s) URLs into links.
fn linkify(text: &str) -> String {
    let mut out = String::new();
    for (i, line) in text.lines().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        let trimmed = line.trim();
        if (trimmed.starts_with("http://") || trimmed.starts_with("https://"))
            && !trimmed.contains(char::is_whitespace)
        {
            out.push_str(&format!("<a href=\"{0}\">{0}</a>", escape(trimmed)));
        } else {
            out.push_str(&escape(line));
        }
    }
    out
}
