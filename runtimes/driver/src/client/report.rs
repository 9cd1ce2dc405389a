//! What a send reports, and the errors of the client front end.

use std::io;
use std::net::SocketAddr;

use mailwire_core::client::{CloseKind, CloseReason, Outcome, RecipientStatus, TransactionOutcome};
use mailwire_core::message::{BuildError, MessageError};
use mailwire_core::sasl::Mechanism;
use mailwire_core::wire::address::{ForwardPath, ReversePath};
use mailwire_core::wire::reply::Reply;
use mailwire_core::{TlsInfo, UsageError};

/// Why a [`Client`](super::Client) could not connect or send.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// The host name did not resolve to any address.
    #[error("cannot resolve the host name {host}: {source}")]
    Resolve {
        /// The host as given.
        host: String,
        /// What the resolver said.
        source: io::Error,
    },
    /// The TCP connection failed (refused, unreachable, timed out).
    #[error("cannot connect to {addr}: {source}")]
    Connect {
        /// The address tried last.
        addr: SocketAddr,
        /// Why.
        source: io::Error,
    },
    /// The implicit TLS handshake (port 465 style) failed or timed out.
    #[error("the TLS handshake with {server} failed: {source}")]
    Tls {
        /// The server name.
        server: String,
        /// Why.
        source: io::Error,
    },
    /// The connection closed before it was ready for mail, or while a
    /// message was going: the reason says how (greeting refused, EHLO
    /// refused, STARTTLS refused, a timeout, …), with the server's reply.
    #[error("{0}")]
    Closed(CloseReason),
    /// Reading the message body failed; the connection was ended (the
    /// message was not sent).
    #[error("reading the message body: {0}")]
    Body(io::Error),
    /// The core refused a call (for example a message that needs SMTPUTF8
    /// from a server that does not offer it, or an invalid client name).
    #[error(transparent)]
    Usage(#[from] UsageError),
    /// The runtime of a blocking client could not start (the process is
    /// out of threads or file descriptors).
    #[error("cannot start the I/O runtime: {0}")]
    Runtime(io::Error),
}

impl ClientError {
    /// Whether another server may be tried after this error, from
    /// [`Client::connect`](super::Client::connect) or from a session that
    /// ended before its transaction started: everything but a refused call
    /// (a message the server cannot take, which no other server should be
    /// given either) and a session stopped on purpose
    /// ([`CloseKind::Stopped`]: the stop point asked for was reached).
    /// [`first_server`](super::first_server) asks this.
    #[must_use]
    pub fn allows_failover(&self) -> bool {
        match self {
            ClientError::Usage(_) => false,
            ClientError::Closed(reason) => !matches!(reason.kind, CloseKind::Stopped(_)),
            _ => true,
        }
    }
}

/// One server that was tried and failed before the message could start.
#[derive(Debug)]
#[non_exhaustive]
pub struct ServerFailure {
    /// The host as given.
    pub host: String,
    /// The port.
    pub port: u16,
    /// Why it was given up.
    pub error: ClientError,
}

/// Why [`send_message`](super::send_message) sent nothing at all.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SendError {
    /// The message or the options were refused before any connection: an
    /// unparsable address in a header, no recipients, a header injection
    /// (the error names the header).
    #[error("message: {0}")]
    Message(#[from] MessageError),
    /// An option is invalid (the text says which).
    #[error("invalid option: {0}")]
    InvalidOption(String),
    /// No server was given.
    #[error("no server to send to")]
    NoServers,
    /// The message could not be built
    /// ([`send_built_message`](super::send_built_message)): before any
    /// connection, or for the server that was ready (an address with a
    /// non-ASCII local part and no SMTPUTF8).
    #[error("message: {0}")]
    Build(#[from] BuildError),
    /// Every server failed before the transaction started; one entry per
    /// server, in order.
    #[error("every server failed; the last: {}", last_failure(.0))]
    AllServersFailed(Vec<ServerFailure>),
    /// The server that was chosen refused the message before MAIL was
    /// written (the message needs an extension it does not offer). No
    /// other server is tried: the session had reached the transaction.
    #[error("{host}:{port}: {error}")]
    Refused {
        /// The server.
        host: String,
        /// Its port.
        port: u16,
        /// Why.
        error: UsageError,
    },
    /// The runtime of a blocking call could not start (the process is out
    /// of threads or file descriptors).
    #[error("cannot start the I/O runtime: {0}")]
    Runtime(io::Error),
}

fn last_failure(failures: &[ServerFailure]) -> String {
    failures.last().map_or_else(
        || "none".to_owned(),
        |f| format!("{}:{}: {}", f.host, f.port, f.error),
    )
}

/// One recipient's result in a [`SendReport`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RecipientReport {
    /// The envelope recipient.
    pub path: ForwardPath,
    /// What became of it.
    pub status: RecipientStatus,
    /// The server's reply to its RCPT, if it was answered.
    pub reply: Option<Reply>,
}

/// What [`send_message`](super::send_message) did.
///
/// [`outcome`](Self::outcome) says plainly whether the message was sent;
/// it is [`Outcome::Sent`] only when the server accepted it, and
/// [`Outcome::Unknown`] when the connection broke between the end of the
/// data and its reply (the message may have been delivered).
#[derive(Debug)]
#[non_exhaustive]
pub struct SendReport {
    /// The server used: the host as given.
    pub host: String,
    /// Its port.
    pub port: u16,
    /// The address connected to.
    pub addr: Option<SocketAddr>,
    /// The servers tried before it, and why each was given up.
    pub failed_servers: Vec<ServerFailure>,
    /// The TLS session the message went over (`None`: plaintext).
    pub tls: Option<TlsInfo>,
    /// The SASL mechanism used, if the session authenticated.
    pub authenticated: Option<Mechanism>,
    /// `MAIL FROM:`.
    pub reverse_path: ReversePath,
    /// Sent, not sent, or unknown.
    pub outcome: Outcome,
    /// Every recipient's result, in envelope order.
    pub recipients: Vec<RecipientReport>,
    /// How the session ended after the message (normally QUIT).
    pub close: Option<CloseReason>,
}

impl SendReport {
    /// Whether the server accepted the message (for at least one
    /// recipient: see [`recipients`](Self::recipients)).
    #[must_use]
    pub fn is_sent(&self) -> bool {
        self.outcome.is_sent()
    }

    /// The server's reply to the end of the data, or the reply that
    /// refused the message, when there is one.
    #[must_use]
    pub fn final_reply(&self) -> Option<&Reply> {
        match &self.outcome {
            Outcome::Sent { reply } => Some(reply),
            Outcome::NotSent { reply, .. } => reply.as_ref(),
            _ => None,
        }
    }

    /// The recipients that were refused, with the reply that refused each.
    pub fn refused(&self) -> impl Iterator<Item = &RecipientReport> {
        self.recipients
            .iter()
            .filter(|r| r.status == RecipientStatus::Refused)
    }

    pub(crate) fn recipients_from(
        paths: &[ForwardPath],
        outcome: &TransactionOutcome,
    ) -> Vec<RecipientReport> {
        paths
            .iter()
            .zip(&outcome.recipients)
            .map(|(path, r)| RecipientReport {
                path: path.clone(),
                status: r.status,
                reply: r.reply.clone(),
            })
            .collect()
    }
}
