//! XOAUTH2 (Google, Microsoft): `user=` user `^Aauth=Bearer ` token `^A^A`,
//! client role only.
//!
//! On failure the server sends a `334` whose (decoded) challenge is a JSON
//! error object; the client answers with an empty line and the server then
//! sends `535`. The JSON is kept for diagnostics
//! ([`ClientMechanism::server_error`](super::ClientMechanism::server_error)).

use super::{Credentials, SaslError, Secret, SecretString};

/// The client role.
pub(crate) struct Client {
    username: String,
    token: SecretString,
    error: Option<String>,
}

impl Client {
    pub(crate) fn new(credentials: &Credentials) -> Result<Client, SaslError> {
        let Secret::OAuthToken(token) = credentials.secret() else {
            return Err(SaslError::UnusableCredentials);
        };
        let username = credentials.username();
        let bad = |s: &str| s.is_empty() || s.bytes().any(|b| b == 0x01 || b.is_ascii_control());
        if credentials.authzid().is_some() || bad(username) || bad(token.expose()) {
            return Err(SaslError::UnusableCredentials);
        }
        Ok(Client {
            username: username.to_owned(),
            token: token.clone(),
            error: None,
        })
    }

    pub(crate) fn initial_response(&mut self) -> Vec<u8> {
        format!(
            "user={}\x01auth=Bearer {}\x01\x01",
            self.username,
            self.token.expose()
        )
        .into_bytes()
    }

    /// Any challenge after the initial response is an error report: answer
    /// it with an empty response and remember it.
    pub(crate) fn step(&mut self, challenge: &[u8]) -> Result<Vec<u8>, SaslError> {
        if self.error.is_some() {
            return Err(SaslError::UnexpectedChallenge);
        }
        self.error = Some(String::from_utf8_lossy(challenge).into_owned());
        Ok(Vec::new())
    }

    pub(crate) fn error(&self) -> Option<&str> {
        self.error.as_deref()
    }

    pub(crate) fn finish(&self) -> Result<(), SaslError> {
        match &self.error {
            Some(error) => Err(SaslError::ServerError(error.clone())),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn initial_response_format() {
        // The example of Google's XOAUTH2 protocol documentation.
        let creds = Credentials::oauth_token(
            "someuser@example.com",
            "ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg",
        );
        let mut c = Client::new(&creds).unwrap();
        let ir = c.initial_response();
        assert_eq!(
            ir,
            b"user=someuser@example.com\x01auth=Bearer ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg\x01\x01"
        );
        assert_eq!(
            crate::sasl::encode_base64(&ir),
            "dXNlcj1zb21ldXNlckBleGFtcGxlLmNvbQFhdXRoPUJlYXJlciB5YTI5LnZGOWRmdDRxbVRjMk52YjNSbGNrQmhkSFJoZG1semRHRXVZMjl0Q2cBAQ=="
        );
        assert_eq!(c.finish(), Ok(()));
        assert_eq!(c.error(), None);
    }

    #[test]
    fn error_challenge_gets_empty_answer() {
        let mut c = Client::new(&Credentials::oauth_token("u@example.com", "tok")).unwrap();
        let _ = c.initial_response();
        let json = br#"{"status":"401","schemes":"bearer","scope":"https://mail.google.com/"}"#;
        assert_eq!(c.step(json).unwrap(), b"");
        assert_eq!(c.error(), Some(std::str::from_utf8(json).unwrap()));
        assert!(matches!(c.finish(), Err(SaslError::ServerError(e)) if e.contains("401")));
        assert_eq!(c.step(json), Err(SaslError::UnexpectedChallenge));
    }

    #[test]
    fn rejects_unusable_credentials() {
        for creds in [
            Credentials::password("u", "p"),
            Credentials::oauth_token("", "t"),
            Credentials::oauth_token("u", ""),
            Credentials::oauth_token("u\x01", "t"),
            Credentials::oauth_token("u", "t\x01"),
            Credentials::oauth_token("u", "t\r\n"),
            Credentials::oauth_token("u", "t").with_authzid("z"),
        ] {
            assert_eq!(
                Client::new(&creds).err(),
                Some(SaslError::UnusableCredentials)
            );
        }
    }
}
