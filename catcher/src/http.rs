//! The HTTP listener: Mailpit's API ([`api`]), its websocket ([`events`]),
//! the web page ([`page`]) and the guards in front of them all
//! ([`guard`]), served by axum on hyper
//! (HTTP/1.1) on a thread of its own with a single-threaded tokio runtime,
//! whatever runtime the SMTP side uses.

pub mod api;
pub mod events;
pub mod guard;
pub mod page;

use std::io;
use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;

use crate::index::Index;

/// How often `stats` events are sent at most (Mailpit: four a second).
const STATS_EVERY: Duration = Duration::from_millis(250);

/// How long a client has for the TLS handshake.
const HANDSHAKE_TIME: Duration = Duration::from_secs(10);

/// What the HTTP side is told on the command line.
#[derive(Clone)]
pub struct HttpOptions {
    /// Where to listen (port 0: any free port).
    pub addr: SocketAddr,
    /// `USER:PASS` for basic authentication (`None`: none asked).
    pub auth: Option<String>,
    /// Host names, besides the bound address and `localhost`, that
    /// requests may name in `Host`.
    pub hosts: Vec<String>,
    /// Serve HTTPS with this acceptor (`--http-tls-cert`/`--http-tls-key`).
    pub tls: Option<futures_rustls::TlsAcceptor>,
    /// The path everything is served under, as [`webroot`] writes it
    /// (Mailpit's `--webroot`): `/` (the default), or `/PREFIX/` for a
    /// reverse proxy that forwards a sub-path.
    pub webroot: String,
}

/// Mailpit's `--webroot` written as a path: `mailpit`, `/mailpit` and
/// `/mailpit/` all give `/mailpit/`; empty or `/` gives `/`.
///
/// ```
/// use mailwire_catcher::http::webroot;
///
/// assert_eq!(webroot("mail/pit").unwrap(), "/mail/pit/");
/// assert_eq!(webroot("/").unwrap(), "/");
/// assert!(webroot("/a b/").is_err());
/// ```
///
/// # Errors
///
/// A character other than letters, digits, `-`, `_`, `.`, `~` and `/`, or
/// an empty, `.` or `..` segment.
pub fn webroot(text: &str) -> Result<String, String> {
    let trimmed = text.trim_matches('/');
    if trimmed.is_empty() {
        return Ok("/".to_owned());
    }
    for segment in trimmed.split('/') {
        if segment.is_empty() || segment == "." || segment == ".." {
            return Err(format!(
                "{text:?} is not a web root: an empty, . or .. segment"
            ));
        }
        if let Some(bad) = segment
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '~')))
        {
            return Err(format!(
                "{text:?} is not a web root: {bad:?} is not allowed (letters, digits, - _ . ~ and /)"
            ));
        }
    }
    Ok(format!("/{trimmed}/"))
}

impl std::fmt::Debug for HttpOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpOptions")
            .field("addr", &self.addr)
            .field("auth", &self.auth.as_ref().map(|_| "USER:PASS"))
            .field("hosts", &self.hosts)
            .field("tls", &self.tls.is_some())
            .field("webroot", &self.webroot)
            .finish()
    }
}

/// The running HTTP side.
#[derive(Debug)]
pub struct HttpServer {
    local_addr: SocketAddr,
}

impl HttpServer {
    /// Binds `options.addr` and serves `index` on a new thread. Returns
    /// once the socket listens.
    ///
    /// # Errors
    ///
    /// The address cannot be bound, or the thread or runtime cannot be
    /// started: the message says which.
    pub fn start(index: Arc<Index>, options: &HttpOptions) -> io::Result<HttpServer> {
        HttpServer::start_with(index, options, Router::new())
    }

