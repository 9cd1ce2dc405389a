//! Writing the builder's header fields: through mail-builder's encoders
//! (RFC 2047 words, RFC 2231 parameters) when the message must stay
//! ASCII, as UTF-8 (RFC 6532) when the server takes it.

use mail_builder::headers::Header;
use mail_builder::headers::address::Address;
use mail_builder::headers::content_type::ContentType;
use mail_builder::headers::text::Text;

use super::BuildError;
use super::address::{NameAddr, address_for, phrase};
use crate::message::fold::{write_field, write_text_field};
use crate::message::header::is_ftext;

/// Whether the header section may hold UTF-8 (RFC 6532): whether the
/// server offers SMTPUTF8 (RFC 6531).
///
/// Everything that has an ASCII form is written in it either way — display
/// names, subjects and other text as RFC 2047 encoded words, file names as
/// RFC 2231 parameters, domains as A-labels — so the message needs
/// SMTPUTF8 (and every server on its way must offer it) only when it
/// cannot do without: an address whose local part is not ASCII.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum HeaderCharset {
    /// The message must be pure ASCII (the server does not offer
    /// SMTPUTF8): a non-ASCII local part is an error
    /// ([`BuildError::Utf8LocalPart`]).
    #[default]
    Ascii,
    /// The server offers SMTPUTF8: an address with a non-ASCII local part
    /// is written in UTF-8 (and sent with SMTPUTF8).
    Utf8,
}

impl HeaderCharset {
    /// [`Utf8`](Self::Utf8) when the server offers SMTPUTF8, else
    /// [`Ascii`](Self::Ascii).
    #[must_use]
    pub fn for_server(smtputf8: bool) -> Self {
        if smtputf8 {
            HeaderCharset::Utf8
        } else {
            HeaderCharset::Ascii
        }
    }
}

/// A word longer than this is not written raw in a UTF-8 field: encoded
/// words split it, so no line exceeds 998 octets.
const LONGEST_RAW_WORD: usize = 900;

/// Checks a header name (RFC 5322 `ftext`) and value (no control byte but
/// HTAB).
pub(super) fn check_field(name: &str, value: &str) -> Result<(), BuildError> {
    if name.is_empty() || !name.bytes().all(is_ftext) {
        return Err(BuildError::InvalidHeaderName(name.to_owned()));
    }
    check_value(name, value)
}

/// Checks a value for control bytes (only HTAB is allowed).
pub(super) fn check_value(name: &str, value: &str) -> Result<(), BuildError> {
    match value
        .bytes()
        .find(|&b| (b < 0x20 && b != b'\t') || b == 0x7f)
    {
        Some(byte) => Err(BuildError::HeaderInjection {
            header: name.to_owned(),
            byte,
        }),
        None => Ok(()),
    }
}

/// Whether a UTF-8 value can be written raw (every word short enough).
fn raw_fits(value: &str) -> bool {
    value.split(' ').all(|word| word.len() <= LONGEST_RAW_WORD)
}

/// Writes `name: value` for unstructured text (Subject, custom fields):
/// as it is when ASCII with no word too long for a line, else as RFC 2047
/// encoded words. Text is encoded also for a server with SMTPUTF8: a
/// message needs SMTPUTF8 only when it cannot be written otherwise (see
/// [`HeaderCharset`]).
pub(super) fn write_text(name: &str, value: &str, out: &mut Vec<u8>) {
    if value.is_ascii() && raw_fits(value) {
        write_text_field(name, value, b"\r\n", out);
    } else {
        write_name(name, out);
        Text::new(value).write_header(out, name.len() + 2);
    }
}

/// Writes `name: ` for a mail-builder value.
fn write_name(name: &str, out: &mut Vec<u8>) {
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b": ");
}

/// Writes an address list field: ASCII display names as they are (quoted
/// when needed), others encoded (RFC 2047) by mail-builder; addresses in their ASCII form unless their
/// local part has none (then UTF-8, which only a server with SMTPUTF8
/// takes).
pub(super) fn write_addresses(
    name: &str,
    list: &[NameAddr],
    charset: HeaderCharset,
    out: &mut Vec<u8>,
) -> Result<(), BuildError> {
    let mut items = Vec::with_capacity(list.len());
    for item in list {
        if let Some(display) = &item.name {
            check_value(name, display)?;
        }
        items.push((
            item.name.as_deref(),
            address_for(name, &item.address, charset)?,
        ));
    }
    let plain = items
        .iter()
        .all(|(display, _)| display.is_none_or(|d| d.is_ascii() && raw_fits(d)));
    if plain {
        // ASCII names: written as swaks and lettre write them (`addr`,
        // `Name <addr>`, quoted only when needed), folded between words.
        let mut tokens: Vec<String> = Vec::new();
        for (index, (display, address)) in items.iter().enumerate() {
            let comma = if index + 1 < items.len() { "," } else { "" };
            if let Some(display) = display {
                tokens.extend(phrase(display).split(' ').map(str::to_owned));
                tokens.push(format!("<{address}>{comma}"));
            } else {
                tokens.push(format!("{address}{comma}"));
            }
        }
        write_field(name, &tokens, b"\r\n", out);
        return Ok(());
    }
    let addresses: Vec<Address<'_>> = items
        .iter()
        .map(|(display, address)| Address::new_address(*display, address.as_str()))
        .collect();
    write_name(name, out);
    Address::new_list(addresses).write_header(out, name.len() + 2);
    Ok(())
}

