//! The client role: [`ClientConnection`], a sans-IO SMTP client
//! (RFC 5321 with PIPELINING, STARTTLS, AUTH, CHUNKING/BINARYMIME,
//! 8BITMIME, SMTPUTF8, SIZE, DSN and REQUIRETLS).
//!
//! The connection is a pure state machine: the driver owns the socket, the
//! clock and the application's decisions.
//!
//! # The contract
//!
//! The method groups, the drain rule, the time rule, the three kinds of
//! error and a run loop are in the [crate documentation](crate#the-contract).
//! Particular to the client: after the drain, while
//! [`wants_body`](ClientConnection::wants_body), give the next piece of the
//! body ([`send_body`](ClientConnection::send_body), then
//! [`end_body`](ClientConnection::end_body)).
//!
//! # What the client does
//!
//! * **Setup**: waits for the greeting (a refusal closes with
//!   [`CloseKind::GreetingRefused`] so the driver can fail over), sends EHLO
//!   with [`ClientConfig::client_name`] and falls back to HELO on a 5xx —
//!   unless TLS is required or credentials are configured (HELO carries
//!   neither); only a 250 answers EHLO or HELO. Then STARTTLS as [`TlsPolicy`] says (the question of tcllib's
//!   `-tlspolicy` is [`ClientEvent::TlsPolicyRequest`]); after the handshake,
//!   EHLO again. Then AUTH when credentials are configured: the strongest
//!   offered mechanism of [`ClientConfig::auth_mechanisms`], falling back
//!   only on 504, 534, 538 or a local error, stopping on 535 and 454, and
//!   only over verified TLS unless [`AuthSecurity`] says otherwise. Then
//!   `QUED` if asked for and `XQUE` is offered, then
//!   [`ClientEvent::Ready`].
//! * **Transactions**: MAIL with the parameters the message needs and the
//!   server offers, one RCPT per recipient (in one write with PIPELINING),
//!   each answer reported ([`ClientEvent::RecipientResult`]); the
//!   [`SendPolicy`] decides whether the body goes; `452 4.5.3` defers the
//!   remaining recipients to a further transaction; the body streams with
//!   back-pressure through DATA (dot-stuffed) or BDAT; the outcome is
//!   [`Outcome::Sent`], [`Outcome::NotSent`] or [`Outcome::Unknown`], per
//!   message and per recipient ([`TransactionOutcome`]).
//! * **Safety**: replies are parsed incrementally within
//!   [`ClientConfig::reply_limits`]; a reply that nothing awaits, or that
//!   starts before its command was sent (an injection, or a server that
//!   pipelines what it may not), ends the connection; so does a 421 or a
//!   221 to anything but QUIT ([`CloseKind::ServiceClosing`]), wherever it
//!   comes, without another command; bytes after the 220 to STARTTLS are
//!   dropped; commands are validated before anything is written.
//! * **Time**: every wait of RFC 5321 §4.5.3.2 is a deadline ([`ClientTimeouts`]);
//!   a timeout closes with [`CloseKind::Timeout`] and the [`Phase`].
//! * **The end**: [`ClientEvent::Closed`] with a [`CloseReason`] (kind,
//!   phase, the full reply and the command it answered), then
//!   [`Action::Close`](crate::Action::Close). A transaction still running
//!   gets its `TransactionCompleted` first.

mod auth;
mod auth_state;
mod body;
mod close;
mod config;
mod connection;
mod deadline;
mod event;
mod finishing;
mod mail_lines;
mod open;
mod outcome;
mod output;
mod pending;
mod setup;
mod stop;
mod timers;
mod transaction;
mod transaction_state;

pub use crate::envelope::{Envelope, MailOptions, Recipient, SendPolicy};
/// The body type of [`MailOptions::body`], re-exported from [`wire::params`](crate::wire::params).
pub use crate::wire::params::BodyType;
pub use close::{CloseKind, CloseReason, Phase};
pub use config::{
    AuthSecurity, ClientConfig, ClientSession, ClientTimeouts, NonceHook, StartTlsRefused,
    TlsPolicy,
};
pub use connection::ClientConnection;
pub use event::{ClientEvent, PlaintextDecision, PolicyToken, RcptStatus};
pub use outcome::{
    NotSentReason, Outcome, RecipientOutcome, RecipientStatus, TransactionId, TransactionOutcome,
};
pub use stop::StopPoint;
