//! Helpers shared by the subcommands: terminal-safe text, argument checks,
//! `HOST[:PORT]` parsing and CIDR networks.

pub mod cidr;
pub mod outbound;
pub mod text;
pub mod users;
