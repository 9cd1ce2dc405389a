//! Whole sessions as plain data ([`Scenario`]) and proptest strategies that
//! generate them: extensions on and off, TLS and AUTH set-ups, 0–5
//! messages with hazardous bodies and awkward addresses, verdicts for every
//! step, and idle gaps around the timeouts.

use std::sync::Arc;

use mailwire_core::SeededRandom;
use mailwire_core::client::{AuthSecurity, ClientConfig, TlsPolicy};
use mailwire_core::sasl::{Credentials, Mechanism};
use mailwire_core::server::ServerConfig;
use mailwire_core::wire::dot::{BareLf, BodyPolicy};

use super::driver::Pair;
use super::net::Network;
use super::options::PairError;
use super::scripted::{MessagePlan, ScriptedClient, ScriptedServer, ServerScript};
use super::transcript::Transcript;

/// What the server does about STARTTLS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartTls {
    /// Not offered.
    Absent,
    /// Offered.
    Offered,
    /// Offered and required before mail (`530` otherwise).
    Required,
}

/// The client's TLS policy, as data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientTls {
    /// [`TlsPolicy::Disabled`].
    Disabled,
    /// [`TlsPolicy::opportunistic`] (a refusal is answered "continue").
    Opportunistic,
    /// [`TlsPolicy::required`].
    Required,
}

/// The configuration of both sides, as plain data.
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(clippy::struct_excessive_bools)]
pub struct Setup {
    /// Server: PIPELINING.
    pub pipelining: bool,
    /// Server: 8BITMIME.
    pub eight_bit_mime: bool,
    /// Server: SMTPUTF8.
    pub smtputf8: bool,
    /// Server: SIZE, and the limit (`None`: SIZE off, 10 MB limit).
    pub size_limit: Option<u64>,
    /// Server: CHUNKING.
    pub chunking: bool,
    /// Server: BINARYMIME.
    pub binary_mime: bool,
    /// Server: ENHANCEDSTATUSCODES.
    pub enhanced_status_codes: bool,
    /// Server: STARTTLS.
    pub starttls: StartTls,
    /// Server: AUTH (PLAIN, LOGIN, CRAM-MD5, SCRAM-SHA-256; plaintext
    /// allowed) for the user `user` / `pencil`, and required before mail.
    pub auth: bool,
    /// Server: most recipients per transaction (`452 4.5.3` beyond).
    pub max_recipients: usize,
    /// Server: protocol errors tolerated, and as many refused senders and
    /// recipients (counted apart).
    pub max_errors: u32,
    /// Server: refuse bare LF instead of normalising it.
    pub reject_bare_lf: bool,
    /// Client: use PIPELINING when offered.
    pub client_pipelining: bool,
    /// Client: use BDAT for 7bit/8bit bodies when CHUNKING is offered.
    pub client_chunking: bool,
    /// Client: TLS policy.
    pub client_tls: ClientTls,
    /// Client: credentials, with the right password or not.
    pub credentials: Option<bool>,
    /// Client: most recipients per SMTP transaction.
    pub max_per_transaction: Option<usize>,
    /// Both: implicit TLS from the start.
    pub implicit_tls: bool,
}

impl Default for Setup {
    /// Everything offered and used as the defaults say; no TLS, no AUTH.
    fn default() -> Self {
        Setup {
            pipelining: true,
            eight_bit_mime: true,
            smtputf8: true,
            size_limit: Some(10_240_000),
            chunking: true,
            binary_mime: true,
            enhanced_status_codes: true,
            starttls: StartTls::Absent,
            auth: false,
            max_recipients: 100,
            max_errors: 10,
            reject_bare_lf: false,
            client_pipelining: true,
            client_chunking: false,
            client_tls: ClientTls::Disabled,
            credentials: None,
            max_per_transaction: None,
            implicit_tls: false,
        }
    }
}

