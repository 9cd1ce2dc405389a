//! Addresses given to the builder: `Name <addr@domain>` as text or in
//! parts, checked, and written for an ASCII message (RFC 2047 names,
//! A-label domains) or a UTF-8 one (RFC 6532).

use std::fmt;
use std::str::FromStr;

use super::BuildError;
use super::fields::HeaderCharset;
use crate::wire::address::Mailbox;

/// A mailbox with an optional display name (RFC 5322 `name-addr`):
/// `José Núñez <jose@example.org>`.
///
/// The name is any text (quotes, commas and non-ASCII letters included):
/// the builder quotes or encodes it as the message needs.
///
/// ```
/// use mailwire_core::message::NameAddr;
///
/// let a: NameAddr = "\"Núñez, José\" <jose@example.org>".parse()?;
/// assert_eq!(a.name.as_deref(), Some("Núñez, José"));
/// assert_eq!(a.address, "jose@example.org");
/// let b = NameAddr::new("bob@example.org").with_name("Bob \"the builder\"");
/// assert_eq!(b.name.as_deref(), Some("Bob \"the builder\""));
/// # Ok::<(), mailwire_core::message::BuildError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct NameAddr {
    /// The display name, if any.
    pub name: Option<String>,
    /// `local@domain`, without angle brackets.
    pub address: String,
}

impl NameAddr {
    /// An address without a display name.
    #[must_use]
    pub fn new(address: impl Into<String>) -> Self {
        NameAddr {
            name: None,
            address: address.into(),
        }
    }

    /// Sets the display name (an empty one is none).
    #[must_use]
    pub fn with_name(mut self, name: impl Into<String>) -> Self {
        let name = name.into();
        self.name = (!name.is_empty()).then_some(name);
        self
    }

    /// Parses a comma-separated list of addresses (commas inside quotes or
    /// angle brackets do not separate).
    ///
    /// # Errors
    ///
    /// [`BuildError::InvalidAddress`] naming `header`.
    pub fn parse_list(header: &str, text: &str) -> Result<Vec<NameAddr>, BuildError> {
        split_list(text)
            .into_iter()
            .filter(|item| !item.trim().is_empty())
            .map(|item| parse_one(header, item))
            .collect()
    }
}

impl FromStr for NameAddr {
    type Err = BuildError;

    fn from_str(text: &str) -> Result<Self, BuildError> {
        parse_one("address", text)
    }
}

impl fmt::Display for NameAddr {
    /// The UTF-8 form: `"Name" <addr>` (quoted when needed) or `addr`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.name {
            Some(name) => write!(f, "{} <{}>", phrase(name), self.address),
            None => f.write_str(&self.address),
        }
    }
}

/// Splits at commas outside quoted strings and angle brackets.
fn split_list(text: &str) -> Vec<&str> {
    let (mut items, mut start, mut quoted, mut escaped, mut angle) =
        (Vec::new(), 0, false, false, false);
    for (at, c) in text.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            '<' if !quoted => angle = true,
            '>' if !quoted => angle = false,
            ',' if !quoted && !angle => {
                items.push(&text[start..at]);
                start = at + 1;
            }
            _ => {}
        }
    }
    items.push(&text[start..]);
    items
}

/// One `Name <addr>`, `"Name" <addr>`, `<addr>` or `addr`.
fn parse_one(header: &str, text: &str) -> Result<NameAddr, BuildError> {
    let invalid = |reason: &str| BuildError::InvalidAddress {
        header: header.to_owned(),
        text: text.to_owned(),
        reason: reason.to_owned(),
    };
    let trimmed = text.trim();
    let (name, address) = match (trimmed.rfind('<'), trimmed.strip_suffix('>')) {
        (Some(open), Some(inner)) => (unquote(trimmed[..open].trim()), &inner[open + 1..]),
        (None, None) => (None, trimmed),
        _ => return Err(invalid("unbalanced angle brackets")),
    };
    if address.is_empty() {
        return Err(invalid("no address"));
    }
    check_address(address).map_err(|reason| invalid(&reason))?;
    Ok(NameAddr {
        name: name.filter(|n| !n.is_empty()),
        address: address.to_owned(),
    })
}

