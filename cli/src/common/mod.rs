//! Helpers shared by the subcommands: terminal-safe text, argument checks,
//! `HOST[:PORT]` parsing, CIDR networks, durations and the
//! host/sender/recipient policy.

pub mod cidr;
pub mod duration;
pub mod outbound;
pub mod policy;
pub mod text;
pub mod users;
