//! The guards in front of every route: the `Host` a request names (DNS
//! rebinding), basic authentication, the `Origin` of state-changing
//! requests and websocket upgrades, and the type of their bodies (no
//! cross-site form can delete or change anything). Body-less requests
//! without `Origin` (API clients, curl) pass as Mailpit serves them.

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine;

use super::HttpOptions;

/// What the guards compare requests with.
#[derive(Debug)]
pub struct Guard {
    bound: IpAddr,
    hosts: Vec<String>,
    /// The expected `Authorization` value (`Basic …`).
    authorization: Option<String>,
    /// `https://` or `http://`: the start of this interface's origin.
    scheme: &'static str,
}

impl Guard {
    /// The guards of a listener bound to `bound`.
    ///
    /// # Errors
    ///
    /// `--http-auth` is not `USER:PASS`.
    pub fn new(bound: SocketAddr, options: &HttpOptions) -> io::Result<Guard> {
        let authorization = match &options.auth {
            None => None,
            Some(pair) => {
                if !pair.contains(':') || pair.starts_with(':') {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidInput,
                        "--http-auth must be USER:PASS",
                    ));
                }
                let encoded = base64::engine::general_purpose::STANDARD.encode(pair);
                Some(format!("Basic {encoded}"))
            }
        };
        Ok(Guard {
            bound: bound.ip(),
            hosts: options
                .hosts
                .iter()
                .map(|h| h.trim_end_matches('.').to_ascii_lowercase())
                .collect(),
            authorization,
            scheme: if options.tls.is_some() {
                "https://"
            } else {
                "http://"
            },
        })
    }

    /// Whether a `Host` header value names this server: its bound
    /// address (any address literal when bound to all of them),
    /// `localhost`, or a `--http-host` name; any port.
    #[must_use]
    pub fn host_allowed(&self, host: &str) -> bool {
        let name = host_name(host).trim_end_matches('.').to_ascii_lowercase();
        if name == "localhost" || self.hosts.contains(&name) {
            return true;
        }
        match name.parse::<IpAddr>() {
            Ok(ip) => ip == self.bound || self.bound.is_unspecified(),
            Err(_) => false,
        }
    }

    fn authorized(&self, headers: &HeaderMap) -> bool {
        let Some(expected) = &self.authorization else {
            return true;
        };
        headers
            .get(header::AUTHORIZATION)
            .is_some_and(|given| same(given.as_bytes(), expected.as_bytes()))
    }
}

/// Compares without stopping at the first difference.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The host part of a `Host` value (`name`, `1.2.3.4`, `[::1]`), the port
/// left out.
fn host_name(host: &str) -> &str {
    if let Some(rest) = host.strip_prefix('[') {
        return rest.split_once(']').map_or(rest, |(ip, _)| ip);
    }
    match host.rsplit_once(':') {
        Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) => name,
        _ => host,
    }
}

/// A refusal: `status` with a sentence as plain text.
fn refuse(status: StatusCode, sentence: &str) -> Response {
    let mut response = (status, format!("{sentence}\n")).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

/// Whether a request changes state (anything but GET, HEAD, OPTIONS).
fn changes_state(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// Whether a request carries a body.
fn has_body(headers: &HeaderMap) -> bool {
    let length = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    length.is_some_and(|n| n > 0) || headers.contains_key(header::TRANSFER_ENCODING)
}

/// Whether the body is declared `application/json` (parameters allowed).
fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|essence| essence.trim().eq_ignore_ascii_case("application/json"))
}

/// The middleware: checks a request against the guards, then passes it
/// on; every response gets `X-Content-Type-Options: nosniff` and
/// `Referrer-Policy: no-referrer`.
pub async fn check(
    State(guard): State<Arc<Guard>>,
    request: Request<Body>,
    next: Next,
) -> Response {
    let mut response = match verdict(&guard, &request) {
        Some(refusal) => refusal,
        None => next.run(request).await,
    };
    let headers = response.headers_mut();
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    response
}

/// The refusal a request gets, if any.
fn verdict(guard: &Guard, request: &Request<Body>) -> Option<Response> {
    let headers = request.headers();
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or_default();
    if !guard.host_allowed(host) {
        return Some(refuse(
            StatusCode::FORBIDDEN,
            "The Host header names neither this server's address, localhost nor a --http-host name.",
        ));
    }
    if !guard.authorized(headers) {
        let mut response = refuse(
            StatusCode::UNAUTHORIZED,
            "A user name and password are needed (basic authentication).",
        );
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"mailwire\""),
        );
        return Some(response);
    }
    let upgrade = headers
        .get(header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket"));
    let state = changes_state(request.method());
    if (state || upgrade)
        && let Some(origin) = headers.get(header::ORIGIN)
    {
        let own = origin
            .to_str()
            .ok()
            .and_then(|o| o.strip_prefix(guard.scheme))
            .is_some_and(|rest| rest.eq_ignore_ascii_case(host));
        if !own {
            return Some(refuse(
                StatusCode::FORBIDDEN,
                "Requests that change something must come from this interface's own origin.",
            ));
        }
    }
    if state && has_body(headers) && !is_json(headers) {
        return Some(refuse(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "A request body must be sent as Content-Type: application/json.",
        ));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn guard(bound: &str, hosts: &[&str]) -> Guard {
        let options = HttpOptions {
            addr: bound.parse().unwrap(),
            auth: None,
            hosts: hosts.iter().map(|h| (*h).to_owned()).collect(),
            tls: None,
            webroot: "/".to_owned(),
        };
        Guard::new(options.addr, &options).unwrap()
    }

    #[test]
    fn hosts_that_name_the_server() {
        let g = guard("127.0.0.1:8025", &["Mail.Example."]);
        for ok in [
            "127.0.0.1:8025",
            "127.0.0.1",
            "localhost:8025",
            "LOCALHOST",
            "mail.example:80",
        ] {
            assert!(g.host_allowed(ok), "{ok}");
        }
        for bad in [
            "",
            "evil.example:8025",
            "127.0.0.2:8025",
            "localhost.evil.example",
            "[::1]:8025",
        ] {
            assert!(!g.host_allowed(bad), "{bad}");
        }
        let any = guard("[::]:8025", &[]);
        assert!(any.host_allowed("[::1]:8025"));
        assert!(any.host_allowed("192.0.2.7:8025"));
        assert!(!any.host_allowed("rebind.example:8025"));
    }

    #[test]
    fn auth_must_be_user_and_password() {
        let options = HttpOptions {
            addr: "127.0.0.1:0".parse().unwrap(),
            auth: Some("nopassword".into()),
            hosts: Vec::new(),
            tls: None,
            webroot: "/".to_owned(),
        };
        assert!(Guard::new(options.addr, &options).is_err());
    }
}
