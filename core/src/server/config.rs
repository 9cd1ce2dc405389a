//! [`ServerConfig`]: what a server offers, allows and waits for, shared by
//! every connection as an `Arc`.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::random::RandomSource;
use crate::sasl::{Mechanism, encode_base64};
use crate::wire::dot::BodyPolicy;
use crate::wire::line::{DEFAULT_MAX_LINE, SASL_MAX_LINE};
use crate::wire::reply::Reply;

use super::replies;

/// The service extensions a server may advertise in its EHLO reply.
///
/// Each flag turns one extension on or off; a few depend on others, and the
/// connection enforces that when it advertises them:
///
/// * `SMTPUTF8` is only offered together with `8BITMIME`;
/// * `BINARYMIME` only together with `CHUNKING`;
/// * `STARTTLS` only before TLS (and never on an implicit-TLS session);
/// * `REQUIRETLS` only once TLS is on.
///
/// `AUTH` is not here: it is advertised when
/// [`ServerConfig::auth_mechanisms`] offers a mechanism usable on the session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Extensions {
    /// `PIPELINING` (RFC 2920). Default on.
    pub pipelining: bool,
    /// `8BITMIME` (RFC 6152). Default on.
    pub eight_bit_mime: bool,
    /// `SMTPUTF8` (RFC 6531). Default on (needs `eight_bit_mime`).
    pub smtputf8: bool,
    /// `SIZE` (RFC 1870), announcing [`Limits::max_message_size`]. Default on.
    pub size: bool,
    /// `CHUNKING`: the BDAT command (RFC 3030). Default on.
    pub chunking: bool,
    /// `BINARYMIME` (RFC 3030). Default on (needs `chunking`).
    pub binary_mime: bool,
    /// `DSN` (RFC 3461): the `RET`, `ENVID`, `NOTIFY` and `ORCPT`
    /// parameters are accepted and handed to the application. Default on.
    pub dsn: bool,
    /// `ENHANCEDSTATUSCODES` (RFC 2034): replies carry `X.Y.Z` codes.
    /// Default on. When off (or in a HELO session) the core strips enhanced
    /// codes from every reply, the application's verdicts included.
    pub enhanced_status_codes: bool,
    /// `STARTTLS` (RFC 3207). Default **off**: turn it on only when the
    /// driver has a certificate to answer [`Action::StartTls`](crate::Action::StartTls) with.
    pub starttls: bool,
    /// `REQUIRETLS` (RFC 8689), advertised over TLS only. Default off.
    pub requiretls: bool,
}

impl Default for Extensions {
    fn default() -> Self {
        Extensions {
            pipelining: true,
            eight_bit_mime: true,
            smtputf8: true,
            size: true,
            chunking: true,
            binary_mime: true,
            dsn: true,
            enhanced_status_codes: true,
            starttls: false,
            requiretls: false,
        }
    }
}

