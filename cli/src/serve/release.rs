//! Release: sending a caught message on to a real server, configured with
//! `--release-to HOST:PORT` (and `--release-tls` or
//! `--release-implicit-tls`, `--release-user`,
//! `--release-password`, `--release-ca-file`), through mailwire's own
//! client. Mailpit's `POST /api/v1/message/{ID}/release` answers `ok` or
//! a `400` naming each refusal; `POST
//! /api/mailwire/v1/message/{ID}/release` answers with the report of every
//! recipient.

use std::path::PathBuf;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use mailwire_catcher::id::Id;
use mailwire_catcher::index::Index;
use mailwire_driver::ClientTls;
use mailwire_driver::client::{ClientSettings, SendOptions, ServerAddress, send_message};
use mailwire_driver::core::client::{AuthSecurity, RecipientStatus, TlsPolicy};
use mailwire_driver::core::sasl::Credentials;
use mailwire_driver::core::wire::address::ForwardPath;
use serde::{Deserialize, Serialize};

use super::chaos::bad_request;

/// Header fields of the stored copy that are not sent on: the catcher's
/// own delivery headers (`Return-Path`, `X-Envelope-To`, which would
/// reveal Bcc recipients), `Bcc`, and `Date` and `Message-ID`, made anew
/// as Mailpit does.
const DROPPED: [&str; 5] = ["return-path", "x-envelope-to", "bcc", "date", "message-id"];

/// The release options of `mailwire serve`.
#[derive(Debug, Clone, clap::Args)]
pub struct ReleaseArgs {
    /// Allow releasing caught messages (Mailpit's `POST
    /// /api/v1/message/{ID}/release`) to this server; without it release
    /// is refused.
    #[arg(long, value_name = "HOST:PORT")]
    pub release_to: Option<String>,
    /// Release only over STARTTLS with a verified certificate (else
    /// STARTTLS when offered, unverified).
    #[arg(long, requires = "release_to")]
    pub release_tls: bool,
    /// Release over TLS from the first byte (port 465 style, RFC 8314),
    /// with a verified certificate.
    #[arg(long, requires = "release_to", conflicts_with = "release_tls")]
    pub release_implicit_tls: bool,
    /// Log in to the release server as this user (with
    /// --release-password).
    #[arg(long, value_name = "USER", requires_all = ["release_to", "release_password"])]
    pub release_user: Option<String>,
    /// The password of --release-user.
    #[arg(long, value_name = "PASS", requires = "release_user")]
    pub release_password: Option<String>,
    /// PEM certificates of the authorities that sign the release server's
    /// certificate (instead of the usual web roots).
    #[arg(long, value_name = "FILE", requires = "release_to")]
    pub release_ca_file: Option<PathBuf>,
}

/// Where and how released messages go.
#[derive(Debug, Clone)]
pub struct Release {
    server: ServerAddress,
    settings: ClientSettings,
}

impl Release {
    /// The release configuration of `args`, if `--release-to` is given.
    ///
    /// # Errors
    ///
    /// A sentence: the address is not `HOST:PORT`, or the CA file cannot
    /// be read.
    pub fn from_args(args: &ReleaseArgs) -> Result<Option<Release>, String> {
        let Some(to) = &args.release_to else {
            return Ok(None);
        };
        let (host, port) = to
            .rsplit_once(':')
            .and_then(|(h, p)| Some((h.trim_matches(['[', ']']), p.parse::<u16>().ok()?)))
            .filter(|(h, _)| !h.is_empty())
            .ok_or_else(|| format!("--release-to {to:?}: expected HOST:PORT"))?;
        let server = if args.release_implicit_tls {
            ServerAddress::implicit_tls(host).with_port(port)
        } else {
            ServerAddress::new(host).with_port(port)
        };
        let verified = args.release_tls || args.release_implicit_tls;
        let mut settings = ClientSettings::default();
        if let Some(file) = &args.release_ca_file {
            let pem = std::fs::read(file)
                .map_err(|e| format!("--release-ca-file {}: {e}", file.display()))?;
            settings = settings.with_tls(
                ClientTls::with_ca_pem(&pem)
                    .map_err(|e| format!("--release-ca-file {}: {e}", file.display()))?,
            );
        }
        if verified {
            settings = settings.with_tls_policy(TlsPolicy::Required {
                accept_invalid_certs: false,
            });
        }
        if let (Some(user), Some(password)) = (&args.release_user, &args.release_password) {
            settings = settings.with_credentials(Credentials::password(user, password));
            // Credentials go over verified TLS with --release-tls; else
            // over any TLS, and in plaintext only to this host.
            settings = settings.with_auth_security(if verified {
                AuthSecurity::VerifiedTls
            } else if server.is_localhost() {
                AuthSecurity::Plaintext
            } else {
                AuthSecurity::AnyTls
            });
        }
        Ok(Some(Release { server, settings }))
    }
}

