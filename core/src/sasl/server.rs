//! The server role: [`ServerMechanism`], its [`ServerContext`], the
//! [`ServerStep`]s it returns and the [`StoredSecret`]s it accepts.

use std::fmt;

use super::codec::{check_len, is_token_text};
use super::{
    MAX_MESSAGE_LEN, Mechanism, SaslError, ScramCredentials, SecretString, cram_md5,
    digest_md5_server, login, plain, scram_server,
};

/// The facts a server mechanism needs.
#[derive(Debug, Clone)]
pub struct ServerContext {
    nonce: String,
    hostname: String,
    service: String,
}

impl ServerContext {
    /// A context with a fresh random `nonce` and the server's `hostname`.
    ///
    /// The nonce is SCRAM's server nonce, DIGEST-MD5's `nonce` and the
    /// unique part of CRAM-MD5's challenge `<nonce@hostname>`: draw at least
    /// 18 random octets and encode them as base64 or hex (1 to 256 of
    /// `!`..`~` other than `,`, `"` and `\`). Never reuse one. The host name
    /// is also DIGEST-MD5's realm.
    pub fn new(nonce: impl Into<String>, hostname: impl Into<String>) -> ServerContext {
        ServerContext {
            nonce: nonce.into(),
            hostname: hostname.into(),
            service: "smtp".to_owned(),
        }
    }

    /// The service DIGEST-MD5's `digest-uri` must name (default `smtp`).
    #[must_use]
    pub fn with_service(mut self, service: impl Into<String>) -> ServerContext {
        self.service = service.into();
        self
    }
}

/// What the server does next.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
#[must_use]
pub enum ServerStep {
    /// Send this challenge as `334 <base64>` (an empty one as `334 `) and
    /// pass the client's answer to [`ServerMechanism::step`].
    Challenge(Vec<u8>),
    /// PLAIN and LOGIN: the application checks the password (and whether
    /// `username` may act as `authzid`) and answers `235 2.7.0` or
    /// `535 5.7.8`. The mechanism is finished.
    VerifyPassword {
        /// The identity to act as, if the client asked for one.
        authzid: Option<String>,
        /// The authentication identity.
        username: String,
        /// The password (redacted in `Debug`).
        password: SecretString,
    },
    /// CRAM-MD5, DIGEST-MD5, SCRAM-SHA-256: look up the user's stored secret
    /// and pass it to [`ServerMechanism::supply`]. For an unknown user,
    /// supply [`ScramCredentials::mock`] (SCRAM) or any password, so that
    /// the exchange fails at its end like a wrong password does.
    NeedSecret {
        /// The identity to act as, if the client asked for one.
        authzid: Option<String>,
        /// The authentication identity.
        username: String,
    },
    /// The client proved it knows the secret. The application still decides
    /// whether `username` may act as `authzid`, then answers `235 2.7.0` (or
    /// `535 5.7.8`). The mechanism is finished.
    Success {
        /// The identity to act as, if the client asked for one.
        authzid: Option<String>,
        /// The authentication identity.
        username: String,
    },
    /// Wrong credentials (or a channel-binding request this server cannot
    /// serve): answer `535 5.7.8`. The mechanism is finished.
    Failure,
}

/// What the application stores for a user, supplied on
/// [`ServerStep::NeedSecret`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum StoredSecret {
    /// The password itself: serves every mechanism. For SCRAM-SHA-256 the
    /// server derives credentials from it with a salt derived from the host
    /// name and user name and [`SCRAM_DEFAULT_ITERATIONS`](super::SCRAM_DEFAULT_ITERATIONS)
    /// iterations, running PBKDF2 on every attempt.
    Password(SecretString),
    /// SCRAM-SHA-256 credentials: serve SCRAM-SHA-256 only.
    Scram(ScramCredentials),
    /// Whatever proof the client gives is accepted: for a test server or
    /// catcher that takes any user name and password. Serves CRAM-MD5
    /// (PLAIN and LOGIN never ask for a secret); DIGEST-MD5 and SCRAM-SHA-256
    /// must prove the server knows the password, so they fail with it.
    AnyProof,
}

impl StoredSecret {
    /// A stored password.
    pub fn password(password: impl Into<String>) -> StoredSecret {
        StoredSecret::Password(SecretString::new(password))
    }
}

/// The server side of one SASL exchange.
///
/// 1. On `AUTH <name> [ir]`, build it with [`new`](Self::new) (an
///    unsupported name is `504 5.5.4`) and call [`start`](Self::start) with
///    the decoded initial response (`Some(b"")` for `=`).
/// 2. Act on each [`ServerStep`]: send a challenge and pass the decoded
///    answer to [`step`](Self::step); answer [`ServerStep::NeedSecret`] with
///    [`supply`](Self::supply); end on the others.
/// 3. A `*` answer cancels (`501 5.0.0`): drop the mechanism.
///
/// Any `Err` ends the exchange (see [`SaslError`] for the replies); every
/// call after the end returns [`SaslError::BadState`]. `Debug` shows the
/// mechanism only.
pub struct ServerMechanism {
    mechanism: Mechanism,
    inner: Inner,
    state: State,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    New,
    AwaitResponse,
    AwaitSecret,
    Done,
}

