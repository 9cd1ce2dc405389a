//! `mailwire-test-server`: test your code that sends mail against a real
//! SMTP server in your own process — no daemon to install, no port to
//! guess, no sleep to tune.
//!
//! [`TestServer::start`] listens on `127.0.0.1` and a free port, on a
//! thread of its own (so it works the same from a plain `#[test]` and from
//! an async test on any executor), records every message it accepts with
//! its envelope ([`Caught`]), and stops when dropped. Point your code at
//! [`TestServer::addr`], send, then [`wait_for`](TestServer::wait_for) the
//! messages and look at them.
//!
//! It is a complete mailwire server: PIPELINING, 8BITMIME, SMTPUTF8,
//! CHUNKING, SIZE, DSN, STARTTLS and AUTH behave as they do in
//! production, and every limit answers with the RFC's replies. The
//! builder adds what tests need: TLS with a throw-away certificate
//! ([`self_signed_tls`](TestServerBuilder::self_signed_tls), whose CA
//! [`TestServer::tls`] hands out), AUTH for any credentials or a list
//! ([`auth_any`](TestServerBuilder::auth_any),
//! [`users`](TestServerBuilder::users)), and refusals on request — a
//! recipient pattern, a 4xx or 5xx at a chosen [`Step`], a delay, a
//! dropped connection ([`rule`](TestServerBuilder::rule) with the
//! library's fault [`Rule`]s). [`TestServer::connect_pipe`] gives a
//! connection without a socket.
//!
//! The server runs on one runtime, chosen with this crate's features:
//! `tokio` (the default), `smol` or `async-std`; nothing else is pulled
//! in.
//!
//! # From a plain `#[test]`
//!
//! Your code sends however it sends (here with mailwire's own client on
//! smol; lettre, a subprocess or a Python script work the same way):
//!
//! ```
//! use std::time::Duration;
//!
//! use mailwire_smol::client::{SendOptions, ServerAddress};
//! use mailwire_smol::{Smol, send_message};
//! use mailwire_test_server::TestServer;
//!
//! /// The code under test: sends a welcome mail through `server`.
//! fn send_welcome(server: ServerAddress, to: &str) -> bool {
//!     let message = format!(
//!         "From: shop@example.org\r\nTo: {to}\r\nSubject: Welcome!\r\n\r\nHello.\r\n"
//!     );
//!     let report = smol::block_on(send_message(Smol, message, &SendOptions::new([server])));
//!     report.is_ok_and(|r| r.is_sent())
//! }
//!
//! # fn main() {
//! let server = TestServer::start();
//! let address = ServerAddress::new("127.0.0.1").with_port(server.port());
//! assert!(send_welcome(address, "bob@example.net"));
//!
//! let caught = server.wait_for(1, Duration::from_secs(5)).expect("one message");
//! assert_eq!(caught[0].from, "shop@example.org");
//! assert_eq!(caught[0].to, ["bob@example.net"]);
//! assert_eq!(caught[0].subject().as_deref(), Some("Welcome!"));
//! # }
//! ```
//!
//! # From an async test, with a refusal
//!
//! ```
//! use std::time::Duration;
//!
//! use mailwire_test_server::TestServer;
//! use mailwire_tokio::client::{SendOptions, ServerAddress};
//! use mailwire_tokio::core::client::RecipientStatus;
//! use mailwire_tokio::{Tokio, send_message};
//!
//! #[tokio::main(flavor = "current_thread")] // or #[tokio::test]
//! async fn main() {
//!     let server = TestServer::builder()
//!         .refuse_recipient("nobody@*", 550, "5.1.1", "No such user")
//!         .start();
//!     let address = ServerAddress::new("127.0.0.1").with_port(server.port());
//!     let message = "From: a@example.org\r\nTo: bob@example.net, nobody@example.net\r\n\
//!                    Subject: hi\r\n\r\nHello.\r\n";
//!     let mut options = SendOptions::new([address]);
//!     options.at_least_one = true; // tcllib's -atleastone: send to the good ones
//!     let report = send_message(Tokio, message, &options).await.unwrap();
//!     let statuses: Vec<RecipientStatus> = report.recipients.iter().map(|r| r.status).collect();
//!     assert_eq!(statuses, [RecipientStatus::Sent, RecipientStatus::Refused]);
//!
//!     let caught = server.wait_for_async(1, Duration::from_secs(5)).await.unwrap();
//!     assert_eq!(caught[0].to, ["bob@example.net"]);
//! }
//! ```
//!
//! # TLS and AUTH
//!
//! ```
//! use mailwire_test_server::TestServer;
//!
//! let server = TestServer::builder()
//!     .self_signed_tls()
//!     .users([("alice", "wonderland")])
//!     .require_auth()
//!     .start();
//! // Trust this CA in the client under test.
//! let ca_pem: &str = &server.tls().unwrap().ca_pem;
//! assert!(ca_pem.contains("BEGIN CERTIFICATE"));
//! ```

mod builder;
mod inbox;
mod pki;
mod recorder;
mod runtime;
mod server;

pub use builder::TestServerBuilder;
pub use inbox::{Caught, WaitError};
pub use mailwire_driver::server::faults::{Fault, Match, Rule, Rules, Step};
pub use pki::TestPki;
pub use server::TestServer;
