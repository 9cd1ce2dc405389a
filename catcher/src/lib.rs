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
//!
//! `mailwire serve --http` puts them together; by hand:
//!
//! ```no_run
//! use std::sync::Arc;
//! use mailwire_catcher::http::{HttpOptions, HttpServer};
//! use mailwire_catcher::index::Index;
//! use mailwire_catcher::watch::{self, Limits};
//!
//! let index = Arc::new(Index::new("mail".as_ref(), "0.1.0"));
//! index.load()?; // new/ and cur/ must exist
//! watch::start(index.clone(), Limits::default())?;
//! let options = HttpOptions {
//!     addr: "127.0.0.1:8025".parse()?,
//!     auth: None,
//!     hosts: Vec::new(),
//!     tls: None,
//!     webroot: "/".to_owned(),
//! };
//! let server = HttpServer::start(index, &options)?;
//! println!("web interface on http://{}/", server.local_addr());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod changes;
mod entry;
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
