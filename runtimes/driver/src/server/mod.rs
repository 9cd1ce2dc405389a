//! The server front end: a [`Handler`] with async hooks (tcllib smtpd's
//! callbacks), the per-connection session loop, and [`Server`] (bind,
//! accept with connection limits, stop).
//!
//! # The session loop
//!
//! Each connection runs one loop over a core
//! [`ServerConnection`](mailwire_core::server::ServerConnection):
//!
//! 1. drain the core's actions: write each `Send` (bounded by
//!    [`ServerOptions::write_stall`]), flush and run the TLS handshake on
//!    `StartTls` (with the core's handshake deadline), start a hook for
//!    each request event, feed message data to the delivery in progress,
//!    and close on `Close` (shut down writing, drain briefly);
//! 2. wait for whichever comes first: bytes from the client (only while
//!    the core wants to read and a streaming body's queue has room), the
//!    core's one timer, the pending hook, the streaming delivery hook, or
//!    a stop signal;
//! 3. feed the result back: `handle_input`/`handle_eof`/`handle_timeout`,
//!    or `decide`/`supply_secret` with the hook's answer (a failed or
//!    panicking hook is answered `451 4.3.0`).
//!
//! A streaming delivery hook runs concurrently with the loop: the loop
//! keeps reading the socket and pushes the body through a bounded queue
//! to the hook's [`BodyReader`]; the hook's result becomes the message's
//! verdict once the message has ended.
//!
//! # Example
//!
//! A server on an ephemeral port, served one message by a scripted client
//! over loopback, on any [`Runtime`](crate::Runtime) (see the runtime
//! crates for complete programs per runtime):
//!
//! ```
//! use mailwire_driver::server::{Handler, HookResult, Mail, Server, ServerOptions};
//!
//! struct Print;
//! impl Handler for Print {
//!     async fn deliver(&self, mail: Mail) -> HookResult {
//!         println!("got {} octets", mail.data.len());
//!         Ok(())
//!     }
//! }
//!
//! let options = ServerOptions::new("mx.example.org");
//! let server = Server::new(options, Print);
//! # let _ = server;
//! ```

mod body;
mod handler;
mod listener;
mod options;
mod session;
mod signal;
mod verdict;

pub use body::{BodyReader, MemoryBudget};
pub use handler::{DeliveryMode, Handler, HookError, HookResult, Mail, Session};
pub use listener::{RunningServer, Server};
pub use options::{ServerOptions, SystemRandom};
