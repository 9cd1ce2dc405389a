//! DIGEST-MD5 (RFC 2831), the parts both roles share: the directive syntax,
//! the charset rule and the digest computation. Only `qop=auth` (no
//! integrity or confidentiality layer) and `algorithm=md5-sess`. The roles
//! are in `digest_md5_client.rs` and `digest_md5_server.rs`.
//!
//! RFC 6331 moved DIGEST-MD5 to Historic; it is here for old servers.

use md5::{Digest, Md5};

use super::SaslError;
use super::codec::to_hex;

/// RFC 2831 §2.1.1: "The size of a digest-challenge MUST be less than 2048
/// bytes."
pub(crate) const MAX_CHALLENGE: usize = 2047;
/// RFC 2831 §2.1.2: "The size of a digest-response MUST be less than 4096
/// bytes."
pub(crate) const MAX_RESPONSE: usize = 4095;

/// One `name=value` directive; the name in lower case, the value unquoted.
pub(crate) struct Directive {
    pub(crate) name: String,
    pub(crate) value: Vec<u8>,
}

/// Parses `1#( name "=" ( token | quoted-string ) )` (RFC 2831 §7.1: the
/// list may hold empty elements and linear white space around commas).
///
/// Unquoted values are read leniently, up to the next comma or white space,
/// since some peers leave `digest-uri` and the like unquoted.
pub(crate) fn parse_directives(input: &[u8]) -> Result<Vec<Directive>, SaslError> {
    let mut out = Vec::new();
    let mut rest = input;
    loop {
        rest = skip_lws_and_commas(rest);
        let Some(&first) = rest.first() else { break };
        if !is_name_byte(first) {
            return Err(SaslError::Malformed);
        }
        let name_len = rest.iter().take_while(|b| is_name_byte(**b)).count();
        let (name, after) = rest.split_at(name_len);
        let after = skip_lws(after);
        let after = after.strip_prefix(b"=").ok_or(SaslError::Malformed)?;
        let after = skip_lws(after);
        let (value, after) = match after.first() {
            Some(b'"') => quoted(after.get(1..).unwrap_or_default())?,
            _ => {
                let len = after
                    .iter()
                    .take_while(|b| !matches!(b, b',' | b' ' | b'\t' | b'\r' | b'\n' | b'"'))
                    .count();
                let (value, after) = after.split_at(len);
                if value.is_empty() || value.iter().any(u8::is_ascii_control) {
                    return Err(SaslError::Malformed);
                }
                (value.to_vec(), after)
            }
        };
        // After a value: white space, then a comma or the end.
        rest = skip_lws(after);
        if !(rest.is_empty() || rest.starts_with(b",")) {
            return Err(SaslError::Malformed);
        }
        out.push(Directive {
            name: String::from_utf8_lossy(name).to_ascii_lowercase(),
            value,
        });
    }
    if out.is_empty() {
        return Err(SaslError::Malformed);
    }
    Ok(out)
}

/// The body of a quoted string (the opening quote already consumed), and
/// what follows the closing quote.
fn quoted(mut input: &[u8]) -> Result<(Vec<u8>, &[u8]), SaslError> {
    let mut value = Vec::new();
    loop {
        match input {
            [b'"', rest @ ..] => return Ok((value, rest)),
            [b'\\', c, rest @ ..] => {
                value.push(*c);
                input = rest;
            }
            [c, rest @ ..] if *c != b'\\' && (!c.is_ascii_control() || *c == b'\t') => {
                value.push(*c);
                input = rest;
            }
            _ => return Err(SaslError::Malformed),
        }
    }
}

fn is_name_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-' || b == b'_'
}

fn skip_lws(input: &[u8]) -> &[u8] {
    let n = input
        .iter()
        .take_while(|b| matches!(b, b' ' | b'\t' | b'\r' | b'\n'))
        .count();
    input.get(n..).unwrap_or_default()
}

