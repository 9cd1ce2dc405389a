//! What the index keeps of each message: the header fields a list or a
//! search needs, attachment counts and the snippet (Mailpit's
//! `MessageSummary` without the Maildir's part).

use mail_parser::{Message, MessageParser, PartType};
use serde::Serialize;

use crate::parts::{Kind, listed};

/// Most octets of a snippet (then `...`), as Mailpit cuts it.
const SNIPPET_LEN: usize = 200;

/// A mailbox: display name (decoded; empty when absent) and address.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Address {
    /// The display name.
    pub name: Box<str>,
    /// The address (`local@domain`).
    pub address: Box<str>,
}

/// The summary of one message.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Meta {
    /// `Message-ID` without its angle brackets.
    pub message_id: Box<str>,
    /// The decoded `Subject`.
    pub subject: Box<str>,
    /// The first `From` mailbox (empty when there is none).
    pub from: Address,
    /// `To` mailboxes.
    pub to: Box<[Address]>,
    /// `Cc` mailboxes.
    pub cc: Box<[Address]>,
    /// `Bcc` mailboxes (of the header, not the envelope).
    pub bcc: Box<[Address]>,
    /// `Reply-To` mailboxes.
    pub reply_to: Box<[Address]>,
    /// Attachments (named ones, as Mailpit counts them).
    pub attachments: u32,
    /// Inline parts (named ones).
    pub inline: u32,
    /// Up to 200 octets of the body text (the HTML's text when there is
    /// HTML), white space collapsed.
    pub snippet: Box<str>,
}

impl Meta {
    /// The summary of the message `raw` (a whole message, trace headers
    /// included). A message mail-parser cannot read at all gives an empty
    /// summary: it is still listed.
    #[must_use]
    pub fn of(raw: &[u8]) -> Meta {
        match MessageParser::default().parse(raw) {
            Some(message) => Meta::of_message(&message),
            None => Meta::default(),
        }
    }

    /// The summary of a parsed message.
    #[must_use]
    pub fn of_message(message: &Message<'_>) -> Meta {
        let listed = listed(message);
        let count = |kind| listed.iter().filter(|l| l.kind == kind).count() as u32;
        Meta {
            message_id: message.message_id().unwrap_or_default().into(),
            subject: message.subject().unwrap_or_default().into(),
            from: from_of(message),
            to: addresses(message.to()),
            cc: addresses(message.cc()),
            bcc: addresses(message.bcc()),
            reply_to: addresses(message.reply_to()),
            attachments: count(Kind::Attachment),
            inline: count(Kind::Inline),
            snippet: snippet(message).into(),
        }
    }
}

/// The first `From` mailbox; a `From` that does not parse is kept as the
/// name (as Mailpit does).
pub(crate) fn from_of(message: &Message<'_>) -> Address {
    match message.from().and_then(|a| a.iter().next()) {
        Some(addr) => address(addr),
        None => Address {
            name: message
                .header_raw("From")
                .map(str::trim)
                .unwrap_or_default()
                .into(),
            address: "".into(),
        },
    }
}

fn address(addr: &mail_parser::Addr<'_>) -> Address {
    Address {
        name: addr.name().unwrap_or_default().trim().into(),
        address: addr.address().unwrap_or_default().trim().into(),
    }
}

/// Every mailbox of an address header (groups flattened).
pub(crate) fn addresses(header: Option<&mail_parser::Address<'_>>) -> Box<[Address]> {
    header
        .map(|a| a.iter().map(address).collect())
        .unwrap_or_default()
}

/// The body's text: the first text/plain body, or the HTML's text.
pub(crate) fn text_body(message: &Message<'_>) -> String {
    let plain = message.text_bodies().find_map(|p| match &p.body {
        PartType::Text(t) => Some(t.to_string()),
        _ => None,
    });
    plain.unwrap_or_else(|| {
        html_body(message)
            .map(|h| mail_parser::decoders::html::html_to_text(&h))
            .unwrap_or_default()
    })
}

/// The first text/html body, if there is one.
pub(crate) fn html_body(message: &Message<'_>) -> Option<String> {
    message.html_bodies().find_map(|p| match &p.body {
        PartType::Html(h) => Some(h.to_string()),
        _ => None,
    })
}

/// Mailpit's snippet: the HTML's text when there is HTML, else the text,
/// white space collapsed, cut at 200 octets (on a character boundary)
/// with `...` after a cut.
fn snippet(message: &Message<'_>) -> String {
    let text = match html_body(message) {
        Some(html) => mail_parser::decoders::html::html_to_text(&html),
        None => text_body(message),
    };
    let text = text.replace('\u{feff}', " ");
    let mut collapsed = String::with_capacity(text.len().min(SNIPPET_LEN + 8));
    for word in text.split_whitespace() {
        if !collapsed.is_empty() {
            collapsed.push(' ');
        }
        collapsed.push_str(word);
        if collapsed.len() > SNIPPET_LEN {
            break;
        }
    }
    if collapsed.len() <= SNIPPET_LEN {
        return collapsed;
    }
    let mut cut = SNIPPET_LEN;
    while !collapsed.is_char_boundary(cut) {
        cut -= 1;
    }
    collapsed.truncate(cut);
    collapsed.push_str("...");
    collapsed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_of_a_plain_message() {
        let raw = "Return-Path: <a@example.org>\r\nFrom: =?utf-8?q?J=C3=BCrgen?= <j@example.org>\r\n\
To: Bob <bob@example.org>, carol@example.org\r\nCc: dave@example.org\r\n\
Subject: =?utf-8?q?Gr=C3=BC=C3=9Fe?=\r\nMessage-ID: <abc@example.org>\r\n\r\n  Hello\r\n\r\n  world  \r\n";
        let meta = Meta::of(raw.as_bytes());
        assert_eq!(&*meta.subject, "Grüße");
        assert_eq!(&*meta.message_id, "abc@example.org");
        assert_eq!(&*meta.from.name, "Jürgen");
        assert_eq!(&*meta.from.address, "j@example.org");
        assert_eq!(meta.to.len(), 2);
        assert_eq!(&*meta.to[0].name, "Bob");
        assert_eq!(&*meta.to[1].name, "");
        assert_eq!(&*meta.cc[0].address, "dave@example.org");
        assert!(meta.bcc.is_empty());
        assert_eq!(&*meta.snippet, "Hello world");
        assert_eq!(meta.attachments, 0);
    }

    #[test]
    fn snippet_prefers_html_and_is_cut() {
        let long = "word ".repeat(100);
        let raw = format!(
            "From: a@b\r\nContent-Type: text/html\r\n\r\n<html><body><p>{long}</p></body></html>\r\n"
        );
        let meta = Meta::of(raw.as_bytes());
        assert!(meta.snippet.ends_with("..."), "{}", meta.snippet);
        assert_eq!(meta.snippet.len(), 203);
        assert!(meta.snippet.starts_with("word word"));
    }

    #[test]
    fn counts_attachments_and_inline_parts() {
        let meta = Meta::of(crate::parts::tests::MIXED.as_bytes());
        assert_eq!((meta.attachments, meta.inline), (1, 1));
        assert_eq!(&*meta.snippet, "Hello");
    }
}
