//! Strategies for `mailwire_core::wire::address`.