fn skip_lws_and_commas(input: &[u8]) -> &[u8] {
    let n = input
        .iter()
        .take_while(|b| matches!(b, b' ' | b'\t' | b'\r' | b'\n' | b','))
        .count();
    input.get(n..).unwrap_or_default()
}

/// Appends `name="value"` (with `"` and `\` escaped) and a comma.
pub(crate) fn push_quoted(out: &mut Vec<u8>, name: &str, value: &[u8]) {
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b"=\"");
    for &b in value {
        if b == b'"' || b == b'\\' {
            out.push(b'\\');
        }
        out.push(b);
    }
    out.extend_from_slice(b"\",");
}

/// The octets hashed for a user name, realm or password (RFC 2831 §2.1.2.1):
/// ISO 8859-1 when every character fits it, otherwise UTF-8 — which is only
/// allowed when `charset=utf-8` is in force.
pub(crate) fn hash_octets(text: &str, utf8: bool) -> Option<Vec<u8>> {
    let latin1: Option<Vec<u8>> = text.chars().map(|c| u8::try_from(c).ok()).collect();
    match latin1 {
        Some(bytes) => Some(bytes),
        None if utf8 => Some(text.as_bytes().to_vec()),
        None => None,
    }
}

/// The octets sent on the wire for a user name or realm: UTF-8 under
/// `charset=utf-8`, ISO 8859-1 otherwise.
pub(crate) fn wire_octets(text: &str, utf8: bool) -> Option<Vec<u8>> {
    if utf8 {
        Some(text.as_bytes().to_vec())
    } else {
        hash_octets(text, false)
    }
}

/// Reads a user name or realm from the wire (the reverse of
/// [`wire_octets`]).
pub(crate) fn wire_text(octets: &[u8], utf8: bool) -> Result<String, SaslError> {
    if utf8 {
        String::from_utf8(octets.to_vec()).map_err(|_| SaslError::Malformed)
    } else {
        Ok(octets.iter().map(|&b| char::from(b)).collect())
    }
}

/// The inputs of a digest.
pub(crate) struct DigestInput<'a> {
    /// `H(username ":" realm ":" password)`, over the hash octets.
    pub(crate) user_realm_password: [u8; 16],
    pub(crate) nonce: &'a [u8],
    pub(crate) cnonce: &'a [u8],
    pub(crate) authzid: Option<&'a [u8]>,
    pub(crate) digest_uri: &'a [u8],
}

/// `H(username ":" realm ":" password)`.
pub(crate) fn user_realm_password(username: &[u8], realm: &[u8], password: &[u8]) -> [u8; 16] {
    Md5::new()
        .chain_update(username)
        .chain_update(b":")
        .chain_update(realm)
        .chain_update(b":")
        .chain_update(password)
        .finalize()
        .into()
}

/// The nonce count of the first (and only) authentication.
pub(crate) const NC: &[u8] = b"00000001";