/// Mailpit's release request.
#[derive(Debug, Deserialize)]
struct ReleaseRequest {
    /// The recipients.
    #[serde(rename = "To", alias = "to", default)]
    to: Vec<String>,
}

/// One recipient in mailwire's release report.
#[derive(Debug, Serialize)]
struct RecipientResult {
    #[serde(rename = "Address")]
    address: String,
    #[serde(rename = "Accepted")]
    accepted: bool,
    #[serde(rename = "Reply")]
    reply: Option<String>,
    /// Whether its RCPT was refused (else it was not sent because of
    /// the others).
    #[serde(skip)]
    refused: bool,
}

/// mailwire's release report.
#[derive(Debug, Serialize)]
struct ReleaseReport {
    /// Whether the server took the message for every recipient.
    #[serde(rename = "Sent")]
    sent: bool,
    /// `HOST:PORT` of the release server.
    #[serde(rename = "Server")]
    server: String,
    /// The reply to the message (or the one that refused it).
    #[serde(rename = "Reply")]
    reply: Option<String>,
    /// Each recipient, in order.
    #[serde(rename = "Recipients")]
    recipients: Vec<RecipientResult>,
}

#[derive(Clone)]
struct Releasing {
    index: Arc<Index>,
    release: Option<Arc<Release>>,
}

/// The routes: Mailpit's release and mailwire's release with a report.
pub fn routes(index: Arc<Index>, release: Option<Release>) -> Router {
    Router::new()
        .route("/api/v1/message/{id}/release", post(release_mailpit))
        .route(
            "/api/mailwire/v1/message/{id}/release",
            post(release_report),
        )
        .with_state(Releasing {
            index,
            release: release.map(Arc::new),
        })
}

async fn release_mailpit(
    State(state): State<Releasing>,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    match release(&state, &id, &body).await {
        Err(response) => *response,
        Ok(report) if report.sent => {
            let mut response = (StatusCode::OK, "ok").into_response();
            response
                .headers_mut()
                .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
            response
        }
        Ok(report) => bad_request(refusals(&report)),
    }
}

async fn release_report(
    State(state): State<Releasing>,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    match release(&state, &id, &body).await {
        Err(response) => *response,
        Ok(report) => match serde_json::to_string(&report) {
            Ok(text) => {
                let mut response = (StatusCode::OK, text + "\n").into_response();
                response.headers_mut().insert(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/json"),
                );
                response
            }
            Err(e) => bad_request(e.to_string()),
        },
    }
}

/// The sentence of a release that was refused: each refused recipient
/// with its reply, or the reply that refused the message.
fn refusals(report: &ReleaseReport) -> String {
    let refused: Vec<String> = report
        .recipients
        .iter()
        .filter(|r| !r.accepted)
        .map(|r| match &r.reply {
            Some(reply) if r.refused => format!("{} refused ({reply})", r.address),
            _ => format!("{} not sent", r.address),
        })
        .collect();
    let mut text = format!("SMTP error: {}", refused.join("; "));
    if let Some(reply) = &report.reply {
        text.push_str(&format!("; the server answered {reply}"));
    }
    text
}

