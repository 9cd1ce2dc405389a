//! The client role: [`ClientMechanism`] and its [`ClientContext`].

use std::fmt;

use super::codec::{check_len, is_token_text};
use super::{
    Credentials, MAX_MESSAGE_LEN, Mechanism, SCRAM_MIN_ITERATIONS, SaslError, cram_md5,
    digest_md5_client, login, plain, scram_client, xoauth2,
};

/// The facts a client mechanism needs besides the credentials.
///
/// ```
/// use mailwire_core::sasl::ClientContext;
/// // The nonce comes from the connection's configured random source.
/// let ctx = ClientContext::new("rOprNGfwEbeRWgbNEkqO", "mail.example.com");
/// ```
#[derive(Debug, Clone)]
pub struct ClientContext {
    nonce: String,
    host: String,
    service: String,
    login_initial_response: bool,
    scram_min_iterations: u32,
}

impl ClientContext {
    /// A context with a fresh random `nonce` and the server's `host` name.
    ///
    /// The nonce is SCRAM's client nonce and DIGEST-MD5's `cnonce`: draw at
    /// least 18 random octets and encode them as base64 or hex (1 to 256 of
    /// `!`..`~` other than `,`, `"` and `\`). Never reuse one. The host is
    /// the name the client connected to, used in DIGEST-MD5's `digest-uri`.
    /// Mechanisms that need neither ignore them; those that do check them in
    /// [`ClientMechanism::new`].
    pub fn new(nonce: impl Into<String>, host: impl Into<String>) -> ClientContext {
        ClientContext {
            nonce: nonce.into(),
            host: host.into(),
            service: "smtp".to_owned(),
            login_initial_response: false,
            scram_min_iterations: SCRAM_MIN_ITERATIONS,
        }
    }

    /// The service name in DIGEST-MD5's `digest-uri` (default `smtp`).
    #[must_use]
    pub fn with_service(mut self, service: impl Into<String>) -> ClientContext {
        self.service = service.into();
        self
    }

    /// Whether LOGIN sends the user name as the initial response (default
    /// no: LOGIN waits for the `Username:` prompt, as the draft describes).
    #[must_use]
    pub fn login_initial_response(mut self, yes: bool) -> ClientContext {
        self.login_initial_response = yes;
        self
    }

    /// Lowers (or raises) the fewest SCRAM iterations the client accepts
    /// (default [`SCRAM_MIN_ITERATIONS`]); the cap
    /// [`SCRAM_MAX_ITERATIONS`](super::SCRAM_MAX_ITERATIONS) stays.
    #[must_use]
    pub fn with_scram_min_iterations(mut self, iterations: u32) -> ClientContext {
        self.scram_min_iterations = iterations.max(1);
        self
    }
}

/// The client side of one SASL exchange.
///
/// 1. Build it for the chosen mechanism ([`new`](Self::new)).
/// 2. Send `AUTH <name>`, with the base64 of
///    [`initial_response`](Self::initial_response) if it returns one (`=`
///    for an empty one).
/// 3. For each `334`, decode the text and send the base64 of
///    [`step`](Self::step)'s answer. If `step` fails, send `*` (cancel).
/// 4. On `235`, call [`finish`](Self::finish): if it fails, the server did
///    not prove itself, and the session must not be treated as
///    authenticated (quit). On `535` and others, the exchange failed
///    ([`server_error`](Self::server_error) may say more).
///
/// After `step` has failed, every further `step` returns
/// [`SaslError::BadState`]. `Debug` shows the mechanism only.
pub struct ClientMechanism {
    mechanism: Mechanism,
    inner: Inner,
    initial_taken: bool,
    failed: bool,
}

enum Inner {
    Plain(plain::Client),
    Login(login::Client, bool),
    CramMd5(cram_md5::Client),
    DigestMd5(digest_md5_client::Client),
    Scram(scram_client::Client),
    XOAuth2(xoauth2::Client),
}

