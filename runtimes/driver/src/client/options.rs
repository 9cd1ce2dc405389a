//! Where to send and how: [`ServerAddress`], [`ClientSettings`] and
//! [`SendOptions`].

use std::sync::Arc;
use std::time::Duration;

use mailwire_core::RandomSource;
use mailwire_core::client::{AuthSecurity, ClientTimeouts, StopPoint, TlsPolicy};
use mailwire_core::sasl::{Credentials, Mechanism};
use mailwire_core::wire::address::{Domain, ForwardPath, ReversePath};
use mailwire_core::wire::params::{Notify, Ret};

use super::engine::TlsPolicyHook;
use super::trace::Observer;
use crate::server::SystemRandom;
use crate::tls::ClientTls;

/// How TLS starts on a connection to a [`ServerAddress`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Security {
    /// Plaintext first; STARTTLS as the [`TlsPolicy`] says (ports 25 and
    /// 587).
    #[default]
    StartTls,
    /// TLS from the first byte, before the greeting (port 465, RFC 8314
    /// "implicit TLS"). The certificate is checked as the [`TlsPolicy`]
    /// says: it must verify unless the policy is opportunistic or accepts
    /// invalid certificates.
    Implicit,
}

/// One server to send to.
///
/// Ports by convention: **25** for relay between servers (STARTTLS when
/// offered), **587** for submission by a mail user agent (STARTTLS and
/// AUTH, RFC 6409), **465** for submission over implicit TLS (RFC 8314).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ServerAddress {
    /// A host name or an IP address (`127.0.0.1`, `::1`).
    pub host: String,
    /// The TCP port.
    pub port: u16,
    /// Plaintext with STARTTLS, or implicit TLS.
    pub security: Security,
}

impl ServerAddress {
    /// `host` on port 25 (tcllib's default).
    #[must_use]
    pub fn new(host: impl Into<String>) -> ServerAddress {
        ServerAddress {
            host: host.into(),
            port: 25,
            security: Security::StartTls,
        }
    }

    /// `host` on port 587, submission with STARTTLS.
    #[must_use]
    pub fn submission(host: impl Into<String>) -> ServerAddress {
        ServerAddress::new(host).with_port(587)
    }

    /// `host` on port 465, submission over implicit TLS.
    #[must_use]
    pub fn implicit_tls(host: impl Into<String>) -> ServerAddress {
        ServerAddress::new(host)
            .with_port(465)
            .with_security(Security::Implicit)
    }

    /// Sets the port.
    #[must_use]
    pub fn with_port(mut self, port: u16) -> ServerAddress {
        self.port = port;
        self
    }

    /// Sets how TLS starts.
    #[must_use]
    pub fn with_security(mut self, security: Security) -> ServerAddress {
        self.security = security;
        self
    }

    /// Whether the host is the local machine by name or loopback address
    /// (the client then calls itself `localhost`, as tcllib does).
    #[must_use]
    pub fn is_localhost(&self) -> bool {
        let host = self.host.trim_start_matches('[').trim_end_matches(']');
        host.eq_ignore_ascii_case("localhost")
            || host
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback())
    }
}

