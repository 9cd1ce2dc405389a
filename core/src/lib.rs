//! `mailwire-core`: the sans-IO protocol core of mailwire.
//!
//! This crate holds everything about SMTP that does not need a socket, a clock
//! or a runtime: the wire codecs ([`wire`]) and, built on them, the two
//! state machines, [`server::ServerConnection`] and
//! [`client::ClientConnection`]. Callers own the I/O: they feed bytes and
//! time in and take actions (bytes to send, TLS to start, events and
//! decisions for the application) out. `mailwire-driver` is such a caller;
//! this page is enough to write another.
//!
//! # What is here
//!
//! * [`server`]: one SMTP server session, its configuration, its events and
//!   the decisions the application answers them with; its reply catalogue
//!   is [`server::replies`].
//! * [`client`]: one SMTP client session (setup, transactions, the end).
//! * [`envelope`]: the envelope of a message to send (sender, recipients,
//!   mail options), made by [`message`] and sent by [`client`].
//! * [`message`]: messages themselves, used by both roles: preparing one for
//!   sending (envelope from headers, `Date`/`Message-ID`, `Bcc` removed),
//!   building one (MIME), the trace header a server adds.
//! * [`sasl`]: the SASL mechanisms of both sides.
//! * [`wire`]: commands, replies, addresses, ESMTP parameters, EHLO
//!   capabilities, command-line framing and the DATA dot codec.
//!
//! # The contract
//!
//! Both roles are driven the same way. Their methods fall in four groups:
//!
//! | group | [`ServerConnection`](server::ServerConnection) | [`ClientConnection`](client::ClientConnection) |
//! | --- | --- | --- |
//! | A. getters: what the connection wants now | [`wants_read`](server::ServerConnection::wants_read), [`is_closed`](server::ServerConnection::is_closed), [`poll_timeout`](server::ServerConnection::poll_timeout), [`is_tls`](server::ServerConnection::is_tls), [`authenticated`](server::ServerConnection::authenticated), [`capabilities`](server::ServerConnection::capabilities), … | [`wants_read`](client::ClientConnection::wants_read), [`wants_body`](client::ClientConnection::wants_body), [`is_ready`](client::ClientConnection::is_ready), [`is_closed`](client::ClientConnection::is_closed), [`poll_timeout`](client::ClientConnection::poll_timeout), [`capabilities`](client::ClientConnection::capabilities), … |
//! | B. inputs: what happened, each with `now` | [`handle_input`](server::ServerConnection::handle_input), [`handle_eof`](server::ServerConnection::handle_eof), [`handle_timeout`](server::ServerConnection::handle_timeout), [`tls_established`](server::ServerConnection::tls_established) | [`handle_input`](client::ClientConnection::handle_input), [`handle_eof`](client::ClientConnection::handle_eof), [`handle_timeout`](client::ClientConnection::handle_timeout), [`tls_established`](client::ClientConnection::tls_established) |
//! | C. commands: what the application wants | [`decide`](server::ServerConnection::decide), [`supply_secret`](server::ServerConnection::supply_secret), [`shutdown`](server::ServerConnection::shutdown), [`shutdown_now`](server::ServerConnection::shutdown_now) | [`send_mail`](client::ClientConnection::send_mail), [`send_body`](client::ClientConnection::send_body), [`end_body`](client::ClientConnection::end_body), [`quit`](client::ClientConnection::quit), [`abort`](client::ClientConnection::abort), [`decide_plaintext`](client::ClientConnection::decide_plaintext) |
//! | D. output | [`poll_action`](server::ServerConnection::poll_action) → [`Action`]`<`[`ServerEvent`](server::ServerEvent)`>` | [`poll_action`](client::ClientConnection::poll_action) → [`Action`]`<`[`ClientEvent`](client::ClientEvent)`>` |
//!
//! **The drain rule.** After every B or C call, take `poll_action` until it
//! returns `None`, in order: write each [`Action::Send`] (bytes produced
//! together come coalesced), flush and run the TLS handshake on
//! [`Action::StartTls`] (then call `tls_established`), hand each
//! [`Action::Event`] to the application, and on [`Action::Close`] flush,
//! shut the socket down and drop it (it follows the role's `Closed`
//! event). Then arm **one** timer for `poll_timeout`, and read only while
//! `wants_read` is true (a client gives body while `wants_body` is true).
//! A command may be called while draining; its actions join the queue.
//!
//! **The time rule.** The core reads no clock: every input and every
//! command that can start a wait takes `now`, the caller's monotonic time,
//! and the core measures every deadline from the `now` it was given.
//! When the timer armed for `poll_timeout` fires, call `handle_timeout` with
//! the current time (a call with nothing due is harmless). Randomness
//! (SASL nonces) likewise comes only from the configuration's
//! [`RandomSource`]; there are no threads, no async and no sockets here.
//!
//! **Three kinds of error.**
//!
//! 1. *Misuse of the API* (a command in the wrong state, a decision for a
//!    request that is gone, a reply that does not fit the step) returns
//!    [`UsageError`] and changes nothing.
//! 2. *A peer breaking the protocol* is never a Rust error: the server
//!    answers it on the wire (`5xx`, and `421` when a limit is reached, see
//!    [`server::replies`]); the client ends the connection.
//! 3. *The end of a session*, normal or not, is the last event: a `Closed`
//!    event carrying a [`CloseReason`](server::CloseReason) (server) or
//!    [`CloseReason`](client::CloseReason) (client) that says why, then
//!    [`Action::Close`].
//!
//! **The run loop**, the same for both roles and on every runtime:
//!
//! ```text
//!             bytes in                               actions out
//!  socket ──────────────► handle_input(now, &[u8]) ─┐
//!  timer  ──────────────► handle_timeout(now)      ─┤    ┌──────────────────────┐
//!  TLS up ──────────────► tls_established(now, ..) ─┼──► │  ServerConnection /  │
//!  eof    ──────────────► handle_eof(now)          ─┤    │  ClientConnection    │
//!  app    ──────────────► commands (decide, …)     ─┘    └──────────┬───────────┘
//!                                                                   │ poll_action() until None
//!             ┌───────────────────────┬───────────────────────┬─────┴──────────────┐
//!             ▼                       ▼                       ▼                    ▼
//!        Send(Bytes)              StartTls              Event(..)               Close
//!      write to socket        flush, handshake,     hand to the application  flush, shut down
//!                             then tls_established   (it may answer later)
//!             then arm one timer for poll_timeout() and wait for bytes, time or the application
//! ```
//!
//! ## A server's run loop
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
//!                     conn.decide(now, token, Verdict::Accept)?;
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
//!
//! ## A client's run loop
//!
//! This example runs a whole session against a scripted server:
//!
//! ```
//! use std::collections::VecDeque;
//! use std::sync::Arc;
//! use std::time::Instant;
//!
//! use bytes::Bytes;
//! use mailwire_core::client::{
//!     ClientConfig, ClientConnection, ClientEvent, ClientSession, Envelope, TlsPolicy,
//! };
//! use mailwire_core::wire::address::{ForwardPath, ReversePath};
//! use mailwire_core::{Action, SeededRandom};
//!
//! // What the server says, one read at a time (a socket in real life).
//! let mut server: VecDeque<&[u8]> = VecDeque::from([
//!     &b"220 mx.example.com ESMTP\r\n"[..],
//!     b"250-mx.example.com\r\n250 PIPELINING\r\n",
//!     b"250 2.1.0 ok\r\n250 2.1.5 ok\r\n",
//!     b"354 go ahead\r\n",
//!     b"250 2.0.0 queued as 42\r\n",
//!     b"221 2.0.0 bye\r\n",
//! ]);
//! let mut wire = Vec::new(); // what the client wrote
//!
//! let config = ClientConfig::new("client.example".parse()?, Arc::new(SeededRandom::new(1)))
//!     .with_tls(TlsPolicy::Disabled);
//! let now = Instant::now(); // a driver passes the current time each call
//! let mut conn =
//!     ClientConnection::new(Arc::new(config), ClientSession::new("mx.example.com"), now)?;
//! let envelope = Envelope::new(
//!     "<alice@example.org>".parse::<ReversePath>()?,
//!     ["<bob@example.net>".parse::<ForwardPath>()?],
//! );
//! let mut body = VecDeque::from([
//!     Bytes::from_static(b"Subject: hello\r\n\r\n"),
//!     Bytes::from_static(b".a line that starts with a dot\n"),
//! ]);
//! let mut sent = false;
//!
//! 'run: loop {
//!     // 1. Drain the actions.
//!     while let Some(action) = conn.poll_action() {
//!         match action {
//!             Action::Send(bytes) => wire.extend_from_slice(&bytes), // write + flush
//!             Action::StartTls => unreachable!("TLS is disabled here"),
//!             Action::Event(ClientEvent::Ready { .. }) => {
//!                 conn.send_mail(now, envelope.clone())?;
//!             }
//!             Action::Event(ClientEvent::BodyRequested { .. }) => {}
//!             Action::Event(ClientEvent::TransactionCompleted(outcome)) => {
//!                 sent = outcome.outcome.is_sent();
//!                 conn.quit(now)?;
//!             }
//!             Action::Event(ClientEvent::Closed(reason)) => assert!(reason.is_normal()),
//!             Action::Event(_) => {}
//!             Action::Close => break 'run, // shut down writing, drain, close
//!             _ => {}
//!         }
//!     }
//!     // 2. Give body while the connection asks for it.
//!     if conn.wants_body() {
//!         match body.pop_front() {
//!             Some(chunk) => conn.send_body(now, chunk)?,
//!             None => conn.end_body(now)?,
//!         }
//!         continue;
//!     }
//!     // 3. Wait for input or for `conn.poll_timeout()`; feed it in.
//!     match server.pop_front() {
//!         Some(bytes) => conn.handle_input(now, bytes)?,
//!         None => conn.handle_eof(now),
//!     }
//! }
//! assert!(sent);
//! assert_eq!(
//!     String::from_utf8(wire)?,
//!     "EHLO client.example\r\n\
//!      MAIL FROM:<alice@example.org>\r\nRCPT TO:<bob@example.net>\r\n\
//!      DATA\r\n\
//!      Subject: hello\r\n\r\n..a line that starts with a dot\r\n.\r\n\
//!      QUIT\r\n"
//! );
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//!
//! Role by role, the rest of the contract (decisions are tokens, how a
//! message streams out of a server, what a client does at each step) is in
//! [`server`] and [`client`].
//!
//! # Rules the whole crate keeps
//!
//! * No clock: every input that depends on time takes `now` from the caller
//!   (enforced with clippy's `disallowed-methods`, see `core/clippy.toml`).
//! * No ambient randomness, no threads, no async, no sockets.
//! * Bounded memory: every buffer that holds peer input has a configured cap.
//! * Nothing a peer sends can make the core panic.

#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::expect_used))]

pub mod action;
pub mod client;
pub mod close;
pub mod envelope;
pub mod message;
mod output;
pub mod random;
pub mod sasl;
pub mod server;
mod timers;
pub mod tls;
pub mod wire;

pub use action::{Action, UsageError};
pub use random::{RandomSource, SeededRandom};
pub use tls::TlsInfo;