impl ClientMechanism {
    /// Prepares `mechanism` for `credentials`.
    ///
    /// Errors: [`SaslError::UnusableCredentials`] when the credentials do not
    /// fit the mechanism ([`Credentials::usable_with`], empty or prohibited
    /// characters); [`SaslError::InvalidNonce`] when SCRAM-SHA-256 or
    /// DIGEST-MD5 get an unusable nonce, host or service.
    pub fn new(
        mechanism: Mechanism,
        credentials: &Credentials,
        context: ClientContext,
    ) -> Result<ClientMechanism, SaslError> {
        if !credentials.usable_with(mechanism) {
            return Err(SaslError::UnusableCredentials);
        }
        let inner = match mechanism {
            Mechanism::Plain => Inner::Plain(plain::Client::new(credentials)?),
            Mechanism::Login => Inner::Login(
                login::Client::new(credentials)?,
                context.login_initial_response,
            ),
            Mechanism::CramMd5 => Inner::CramMd5(cram_md5::Client::new(credentials)?),
            Mechanism::DigestMd5 => {
                let ClientContext {
                    nonce,
                    host,
                    service,
                    ..
                } = &context;
                let service_ok = !service.is_empty()
                    && service
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-');
                if !is_token_text(nonce) || !is_token_text(host) || !service_ok {
                    return Err(SaslError::InvalidNonce);
                }
                Inner::DigestMd5(digest_md5_client::Client::new(
                    credentials,
                    nonce,
                    service,
                    host,
                )?)
            }
            Mechanism::ScramSha256 => {
                if !is_token_text(&context.nonce) {
                    return Err(SaslError::InvalidNonce);
                }
                Inner::Scram(scram_client::Client::new(
                    credentials,
                    &context.nonce,
                    context.scram_min_iterations,
                )?)
            }
            Mechanism::XOAuth2 => Inner::XOAuth2(xoauth2::Client::new(credentials)?),
        };
        Ok(ClientMechanism {
            mechanism,
            inner,
            initial_taken: false,
            failed: false,
        })
    }

    /// The mechanism.
    #[must_use]
    pub fn mechanism(&self) -> Mechanism {
        self.mechanism
    }

    /// The initial response to send with `AUTH`, for client-first mechanisms
    /// (PLAIN, SCRAM-SHA-256, XOAUTH2; LOGIN's user name only when
    /// [`ClientContext::login_initial_response`] asked for it). `None` for the
    /// others, and on every call after the first.
    ///
    /// A caller that sends `AUTH` without it may skip this call: the server
    /// then sends an empty `334`, and [`step`](Self::step) answers it with
    /// the initial response.
    #[must_use]
    pub fn initial_response(&mut self) -> Option<Vec<u8>> {
        if std::mem::replace(&mut self.initial_taken, true) {
            return None;
        }
        match &mut self.inner {
            Inner::Plain(m) => Some(m.initial_response()),
            Inner::Scram(m) => Some(m.initial_response()),
            Inner::XOAuth2(m) => Some(m.initial_response()),
            Inner::Login(m, true) => Some(m.initial_response()),
            Inner::Login(_, false) | Inner::CramMd5(_) | Inner::DigestMd5(_) => None,
        }
    }

    /// The response to a `334` challenge (decoded bytes in, raw bytes out;
    /// the caller base64-encodes them). The answer may be empty: send an
    /// empty line.
    ///
    /// Errors: the server broke the mechanism, or failed to prove itself
    /// (see [`SaslError`]); the caller cancels with `*`.
    pub fn step(&mut self, challenge: &[u8]) -> Result<Vec<u8>, SaslError> {
        if self.failed {
            return Err(SaslError::BadState);
        }
        let result = self.step_inner(challenge);
        self.failed = result.is_err();
        result
    }

    fn step_inner(&mut self, challenge: &[u8]) -> Result<Vec<u8>, SaslError> {
        check_len(challenge, MAX_MESSAGE_LEN)?;
        // A client-first mechanism whose initial response was not sent with
        // AUTH: the server asks for it with an empty challenge.
        if self.mechanism.client_first() && !self.initial_taken {
            if !challenge.is_empty() {
                return Err(SaslError::UnexpectedChallenge);
            }
            return self
                .initial_response()
                .ok_or(SaslError::UnexpectedChallenge);
        }
        self.initial_taken = true;
        match &mut self.inner {
            Inner::Plain(m) => m.step(challenge),
            Inner::Login(m, _) => m.step(challenge),
            Inner::CramMd5(m) => m.step(challenge),
            Inner::DigestMd5(m) => m.step(challenge),
            Inner::Scram(m) => m.step(challenge),
            Inner::XOAuth2(m) => m.step(challenge),
        }
    }

