//! The web dashboard at `/`: a page, its script and its style, embedded in the binary so
//! `bosun up` serves them with no build step and nothing to install. The files hold no
//! data and need no token; everything they show comes from the API with the token the
//! person logs in with (kept in the tab, sent as a header, never in a URL).
//!
//! The page allows only its own script and style (`Content-Security-Policy`), so a
//! job's name or output shown on it can never run as code.

use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;

use crate::state::AppState;

const PAGE: &str = include_str!("index.html");
const SCRIPT: &str = include_str!("app.js");
const STYLE: &str = include_str!("style.css");

/// What the browser may load and run: this server's script, style and API, nothing else.
const POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
    connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; \
    frame-ancestors 'none'";

/// The dashboard's routes, outside the OpenAPI document (they are not the API).
pub(crate) fn routes() -> axum::Router<AppState> {
    axum::Router::new()
        .route(
            "/",
            get(|| async { file("text/html; charset=utf-8", PAGE) }),
        )
        .route(
            "/ui/app.js",
            get(|| async { file("text/javascript; charset=utf-8", SCRIPT) }),
        )
        .route(
            "/ui/style.css",
            get(|| async { file("text/css; charset=utf-8", STYLE) }),
        )
}

fn file(content_type: &'static str, body: &'static str) -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, content_type),
            // Always asked again (cheap: they are in memory), so a new binary's files
            // are what a reloaded page gets.
            (header::CACHE_CONTROL, "no-cache"),
            (header::CONTENT_SECURITY_POLICY, POLICY),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (header::REFERRER_POLICY, "no-referrer"),
        ],
        body,
    )
}
