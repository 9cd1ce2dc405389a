//! `mailwire-smol`: reserved for the runtime layer.
//!
//! This crate is filled in by the issue "Runtimes and the application API"
//! (see `DESIGN.md` §3). Until then it only re-exports the protocol core so
//! that the workspace layout is in place.

pub use mailwire_core as core;
