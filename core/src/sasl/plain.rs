//! PLAIN (RFC 4616): `[authzid] NUL authcid NUL passwd`, in one message.

use super::{Credentials, SaslError, SecretString, ServerStep};

/// The client role.
pub(crate) struct Client {
    message: Vec<u8>,
}

impl Client {
    pub(crate) fn new(credentials: &Credentials) -> Result<Client, SaslError> {
        let password = credentials
            .password_text()
            .ok_or(SaslError::UnusableCredentials)?;
        let authzid = credentials.authzid().unwrap_or("");
        let username = credentials.username();
        let fields = [authzid, username, password];
        if username.is_empty() || password.is_empty() || fields.iter().any(|f| f.contains('\0')) {
            return Err(SaslError::UnusableCredentials);
        }
        Ok(Client {
            message: fields.join("\0").into_bytes(),
        })
    }

    /// The single message (the initial response, or the answer to an empty
    /// challenge, which the dispatcher routes here).
    pub(crate) fn initial_response(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.message)
    }

    /// PLAIN has no challenges.
    pub(crate) fn step(&mut self, _challenge: &[u8]) -> Result<Vec<u8>, SaslError> {
        Err(SaslError::UnexpectedChallenge)
    }
}

/// The server role.
pub(crate) struct Server {
    challenged: bool,
}

impl Server {
    pub(crate) fn new() -> Server {
        Server { challenged: false }
    }

    pub(crate) fn start(&mut self, initial: Option<&[u8]>) -> Result<ServerStep, SaslError> {
        match initial {
            Some(message) => parse(message),
            None => {
                self.challenged = true;
                Ok(ServerStep::Challenge(Vec::new()))
            }
        }
    }

    pub(crate) fn step(&mut self, response: &[u8]) -> Result<ServerStep, SaslError> {
        if !self.challenged {
            return Err(SaslError::BadState);
        }
        self.challenged = false;
        parse(response)
    }
}

/// Splits `[authzid] NUL authcid NUL passwd`: exactly two NULs, a non-empty
/// authcid and password, all UTF-8.
fn parse(message: &[u8]) -> Result<ServerStep, SaslError> {
    let text = std::str::from_utf8(message).map_err(|_| SaslError::Malformed)?;
    let mut fields = text.split('\0');
    let (Some(authzid), Some(username), Some(password), None) =
        (fields.next(), fields.next(), fields.next(), fields.next())
    else {
        return Err(SaslError::Malformed);
    };
    if username.is_empty() || password.is_empty() {
        return Err(SaslError::Malformed);
    }
    Ok(ServerStep::VerifyPassword {
        authzid: (!authzid.is_empty()).then(|| authzid.to_owned()),
        username: username.to_owned(),
        password: SecretString::new(password),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn verify(authzid: Option<&str>, username: &str, password: &str) -> ServerStep {
        ServerStep::VerifyPassword {
            authzid: authzid.map(str::to_owned),
            username: username.to_owned(),
            password: SecretString::new(password),
        }
    }

    #[test]
    fn client_message() {
        let mut c = Client::new(&Credentials::password("tim", "secret")).unwrap();
        assert_eq!(c.initial_response(), b"\0tim\0secret");
        assert_eq!(c.step(b""), Err(SaslError::UnexpectedChallenge));
        let mut c =
            Client::new(&Credentials::password("tim", "secret").with_authzid("boss")).unwrap();
        assert_eq!(c.initial_response(), b"boss\0tim\0secret");
    }

    #[test]
    fn client_rejects_unusable_credentials() {
        for creds in [
            Credentials::password("", "p"),
            Credentials::password("u", ""),
            Credentials::password("u\0x", "p"),
            Credentials::password("u", "p\0"),
            Credentials::password("u", "p").with_authzid("a\0"),
            Credentials::oauth_token("u", "t"),
        ] {
            assert_eq!(
                Client::new(&creds).err(),
                Some(SaslError::UnusableCredentials)
            );
        }
    }

    #[test]
    fn server_with_initial_response() {
        let mut s = Server::new();
        assert_eq!(
            s.start(Some(b"\0tim\0secret")).unwrap(),
            verify(None, "tim", "secret")
        );
        let mut s = Server::new();
        assert_eq!(
            s.start(Some(b"boss\0tim\0s\xc3\xa9")).unwrap(),
            verify(Some("boss"), "tim", "sé")
        );
        // A step without an outstanding challenge is out of order.
        assert_eq!(Server::new().step(b"\0a\0b"), Err(SaslError::BadState));
    }

    #[test]
    fn server_after_empty_challenge() {
        let mut s = Server::new();
        assert_eq!(s.start(None).unwrap(), ServerStep::Challenge(Vec::new()));
        assert_eq!(
            s.step(b"\0tim\0secret").unwrap(),
            verify(None, "tim", "secret")
        );
    }

    #[test]
    fn server_rejects_malformed() {
        for bad in [
            &b""[..],
            b"tim",
            b"\0tim",
            b"\0tim\0",
            b"\0\0secret",
            b"\0tim\0secret\0",
            b"a\0b\0c\0d",
            b"\0tim\0\xff\xfe",
        ] {
            assert_eq!(
                Server::new().start(Some(bad)),
                Err(SaslError::Malformed),
                "{bad:?}"
            );
        }
    }
}
