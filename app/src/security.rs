//! Request checks shared by every state-changing route.

use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::state::AppState;

/// Middleware: refuses every state-changing request (anything but GET, HEAD, OPTIONS)
/// that did not come from our own origin. Server functions accept form posts, so this is
/// what stops a cross-site form from acting as a signed-in admin or as a patron.
pub async fn refuse_cross_origin(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let reads = matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    );
    if !reads && !same_origin(request.headers(), &state.settings.public_origin()) {
        tracing::warn!(method = %request.method(), "cross-origin request refused");
        return (StatusCode::FORBIDDEN, "Cross-origin request refused.").into_response();
    }
    next.run(request).await
}

/// True when a request plausibly came from a page of our own origin.
///
/// `Sec-Fetch-Site` decides when the browser sends it (all current ones do): only
/// `same-origin` passes. It must come first, because pages served with
/// `Referrer-Policy: no-referrer` make browsers send `Origin: null` on their own form
/// posts. Without it, an `Origin` header must name our origin. A client that sends
/// neither is not a browser, and so no cross-site request forgery vector.
pub fn same_origin(headers: &HeaderMap, public_origin: &str) -> bool {
    if let Some(site) = headers.get("sec-fetch-site") {
        return site.as_bytes() == b"same-origin";
    }
    match headers.get(axum::http::header::ORIGIN) {
        Some(origin) => origin.to_str().is_ok_and(|o| o == public_origin),
        None => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, v.parse().unwrap());
        }
        h
    }

    #[test]
    fn cross_site_requests_are_refused() {
        let ours = "http://127.0.0.1:3000";
        assert!(same_origin(
            &headers(&[
                ("origin", "http://127.0.0.1:3000"),
                ("sec-fetch-site", "same-origin")
            ]),
            ours
        ));
        assert!(same_origin(&headers(&[]), ours));
        // A no-referrer page's own form post: the browser hides the origin, not the site.
        assert!(same_origin(
            &headers(&[("origin", "null"), ("sec-fetch-site", "same-origin")]),
            ours
        ));
        assert!(!same_origin(
            &headers(&[("origin", "https://evil.example")]),
            ours
        ));
        assert!(!same_origin(&headers(&[("origin", "null")]), ours));
        assert!(!same_origin(
            &headers(&[("sec-fetch-site", "cross-site")]),
            ours
        ));
        assert!(!same_origin(
            &headers(&[
                ("sec-fetch-site", "same-site"),
                ("origin", "http://127.0.0.1:3000")
            ]),
            ours
        ));
    }
}
