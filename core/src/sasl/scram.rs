//! SCRAM-SHA-256 (RFC 5802, RFC 7677): the pieces both roles share — the
//! stored credentials, key derivation, `saslname` escaping and the attribute
//! syntax. The roles are in `scram_client.rs` and `scram_server.rs`.
//!
//! Channel binding is not supported: the client sends the GS2 header `n,,`
//! (or `n,a=authzid,`); the server accepts `n` and `y` and fails `p=`.

use std::fmt;

use sha2::{Digest, Sha256};

use super::SaslError;
use super::codec::{ct_eq, hmac_sha256};
use super::saslprep::saslprep;

/// The length of SHA-256 output, and so of every SCRAM key, proof and
/// signature.
pub(crate) const KEY_LEN: usize = 32;

/// What a SCRAM-SHA-256 server stores for a user instead of the password
/// (RFC 5802 §3): the salt, the iteration count, `StoredKey` and `ServerKey`.
///
/// These keys do not let anyone log in as the user, but they do let an
/// attacker who steals them impersonate the server and attack the password
/// offline: keep them secret. `Debug` redacts the keys.
#[derive(Clone)]
pub struct ScramCredentials {
    salt: Vec<u8>,
    iterations: u32,
    stored_key: [u8; KEY_LEN],
    server_key: [u8; KEY_LEN],
}

impl ScramCredentials {
    /// Derives the credentials from a password (after [`saslprep`]), a salt
    /// (use at least 16 random octets) and an iteration count (at least
    /// [`SCRAM_MIN_ITERATIONS`](super::SCRAM_MIN_ITERATIONS) is recommended;
    /// clients of this crate refuse fewer and more than
    /// [`SCRAM_MAX_ITERATIONS`](super::SCRAM_MAX_ITERATIONS)).
    ///
    /// This runs PBKDF2 `iterations` times: do it when the password is set,
    /// not on every login.
    ///
    /// Errors: [`SaslError::UnusableCredentials`] for an empty salt or a
    /// password SASLprep refuses; [`SaslError::IterationCount`] for 0.
    pub fn from_password(
        password: &str,
        salt: &[u8],
        iterations: u32,
    ) -> Result<ScramCredentials, SaslError> {
        if salt.is_empty() {
            return Err(SaslError::UnusableCredentials);
        }
        if iterations == 0 {
            return Err(SaslError::IterationCount);
        }
        let keys = Keys::derive(&saslprep(password)?, salt, iterations);
        Ok(ScramCredentials {
            salt: salt.to_vec(),
            iterations,
            stored_key: keys.stored_key,
            server_key: keys.server_key,
        })
    }

    /// Credentials from their stored parts.
    #[must_use]
    pub fn from_parts(
        salt: Vec<u8>,
        iterations: u32,
        stored_key: [u8; 32],
        server_key: [u8; 32],
    ) -> ScramCredentials {
        ScramCredentials {
            salt,
            iterations,
            stored_key,
            server_key,
        }
    }

    /// Plausible-looking credentials for a user that does not exist, so that
    /// the exchange runs to the end (and fails) instead of revealing early
    /// that the user is unknown (RFC 5802 §5.1).
    ///
    /// `key` is a server-wide secret (for example 32 random octets drawn at
    /// start-up): the salt is derived from it and the user name, so repeated
    /// attempts for the same name see the same salt. No password matches.
    #[must_use]
    pub fn mock(key: &[u8], username: &str, iterations: u32) -> ScramCredentials {
        let salt = hmac_sha256(key, &[b"mailwire scram mock salt\0", username.as_bytes()]);
        let stored_key = hmac_sha256(key, &[b"mailwire scram mock key\0", username.as_bytes()]);
        ScramCredentials {
            salt: salt.get(..16).unwrap_or(&salt).to_vec(),
            iterations: iterations.max(1),
            stored_key,
            server_key: stored_key,
        }
    }

    /// The salt.
    #[must_use]
    pub fn salt(&self) -> &[u8] {
        &self.salt
    }

    /// The iteration count.
    #[must_use]
    pub fn iterations(&self) -> u32 {
        self.iterations
    }