    /// Called on `235`. `Ok` means the client may consider itself
    /// authenticated. For SCRAM-SHA-256 and DIGEST-MD5 it fails with
    /// [`SaslError::ServerSignatureMismatch`] (or
    /// [`SaslError::Incomplete`]) unless the server's proof was received and
    /// verified; for XOAUTH2 it fails if the server sent an error challenge.
    pub fn finish(&self) -> Result<(), SaslError> {
        match &self.inner {
            Inner::DigestMd5(m) => m.finish(),
            Inner::Scram(m) => m.finish(),
            Inner::XOAuth2(m) => m.finish(),
            Inner::Plain(_) | Inner::Login(..) | Inner::CramMd5(_) => Ok(()),
        }
    }

    /// The error the server reported inside the mechanism, for diagnostics:
    /// XOAUTH2's JSON error challenge.
    #[must_use]
    pub fn server_error(&self) -> Option<&str> {
        match &self.inner {
            Inner::XOAuth2(m) => m.error(),
            _ => None,
        }
    }
}

impl fmt::Debug for ClientMechanism {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientMechanism")
            .field("mechanism", &self.mechanism)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx() -> ClientContext {
        ClientContext::new("fyko+d2lbbFgONRv9qkxdawL", "mx.example.com")
    }

    fn pw() -> Credentials {
        Credentials::password("user", "pencil")
    }

    #[test]
    fn initial_responses() {
        let expect = [
            (Mechanism::Plain, Some(&b"\0user\0pencil"[..])),
            (Mechanism::Login, None),
            (Mechanism::CramMd5, None),
            (Mechanism::DigestMd5, None),
            (
                Mechanism::ScramSha256,
                Some(b"n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL"),
            ),
        ];
        for (mech, ir) in expect {
            let mut c = ClientMechanism::new(mech, &pw(), ctx()).unwrap();
            assert_eq!(c.mechanism(), mech);
            assert_eq!(c.initial_response().as_deref(), ir, "{mech}");
            assert_eq!(c.initial_response(), None, "{mech}: only once");
        }
        let token = Credentials::oauth_token("user", "tok");
        let mut c = ClientMechanism::new(Mechanism::XOAuth2, &token, ctx()).unwrap();
        assert_eq!(
            c.initial_response().unwrap(),
            b"user=user\x01auth=Bearer tok\x01\x01"
        );
    }

    #[test]
    fn login_initial_response_when_asked() {
        let mut c =
            ClientMechanism::new(Mechanism::Login, &pw(), ctx().login_initial_response(true))
                .unwrap();
        assert_eq!(c.initial_response().unwrap(), b"user");
        assert_eq!(c.step(b"Password:").unwrap(), b"pencil");
        // Without the initial response, the prompts drive it.
        let mut c = ClientMechanism::new(Mechanism::Login, &pw(), ctx()).unwrap();
        assert_eq!(c.step(b"Username:").unwrap(), b"user");
        assert_eq!(c.step(b"Password:").unwrap(), b"pencil");
        assert_eq!(c.finish(), Ok(()));
    }

    #[test]
    fn empty_challenge_gets_the_initial_response() {
        let mut c = ClientMechanism::new(Mechanism::Plain, &pw(), ctx()).unwrap();
        assert_eq!(c.step(b"").unwrap(), b"\0user\0pencil");
        assert_eq!(c.initial_response(), None);
        assert_eq!(c.step(b""), Err(SaslError::UnexpectedChallenge));
        assert_eq!(c.step(b""), Err(SaslError::BadState));

        let mut c = ClientMechanism::new(Mechanism::ScramSha256, &pw(), ctx()).unwrap();
        assert_eq!(
            c.step(b"").unwrap(),
            b"n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL"
        );

        let mut c = ClientMechanism::new(Mechanism::Plain, &pw(), ctx()).unwrap();
        assert_eq!(c.step(b"hello"), Err(SaslError::UnexpectedChallenge));
    }