/// A display name as written: a quoted string unquoted and unescaped.
fn unquote(name: &str) -> Option<String> {
    let Some(inner) = name.strip_prefix('"').and_then(|n| n.strip_suffix('"')) else {
        return Some(name.to_owned());
    };
    let mut out = String::with_capacity(inner.len());
    let mut escaped = false;
    for c in inner.chars() {
        if !escaped && c == '\\' {
            escaped = true;
            continue;
        }
        escaped = false;
        out.push(c);
    }
    Some(out)
}

/// Checks `local@domain` as an SMTP mailbox.
fn check_address(address: &str) -> Result<Mailbox, String> {
    Mailbox::parse(address.as_bytes()).map_err(|e| e.to_string())
}

/// Whether `c` may stand in an unquoted phrase (atext or a space; non-ASCII
/// letters are atext in RFC 6532).
fn phrase_char(c: char) -> bool {
    c == ' ' || !c.is_ascii() || c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~".contains(c)
}

/// `name` as an RFC 5322 phrase in UTF-8: as is when every character may
/// stand unquoted (and no two spaces meet), else a quoted string.
pub(super) fn phrase(name: &str) -> String {
    let plain = name.chars().all(phrase_char)
        && !name.starts_with(' ')
        && !name.ends_with(' ')
        && !name.contains("  ");
    if plain {
        return name.to_owned();
    }
    let mut out = String::with_capacity(name.len() + 2);
    out.push('"');
    for c in name.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

/// The address as it is written: the domain in A-labels when the local
/// part is ASCII; with a non-ASCII local part, unchanged (UTF-8) for a
/// server with SMTPUTF8 and an error for one without.
pub(super) fn address_for(
    header: &str,
    address: &str,
    charset: HeaderCharset,
) -> Result<String, BuildError> {
    let mailbox = check_address(address).map_err(|reason| BuildError::InvalidAddress {
        header: header.to_owned(),
        text: address.to_owned(),
        reason,
    })?;
    if address.is_ascii() {
        return Ok(address.to_owned());
    }
    if mailbox.local().is_utf8() {
        return match charset {
            HeaderCharset::Utf8 => Ok(address.to_owned()),
            HeaderCharset::Ascii => Err(BuildError::Utf8LocalPart {
                header: header.to_owned(),
                address: address.to_owned(),
            }),
        };
    }
    let domain = mailbox.domain().to_string();
    let ascii = idna::domain_to_ascii(&domain).map_err(|e| BuildError::InvalidDomain {
        header: header.to_owned(),
        address: address.to_owned(),
        reason: e.to_string(),
    })?;
    let local = address.rsplit_once('@').map_or(address, |(local, _)| local);
    Ok(format!("{local}@{ascii}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parsing() {
        let list = NameAddr::parse_list(
            "To",
            "\"Doe, Jane\" <jane@example.org>, bob@example.org, Ann <ann@example.org>",
        )
        .unwrap();
        assert_eq!(list.len(), 3);
        assert_eq!(list[0].name.as_deref(), Some("Doe, Jane"));
        assert_eq!(list[1], NameAddr::new("bob@example.org"));
        assert_eq!(list[2].name.as_deref(), Some("Ann"));
        assert!("not an address".parse::<NameAddr>().is_err());
        assert!("Name <a@example.org".parse::<NameAddr>().is_err());
        let quoted: NameAddr = r#""a \"b\" c" <x@example.org>"#.parse().unwrap();
        assert_eq!(quoted.name.as_deref(), Some("a \"b\" c"));
    }

    #[test]
    fn phrases() {
        assert_eq!(phrase("José Núñez"), "José Núñez");
        assert_eq!(phrase("Doe, Jane"), "\"Doe, Jane\"");
        assert_eq!(phrase("a \"b\""), "\"a \\\"b\\\"\"");
    }

    #[test]
    fn ascii_forms() {
        let ascii = HeaderCharset::Ascii;
        assert_eq!(
            address_for("To", "jose@bücher.example", ascii).unwrap(),
            "jose@xn--bcher-kva.example"
        );
        assert!(matches!(
            address_for("To", "josé@example.org", ascii),
            Err(BuildError::Utf8LocalPart { .. })
        ));
        assert_eq!(
            address_for("To", "josé@bücher.example", HeaderCharset::Utf8).unwrap(),
            "josé@bücher.example"
        );
        assert_eq!(
            address_for("To", "jose@bücher.example", HeaderCharset::Utf8).unwrap(),
            "jose@xn--bcher-kva.example"
        );
    }
}
