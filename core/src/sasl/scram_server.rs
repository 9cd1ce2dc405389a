//! SCRAM-SHA-256, server role (RFC 5802 §3, §5; RFC 7677).
//!
//! ```text
//! C: n,,n=user,r=<c-nonce>          AUTH's initial response (or after an empty 334)
//!                                   -> NeedSecret; the application calls supply()
//! S: r=<c-nonce><s-nonce>,s=..,i=.. 334
//! C: c=biws,r=..,p=<proof>          -> the proof is checked
//! S: v=<server signature>           334 (SMTP has no "success with data", RFC 4954 §4)
//! C: (empty)                        -> Success
//! ```
//!
//! A wrong proof or a changed GS2 header yields [`ServerStep::Failure`]; a
//! client asking for channel binding (`p=`) fails too, as this server offers
//! none.

use super::codec::{decode_base64, encode_base64, hmac_sha256};
use super::scram::{KEY_LEN, attributes, is_nonce, message_text, unescape_saslname};
use super::{SCRAM_DEFAULT_ITERATIONS, SaslError, ScramCredentials, ServerStep, StoredSecret};

/// The server role.
pub(crate) struct Server {
    /// The server's part of the nonce.
    nonce: String,
    hostname: String,
    state: State,
}

/// What the client-first message said.
struct ClientFirst {
    gs2_header: String,
    bare: String,
    client_nonce: String,
    username: String,
    authzid: Option<String>,
}

enum State {
    Start,
    AwaitClientFirst,
    AwaitSecret(ClientFirst),
    AwaitClientFinal {
        first: ClientFirst,
        server_first: String,
        credentials: ScramCredentials,
    },
    AwaitEmpty {
        username: String,
        authzid: Option<String>,
    },
    Done,
}

impl Server {
    /// `nonce` and `hostname` were checked by the dispatcher.
    pub(crate) fn new(nonce: &str, hostname: &str) -> Server {
        Server {
            nonce: nonce.to_owned(),
            hostname: hostname.to_owned(),
            state: State::Start,
        }
    }

    pub(crate) fn start(&mut self, initial: Option<&[u8]>) -> Result<ServerStep, SaslError> {
        if !matches!(self.state, State::Start) {
            return Err(SaslError::BadState);
        }
        match initial {
            Some(message) => self.client_first(message),
            None => {
                self.state = State::AwaitClientFirst;
                Ok(ServerStep::Challenge(Vec::new()))
            }
        }
    }

    pub(crate) fn step(&mut self, response: &[u8]) -> Result<ServerStep, SaslError> {
        match std::mem::replace(&mut self.state, State::Done) {
            State::AwaitClientFirst => self.client_first(response),
            State::AwaitClientFinal {
                first,
                server_first,
                credentials,
            } => self.client_final(response, first, &server_first, &credentials),
            State::AwaitEmpty { username, authzid } if response.is_empty() => {
                Ok(ServerStep::Success { authzid, username })
            }
            State::AwaitEmpty { .. } => Err(SaslError::Malformed),
            State::Start | State::AwaitSecret(_) | State::Done => Err(SaslError::BadState),
        }
    }

    pub(crate) fn supply(&mut self, secret: StoredSecret) -> Result<ServerStep, SaslError> {
        let State::AwaitSecret(first) = std::mem::replace(&mut self.state, State::Done) else {
            return Err(SaslError::BadState);
        };
        let credentials = match secret {
            StoredSecret::Scram(credentials) => credentials,
            StoredSecret::AnyProof => return Err(SaslError::UnsuitableSecret),
            StoredSecret::Password(password) => {
                // A stable per-user salt: the same name sees the same salt.
                let salt = hmac_sha256(
                    self.hostname.as_bytes(),
                    &[b"mailwire scram salt\0", first.username.as_bytes()],
                );
                let salt = salt.get(..16).unwrap_or(&salt);
                ScramCredentials::from_password(password.expose(), salt, SCRAM_DEFAULT_ITERATIONS)
                    .map_err(|_| SaslError::UnsuitableSecret)?
            }
        };
        let server_first = format!(
            "r={}{},s={},i={}",
            first.client_nonce,
            self.nonce,
            encode_base64(credentials.salt()),
            credentials.iterations()
        );
        let challenge = server_first.clone().into_bytes();
        self.state = State::AwaitClientFinal {
            first,
            server_first,
            credentials,
        };
        Ok(ServerStep::Challenge(challenge))
    }

