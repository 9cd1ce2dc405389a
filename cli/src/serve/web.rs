//! `mailwire serve --http`: the catcher's index over the Maildir,
//! Mailpit's API and live events over HTTP, and pruning
//! (`--max-messages`, `--max-age`). The HTTP side runs on its own thread
//! whatever `--runtime` serves SMTP.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use mailwire_catcher::http::{HttpOptions, HttpServer};
use mailwire_catcher::index::Index;
use mailwire_catcher::watch::{self, Limits};

use crate::common::duration::parse_duration;

/// Where HTTP listens when no address at all is given.
const DEFAULT_HTTP: ([u8; 4], u16) = ([127, 0, 0, 1], 8025);

/// The HTTP and pruning options of `mailwire serve`.
#[derive(Debug, Clone, clap::Args)]
pub struct WebArgs {
    /// Serve Mailpit's REST API (/api/v1) and live events (/api/events)
    /// on ADDR (port 0 picks a free port). Without --listen, --listen-tls
    /// and --http, SMTP is on 127.0.0.1:2525 and HTTP on 127.0.0.1:8025.
    #[arg(long, value_name = "ADDR", value_parser = super::parse_listen)]
    pub http: Option<SocketAddr>,
    /// Ask for this user and password (basic authentication) on HTTP.
    #[arg(long, value_name = "USER:PASS")]
    pub http_auth: Option<String>,
    /// A host name HTTP requests may name in their Host header besides
    /// the bound address and localhost (repeatable); others are refused.
    #[arg(long, value_name = "NAME")]
    pub http_host: Vec<String>,
    /// Serve the page and the API under this path (Mailpit's --webroot),
    /// for a reverse proxy that forwards a sub-path: `mailpit` serves
    /// `/mailpit/`, `/mailpit/api/v1/…` and `/mailpit/api/events`.
    #[arg(long, value_name = "PATH", default_value = "/", value_parser = mailwire_catcher::http::webroot)]
    pub webroot: String,
    /// PEM certificate chain: serve HTTPS instead of HTTP.
    #[arg(long, value_name = "FILE", requires = "http_tls_key")]
    pub http_tls_cert: Option<std::path::PathBuf>,
    /// PEM private key for --http-tls-cert.
    #[arg(long, value_name = "FILE", requires = "http_tls_cert")]
    pub http_tls_key: Option<std::path::PathBuf>,
    /// Keep at most N messages: the oldest are deleted.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub max_messages: Option<u64>,
    /// Delete messages older than this: 30s, 5m, 2h, 5d, or seconds.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub max_age: Option<Duration>,
}

impl WebArgs {
    /// The HTTP address: `--http`, or 127.0.0.1:8025 when no SMTP
    /// address is given either.
    fn address(&self, smtp_given: bool) -> Option<SocketAddr> {
        self.http
            .or_else(|| (!smtp_given).then(|| SocketAddr::from(DEFAULT_HTTP)))
    }

    fn limits(&self) -> Limits {
        Limits {
            max_messages: self
                .max_messages
                .map(|n| usize::try_from(n).unwrap_or(usize::MAX)),
            max_age: self.max_age,
        }
    }
}

/// The index of the Maildir at `maildir`, loaded, when HTTP or pruning
/// needs one.
///
/// # Errors
///
/// A sentence: the options do not fit together, or the Maildir cannot be
/// read.
pub fn index(
    web: &WebArgs,
    maildir: Option<&Path>,
    smtp_given: bool,
) -> Result<Option<Arc<Index>>, String> {
    let wanted = web.address(smtp_given).is_some()
        || web.limits().max_messages.is_some()
        || web.max_age.is_some();
    let Some(root) = maildir else {
        if web.http.is_some() || web.max_messages.is_some() || web.max_age.is_some() {
            return Err("--http, --max-messages and --max-age need a Maildir: they do not go with --discard".into());
        }
        return Ok(None);
    };
    if !wanted {
        return Ok(None);
    }
    let index = Index::new(root, env!("CARGO_PKG_VERSION")).keep_at_most(web.limits().max_messages);
    index
        .load()
        .map_err(|e| format!("cannot read the Maildir {}: {e}", root.display()))?;
    Ok(Some(Arc::new(index)))
}

/// Starts following the Maildir and, when asked for, the HTTP side
/// (with the routes of `more` besides Mailpit's API);
/// prints `web interface on http://ADDR/` (with the --webroot path) once it listens.
///
/// # Errors
///
/// A sentence: the address cannot be bound, or the Maildir cannot be
/// watched.
pub fn start(
    web: &WebArgs,
    index: &Arc<Index>,
    smtp_given: bool,
    more: axum::Router,
) -> Result<(), String> {
    watch::start(index.clone(), web.limits())
        .map_err(|e| format!("cannot follow the Maildir {}: {e}", index.root().display()))?;
    let Some(addr) = web.address(smtp_given) else {
        return Ok(());
    };
    let tls = match (&web.http_tls_cert, &web.http_tls_key) {
        (Some(cert), Some(key)) => Some(
            mailwire_driver::ServerTls::from_pem_files(cert, key)
                .map_err(|e| format!("HTTPS certificate: {e}"))?
                .acceptor(),
        ),
        _ => None,
    };
    let scheme = if tls.is_some() { "https" } else { "http" };
    let options = HttpOptions {
        addr,
        auth: web.http_auth.clone(),
        hosts: web.http_host.clone(),
        tls,
        webroot: web.webroot.clone(),
    };
    let server =
        HttpServer::start_with(index.clone(), &options, more).map_err(|e| e.to_string())?;
    let bound = server.local_addr();
    if !bound.ip().is_loopback() && web.http_auth.is_none() {
        eprintln!(
            "mailwire serve: warning: HTTP on {bound} is reachable from other hosts without a password (give --http-auth USER:PASS)"
        );
    }
    super::print_flushed(&format!(
        "web interface on {scheme}://{bound}{}",
        web.webroot
    ));
    Ok(())
}
