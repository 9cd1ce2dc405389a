//! The server role: [`ServerConnection`], a sans-IO state machine for one
//! SMTP session (RFC 5321 with PIPELINING, 8BITMIME, SMTPUTF8, SIZE,
//! CHUNKING/BINARYMIME, DSN, ENHANCEDSTATUSCODES, STARTTLS, AUTH and
//! REQUIRETLS), configured by a shared [`ServerConfig`], talking to its
//! application through [`ServerEvent`]s and decisions ([`Token`],
//! [`Verdict`]).
//!
//! # The contract
//!
//! The method groups, the drain rule, the time rule, the three kinds of
//! error and a run loop are in the [crate documentation](crate#the-contract);
//! what is particular to the server follows.
//!
//! **Decisions are tokens.** A request event (`ConnectRequest`,
//! `HeloRequest`, `MailRequest`, `RcptRequest`, `AuthRequest`,
//! `MessageRequest`) carries a [`Token`]; until it is answered with
//! [`decide`](ServerConnection::decide) (or
//! [`supply_secret`](ServerConnection::supply_secret) for a stored-secret
//! lookup) the connection processes nothing more: `wants_read()` is false,
//! pipelined input stays buffered, the peer timers pause and a decision
//! deadline runs ([`ServerTimeouts::decision`]; when it passes the step is
//! answered `451 4.3.0` and [`ServerEvent::DecisionExpired`] says so). The
//! application may decide at once, while draining, or later.
//!
//! **Messages** stream out: [`ServerEvent::MessageStarted`], then
//! [`ServerEvent::MessageData`] chunks (`Bytes`, dot-unstuffed for DATA), then
//! either [`ServerEvent::MessageRequest`] (the data ended intact; nothing is
//! answered `250` until it is accepted) or [`ServerEvent::MessageAborted`]
//! (never deliver such a message).
//!
//! # Safety properties
//!
//! * Only the literal `CRLF . CRLF` ends DATA; bare LF is normalised (or the
//!   message refused) and bare CR kept (or refused) per
//!   [`ServerConfig::body_policy`] — no SMTP smuggling.
//! * Bytes received behind STARTTLS, AUTH (and each SASL response) and a
//!   refused DATA are discarded, never run as commands; after
//!   `tls_established` the session starts over.
//! * After `BDAT n` exactly `n` octets are read as data, whatever happens to
//!   the chunk; a size that does not parse ends the session.
//! * Memory is bounded: input up to one line limit plus one input slice,
//!   bodies streamed as chunks; every limit and timer is configurable
//!   ([`Limits`], [`ServerTimeouts`]).
//! * A hostile peer is answered, not waited for: an over-long line gets its
//!   `500` as soon as it passes the limit and a BDAT chunk over the size
//!   limit its `552` as soon as it is announced; input read only to be
//!   dropped is capped ([`Limits::max_discard`], then `421`); a command
//!   must arrive whole within [`ServerTimeouts::command`]; protocol errors and
//!   refusals are counted ([`Limits::max_errors`],
//!   [`Limits::max_refusals`]).

mod auth;
mod auth_state;
mod body;
mod commands;
mod config;
mod connection;
mod decision;
mod event;
mod limits;
mod output;
mod pending;
mod pending_state;
pub mod replies;
mod timers;
mod transaction;

pub use auth_state::Authentication;
pub use config::{Extensions, Limits, NonceFn, NonceSource, ServerConfig, ServerTimeouts};
pub use connection::ServerConnection;
pub use decision::{Token, Verdict};
pub use event::{
    AbortReason, AcceptedRecipient, AuthCheck, CloseKind, CloseReason, MailTransaction,
    ReceivedEnvelope, ServerEvent, SessionInfo, TimeoutKind, TransactionEnd, Transfer,
};
