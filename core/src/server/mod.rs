//! The server role: [`ServerConnection`], a sans-IO state machine for one
//! SMTP session (RFC 5321 with PIPELINING, 8BITMIME, SMTPUTF8, SIZE,
//! CHUNKING/BINARYMIME, DSN, ENHANCEDSTATUSCODES, STARTTLS, AUTH and
//! REQUIRETLS), configured by a shared [`ServerConfig`], talking to its
//! application through [`ServerEvent`]s and decisions ([`Token`],
//! [`Verdict`]).
//!
//! # The contract
//!
//! | group | methods |
//! | --- | --- |
//! | A. getters | [`wants_read`](ServerConnection::wants_read), [`is_closed`](ServerConnection::is_closed), [`poll_timeout`](ServerConnection::poll_timeout), [`is_tls`](ServerConnection::is_tls), [`authenticated`](ServerConnection::authenticated), [`helo_domain`](ServerConnection::helo_domain), [`capabilities`](ServerConnection::capabilities), [`buffered_len`](ServerConnection::buffered_len), … |
//! | B. inputs | [`handle_input`](ServerConnection::handle_input), [`handle_eof`](ServerConnection::handle_eof), [`handle_timeout`](ServerConnection::handle_timeout), [`tls_established`](ServerConnection::tls_established) |
//! | C. commands | [`decide`](ServerConnection::decide), [`supply_secret`](ServerConnection::supply_secret), [`shutdown`](ServerConnection::shutdown), [`shutdown_now`](ServerConnection::shutdown_now) |
//! | D. output | [`poll_action`](ServerConnection::poll_action) |
//!
//! **Drain rule**: after every B or C call, take
//! [`poll_action`](ServerConnection::poll_action) until `None`, then arm one
//! timer for [`poll_timeout`](ServerConnection::poll_timeout). The actions
//! come out in order: write each [`Action::Send`](crate::Action::Send)
//! (replies produced together are coalesced into one), flush and run the
//! TLS handshake on [`Action::StartTls`](crate::Action::StartTls), hand each
//! [`Action::Event`](crate::Action::Event) to the application, and close on
//! [`Action::Close`](crate::Action::Close) (after flushing; it follows the
//! [`ServerEvent::Closed`] event). Ready replies are never held back while
//! the connection waits for input or for a decision (RFC 2920 §3.2).
//!
//! **Decisions are tokens.** A request event (`ConnectRequest`,
//! `HeloRequest`, `MailRequest`, `RcptRequest`, `AuthRequest`,
//! `MessageRequest`) carries a [`Token`]; until it is answered with
//! [`decide`](ServerConnection::decide) (or
//! [`supply_secret`](ServerConnection::supply_secret) for a stored-secret
//! lookup) the connection processes nothing more: `wants_read()` is false,
//! pipelined input stays buffered, the peer timers pause and a decision
//! deadline runs ([`Timeouts::decision`]; when it passes the step is
//! answered `451 4.3.0` and [`ServerEvent::DecisionExpired`] says so). The
//! application may decide at once, while draining, or later.
//!
//! **Time** comes in with every input (`now`); the connection never reads a
//! clock. A decision is taken to happen at the time of the latest input: a
//! driver that decides long after the request should call
//! [`handle_timeout`](ServerConnection::handle_timeout) with the current
//! time first (harmless when nothing is due). **Randomness** (SASL nonces)
//! comes only from [`ServerConfig::random`].
//!
//! **Errors**: misuse of this API returns
//! [`UsageError`](crate::UsageError) and changes nothing; a peer breaking
//! the protocol is answered on the wire (`5xx`, and `421` when a limit is
//! reached); the end of a session is the last event, [`ServerEvent::Closed`].
//!
//! **Messages** stream out: [`ServerEvent::MessageStarted`], then
//! [`ServerEvent::MessageData`] chunks (`Bytes`, dot-unstuffed for DATA), then
//! either [`ServerEvent::MessageRequest`] (the data ended intact; nothing is
//! answered `250` until it is accepted) or [`ServerEvent::MessageAborted`]
//! (never deliver such a message).
//!
//! # A run loop
//!
//! A driver in miniature, with the peer's bytes scripted and every request
//! accepted:
//!
//! ```
//! use std::sync::Arc;
//! use std::time::Instant;
//!
//! use mailwire_core::server::{ServerConfig, ServerConnection, ServerEvent, SessionInfo, Verdict};
//! use mailwire_core::{Action, SeededRandom};
//!
//! // What the client sends, read by read (the last batch is pipelined).
//! let mut reads: Vec<&[u8]> = vec![
//!     b"EHLO client.example\r\n",
//!     b"MAIL FROM:<alice@example.net>\r\nRCPT TO:<bob@example.org>\r\nDATA\r\n",
//!     b"Subject: hi\r\n\r\nHello, Bob.\r\n.\r\nQUIT\r\n",
//! ];
//! reads.reverse();
//!
//! // Drivers pass an operating-system random source.
//! let config = Arc::new(ServerConfig::new("mx.example.org", Arc::new(SeededRandom::new(1))));
//! // The driver's clock (the core never reads one).
//! let now = Instant::now();
//! let mut conn = ServerConnection::new(config, SessionInfo::default(), now);
//!
//! let mut written = Vec::new();
//! let mut message = Vec::new();
//! loop {
//!     // 1. Drain every action, in order.
//!     while let Some(action) = conn.poll_action() {
//!         match action {
//!             Action::Send(bytes) => written.extend_from_slice(&bytes),
//!             Action::Event(ServerEvent::MessageData(chunk)) => message.extend_from_slice(&chunk),
//!             Action::Event(event) => {
//!                 if let Some(token) = event.token() {
//!                     // The application decides; here, yes to everything.
//!                     conn.decide(token, Verdict::Accept)?;
//!                 }
//!             }
//!             Action::StartTls => unreachable!("STARTTLS is not offered by default"),
//!             Action::Close => {} // flush, shut down, drop the socket
//!             _ => {}
//!         }
//!     }
//!     if conn.is_closed() {
//!         break;
//!     }
//!     // 2. Arm one timer for `conn.poll_timeout()`, then wait for input or
//!     //    for the timer (on expiry: `conn.handle_timeout(now)`).
//!     let _deadline = conn.poll_timeout();
//!     // 3. Read only when the connection wants to read.
//!     if conn.wants_read() {
//!         match reads.pop() {
//!             Some(bytes) => conn.handle_input(now, bytes)?,
//!             None => conn.handle_eof(now),
//!         }
//!     }
//! }
//!
//! let written = String::from_utf8(written)?;
//! assert!(written.starts_with("220 mx.example.org ESMTP mailwire\r\n"));
//! assert!(written.contains("354 End data with <CR><LF>.<CR><LF>\r\n"));
//! assert!(written.contains("250 2.0.0 Message accepted\r\n221 2.0.0 "));
//! assert_eq!(message, b"Subject: hi\r\n\r\nHello, Bob.\r\n");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
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
//!   ([`Limits`], [`Timeouts`]).
//! * A hostile peer is answered, not waited for: an over-long line gets its
//!   `500` as soon as it passes the limit and a BDAT chunk over the size
//!   limit its `552` as soon as it is announced; input read only to be
//!   dropped is capped ([`Limits::max_discard`], then `421`); a command
//!   must arrive whole within [`Timeouts::command`]; protocol errors and
//!   refusals are counted ([`Limits::max_errors`],
//!   [`Limits::max_refusals`]).

mod auth;
mod body;
mod commands;
mod config;
mod connection;
mod decision;
mod event;
mod limits;
mod output;
mod pending;
pub mod replies;
mod timers;
mod transaction;

pub use auth::Authentication;
pub use config::{Extensions, Limits, NonceFn, NonceSource, ServerConfig, Timeouts};
pub use connection::ServerConnection;
pub use decision::{Token, Verdict};
pub use event::{
    AbortReason, AuthCheck, CloseReason, Envelope, MailTransaction, Recipient, ServerEvent,
    SessionInfo, TimeoutKind, TransactionEnd, Transfer,
};
