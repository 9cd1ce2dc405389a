//! Client credentials and the secret string type.

use std::fmt;

use super::Mechanism;
use super::codec::ct_eq;

/// A password or token: `Debug` prints `<redacted>`, equality is
/// constant-time, and the text is reached only through
/// [`expose`](Self::expose).
///
/// (The memory is not wiped on drop: the core has no `unsafe` and no
/// zeroizing dependency.)
#[derive(Clone, Default)]
pub struct SecretString(String);

impl SecretString {
    /// Wraps a secret.
    pub fn new(secret: impl Into<String>) -> SecretString {
        SecretString(secret.into())
    }

    /// The secret text. Do not log it.
    #[must_use]
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Compares with `other` in time that depends only on the lengths.
    #[must_use]
    pub fn constant_time_eq(&self, other: &str) -> bool {
        ct_eq(self.0.as_bytes(), other.as_bytes())
    }
}

impl fmt::Debug for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl PartialEq for SecretString {
    fn eq(&self, other: &SecretString) -> bool {
        self.constant_time_eq(&other.0)
    }
}

impl Eq for SecretString {}

impl From<String> for SecretString {
    fn from(secret: String) -> SecretString {
        SecretString(secret)
    }
}

impl From<&str> for SecretString {
    fn from(secret: &str) -> SecretString {
        SecretString(secret.to_owned())
    }
}

/// What the client proves its identity with.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Secret {
    /// A password: every mechanism but XOAUTH2.
    Password(SecretString),
    /// An OAuth 2.0 access token: XOAUTH2 only.
    OAuthToken(SecretString),
}

/// A client's credentials: who authenticates (the authentication identity,
/// `authcid`), optionally as whom (the authorisation identity, `authzid`),
/// and the secret. `Debug` redacts the secret.
///
/// ```
/// use mailwire_core::sasl::Credentials;
/// let creds = Credentials::password("tim", "tanstaaftanstaaf").with_authzid("postmaster");
/// assert_eq!(creds.username(), "tim");
/// assert_eq!(creds.authzid(), Some("postmaster"));
/// assert!(!format!("{creds:?}").contains("tanstaaf"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    authzid: Option<String>,
    username: String,
    secret: Secret,
}

impl Credentials {
    /// A user name and password.
    pub fn password(username: impl Into<String>, password: impl Into<String>) -> Credentials {
        Credentials {
            authzid: None,
            username: username.into(),
            secret: Secret::Password(SecretString::new(password)),
        }
    }

    /// A user name and OAuth 2.0 access token (for XOAUTH2).
    pub fn oauth_token(username: impl Into<String>, token: impl Into<String>) -> Credentials {
        Credentials {
            authzid: None,
            username: username.into(),
            secret: Secret::OAuthToken(SecretString::new(token)),
        }
    }

    /// Asks to act as `authzid` (sent by PLAIN, DIGEST-MD5 and SCRAM; the
    /// other mechanisms cannot carry it and refuse credentials that have
    /// one). An empty string means none.
    #[must_use]
    pub fn with_authzid(mut self, authzid: impl Into<String>) -> Credentials {
        let authzid = authzid.into();
        self.authzid = (!authzid.is_empty()).then_some(authzid);
        self
    }

    /// The authentication identity.
    #[must_use]
    pub fn username(&self) -> &str {
        &self.username
    }

    /// The authorisation identity, if one was asked for.
    #[must_use]
    pub fn authzid(&self) -> Option<&str> {
        self.authzid.as_deref()
    }

    /// The secret.
    #[must_use]
    pub fn secret(&self) -> &Secret {
        &self.secret
    }

    /// The password, if the secret is one.
    pub(crate) fn password_text(&self) -> Option<&str> {
        match &self.secret {
            Secret::Password(p) => Some(p.expose()),
            Secret::OAuthToken(_) => None,
        }
    }

    /// Whether these credentials fit the mechanism at all: the kind of
    /// secret, and an authzid only where the mechanism can carry one.
    /// (Field contents are checked when the client mechanism is built.)
    #[must_use]
    pub fn usable_with(&self, mechanism: Mechanism) -> bool {
        let secret_fits = match mechanism {
            Mechanism::XOAuth2 => matches!(self.secret, Secret::OAuthToken(_)),
            _ => matches!(self.secret, Secret::Password(_)),
        };
        let authzid_fits = self.authzid.is_none()
            || matches!(
                mechanism,
                Mechanism::Plain | Mechanism::DigestMd5 | Mechanism::ScramSha256
            );
        secret_fits && authzid_fits
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_redacts() {
        let c = Credentials::password("alice", "hunter2").with_authzid("bob");
        let dbg = format!("{c:?}");
        assert!(!dbg.contains("hunter2"), "{dbg}");
        assert!(dbg.contains("alice") && dbg.contains("<redacted>"));
        let t = Credentials::oauth_token("alice", "ya29.token");
        assert!(!format!("{t:?}").contains("ya29"));
        assert_eq!(format!("{:?}", SecretString::new("x")), "<redacted>");
    }

    #[test]
    fn secret_string_eq() {
        let a = SecretString::from("pencil");
        assert_eq!(a, SecretString::from("pencil".to_owned()));
        assert_ne!(a, SecretString::new("pencils"));
        assert!(a.constant_time_eq("pencil"));
        assert!(!a.constant_time_eq("Pencil"));
        assert_eq!(a.expose(), "pencil");
    }

    #[test]
    fn authzid_and_usability() {
        let c = Credentials::password("u", "p").with_authzid("");
        assert_eq!(c.authzid(), None);
        for m in Mechanism::ALL {
            assert_eq!(c.usable_with(m), m != Mechanism::XOAuth2, "{m}");
        }
        let z = c.clone().with_authzid("admin");
        assert!(z.usable_with(Mechanism::Plain));
        assert!(z.usable_with(Mechanism::ScramSha256));
        assert!(z.usable_with(Mechanism::DigestMd5));
        assert!(!z.usable_with(Mechanism::Login));
        assert!(!z.usable_with(Mechanism::CramMd5));
        let t = Credentials::oauth_token("u", "t");
        assert!(t.usable_with(Mechanism::XOAuth2));
        assert!(!t.usable_with(Mechanism::Plain));
        assert_eq!(t.password_text(), None);
        assert!(matches!(t.secret(), Secret::OAuthToken(_)));
        assert_eq!(c.password_text(), Some("p"));
    }
}