    /// `StoredKey = H(HMAC(SaltedPassword, "Client Key"))`.
    #[must_use]
    pub fn stored_key(&self) -> &[u8; 32] {
        &self.stored_key
    }

    /// `ServerKey = HMAC(SaltedPassword, "Server Key")`.
    #[must_use]
    pub fn server_key(&self) -> &[u8; 32] {
        &self.server_key
    }

    /// Whether `proof` is a valid client proof over `auth_message`.
    pub(crate) fn verify_proof(&self, auth_message: &[u8], proof: &[u8]) -> bool {
        let signature = hmac_sha256(&self.stored_key, &[auth_message]);
        if proof.len() != KEY_LEN {
            return false;
        }
        let client_key: Vec<u8> = proof.iter().zip(signature).map(|(p, s)| p ^ s).collect();
        let stored_key: [u8; KEY_LEN] = Sha256::digest(&client_key).into();
        ct_eq(&stored_key, &self.stored_key)
    }

    /// `ServerSignature` over `auth_message`.
    pub(crate) fn server_signature(&self, auth_message: &[u8]) -> [u8; KEY_LEN] {
        hmac_sha256(&self.server_key, &[auth_message])
    }
}

impl fmt::Debug for ScramCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ScramCredentials")
            .field("salt", &self.salt)
            .field("iterations", &self.iterations)
            .field("stored_key", &"<redacted>")
            .field("server_key", &"<redacted>")
            .finish()
    }
}

/// The keys derived from a (prepared) password.
pub(crate) struct Keys {
    pub(crate) client_key: [u8; KEY_LEN],
    pub(crate) stored_key: [u8; KEY_LEN],
    pub(crate) server_key: [u8; KEY_LEN],
}

impl Keys {
    pub(crate) fn derive(prepared_password: &str, salt: &[u8], iterations: u32) -> Keys {
        let mut salted = [0u8; KEY_LEN];
        pbkdf2::pbkdf2_hmac::<Sha256>(prepared_password.as_bytes(), salt, iterations, &mut salted);
        let client_key = hmac_sha256(&salted, &[b"Client Key"]);
        Keys {
            client_key,
            stored_key: Sha256::digest(client_key).into(),
            server_key: hmac_sha256(&salted, &[b"Server Key"]),
        }
    }
}

/// Escapes a (prepared) name as a `saslname`: `,` → `=2C`, `=` → `=3D`.
pub(crate) fn escape_saslname(name: &str) -> String {
    name.replace('=', "=3D").replace(',', "=2C")
}

/// Reverses [`escape_saslname`]; any other `=` escape, an empty name, or a
/// NUL is malformed.
pub(crate) fn unescape_saslname(value: &str) -> Result<String, SaslError> {
    let mut out = String::with_capacity(value.len());
    let mut rest = value;
    while let Some(at) = rest.find('=') {
        out.push_str(rest.get(..at).ok_or(SaslError::Malformed)?);
        let escape = rest.get(at..at + 3).ok_or(SaslError::Malformed)?;
        out.push(match escape {
            "=2C" => ',',
            "=3D" => '=',
            _ => return Err(SaslError::Malformed),
        });
        rest = rest.get(at + 3..).ok_or(SaslError::Malformed)?;
    }
    out.push_str(rest);
    if out.is_empty() || out.contains('\0') {
        return Err(SaslError::Malformed);
    }
    Ok(out)
}

/// Whether `nonce` is a valid SCRAM nonce: printable ASCII without `,`.
pub(crate) fn is_nonce(nonce: &str) -> bool {
    !nonce.is_empty()
        && nonce
            .bytes()
            .all(|b| (0x21..=0x7e).contains(&b) && b != b',')
}

/// Splits a message into its `a=value` attributes. Every element must have a
/// letter and `=`; values may be empty and may hold `=`.
pub(crate) fn attributes(message: &str) -> Result<Vec<(u8, &str)>, SaslError> {
    message
        .split(',')
        .map(|attr| match attr.as_bytes() {
            [name, b'=', ..] if name.is_ascii_alphabetic() => {
                Ok((*name, attr.get(2..).unwrap_or("")))
            }
            _ => Err(SaslError::Malformed),
        })
        .collect()
}

