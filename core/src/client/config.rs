//! [`ClientConfig`]: what a client connection does, shared as an `Arc`.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::random::RandomSource;
use crate::sasl::{Credentials, Mechanism, encode_base64};
use crate::wire::address::Domain;
use crate::wire::reply::ReplyLimits;

/// How the client treats TLS (RFC 3207 STARTTLS).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TlsPolicy {
    /// STARTTLS must be offered and succeed (or TLS is already on), and the
    /// server's certificate must verify. Otherwise the connection closes
    /// before anything else is sent (no HELO fallback, no plaintext).
    Required {
        /// Accept a certificate that did not verify (self-signed test
        /// servers). Credentials are still withheld unless
        /// [`AuthSecurity::AnyTls`] or weaker is configured.
        accept_invalid_certs: bool,
    },
    /// STARTTLS whenever the server offers it, without requiring a valid
    /// certificate (RFC 7435); the outcome records whether it verified.
    /// When the server does not offer STARTTLS the session goes on in
    /// plaintext; when it *refuses* STARTTLS, `on_refused` decides.
    Opportunistic {
        /// What to do when STARTTLS is refused.
        on_refused: StartTlsRefused,
    },
    /// Never STARTTLS.
    Disabled,
}

impl TlsPolicy {
    /// [`TlsPolicy::Required`] with certificate verification.
    #[must_use]
    pub const fn required() -> TlsPolicy {
        TlsPolicy::Required {
            accept_invalid_certs: false,
        }
    }

    /// [`TlsPolicy::Opportunistic`] that asks the application
    /// ([`StartTlsRefused::Ask`]) when STARTTLS is refused.
    #[must_use]
    pub const fn opportunistic() -> TlsPolicy {
        TlsPolicy::Opportunistic {
            on_refused: StartTlsRefused::Ask,
        }
    }
}

impl Default for TlsPolicy {
    /// [`TlsPolicy::opportunistic`].
    fn default() -> Self {
        TlsPolicy::opportunistic()
    }
}

/// What an opportunistic client does when the server answers STARTTLS with
/// anything but 220 (tcllib's `-tlspolicy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum StartTlsRefused {
    /// Emit [`ClientEvent::TlsPolicyRequest`](super::ClientEvent::TlsPolicyRequest)
    /// and wait for [`decide_plaintext`](super::ClientConnection::decide_plaintext).
    #[default]
    Ask,
    /// Go on in plaintext.
    Continue,
    /// Quit and close this connection (the driver may try another server).
    Abandon,
}

/// When the client may send credentials (AUTH).
///
/// A STARTTLS-stripping attacker can make any server look like one without
/// TLS; the default therefore authenticates only over TLS whose certificate
/// verified (or implicit TLS that verified).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum AuthSecurity {
    /// Only over TLS with a verified server certificate (default).
    #[default]
    VerifiedTls,
    /// Over any TLS session, verified or not.
    AnyTls,
    /// Also in plaintext (test setups and trusted networks only).
    Plaintext,
}

/// The waits of RFC 5321 §4.5.3.2, and the client's own deadlines (the
/// server's are [`ServerTimeouts`](crate::server::ServerTimeouts)).
///
/// Each command's wait starts when it becomes the oldest command awaiting a
/// reply. A timeout closes the connection with
/// [`CloseKind::Timeout`](super::CloseKind::Timeout) and the phase.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct ClientTimeouts {
    /// The greeting: 5 minutes.
    pub greeting: Duration,
    /// EHLO, HELO, STARTTLS, each AUTH step and QUED: 5 minutes.
    pub hello: Duration,
    /// MAIL: 5 minutes.
    pub mail: Duration,
    /// Each RCPT: 5 minutes.
    pub rcpt: Duration,
    /// DATA (the 354): 2 minutes.
    pub data_init: Duration,
    /// A data block: the application's pause between two body chunks, and
    /// the reply to a BDAT chunk that is not the last: 3 minutes.
    pub data_block: Duration,
    /// The reply to the final dot or to `BDAT … LAST`: 10 minutes.
    pub data_termination: Duration,
    /// RSET: 2 minutes.
    pub rset: Duration,
    /// QUIT: 2 minutes.
    pub quit: Duration,
    /// The TLS handshake, from [`Action::StartTls`](crate::Action::StartTls)
    /// to `tls_established`: 1 minute.
    pub tls_handshake: Duration,
    /// The application's answer to a
    /// [`TlsPolicyRequest`](super::ClientEvent::TlsPolicyRequest):
    /// 1 minute.
    pub decision: Duration,
}

