//! SCRAM-SHA-256, client role (RFC 5802 §3, §5; RFC 7677).
//!
//! ```text
//! C: n,,n=user,r=<c-nonce>                       initial response
//! S: r=<c-nonce><s-nonce>,s=<salt>,i=<count>     334
//! C: c=biws,r=<c-nonce><s-nonce>,p=<proof>
//! S: v=<server signature>                        334 (RFC 4954 §4)
//! C: (empty)
//! S: 235
//! ```
//!
//! The client checks that the server's nonce extends its own, bounds the
//! iteration count, and verifies the server signature; [`Client::finish`]
//! fails unless it did.

use super::codec::{ct_eq, decode_base64, encode_base64, hmac_sha256};
use super::saslprep::saslprep;
use super::scram::{KEY_LEN, Keys, attributes, escape_saslname, is_nonce, message_text};
use super::{Credentials, SCRAM_MAX_ITERATIONS, SaslError, SecretString};

/// The client role.
pub(crate) struct Client {
    /// The prepared password.
    password: SecretString,
    nonce: String,
    gs2_header: String,
    client_first_bare: String,
    state: State,
    min_iterations: u32,
}

enum State {
    Start,
    AwaitServerFirst,
    AwaitServerFinal { server_signature: [u8; KEY_LEN] },
    Verified,
    Failed,
}

impl Client {
    /// `nonce` was checked by the dispatcher. `min_iterations` is
    /// `SCRAM_MIN_ITERATIONS` unless the caller changed it.
    pub(crate) fn new(
        credentials: &Credentials,
        nonce: &str,
        min_iterations: u32,
    ) -> Result<Client, SaslError> {
        let password = credentials
            .password_text()
            .ok_or(SaslError::UnusableCredentials)?;
        if !is_nonce(nonce) {
            return Err(SaslError::InvalidNonce);
        }
        let username = saslprep(credentials.username())?;
        let password = saslprep(password)?;
        if username.is_empty() || password.is_empty() {
            return Err(SaslError::UnusableCredentials);
        }
        let gs2_header = match credentials.authzid() {
            Some(authzid) => format!("n,a={},", escape_saslname(&saslprep(authzid)?)),
            None => "n,,".to_owned(),
        };
        Ok(Client {
            password: SecretString::new(password.into_owned()),
            nonce: nonce.to_owned(),
            client_first_bare: format!("n={},r={nonce}", escape_saslname(&username)),
            gs2_header,
            state: State::Start,
            min_iterations,
        })
    }

    /// The client-first message.
    pub(crate) fn initial_response(&mut self) -> Vec<u8> {
        self.state = State::AwaitServerFirst;
        format!("{}{}", self.gs2_header, self.client_first_bare).into_bytes()
    }

    pub(crate) fn step(&mut self, challenge: &[u8]) -> Result<Vec<u8>, SaslError> {
        match std::mem::replace(&mut self.state, State::Failed) {
            State::AwaitServerFirst => self.client_final(challenge),
            State::AwaitServerFinal { server_signature } => {
                verify_server_final(challenge, &server_signature)?;
                self.state = State::Verified;
                Ok(Vec::new())
            }
            State::Start | State::Verified | State::Failed => Err(SaslError::UnexpectedChallenge),
        }
    }

    /// Success needs a verified server signature.
    pub(crate) fn finish(&self) -> Result<(), SaslError> {
        match self.state {
            State::Verified => Ok(()),
            State::AwaitServerFinal { .. } | State::Failed => {
                Err(SaslError::ServerSignatureMismatch)
            }
            State::Start | State::AwaitServerFirst => Err(SaslError::Incomplete),
        }
    }

