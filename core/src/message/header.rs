//! The header section of a message, found on the raw bytes.
//!
//! Nothing here decodes or copies: a field is a set of offsets into the
//! message, so the fields that are kept can be written back byte for byte
//! (folding, spacing and line ends included).

use std::ops::Range;

use super::MessageError;

/// One header field: `name ":" value`, continuation lines included.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RawField {
    /// The whole field, from the first byte of the name through the line end
    /// of its last line (or the end of the message).
    pub(crate) range: Range<usize>,
    /// The name, without any whitespace before the colon.
    pub(crate) name: Range<usize>,
    /// The value: everything after the colon through the end of the field.
    pub(crate) value: Range<usize>,
}

impl RawField {
    /// The name as text (names are printable ASCII by construction).
    pub(crate) fn name<'a>(&self, message: &'a [u8]) -> &'a str {
        message
            .get(self.name.clone())
            .and_then(|name| std::str::from_utf8(name).ok())
            .unwrap_or("")
    }

    /// The raw value bytes.
    pub(crate) fn value<'a>(&self, message: &'a [u8]) -> &'a [u8] {
        message.get(self.value.clone()).unwrap_or_default()
    }
}

/// The header section of a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct HeaderSection {
    /// The fields, in message order.
    pub(crate) fields: Vec<RawField>,
    /// Where the header fields end: the offset of the empty separator line,
    /// of the end of the message, or `0` for an empty section. Headers
    /// added at the bottom go here.
    pub(crate) end: usize,
    /// The line end the message uses: that of its first line (CRLF when it
    /// has none). Added headers use it too, so the message stays uniform.
    pub(crate) line_end: &'static [u8],
}

/// Whether `b` may appear in a field name (RFC 5322 §3.6.8 `ftext`).
pub(crate) fn is_ftext(b: u8) -> bool {
    (33..=126).contains(&b) && b != b':'
}

/// The line end style of a message: the one of its first line.
pub(crate) fn line_end_of(message: &[u8]) -> &'static [u8] {
    match memchr::memchr(b'\n', message) {
        Some(0) => b"\n",
        Some(at) if message.get(at - 1) == Some(&b'\r') => b"\r\n",
        Some(_) => b"\n",
        None => b"\r\n",
    }
}

/// The offset just past the end of the header section's separator line
/// (the body start), found by the simple rule every reader agrees on: the
/// first empty line. Returns the message length when there is none.
pub(crate) fn body_start(message: &[u8]) -> usize {
    if message.starts_with(b"\n") {
        return 1;
    }
    if message.starts_with(b"\r\n") {
        return 2;
    }
    let mut from = 0;
    while let Some(at) = memchr::memchr(b'\n', message.get(from..).unwrap_or_default()) {
        let next = from + at + 1;
        let rest = message.get(next..).unwrap_or_default();
        if rest.starts_with(b"\n") {
            return next + 1;
        }
        if rest.starts_with(b"\r\n") {
            return next + 2;
        }
        from = next;
    }
    message.len()
}

/// The length of the header section of `message`, its separator line
/// included (where the body starts), or `None` when `message` holds no
/// empty line: then all of it is header (or the header section goes on
/// past what was read).
///
/// ```
/// use mailwire_core::message::header_section_len;
///
/// assert_eq!(header_section_len(b"Subject: hi\r\n\r\nbody"), Some(15));
/// assert_eq!(header_section_len(b"Subject: hi\n\n"), Some(13));
/// assert_eq!(header_section_len(b"Subject: hi\r\nTo: b"), None);
/// ```
#[must_use]
pub fn header_section_len(message: &[u8]) -> Option<usize> {
    let start = body_start(message);
    let complete = start < message.len()
        || message.ends_with(b"\n\n")
        || message.ends_with(b"\n\r\n")
        || message == b"\n"
        || message == b"\r\n";
    complete.then_some(start)
}

