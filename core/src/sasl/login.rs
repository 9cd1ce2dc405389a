//! LOGIN (draft-murchison-sasl-login): the server prompts `Username:` and
//! `Password:`, the client answers each.
//!
//! The client goes by order, not by the prompt text (servers word the prompts
//! differently): the first challenge gets the user name, the second the
//! password. If the user name went out as the initial response, the first
//! challenge gets the password.

use super::{Credentials, SaslError, SecretString, ServerStep};

/// The server's first prompt.
pub(crate) const USERNAME_PROMPT: &[u8] = b"Username:";
/// The server's second prompt.
pub(crate) const PASSWORD_PROMPT: &[u8] = b"Password:";

/// The client role.
pub(crate) struct Client {
    username: String,
    password: SecretString,
    sent: u8,
}

impl Client {
    pub(crate) fn new(credentials: &Credentials) -> Result<Client, SaslError> {
        let password = credentials
            .password_text()
            .ok_or(SaslError::UnusableCredentials)?;
        let username = credentials.username();
        if credentials.authzid().is_some()
            || username.is_empty()
            || password.is_empty()
            || username.contains('\0')
            || password.contains('\0')
        {
            return Err(SaslError::UnusableCredentials);
        }
        Ok(Client {
            username: username.to_owned(),
            password: SecretString::new(password),
            sent: 0,
        })
    }

    /// The user name, sent early (only when the caller asked for it).
    pub(crate) fn initial_response(&mut self) -> Vec<u8> {
        self.sent = 1;
        self.username.as_bytes().to_vec()
    }

    pub(crate) fn step(&mut self, _prompt: &[u8]) -> Result<Vec<u8>, SaslError> {
        let answer = match self.sent {
            0 => self.username.as_bytes().to_vec(),
            1 => self.password.expose().as_bytes().to_vec(),
            _ => return Err(SaslError::UnexpectedChallenge),
        };
        self.sent += 1;
        Ok(answer)
    }
}

/// The server role.
pub(crate) struct Server {
    state: ServerState,
}

enum ServerState {
    Start,
    AwaitUsername,
    AwaitPassword(String),
    Done,
}

impl Server {
    pub(crate) fn new() -> Server {
        Server {
            state: ServerState::Start,
        }
    }

    pub(crate) fn start(&mut self, initial: Option<&[u8]>) -> Result<ServerStep, SaslError> {
        if !matches!(self.state, ServerState::Start) {
            return Err(SaslError::BadState);
        }
        match initial {
            None => {
                self.state = ServerState::AwaitUsername;
                Ok(ServerStep::Challenge(USERNAME_PROMPT.to_vec()))
            }
            Some(username) => self.take_username(username),
        }
    }

    pub(crate) fn step(&mut self, response: &[u8]) -> Result<ServerStep, SaslError> {
        match std::mem::replace(&mut self.state, ServerState::Done) {
            ServerState::AwaitUsername => self.take_username(response),
            ServerState::AwaitPassword(username) => Ok(ServerStep::VerifyPassword {
                authzid: None,
                username,
                password: SecretString::new(field(response)?),
            }),
            ServerState::Start | ServerState::Done => Err(SaslError::BadState),
        }
    }

    fn take_username(&mut self, response: &[u8]) -> Result<ServerStep, SaslError> {
        self.state = ServerState::AwaitPassword(field(response)?.to_owned());
        Ok(ServerStep::Challenge(PASSWORD_PROMPT.to_vec()))
    }
}

/// A user name or password: non-empty UTF-8 without NUL.
fn field(bytes: &[u8]) -> Result<&str, SaslError> {
    match std::str::from_utf8(bytes) {
        Ok(text) if !text.is_empty() && !text.contains('\0') => Ok(text),
        _ => Err(SaslError::Malformed),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn creds() -> Credentials {
        Credentials::password("user1", "secret")
    }

    #[test]
    fn client_answers_in_order() {
        let mut c = Client::new(&creds()).unwrap();
        assert_eq!(c.step(b"Username:").unwrap(), b"user1");
        assert_eq!(c.step(b"Password:").unwrap(), b"secret");
        assert_eq!(c.step(b"Password:"), Err(SaslError::UnexpectedChallenge));
    }

    #[test]
    fn client_goes_by_order_not_prompt_text() {
        let mut c = Client::new(&creds()).unwrap();
        assert_eq!(c.step(b"User Name\0").unwrap(), b"user1");
        assert_eq!(c.step(b"").unwrap(), b"secret");
    }

    #[test]
    fn client_with_initial_username() {
        let mut c = Client::new(&creds()).unwrap();
        assert_eq!(c.initial_response(), b"user1");
        assert_eq!(c.step(b"Password:").unwrap(), b"secret");
        assert_eq!(c.step(b"Password:"), Err(SaslError::UnexpectedChallenge));
    }

    #[test]
    fn client_rejects_unusable_credentials() {
        for creds in [
            Credentials::password("", "p"),
            Credentials::password("u", ""),
            Credentials::password("u\0", "p"),
            Credentials::password("u", "\0p"),
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
    fn server_prompts_then_verifies() {
        let mut s = Server::new();
        assert_eq!(
            s.start(None).unwrap(),
            ServerStep::Challenge(b"Username:".to_vec())
        );
        assert_eq!(
            s.step(b"user1").unwrap(),
            ServerStep::Challenge(b"Password:".to_vec())
        );
        assert_eq!(
            s.step(b"secret").unwrap(),
            ServerStep::VerifyPassword {
                authzid: None,
                username: "user1".into(),
                password: SecretString::new("secret"),
            }
        );
        assert_eq!(s.step(b"more"), Err(SaslError::BadState));
        assert_eq!(s.start(None), Err(SaslError::BadState));
    }

    #[test]
    fn server_accepts_username_as_initial_response() {
        let mut s = Server::new();
        assert_eq!(
            s.start(Some(b"user1")).unwrap(),
            ServerStep::Challenge(b"Password:".to_vec())
        );
        assert!(matches!(
            s.step(b"secret").unwrap(),
            ServerStep::VerifyPassword { .. }
        ));
    }

    #[test]
    fn server_rejects_malformed() {
        assert_eq!(Server::new().start(Some(b"")), Err(SaslError::Malformed));
        assert_eq!(Server::new().step(b"user1"), Err(SaslError::BadState));
        for bad in [&b""[..], b"us\0er", b"\xff"] {
            let mut s = Server::new();
            let _ = s.start(None).unwrap();
            assert_eq!(s.step(bad), Err(SaslError::Malformed), "user {bad:?}");
            let mut s = Server::new();
            let _ = s.start(None).unwrap();
            let _ = s.step(b"user1").unwrap();
            assert_eq!(s.step(bad), Err(SaslError::Malformed), "password {bad:?}");
        }
    }
}
