//! Shared encodings and primitives: base64 (public), hex, constant-time
//! comparison, HMAC, and the checks on context strings.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use md5::Md5;
use sha2::Sha256;

use super::SaslError;

/// Encodes bytes as base64 (RFC 4648 standard alphabet, with padding), as
/// SMTP AUTH carries SASL messages (RFC 4954 §4).
///
/// ```
/// use mailwire_core::sasl::encode_base64;
/// assert_eq!(encode_base64(b"\0tim\0secret"), "AHRpbQBzZWNyZXQ=");
/// assert_eq!(encode_base64(b""), "");
/// ```
#[must_use]
pub fn encode_base64(data: &[u8]) -> String {
    STANDARD.encode(data)
}

/// Decodes base64 strictly: standard alphabet, canonical padding required,
/// no whitespace, no stray bits in the last character. The empty input
/// decodes to the empty message.
///
/// The `=` line (an empty initial response) and the `*` line (cancel) of
/// RFC 4954 are SMTP framing: the connection layer handles them before
/// calling this.
///
/// ```
/// use mailwire_core::sasl::decode_base64;
/// assert_eq!(decode_base64("AHRpbQBzZWNyZXQ=")?, b"\0tim\0secret");
/// assert!(decode_base64("AHRpbQBzZWNyZXQ").is_err()); // padding missing
/// assert!(decode_base64("AHRp bQ==").is_err()); // whitespace
/// # Ok::<(), mailwire_core::sasl::SaslError>(())
/// ```
pub fn decode_base64(text: impl AsRef<[u8]>) -> Result<Vec<u8>, SaslError> {
    STANDARD
        .decode(text.as_ref())
        .map_err(|_| SaslError::Malformed)
}

/// Lower-case hex.
pub(crate) fn to_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    out
}

/// Parses exactly 32 hex digits (either case) into 16 bytes.
pub(crate) fn from_hex16(text: &[u8]) -> Option<[u8; 16]> {
    fn nibble(c: u8) -> Option<u8> {
        match c {
            b'0'..=b'9' => Some(c - b'0'),
            b'a'..=b'f' => Some(c - b'a' + 10),
            b'A'..=b'F' => Some(c - b'A' + 10),
            _ => None,
        }
    }
    if text.len() != 32 {
        return None;
    }
    let mut out = [0u8; 16];
    for (o, pair) in out.iter_mut().zip(text.chunks_exact(2)) {
        let [hi, lo] = pair else { return None };
        *o = (nibble(*hi)? << 4) | nibble(*lo)?;
    }
    Some(out)
}

/// Compares two byte strings in time that depends only on their lengths.
pub(crate) fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let diff = a
        .iter()
        .zip(b)
        .fold(0u8, |acc, (x, y)| acc | std::hint::black_box(x ^ y));
    std::hint::black_box(diff) == 0
}

/// HMAC-MD5 (RFC 2104).
pub(crate) fn hmac_md5(key: &[u8], data: &[u8]) -> [u8; 16] {
    #[allow(clippy::expect_used)]
    let mut mac = Hmac::<Md5>::new_from_slice(key).expect("HMAC takes keys of any length");
    mac.update(data);
    mac.finalize().into_bytes().into()
}

/// HMAC-SHA-256 (RFC 2104) over the concatenation of `parts`.
pub(crate) fn hmac_sha256(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    #[allow(clippy::expect_used)]
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes keys of any length");
    for part in parts {
        mac.update(part);
    }
    mac.finalize().into_bytes().into()
}

/// Whether `s` can serve as a nonce, cnonce or host name in any mechanism
/// here: 1 to 256 octets of `!`..`~` other than `,`, `"` and `\`.
pub(crate) fn is_token_text(s: &str) -> bool {
    (1..=256).contains(&s.len())
        && s.bytes()
            .all(|b| (0x21..=0x7e).contains(&b) && !matches!(b, b',' | b'"' | b'\\'))
}

/// Rejects a peer message longer than `max`.
pub(crate) fn check_len(message: &[u8], max: usize) -> Result<(), SaslError> {
    if message.len() > max {
        Err(SaslError::TooLong)
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_strict() {
        assert_eq!(encode_base64(b"user"), "dXNlcg==");
        assert_eq!(decode_base64("dXNlcg==").unwrap(), b"user");
        assert_eq!(decode_base64(b"").unwrap(), b"");
        for bad in [
            "dXNlcg",
            "dXNlcg=",
            "dXNl\r\ncg==",
            " dXNlcg==",
            "dXNlcg==\n",
            "dXNlcg*=",
            "dXNlch==",
            "=",
            "*",
        ] {
            assert_eq!(decode_base64(bad), Err(SaslError::Malformed), "{bad:?}");
        }
        // URL-safe alphabet is not accepted.
        assert_eq!(decode_base64("-_8="), Err(SaslError::Malformed));
        assert_eq!(decode_base64("+/8=").unwrap(), [0xfb, 0xff]);
    }

    #[test]
    fn hex() {
        assert_eq!(to_hex(&[0x00, 0xab, 0x7f]), "00ab7f");
        let h = "b913a602c7eda7a495b4e6e7334d3890";
        assert_eq!(to_hex(&from_hex16(h.as_bytes()).unwrap()), h);
        assert_eq!(
            from_hex16(h.to_uppercase().as_bytes()),
            from_hex16(h.as_bytes())
        );
        assert_eq!(from_hex16(b"b913"), None);
        assert_eq!(from_hex16(b"g913a602c7eda7a495b4e6e7334d3890"), None);
        assert_eq!(from_hex16(b"b913a602c7eda7a495b4e6e7334d38900"), None);
    }

    #[test]
    fn constant_time_eq() {
        assert!(ct_eq(b"", b""));
        assert!(ct_eq(b"abc", b"abc"));
        assert!(!ct_eq(b"abc", b"abd"));
        assert!(!ct_eq(b"abc", b"ab"));
    }

    #[test]
    fn hmac_rfc2202_vectors() {
        // RFC 2202 §2, test case 2.
        assert_eq!(
            to_hex(&hmac_md5(b"Jefe", b"what do ya want for nothing?")),
            "750c783e6ab0b503eaa86e310a5db738"
        );
        // RFC 4231 §4.3, test case 2.
        assert_eq!(
            to_hex(&hmac_sha256(
                b"Jefe",
                &[b"what do ya want ", b"for nothing?"]
            )),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn token_text() {
        assert!(is_token_text("rOprNGfwEbeRWgbNEkqO"));
        assert!(is_token_text("%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0"));
        assert!(is_token_text("1896.697170952"));
        for bad in ["", "a,b", "a b", "a\"b", "a\\b", "é", "a\u{7f}"] {
            assert!(!is_token_text(bad), "{bad:?}");
        }
        assert!(!is_token_text(&"a".repeat(257)));
    }
}