    /// As [`start`](Self::start), also serving the routes of `more`
    /// (an application's own, such as `mailwire serve`'s chaos and release
    /// endpoints) behind the same guards.
    ///
    /// # Errors
    ///
    /// As [`start`](Self::start).
    pub fn start_with(
        index: Arc<Index>,
        options: &HttpOptions,
        more: Router,
    ) -> io::Result<HttpServer> {
        let listener = TcpListener::bind(options.addr).map_err(|e| {
            let why = if e.kind() == io::ErrorKind::AddrInUse {
                "the address is already in use (is another server running on it?)".to_owned()
            } else {
                e.to_string()
            };
            io::Error::new(
                e.kind(),
                format!("cannot listen for HTTP on {}: {why}", options.addr),
            )
        })?;
        listener.set_nonblocking(true)?;
        let local_addr = listener.local_addr()?;
        let guard = Arc::new(guard::Guard::new(local_addr, options)?);
        let root = options.webroot.clone();
        let tls = options.tls.clone();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        std::thread::Builder::new()
            .name("mailwire-http".into())
            .spawn(move || {
                runtime.block_on(async move {
                    let listener = match tokio::net::TcpListener::from_std(listener) {
                        Ok(l) => l,
                        Err(e) => {
                            eprintln!("mailwire serve: the HTTP listener failed: {e}");
                            return;
                        }
                    };
                    tokio::spawn(send_stats(index.clone()));
                    let app = router_with(index, guard, more, &root);
                    serve(listener, app, tls).await;
                });
            })?;
        Ok(HttpServer { local_addr })
    }

    /// The bound address (with the real port when port 0 was asked for).
    #[must_use]
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }
}

/// Every route, behind the guards, at the server's root.
pub fn router(index: Arc<Index>, guard: Arc<guard::Guard>) -> Router {
    router_with(index, guard, Router::new(), "/")
}

/// Every route and those of `more`, behind the guards, under `webroot`
/// (`/`, or `/PREFIX/` as [`webroot`] writes it: `/PREFIX` itself is
/// redirected to `/PREFIX/`, where the page's relative links work).
pub fn router_with(
    index: Arc<Index>,
    guard: Arc<guard::Guard>,
    more: Router,
    webroot: &str,
) -> Router {
    let routes = api::routes()
        .merge(events::routes())
        .merge(page::routes())
        .with_state(index)
        .merge(more);
    let routes = match webroot.trim_end_matches('/') {
        "" => routes.route("/", axum::routing::get(page::index)),
        prefix => {
            let to = format!("{prefix}/");
            Router::new()
                .route(&to, axum::routing::get(page::index))
                .route(
                    prefix,
                    axum::routing::get(
                        move || async move { axum::response::Redirect::permanent(&to) },
                    ),
                )
                .nest(prefix, routes)
        }
    };
    routes
        .fallback(api::not_found)
        .layer(axum::middleware::from_fn_with_state(guard, guard::check))
}

/// Accepts connections and serves each on its own task (HTTP/1.1 with
/// upgrades, for the websocket), after a TLS handshake when `tls` is
/// given.
async fn serve(
    listener: tokio::net::TcpListener,
    app: Router,
    tls: Option<futures_rustls::TlsAcceptor>,
) {
    loop {
        let (stream, _) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(_) => {
                // Out of descriptors or a connection reset before accept:
                // wait a little and go on.
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let service = TowerToHyperService::new(app.clone());
        let tls = tls.clone();
        tokio::spawn(async move {
            let http = hyper::server::conn::http1::Builder::new();
            match tls {
                None => {
                    let _ = http
                        .serve_connection(TokioIo::new(stream), service)
                        .with_upgrades()
                        .await;
                }
                Some(acceptor) => {
                    use tokio_util::compat::{FuturesAsyncReadCompatExt, TokioAsyncReadCompatExt};
                    let handshake = acceptor.accept(stream.compat());
                    let Ok(Ok(secured)) = tokio::time::timeout(HANDSHAKE_TIME, handshake).await
                    else {
                        return;
                    };
                    let _ = http
                        .serve_connection(TokioIo::new(secured.compat()), service)
                        .with_upgrades()
                        .await;
                }
            }
        });
    }
}

/// Sends a `stats` event after changes, at most every 250 ms.
async fn send_stats(index: Arc<Index>) {
    loop {
        index.stats_due().await;
        tokio::time::sleep(STATS_EVERY).await;
        index.send_stats();
    }
}
