//! CRAM-MD5 (RFC 2195): the server sends a message-id-like challenge, the
//! client answers `username SP hex(HMAC-MD5(password, challenge))`.
//!
//! The server needs the password itself (or an equivalent), so it asks the
//! application for it with [`ServerStep::NeedSecret`].

use super::codec::{ct_eq, from_hex16, hmac_md5, to_hex};
use super::{Credentials, SaslError, SecretString, ServerStep, StoredSecret};

/// The client role.
pub(crate) struct Client {
    username: String,
    password: SecretString,
    answered: bool,
}

impl Client {
    pub(crate) fn new(credentials: &Credentials) -> Result<Client, SaslError> {
        let password = credentials
            .password_text()
            .ok_or(SaslError::UnusableCredentials)?;
        let username = credentials.username();
        if credentials.authzid().is_some() || username.is_empty() || username.contains('\0') {
            return Err(SaslError::UnusableCredentials);
        }
        Ok(Client {
            username: username.to_owned(),
            password: SecretString::new(password),
            answered: false,
        })
    }

    pub(crate) fn step(&mut self, challenge: &[u8]) -> Result<Vec<u8>, SaslError> {
        if self.answered {
            return Err(SaslError::UnexpectedChallenge);
        }
        if challenge.is_empty() {
            return Err(SaslError::Malformed);
        }
        self.answered = true;
        let digest = hmac_md5(self.password.expose().as_bytes(), challenge);
        Ok(format!("{} {}", self.username, to_hex(&digest)).into_bytes())
    }
}

/// The server role.
pub(crate) struct Server {
    challenge: Vec<u8>,
    state: ServerState,
}

enum ServerState {
    Start,
    AwaitResponse,
    AwaitSecret { username: String, digest: [u8; 16] },
    Done,
}

impl Server {
    /// `nonce` and `hostname` were checked by the dispatcher; the challenge
    /// is `<nonce@hostname>` (RFC 2195 §2, where the nonce is
    /// `random.timestamp`).
    pub(crate) fn new(nonce: &str, hostname: &str) -> Server {
        Server {
            challenge: format!("<{nonce}@{hostname}>").into_bytes(),
            state: ServerState::Start,
        }
    }

    pub(crate) fn start(&mut self, initial: Option<&[u8]>) -> Result<ServerStep, SaslError> {
        if !matches!(self.state, ServerState::Start) {
            return Err(SaslError::BadState);
        }
        if initial.is_some() {
            // Server-first: an initial response breaks the mechanism.
            return Err(SaslError::Malformed);
        }
        self.state = ServerState::AwaitResponse;
        Ok(ServerStep::Challenge(self.challenge.clone()))
    }

    pub(crate) fn step(&mut self, response: &[u8]) -> Result<ServerStep, SaslError> {
        if !matches!(self.state, ServerState::AwaitResponse) {
            return Err(SaslError::BadState);
        }
        self.state = ServerState::Done;
        // The user name may itself hold spaces: the digest follows the last.
        let text = std::str::from_utf8(response).map_err(|_| SaslError::Malformed)?;
        let (username, hex) = text.rsplit_once(' ').ok_or(SaslError::Malformed)?;
        let digest = from_hex16(hex.as_bytes()).ok_or(SaslError::Malformed)?;
        if username.is_empty() || username.contains('\0') {
            return Err(SaslError::Malformed);
        }
        self.state = ServerState::AwaitSecret {
            username: username.to_owned(),
            digest,
        };
        Ok(ServerStep::NeedSecret {
            authzid: None,
            username: username.to_owned(),
        })
    }

