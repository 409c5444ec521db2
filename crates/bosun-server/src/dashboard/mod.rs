//! The web dashboard at `/`: a page, its style and its script modules (plain ES modules,
//! no build step), embedded in the binary so `bosun up` serves them with nothing to
//! install. The files hold no data and need no token; everything they show comes from
//! the API with the token the person logs in with (kept in the tab, sent as a header,
//! never in a URL).
//!
//! The page allows only its own script and style (`Content-Security-Policy`), so a
//! job's name or output shown on it can never run as code.

use axum::extract::Path;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::error::ApiError;
use crate::state::AppState;

const PAGE: &str = include_str!("index.html");
const STYLE: &str = include_str!("style.css");

/// The page's script modules, by file name: the shell and one module a page or two.
const SCRIPTS: [(&str, &str); 7] = [
    ("app.js", include_str!("app.js")),
    ("lib.js", include_str!("lib.js")),
    ("overview.js", include_str!("overview.js")),
    ("executions.js", include_str!("executions.js")),
    ("execution.js", include_str!("execution.js")),
    ("jobs.js", include_str!("jobs.js")),
    ("fleet.js", include_str!("fleet.js")),
];

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
            "/ui/style.css",
            get(|| async { file("text/css; charset=utf-8", STYLE) }),
        )
        .route("/ui/{script}", get(script))
}

/// One of [`SCRIPTS`]; any other name is the API's 404.
async fn script(Path(name): Path<String>) -> Response {
    match SCRIPTS.iter().find(|(file, _)| *file == name) {
        Some((_, body)) => file("text/javascript; charset=utf-8", body).into_response(),
        None => ApiError::NotFound("dashboard file").into_response(),
    }
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