/// Text of a SCRAM message: UTF-8 without NUL.
pub(crate) fn message_text(message: &[u8]) -> Result<&str, SaslError> {
    match std::str::from_utf8(message) {
        Ok(text) if !text.contains('\0') => Ok(text),
        _ => Err(SaslError::Malformed),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sasl::codec::decode_base64;

    #[test]
    fn rfc7677_keys() {
        let salt = decode_base64("W22ZaJ0SNY7soEsUEjb6gQ==").unwrap();
        let creds = ScramCredentials::from_password("pencil", &salt, 4096).unwrap();
        assert_eq!(creds.salt(), &salt[..]);
        assert_eq!(creds.iterations(), 4096);
        // Round trip through the parts.
        let again = ScramCredentials::from_parts(
            salt.clone(),
            4096,
            *creds.stored_key(),
            *creds.server_key(),
        );
        assert_eq!(again.stored_key(), creds.stored_key());
        assert_eq!(again.server_key(), creds.server_key());
    }

    #[test]
    fn from_password_rejects() {
        assert_eq!(
            ScramCredentials::from_password("p", b"", 4096).err(),
            Some(SaslError::UnusableCredentials)
        );
        assert_eq!(
            ScramCredentials::from_password("p", b"s", 0).err(),
            Some(SaslError::IterationCount)
        );
        assert_eq!(
            ScramCredentials::from_password("p\u{7}", b"s", 1).err(),
            Some(SaslError::UnusableCredentials)
        );
    }

    #[test]
    fn debug_redacts_keys() {
        let creds = ScramCredentials::from_parts(b"salt".to_vec(), 4096, [0xab; 32], [0xcd; 32]);
        let dbg = format!("{creds:?}");
        assert!(dbg.contains("<redacted>") && dbg.contains("4096"));
        assert!(!dbg.contains("171"), "{dbg}"); // 0xab as a decimal byte
    }

    #[test]
    fn mock_is_stable_per_user() {
        let a = ScramCredentials::mock(b"k", "alice", 4096);
        let b = ScramCredentials::mock(b"k", "alice", 4096);
        let c = ScramCredentials::mock(b"k", "bob", 4096);
        assert_eq!(a.salt(), b.salt());
        assert_ne!(a.salt(), c.salt());
        assert_eq!(a.salt().len(), 16);
        assert_eq!(ScramCredentials::mock(b"k", "x", 0).iterations(), 1);
    }

    #[test]
    fn saslname() {
        assert_eq!(escape_saslname("user"), "user");
        assert_eq!(escape_saslname("a,b=c"), "a=2Cb=3Dc");
        assert_eq!(escape_saslname("=2C"), "=3D2C");
        for name in ["user", "a,b=c", "=2C", ",,", "==", "é,"] {
            assert_eq!(unescape_saslname(&escape_saslname(name)).unwrap(), name);
        }
        for bad in ["", "a=", "a=2", "a=2c", "a=41", "=", "a\0", "=3"] {
            assert_eq!(unescape_saslname(bad), Err(SaslError::Malformed), "{bad:?}");
        }
    }

    #[test]
    fn nonce_and_attributes() {
        assert!(is_nonce(
            "rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0"
        ));
        for bad in ["", "a,b", "a b", "é", "a\u{7f}"] {
            assert!(!is_nonce(bad), "{bad:?}");
        }
        assert_eq!(
            attributes("r=abc,s=W22Z==,i=4096").unwrap(),
            [(b'r', "abc"), (b's', "W22Z=="), (b'i', "4096")]
        );
        assert_eq!(attributes("e=").unwrap(), [(b'e', "")]);
        for bad in ["", "r", "r=a,", ",r=a", "1=a", "rr=a", "r=a,,s=b"] {
            assert_eq!(attributes(bad), Err(SaslError::Malformed), "{bad:?}");
        }
        assert_eq!(message_text(b"r=a\0"), Err(SaslError::Malformed));
        assert_eq!(message_text(b"\xff"), Err(SaslError::Malformed));
    }
}
