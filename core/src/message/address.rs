//! Address header values (`From`, `To`, `Cc`, `Bcc`, their `Resent-` forms)
//! to SMTP mailboxes.
//!
//! The RFC 5322 grammar (display names, comments, groups, encoded words,
//! folding) is read by mail-parser; each address it finds must then be a
//! valid RFC 5321 [`Mailbox`], or the header is refused by name.

use std::borrow::Cow;

use mail_parser::parsers::MessageStream;
use mail_parser::{Addr, Address, HeaderValue};

use super::MessageError;
use crate::wire::address::{AddressError, Mailbox};

/// The mailboxes of one address header value, in order.
///
/// `value` is the raw value (everything after the colon, folding included).
/// Groups contribute their members; an empty group such as
/// `undisclosed-recipients:;` contributes nothing. Display names and comments
/// are dropped. An address that is missing (a display name alone), not
/// UTF-8, or not a valid SMTP mailbox (no domain, a bare local part, a
/// space in an unquoted local part, …) is [`MessageError::InvalidAddress`]
/// naming `header`.
pub(crate) fn mailboxes(header: &str, value: &[u8]) -> Result<Vec<Mailbox>, MessageError> {
    let invalid = |address: &str, reason| MessageError::InvalidAddress {
        header: header.to_owned(),
        address: address.trim().to_owned(),
        reason,
    };
    if std::str::from_utf8(value).is_err() {
        return Err(invalid(
            &String::from_utf8_lossy(value),
            AddressError::InvalidUtf8,
        ));
    }
    // mail-parser only takes the last token at a line end.
    let value: Cow<'_, [u8]> = if value.ends_with(b"\n") {
        Cow::Borrowed(value)
    } else {
        Cow::Owned([value, b"\r\n"].concat())
    };
    let addrs: Vec<Addr<'_>> = match MessageStream::new(&value).parse_address() {
        HeaderValue::Address(Address::List(list)) => list,
        HeaderValue::Address(Address::Group(groups)) => groups
            .into_iter()
            .flat_map(|group| group.addresses)
            .collect(),
        _ => Vec::new(),
    };
    let mut out = Vec::with_capacity(addrs.len());
    for addr in &addrs {
        let Some(address) = addr.address.as_deref() else {
            return Err(invalid(
                addr.name.as_deref().unwrap_or(""),
                AddressError::Empty,
            ));
        };
        let mailbox = Mailbox::parse(strip_route(address.trim()).as_bytes())
            .map_err(|reason| invalid(address, reason))?;
        out.push(mailbox);
    }
    Ok(out)
}

/// Drops an obsolete source route (`@a,@b:user@host`, RFC 5322 §4.4).
fn strip_route(address: &str) -> &str {
    match address.split_once(':') {
        Some((route, rest)) if route.starts_with('@') => rest,
        _ => address,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(value: &str) -> Result<Vec<String>, MessageError> {
        mailboxes("To", value.as_bytes()).map(|list| list.iter().map(ToString::to_string).collect())
    }

    #[test]
    fn forms_that_parse() {
        for (value, want) in [
            (" a@x.org\r\n", &["a@x.org"][..]),
            (
                " Alice Example <alice@example.com>\r\n",
                &["alice@example.com"],
            ),
            (" alice@example.com (Alice)\r\n", &["alice@example.com"]),
            (
                " \"Doe, John\" <john@example.com>, b@x.org\r\n",
                &["john@example.com", "b@x.org"],
            ),
            (
                " team: a@x.org, b@x.org;, c@y.org\r\n",
                &["a@x.org", "b@x.org", "c@y.org"],
            ),
            (" undisclosed-recipients:;\r\n", &[]),
            (
                " =?UTF-8?B?w6lsaXNl?= <elise@example.com>\r\n",
                &["elise@example.com"],
            ),
            (
                " Alice\r\n (work) <alice@\r\n example.com>\r\n",
                &["alice@example.com"],
            ),
            (
                " <\"john doe\"@example.com>\r\n",
                &["\"john doe\"@example.com"],
            ),
            (
                " <@relay.example:user@host.example>\r\n",
                &["user@host.example"],
            ),
            (
                " j\u{f6}rg@b\u{fc}cher.example\r\n",
                &["j\u{f6}rg@b\u{fc}cher.example"],
            ),
            (" a@b.c,,d@e.f\r\n", &["a@b.c", "d@e.f"]),
            ("\r\n", &[]),
            ("", &[]),
            (" a@x.org", &["a@x.org"]),
            (" Bob <b@x.org>, c@x.org", &["b@x.org", "c@x.org"]),
        ] {
            assert_eq!(parse(value).unwrap(), want, "{value:?}");
        }
    }

    #[test]
    fn forms_that_are_refused() {
        for (value, found, reason) in [
            (" alice\r\n", "alice", Some(AddressError::Empty)),
            (" \"Alice\"\r\n", "Alice", Some(AddressError::Empty)),
            (" <bob>\r\n", "bob", Some(AddressError::MissingAt)),
            (" <bob@>\r\n", "bob@", Some(AddressError::InvalidDomain)),
            (" <<broken\r\n", "<broken", None),
            (" a b@example.com\r\n", "a b@example.com", None),
            (
                " alice@example.com bob@example.com\r\n",
                "alice@example.com bob@example.com",
                None,
            ),
            (" \"john doe\"@example.com\r\n", "@example.com", None),
        ] {
            match parse(value) {
                Err(MessageError::InvalidAddress {
                    header,
                    address,
                    reason: got,
                }) => {
                    assert_eq!(header, "To");
                    assert_eq!(address, found, "{value:?}");
                    if let Some(reason) = reason {
                        assert_eq!(got, reason, "{value:?}");
                    }
                }
                other => panic!("{value:?}: {other:?}"),
            }
        }
        assert!(matches!(
            mailboxes("Cc", b" l\xe9a@x.org\r\n"),
            Err(MessageError::InvalidAddress {
                reason: AddressError::InvalidUtf8,
                ..
            })
        ));
    }
}