/// A MIME type with its parameters: `text/plain; charset=utf-8`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct MimeType {
    /// `type/subtype`, lower case.
    pub(super) essence: String,
    /// `(name, value)` parameters, values unquoted.
    pub(super) params: Vec<(String, String)>,
}

impl MimeType {
    /// Parses `type/subtype` with optional `; name=value` parameters
    /// (values may be quoted).
    pub(super) fn parse(text: &str) -> Result<MimeType, BuildError> {
        let invalid = || BuildError::InvalidContentType(text.to_owned());
        let mut pieces = split_params(text).into_iter();
        let essence = pieces
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase();
        let token = |s: &str| {
            !s.is_empty()
                && s.bytes()
                    .all(|b| b.is_ascii_graphic() && !b"()<>@,;:\\\"/[]?=".contains(&b))
        };
        match essence.split_once('/') {
            Some((kind, sub)) if token(kind) && token(sub) => {}
            _ => return Err(invalid()),
        }
        let mut params = Vec::new();
        for piece in pieces {
            let piece = piece.trim();
            if piece.is_empty() {
                continue;
            }
            let (name, value) = piece.split_once('=').ok_or_else(invalid)?;
            let name = name.trim().to_ascii_lowercase();
            if !token(&name) {
                return Err(invalid());
            }
            let value = value.trim();
            let value = match value.strip_prefix('"').and_then(|v| v.strip_suffix('"')) {
                Some(inner) => inner.replace("\\\"", "\"").replace("\\\\", "\\"),
                None => value.to_owned(),
            };
            check_value("Content-Type", &value)?;
            params.push((name, value));
        }
        Ok(MimeType { essence, params })
    }

    /// The value of a parameter.
    pub(super) fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Whether it is `text/*`.
    pub(super) fn is_text(&self) -> bool {
        self.essence.starts_with("text/")
    }

    /// As a mail-builder value, with `extra` parameters after its own.
    pub(super) fn content_type<'a>(&'a self, extra: &[(&'a str, &'a str)]) -> ContentType<'a> {
        let mut value = ContentType::new(self.essence.as_str());
        for (name, v) in &self.params {
            value = value.attribute(name.as_str(), v.as_str());
        }
        for (name, v) in extra {
            value = value.attribute(*name, *v);
        }
        value
    }
}

/// Splits at semicolons outside quoted strings.
fn split_params(text: &str) -> Vec<&str> {
    let (mut items, mut start, mut quoted, mut escaped) = (Vec::new(), 0, false, false);
    for (at, c) in text.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            ';' if !quoted => {
                items.push(&text[start..at]);
                start = at + 1;
            }
            _ => {}
        }
    }
    items.push(&text[start..]);
    items
}

/// Writes `name: ` and a mail-builder `Content-Type`-shaped value.
pub(super) fn write_content_type(name: &str, value: &ContentType<'_>, out: &mut Vec<u8>) {
    write_name(name, out);
    value.write_header(out, name.len() + 2);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mime_types() {
        let t = MimeType::parse("Text/HTML; charset=\"iso-8859-1\"; format=flowed").unwrap();
        assert_eq!(t.essence, "text/html");
        assert_eq!(t.param("charset"), Some("iso-8859-1"));
        assert_eq!(t.param("format"), Some("flowed"));
        assert!(t.is_text());
        assert!(MimeType::parse("nonsense").is_err());
        assert!(MimeType::parse("a/b; c").is_err());
    }

    #[test]
    fn text_fields() {
        let mut out = Vec::new();
        write_text("Subject", "Grüße", &mut out);
        assert_eq!(out, b"Subject: =?utf-8?B?R3LDvMOfZQ==?=\r\n");
        out.clear();
        write_text("Subject", "plain  text", &mut out);
        assert_eq!(out, b"Subject: plain  text\r\n");
        out.clear();
        write_text("Subject", &"x".repeat(2000), &mut out);
        assert!(out.split(|&b| b == b'\n').all(|l| l.len() <= 999));
    }

    #[test]
    fn address_fields() {
        let list = [NameAddr::new("jose@example.org").with_name("José Núñez")];
        for charset in [HeaderCharset::Ascii, HeaderCharset::Utf8] {
            let mut out = Vec::new();
            write_addresses("From", &list, charset, &mut out).unwrap();
            assert!(out.is_ascii(), "{}", String::from_utf8_lossy(&out));
        }
        let list = [
            NameAddr::new("a@example.org"),
            NameAddr::new("b@example.org").with_name("Doe, Jane"),
            NameAddr::new("c@example.org").with_name("Bob Two"),
        ];
        let mut out = Vec::new();
        write_addresses("To", &list, HeaderCharset::Ascii, &mut out).unwrap();
        assert_eq!(
            out,
            b"To: a@example.org, \"Doe, Jane\" <b@example.org>, Bob Two <c@example.org>\r\n"
        );
        let list = [NameAddr::new("zoë@bücher.example").with_name("Zoë")];
        let mut out = Vec::new();
        write_addresses("To", &list, HeaderCharset::Utf8, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains("<zoë@bücher.example>"), "{text}");
        assert!(text.starts_with("To: =?utf-8?"), "{text}");
    }
}
