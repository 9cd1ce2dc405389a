//! SASL mechanisms (RFC 4422) for SMTP AUTH (RFC 4954), both roles.
//!
//! This module holds the mechanism logic only, over raw bytes. The connection
//! state machines own the SMTP framing: they send `AUTH <name> [ir]`, turn
//! `334` lines into challenges and responses, base64-encode and decode them
//! with [`encode_base64`] / [`decode_base64`], recognise the `*` cancel line
//! and map the outcome to `235`, `535` or `501`.
//!
//! | mechanism | spec | client | server | first to speak |
//! | --- | --- | --- | --- | --- |
//! | `PLAIN` | RFC 4616 | yes | yes | client |
//! | `LOGIN` | draft-murchison-sasl-login | yes | yes | server (`Username:`) |
//! | `CRAM-MD5` | RFC 2195 | yes | yes | server |
//! | `DIGEST-MD5` | RFC 2831 (`qop=auth` only) | yes | yes | server |
//! | `SCRAM-SHA-256` | RFC 5802, RFC 7677 (no channel binding) | yes | yes | client |
//! | `XOAUTH2` | Google's XOAUTH2 | yes | no | client |
//!
//! # Sans-IO
//!
//! Nothing here reads a clock or a random source. Nonces and challenges come
//! in through [`ClientContext`] and [`ServerContext`]; the connection layer
//! draws them from its configured random source (seeded in tests).
//!
//! # Client role
//!
//! ```
//! use mailwire_core::sasl::{ClientContext, ClientMechanism, Credentials, Mechanism};
//!
//! let creds = Credentials::password("tim", "tanstaaftanstaaf");
//! let ctx = ClientContext::new("unused-by-cram-md5", "postoffice.reston.mci.net");
//! let mut client = ClientMechanism::new(Mechanism::CramMd5, &creds, ctx)?;
//! assert_eq!(client.initial_response(), None); // CRAM-MD5 is server-first
//! // S: 334 PDE4OTYuNjk3MTcwOTUyQHBvc3RvZmZpY2UucmVzdG9uLm1jaS5uZXQ+
//! let response = client.step(b"<1896.697170952@postoffice.reston.mci.net>")?;
//! assert_eq!(response, b"tim b913a602c7eda7a495b4e6e7334d3890");
//! // C: the base64 of `response`; S: 235 2.7.0
//! client.finish()?;
//! # Ok::<(), mailwire_core::sasl::SaslError>(())
//! ```
//!
//! On a `334`, call [`ClientMechanism::step`] with the decoded challenge and
//! send the base64 of what it returns. On `235`, call
//! [`ClientMechanism::finish`]: for mechanisms that authenticate the server
//! (SCRAM-SHA-256, DIGEST-MD5) it fails unless the server proved itself, and
//! the client must then treat the session as not authenticated. When `step`
//! fails, cancel the exchange with a `*` line.
//!
//! # Server role
//!
//! [`ServerMechanism::start`] takes the initial response of `AUTH`, and
//! [`ServerMechanism::step`] every later (decoded) client line. Each returns
//! a [`ServerStep`]: a challenge to send as `334`, a password for the
//! application to check (PLAIN, LOGIN), a request for the stored secret
//! (CRAM-MD5, DIGEST-MD5, SCRAM-SHA-256; answer it with
//! [`ServerMechanism::supply`]), success, or failure. An `Err` means the
//! client broke the mechanism's grammar; see [`SaslError`] for the replies.
//!
//! # SASLprep
//!
//! SCRAM-SHA-256 hashes the prepared password, so the prepared form must
//! match on both sides. This module implements the parts of SASLprep
//! (RFC 4013) that need no Unicode tables: ASCII strings pass through
//! unchanged; the non-ASCII spaces are mapped to U+0020, the characters
//! "commonly mapped to nothing" are removed, and control characters,
//! private-use characters and non-characters are rejected. **NFKC
//! normalisation and the bidirectional check are not done**, so a non-ASCII
//! password that is not already in NFKC form may not interoperate with a peer
//! that does the full SASLprep. Other mechanisms use the strings as given.
//!
//! # Secrets
//!
//! Passwords and tokens travel as [`SecretString`], whose `Debug` prints
//! `<redacted>` and whose equality is constant-time. Proofs, digests and
//! signatures are compared in constant time. Nothing here logs.

