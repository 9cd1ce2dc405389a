//! Strategies for `mailwire_core::wire::dot`.