    /// Parses `gs2-header client-first-message-bare` and asks for the secret.
    fn client_first(&mut self, message: &[u8]) -> Result<ServerStep, SaslError> {
        let text = message_text(message)?;
        let (flag, rest) = text.split_once(',').ok_or(SaslError::Malformed)?;
        match flag {
            "n" | "y" => {}
            _ if flag.starts_with("p=") => return Ok(ServerStep::Failure),
            _ => return Err(SaslError::Malformed),
        }
        let (authzid, bare) = rest.split_once(',').ok_or(SaslError::Malformed)?;
        let authzid = match authzid {
            "" => None,
            _ => {
                let name = authzid.strip_prefix("a=").ok_or(SaslError::Malformed)?;
                Some(unescape_saslname(name)?)
            }
        };
        let gs2_len = text.len() - bare.len();
        let (username, client_nonce) = match attributes(bare)?.as_slice() {
            [(b'n', name), (b'r', nonce), ..] => (unescape_saslname(name)?, *nonce),
            // `m=` (a mandatory extension we do not know) or out of order.
            _ => return Err(SaslError::Malformed),
        };
        if !is_nonce(client_nonce) {
            return Err(SaslError::Malformed);
        }
        self.state = State::AwaitSecret(ClientFirst {
            gs2_header: text.get(..gs2_len).ok_or(SaslError::Malformed)?.to_owned(),
            bare: bare.to_owned(),
            client_nonce: client_nonce.to_owned(),
            username: username.clone(),
            authzid: authzid.clone(),
        });
        Ok(ServerStep::NeedSecret { authzid, username })
    }

