//! `mailwire-core`: the sans-IO protocol core of mailwire.
//!
//! This crate holds everything about SMTP that does not need a socket, a clock
//! or a runtime: the wire codecs ([`wire`]) and, built on them, the client and
//! server state machines. Callers own the I/O: they feed bytes and time in and
//! take actions (bytes to send, TLS to start, decisions to make) out.
//!
//! # What is here
//!
//! * [`wire`]: commands, replies, addresses, ESMTP parameters, EHLO
//!   capabilities, command-line framing and the DATA dot codec.
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
pub mod message;
pub mod random;
pub mod sasl;
pub mod server;
pub mod tls;
pub mod wire;

pub use action::{Action, UsageError};
pub use random::{RandomSource, SeededRandom};
pub use tls::TlsInfo;