/// Size and count limits. Every buffer that holds peer input is bounded by
/// one of these.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Limits {
    /// Longest command line, CRLF included (RFC 5321 §4.5.3.1.4: 512).
    /// A longer line is answered `500 5.5.2` as soon as the limit is passed
    /// (without waiting for its end), the rest of it is read and dropped
    /// (up to [`max_discard`](Self::max_discard)), and the session
    /// continues with the next line.
    pub max_line: usize,
    /// Longest SASL response line during an AUTH exchange (RFC 4954 §4:
    /// 12,288). Longer lines are answered `500 5.5.6`, the same way.
    pub max_sasl_line: usize,
    /// Most octets read and thrown away for one over-long line or one
    /// refused BDAT chunk. An over-long line that goes on past it, or a
    /// refused chunk announced larger than it, gets its reply and then
    /// `421 4.7.0`, and the session closes
    /// ([`CloseKind::DiscardLimit`](super::CloseKind::DiscardLimit)).
    /// Default 1 MiB.
    pub max_discard: usize,
    /// Most accepted recipients per transaction (RFC 5321 §4.5.3.1.8: at
    /// least 100); more are answered `452 4.5.3`, which is counted neither
    /// as an error nor as a refusal (the client sends them again in another
    /// transaction).
    pub max_recipients: usize,
    /// Largest message in octets (as delivered, after dot-unstuffing), or
    /// `None` for no limit. Advertised with `SIZE`; a larger declared size
    /// is refused at MAIL, a larger DATA body with `552 5.3.4` at its end,
    /// and a BDAT chunk that would pass it with `552 5.3.4` at once (its
    /// octets are then read and dropped). Default 10,240,000 (Postfix's
    /// default).
    pub max_message_size: Option<u64>,
    /// Protocol errors tolerated per session: unknown, malformed and
    /// over-long commands, commands out of sequence, commands refused by
    /// [`ServerConfig::require_tls`] or [`ServerConfig::require_auth`]. The
    /// `max_errors`-th gets its reply, then `421 4.7.0`, and the session
    /// closes. Reset when a message is accepted. Default 10.
    pub max_errors: u32,
    /// Senders and recipients the application refused (a refusing
    /// [`Verdict`](super::Verdict) to a
    /// [`MailRequest`](super::ServerEvent::MailRequest) or
    /// [`RcptRequest`](super::ServerEvent::RcptRequest)) tolerated per
    /// session, counted apart from [`max_errors`](Self::max_errors): the
    /// `max_refusals`-th gets its reply, then `421 4.7.0`, and the session
    /// closes. Reset when a message is accepted. Default 100.
    pub max_refusals: u32,
    /// Failed AUTH exchanges tolerated per session: the `max_auth_failures`-th
    /// gets its reply, then `421 4.7.0`, and the session closes. Default 3.
    pub max_auth_failures: u32,
    /// After the application refused the connecting host, how many commands
    /// are answered `503 5.5.1` before the session is closed with `421`.
    /// Default 3.
    pub max_refused_host_commands: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_line: DEFAULT_MAX_LINE,
            max_sasl_line: SASL_MAX_LINE,
            max_recipients: 100,
            max_message_size: Some(10_240_000),
            max_discard: 1 << 20,
            max_errors: 10,
            max_refusals: 100,
            max_auth_failures: 3,
            max_refused_host_commands: 3,
        }
    }
}

/// The server's deadlines, all owned by the core (RFC 5321 §4.5.3.2
/// defaults); the client's are [`ClientTimeouts`](crate::client::ClientTimeouts).
///
/// While a decision is pending only [`decision`](Self::decision) runs;
/// the peer timers (`command`, `data`) restart when the decision is made,
/// while the caps (`transfer`, `session`) are absolute and fire at the next
/// chance once they have passed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct ServerTimeouts {
    /// Waiting for a command (or a SASL response): 5 minutes. The wait
    /// starts when the server is ready for the next command (after its
    /// reply to the previous one) and the whole line must arrive within it:
    /// a partial line does not restart it, so a peer dripping one byte at a
    /// time cannot hold a session.
    pub command: Duration,
    /// Waiting for more message data (DATA body or BDAT chunk): 5 minutes.
    /// Restarted by every input.
    pub data: Duration,
    /// Cap on one whole message transfer, from the 354 (or the first BDAT)
    /// to the end of the data: 10 minutes. A peer that drips one byte
    /// every few minutes cannot hold a message open for ever.
    pub transfer: Duration,
    /// Cap on a whole session: 30 minutes.
    pub session: Duration,
    /// How long the application may take over one decision: 60 seconds.
    /// When it passes the step is answered `451 4.3.0` (a pending
    /// [`ConnectRequest`](super::ServerEvent::ConnectRequest) closes with
    /// `421`).
    pub decision: Duration,
    /// From [`Action::StartTls`](crate::Action::StartTls) to
    /// `tls_established`: 60 seconds; then the connection closes.
    pub tls_handshake: Duration,
}

impl Default for ServerTimeouts {
    fn default() -> Self {
        ServerTimeouts {
            command: Duration::from_secs(300),
            data: Duration::from_secs(300),
            transfer: Duration::from_secs(600),
            session: Duration::from_secs(1800),
            decision: Duration::from_secs(60),
            tls_handshake: Duration::from_secs(60),
        }
    }
}