impl Default for ClientTimeouts {
    fn default() -> Self {
        const MIN: u64 = 60;
        ClientTimeouts {
            greeting: Duration::from_secs(5 * MIN),
            hello: Duration::from_secs(5 * MIN),
            mail: Duration::from_secs(5 * MIN),
            rcpt: Duration::from_secs(5 * MIN),
            data_init: Duration::from_secs(2 * MIN),
            data_block: Duration::from_secs(3 * MIN),
            data_termination: Duration::from_secs(10 * MIN),
            rset: Duration::from_secs(2 * MIN),
            quit: Duration::from_secs(2 * MIN),
            tls_handshake: Duration::from_secs(MIN),
            decision: Duration::from_secs(MIN),
        }
    }
}

impl ClientTimeouts {
    /// Every wait set to `wait` (swaks' `--timeout`: one bound for the
    /// greeting, each reply, the TLS handshake and the data).
    #[must_use]
    pub fn all(wait: Duration) -> ClientTimeouts {
        ClientTimeouts {
            greeting: wait,
            hello: wait,
            mail: wait,
            rcpt: wait,
            data_init: wait,
            data_block: wait,
            data_termination: wait,
            rset: wait,
            quit: wait,
            tls_handshake: wait,
            decision: wait,
        }
    }
}

/// Makes the SASL client nonce (SCRAM's client nonce, DIGEST-MD5's
/// `cnonce`) for a mechanism. Only for tests against published vectors:
/// the default draws 24 octets from the configured [`RandomSource`].
pub type NonceHook = Arc<dyn Fn(Mechanism) -> String + Send + Sync>;

/// The client's configuration, shared by its connections as an `Arc`.
///
/// Build it with [`ClientConfig::new`] and adjust the public fields (or use
/// the `with_*` methods). It is checked when a connection is created
/// ([`ClientConnection::new`](super::ClientConnection::new)).
#[derive(Clone)]
#[non_exhaustive]
pub struct ClientConfig {
    /// The name sent in EHLO/HELO: a domain or an address literal, ASCII.
    pub client_name: Domain,
    /// STARTTLS policy.
    pub tls: TlsPolicy,
    /// Credentials for AUTH. When set, the session authenticates before it
    /// is ready, or closes: it never goes on unauthenticated.
    pub credentials: Option<Credentials>,
    /// SASL mechanisms in order of preference (strongest first). Default:
    /// XOAUTH2 (used only with a token), SCRAM-SHA-256, CRAM-MD5,
    /// DIGEST-MD5, LOGIN, PLAIN.
    pub auth_mechanisms: Vec<Mechanism>,
    /// When credentials may be sent.
    pub auth_security: AuthSecurity,
    /// Use PIPELINING (RFC 2920) when the server offers it (default yes).
    pub pipelining: bool,
    /// Send 7bit and 8bit bodies with BDAT when the server offers CHUNKING
    /// (default no: DATA). BINARYMIME bodies always go by BDAT.
    pub chunking: bool,
    /// Send `QUED` when the server advertises `XQUE` (tcllib's `-queue`).
    pub queue: bool,
    /// The most recipients in one SMTP transaction; the rest go in further
    /// transactions on the same connection. `None`: no limit of our own.
    pub max_recipients_per_transaction: Option<usize>,
    /// Waits and deadlines.
    pub timeouts: ClientTimeouts,
    /// Caps on each reply (line length, line count, total size).
    pub reply_limits: ReplyLimits,
    /// Body octets the connection holds for the driver (queued in
    /// `Send` actions not yet taken) before
    /// [`wants_body`](super::ClientConnection::wants_body) turns false.
    pub body_buffer: usize,
    /// The most BDAT chunks awaiting their reply under PIPELINING (without
    /// PIPELINING it is one).
    pub max_bdat_in_flight: usize,
    /// Random octets for SASL nonces.
    pub random: Arc<dyn RandomSource>,
    /// Overrides how SASL nonces are made (tests with published vectors).
    pub sasl_nonce: Option<NonceHook>,
    /// The service name in DIGEST-MD5's `digest-uri` (default `smtp`).
    pub sasl_service: String,
    /// Stop the session on purpose there, with QUIT (swaks'
    /// `--quit-after`). Default: none.
    pub stop_after: Option<super::StopPoint>,
}