    #[test]
    fn rejects_oversized_challenges() {
        let mut c = ClientMechanism::new(Mechanism::CramMd5, &pw(), ctx()).unwrap();
        assert_eq!(
            c.step(&vec![b'a'; MAX_MESSAGE_LEN + 1]),
            Err(SaslError::TooLong)
        );
        assert_eq!(c.step(b"<x@y>"), Err(SaslError::BadState));
        let mut c = ClientMechanism::new(Mechanism::CramMd5, &pw(), ctx()).unwrap();
        assert!(c.step(&vec![b'a'; MAX_MESSAGE_LEN]).is_ok());
    }

    #[test]
    fn checks_credentials_and_context() {
        let token = Credentials::oauth_token("user", "tok");
        for mech in [
            Mechanism::Plain,
            Mechanism::Login,
            Mechanism::CramMd5,
            Mechanism::DigestMd5,
            Mechanism::ScramSha256,
        ] {
            assert_eq!(
                ClientMechanism::new(mech, &token, ctx()).err(),
                Some(SaslError::UnusableCredentials)
            );
        }
        assert_eq!(
            ClientMechanism::new(Mechanism::XOAuth2, &pw(), ctx()).err(),
            Some(SaslError::UnusableCredentials)
        );
        let authz = pw().with_authzid("admin");
        assert_eq!(
            ClientMechanism::new(Mechanism::Login, &authz, ctx()).err(),
            Some(SaslError::UnusableCredentials)
        );
        for bad in [
            ClientContext::new("", "h"),
            ClientContext::new("a,b", "h"),
            ClientContext::new("n", ""),
        ] {
            assert_eq!(
                ClientMechanism::new(Mechanism::DigestMd5, &pw(), bad).err(),
                Some(SaslError::InvalidNonce)
            );
        }
        assert_eq!(
            ClientMechanism::new(Mechanism::DigestMd5, &pw(), ctx().with_service("")).err(),
            Some(SaslError::InvalidNonce)
        );
        assert_eq!(
            ClientMechanism::new(
                Mechanism::ScramSha256,
                &pw(),
                ClientContext::new("a\"b", "h")
            )
            .err(),
            Some(SaslError::InvalidNonce)
        );
        // Mechanisms that need no nonce ignore it.
        assert!(
            ClientMechanism::new(Mechanism::CramMd5, &pw(), ClientContext::new("", "")).is_ok()
        );
    }

    #[test]
    fn finish_and_debug() {
        let c = ClientMechanism::new(Mechanism::ScramSha256, &pw(), ctx()).unwrap();
        assert_eq!(c.finish(), Err(SaslError::Incomplete));
        assert_eq!(c.server_error(), None);
        let dbg = format!("{c:?}");
        assert!(
            dbg.contains("ScramSha256") && !dbg.contains("pencil"),
            "{dbg}"
        );
        let c = ClientMechanism::new(Mechanism::Plain, &pw(), ctx()).unwrap();
        assert_eq!(c.finish(), Ok(()));
    }

    #[test]
    fn scram_min_iterations_setting() {
        let mut c = ClientMechanism::new(
            Mechanism::ScramSha256,
            &pw(),
            ctx().with_scram_min_iterations(0),
        )
        .unwrap();
        let _ = c.initial_response();
        assert!(
            c.step(b"r=fyko+d2lbbFgONRv9qkxdawLx,s=c2FsdA==,i=1")
                .is_ok()
        );
        let mut c = ClientMechanism::new(Mechanism::ScramSha256, &pw(), ctx()).unwrap();
        let _ = c.initial_response();
        assert_eq!(
            c.step(b"r=fyko+d2lbbFgONRv9qkxdawLx,s=c2FsdA==,i=1"),
            Err(SaslError::IterationCount)
        );
    }
}
