//! A table-free subset of SASLprep (RFC 4013).

use std::borrow::Cow;

use super::SaslError;

/// Prepares a user name or password with the table-free part of SASLprep
/// (RFC 4013):
///
/// * printable ASCII passes through unchanged (and is not copied);
/// * the non-ASCII space characters (RFC 3454 C.1.2) become U+0020;
/// * the characters "commonly mapped to nothing" (B.1) are removed;
/// * control characters (C.2.1, C.2.2), private-use characters (C.3),
///   non-characters (C.4), and the characters of C.6 to C.9 are refused with
///   [`SaslError::UnusableCredentials`].
///
/// **Not done**: NFKC normalisation, the check for unassigned code points,
/// and the bidirectional-text rule (they need the Unicode tables). A string
/// already in NFKC form, which covers the passwords people type in practice,
/// comes out as full SASLprep would produce it.
///
/// ```
/// use mailwire_core::sasl::saslprep;
/// assert_eq!(saslprep("pencil")?, "pencil");
/// assert_eq!(saslprep("I\u{00AD}X")?, "IX"); // RFC 4013 §3, example 1
/// assert_eq!(saslprep("a\u{00A0}b")?, "a b");
/// assert!(saslprep("\u{0007}").is_err()); // RFC 4013 §3, example 5
/// # Ok::<(), mailwire_core::sasl::SaslError>(())
/// ```
pub fn saslprep(input: &str) -> Result<Cow<'_, str>, SaslError> {
    if input.bytes().all(|b| (0x20..0x7f).contains(&b)) {
        return Ok(Cow::Borrowed(input));
    }
    let mut out = String::with_capacity(input.len());
    for c in input.chars() {
        if is_non_ascii_space(c) {
            out.push(' ');
        } else if is_mapped_to_nothing(c) {
        } else if is_prohibited(c) {
            return Err(SaslError::UnusableCredentials);
        } else {
            out.push(c);
        }
    }
    Ok(Cow::Owned(out))
}

/// RFC 3454 table C.1.2.
fn is_non_ascii_space(c: char) -> bool {
    matches!(
        c,
        '\u{00A0}' | '\u{1680}' | '\u{2000}'..='\u{200B}' | '\u{202F}' | '\u{205F}' | '\u{3000}'
    )
}

/// RFC 3454 table B.1.
fn is_mapped_to_nothing(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}'
            | '\u{034F}'
            | '\u{1806}'
            | '\u{180B}'..='\u{180D}'
            | '\u{200B}'..='\u{200D}'
            | '\u{2060}'
            | '\u{FE00}'..='\u{FE0F}'
            | '\u{FEFF}'
    )
}

/// RFC 3454 tables C.2.1, C.2.2, C.3, C.4, C.6, C.7, C.8 and C.9 (C.5,
/// surrogates, cannot occur in a `str`).
fn is_prohibited(c: char) -> bool {
    let u = u32::from(c);
    // C.4: the last two code points of every plane, and U+FDD0..U+FDEF.
    let non_character = (0xFDD0..=0xFDEF).contains(&u) || (u & 0xFFFE) == 0xFFFE;
    non_character
        || matches!(
            c,
            // C.2.1 and C.2.2
            '\u{0000}'..='\u{001F}'
                | '\u{007F}'..='\u{009F}'
                | '\u{06DD}'
                | '\u{070F}'
                | '\u{180E}'
                | '\u{200C}'
                | '\u{200D}'
                | '\u{2028}'
                | '\u{2029}'
                | '\u{2060}'..='\u{2063}'
                | '\u{206A}'..='\u{206F}'
                | '\u{FEFF}'
                | '\u{FFF9}'..='\u{FFFC}'
                | '\u{1D173}'..='\u{1D17A}'
                // C.3
                | '\u{E000}'..='\u{F8FF}'
                | '\u{F0000}'..='\u{FFFFD}'
                | '\u{100000}'..='\u{10FFFD}'
                // C.6
                | '\u{FFFD}'
                // C.7
                | '\u{2FF0}'..='\u{2FFB}'
                // C.8
                | '\u{0340}'
                | '\u{0341}'
                | '\u{200E}'
                | '\u{200F}'
                | '\u{202A}'..='\u{202E}'
                // C.9
                | '\u{E0001}'
                | '\u{E0020}'..='\u{E007F}'
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ascii_is_borrowed() {
        assert!(matches!(saslprep("pencil"), Ok(Cow::Borrowed("pencil"))));
        assert!(matches!(saslprep(""), Ok(Cow::Borrowed(""))));
        assert!(matches!(saslprep("a b=c,d"), Ok(Cow::Borrowed("a b=c,d"))));
    }

    #[test]
    fn rfc4013_examples() {
        // §3: 1 SOFT HYPHEN mapped to nothing; 2 no transformation;
        // 5 prohibited character. (3 and 4 need NFKC: not implemented.)
        assert_eq!(saslprep("I\u{00AD}X").unwrap(), "IX");
        assert_eq!(saslprep("user").unwrap(), "user");
        assert_eq!(saslprep("USER").unwrap(), "USER");
        assert_eq!(saslprep("\u{0007}"), Err(SaslError::UnusableCredentials));
    }

    #[test]
    fn mapping() {
        assert_eq!(saslprep("a\u{3000}b\u{2003}c").unwrap(), "a b c");
        assert_eq!(saslprep("a\u{200B}b").unwrap(), "a b");
        assert_eq!(saslprep("a\u{FEFF}\u{FE0F}\u{200D}b").unwrap(), "ab");
        assert_eq!(saslprep("pässwörd").unwrap(), "pässwörd");
        assert_eq!(saslprep("日本語").unwrap(), "日本語");
    }

    #[test]
    fn prohibited() {
        for bad in [
            "a\u{0}b",
            "tab\t",
            "del\u{7f}",
            "\u{0085}",
            "\u{E000}",
            "\u{FFFF}",
            "\u{1FFFE}",
            "\u{FDD0}",
            "\u{202E}",
            "\u{E0041}",
            "\u{2028}",
            "\u{FFFD}",
            "\u{10FFFD}",
        ] {
            assert_eq!(
                saslprep(bad),
                Err(SaslError::UnusableCredentials),
                "{bad:?}"
            );
        }
    }
}