enum Inner {
    Plain(plain::Server),
    Login(login::Server),
    CramMd5(cram_md5::Server),
    DigestMd5(digest_md5_server::Server),
    Scram(scram_server::Server),
}

impl ServerMechanism {
    /// Prepares the server side of `mechanism`.
    ///
    /// Errors: [`SaslError::UnsupportedMechanism`] for XOAUTH2 (see
    /// [`Mechanism::server_supported`]); [`SaslError::InvalidNonce`] when
    /// CRAM-MD5, DIGEST-MD5 or SCRAM-SHA-256 get an unusable nonce, host
    /// name or service.
    pub fn new(mechanism: Mechanism, context: ServerContext) -> Result<ServerMechanism, SaslError> {
        let ServerContext {
            nonce,
            hostname,
            service,
        } = &context;
        let needs_nonce = matches!(
            mechanism,
            Mechanism::CramMd5 | Mechanism::DigestMd5 | Mechanism::ScramSha256
        );
        let service_ok = !service.is_empty()
            && service
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-');
        if needs_nonce && !(is_token_text(nonce) && is_token_text(hostname) && service_ok) {
            return Err(SaslError::InvalidNonce);
        }
        let inner = match mechanism {
            Mechanism::Plain => Inner::Plain(plain::Server::new()),
            Mechanism::Login => Inner::Login(login::Server::new()),
            Mechanism::CramMd5 => Inner::CramMd5(cram_md5::Server::new(nonce, hostname)),
            Mechanism::DigestMd5 => {
                Inner::DigestMd5(digest_md5_server::Server::new(nonce, hostname, service))
            }
            Mechanism::ScramSha256 => Inner::Scram(scram_server::Server::new(nonce, hostname)),
            Mechanism::XOAuth2 => return Err(SaslError::UnsupportedMechanism),
        };
        Ok(ServerMechanism {
            mechanism,
            inner,
            state: State::New,
        })
    }

    /// The mechanism.
    #[must_use]
    pub fn mechanism(&self) -> Mechanism {
        self.mechanism
    }

    /// Whether the exchange has ended (a final step or an error).
    #[must_use]
    pub fn is_done(&self) -> bool {
        self.state == State::Done
    }

    /// Starts the exchange with `AUTH`'s decoded initial response, if any.
    pub fn start(&mut self, initial_response: Option<&[u8]>) -> Result<ServerStep, SaslError> {
        if self.state != State::New {
            return Err(SaslError::BadState);
        }
        let result = match initial_response {
            Some(message) if message.len() > MAX_MESSAGE_LEN => Err(SaslError::TooLong),
            _ => match &mut self.inner {
                Inner::Plain(m) => m.start(initial_response),
                Inner::Login(m) => m.start(initial_response),
                Inner::CramMd5(m) => m.start(initial_response),
                Inner::DigestMd5(m) => m.start(initial_response),
                Inner::Scram(m) => m.start(initial_response),
            },
        };
        self.after(result)
    }

    /// Takes the client's decoded answer to the last challenge.
    pub fn step(&mut self, response: &[u8]) -> Result<ServerStep, SaslError> {
        if self.state != State::AwaitResponse {
            return Err(self.misuse());
        }
        let result = check_len(response, MAX_MESSAGE_LEN).and_then(|()| match &mut self.inner {
            Inner::Plain(m) => m.step(response),
            Inner::Login(m) => m.step(response),
            Inner::CramMd5(m) => m.step(response),
            Inner::DigestMd5(m) => m.step(response),
            Inner::Scram(m) => m.step(response),
        });
        self.after(result)
    }

    /// The application's answer to [`ServerStep::NeedSecret`].
    ///
    /// Errors: [`SaslError::UnsuitableSecret`] when the secret cannot serve
    /// the mechanism (CRAM-MD5 and DIGEST-MD5 need the password);
    /// [`SaslError::BadState`] when no secret was asked for.
    pub fn supply(&mut self, secret: StoredSecret) -> Result<ServerStep, SaslError> {
        if self.state != State::AwaitSecret {
            return Err(self.misuse());
        }
        let result = match &mut self.inner {
            Inner::CramMd5(m) => m.supply(secret),
            Inner::DigestMd5(m) => m.supply(secret),
            Inner::Scram(m) => m.supply(secret),
            Inner::Plain(_) | Inner::Login(_) => Err(SaslError::BadState),
        };
        self.after(result)
    }

    /// A call out of order ends the exchange.
    fn misuse(&mut self) -> SaslError {
        self.state = State::Done;
        SaslError::BadState
    }

