//! Helpers shared by the subcommands: terminal-safe text, argument checks,
//! `HOST[:PORT]` parsing and CIDR networks.

pub mod cidr;
pub mod text;