/// A function that makes the server's part of a SASL nonce (see
/// [`NonceSource::Custom`]).
pub type NonceFn = dyn Fn(&dyn RandomSource) -> String + Send + Sync;

/// Where the server's SASL nonces (CRAM-MD5 challenge, SCRAM and
/// DIGEST-MD5 server nonces) come from.
#[derive(Clone, Default)]
#[non_exhaustive]
pub enum NonceSource {
    /// 18 octets from [`ServerConfig::random`], base64-encoded (the default).
    #[default]
    Random,
    /// A function of the random source. Meant for tests that replay
    /// published vectors (a fixed nonce); never use a predictable nonce in
    /// production. The text must be 1 to 256 of `!`..`~` other than `,`,
    /// `"` and `\`, or the exchange fails with `454 4.7.0`.
    Custom(Arc<NonceFn>),
}

impl NonceSource {
    /// A source that always yields `nonce` (tests only: see
    /// [`NonceSource::Custom`]).
    #[must_use]
    pub fn fixed(nonce: impl Into<String>) -> NonceSource {
        let nonce = nonce.into();
        NonceSource::Custom(Arc::new(move |_: &dyn RandomSource| nonce.clone()))
    }

    /// A fresh nonce.
    pub(crate) fn make(&self, random: &dyn RandomSource) -> String {
        match self {
            NonceSource::Random => {
                let mut bytes = [0u8; 18];
                random.fill(&mut bytes);
                encode_base64(&bytes)
            }
            NonceSource::Custom(f) => f(random),
        }
    }
}

impl fmt::Debug for NonceSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NonceSource::Random => f.write_str("Random"),
            NonceSource::Custom(_) => f.write_str("Custom(..)"),
        }
    }
}

/// The configuration of a server, shared by all its connections
/// (`Arc<ServerConfig>`).
///
/// Build it with [`ServerConfig::new`] (the host name and the random source
/// are required), then set the public fields:
///
/// ```
/// use std::sync::Arc;
/// use mailwire_core::SeededRandom;
/// use mailwire_core::sasl::Mechanism;
/// use mailwire_core::server::ServerConfig;
///
/// // Drivers pass an operating-system random source; tests a seeded one.
/// let mut config = ServerConfig::new("mx.example.org", Arc::new(SeededRandom::new(1)));
/// config.banner = "mailwire".into();
/// config.extensions.starttls = true;
/// config.auth_mechanisms = vec![Mechanism::ScramSha256, Mechanism::Plain];
/// config.limits.max_recipients = 50;
/// let config = Arc::new(config);
/// # let _ = config;
/// ```
#[derive(Clone)]
#[non_exhaustive]
pub struct ServerConfig {
    /// The server's host name: first word of the greeting and of the EHLO
    /// reply, CRAM-MD5's challenge domain.
    pub domain: String,
    /// Text after `ESMTP` in the greeting: `220 <domain> ESMTP <banner>`.
    /// Default `mailwire`.
    pub banner: String,
    /// Extensions to advertise.
    pub extensions: Extensions,
    /// SASL mechanisms to offer, in this order (default none: AUTH is not
    /// advertised). XOAUTH2 has no server role and is ignored. PLAIN and
    /// LOGIN are offered only under TLS unless
    /// [`allow_plaintext_auth`](Self::allow_plaintext_auth).
    pub auth_mechanisms: Vec<Mechanism>,
    /// Offer and accept PLAIN and LOGIN without TLS (default false; tried
    /// anyway, they are answered `538 5.7.11`).
    pub allow_plaintext_auth: bool,
    /// Before TLS, answer every command but NOOP, EHLO, HELO, STARTTLS,
    /// RSET and QUIT with `530 5.7.0` (RFC 3207 §4). Default false.
    pub require_tls: bool,
    /// Before a successful AUTH, answer every command but AUTH, EHLO, HELO,
    /// NOOP, RSET, QUIT and STARTTLS with `530 5.7.0`. Default false.
    pub require_auth: bool,
    /// Domains whose `postmaster` is always an acceptable recipient (RFC
    /// 5321 §4.5.1), besides the bare `<Postmaster>`. Compared ASCII
    /// case-insensitively. Add your own domains here.
    pub local_domains: Vec<String>,
    /// Hand MAIL/RCPT parameters this crate does not know to the application
    /// (in `params.unknown`) instead of answering `555 5.5.4`. Default false.
    pub pass_unknown_params: bool,
    /// The reply to VRFY (default `252 2.0.0`: cannot verify, will try).
    pub vrfy_reply: Reply,
    /// The reply to EXPN (default `502 5.5.1`: not implemented).
    pub expn_reply: Reply,
    /// Size and count limits.
    pub limits: Limits,
    /// Bare LF, bare CR and line length in DATA bodies (and, except the line
    /// length, in 7BIT/8BITMIME BDAT bodies). Default: bare LF normalised
    /// to CRLF, bare CR kept as data, no line length limit.
    pub body_policy: BodyPolicy,
    /// Deadlines.
    pub timeouts: ServerTimeouts,
    /// The only source of randomness the connections use (SASL nonces, the
    /// key behind SCRAM's answers for unknown users). Drivers pass an
    /// operating-system source; tests a [`SeededRandom`](crate::SeededRandom).
    pub random: Arc<dyn RandomSource>,
    /// Where SASL nonces come from (default: [`random`](Self::random)).
    pub sasl_nonce: NonceSource,
    /// Server-wide key for SCRAM's mock credentials (unknown users), drawn
    /// from `random` at construction.
    scram_mock_key: [u8; 32],
}

