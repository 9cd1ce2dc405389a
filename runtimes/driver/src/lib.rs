//! `mailwire-driver`: the one async driver of mailwire.
//!
//! It runs the sans-IO connections of `mailwire-core` over any
//! `futures_io::AsyncRead + AsyncWrite` stream on any runtime that
//! implements [`Runtime`]: it writes what the core says to send, switches to
//! TLS in place at STARTTLS ([`Transport`], futures-rustls with the ring
//! provider), races reads against the core's one timer, and hands events to
//! the application.
//!
//! Runtime crates (`mailwire-tokio`, `mailwire-smol`, `mailwire-async-std`)
//! only implement [`Runtime`] and re-export this crate.

pub mod client;
mod io;
pub mod pipe;
pub mod runtime;
pub mod server;
pub mod tls;
pub mod tls_error;
pub mod transport;

pub use client::{
    Client, ClientError, ClientSettings, SendError, SendOptions, SendReport, ServerAddress,
    send_built_message, send_message,
};
pub use mailwire_core as core;
pub use pipe::{PipeEnd, pipe};
pub use runtime::Runtime;
pub use server::{
    BodyReader, Handler, HookError, HookResult, Mail, MailStream, MemoryBudget, ParsedMail,
    RunningServer, Server, ServerOptions, Session, SessionFactory,
};
pub use tls::{ClientTls, ServerTls, TlsError, VerifyRecord};
pub use transport::Transport;
