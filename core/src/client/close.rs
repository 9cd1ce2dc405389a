//! Why a client connection ended: [`CloseReason`], [`CloseKind`] and the
//! [`Phase`] it was in.

use std::fmt;

use crate::wire::reply::{Reply, ReplyError};

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
}

/// Why the connection ended: the kind, the phase, the full reply and the
/// command it answered.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CloseReason {
    /// What happened.
    pub kind: CloseKind,
    /// The step the connection was in.
    pub phase: Phase,
    /// The server's reply that caused it, in full (code, enhanced code,
    /// every line), if a reply did.
    pub reply: Option<Reply>,
    /// The command that reply answered (or that timed out), without its
    /// CRLF. AUTH responses are never shown.
    pub command: Option<String>,
}

impl CloseReason {
    pub(crate) fn new(kind: CloseKind, phase: Phase) -> CloseReason {
        CloseReason {
            kind,
            phase,
            reply: None,
            command: None,
        }
    }

    pub(crate) fn with_reply(mut self, reply: Option<Reply>) -> CloseReason {
        self.reply = reply;
        self
    }

    pub(crate) fn with_command(mut self, command: Option<String>) -> CloseReason {
        self.command = command;
        self
    }

    /// `true` when the application quit and the server answered (or closed).
    #[must_use]
    pub fn is_normal(&self) -> bool {
        self.kind == CloseKind::Quit
    }
}

impl fmt::Display for CloseReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?} during {}", self.kind, self.phase)?;
        if let Some(command) = &self.command {
            write!(f, " (command: {command})")?;
        }
        if let Some(reply) = &self.reply {
            write!(f, ": {reply}")?;
        }
        Ok(())
    }
}