impl ServerConfig {
    /// A configuration with the defaults described on each field, for the
    /// host `domain`, drawing randomness from `random`.
    pub fn new(domain: impl Into<String>, random: Arc<dyn RandomSource>) -> ServerConfig {
        let mut scram_mock_key = [0u8; 32];
        random.fill(&mut scram_mock_key);
        ServerConfig {
            domain: domain.into(),
            banner: "mailwire".to_owned(),
            extensions: Extensions::default(),
            auth_mechanisms: Vec::new(),
            allow_plaintext_auth: false,
            require_tls: false,
            require_auth: false,
            local_domains: Vec::new(),
            pass_unknown_params: false,
            vrfy_reply: replies::vrfy_default(),
            expn_reply: replies::expn_default(),
            limits: Limits::default(),
            body_policy: BodyPolicy::default(),
            timeouts: ServerTimeouts::default(),
            random,
            sasl_nonce: NonceSource::Random,
            scram_mock_key,
        }
    }

    /// The mechanisms offered on a session with (`tls`) or without TLS, in
    /// configured order, without repeats and without XOAUTH2.
    #[must_use]
    pub fn offered_mechanisms(&self, tls: bool) -> Vec<Mechanism> {
        let mut offered: Vec<Mechanism> = Vec::new();
        for &m in &self.auth_mechanisms {
            let usable = m.server_supported()
                && (tls || self.allow_plaintext_auth || !m.sends_plaintext_password());
            if usable && !offered.contains(&m) {
                offered.push(m);
            }
        }
        offered
    }

    /// Whether `domain` is one of [`local_domains`](Self::local_domains).
    #[must_use]
    pub fn is_local_domain(&self, domain: &str) -> bool {
        self.local_domains
            .iter()
            .any(|d| d.eq_ignore_ascii_case(domain))
    }

    pub(crate) fn scram_mock_key(&self) -> &[u8; 32] {
        &self.scram_mock_key
    }
}

impl fmt::Debug for ServerConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerConfig")
            .field("domain", &self.domain)
            .field("banner", &self.banner)
            .field("extensions", &self.extensions)
            .field("auth_mechanisms", &self.auth_mechanisms)
            .field("allow_plaintext_auth", &self.allow_plaintext_auth)
            .field("require_tls", &self.require_tls)
            .field("require_auth", &self.require_auth)
            .field("local_domains", &self.local_domains)
            .field("pass_unknown_params", &self.pass_unknown_params)
            .field("vrfy_reply", &self.vrfy_reply)
            .field("expn_reply", &self.expn_reply)
            .field("limits", &self.limits)
            .field("body_policy", &self.body_policy)
            .field("timeouts", &self.timeouts)
            .field("sasl_nonce", &self.sasl_nonce)
            .finish_non_exhaustive()
    }
}
