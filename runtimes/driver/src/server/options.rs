//! [`ServerOptions`]: the core's [`ServerConfig`] plus what the driver
//! decides (TLS, delivery, memory, connection limits, I/O bounds).

use std::sync::Arc;
use std::time::Duration;

use mailwire_core::RandomSource;
use mailwire_core::server::ServerConfig;
use rand::RngCore;

use super::body::MemoryBudget;
use super::cidr::Cidr;
use crate::tls::ServerTls;

/// The operating system's random source (through `rand`), for SASL
/// nonces and trace ids in production.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemRandom;

impl RandomSource for SystemRandom {
    fn fill(&self, buf: &mut [u8]) {
        rand::rng().fill_bytes(buf);
    }
}

/// Everything a server is configured with.
///
/// ```
/// use mailwire_driver::server::ServerOptions;
///
/// let mut options = ServerOptions::new("mx.example.org");
/// options.config_mut().banner = "my catcher".into();
/// options.config_mut().limits.max_message_size = Some(50 << 20);
/// options.max_connections = 100;
/// # let _ = options;
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ServerOptions {
    /// The protocol configuration (domain, banner, extensions, AUTH,
    /// limits, timeouts). Change it through
    /// [`config_mut`](Self::config_mut).
    pub config: Arc<ServerConfig>,
    /// The certificate for STARTTLS and implicit TLS (set with
    /// [`with_starttls`](Self::with_starttls) or
    /// [`with_implicit_tls`](Self::with_implicit_tls)).
    pub tls: Option<ServerTls>,
    /// TLS from the first byte (port 465 style): no STARTTLS, AUTH
    /// offered at once.
    pub implicit_tls: bool,
    /// The memory budget whole and parsed delivery share (default
    /// 256 MiB for this server; pass one `Arc` to several servers to share
    /// it).
    pub memory_budget: Arc<MemoryBudget>,
    /// Make the server's `Received` header and hand it to delivery beside
    /// the message, as [`Mail::trace`](super::Mail::trace) (default on).
    pub add_received: bool,
    /// Most sessions at once; more are answered `421` ([`too_many_connections`](mailwire_core::server::replies::too_many_connections)) and closed.
    /// Default 1000.
    pub max_connections: usize,
    /// Most sessions at once from one IP address. Default 50.
    pub max_connections_per_ip: usize,
    /// A write that makes no progress for this long ends the session.
    /// Default 60 s.
    pub write_stall: Duration,
    /// After the last reply: how long to drain the client before closing
    /// (so the reply is not destroyed by a reset). Default 2 s.
    pub close_linger: Duration,
    /// Octets queued between the socket and a streaming handler before the
    /// session stops reading the client. Default 256 KiB.
    pub body_queue: usize,
    /// Balancers trusted to send a PROXY protocol header (v1 or v2) first:
    /// a connection from one of these networks must start with one, and
    /// the client address it names is the session's peer everywhere
    /// (hooks, limits per address, the `Received` header). Connections
    /// from elsewhere are clients themselves (a PROXY line from them is an
    /// ordinary bad command). Default: none.
    pub proxy_from: Vec<Cidr>,
    /// How long a trusted balancer has to send its whole header (then the
    /// connection is closed without a word). Default 5 s.
    pub proxy_timeout: Duration,
    /// The longest PROXY v2 header taken. Default 528 octets.
    pub proxy_max_len: usize,
    /// Watches every session's conversation (commands and replies, AUTH
    /// secrets redacted, no message data). Default: none (the same lines
    /// go to `tracing`, target `mailwire::server::wire`, when enabled).
    pub observer: Option<super::ServerObserver>,
}

impl ServerOptions {
    /// Defaults for host `domain`, with the operating system's random
    /// source.
    #[must_use]
    pub fn new(domain: impl Into<String>) -> ServerOptions {
        ServerOptions::with_config(ServerConfig::new(domain, Arc::new(SystemRandom)))
    }

    /// Defaults around a prepared core configuration.
    #[must_use]
    pub fn with_config(config: ServerConfig) -> ServerOptions {
        ServerOptions {
            config: Arc::new(config),
            tls: None,
            implicit_tls: false,
            memory_budget: MemoryBudget::new(256 << 20),
            add_received: true,
            max_connections: 1000,
            max_connections_per_ip: 50,
            write_stall: Duration::from_secs(60),
            close_linger: Duration::from_secs(2),
            body_queue: 256 << 10,
            proxy_from: Vec::new(),
            proxy_timeout: Duration::from_secs(5),
            proxy_max_len: mailwire_core::wire::proxy::V2_MAX_DEFAULT,
            observer: None,
        }
    }

    /// The core configuration, to change (copied first if shared).
    pub fn config_mut(&mut self) -> &mut ServerConfig {
        Arc::make_mut(&mut self.config)
    }

    /// Offers STARTTLS with this certificate.
    #[must_use]
    pub fn with_starttls(mut self, tls: ServerTls) -> ServerOptions {
        self.tls = Some(tls);
        self.implicit_tls = false;
        self.config_mut().extensions.starttls = true;
        self
    }

    /// Speaks TLS from the first byte with this certificate (port 465).
    #[must_use]
    pub fn with_implicit_tls(mut self, tls: ServerTls) -> ServerOptions {
        self.tls = Some(tls);
        self.implicit_tls = true;
        self.config_mut().extensions.starttls = false;
        self
    }
}