impl ClientConfig {
    /// The defaults, with this EHLO name and random source.
    #[must_use]
    pub fn new(client_name: Domain, random: Arc<dyn RandomSource>) -> ClientConfig {
        ClientConfig {
            client_name,
            tls: TlsPolicy::default(),
            credentials: None,
            auth_mechanisms: vec![
                Mechanism::XOAuth2,
                Mechanism::ScramSha256,
                Mechanism::CramMd5,
                Mechanism::DigestMd5,
                Mechanism::Login,
                Mechanism::Plain,
            ],
            auth_security: AuthSecurity::default(),
            pipelining: true,
            chunking: false,
            queue: false,
            max_recipients_per_transaction: None,
            timeouts: ClientTimeouts::default(),
            reply_limits: ReplyLimits::default(),
            body_buffer: 64 * 1024,
            max_bdat_in_flight: 8,
            random,
            sasl_nonce: None,
            sasl_service: "smtp".to_owned(),
            stop_after: None,
        }
    }

    /// Sets the TLS policy.
    #[must_use]
    pub fn with_tls(mut self, tls: TlsPolicy) -> ClientConfig {
        self.tls = tls;
        self
    }

    /// Sets the credentials for AUTH.
    #[must_use]
    pub fn with_credentials(mut self, credentials: Credentials) -> ClientConfig {
        self.credentials = Some(credentials);
        self
    }

    /// Sets when credentials may be sent.
    #[must_use]
    pub fn with_auth_security(mut self, security: AuthSecurity) -> ClientConfig {
        self.auth_security = security;
        self
    }

    /// Sets the timeouts.
    #[must_use]
    pub fn with_timeouts(mut self, timeouts: ClientTimeouts) -> ClientConfig {
        self.timeouts = timeouts;
        self
    }

    /// The SASL nonce for `mechanism`: the hook's, or 24 random octets in
    /// base64.
    pub(crate) fn nonce(&self, mechanism: Mechanism) -> String {
        if let Some(hook) = &self.sasl_nonce {
            return hook(mechanism);
        }
        let mut bytes = [0u8; 24];
        self.random.fill(&mut bytes);
        encode_base64(&bytes)
    }
}

impl fmt::Debug for ClientConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientConfig")
            .field("client_name", &self.client_name)
            .field("stop_after", &self.stop_after)
            .field("tls", &self.tls)
            .field("credentials", &self.credentials)
            .field("auth_mechanisms", &self.auth_mechanisms)
            .field("auth_security", &self.auth_security)
            .field("pipelining", &self.pipelining)
            .field("chunking", &self.chunking)
            .field("queue", &self.queue)
            .field(
                "max_recipients_per_transaction",
                &self.max_recipients_per_transaction,
            )
            .field("timeouts", &self.timeouts)
            .field("reply_limits", &self.reply_limits)
            .field("body_buffer", &self.body_buffer)
            .field("max_bdat_in_flight", &self.max_bdat_in_flight)
            .field("sasl_nonce", &self.sasl_nonce.as_ref().map(|_| "<hook>"))
            .field("sasl_service", &self.sasl_service)
            .finish_non_exhaustive()
    }
}

/// The facts about one connection that the driver knows before it starts.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct ClientSession {
    /// The server's host name as the application named it: sent as SNI by
    /// the driver, and the host of DIGEST-MD5's `digest-uri`.
    pub server_name: String,
    /// Implicit TLS (port 465): the handshake is done and these are its
    /// facts. No STARTTLS is attempted.
    pub implicit_tls: Option<crate::TlsInfo>,
}

impl ClientSession {
    /// A plaintext connection to `server_name`.
    #[must_use]
    pub fn new(server_name: impl Into<String>) -> ClientSession {
        ClientSession {
            server_name: server_name.into(),
            implicit_tls: None,
        }
    }

    /// The connection is already inside TLS (implicit TLS).
    #[must_use]
    pub fn with_implicit_tls(mut self, info: crate::TlsInfo) -> ClientSession {
        self.implicit_tls = Some(info);
        self
    }
}