impl Setup {
    /// The server's configuration.
    #[must_use]
    pub fn server_config(&self) -> ServerConfig {
        let mut c = ServerConfig::new("mx.example.org", Arc::new(SeededRandom::new(11)));
        c.local_domains = vec!["example.org".into()];
        let ext = &mut c.extensions;
        ext.pipelining = self.pipelining;
        ext.eight_bit_mime = self.eight_bit_mime;
        ext.smtputf8 = self.smtputf8;
        ext.size = self.size_limit.is_some();
        ext.chunking = self.chunking;
        ext.binary_mime = self.binary_mime;
        ext.enhanced_status_codes = self.enhanced_status_codes;
        ext.starttls = self.starttls != StartTls::Absent;
        c.require_tls = self.starttls == StartTls::Required;
        if self.auth {
            c.auth_mechanisms = vec![
                Mechanism::ScramSha256,
                Mechanism::CramMd5,
                Mechanism::Plain,
                Mechanism::Login,
            ];
            c.allow_plaintext_auth = true;
            c.require_auth = true;
        }
        if let Some(limit) = self.size_limit {
            c.limits.max_message_size = Some(limit);
        }
        c.limits.max_recipients = self.max_recipients;
        c.limits.max_errors = self.max_errors;
        c.limits.max_refusals = self.max_errors;
        if self.reject_bare_lf {
            c.body_policy = BodyPolicy {
                bare_lf: BareLf::Reject,
                ..BodyPolicy::default()
            };
        }
        c
    }

    /// The client's configuration.
    ///
    /// # Panics
    ///
    /// Never: the client name is a constant.
    #[must_use]
    pub fn client_config(&self) -> ClientConfig {
        let mut c = ClientConfig::new(
            "client.example".parse().expect("a valid name"),
            Arc::new(SeededRandom::new(12)),
        );
        c.pipelining = self.client_pipelining;
        c.chunking = self.client_chunking;
        c.tls = match self.client_tls {
            ClientTls::Disabled => TlsPolicy::Disabled,
            ClientTls::Opportunistic => TlsPolicy::opportunistic(),
            ClientTls::Required => TlsPolicy::required(),
        };
        if let Some(right) = self.credentials {
            let password = if right { "pencil" } else { "crayon" };
            c.credentials = Some(Credentials::password("user", password));
            c.auth_security = AuthSecurity::Plaintext;
        }
        c.max_recipients_per_transaction = self.max_per_transaction;
        c
    }
}

/// One whole session: both configurations, the server's script and the
/// client's messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scenario {
    /// Both configurations.
    pub setup: Setup,
    /// What the server application answers.
    pub script: ServerScript,
    /// What the client application sends.
    pub messages: Vec<MessagePlan>,
}

impl Scenario {
    /// The scripted pair for this scenario over `network`.
    ///
    /// # Panics
    ///
    /// When the client configuration is refused (never for a [`Setup`]).
    #[must_use]
    pub fn pair(&self, network: Network) -> Pair<ScriptedServer, ScriptedClient> {
        let mut script = self.script.clone();
        script.users = vec![("user".into(), "pencil".into())];
        let pair = Pair::new(
            Arc::new(self.setup.server_config()),
            Arc::new(self.setup.client_config()),
            ScriptedServer::new(script),
            ScriptedClient::new(self.messages.clone()),
        )
        .expect("a valid client configuration")
        .with_network(network);
        if self.setup.implicit_tls {
            pair.with_implicit_tls()
        } else {
            pair
        }
    }

    /// Runs the scenario over `network` to the end.
    ///
    /// # Errors
    ///
    /// The [`PairError`] of the run, with the transcript so far.
    pub fn run(&self, network: Network) -> Result<Transcript, Box<RunFailure>> {
        let mut pair = self.pair(network);
        match pair.run() {
            Ok(()) => Ok(pair.into_parts().0),
            Err(error) => Err(Box::new(RunFailure {
                error,
                transcript: pair.into_parts().0,
            })),
        }
    }
}

/// A run that did not finish: why, and what happened until then.
#[derive(Debug, Clone)]
pub struct RunFailure {
    /// Why.
    pub error: PairError,
    /// The record up to the failure.
    pub transcript: Transcript,
}

impl std::fmt::Display for RunFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}\n{}", self.error, self.transcript)
    }
}

impl std::error::Error for RunFailure {}

mod strategies;

pub use strategies::*;
