//! Strategies for `mailwire_core::wire::reply`.