    /// Answers the server-first message with the client-final message.
    fn client_final(&mut self, server_first: &[u8]) -> Result<Vec<u8>, SaslError> {
        let text = message_text(server_first)?;
        let attrs = attributes(text)?;
        let (nonce, salt, iterations) = match attrs.as_slice() {
            [(b'r', r), (b's', s), (b'i', i), ..] => (*r, *s, *i),
            // `m=` (a mandatory extension) or anything out of order.
            _ => return Err(SaslError::Malformed),
        };
        if !is_nonce(nonce) {
            return Err(SaslError::Malformed);
        }
        if nonce.len() <= self.nonce.len() || !nonce.starts_with(&self.nonce) {
            return Err(SaslError::NonceMismatch);
        }
        let salt = decode_base64(salt)?;
        if salt.is_empty() {
            return Err(SaslError::Malformed);
        }
        let iterations = parse_count(iterations)?;
        if !(self.min_iterations..=SCRAM_MAX_ITERATIONS).contains(&iterations) {
            return Err(SaslError::IterationCount);
        }

        let keys = Keys::derive(self.password.expose(), &salt, iterations);
        let without_proof = format!("c={},r={nonce}", encode_base64(self.gs2_header.as_bytes()));
        let auth_message = [
            self.client_first_bare.as_bytes(),
            b",",
            server_first,
            b",",
            without_proof.as_bytes(),
        ];
        let client_signature = hmac_sha256(&keys.stored_key, &auth_message);
        let proof: Vec<u8> = keys
            .client_key
            .iter()
            .zip(client_signature)
            .map(|(k, s)| k ^ s)
            .collect();
        self.state = State::AwaitServerFinal {
            server_signature: hmac_sha256(&keys.server_key, &auth_message),
        };
        Ok(format!("{without_proof},p={}", encode_base64(&proof)).into_bytes())
    }
}

/// `i=`: decimal digits only, no sign, fits a `u32`.
fn parse_count(text: &str) -> Result<u32, SaslError> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(SaslError::Malformed);
    }
    text.parse().map_err(|_| SaslError::IterationCount)
}

