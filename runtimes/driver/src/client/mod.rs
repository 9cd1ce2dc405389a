//! The client front end: [`send_message`] (tcllib's `smtp::sendmessage`)
//! and [`Client`] (one connection, many messages).
//!
//! Both run the core's [`ClientConnection`](mailwire_core::client::ClientConnection)
//! in the client loop of this crate (the drain, the TLS handshake within
//! the core's deadline and the bounded writes are the ones the server's
//! session loop uses):
//!
//! ```text
//!   ┌──────────── drain poll_action() ────────────┐
//!   │ Send      → write (bounded by write_stall)  │
//!   │ StartTls  → flush, TLS handshake (SNI, the  │
//!   │             core's deadline) → tls_established
//!   │ TlsPolicyRequest → hook → decide_plaintext  │
//!   │ Close     → flush, shut down, linger, close │
//!   └─────────────────────────────────────────────┘
//!          │ while wants_body(): send_body / end_body
//!          ▼
//!   read, raced against poll_timeout() → handle_input / handle_eof /
//!   handle_timeout → drain again
//! ```
//!
//! TLS follows the core's [`TlsPolicy`](mailwire_core::client::TlsPolicy):
//! opportunistic STARTTLS accepts a certificate that does not verify and
//! records `peer_verified = false` (credentials are then withheld by
//! default); a required policy refuses it unless `accept_invalid_certs`
//! (the insecure option) is set. Certificates are checked against
//! [`ClientSettings::tls`] (webpki roots by default, or your CA).
//!
//! Ports: 25 (relay, STARTTLS when offered), 587 (submission with STARTTLS
//! and AUTH), 465 (submission over implicit TLS: [`Security::Implicit`]).
//!
//! # From tcllib's `smtp::sendmessage`
//!
//! | tcllib option | here |
//! | --- | --- |
//! | `-servers`, `-ports` | [`SendOptions::servers`]: one [`ServerAddress`] each, with its own port (default 25) |
//! | `-client` | [`ClientSettings::client_name`] (default: `localhost` for a local server, else [`default_client_name`]) |
//! | `-originator`, `-recipients` | [`SendOptions::originator`], [`SendOptions::recipients`] (else from the headers) |
//! | `-header` | [`SendOptions::headers`] (`Bcc` and `Dcc` add recipients, explicit ones or not, and are never transmitted) |
//! | `-atleastone` | [`SendOptions::at_least_one`] |
//! | `-queue` | [`ClientSettings::queue`] |
//! | `-usetls`, `-tlspolicy` | [`ClientSettings::tls_policy`], [`ClientSettings::tls_policy_hook`] |
//! | `-tlsimport` | [`Security::Implicit`] |
//! | `-username`, `-password` | [`ClientSettings::credentials`] (sent only over verified TLS by default) |
//! | `-maxsecs` | [`ClientSettings::timeouts`] (`data_termination`), plus every other RFC 5321 wait and [`ClientSettings::connect_timeout`] |
//! | `-debug` | `tracing` events |
//!
//! Beyond tcllib: DSN and REQUIRETLS ([`SendOptions::with_dsn`],
//! [`SendOptions::requiretls`]), PIPELINING, a result per recipient and an
//! outcome that is never "sent" unless the server accepted the message.
//!
//! Each runtime crate (`mailwire-tokio`, `mailwire-smol`,
//! `mailwire-async-std`) shows a complete example.

mod body;
mod built;
mod connection;
mod engine;
mod failover;
mod hostname;
mod options;
mod report;
mod resolve;
mod send;
mod send_built;
mod stepwise;
mod trace;

pub use connection::Client;
pub use engine::TlsPolicyHook;
pub use failover::{Tried, connect_first, first_server};
pub use hostname::default_client_name;
pub use options::{ClientSettings, ProxyHeaderPlan, Security, SendOptions, ServerAddress};
pub use report::{ClientError, RecipientReport, SendError, SendReport, ServerFailure};
pub use send::send_message;
pub use send_built::send_built_message;
pub use trace::{Direction, LineKind, Observer, TraceEvent, TraceLine};
