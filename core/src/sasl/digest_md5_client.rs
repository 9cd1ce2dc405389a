//! DIGEST-MD5, client role (RFC 2831 §2.1).
//!
//! ```text
//! S: realm="..",nonce="..",qop="auth",charset=utf-8,algorithm=md5-sess
//! C: charset=utf-8,username="..",realm="..",nonce="..",nc=00000001,
//!    cnonce="..",digest-uri="smtp/host",response=<hex>,qop=auth
//! S: rspauth=<hex>                  334 (RFC 4954 §4)
//! C: (empty)
//! S: 235
//! ```
//!
//! The client uses the first realm the server offers (none: no realm), the
//! context's nonce as `cnonce`, and `service/host` as `digest-uri`. It checks
//! `rspauth`; [`Client::finish`] fails unless it did.

use super::codec::{check_len, ct_eq};
use super::digest_md5::{
    DigestInput, MAX_CHALLENGE, NC, hash_octets, parse_directives, push_quoted,
    user_realm_password, wire_octets,
};
use super::{Credentials, SaslError, SecretString};

/// The client role.
pub(crate) struct Client {
    username: String,
    authzid: Option<String>,
    password: SecretString,
    cnonce: String,
    digest_uri: String,
    state: State,
}

enum State {
    AwaitChallenge,
    AwaitRspauth { expected: String },
    Verified,
    Failed,
}

/// What the client needs from the server's challenge.
struct Challenge {
    realm: Option<Vec<u8>>,
    nonce: Vec<u8>,
    utf8: bool,
}

impl Client {
    /// `cnonce`, `service` and `host` were checked by the dispatcher.
    pub(crate) fn new(
        credentials: &Credentials,
        cnonce: &str,
        service: &str,
        host: &str,
    ) -> Result<Client, SaslError> {
        let password = credentials
            .password_text()
            .ok_or(SaslError::UnusableCredentials)?;
        let username = credentials.username();
        if username.is_empty()
            || username.contains('\0')
            || credentials.authzid().is_some_and(|a| a.contains('\0'))
        {
            return Err(SaslError::UnusableCredentials);
        }
        Ok(Client {
            username: username.to_owned(),
            authzid: credentials.authzid().map(str::to_owned),
            password: SecretString::new(password),
            cnonce: cnonce.to_owned(),
            digest_uri: format!("{service}/{host}"),
            state: State::AwaitChallenge,
        })
    }

    pub(crate) fn step(&mut self, challenge: &[u8]) -> Result<Vec<u8>, SaslError> {
        match std::mem::replace(&mut self.state, State::Failed) {
            State::AwaitChallenge => self.respond(challenge),
            State::AwaitRspauth { expected } => {
                check_rspauth(challenge, &expected)?;
                self.state = State::Verified;
                Ok(Vec::new())
            }
            State::Verified | State::Failed => Err(SaslError::UnexpectedChallenge),
        }
    }

    /// Success needs a verified `rspauth`.
    pub(crate) fn finish(&self) -> Result<(), SaslError> {
        match self.state {
            State::Verified => Ok(()),
            State::AwaitChallenge => Err(SaslError::Incomplete),
            State::AwaitRspauth { .. } | State::Failed => Err(SaslError::ServerSignatureMismatch),
        }
    }

    fn respond(&mut self, challenge: &[u8]) -> Result<Vec<u8>, SaslError> {
        check_len(challenge, MAX_CHALLENGE)?;
        let challenge = parse_challenge(challenge)?;
        let utf8 = challenge.utf8;
        let unusable = SaslError::UnusableCredentials;
        let username = wire_octets(&self.username, utf8).ok_or(unusable.clone())?;
        let authzid = match &self.authzid {
            Some(a) => Some(wire_octets(a, utf8).ok_or(unusable.clone())?),
            None => None,
        };
        let realm = challenge.realm.unwrap_or_default();
        // The realm came from the server in its charset; hash it the same way
        // as the other strings.
        let realm_hash = match std::str::from_utf8(&realm) {
            Ok(text) if utf8 => hash_octets(text, true).ok_or(unusable.clone())?,
            _ => realm.clone(),
        };
        let urp = user_realm_password(
            &hash_octets(&self.username, utf8).ok_or(unusable.clone())?,
            &realm_hash,
            &hash_octets(self.password.expose(), utf8).ok_or(unusable)?,
        );
        let input = DigestInput {
            user_realm_password: urp,
            nonce: &challenge.nonce,
            cnonce: self.cnonce.as_bytes(),
            authzid: authzid.as_deref(),
            digest_uri: self.digest_uri.as_bytes(),
        };

        let mut out = Vec::new();
        if utf8 {
            out.extend_from_slice(b"charset=utf-8,");
        }
        push_quoted(&mut out, "username", &username);
        if !realm.is_empty() {
            push_quoted(&mut out, "realm", &realm);
        }
        push_quoted(&mut out, "nonce", &challenge.nonce);
        out.extend_from_slice(b"nc=");
        out.extend_from_slice(NC);
        out.push(b',');
        push_quoted(&mut out, "cnonce", self.cnonce.as_bytes());
        push_quoted(&mut out, "digest-uri", self.digest_uri.as_bytes());
        out.extend_from_slice(b"response=");
        out.extend_from_slice(input.response().as_bytes());
        out.extend_from_slice(b",qop=auth");
        if let Some(authzid) = &authzid {
            out.push(b',');
            push_quoted(&mut out, "authzid", authzid);
            out.pop();
        }
        self.state = State::AwaitRspauth {
            expected: input.rspauth(),
        };
        Ok(out)
    }
}

