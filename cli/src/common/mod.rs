//! Helpers shared by the subcommands: terminal-safe text, argument checks,
//! `HOST[:PORT]` parsing, durations and the host/sender/recipient policy.

pub mod duration;
pub mod mechanisms;
pub mod outbound;
pub mod policy;
pub mod proxy_out;
pub mod text;
pub mod users;