impl DigestInput<'_> {
    /// The `response` value (client proof, A2 = `AUTHENTICATE:` digest-uri).
    pub(crate) fn response(&self) -> String {
        self.digest(b"AUTHENTICATE:")
    }

    /// The `rspauth` value (server proof, A2 = `:` digest-uri).
    pub(crate) fn rspauth(&self) -> String {
        self.digest(b":")
    }

    fn digest(&self, a2_prefix: &[u8]) -> String {
        let mut a1 = Md5::new()
            .chain_update(self.user_realm_password)
            .chain_update(b":")
            .chain_update(self.nonce)
            .chain_update(b":")
            .chain_update(self.cnonce);
        if let Some(authzid) = self.authzid {
            a1 = a1.chain_update(b":").chain_update(authzid);
        }
        let ha1 = to_hex(&a1.finalize());
        let ha2 = to_hex(
            &Md5::new()
                .chain_update(a2_prefix)
                .chain_update(self.digest_uri)
                .finalize(),
        );
        let kd = Md5::new()
            .chain_update(ha1)
            .chain_update(b":")
            .chain_update(self.nonce)
            .chain_update(b":")
            .chain_update(NC)
            .chain_update(b":")
            .chain_update(self.cnonce)
            .chain_update(b":auth:")
            .chain_update(ha2)
            .finalize();
        to_hex(&kd)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(input: &[u8]) -> Vec<(String, String)> {
        parse_directives(input)
            .unwrap()
            .into_iter()
            .map(|d| (d.name, String::from_utf8(d.value).unwrap()))
            .collect()
    }

    #[test]
    fn parses_rfc2831_challenge() {
        let got = pairs(b"realm=\"elwood.innosoft.com\",nonce=\"OA6MG9tEQGm2hh\",qop=\"auth\",algorithm=md5-sess,charset=utf-8");
        let want = [
            ("realm", "elwood.innosoft.com"),
            ("nonce", "OA6MG9tEQGm2hh"),
            ("qop", "auth"),
            ("algorithm", "md5-sess"),
            ("charset", "utf-8"),
        ];
        assert_eq!(got, want.map(|(a, b)| (a.to_owned(), b.to_owned())));
    }

    #[test]
    fn parses_lws_empty_elements_escapes_and_case() {
        let got = pairs(b" ,Realm = \"a\\\"b\\\\c\" ,, nonce=\"\" , digest-uri=smtp/h,\t");
        assert_eq!(
            got,
            [
                ("realm".to_owned(), "a\"b\\c".to_owned()),
                ("nonce".to_owned(), String::new()),
                ("digest-uri".to_owned(), "smtp/h".to_owned()),
            ]
        );
    }

    #[test]
    fn rejects_bad_syntax() {
        for bad in [
            &b""[..],
            b",,",
            b"realm",
            b"realm=",
            b"realm=\"abc",
            b"realm=\"a\\",
            b"realm=\"a\"b",
            b"realm=a b",
            b"=x",
            b"re alm=x",
            b"realm=\"a\x01\"",
            b"realm=a\x01",
            b"\"realm\"=x",
        ] {
            assert!(
                parse_directives(bad).is_err(),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn push_quoted_escapes() {
        let mut out = Vec::new();
        push_quoted(&mut out, "username", b"a\"b\\c");
        assert_eq!(out, b"username=\"a\\\"b\\\\c\",");
        let back = parse_directives(out.strip_suffix(b",").unwrap()).unwrap();
        assert_eq!(back[0].value, b"a\"b\\c");
    }

    #[test]
    fn charset_rule() {
        assert_eq!(hash_octets("chris", false).unwrap(), b"chris");
        assert_eq!(hash_octets("pässword", true).unwrap(), b"p\xe4ssword");
        assert_eq!(hash_octets("日本", true).unwrap(), "日本".as_bytes());
        assert_eq!(hash_octets("日本", false), None);
        assert_eq!(wire_octets("pä", true).unwrap(), "pä".as_bytes());
        assert_eq!(wire_octets("pä", false).unwrap(), b"p\xe4");
        assert_eq!(wire_text(b"p\xe4", false).unwrap(), "pä");
        assert_eq!(wire_text("pä".as_bytes(), true).unwrap(), "pä");
        assert_eq!(wire_text(b"p\xe4", true), Err(SaslError::Malformed));
    }

    #[test]
    fn rfc2831_digests() {
        let urp = user_realm_password(b"chris", b"elwood.innosoft.com", b"secret");
        let input = DigestInput {
            user_realm_password: urp,
            nonce: b"OA6MG9tEQGm2hh",
            cnonce: b"OA6MHXh6VqTrRk",
            authzid: None,
            digest_uri: b"imap/elwood.innosoft.com",
        };
        assert_eq!(input.response(), "d388dad90d4bbd760a152321f2143af7");
        assert_eq!(input.rspauth(), "ea40f60335c427b5527b84dbabcdfffd");
        let with_authzid = DigestInput {
            authzid: Some(b"admin"),
            ..input
        };
        assert_ne!(with_authzid.response(), "d388dad90d4bbd760a152321f2143af7");
    }
}