    pub(crate) fn supply(&mut self, secret: StoredSecret) -> Result<ServerStep, SaslError> {
        let ServerState::AwaitSecret { username, digest } =
            std::mem::replace(&mut self.state, ServerState::Done)
        else {
            return Err(SaslError::BadState);
        };
        let password = match secret {
            StoredSecret::Password(password) => password,
            StoredSecret::AnyProof => {
                return Ok(ServerStep::Success {
                    authzid: None,
                    username,
                });
            }
            StoredSecret::Scram(_) => return Err(SaslError::UnsuitableSecret),
        };
        let expected = hmac_md5(password.expose().as_bytes(), &self.challenge);
        Ok(if ct_eq(&expected, &digest) {
            ServerStep::Success {
                authzid: None,
                username,
            }
        } else {
            ServerStep::Failure
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sasl::ScramCredentials;

    const CHALLENGE: &[u8] = b"<1896.697170952@postoffice.reston.mci.net>";
    const RESPONSE: &[u8] = b"tim b913a602c7eda7a495b4e6e7334d3890";

    fn server_awaiting_secret(response: &[u8]) -> Server {
        let mut s = Server::new("1896.697170952", "postoffice.reston.mci.net");
        assert_eq!(
            s.start(None).unwrap(),
            ServerStep::Challenge(CHALLENGE.to_vec())
        );
        assert_eq!(
            s.step(response).unwrap(),
            ServerStep::NeedSecret {
                authzid: None,
                username: "tim".into()
            }
        );
        s
    }

    #[test]
    fn client_rfc2195() {
        let mut c = Client::new(&Credentials::password("tim", "tanstaaftanstaaf")).unwrap();
        assert_eq!(c.step(CHALLENGE).unwrap(), RESPONSE);
        assert_eq!(c.step(CHALLENGE), Err(SaslError::UnexpectedChallenge));
    }

    #[test]
    fn client_rejects_empty_challenge_and_bad_credentials() {
        let mut c = Client::new(&Credentials::password("tim", "x")).unwrap();
        assert_eq!(c.step(b""), Err(SaslError::Malformed));
        for creds in [
            Credentials::password("", "p"),
            Credentials::password("u", "p").with_authzid("z"),
            Credentials::oauth_token("u", "t"),
        ] {
            assert_eq!(
                Client::new(&creds).err(),
                Some(SaslError::UnusableCredentials)
            );
        }
    }

    #[test]
    fn server_rfc2195() {
        let mut s = server_awaiting_secret(RESPONSE);
        assert_eq!(
            s.supply(StoredSecret::Password("tanstaaftanstaaf".into()))
                .unwrap(),
            ServerStep::Success {
                authzid: None,
                username: "tim".into()
            }
        );
        assert_eq!(
            s.supply(StoredSecret::Password("x".into())),
            Err(SaslError::BadState)
        );
    }

    #[test]
    fn server_accepts_upper_case_hex_and_spaces_in_names() {
        let mut s = server_awaiting_secret(b"tim B913A602C7EDA7A495B4E6E7334D3890");
        let ok = s.supply(StoredSecret::Password("tanstaaftanstaaf".into()));
        assert!(matches!(ok, Ok(ServerStep::Success { .. })));
        let mut s = Server::new("1", "h");
        let _ = s.start(None).unwrap();
        let step = s
            .step(b"tim smith 00000000000000000000000000000000")
            .unwrap();
        assert_eq!(
            step,
            ServerStep::NeedSecret {
                authzid: None,
                username: "tim smith".into()
            }
        );
    }

    #[test]
    fn server_accepts_any_digest_when_told_to() {
        let mut s = server_awaiting_secret(b"tim 00000000000000000000000000000000");
        assert_eq!(
            s.supply(StoredSecret::AnyProof).unwrap(),
            ServerStep::Success {
                authzid: None,
                username: "tim".into()
            }
        );
    }

    #[test]
    fn server_wrong_password_fails() {
        let mut s = server_awaiting_secret(RESPONSE);
        assert_eq!(
            s.supply(StoredSecret::Password("tanstaaf".into())).unwrap(),
            ServerStep::Failure
        );
    }

    #[test]
    fn server_needs_the_password() {
        let mut s = server_awaiting_secret(RESPONSE);
        let scram = ScramCredentials::from_password("tanstaaftanstaaf", b"salt", 1).unwrap();
        assert_eq!(
            s.supply(StoredSecret::Scram(scram)),
            Err(SaslError::UnsuitableSecret)
        );
    }

    #[test]
    fn server_rejects_malformed() {
        let mut s = Server::new("1", "h");
        assert_eq!(s.start(Some(b"tim")), Err(SaslError::Malformed));
        let mut s = Server::new("1", "h");
        assert_eq!(s.step(RESPONSE), Err(SaslError::BadState));
        assert_eq!(
            s.supply(StoredSecret::Password("p".into())),
            Err(SaslError::BadState)
        );
        for bad in [
            &b""[..],
            b"tim",
            b"timb913a602c7eda7a495b4e6e7334d3890",
            b" b913a602c7eda7a495b4e6e7334d3890",
            b"tim b913a602c7eda7a495b4e6e7334d389",
            b"tim b913a602c7eda7a495b4e6e7334d3890 ",
            b"tim z913a602c7eda7a495b4e6e7334d3890",
            b"t\xffm b913a602c7eda7a495b4e6e7334d3890",
        ] {
            let mut s = Server::new("1", "h");
            let _ = s.start(None).unwrap();
            assert_eq!(s.step(bad), Err(SaslError::Malformed), "{bad:?}");
        }
    }
}
