//! DIGEST-MD5, server role (RFC 2831 §2.1), `qop=auth` only.
//!
//! The server offers one realm, its host name, and needs the user's password
//! ([`StoredSecret::Password`]) to check the response. On success it sends
//! `rspauth` as a `334` challenge and reports [`ServerStep::Success`] when the
//! client's (empty) answer arrives (RFC 4954 §4).
//!
//! The `digest-uri` must name the context's service (`smtp`); its host part
//! is not checked, since clients name the server as they reached it (the
//! response covers this server's nonce, so it cannot be replayed elsewhere).

use super::codec::{check_len, ct_eq, from_hex16};
use super::digest_md5::{
    DigestInput, MAX_RESPONSE, NC, hash_octets, parse_directives, user_realm_password, wire_text,
};
use super::{SaslError, ServerStep, StoredSecret};

/// The server role.
pub(crate) struct Server {
    realm: String,
    nonce: String,
    service: String,
    state: State,
}

/// A parsed digest-response.
struct Response {
    username: String,
    authzid: Option<String>,
    /// The realm as the client named it (empty if it named none).
    realm: String,
    cnonce: Vec<u8>,
    digest_uri: Vec<u8>,
    response: [u8; 16],
    utf8: bool,
}

enum State {
    Start,
    AwaitResponse,
    AwaitSecret(Response),
    AwaitEmpty {
        username: String,
        authzid: Option<String>,
    },
    Done,
}

impl Server {
    /// `nonce`, `hostname` and `service` were checked by the dispatcher.
    pub(crate) fn new(nonce: &str, hostname: &str, service: &str) -> Server {
        Server {
            realm: hostname.to_owned(),
            nonce: nonce.to_owned(),
            service: service.to_owned(),
            state: State::Start,
        }
    }

    pub(crate) fn start(&mut self, initial: Option<&[u8]>) -> Result<ServerStep, SaslError> {
        if !matches!(self.state, State::Start) {
            return Err(SaslError::BadState);
        }
        if initial.is_some() {
            // Server-first ("subsequent authentication" is not supported).
            return Err(SaslError::Malformed);
        }
        self.state = State::AwaitResponse;
        Ok(ServerStep::Challenge(
            format!(
                "realm=\"{}\",nonce=\"{}\",qop=\"auth\",charset=utf-8,algorithm=md5-sess",
                self.realm, self.nonce
            )
            .into_bytes(),
        ))
    }

    pub(crate) fn step(&mut self, response: &[u8]) -> Result<ServerStep, SaslError> {
        match std::mem::replace(&mut self.state, State::Done) {
            State::AwaitResponse => {
                check_len(response, MAX_RESPONSE)?;
                let parsed = self.parse_response(response)?;
                let step = ServerStep::NeedSecret {
                    authzid: parsed.authzid.clone(),
                    username: parsed.username.clone(),
                };
                self.state = State::AwaitSecret(parsed);
                Ok(step)
            }
            State::AwaitEmpty { username, authzid } if response.is_empty() => {
                Ok(ServerStep::Success { authzid, username })
            }
            State::AwaitEmpty { .. } => Err(SaslError::Malformed),
            State::Start | State::AwaitSecret(_) | State::Done => Err(SaslError::BadState),
        }
    }

    pub(crate) fn supply(&mut self, secret: StoredSecret) -> Result<ServerStep, SaslError> {
        let State::AwaitSecret(response) = std::mem::replace(&mut self.state, State::Done) else {
            return Err(SaslError::BadState);
        };
        let StoredSecret::Password(password) = secret else {
            return Err(SaslError::UnsuitableSecret);
        };
        let utf8 = response.utf8;
        // The wire text of the names always converts back; a password beyond
        // Latin-1 cannot have been used by a client without charset=utf-8.
        let (Some(username), Some(realm), Some(password)) = (
            hash_octets(&response.username, utf8),
            hash_octets(&response.realm, utf8),
            hash_octets(password.expose(), utf8),
        ) else {
            return Ok(ServerStep::Failure);
        };
        let authzid = match &response.authzid {
            Some(a) if utf8 => Some(a.as_bytes().to_vec()),
            Some(a) => Some(hash_octets(a, false).ok_or(SaslError::Malformed)?),
            None => None,
        };
        let input = DigestInput {
            user_realm_password: user_realm_password(&username, &realm, &password),
            nonce: self.nonce.as_bytes(),
            cnonce: &response.cnonce,
            authzid: authzid.as_deref(),
            digest_uri: &response.digest_uri,
        };
        let expected = from_hex16(input.response().as_bytes()).ok_or(SaslError::BadState)?;
        if !ct_eq(&expected, &response.response) {
            return Ok(ServerStep::Failure);
        }
        let rspauth = format!("rspauth={}", input.rspauth());
        self.state = State::AwaitEmpty {
            username: response.username,
            authzid: response.authzid,
        };
        Ok(ServerStep::Challenge(rspauth.into_bytes()))
    }