mod client;
mod codec;
mod cram_md5;
mod credentials;
mod digest_md5;
mod digest_md5_client;
mod digest_md5_server;
mod error;
mod login;
mod plain;
mod saslprep;
mod scram;
mod scram_client;
mod scram_server;
mod server;
mod xoauth2;

pub use client::{ClientContext, ClientMechanism};
pub use codec::{decode_base64, encode_base64};
pub use credentials::{Credentials, Secret, SecretString};
pub use error::SaslError;
pub use saslprep::saslprep;
pub use scram::ScramCredentials;
pub use server::{ServerContext, ServerMechanism, ServerStep, StoredSecret};

/// The largest decoded SASL message accepted from a peer, in octets.
///
/// RFC 4954 §4 lets an AUTH exchange use lines of up to 12,288 octets; the
/// base64 in such a line decodes to at most 9,216 octets. Longer messages are
/// refused with [`SaslError::TooLong`] before they are parsed.
pub const MAX_MESSAGE_LEN: usize = 9_216;

/// The fewest SCRAM iterations a client accepts from a server (RFC 7677 §4:
/// "at least 4096"). A lower count would let a man in the middle collect a
/// proof that is cheap to attack offline.
pub const SCRAM_MIN_ITERATIONS: u32 = 4_096;

/// The most SCRAM iterations a client accepts from a server, so that a
/// hostile server cannot make the client burn seconds of CPU.
pub const SCRAM_MAX_ITERATIONS: u32 = 1_000_000;

/// The iteration count the SCRAM server uses when the application supplies a
/// plain password ([`StoredSecret::Password`]) instead of
/// [`ScramCredentials`].
pub const SCRAM_DEFAULT_ITERATIONS: u32 = 4_096;

/// A SASL mechanism this module implements.
///
/// Names are matched case-insensitively ([`Mechanism::from_name`]). The
/// declaration order is the client's order of preference, strongest first
/// (see [`Mechanism::choose`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Mechanism {
    /// `XOAUTH2`: an OAuth 2.0 bearer token (client role only).
    XOAuth2,
    /// `SCRAM-SHA-256` (RFC 5802, RFC 7677), without channel binding.
    ScramSha256,
    /// `DIGEST-MD5` (RFC 2831, historic since RFC 6331), `qop=auth` only.
    DigestMd5,
    /// `CRAM-MD5` (RFC 2195).
    CramMd5,
    /// `PLAIN` (RFC 4616): the password in the clear.
    Plain,
    /// `LOGIN` (draft-murchison-sasl-login): the password in the clear.
    Login,
}

impl Mechanism {
    /// Every mechanism, in the client's order of preference.
    pub const ALL: [Mechanism; 6] = [
        Mechanism::XOAuth2,
        Mechanism::ScramSha256,
        Mechanism::DigestMd5,
        Mechanism::CramMd5,
        Mechanism::Plain,
        Mechanism::Login,
    ];

