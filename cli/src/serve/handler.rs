//! The catcher's [`Handler`]: host, sender and recipient policy, AUTH
//! against `--auth` users, and streaming delivery into the Maildir with
//! one line (or JSON object) printed per message.

use std::io::{self, Write};
use std::net::IpAddr;
use std::path::PathBuf;
use std::time::SystemTime;

use mailwire_driver::core::message::{parse_message, return_path_header};
use mailwire_driver::core::sasl::{Mechanism, StoredSecret};
use mailwire_driver::core::server::{AuthCheck, ReceivedEnvelope, replies};
use mailwire_driver::core::wire::address::{ForwardPath, ReversePath};
use mailwire_driver::core::wire::params::{MailParameters, RcptParameters};
use mailwire_driver::server::{Context, Handler, HookError, HookResult, MailStream};
use serde::Serialize;

use super::maildir::{Maildir, Pending, is_storage_full};
use super::text::rfc3339_utc;
use crate::common::policy::{Policy, bare_forward, bare_reverse};
use crate::common::text::escape_control;
use crate::common::users::Users;
use mailwire_driver::server::Cidr;

/// Octets written to the file at a time.
const WRITE_CHUNK: usize = 256 << 10;
/// Octets of the message kept to find its `Subject`.
const HEADER_PREFIX: usize = 64 << 10;

/// How accepted messages are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Output {
    /// One line: time, sender, recipients, size, subject.
    Line,
    /// One JSON object per line.
    Json,
}

/// Everything the hooks consult.
#[derive(Debug)]
pub struct Catcher {
    /// Where messages go; `None` with `--discard`.
    pub maildir: Option<Maildir>,
    /// How messages are printed.
    pub output: Output,
    /// `--auth` users and passwords.
    pub users: Users,
    /// `--allow-host` networks (empty: every host).
    pub allow_hosts: Vec<Cidr>,
    /// `--deny-host`, `--allow-sender`, `--deny-sender`,
    /// `--allow-recipient`, `--deny-recipient`.
    pub policy: Policy,
    /// The index the HTTP API serves (`None` without --http and
    /// pruning): each stored message is added before its 250.
    pub index: Option<std::sync::Arc<mailwire_catcher::index::Index>>,
}

/// The JSON object printed per message with `--json`.
#[derive(Debug, Serialize)]
struct JsonRecord<'a> {
    time: &'a str,
    from: &'a str,
    recipients: &'a [String],
    size: u64,
    subject: Option<&'a str>,
    path: &'a str,
    peer: Option<String>,
    tls: bool,
    authenticated: Option<&'a str>,
}

impl Catcher {
    /// Prints the line (or JSON object) for one accepted message.
    fn report(&self, session: &Context, envelope: &ReceivedEnvelope, stored: &Stored) {
        let time = rfc3339_utc(SystemTime::now());
        let from = bare_reverse(&envelope.from);
        let recipients: Vec<String> = envelope
            .recipients
            .iter()
            .map(|r| bare_forward(&r.to))
            .collect();
        let path = stored.path.display().to_string();
        let line = match self.output {
            Output::Json => {
                let record = JsonRecord {
                    time: &time,
                    from: &from,
                    recipients: &recipients,
                    size: stored.size,
                    subject: stored.subject.as_deref(),
                    path: &path,
                    peer: session.peer.map(|p| p.to_string()),
                    tls: session.tls.is_some(),
                    authenticated: session.user(),
                };
                match serde_json::to_string(&record) {
                    Ok(json) => json,
                    Err(_) => return,
                }
            }
            Output::Line => format!(
                "{time} <{}> -> {} {} octets {}",
                escape_control(&from),
                recipients
                    .iter()
                    .map(|r| format!("<{}>", escape_control(r)))
                    .collect::<Vec<_>>()
                    .join(","),
                stored.size,
                match &stored.subject {
                    Some(s) => format!("\"{}\"", escape_control(s)),
                    None => "(no subject)".to_owned(),
                }
            ),
        };
        let mut out = io::stdout().lock();
        let _ = writeln!(out, "{line}");
        let _ = out.flush();
    }
}

/// What was stored of one message.
#[derive(Debug)]
struct Stored {
    path: PathBuf,
    size: u64,
    subject: Option<String>,
}

/// The decoded `Subject` of a message whose header starts `head`.
fn subject_of(head: &[u8]) -> Option<String> {
    let end = head
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map_or(head.len(), |p| p + 4);
    let message = parse_message(&head[..end])?;
    message.subject().map(str::to_owned)
}

