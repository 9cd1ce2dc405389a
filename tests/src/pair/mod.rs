//! Deterministic simulation of an SMTP client and server talking to each
//! other in memory: the **Pair** harness.
//!
//! A [`Pair`] connects a [`ClientConnection`](mailwire_core::client::ClientConnection)
//! and a [`ServerConnection`](mailwire_core::server::ServerConnection)
//! through a simulated network and runs both under a virtual clock, each
//! driven by an application: yours, or the scripted ones here. Nothing is
//! real — no socket, no thread, no wall clock — so a run is exactly
//! reproducible, takes microseconds, and can visit the corners that real
//! networks only reach once a month: a read that ends in the middle of
//! `CRLF . CRLF`, a connection that breaks between the final dot and its
//! reply, a decision that takes 61 seconds, a peer that slips commands in
//! behind `STARTTLS`.
//!
//! # The pieces
//!
//! * **Your applications.** Implement [`ServerApp`] (what your handler
//!   decides: HELO, MAIL, each RCPT, AUTH, each message) and/or
//!   [`ClientApp`] (what your code sends). Each sees its connection's
//!   events in order and acts through a context ([`ServerCx`],
//!   [`ClientCx`]) that records every call. Decisions may be made at once
//!   or later: return a wake-up time from `next_wake` and act in
//!   `on_wake`. [`ScriptedServer`] and [`ScriptedClient`] are ready-made
//!   applications driven by data ([`ServerScript`], [`MessagePlan`]).
//! * **Your sessions.** [`SessionApp`] runs a session-level server — any
//!   driver [`SessionFactory`](mailwire_driver::server::SessionFactory),
//!   the API `mailwire serve` and your production server use — through the
//!   driver's own [`SessionHost`](mailwire_driver::server::SessionHost),
//!   inside the same deterministic loop: hooks run when they can, sleeps on
//!   the [`PairClock`] take virtual time, and every delivery kind works,
//!   streaming included.
//! * **The network** ([`Network`], [`LinkPlan`]): two byte queues that keep
//!   TCP's order. Each direction releases bytes in reads of planned sizes
//!   (whole, single octets, any cycle) or seeded random sizes, after
//!   planned or seeded delays; a [`Cut`] breaks the connection at any byte.
//!   TLS is simulated as an identity switch when both sides have asked for
//!   it ([`TlsSim`]); bytes still in flight at the switch are dropped, as a
//!   TLS layer would consume them. An [`Injection`] plays a malicious peer
//!   at the switch.
//! * **The clock** is virtual. The loop moves bytes, events and body
//!   writes while anything can move; only when nothing can does it jump to
//!   the earliest deadline (either connection's `poll_timeout`, an
//!   application's wake-up, a delayed write) and fire it. A gap of five
//!   minutes costs nothing.
//! * **The record** ([`Transcript`]): every event, call, fault and byte in
//!   causal order with its virtual time, with views for the usual questions
//!   ([`Transcript::server_messages`], [`Transcript::client_messages`],
//!   [`Transcript::server_dialogue`]) and a readable `Display` for test
//!   failures.
//! * **The invariants** ([`check`]): properties that hold for any correct
//!   pair whatever the applications decide and the network does — round
//!   trip, honest outcomes, verdicts that line up, the send policy. Run them
//!   on your own transcripts.
//! * **Scenarios** ([`scenario`]): whole sessions as plain data and the
//!   proptest strategies mailwire's own property tests use.
//!
//! The loop is bounded: a run that neither finishes nor stops moving fails
//! with [`PairError::Livelock`] (and one that waits with no deadline with
//! [`PairError::Stalled`]) instead of hanging your test.
//!
//! # Example: your server logic, a scripted client, a flaky network
//!
//! ```
//! use std::sync::Arc;
//! use std::time::Duration;
//!
//! use mailwire_core::SeededRandom;
//! use mailwire_core::client::{ClientConfig, Envelope, TlsPolicy};
//! use mailwire_core::server::{ServerConfig, ServerEvent, Verdict};
//! use mailwire_core::wire::address::{ForwardPath, ReversePath};
//! use mailwire_tests::pair::{
//!     LinkPlan, MessagePlan, Network, Pair, ScriptedClient, ServerApp, ServerCx, check,
//! };
//!
//! /// The application under test: refuses one mailbox, and takes its time
//! /// (45 virtual seconds) over every message.
//! #[derive(Default)]
//! struct MyHandler {
//!     pending: Vec<(std::time::Instant, mailwire_core::server::Token)>,
//!     delivered: Vec<Vec<u8>>,
//!     body: Vec<u8>,
//! }
//!
//! impl ServerApp for MyHandler {
//!     fn on_event(&mut self, cx: &mut ServerCx<'_>, event: &ServerEvent) {
//!         match event {
//!             ServerEvent::RcptRequest { token, to, .. } if to.to_string().contains("nobody") => {
//!                 let refusal = Verdict::refuse(550, "5.1.1", "No such user").unwrap();
//!                 cx.decide(*token, refusal).unwrap();
//!             }
//!             ServerEvent::MessageData(chunk) => self.body.extend_from_slice(chunk),
//!             ServerEvent::MessageRequest { token, .. } => {
//!                 self.pending.push((cx.now() + Duration::from_secs(45), *token));
//!             }
//!             event => {
//!                 if let Some(token) = event.token() {
//!                     cx.decide(token, Verdict::Accept).unwrap();
//!                 }
//!             }
//!         }
//!     }
//!
//!     fn next_wake(&self) -> Option<std::time::Instant> {
//!         self.pending.first().map(|(at, _)| *at)
//!     }
//!
//!     fn on_wake(&mut self, cx: &mut ServerCx<'_>) {
//!         let (_, token) = self.pending.remove(0);
//!         cx.decide(token, Verdict::Accept).unwrap();
//!         self.delivered.push(std::mem::take(&mut self.body));
//!     }
//! }
//!
//! let server = ServerConfig::new("mx.example.org", Arc::new(SeededRandom::new(1)));
//! let client = ClientConfig::new("client.example".parse()?, Arc::new(SeededRandom::new(2)))
//!     .with_tls(TlsPolicy::Disabled);
//! let envelope = Envelope::new(
//!     "<alice@example.net>".parse::<ReversePath>()?,
//!     ["<bob@example.org>".parse::<ForwardPath>()?],
//! );
//! let client_app = ScriptedClient::new([MessagePlan::new(envelope, &b"Hi Bob,\n.\nbye\n"[..])]);
//!
//! // Every write delayed by up to 200 ms, reads of 1 to 7 octets.
//! let network = Network::symmetric(LinkPlan::seeded(42, 7, Duration::from_millis(200)));
//! let mut pair = Pair::new(Arc::new(server), Arc::new(client), MyHandler::default(), client_app)?
//!     .with_network(network);
//! pair.run()?;
//!
//! let transcript = pair.transcript();
//! check::all(transcript)?; // round trip, honest outcomes, verdicts, policy
//! assert_eq!(pair.server_app().delivered, [b"Hi Bob,\r\n.\r\nbye\r\n".to_vec()]);
//! assert!(pair.elapsed() >= Duration::from_secs(45));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Example: a session-level server
//!
//! The same harness runs a [`Session`](mailwire_driver::server::Session)
//! with state of its own. Its hooks sleep on the [`PairClock`], so "slow"
//! costs no real time; the session value is the one the driver would keep
//! for the connection.
//!
//! ```
//! use std::sync::{Arc, Mutex};
//! use std::time::Duration;
//!
//! use mailwire_core::SeededRandom;
//! use mailwire_core::client::{ClientConfig, Envelope, TlsPolicy};
//! use mailwire_core::server::ServerConfig;
//! use mailwire_core::wire::address::{ForwardPath, ReversePath};
//! use mailwire_driver::server::{Context, HookResult, MailStream, ServerOptions, Session};
//! use mailwire_tests::pair::{MessagePlan, Pair, PairClock, ScriptedClient, SessionApp, check};
//!
//! /// Streams each message in, takes two virtual seconds to store it, and
//! /// numbers the messages of its session.
//! struct Store {
//!     clock: PairClock,
//!     stored: Arc<Mutex<Vec<(usize, Vec<u8>)>>>,
//!     count: usize,
//! }
//!
//! impl Session for Store {
//!     type Message = MailStream;
//!
//!     async fn deliver(&mut self, _: &Context, mut mail: MailStream) -> HookResult {
//!         let mut body = Vec::new();
//!         while let Some(chunk) = mail.body.next_chunk().await? {
//!             body.extend_from_slice(&chunk);
//!         }
//!         self.clock.sleep(Duration::from_secs(2)).await;
//!         self.count += 1;
//!         self.stored.lock().unwrap().push((self.count, body));
//!         Ok(())
//!     }
//! }
//!
//! let clock = PairClock::new();
//! let stored = Arc::new(Mutex::new(Vec::new()));
//! let factory = {
//!     let (clock, stored) = (clock.clone(), stored.clone());
//!     move |_: &Context| Store { clock: clock.clone(), stored: stored.clone(), count: 0 }
//! };
//! let mut options = ServerOptions::with_config(ServerConfig::new(
//!     "mx.example.org",
//!     Arc::new(SeededRandom::new(1)),
//! ));
//! options.add_received = false; // the header carries the wall-clock date
//! let server_config = options.config.clone();
//! let server = SessionApp::new(factory, options).with_clock(clock);
//!
//! let client = ClientConfig::new("client.example".parse()?, Arc::new(SeededRandom::new(2)))
//!     .with_tls(TlsPolicy::Disabled);
//! let envelope = Envelope::new(
//!     "<alice@example.net>".parse::<ReversePath>()?,
//!     ["<bob@example.org>".parse::<ForwardPath>()?],
//! );
//! let plans = [
//!     MessagePlan::new(envelope.clone(), &b"one\n"[..]),
//!     MessagePlan::new(envelope, &b"two\n"[..]),
//! ];
//! let mut pair = Pair::new(server_config, Arc::new(client), server, ScriptedClient::new(plans))?;
//! pair.run()?;
//!
//! check::all(pair.transcript())?;
//! assert_eq!(
//!     *stored.lock().unwrap(),
//!     [(1, b"one\r\n".to_vec()), (2, b"two\r\n".to_vec())]
//! );
//! assert!(pair.elapsed() >= Duration::from_secs(4));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Everything is deterministic: the same seeds give the same run, byte for
//! byte and event for event, so a failing seed found by a property test is
//! a reproducible bug report.

mod app;
pub mod check;
mod clock;
mod dialogue;
mod driver;
mod net;
mod options;
pub mod scenario;
mod scripted;
mod session_app;
mod transcript;

pub use app::{ClientApp, ClientCx, ServerApp, ServerCx};
pub use clock::{PairClock, PairSleep};
pub use dialogue::{Exchange, Sent, dialogue};
pub use driver::Pair;
pub use net::{Cut, Direction, LinkPlan, Network, SimRng};
pub use options::{Injection, PairError, TlsSim};
pub use scripted::{Answer, MessagePlan, ScriptedClient, ScriptedServer, ServerScript};
pub use session_app::SessionApp;
pub use transcript::{
    ClientMessage, Entry, MessageEnd, ServerMessage, Side, Transcript, What, Wire,
};