/// Checks `v=<signature>` (or reports `e=<error>`).
fn verify_server_final(message: &[u8], expected: &[u8; KEY_LEN]) -> Result<(), SaslError> {
    let text = message_text(message)?;
    match attributes(text)?.first() {
        Some((b'v', signature)) => {
            let signature = decode_base64(signature)?;
            if ct_eq(&signature, expected) {
                Ok(())
            } else {
                Err(SaslError::ServerSignatureMismatch)
            }
        }
        Some((b'e', error)) => Err(SaslError::ServerError((*error).to_owned())),
        _ => Err(SaslError::Malformed),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sasl::SCRAM_MIN_ITERATIONS;

    const NONCE: &str = "rOprNGfwEbeRWgbNEkqO";
    const SERVER_FIRST: &[u8] =
        b"r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096";
    const CLIENT_FINAL: &[u8] = b"c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=";
    const SERVER_FINAL: &[u8] = b"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=";

    fn client() -> Client {
        Client::new(
            &Credentials::password("user", "pencil"),
            NONCE,
            SCRAM_MIN_ITERATIONS,
        )
        .unwrap()
    }

    fn after_first() -> Client {
        let mut c = client();
        assert_eq!(c.initial_response(), b"n,,n=user,r=rOprNGfwEbeRWgbNEkqO");
        c
    }

    #[test]
    fn rfc7677_exchange() {
        let mut c = after_first();
        assert_eq!(c.finish(), Err(SaslError::Incomplete));
        assert_eq!(c.step(SERVER_FIRST).unwrap(), CLIENT_FINAL);
        assert_eq!(c.finish(), Err(SaslError::ServerSignatureMismatch));
        assert_eq!(c.step(SERVER_FINAL).unwrap(), b"");
        assert_eq!(c.finish(), Ok(()));
        assert_eq!(c.step(SERVER_FINAL), Err(SaslError::UnexpectedChallenge));
    }

    #[test]
    fn tampered_server_signature() {
        let mut c = after_first();
        let _ = c.step(SERVER_FIRST).unwrap();
        let bad = b"v=7rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=";
        assert_eq!(c.step(bad), Err(SaslError::ServerSignatureMismatch));
        assert_eq!(c.finish(), Err(SaslError::ServerSignatureMismatch));
    }

    #[test]
    fn server_error_attribute() {
        let mut c = after_first();
        let _ = c.step(SERVER_FIRST).unwrap();
        assert_eq!(
            c.step(b"e=invalid-proof"),
            Err(SaslError::ServerError("invalid-proof".into()))
        );
    }

    #[test]
    fn escapes_username_and_authzid() {
        let creds = Credentials::password("a,b=c", "pencil").with_authzid("x=y");
        let mut c = Client::new(&creds, "abc", SCRAM_MIN_ITERATIONS).unwrap();
        assert_eq!(c.initial_response(), b"n,a=x=3Dy,n=a=2Cb=3Dc,r=abc");
        let reply = c.step(b"r=abcdef,s=c2FsdA==,i=4096").unwrap();
        // c= carries the GS2 header with the authzid.
        assert!(
            reply.starts_with(b"c=bixhPXg9M0R5LA==,r=abcdef,p="),
            "{}",
            String::from_utf8_lossy(&reply)
        );
    }

    #[test]
    fn rejects_bad_nonces() {
        for server_first in [
            &b"r=rOprNGfwEbeRWgbNEkqO,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"[..], // not extended
            b"r=XOprNGfwEbeRWgbNEkqOabc,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",   // not a prefix
            b"r=rOprNG,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",                    // shorter
        ] {
            let mut c = after_first();
            assert_eq!(c.step(server_first), Err(SaslError::NonceMismatch));
            assert_eq!(c.finish(), Err(SaslError::ServerSignatureMismatch));
        }
        let mut c = after_first();
        assert_eq!(
            c.step("r=rOprNGfwEbeRWgbNEkqOé,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096".as_bytes()),
            Err(SaslError::Malformed)
        );
    }

    #[test]
    fn bounds_iteration_count() {
        for (count, error) in [
            ("4095", SaslError::IterationCount),
            ("0", SaslError::IterationCount),
            ("1000001", SaslError::IterationCount),
            ("99999999999", SaslError::IterationCount),
            ("-1", SaslError::Malformed),
            ("+4096", SaslError::Malformed),
            ("", SaslError::Malformed),
            ("4096x", SaslError::Malformed),
        ] {
            let mut c = after_first();
            let msg = format!("r={NONCE}x,s=W22ZaJ0SNY7soEsUEjb6gQ==,i={count}");
            assert_eq!(c.step(msg.as_bytes()), Err(error), "{count}");
        }
        // A caller may lower the floor.
        let mut c = Client::new(&Credentials::password("user", "pencil"), NONCE, 1).unwrap();
        let _ = c.initial_response();
        assert!(
            c.step(format!("r={NONCE}x,s=c2FsdA==,i=1").as_bytes())
                .is_ok()
        );
    }

    #[test]
    fn rejects_malformed_server_first() {
        for bad in [
            &b""[..],
            b"m=ext,r=rOprNGfwEbeRWgbNEkqOx,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
            b"s=W22ZaJ0SNY7soEsUEjb6gQ==,r=rOprNGfwEbeRWgbNEkqOx,i=4096",
            b"r=rOprNGfwEbeRWgbNEkqOx,s=W22ZaJ0SNY7soEsUEjb6gQ==",
            b"r=rOprNGfwEbeRWgbNEkqOx,s=,i=4096",
            b"r=rOprNGfwEbeRWgbNEkqOx,s=W22ZaJ0SNY7soEsUEjb6gQ,i=4096",
            b"r=rOprNGfwEbeRWgbNEkqOx,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096\0",
            b"\xff",
        ] {
            let mut c = after_first();
            assert_eq!(
                c.step(bad),
                Err(SaslError::Malformed),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
        // Extensions after i= are ignored.
        let mut c = after_first();
        let mut msg = SERVER_FIRST.to_vec();
        msg.extend_from_slice(b",x=ext");
        assert!(c.step(&msg).is_ok());
    }

    #[test]
    fn rejects_malformed_server_final() {
        for bad in [&b""[..], b"x=1", b"v=not*base64", b"\xff"] {
            let mut c = after_first();
            let _ = c.step(SERVER_FIRST).unwrap();
            assert_eq!(c.step(bad), Err(SaslError::Malformed), "{bad:?}");
        }
        let mut c = after_first();
        let _ = c.step(SERVER_FIRST).unwrap();
        assert_eq!(c.step(b"v=AAAA"), Err(SaslError::ServerSignatureMismatch));
    }

    #[test]
    fn rejects_unusable_credentials_and_nonce() {
        let pw = Credentials::password("user", "pencil");
        for nonce in ["", "a,b", "a b"] {
            assert_eq!(
                Client::new(&pw, nonce, 4096).err(),
                Some(SaslError::InvalidNonce)
            );
        }
        for creds in [
            Credentials::password("", "p"),
            Credentials::password("u", ""),
            Credentials::password("u\u{7}", "p"),
            Credentials::password("u", "p\u{E000}"),
            Credentials::password("u", "\u{00AD}"),
            Credentials::oauth_token("u", "t"),
        ] {
            assert_eq!(
                Client::new(&creds, "n", 4096).err(),
                Some(SaslError::UnusableCredentials)
            );
        }
    }

    #[test]
    fn step_before_initial_response() {
        let mut c = client();
        assert_eq!(c.step(SERVER_FIRST), Err(SaslError::UnexpectedChallenge));
    }
}
