//! Why a client connection ended: [`CloseReason`], [`CloseKind`] and the
//! [`Phase`] it was in.

use std::fmt;

use crate::wire::reply::ReplyError;

/// The step a client connection is in (for timeouts and close reasons).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Phase {
    /// Waiting for the greeting.
    Greeting,
    /// EHLO sent.
    Ehlo,
    /// HELO sent (EHLO was refused).
    Helo,
    /// STARTTLS sent.
    StartTls,
    /// Between [`Action::StartTls`](crate::Action::StartTls) and
    /// `tls_established`.
    TlsHandshake,
    /// Waiting for the application's answer to a
    /// [`TlsPolicyRequest`](super::ClientEvent::TlsPolicyRequest).
    PolicyDecision,
    /// AUTH exchange.
    Auth,
    /// QUED sent.
    Queue,
    /// Ready, no transaction.
    Idle,
    /// MAIL sent.
    Mail,
    /// RCPT sent.
    Rcpt,
    /// DATA sent, waiting for 354.
    DataInit,
    /// Sending the body (or a BDAT chunk that is not the last).
    DataBlock,
    /// The end of the data sent, waiting for the final reply.
    DataTermination,
    /// RSET sent.
    Rset,
    /// QUIT sent.
    Quit,
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self {
            Phase::Greeting => "greeting",
            Phase::Ehlo => "EHLO",
            Phase::Helo => "HELO",
            Phase::StartTls => "STARTTLS",
            Phase::TlsHandshake => "TLS handshake",
            Phase::PolicyDecision => "TLS policy decision",
            Phase::Auth => "AUTH",
            Phase::Queue => "QUED",
            Phase::Idle => "idle",
            Phase::Mail => "MAIL",
            Phase::Rcpt => "RCPT",
            Phase::DataInit => "DATA initiation",
            Phase::DataBlock => "data block",
            Phase::DataTermination => "DATA termination",
            Phase::Rset => "RSET",
            Phase::Quit => "QUIT",
        };
        f.write_str(name)
    }
}

/// What ended the connection.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CloseKind {
    /// The application quit (normal end).
    Quit,
    /// The greeting was not 220: try another server.
    GreetingRefused,
    /// EHLO (and HELO, where allowed) was refused: answered with anything
    /// but 250 (and not 421 or 221, which are [`ServiceClosing`](Self::ServiceClosing)).
    HelloRefused,
    /// TLS is required and the server does not offer STARTTLS.
    TlsUnavailable,
    /// TLS is required and STARTTLS was refused.
    StartTlsRefused,
    /// STARTTLS was refused and the policy (or the application) abandoned
    /// the server.
    TlsAbandoned,
    /// TLS is required and the server's certificate did not verify.
    CertificateNotVerified,
    /// Authentication failed (the reply says how: 535, 454, …), or every
    /// usable mechanism was refused as unusable (504, 534, 538).
    AuthFailed,
    /// The server did not prove it knows the secret (SCRAM server
    /// signature, DIGEST-MD5 `rspauth`): it may be an impostor.
    ServerNotAuthenticated,
    /// Credentials are configured but the server offers no mechanism the
    /// client may use (or no AUTH at all).
    AuthUnavailable,
    /// Credentials are configured but the session is not secure enough to
    /// send them ([`AuthSecurity`](super::AuthSecurity)).
    CredentialsWithheld,
    /// A wait ran out (see `phase`).
    Timeout,
    /// The transport ended (`handle_eof`).
    ConnectionLost,
    /// A reply that does not parse, or breaks the reply caps.
    MalformedReply(ReplyError),
    /// The server broke the protocol (an unsolicited reply, a reply that
    /// arrived before its command was sent, an EHLO reply without a
    /// domain, …).
    ProtocolViolation(&'static str),
    /// The server sent 421, or 221 to anything but QUIT: it is closing
    /// the channel. Neither is ever taken as permission to go on.
    ServiceClosing,
    /// The application called [`abort`](super::ClientConnection::abort).
    Aborted,
    /// The session stopped on purpose at
    /// [`ClientConfig::stop_after`](super::ClientConfig::stop_after), with
    /// QUIT.
    Stopped(super::StopPoint),
}

/// Why a client connection ended: the kind, the phase, the server's full
/// reply and the command it answered (the shape both roles share,
/// [`crate::close::CloseReason`]).
pub type CloseReason = crate::close::CloseReason<CloseKind, Phase>;