/// Reads the directives the client needs and checks the rest: exactly one
/// `nonce` and `algorithm=md5-sess`, at most one `qop`, `charset`, `maxbuf`
/// and `stale`, and `auth` among the qop options.
fn parse_challenge(challenge: &[u8]) -> Result<Challenge, SaslError> {
    let mut realm = None;
    let mut nonce = None;
    let mut qop = None;
    let mut charset = None;
    let mut algorithm = None;
    let mut seen_maxbuf = false;
    let mut seen_stale = false;
    for directive in parse_directives(challenge)? {
        let once = |slot: &mut Option<Vec<u8>>, value: Vec<u8>| {
            if slot.replace(value).is_some() {
                Err(SaslError::Malformed)
            } else {
                Ok(())
            }
        };
        match directive.name.as_str() {
            // Several realms may be offered: take the first.
            "realm" => {
                realm.get_or_insert(directive.value);
            }
            "nonce" => once(&mut nonce, directive.value)?,
            "qop" => once(&mut qop, directive.value)?,
            "charset" => once(&mut charset, directive.value)?,
            "algorithm" => once(&mut algorithm, directive.value)?,
            "maxbuf" if !std::mem::replace(&mut seen_maxbuf, true) => {}
            "stale" if !std::mem::replace(&mut seen_stale, true) => {}
            "maxbuf" | "stale" => return Err(SaslError::Malformed),
            // cipher, and anything unknown, is ignored (§2.1.1).
            _ => {}
        }
    }
    let nonce = nonce
        .filter(|n| !n.is_empty())
        .ok_or(SaslError::Malformed)?;
    if !algorithm.is_some_and(|a| a.eq_ignore_ascii_case(b"md5-sess")) {
        return Err(SaslError::Malformed);
    }
    let utf8 = match charset {
        None => false,
        Some(c) if c.eq_ignore_ascii_case(b"utf-8") => true,
        Some(_) => return Err(SaslError::Malformed),
    };
    if let Some(qop) = qop {
        let offers_auth = qop
            .split(|&b| b == b',')
            .any(|option| option.trim_ascii().eq_ignore_ascii_case(b"auth"));
        if !offers_auth {
            return Err(SaslError::UnsupportedMechanism);
        }
    }
    Ok(Challenge { realm, nonce, utf8 })
}