    /// Checks `c=..,r=..,p=..` and answers with the server signature.
    fn client_final(
        &mut self,
        message: &[u8],
        first: ClientFirst,
        server_first: &str,
        credentials: &ScramCredentials,
    ) -> Result<ServerStep, SaslError> {
        let text = message_text(message)?;
        let (without_proof, proof) = text.rsplit_once(",p=").ok_or(SaslError::Malformed)?;
        let (binding, nonce) = match attributes(without_proof)?.as_slice() {
            [(b'c', binding), (b'r', nonce), ..] => (*binding, *nonce),
            _ => return Err(SaslError::Malformed),
        };
        let binding = decode_base64(binding)?;
        let proof = decode_base64(proof)?;
        if proof.len() != KEY_LEN {
            return Err(SaslError::Malformed);
        }
        let expected_nonce_len = first.client_nonce.len() + self.nonce.len();
        if nonce.len() != expected_nonce_len
            || !nonce.starts_with(&first.client_nonce)
            || !nonce.ends_with(&self.nonce)
        {
            return Err(SaslError::NonceMismatch);
        }
        if binding != first.gs2_header.as_bytes() {
            return Ok(ServerStep::Failure);
        }
        let auth_message = format!("{},{server_first},{without_proof}", first.bare);
        if !credentials.verify_proof(auth_message.as_bytes(), &proof) {
            return Ok(ServerStep::Failure);
        }
        let signature = credentials.server_signature(auth_message.as_bytes());
        self.state = State::AwaitEmpty {
            username: first.username,
            authzid: first.authzid,
        };
        Ok(ServerStep::Challenge(
            format!("v={}", encode_base64(&signature)).into_bytes(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sasl::SecretString;

    const SERVER_NONCE: &str = "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0";
    const CLIENT_FIRST: &[u8] = b"n,,n=user,r=rOprNGfwEbeRWgbNEkqO";
    const SERVER_FIRST: &[u8] =
        b"r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096";
    const CLIENT_FINAL: &[u8] = b"c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=";
    const SERVER_FINAL: &[u8] = b"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=";

    fn need_secret(username: &str, authzid: Option<&str>) -> ServerStep {
        ServerStep::NeedSecret {
            authzid: authzid.map(str::to_owned),
            username: username.to_owned(),
        }
    }

    fn pencil() -> StoredSecret {
        let salt = decode_base64("W22ZaJ0SNY7soEsUEjb6gQ==").unwrap();
        StoredSecret::Scram(ScramCredentials::from_password("pencil", &salt, 4096).unwrap())
    }

    fn awaiting_final() -> Server {
        let mut s = Server::new(SERVER_NONCE, "mx.example");
        assert_eq!(
            s.start(Some(CLIENT_FIRST)).unwrap(),
            need_secret("user", None)
        );
        assert_eq!(
            s.supply(pencil()).unwrap(),
            ServerStep::Challenge(SERVER_FIRST.to_vec())
        );
        s
    }

    #[test]
    fn rfc7677_exchange() {
        let mut s = awaiting_final();
        assert_eq!(
            s.step(CLIENT_FINAL).unwrap(),
            ServerStep::Challenge(SERVER_FINAL.to_vec())
        );
        assert_eq!(
            s.step(b"").unwrap(),
            ServerStep::Success {
                authzid: None,
                username: "user".into()
            }
        );
        assert_eq!(s.step(b""), Err(SaslError::BadState));
    }

    #[test]
    fn client_first_after_empty_challenge() {
        let mut s = Server::new(SERVER_NONCE, "mx.example");
        assert_eq!(s.start(None).unwrap(), ServerStep::Challenge(Vec::new()));
        assert_eq!(s.step(CLIENT_FIRST).unwrap(), need_secret("user", None));
        assert_eq!(s.step(CLIENT_FINAL), Err(SaslError::BadState)); // secret pending
    }

    #[test]
    fn wrong_password_fails() {
        let mut s = Server::new(SERVER_NONCE, "mx.example");
        let _ = s.start(Some(CLIENT_FIRST)).unwrap();
        let salt = decode_base64("W22ZaJ0SNY7soEsUEjb6gQ==").unwrap();
        let other = ScramCredentials::from_password("pencils", &salt, 4096).unwrap();
        let _ = s.supply(StoredSecret::Scram(other)).unwrap();
        assert_eq!(s.step(CLIENT_FINAL).unwrap(), ServerStep::Failure);
    }

    #[test]
    fn mock_credentials_fail() {
        let mut s = Server::new(SERVER_NONCE, "mx.example");
        let _ = s.start(Some(CLIENT_FIRST)).unwrap();
        let mock = ScramCredentials::mock(b"server secret", "user", 4096);
        let _ = s.supply(StoredSecret::Scram(mock)).unwrap();
        // No proof matches mock credentials.
        assert_eq!(s.step(CLIENT_FINAL).unwrap(), ServerStep::Failure);
    }

    #[test]
    fn password_secret_uses_a_stable_derived_salt() {
        let first = |host: &str| {
            let mut s = Server::new("xyz", host);
            let _ = s.start(Some(CLIENT_FIRST)).unwrap();
            match s
                .supply(StoredSecret::Password(SecretString::new("pencil")))
                .unwrap()
            {
                ServerStep::Challenge(c) => String::from_utf8(c).unwrap(),
                other => panic!("{other:?}"),
            }
        };
        let a = first("mx.example");
        assert_eq!(a, first("mx.example"));
        assert_ne!(a, first("other.example"));
        assert!(
            a.starts_with("r=rOprNGfwEbeRWgbNEkqOxyz,s=") && a.ends_with(",i=4096"),
            "{a}"
        );
        let mut s = Server::new("xyz", "h");
        let _ = s.start(Some(CLIENT_FIRST)).unwrap();
        assert_eq!(
            s.supply(StoredSecret::Password(SecretString::new("bad\u{7}"))),
            Err(SaslError::UnsuitableSecret)
        );
    }

    #[test]
    fn authzid_and_escaped_names() {
        let mut s = Server::new("xyz", "h");
        assert_eq!(
            s.start(Some(b"y,a=ad=2Cmin,n=a=3Db,r=abc")).unwrap(),
            need_secret("a=b", Some("ad,min"))
        );
        // A channel-binding request cannot be served.
        let mut s = Server::new("xyz", "h");
        assert_eq!(
            s.start(Some(b"p=tls-unique,,n=user,r=abc")).unwrap(),
            ServerStep::Failure
        );
    }

    #[test]
    fn rejects_malformed_client_first() {
        for bad in [
            &b""[..],
            b"n,,",
            b"n",
            b"n,",
            b"x,,n=user,r=abc",
            b"n,b=x,n=user,r=abc",
            b"n,a=,n=user,r=abc",
            b"n,,m=ext,n=user,r=abc",
            b"n,,r=abc,n=user",
            b"n,,n=,r=abc",
            b"n,,n=us=er,r=abc",
            b"n,,n=user,r=",
            b"n,,n=user,r=a b",
            b"n,,n=user",
            b"n,,n=u\0,r=abc",
            b"n,,n=\xff,r=abc",
        ] {
            let mut s = Server::new("xyz", "h");
            assert_eq!(
                s.start(Some(bad)),
                Err(SaslError::Malformed),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn rejects_bad_client_final() {
        let good_nonce = "rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0";
        let proof = "dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=";
        for (msg, expected) in [
            (format!("c=biws,r={good_nonce}"), Err(SaslError::Malformed)),
            (
                format!("r={good_nonce},c=biws,p={proof}"),
                Err(SaslError::Malformed),
            ),
            (
                format!("c=biws,r={good_nonce},p=AAAA"),
                Err(SaslError::Malformed),
            ),
            (
                format!("c=biws,r={good_nonce},p={proof},x=1"),
                Err(SaslError::Malformed),
            ),
            (
                format!("c=bi*s,r={good_nonce},p={proof}"),
                Err(SaslError::Malformed),
            ),
            (
                format!("c=biws,r={good_nonce}x,p={proof}"),
                Err(SaslError::NonceMismatch),
            ),
            (
                format!("c=biws,r=rOprNGfwEbeRWgbNEkqO,p={proof}"),
                Err(SaslError::NonceMismatch),
            ),
            // The GS2 header changed between the messages.
            (
                format!("c=eSws,r={good_nonce},p={proof}"),
                Ok(ServerStep::Failure),
            ),
            // A flipped proof bit.
            (
                format!("c=biws,r={good_nonce},p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVE="),
                Ok(ServerStep::Failure),
            ),
        ] {
            let mut s = awaiting_final();
            assert_eq!(s.step(msg.as_bytes()), expected, "{msg}");
        }
        let mut s = awaiting_final();
        let _ = s.step(CLIENT_FINAL).unwrap();
        assert_eq!(s.step(b"x"), Err(SaslError::Malformed));
    }

    #[test]
    fn out_of_order() {
        let mut s = Server::new("xyz", "h");
        assert_eq!(s.step(CLIENT_FIRST), Err(SaslError::BadState));
        assert_eq!(s.supply(pencil()), Err(SaslError::BadState));
        let mut s = awaiting_final();
        assert_eq!(s.supply(pencil()), Err(SaslError::BadState));
        assert_eq!(s.start(None), Err(SaslError::BadState));
    }
}
