//! Strategies for `mailwire_core::wire::ehlo`.
