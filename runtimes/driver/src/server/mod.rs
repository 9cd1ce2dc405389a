//! The server front end: a [`SessionFactory`] making one [`Session`] per
//! connection (hooks with `&mut self` that see the transaction so far; the
//! delivery kind follows from the session's type), the simpler shared
//! [`Handler`] (tcllib smtpd's callbacks), the [`SessionHost`] that runs a
//! session's hooks without I/O, the per-connection session loop, and
//! [`Server`] (bind, accept with connection limits, stop).
//!
//! # The session loop
//!
//! Each connection runs one loop over a core
//! [`ServerConnection`](mailwire_core::server::ServerConnection), with a
//! [`SessionHost`] for its session (any other driver of the core can run
//! sessions the same way; see the host's run-loop contract):
//!
//! 1. drain the core's actions: write each `Send` (bounded by
//!    [`ServerOptions::write_stall`]), flush and run the TLS handshake on
//!    `StartTls` (with the core's handshake deadline), hand each event to
//!    the host (a request starts a hook, which owns the session value
//!    while it runs and hands it back, so hooks run one at a time, in
//!    order; message data goes to the delivery in progress) and apply an
//!    answer that is ready at once, and close on `Close` (shut down
//!    writing, drain briefly);
//! 2. wait for whichever comes first: bytes from the client (only while
//!    the core wants to read and a streaming body's queue has room), the
//!    core's one timer, an [`Answer`] from the host's hooks, or a stop
//!    signal;
//! 3. feed the result back: `handle_input`/`handle_eof`/`handle_timeout`,
//!    or `decide`/`supply_secret` with the answer (a failed or panicking
//!    hook is answered `451` ([`local_error`](mailwire_core::server::replies::local_error)); [`HookError::Disconnect`] drops the
//!    connection).
//!
//! A streaming delivery hook ([`MailStream`]) runs concurrently with the
//! loop: the loop keeps reading the socket and pushes the body through a
//! bounded queue to the hook's [`BodyReader`]; the hook's result becomes
//! the message's verdict once the message has ended.
//!
//! # Example
//!
//! A server on an ephemeral port whose sessions count their messages, on
//! any [`Runtime`](crate::Runtime) (see the runtime crates for complete
//! programs per runtime):
//!
//! ```
//! use mailwire_driver::server::{Context, HookResult, Mail, Server, ServerOptions, Session};
//!
//! #[derive(Default)]
//! struct Print {
//!     messages: usize,
//! }
//!
//! impl Session for Print {
//!     type Message = Mail;
//!
//!     async fn deliver(&mut self, ctx: &Context, mail: Mail) -> HookResult {
//!         self.messages += 1;
//!         println!("message {} from {:?}: {} octets", self.messages, ctx.peer, mail.data.len());
//!         Ok(())
//!     }
//! }
//!
//! let server = Server::new(ServerOptions::new("mx.example.org"), |_: &Context| Print::default());
//! # let _ = server;
//! ```

mod body;
mod boxed;
mod cidr;
mod context;
mod delivery;
mod error;
pub mod faults;
mod glob;
mod handler;
pub(crate) mod hooks;
mod host;
mod listener;
mod options;
mod proxy;
mod run;
mod session;
mod signal;
mod trace;
mod verdict;

pub use body::{BodyReader, MemoryBudget};
pub use boxed::{BoxFuture, BoxedFactory, BoxedSession, DynSession, DynSessionFactory};
pub use cidr::{Cidr, CidrError};
pub use context::Context;
pub use delivery::{Delivery, Mail, MailStream, ParsedMail};
pub use error::{HookError, HookResult};
pub use glob::Glob;
pub use handler::{Handler, Shared};
pub use host::SessionHost;
pub use listener::{RunningServer, Server};
pub use mailwire_core::server::TransactionEnd;
pub use options::{ServerOptions, SystemRandom};
pub use session::{Session, SessionEnd, SessionFactory};
pub use trace::{ServerObserver, SessionTrace};
pub use verdict::Answer;