    fn parse_response(&self, message: &[u8]) -> Result<Response, SaslError> {
        let mut fields: [Option<Vec<u8>>; 10] = Default::default();
        const NAMES: [&str; 10] = [
            "username",
            "realm",
            "nonce",
            "cnonce",
            "nc",
            "qop",
            "digest-uri",
            "response",
            "charset",
            "authzid",
        ];
        for directive in parse_directives(message)? {
            // maxbuf and cipher matter only for a security layer; others are
            // ignored as §2.1.2 requires.
            if let Some(i) = NAMES.iter().position(|n| *n == directive.name) {
                let slot = fields.get_mut(i).ok_or(SaslError::Malformed)?;
                if slot.replace(directive.value).is_some() {
                    return Err(SaslError::Malformed);
                }
            }
        }
        let [
            username,
            realm,
            nonce,
            cnonce,
            nc,
            qop,
            digest_uri,
            response,
            charset,
            authzid,
        ] = fields;
        let utf8 = match charset {
            None => false,
            Some(c) if c.eq_ignore_ascii_case(b"utf-8") => true,
            Some(_) => return Err(SaslError::Malformed),
        };
        let username = wire_text(&username.ok_or(SaslError::Malformed)?, utf8)?;
        let realm = match realm {
            Some(r) => wire_text(&r, utf8)?,
            None => String::new(),
        };
        if !realm.is_empty() && realm != self.realm {
            return Err(SaslError::Malformed);
        }
        if nonce.ok_or(SaslError::Malformed)? != self.nonce.as_bytes() {
            return Err(SaslError::NonceMismatch);
        }
        let cnonce = cnonce
            .filter(|c| !c.is_empty())
            .ok_or(SaslError::Malformed)?;
        if nc.as_deref() != Some(NC) {
            return Err(SaslError::Malformed);
        }
        if !qop.is_none_or(|q| q.eq_ignore_ascii_case(b"auth")) {
            return Err(SaslError::Malformed);
        }
        let digest_uri = digest_uri.ok_or(SaslError::Malformed)?;
        let service_ok = digest_uri
            .split(|&b| b == b'/')
            .next()
            .is_some_and(|s| s.eq_ignore_ascii_case(self.service.as_bytes()));
        if !service_ok || !digest_uri.contains(&b'/') {
            return Err(SaslError::Malformed);
        }
        let response = response
            .and_then(|r| from_hex16(&r))
            .ok_or(SaslError::Malformed)?;
        let authzid = match authzid {
            Some(a) if !a.is_empty() => Some(wire_text(&a, utf8)?),
            _ => None,
        };
        if username.is_empty()
            || username.contains('\0')
            || authzid.as_ref().is_some_and(|a| a.contains('\0'))
        {
            return Err(SaslError::Malformed);
        }
        Ok(Response {
            username,
            authzid,
            realm,
            cnonce,
            digest_uri,
            response,
            utf8,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sasl::ScramCredentials;

    const RESPONSE: &str = "charset=utf-8,username=\"chris\",realm=\"elwood.innosoft.com\",nonce=\"OA6MG9tEQGm2hh\",nc=00000001,cnonce=\"OA6MHXh6VqTrRk\",digest-uri=\"imap/elwood.innosoft.com\",response=d388dad90d4bbd760a152321f2143af7,qop=auth";

    fn server() -> Server {
        Server::new("OA6MG9tEQGm2hh", "elwood.innosoft.com", "imap")
    }

    fn started() -> Server {
        let mut s = server();
        let challenge = s.start(None).unwrap();
        assert_eq!(
            challenge,
            ServerStep::Challenge(
                b"realm=\"elwood.innosoft.com\",nonce=\"OA6MG9tEQGm2hh\",qop=\"auth\",charset=utf-8,algorithm=md5-sess".to_vec()
            )
        );
        s
    }

    fn chris(authzid: Option<&str>) -> ServerStep {
        ServerStep::NeedSecret {
            authzid: authzid.map(str::to_owned),
            username: "chris".into(),
        }
    }

    #[test]
    fn rfc2831_exchange() {
        let mut s = started();
        assert_eq!(s.step(RESPONSE.as_bytes()).unwrap(), chris(None));
        assert_eq!(
            s.supply(StoredSecret::Password("secret".into())).unwrap(),
            ServerStep::Challenge(b"rspauth=ea40f60335c427b5527b84dbabcdfffd".to_vec())
        );
        assert_eq!(
            s.step(b"").unwrap(),
            ServerStep::Success {
                authzid: None,
                username: "chris".into()
            }
        );
        assert_eq!(s.step(b""), Err(SaslError::BadState));
    }

    #[test]
    fn wrong_password_or_secret_kind() {
        let mut s = started();
        let _ = s.step(RESPONSE.as_bytes()).unwrap();
        assert_eq!(
            s.supply(StoredSecret::Password("Secret".into())).unwrap(),
            ServerStep::Failure
        );
        let mut s = started();
        let _ = s.step(RESPONSE.as_bytes()).unwrap();
        let scram = ScramCredentials::from_parts(vec![1], 1, [0; 32], [0; 32]);
        assert_eq!(
            s.supply(StoredSecret::Scram(scram)),
            Err(SaslError::UnsuitableSecret)
        );
    }

    #[test]
    fn non_empty_final_response() {
        let mut s = started();
        let _ = s.step(RESPONSE.as_bytes()).unwrap();
        let _ = s.supply(StoredSecret::Password("secret".into())).unwrap();
        assert_eq!(s.step(b"x"), Err(SaslError::Malformed));
    }

    #[test]
    fn rejects_bad_responses() {
        let cases: [(&str, &str, SaslError); 14] = [
            ("username=\"chris\",", "", SaslError::Malformed),
            (
                "realm=\"elwood.innosoft.com\",",
                "realm=\"other\",",
                SaslError::Malformed,
            ),
            (
                "nonce=\"OA6MG9tEQGm2hh\"",
                "nonce=\"OA6MG9tEQGm2hX\"",
                SaslError::NonceMismatch,
            ),
            ("nonce=\"OA6MG9tEQGm2hh\",", "", SaslError::Malformed),
            (
                "cnonce=\"OA6MHXh6VqTrRk\"",
                "cnonce=\"\"",
                SaslError::Malformed,
            ),
            ("nc=00000001", "nc=00000002", SaslError::Malformed),
            ("nc=00000001,", "", SaslError::Malformed),
            ("qop=auth", "qop=auth-int", SaslError::Malformed),
            ("imap/", "smtp/", SaslError::Malformed),
            (
                "\"imap/elwood.innosoft.com\"",
                "\"imap\"",
                SaslError::Malformed,
            ),
            (
                "response=d388dad90d4bbd760a152321f2143af7",
                "response=d388",
                SaslError::Malformed,
            ),
            ("charset=utf-8", "charset=latin1", SaslError::Malformed),
            (
                "username=\"chris\"",
                "username=\"chris\",username=\"tim\"",
                SaslError::Malformed,
            ),
            ("username=\"chris\"", "username=\"\"", SaslError::Malformed),
        ];
        for (from, to, error) in cases {
            let mut s = started();
            let msg = RESPONSE.replacen(from, to, 1);
            assert_ne!(msg, RESPONSE);
            assert_eq!(s.step(msg.as_bytes()), Err(error), "{msg}");
        }
        let mut s = started();
        assert_eq!(s.step(&[b'a'; 4096]), Err(SaslError::TooLong));
        let mut s = started();
        assert_eq!(s.step(b"garbage"), Err(SaslError::Malformed));
    }

    #[test]
    fn optional_directives() {
        // No realm, no qop, no charset, with authzid and unknown directives.
        let mut s = started();
        let msg = "username=\"chris\",nonce=\"OA6MG9tEQGm2hh\",nc=00000001,cnonce=\"c\",digest-uri=\"imap/x\",response=00000000000000000000000000000000,authzid=\"boss\",maxbuf=1000,x=y";
        assert_eq!(s.step(msg.as_bytes()).unwrap(), chris(Some("boss")));
        assert_eq!(
            s.supply(StoredSecret::Password("secret".into())).unwrap(),
            ServerStep::Failure
        );
    }

    #[test]
    fn out_of_order() {
        let mut s = server();
        assert_eq!(s.step(RESPONSE.as_bytes()), Err(SaslError::BadState));
        assert_eq!(
            s.supply(StoredSecret::Password("p".into())),
            Err(SaslError::BadState)
        );
        assert_eq!(server().start(Some(b"x")), Err(SaslError::Malformed));
        let mut s = started();
        assert_eq!(s.start(None), Err(SaslError::BadState));
    }
}