/// How a [`Client`](super::Client) connection behaves: everything but the
/// message.
#[derive(Clone)]
#[non_exhaustive]
pub struct ClientSettings {
    /// The EHLO/HELO name. `None`: `localhost` for a local server, else the
    /// host's fully qualified name, else its host name (see
    /// [`default_client_name`](super::default_client_name)).
    pub client_name: Option<Domain>,
    /// STARTTLS policy (default: opportunistic). With
    /// [`TlsPolicy::Required`] the certificate must verify unless
    /// `accept_invalid_certs` is set (the insecure option).
    pub tls_policy: TlsPolicy,
    /// How certificates are checked (default: the webpki roots).
    pub tls: ClientTls,
    /// Answers STARTTLS refusals under an opportunistic policy (tcllib's
    /// `-tlspolicy`). `None`: go on in plaintext.
    pub tls_policy_hook: Option<TlsPolicyHook>,
    /// Credentials for AUTH (tcllib's `-username`/`-password`).
    pub credentials: Option<Credentials>,
    /// When credentials may be sent (default: over verified TLS only).
    pub auth_security: AuthSecurity,
    /// Send `QUED` when the server offers `XQUE` (tcllib's `-queue`).
    pub queue: bool,
    /// Use PIPELINING when offered (default yes).
    pub pipelining: bool,
    /// The protocol waits (RFC 5321 §4.5.3.2 defaults).
    pub timeouts: ClientTimeouts,
    /// The TCP connect (and implicit TLS handshake) timeout: 30 s.
    pub connect_timeout: Duration,
    /// A write that makes no progress for this long fails: 60 s.
    pub write_stall: Duration,
    /// How long to drain the server after QUIT before closing: 2 s.
    pub linger: Duration,
    /// Random octets for SASL nonces and Message-IDs (default: the
    /// operating system's generator).
    pub random: Arc<dyn RandomSource>,
    /// Send a PROXY protocol header first, as a load balancer would (to a
    /// server that trusts this host to speak for its clients). Default:
    /// none.
    pub proxy: Option<ProxyHeaderPlan>,
    /// Watches the conversation, line by line, secrets redacted (a
    /// transcript). Default: none.
    pub observer: Option<Observer>,
    /// Stop the session on purpose there, with QUIT (swaks'
    /// `--quit-after`). Default: none.
    pub stop_after: Option<StopPoint>,
    /// The SASL mechanisms to use, in order of preference (swaks'
    /// `--auth MECH`). `None`: the core's list (strongest first).
    pub auth_mechanisms: Option<Vec<Mechanism>>,
}

/// The PROXY protocol header a [`Client`](super::Client) sends right after
/// it connects (before the greeting, and before TLS on an implicit-TLS
/// port): swaks' `--proxy-version`, `--proxy-source`, `--proxy-dest`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ProxyHeaderPlan {
    /// 1 (text) or 2 (binary).
    pub version: u8,
    /// The client address to announce: `None` parts take the
    /// connection's own local address and port.
    pub source: (Option<std::net::IpAddr>, Option<u16>),
    /// The destination to announce: `None` parts take the server's address
    /// and port.
    pub destination: (Option<std::net::IpAddr>, Option<u16>),
}

impl ProxyHeaderPlan {
    /// Version `version` (1 or 2), announcing the connection's own
    /// addresses unless told otherwise.
    #[must_use]
    pub fn new(version: u8) -> ProxyHeaderPlan {
        ProxyHeaderPlan {
            version,
            source: (None, None),
            destination: (None, None),
        }
    }

    /// The header's octets for a connection from `local` to `peer`.
    #[must_use]
    pub fn bytes(
        &self,
        local: Option<std::net::SocketAddr>,
        peer: Option<std::net::SocketAddr>,
    ) -> Vec<u8> {
        use mailwire_core::wire::proxy::ProxyHeader;
        let pick = |(ip, port): (Option<std::net::IpAddr>, Option<u16>),
                    own: Option<std::net::SocketAddr>| {
            let ip = ip.or(own.map(|a| a.ip()))?;
            let port = port.or(own.map(|a| a.port())).unwrap_or(0);
            Some(std::net::SocketAddr::new(ip, port))
        };
        let header = match (pick(self.source, local), pick(self.destination, peer)) {
            (Some(source), Some(destination)) => ProxyHeader::proxied(source, destination),
            _ => ProxyHeader::Local,
        };
        if self.version == 1 {
            header.to_v1()
        } else {
            header.to_v2()
        }
    }
}

impl Default for ClientSettings {
    fn default() -> Self {
        ClientSettings {
            client_name: None,
            tls_policy: TlsPolicy::default(),
            tls: ClientTls::default(),
            tls_policy_hook: None,
            credentials: None,
            auth_security: AuthSecurity::default(),
            queue: false,
            pipelining: true,
            timeouts: ClientTimeouts::default(),
            connect_timeout: Duration::from_secs(30),
            write_stall: Duration::from_secs(60),
            linger: Duration::from_secs(2),
            random: Arc::new(SystemRandom),
            proxy: None,
            observer: None,
            stop_after: None,
            auth_mechanisms: None,
        }
    }
}