    fn after(&mut self, result: Result<ServerStep, SaslError>) -> Result<ServerStep, SaslError> {
        self.state = match &result {
            Ok(ServerStep::Challenge(_)) => State::AwaitResponse,
            Ok(ServerStep::NeedSecret { .. }) => State::AwaitSecret,
            Ok(_) | Err(_) => State::Done,
        };
        result
    }
}

impl fmt::Debug for ServerMechanism {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerMechanism")
            .field("mechanism", &self.mechanism)
            .field("done", &self.is_done())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx() -> ServerContext {
        ServerContext::new("3rfcNHYJY1ZVvWVs7j", "mx.example.com")
    }

    #[test]
    fn supported_mechanisms() {
        for mech in Mechanism::ALL {
            let made = ServerMechanism::new(mech, ctx());
            assert_eq!(made.is_ok(), mech.server_supported(), "{mech}");
        }
        assert_eq!(
            ServerMechanism::new(Mechanism::XOAuth2, ctx()).err(),
            Some(SaslError::UnsupportedMechanism)
        );
    }

    #[test]
    fn checks_context() {
        for bad in [
            ServerContext::new("", "h"),
            ServerContext::new("a b", "h"),
            ServerContext::new("n", "h\""),
        ] {
            for mech in [
                Mechanism::CramMd5,
                Mechanism::DigestMd5,
                Mechanism::ScramSha256,
            ] {
                assert_eq!(
                    ServerMechanism::new(mech, bad.clone()).err(),
                    Some(SaslError::InvalidNonce)
                );
            }
            assert!(ServerMechanism::new(Mechanism::Plain, bad.clone()).is_ok());
            assert!(ServerMechanism::new(Mechanism::Login, bad).is_ok());
        }
        assert_eq!(
            ServerMechanism::new(Mechanism::DigestMd5, ctx().with_service("sm/tp")).err(),
            Some(SaslError::InvalidNonce)
        );
    }

    #[test]
    fn plain_flow_and_done() {
        let mut s = ServerMechanism::new(Mechanism::Plain, ctx()).unwrap();
        assert!(!s.is_done());
        assert_eq!(s.step(b"\0a\0b"), Err(SaslError::BadState));
        assert!(s.is_done());
        let mut s = ServerMechanism::new(Mechanism::Plain, ctx()).unwrap();
        assert_eq!(s.start(None).unwrap(), ServerStep::Challenge(Vec::new()));
        assert!(matches!(
            s.step(b"\0a\0b").unwrap(),
            ServerStep::VerifyPassword { .. }
        ));
        assert!(s.is_done());
        assert_eq!(s.step(b"\0a\0b"), Err(SaslError::BadState));
        assert_eq!(s.start(None), Err(SaslError::BadState));
    }

    #[test]
    fn error_ends_the_exchange() {
        let mut s = ServerMechanism::new(Mechanism::Login, ctx()).unwrap();
        let _ = s.start(None).unwrap();
        assert_eq!(s.step(b"\xff"), Err(SaslError::Malformed));
        assert!(s.is_done());
        assert_eq!(s.step(b"user"), Err(SaslError::BadState));
    }

    #[test]
    fn size_limits() {
        let big = vec![b'a'; MAX_MESSAGE_LEN + 1];
        let mut s = ServerMechanism::new(Mechanism::Plain, ctx()).unwrap();
        assert_eq!(s.start(Some(&big)), Err(SaslError::TooLong));
        let mut s = ServerMechanism::new(Mechanism::Login, ctx()).unwrap();
        let _ = s.start(None).unwrap();
        assert_eq!(s.step(&big), Err(SaslError::TooLong));
    }

    #[test]
    fn supply_only_when_asked() {
        let mut s = ServerMechanism::new(Mechanism::CramMd5, ctx()).unwrap();
        assert_eq!(
            s.supply(StoredSecret::password("p")),
            Err(SaslError::BadState)
        );
        let mut s = ServerMechanism::new(Mechanism::CramMd5, ctx()).unwrap();
        let _ = s.start(None).unwrap();
        assert_eq!(
            s.supply(StoredSecret::password("p")),
            Err(SaslError::BadState)
        );
        let mut s = ServerMechanism::new(Mechanism::CramMd5, ctx()).unwrap();
        let _ = s.start(None).unwrap();
        let need = s.step(b"tim 00000000000000000000000000000000").unwrap();
        assert!(matches!(need, ServerStep::NeedSecret { .. }));
        assert_eq!(s.step(b"again"), Err(SaslError::BadState));
    }

    #[test]
    fn debug_redacts() {
        let step = ServerStep::VerifyPassword {
            authzid: None,
            username: "tim".into(),
            password: SecretString::new("hunter2"),
        };
        let dbg = format!("{step:?}");
        assert!(dbg.contains("tim") && !dbg.contains("hunter2"), "{dbg}");
        let secret = format!("{:?}", StoredSecret::password("hunter2"));
        assert!(!secret.contains("hunter2"), "{secret}");
        let s = ServerMechanism::new(Mechanism::ScramSha256, ctx()).unwrap();
        assert!(format!("{s:?}").contains("ScramSha256"));
    }
}
