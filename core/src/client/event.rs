//! [`ClientEvent`]: what a client connection tells the application.

use super::close::CloseReason;
use super::outcome::{TransactionId, TransactionOutcome};
use crate::TlsInfo;
use crate::sasl::Mechanism;
use crate::wire::ehlo::Capabilities;
use crate::wire::reply::Reply;

/// Something for the application, from
/// [`poll_action`](super::ClientConnection::poll_action) as
/// [`Action::Event`](crate::Action::Event).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ClientEvent {
    /// Greeting, EHLO, STARTTLS and AUTH are done: the connection takes
    /// [`send_mail`](super::ClientConnection::send_mail). Emitted once.
    Ready {
        /// What the server offers (empty after a HELO fallback).
        capabilities: Capabilities,
    },
    /// STARTTLS was refused under an opportunistic policy that asks: answer
    /// with [`decide_plaintext`](super::ClientConnection::decide_plaintext).
    TlsPolicyRequest {
        /// Pass it back with the decision.
        token: PolicyToken,
        /// The server's answer to STARTTLS.
        reply: Reply,
    },
    /// The TLS handshake is done (after STARTTLS); EHLO is sent again.
    TlsUpgraded(TlsInfo),
    /// AUTH succeeded (and, for SCRAM and DIGEST-MD5, the server proved
    /// itself).
    Authenticated {
        /// The mechanism used.
        mechanism: Mechanism,
    },
    /// Send the body now with
    /// [`send_body`](super::ClientConnection::send_body) (while
    /// [`wants_body`](super::ClientConnection::wants_body)) and
    /// [`end_body`](super::ClientConnection::end_body). `attempt` counts
    /// the SMTP transactions of this message: from 2 on, recipients were
    /// deferred and the body is wanted again **from its start**.
    BodyRequested {
        /// The message.
        transaction: TransactionId,
        /// 1 for the first SMTP transaction.
        attempt: u32,
    },
    /// MAIL was answered, in an envelope built step by step
    /// ([`open_mail`](super::ClientConnection::open_mail)): a positive
    /// reply takes recipients; after a refusal the transaction completes
    /// (not sent) without any RCPT.
    MailResult {
        /// The message.
        transaction: TransactionId,
        /// The server's reply, in full.
        reply: Reply,
    },
    /// One recipient's RCPT was answered.
    RecipientResult {
        /// The message.
        transaction: TransactionId,
        /// Index into the envelope's recipients.
        recipient: usize,
        /// The server's reply, in full.
        reply: Reply,
        /// How the client reads it.
        status: RcptStatus,
    },
    /// The message is done: sent, not sent, or unknown, with every
    /// recipient's result. Exactly one per successful `send_mail`, also
    /// when the connection closes.
    TransactionCompleted(TransactionOutcome),
    /// The connection is over; [`Action::Close`](crate::Action::Close)
    /// follows and nothing else.
    Closed(CloseReason),
}

/// How the client reads one RCPT reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RcptStatus {
    /// 2xx.
    Accepted,
    /// Refused (4xx or 5xx).
    Refused,
    /// `452 4.5.3` (or a bare `452`): too many recipients; it will be
    /// tried again in a further transaction on this connection.
    Deferred,
}

/// Names a pending [`ClientEvent::TlsPolicyRequest`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PolicyToken(pub(crate) u64);

/// The application's answer to a
/// [`TlsPolicyRequest`](ClientEvent::TlsPolicyRequest).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum PlaintextDecision {
    /// Go on without TLS (tcllib's `insecure`).
    Continue,
    /// Quit this server ([`CloseKind::TlsAbandoned`](super::CloseKind::TlsAbandoned)).
    Abandon,
}