impl std::fmt::Debug for ClientSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientSettings")
            .field("client_name", &self.client_name)
            .field("tls_policy", &self.tls_policy)
            .field("tls", &self.tls)
            .field(
                "tls_policy_hook",
                &self.tls_policy_hook.as_ref().map(|_| "<hook>"),
            )
            .field("credentials", &self.credentials)
            .field("auth_security", &self.auth_security)
            .field("queue", &self.queue)
            .field("pipelining", &self.pipelining)
            .field("timeouts", &self.timeouts)
            .field("connect_timeout", &self.connect_timeout)
            .field("write_stall", &self.write_stall)
            .field("linger", &self.linger)
            .field("proxy", &self.proxy)
            .field("observer", &self.observer.as_ref().map(|_| "<observer>"))
            .field("stop_after", &self.stop_after)
            .field("auth_mechanisms", &self.auth_mechanisms)
            .finish_non_exhaustive()
    }
}

impl ClientSettings {
    /// Sets the EHLO name.
    #[must_use]
    pub fn with_client_name(mut self, name: Domain) -> Self {
        self.client_name = Some(name);
        self
    }

    /// Sets the TLS policy.
    #[must_use]
    pub fn with_tls_policy(mut self, policy: TlsPolicy) -> Self {
        self.tls_policy = policy;
        self
    }

    /// Sets how certificates are checked.
    #[must_use]
    pub fn with_tls(mut self, tls: ClientTls) -> Self {
        self.tls = tls;
        self
    }

    /// Sets the hook that answers STARTTLS refusals.
    #[must_use]
    pub fn with_tls_policy_hook(mut self, hook: TlsPolicyHook) -> Self {
        self.tls_policy_hook = Some(hook);
        self
    }

    /// Sets the credentials for AUTH.
    #[must_use]
    pub fn with_credentials(mut self, credentials: Credentials) -> Self {
        self.credentials = Some(credentials);
        self
    }

    /// Sets when credentials may be sent.
    #[must_use]
    pub fn with_auth_security(mut self, security: AuthSecurity) -> Self {
        self.auth_security = security;
        self
    }

    /// Sets the protocol timeouts.
    #[must_use]
    pub fn with_timeouts(mut self, timeouts: ClientTimeouts) -> Self {
        self.timeouts = timeouts;
        self
    }

    /// One bound for every wait of the session, as swaks' `--timeout`:
    /// the TCP connect (and implicit TLS handshake), the greeting, each
    /// reply, the TLS handshake, the data, a stalled write; the linger
    /// after the close is at most a third of it. The default keeps RFC
    /// 5321's waits (minutes each).
    ///
    /// ```
    /// use std::time::Duration;
    /// use mailwire_driver::client::ClientSettings;
    ///
    /// let settings = ClientSettings::default().with_timeout(Duration::from_secs(30));
    /// assert_eq!(settings.timeouts.greeting, Duration::from_secs(30));
    /// assert_eq!(settings.connect_timeout, Duration::from_secs(30));
    /// ```
    #[must_use]
    pub fn with_timeout(mut self, wait: Duration) -> Self {
        self.timeouts = ClientTimeouts::all(wait);
        self.connect_timeout = wait;
        self.write_stall = wait;
        self.linger = self.linger.min(wait / 3);
        self
    }

    /// Sets the observer of the conversation (see [`Observer`]).
    #[must_use]
    pub fn with_observer(mut self, observer: Observer) -> Self {
        self.observer = Some(observer);
        self
    }

    /// Stops the session at `point` with QUIT (swaks' `--quit-after`).
    #[must_use]
    pub fn with_stop_after(mut self, point: StopPoint) -> Self {
        self.stop_after = Some(point);
        self
    }

    /// Uses only these SASL mechanisms, in this order (swaks' `--auth`).
    #[must_use]
    pub fn with_auth_mechanisms(mut self, mechanisms: Vec<Mechanism>) -> Self {
        self.auth_mechanisms = Some(mechanisms);
        self
    }

