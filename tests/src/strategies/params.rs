//! Strategies for `mailwire_core::wire::params`.
