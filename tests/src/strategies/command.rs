//! Strategies for `mailwire_core::wire::command`.