/// Maps a storage failure to the reply: a full disk is the core's
/// [`replies::insufficient_storage`] (`452`), the rest a hook failure
/// ([`replies::local_error`], `451`).
fn storage_error(error: io::Error) -> HookError {
    if is_storage_full(&error) {
        HookError::Reply(replies::insufficient_storage())
    } else {
        eprintln!("mailwire serve: storing a message failed: {error}");
        HookError::failed(error)
    }
}

impl Handler for Catcher {
    type Message = MailStream;

    async fn validate_host(&self, session: &Context) -> HookResult {
        let ip = session.peer.map(|p| p.ip());
        self.policy.check_host(ip)?;
        if self.allow_hosts.is_empty() {
            return Ok(());
        }
        let allowed = ip.is_some_and(|ip: IpAddr| self.allow_hosts.iter().any(|c| c.contains(ip)));
        if allowed {
            Ok(())
        } else {
            // Application policy: the CLI's own reply, not one the protocol implies.
            Err(HookError::refuse(554, "5.7.1", "Access denied"))
        }
    }

    async fn validate_sender(
        &self,
        _session: &Context,
        from: &ReversePath,
        _params: &MailParameters,
    ) -> HookResult {
        self.policy.check_sender(from)
    }

    async fn validate_recipient(
        &self,
        _session: &Context,
        to: &ForwardPath,
        _params: &RcptParameters,
    ) -> HookResult {
        self.policy.check_recipient(to)
    }

    async fn authenticate(
        &self,
        _session: &Context,
        _mechanism: Mechanism,
        check: &AuthCheck,
    ) -> HookResult<Option<StoredSecret>> {
        self.users.authenticate(check)
    }

    async fn deliver(&self, session: &Context, mail: MailStream) -> HookResult {
        let MailStream {
            envelope,
            trace,
            mut body,
            ..
        } = mail;
        let envelope = &envelope;
        let Some(maildir) = &self.maildir else {
            // --discard: read the whole message (a cut-off one fails here).
            while body.next_chunk().await?.is_some() {}
            return Ok(());
        };
        let mut head: Vec<u8> = Vec::new();
        let mut total: u64 = 0;
        let mut out: Vec<u8> = Vec::with_capacity(4096);
        // The file is started only when the message outgrows WRITE_CHUNK:
        // a small message is written, flushed and renamed in one hop.
        let mut file: Option<Pending> = None;
        // The trace block: Return-Path, one X-Envelope-To per recipient,
        // the session's Received header; then the message.
        out.extend_from_slice(&return_path_header(&envelope.from));
        for r in &envelope.recipients {
            out.extend_from_slice(b"X-Envelope-To: ");
            r.to.write_to(&mut out);
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(&trace);
        while let Some(chunk) = body.next_chunk().await? {
            let n = chunk.len();
            total += n as u64;
            if head.len() < HEADER_PREFIX {
                let room = HEADER_PREFIX - head.len();
                head.extend_from_slice(&chunk[..n.min(room)]);
            }
            out.extend_from_slice(&chunk);
            if out.len() >= WRITE_CHUNK {
                let data = std::mem::replace(&mut out, Vec::with_capacity(WRITE_CHUNK));
                let (dir, started) = (maildir.clone(), file.take());
                let written = smol::unblock(move || {
                    let mut p = match started {
                        Some(p) => p,
                        None => dir.begin()?,
                    };
                    p.write(&data)?;
                    Ok::<_, io::Error>(p)
                })
                .await
                .map_err(storage_error)?;
                file = Some(written);
            }
        }
        // Durable before the 250: the rest written, flushed, renamed.
        let path = maildir.store(file, out).await.map_err(storage_error)?;
        if let Some(index) = &self.index {
            // Listed by the API before the 250.
            let (index, stored) = (index.clone(), path.clone());
            smol::unblock(move || index.stored_file(&stored)).await;
        }
        let stored = Stored {
            path,
            size: total,
            subject: subject_of(&head),
        };
        self.report(session, envelope, &stored);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_subject() {
        let msg = b"Received: from a\r\n\tby b; date\r\nSubject: =?utf-8?q?Gr=C3=BC=C3=9Fe?=\r\n\r\nbody\r\n";
        assert_eq!(subject_of(msg).as_deref(), Some("Grüße"));
        assert_eq!(subject_of(&msg[31..]).as_deref(), Some("Grüße"));
        assert_eq!(subject_of(b"From: a@b\r\n\r\n"), None);
    }
}