    /// Sets the connect timeout.
    #[must_use]
    pub fn with_connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Sets the random source.
    #[must_use]
    pub fn with_random(mut self, random: Arc<dyn RandomSource>) -> Self {
        self.random = random;
        self
    }
}

/// Everything [`send_message`](super::send_message) needs besides the
/// message: tcllib `smtp::sendmessage`'s options, made typed.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct SendOptions {
    /// The servers, tried in order until one is ready for mail (tcllib's
    /// `-servers`/`-ports`). Default: `localhost` port 25.
    pub servers: Vec<ServerAddress>,
    /// The connection's behaviour (client name, TLS, AUTH, timeouts, …).
    pub settings: ClientSettings,
    /// The envelope sender (`-originator`); `Some(ReversePath::Null)` sends
    /// `MAIL FROM:<>`. `None`: from `From` (or `Sender`).
    pub originator: Option<ReversePath>,
    /// The envelope recipients (`-recipients`), in place of `To` and `Cc`;
    /// the `Bcc` and `Dcc` recipients of the message and the extra headers
    /// are added to them (those fields are never transmitted). `None`:
    /// `To`, `Cc`, `Bcc` and `Dcc` of the message and the extra headers.
    pub recipients: Option<Vec<ForwardPath>>,
    /// Header fields to add (`-header`), in order; they take part in the
    /// envelope like the message's own. `Bcc` and `Dcc` are never
    /// transmitted.
    pub headers: Vec<(String, String)>,
    /// Send if at least one recipient is accepted (`-atleastone`); default:
    /// only if all are.
    pub at_least_one: bool,
    /// DSN `RET=`.
    pub dsn_ret: Option<Ret>,
    /// DSN `ENVID=`.
    pub dsn_envid: Option<String>,
    /// DSN `NOTIFY=` for every recipient.
    pub dsn_notify: Option<Notify>,
    /// REQUIRETLS (RFC 8689): send only over verified TLS to a server that
    /// offers it.
    pub requiretls: bool,
}

impl Default for SendOptions {
    fn default() -> Self {
        SendOptions {
            servers: vec![ServerAddress::new("localhost")],
            settings: ClientSettings::default(),
            originator: None,
            recipients: None,
            headers: Vec::new(),
            at_least_one: false,
            dsn_ret: None,
            dsn_envid: None,
            dsn_notify: None,
            requiretls: false,
        }
    }
}

impl SendOptions {
    /// Options for these servers, with every other default.
    #[must_use]
    pub fn new(servers: impl IntoIterator<Item = ServerAddress>) -> SendOptions {
        SendOptions {
            servers: servers.into_iter().collect(),
            ..SendOptions::default()
        }
    }

    /// Sets the connection settings.
    #[must_use]
    pub fn with_settings(mut self, settings: ClientSettings) -> Self {
        self.settings = settings;
        self
    }

    /// Sets the envelope sender.
    #[must_use]
    pub fn with_originator(mut self, originator: ReversePath) -> Self {
        self.originator = Some(originator);
        self
    }

    /// Sets the envelope recipients.
    #[must_use]
    pub fn with_recipients(mut self, recipients: impl IntoIterator<Item = ForwardPath>) -> Self {
        self.recipients = Some(recipients.into_iter().collect());
        self
    }

    /// Adds a header field.
    #[must_use]
    pub fn with_header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Sends if at least one recipient is accepted.
    #[must_use]
    pub fn with_at_least_one(mut self, yes: bool) -> Self {
        self.at_least_one = yes;
        self
    }

    /// Asks for REQUIRETLS.
    #[must_use]
    pub fn with_requiretls(mut self, yes: bool) -> Self {
        self.requiretls = yes;
        self
    }

    /// Asks for delivery status notifications (RFC 3461): `RET=`,
    /// `ENVID=` and every recipient's `NOTIFY=`. The server must offer DSN
    /// (otherwise [`SendError::Refused`](super::SendError::Refused)).
    #[must_use]
    pub fn with_dsn(
        mut self,
        ret: Option<Ret>,
        envid: Option<String>,
        notify: Option<Notify>,
    ) -> Self {
        self.dsn_ret = ret;
        self.dsn_envid = envid;
        self.dsn_notify = notify;
        self
    }
}
