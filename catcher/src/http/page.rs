//! The web page at `/`: one HTML file, a style sheet and a script,
//! compiled into the binary (`catcher/assets/`), so nothing is built with
//! Node and nothing is fetched at run time. The page talks to the same
//! `/api/v1` and `/api/events` as any client.

use std::sync::Arc;

use axum::Router;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::index::Index;

/// The page.
const INDEX_HTML: &str = include_str!("../../assets/index.html");
/// Its style sheet.
const APP_CSS: &str = include_str!("../../assets/app.css");
/// Its script.
const APP_JS: &str = include_str!("../../assets/app.js");
/// Its icon.
const FAVICON_SVG: &str = include_str!("../../assets/favicon.svg");

/// The policy the page is served under. Scripts and styles come only
/// from this server; images, fonts and media may come from anywhere
/// because a message's HTML, shown in a sandboxed `srcdoc` frame,
/// inherits this policy: the frame adds its own, stricter one, which
/// blocks remote content until it is asked for.
pub const PAGE_CSP: &str = "default-src 'self'; script-src 'self'; \
style-src 'self' 'unsafe-inline'; img-src * data: blob:; font-src * data:; \
media-src *; connect-src 'self'; frame-src 'self' about:; object-src 'none'; \
base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// The page itself (served at the web root: `/`, or `/PREFIX/`).
pub async fn index() -> Response {
    asset("text/html; charset=utf-8", INDEX_HTML)
}

/// The routes of the page's assets (the page is [`index`]).
pub fn routes() -> Router<Arc<Index>> {
    Router::new()
        .route(
            "/assets/app.css",
            get(|| async { asset("text/css; charset=utf-8", APP_CSS) }),
        )
        .route(
            "/assets/app.js",
            get(|| async { asset("text/javascript; charset=utf-8", APP_JS) }),
        )
        .route(
            "/favicon.svg",
            get(|| async { asset("image/svg+xml", FAVICON_SVG) }),
        )
}

/// An asset with its type, the page's policy and no caching (the binary
/// may be replaced by a newer one on the same port).
fn asset(content_type: &'static str, body: &'static str) -> Response {
    let mut response = (StatusCode::OK, body).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(PAGE_CSP),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_names_its_assets_relative_to_the_web_root() {
        // Relative, so that the page works under --webroot too.
        assert!(INDEX_HTML.contains("src=\"assets/app.js\""));
        assert!(INDEX_HTML.contains("href=\"assets/app.css\""));
        assert!(!INDEX_HTML.contains("=\"/"), "no absolute path in the page");
    }

    #[test]
    fn the_page_policy_runs_no_inline_script() {
        assert!(PAGE_CSP.contains("script-src 'self';"));
        assert!(!PAGE_CSP.contains("unsafe-eval"));
    }
}