/// Reads the message, checks the request and sends it on.
async fn release(state: &Releasing, id: &str, body: &[u8]) -> Result<ReleaseReport, Box<Response>> {
    let index = &state.index;
    let id = if id == "latest" {
        index.latest(None)
    } else {
        id.parse::<Id>().ok()
    };
    let Some((_, path)) = id.and_then(|id| index.get(id)) else {
        return Err(Box::new(mailwire_catcher::http::api::not_found().await));
    };
    let request: ReleaseRequest =
        serde_json::from_slice(body).map_err(|e| Box::new(bad_request(e.to_string())))?;
    let mut recipients = Vec::new();
    for to in &request.to {
        let bare = bare_address(to);
        let path: ForwardPath = format!("<{bare}>")
            .parse()
            .map_err(|_| Box::new(bad_request(format!("Invalid email address: {to}"))))?;
        recipients.push(path);
    }
    if recipients.is_empty() {
        return Err(Box::new(bad_request("No valid addresses found")));
    }
    let Some(release) = state.release.clone() else {
        return Err(Box::new(bad_request(
            "Release is not configured: start mailwire serve with --release-to HOST:PORT",
        )));
    };
    let raw = tokio::task::spawn_blocking(move || std::fs::read(path))
        .await
        .ok()
        .and_then(Result::ok)
        .ok_or_else(|| Box::new(bad_request("The message could not be read")))?;
    let message = without_headers(&raw, &DROPPED);
    let options = SendOptions::new([release.server.clone()])
        .with_settings(release.settings.clone())
        .with_recipients(recipients);
    let server = format!("{}:{}", release.server.host, release.server.port);
    let report = send_message(mailwire_tokio::Tokio, message, &options)
        .await
        .map_err(|e| Box::new(bad_request(format!("SMTP error: {e}"))))?;
    let recipients: Vec<RecipientResult> = report
        .recipients
        .iter()
        .map(|r| RecipientResult {
            address: r
                .path
                .mailbox()
                .map_or_else(String::new, ToString::to_string),
            accepted: r.status == RecipientStatus::Sent,
            reply: r.reply.as_ref().map(ToString::to_string),
            refused: r.status == RecipientStatus::Refused,
        })
        .collect();
    Ok(ReleaseReport {
        sent: report.is_sent() && recipients.iter().all(|r| r.accepted),
        server,
        reply: report.final_reply().map(ToString::to_string),
        recipients,
    })
}

/// The address in `text`: inside `<…>` when there are angle brackets
/// (`Name <a@b>`), else the whole text, trimmed.
fn bare_address(text: &str) -> &str {
    let text = text.trim();
    match (text.rfind('<'), text.rfind('>')) {
        (Some(open), Some(close)) if open < close => &text[open + 1..close],
        _ => text,
    }
}

/// `message` without the header fields named in `names` (with their
/// continuation lines); the body is untouched.
fn without_headers(message: &[u8], names: &[&str]) -> Vec<u8> {
    let mut out = Vec::with_capacity(message.len());
    let mut rest = message;
    let mut dropping = false;
    while !rest.is_empty() {
        let end = memchr_newline(rest).map_or(rest.len(), |i| i + 1);
        let line = &rest[..end];
        rest = &rest[end..];
        if line == b"\r\n" || line == b"\n" {
            out.extend_from_slice(line);
            out.extend_from_slice(rest);
            return out;
        }
        let continuation = line.first().is_some_and(|b| *b == b' ' || *b == b'\t');
        if !continuation {
            let name = line.iter().position(|b| *b == b':').map(|i| {
                String::from_utf8_lossy(&line[..i])
                    .trim()
                    .to_ascii_lowercase()
            });
            dropping = name.is_some_and(|n| names.contains(&n.as_str()));
        }
        if !dropping {
            out.extend_from_slice(line);
        }
    }
    out
}

fn memchr_newline(bytes: &[u8]) -> Option<usize> {
    bytes.iter().position(|b| *b == b'\n')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drops_the_named_fields_and_their_continuations() {
        let message = b"Return-Path: <a@b>\r\nX-Envelope-To: <secret@b>\r\nReceived: from x\r\n\tby y\r\nSubject: hi\r\nBcc: c@d,\r\n e@f\r\n\r\nBcc: body line\r\n";
        let out = without_headers(message, &DROPPED);
        assert_eq!(
            out,
            b"Received: from x\r\n\tby y\r\nSubject: hi\r\n\r\nBcc: body line\r\n"
        );
    }

    #[test]
    fn addresses_with_and_without_names() {
        assert_eq!(bare_address(" Bob <bob@example.org> "), "bob@example.org");
        assert_eq!(bare_address("bob@example.org"), "bob@example.org");
    }

    #[test]
    fn release_to_must_be_host_and_port() {
        let args = |to: &str| ReleaseArgs {
            release_to: Some(to.into()),
            release_tls: false,
            release_implicit_tls: false,
            release_user: None,
            release_password: None,
            release_ca_file: None,
        };
        assert!(
            Release::from_args(&args("127.0.0.1:2526"))
                .unwrap()
                .is_some()
        );
        assert!(Release::from_args(&args("[::1]:25")).unwrap().is_some());
        for bad in ["localhost", "localhost:", ":25", "host:99999"] {
            let e = Release::from_args(&args(bad)).unwrap_err();
            assert!(e.contains("expected HOST:PORT"), "{bad}: {e}");
        }
    }
}