impl CloseReason {
    /// `true` when the application quit and the server answered (or closed).
    #[must_use]
    pub fn is_normal(&self) -> bool {
        self.kind == CloseKind::Quit
    }
}

impl fmt::Display for CloseKind {
    /// What happened, in words for people (no reply, no phase: see
    /// [`CloseReason`]'s `Display` for the whole story).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = match self {
            CloseKind::Quit => "the session ended normally",
            CloseKind::GreetingRefused => "the server refused the session",
            CloseKind::HelloRefused => "the server refused EHLO/HELO",
            CloseKind::TlsUnavailable => "TLS is required but the server does not offer STARTTLS",
            CloseKind::StartTlsRefused => "TLS is required but the server refused STARTTLS",
            CloseKind::TlsAbandoned => "the server refused STARTTLS and the TLS policy gave it up",
            CloseKind::CertificateNotVerified => {
                "TLS is required but the server's certificate did not verify"
            }
            CloseKind::AuthFailed => "authentication failed",
            CloseKind::ServerNotAuthenticated => {
                "the server did not prove it knows the secret (it may be an impostor)"
            }
            CloseKind::AuthUnavailable => "the server offers no AUTH mechanism the client may use",
            CloseKind::CredentialsWithheld => {
                "the credentials were withheld: the session is not secure enough to send them"
            }
            CloseKind::Timeout => "timed out waiting",
            CloseKind::ConnectionLost => "the connection was closed",
            CloseKind::MalformedReply(error) => return write!(f, "malformed reply ({error})"),
            CloseKind::ProtocolViolation(what) => {
                return write!(f, "the server broke the protocol ({what})");
            }
            CloseKind::ServiceClosing => "the server is closing the connection",
            CloseKind::Aborted => "the client aborted the session",
            CloseKind::Stopped(point) => return write!(f, "stopped after {point}, as asked"),
        };
        f.write_str(text)
    }
}

impl fmt::Display for crate::close::CloseReason<CloseKind, Phase> {
    /// `KIND at the PHASE step (command "COMMAND"): the server said
    /// REPLY`, the kind in words ([`CloseKind`]'s `Display`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at the {} step", self.kind, self.phase)?;
        if let Some(command) = &self.command {
            write!(f, " (command \"{command}\")")?;
        }
        if let Some(reply) = &self.reply {
            write!(f, ": the server said {reply}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::reply::{Reply, ReplyCode};

    #[test]
    fn reasons_read_as_sentences_not_debug_output() {
        let kinds = [
            CloseKind::Quit,
            CloseKind::GreetingRefused,
            CloseKind::HelloRefused,
            CloseKind::TlsUnavailable,
            CloseKind::StartTlsRefused,
            CloseKind::TlsAbandoned,
            CloseKind::CertificateNotVerified,
            CloseKind::AuthFailed,
            CloseKind::ServerNotAuthenticated,
            CloseKind::AuthUnavailable,
            CloseKind::CredentialsWithheld,
            CloseKind::Timeout,
            CloseKind::ConnectionLost,
            CloseKind::MalformedReply(ReplyError::Malformed),
            CloseKind::ProtocolViolation("unsolicited reply"),
            CloseKind::ServiceClosing,
            CloseKind::Aborted,
            CloseKind::Stopped(super::super::StopPoint::Banner),
        ];
        for kind in kinds {
            let text = kind.to_string();
            let debug = format!("{kind:?}");
            let name = debug.split('(').next().unwrap_or_default();
            assert!(!text.contains(name), "{text:?} shows {name}");
        }
        let reason = CloseReason::new(CloseKind::Timeout, Phase::DataTermination)
            .with_command(Some(".".into()));
        assert_eq!(
            reason.to_string(),
            "timed out waiting at the DATA termination step (command \".\")"
        );
        let reply = Reply::new(ReplyCode::CLOSING, None, vec!["bye".into()]).ok();
        let reason = CloseReason::new(CloseKind::ServiceClosing, Phase::Helo)
            .with_command(Some("HELO client.example".into()))
            .with_reply(reply);
        assert_eq!(
            reason.to_string(),
            "the server is closing the connection at the HELO step \
             (command \"HELO client.example\"): the server said 221 bye"
        );
        let reason = CloseReason::new(
            CloseKind::MalformedReply(ReplyError::Malformed),
            Phase::DataTermination,
        );
        assert_eq!(
            reason.to_string(),
            "malformed reply (malformed reply line) at the DATA termination step"
        );
    }
}