/// Checks the second challenge, `rspauth=<hex>`.
fn check_rspauth(challenge: &[u8], expected: &str) -> Result<(), SaslError> {
    check_len(challenge, MAX_CHALLENGE)?;
    let directives = parse_directives(challenge)?;
    let mut rspauth = directives.iter().filter(|d| d.name == "rspauth");
    match (rspauth.next(), rspauth.next()) {
        (Some(value), None) => {
            if ct_eq(&value.value.to_ascii_lowercase(), expected.as_bytes()) {
                Ok(())
            } else {
                Err(SaslError::ServerSignatureMismatch)
            }
        }
        _ => Err(SaslError::Malformed),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CHALLENGE: &[u8] = b"realm=\"elwood.innosoft.com\",nonce=\"OA6MG9tEQGm2hh\",qop=\"auth\",algorithm=md5-sess,charset=utf-8";
    const RESPONSE: &[u8] = b"charset=utf-8,username=\"chris\",realm=\"elwood.innosoft.com\",nonce=\"OA6MG9tEQGm2hh\",nc=00000001,cnonce=\"OA6MHXh6VqTrRk\",digest-uri=\"imap/elwood.innosoft.com\",response=d388dad90d4bbd760a152321f2143af7,qop=auth";

    fn client(creds: &Credentials) -> Client {
        Client::new(creds, "OA6MHXh6VqTrRk", "imap", "elwood.innosoft.com").unwrap()
    }

    fn chris() -> Client {
        client(&Credentials::password("chris", "secret"))
    }

    fn text(bytes: &[u8]) -> String {
        String::from_utf8_lossy(bytes).into_owned()
    }

    #[test]
    fn rfc2831_exchange() {
        let mut c = chris();
        assert_eq!(c.finish(), Err(SaslError::Incomplete));
        assert_eq!(text(&c.step(CHALLENGE).unwrap()), text(RESPONSE));
        assert_eq!(c.finish(), Err(SaslError::ServerSignatureMismatch));
        assert_eq!(
            c.step(b"rspauth=ea40f60335c427b5527b84dbabcdfffd").unwrap(),
            b""
        );
        assert_eq!(c.finish(), Ok(()));
        assert_eq!(c.step(b"rspauth=x"), Err(SaslError::UnexpectedChallenge));
    }

    #[test]
    fn wrong_rspauth() {
        let mut c = chris();
        let _ = c.step(CHALLENGE).unwrap();
        assert_eq!(
            c.step(b"rspauth=ea40f60335c427b5527b84dbabcdfffe"),
            Err(SaslError::ServerSignatureMismatch)
        );
        assert_eq!(c.finish(), Err(SaslError::ServerSignatureMismatch));
        for bad in [&b"stale=true"[..], b"rspauth=a,rspauth=b", b"", b"rspauth"] {
            let mut c = chris();
            let _ = c.step(CHALLENGE).unwrap();
            assert_eq!(c.step(bad), Err(SaslError::Malformed), "{}", text(bad));
        }
    }

    #[test]
    fn without_realm_charset_or_qop_and_with_authzid() {
        let mut c = client(&Credentials::password("chris", "secret").with_authzid("boss"));
        let out = text(&c.step(b"nonce=\"abc\",algorithm=md5-sess,realm=\"r1\",realm=\"r2\",maxbuf=65536,cipher=\"rc4\",x-unknown=1").unwrap());
        assert!(
            out.starts_with("username=\"chris\",realm=\"r1\",nonce=\"abc\",nc=00000001,"),
            "{out}"
        );
        assert!(out.ends_with(",qop=auth,authzid=\"boss\""), "{out}");
        let mut c = chris();
        let out = text(&c.step(b"nonce=\"abc\",algorithm=md5-sess").unwrap());
        assert!(
            out.starts_with("username=\"chris\",nonce=\"abc\","),
            "{out}"
        );
    }

    #[test]
    fn charset_handling() {
        // Latin-1 names go out as ISO 8859-1 without charset=utf-8.
        let mut c = client(&Credentials::password("jürgen", "pässword"));
        let out = c.step(b"nonce=\"n\",algorithm=md5-sess").unwrap();
        assert!(out.starts_with(b"username=\"j\xfcrgen\""));
        // A name beyond Latin-1 needs charset=utf-8.
        let mut c = client(&Credentials::password("日本", "p"));
        assert_eq!(
            c.step(b"nonce=\"n\",algorithm=md5-sess"),
            Err(SaslError::UnusableCredentials)
        );
        let mut c = client(&Credentials::password("日本", "p"));
        let out = c
            .step(b"nonce=\"n\",algorithm=md5-sess,charset=utf-8")
            .unwrap();
        assert!(out.starts_with("charset=utf-8,username=\"日本\"".as_bytes()));
    }

    #[test]
    fn rejects_bad_challenges() {
        for (bad, error) in [
            (&b""[..], SaslError::Malformed),
            (b"realm=\"r\"", SaslError::Malformed),
            (b"nonce=\"n\"", SaslError::Malformed),
            (b"nonce=\"\",algorithm=md5-sess", SaslError::Malformed),
            (b"nonce=\"n\",algorithm=md5", SaslError::Malformed),
            (
                b"nonce=\"n\",nonce=\"m\",algorithm=md5-sess",
                SaslError::Malformed,
            ),
            (
                b"nonce=\"n\",algorithm=md5-sess,algorithm=md5-sess",
                SaslError::Malformed,
            ),
            (
                b"nonce=\"n\",algorithm=md5-sess,charset=iso-8859-1",
                SaslError::Malformed,
            ),
            (
                b"nonce=\"n\",algorithm=md5-sess,maxbuf=1,maxbuf=2",
                SaslError::Malformed,
            ),
            (
                b"nonce=\"n\",algorithm=md5-sess,qop=\"auth-int,auth-conf\"",
                SaslError::UnsupportedMechanism,
            ),
            (
                b"nonce=\"n\",algorithm=md5-sess,qop=\"auth\",qop=\"auth\"",
                SaslError::Malformed,
            ),
            (b"nonce=\"n,algorithm=md5-sess", SaslError::Malformed),
        ] {
            assert_eq!(chris().step(bad), Err(error.clone()), "{}", text(bad));
        }
        let long = [
            b"nonce=\"n\",algorithm=md5-sess,x=\"".as_slice(),
            &[b'a'; 2048],
            b"\"",
        ]
        .concat();
        assert_eq!(chris().step(&long), Err(SaslError::TooLong));
        // qop lists are matched by element.
        assert!(
            chris()
                .step(b"nonce=\"n\",algorithm=md5-sess,qop=\"auth-int, auth\"")
                .is_ok()
        );
    }

    #[test]
    fn rejects_unusable_credentials() {
        for creds in [
            Credentials::password("", "p"),
            Credentials::password("a\0", "p"),
            Credentials::oauth_token("u", "t"),
        ] {
            assert_eq!(
                Client::new(&creds, "c", "smtp", "h").err(),
                Some(SaslError::UnusableCredentials)
            );
        }
    }
}
