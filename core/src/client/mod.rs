//! The client role: [`ClientConnection`], a sans-IO SMTP client
//! (RFC 5321 with PIPELINING, STARTTLS, AUTH, CHUNKING/BINARYMIME,
//! 8BITMIME, SMTPUTF8, SIZE, DSN and REQUIRETLS).
//!
//! The connection is a pure state machine: the driver owns the socket, the
//! clock and the application's decisions (the contract is in the crate
//! documentation of `mailwire-core` and in the `server` module).
//!
//! | group | calls |
//! | --- | --- |
//! | getters | [`wants_read`](ClientConnection::wants_read), [`wants_body`](ClientConnection::wants_body), [`is_ready`](ClientConnection::is_ready), [`is_closed`](ClientConnection::is_closed), [`poll_timeout`](ClientConnection::poll_timeout), [`capabilities`](ClientConnection::capabilities), [`tls_info`](ClientConnection::tls_info), [`phase`](ClientConnection::phase), [`buffered_len`](ClientConnection::buffered_len) |
//! | inputs | [`handle_input`](ClientConnection::handle_input), [`handle_eof`](ClientConnection::handle_eof), [`handle_timeout`](ClientConnection::handle_timeout), [`tls_established`](ClientConnection::tls_established) |
//! | commands | [`send_mail`](ClientConnection::send_mail), [`send_body`](ClientConnection::send_body), [`end_body`](ClientConnection::end_body), [`quit`](ClientConnection::quit), [`abort`](ClientConnection::abort), [`decide_plaintext`](ClientConnection::decide_plaintext) |
//! | output | [`poll_action`](ClientConnection::poll_action) → [`Action`](crate::Action)`<`[`ClientEvent`]`>` |
//!
//! # The run loop
//!
//! After every input or command, drain [`poll_action`](ClientConnection::poll_action)
//! until `None`: write each `Send`, flush before `StartTls` (run the
//! handshake, then [`tls_established`](ClientConnection::tls_established))
//! and before `Close`, and hand each event to the application. Then, while
//! [`wants_body`](ClientConnection::wants_body), give the next piece of the
//! body. Then wait for input or for [`poll_timeout`](ClientConnection::poll_timeout),
//! and feed what happened back in. Every input takes `now`; the core reads
//! no clock and no randomness of its own (SASL nonces come from the
//! config's [`RandomSource`](crate::RandomSource)).
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
//! * **Time**: every wait of RFC 5321 §4.5.3.2 is a deadline ([`Timeouts`]);
//!   a timeout closes with [`CloseKind::Timeout`] and the [`Phase`].
//! * **The end**: [`ClientEvent::Closed`] with a [`CloseReason`] (kind,
//!   phase, the full reply and the command it answered), then
//!   [`Action::Close`](crate::Action::Close). A transaction still running
//!   gets its `TransactionCompleted` first.

mod auth;
mod body;
mod close;
mod config;
mod connection;
mod envelope;
mod event;
mod mail_lines;
mod open;
mod outcome;
mod output;
mod pending;
mod setup;
mod stop;
mod timers;
mod transaction;

pub use close::{CloseKind, CloseReason, Phase};
pub use config::{
    AuthSecurity, ClientConfig, ClientSession, NonceHook, StartTlsRefused, Timeouts, TlsPolicy,
};
pub use connection::ClientConnection;
pub use envelope::{BodyKind, Envelope, MailOptions, Recipient, SendPolicy};
pub use event::{ClientEvent, PlaintextDecision, PolicyToken, RcptStatus};
pub use outcome::{
    NotSentReason, Outcome, RecipientOutcome, RecipientStatus, TransactionId, TransactionOutcome,
};
pub use stop::StopPoint;