    /// The registered name, in upper case (`"CRAM-MD5"`).
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Mechanism::Plain => "PLAIN",
            Mechanism::Login => "LOGIN",
            Mechanism::CramMd5 => "CRAM-MD5",
            Mechanism::DigestMd5 => "DIGEST-MD5",
            Mechanism::ScramSha256 => "SCRAM-SHA-256",
            Mechanism::XOAuth2 => "XOAUTH2",
        }
    }

    /// The mechanism with this name, compared case-insensitively; `None` for
    /// a mechanism this module does not implement.
    #[must_use]
    pub fn from_name(name: &str) -> Option<Mechanism> {
        Mechanism::ALL
            .into_iter()
            .find(|m| m.name().eq_ignore_ascii_case(name))
    }

    /// Whether the client speaks first, so that `AUTH` can carry an initial
    /// response (RFC 4954 §4): PLAIN, SCRAM-SHA-256 and XOAUTH2.
    ///
    /// LOGIN is server-first here, as in the draft; a client may still send
    /// the user name as an initial response (see
    /// [`ClientContext::login_initial_response`]).
    #[must_use]
    pub fn client_first(self) -> bool {
        matches!(
            self,
            Mechanism::Plain | Mechanism::ScramSha256 | Mechanism::XOAuth2
        )
    }

    /// Whether the mechanism puts a reusable credential on the wire in the
    /// clear (only base64-encoded): the password for PLAIN and LOGIN, the
    /// bearer token for XOAUTH2. Such mechanisms should be offered and used
    /// only under TLS, unless the configuration explicitly allows otherwise.
    #[must_use]
    pub fn sends_plaintext_password(self) -> bool {
        matches!(
            self,
            Mechanism::Plain | Mechanism::Login | Mechanism::XOAuth2
        )
    }

    /// Whether [`ServerMechanism`] implements the server role (every
    /// mechanism but XOAUTH2).
    #[must_use]
    pub fn server_supported(self) -> bool {
        !matches!(self, Mechanism::XOAuth2)
    }

    /// Whether the client can authenticate the server with this mechanism, so
    /// that [`ClientMechanism::finish`] checks the server's proof
    /// (SCRAM-SHA-256, DIGEST-MD5).
    #[must_use]
    pub fn mutual(self) -> bool {
        matches!(self, Mechanism::ScramSha256 | Mechanism::DigestMd5)
    }

    /// The client's choice among the mechanisms a server `offered`: the first
    /// in [`Mechanism::ALL`] order that the credentials can use (a token only
    /// with XOAUTH2, a password with every other mechanism) and that does not
    /// send the credential in the clear unless `allow_plaintext` (normally:
    /// TLS is on).
    #[must_use]
    pub fn choose(
        offered: impl IntoIterator<Item = Mechanism>,
        credentials: &Credentials,
        allow_plaintext: bool,
    ) -> Option<Mechanism> {
        offered
            .into_iter()
            .filter(|m| credentials.usable_with(*m))
            .filter(|m| allow_plaintext || !m.sends_plaintext_password())
            .min()
    }
}

impl std::fmt::Display for Mechanism {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_case_insensitively() {
        for m in Mechanism::ALL {
            assert_eq!(Mechanism::from_name(m.name()), Some(m));
            assert_eq!(Mechanism::from_name(&m.name().to_lowercase()), Some(m));
            assert_eq!(m.to_string(), m.name());
        }
        assert_eq!(
            Mechanism::from_name("scram-sha-256"),
            Some(Mechanism::ScramSha256)
        );
        assert_eq!(Mechanism::from_name("Cram-Md5"), Some(Mechanism::CramMd5));
        assert_eq!(Mechanism::from_name("GSSAPI"), None);
        assert_eq!(Mechanism::from_name(""), None);
        assert_eq!(Mechanism::from_name("PLAIN "), None);
    }

    #[test]
    fn predicates() {
        let first: Vec<_> = Mechanism::ALL
            .into_iter()
            .filter(|m| m.client_first())
            .collect();
        assert_eq!(
            first,
            [Mechanism::XOAuth2, Mechanism::ScramSha256, Mechanism::Plain]
        );
        let clear: Vec<_> = Mechanism::ALL
            .into_iter()
            .filter(|m| m.sends_plaintext_password())
            .collect();
        assert_eq!(
            clear,
            [Mechanism::XOAuth2, Mechanism::Plain, Mechanism::Login]
        );
        assert!(!Mechanism::XOAuth2.server_supported());
        assert!(Mechanism::DigestMd5.server_supported());
        assert!(Mechanism::ScramSha256.mutual());
        assert!(!Mechanism::CramMd5.mutual());
    }

    #[test]
    fn choose_prefers_strong_and_respects_tls() {
        let pw = Credentials::password("u", "p");
        let all = Mechanism::ALL;
        assert_eq!(
            Mechanism::choose(all, &pw, false),
            Some(Mechanism::ScramSha256)
        );
        assert_eq!(
            Mechanism::choose([Mechanism::Login, Mechanism::Plain], &pw, true),
            Some(Mechanism::Plain)
        );
        assert_eq!(
            Mechanism::choose([Mechanism::Login, Mechanism::Plain], &pw, false),
            None
        );
        assert_eq!(
            Mechanism::choose([Mechanism::Plain, Mechanism::CramMd5], &pw, true),
            Some(Mechanism::CramMd5)
        );
        let token = Credentials::oauth_token("u", "t");
        assert_eq!(
            Mechanism::choose(all, &token, true),
            Some(Mechanism::XOAuth2)
        );
        assert_eq!(Mechanism::choose(all, &token, false), None);
        assert_eq!(Mechanism::choose([Mechanism::Plain], &token, true), None);
        assert_eq!(Mechanism::choose([], &pw, true), None);
    }
}
