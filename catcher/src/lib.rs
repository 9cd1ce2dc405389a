//! mailwire's mail catcher side beside SMTP: an index over the Maildir
//! that `mailwire serve` stores into (the Maildir stays the only store;
//! the index is rebuilt from it at start and follows what other programs
//! do to it), and Mailpit's REST API and websocket events over it.
//!
//! * [`index::Index`]: the messages in memory, newest first; read state
//!   is the Maildir `S` flag and deleting removes the file.
//! * [`watch`]: follows files other programs add to and remove from
//!   `new/` and `cur/`.
//! * [`http`]: the HTTP listener (axum, on its own tokio thread) and
//!   Mailpit's `/api/v1`, with its guards (Host, Origin, JSON bodies,
//!   basic auth).

pub mod changes;
pub mod http;
pub mod id;
pub mod index;
pub mod json;
pub mod meta;
pub mod parts;
pub mod search;
pub mod time;
pub mod view;
pub mod watch;