/// Finds the header fields of `message`.
///
/// Lines end with LF (CRLF or bare LF). The section ends at the first empty
/// line or at the end of the message. A line starting with a space or a tab
/// continues the field above it. Any other line must be `name ":" …` (with
/// optional whitespace before the colon, the obsolete syntax); a line that is
/// none of these, a continuation line with no field above it, or a bare CR
/// anywhere in the section is [`MessageError::MalformedHeader`]: guessing
/// where such a header section ends could hide a `Bcc` from us that a
/// receiver would see.
pub(crate) fn scan(message: &[u8]) -> Result<HeaderSection, MessageError> {
    let mut fields: Vec<RawField> = Vec::new();
    let mut pos = 0;
    let mut line_no = 0;
    while pos < message.len() {
        line_no += 1;
        let rest = message.get(pos..).unwrap_or_default();
        let (content_len, next) = match memchr::memchr(b'\n', rest) {
            Some(at) => {
                let content = if at > 0 && rest.get(at - 1) == Some(&b'\r') {
                    at - 1
                } else {
                    at
                };
                (content, pos + at + 1)
            }
            None => (rest.len(), message.len()),
        };
        let line = rest.get(..content_len).unwrap_or_default();
        let terminated = content_len < rest.len();
        if line.is_empty() && terminated {
            break;
        }
        if memchr::memchr(b'\r', line).is_some() {
            return Err(MessageError::MalformedHeader { line: line_no });
        }
        match line.first() {
            Some(b' ' | b'\t') => match fields.last_mut() {
                Some(field) => {
                    field.range.end = next;
                    field.value.end = next;
                }
                None => return Err(MessageError::MalformedHeader { line: line_no }),
            },
            _ => {
                let name_len = line.iter().take_while(|&&b| is_ftext(b)).count();
                let after_name = line.get(name_len..).unwrap_or_default();
                let spaces = after_name
                    .iter()
                    .take_while(|&&b| b == b' ' || b == b'\t')
                    .count();
                if name_len == 0 || after_name.get(spaces) != Some(&b':') {
                    return Err(MessageError::MalformedHeader { line: line_no });
                }
                let colon = pos + name_len + spaces;
                fields.push(RawField {
                    range: pos..next,
                    name: pos..pos + name_len,
                    value: colon + 1..next,
                });
            }
        }
        pos = next;
    }
    let end = fields.last().map_or(0, |field| field.range.end);
    Ok(HeaderSection {
        fields,
        end,
        line_end: line_end_of(message),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(message: &[u8]) -> Vec<String> {
        let section = scan(message).unwrap();
        section
            .fields
            .iter()
            .map(|f| f.name(message).to_owned())
            .collect()
    }

    #[test]
    fn fields_with_folding_and_mixed_line_ends() {
        let msg = b"To: a@x,\r\n\tb@x\r\nSubject : hi\n there\nFrom: c@x\r\n\r\nbody\r\nX: y\r\n";
        let section = scan(msg).unwrap();
        assert_eq!(names(msg), ["To", "Subject", "From"]);
        assert_eq!(section.fields[0].value(msg), b" a@x,\r\n\tb@x\r\n");
        assert_eq!(section.fields[1].value(msg), b" hi\n there\n");
        assert_eq!(
            &msg[section.fields[1].range.clone()],
            b"Subject : hi\n there\n"
        );
        assert_eq!(section.end, msg.len() - b"\r\nbody\r\nX: y\r\n".len());
        assert_eq!(section.line_end, b"\r\n");
        assert_eq!(body_start(msg), msg.len() - b"body\r\nX: y\r\n".len());
    }

    #[test]
    fn section_without_body_and_unterminated_last_line() {
        let msg = b"Subject: x\nTo: a@x";
        let section = scan(msg).unwrap();
        assert_eq!(names(msg), ["Subject", "To"]);
        assert_eq!(section.end, msg.len());
        assert_eq!(section.line_end, b"\n");
        assert_eq!(body_start(msg), msg.len());
    }

    #[test]
    fn empty_section() {
        for msg in [&b"\r\nbody"[..], b"\nbody", b""] {
            let section = scan(msg).unwrap();
            assert!(section.fields.is_empty());
            assert_eq!(section.end, 0);
        }
        assert_eq!(body_start(b"\r\nbody"), 2);
    }

    #[test]
    fn malformed_lines_are_refused() {
        for (msg, line) in [
            (&b"hello world\r\n\r\n"[..], 1),
            (b" starts folded\r\n\r\n", 1),
            (b"To: a@x\r\nFrom a@x\r\n\r\n", 2),
            (b"To: a@x\rBcc: b@x\r\n\r\n", 1),
            (b"To: a@x\r\n\r\r\n", 2),
            (b": no name\r\n", 1),
            (b"N\xc3\xa4me: x\r\n", 1),
        ] {
            assert_eq!(
                scan(msg),
                Err(MessageError::MalformedHeader { line }),
                "{:?}",
                String::from_utf8_lossy(msg)
            );
        }
    }

    #[test]
    fn whitespace_only_line_is_a_continuation() {
        let msg = b"To: a@x\r\n \r\nBcc: b@x\r\n\r\nbody";
        assert_eq!(names(msg), ["To", "Bcc"]);
    }
}
