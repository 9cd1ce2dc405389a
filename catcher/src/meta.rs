//! What the index keeps of each message: the header fields a list or a
//! search needs, attachment counts and the snippet (Mailpit's
//! `MessageSummary` without the Maildir's part).
//!
//! A summary keeps all its text in one allocation (a table of offsets,
//! then the strings one after the other, the `From` mailbox first): an
//! entry costs less memory, and a search over many entries touches one
//! contiguous block per entry instead of a scattered string per field.

use mail_parser::{Message, MessageParser, PartType};
use serde::Serialize;
use serde::ser::SerializeSeq;

use crate::parts::{Kind, listed};

/// Most octets of a snippet (then `...`), as Mailpit cuts it.
const SNIPPET_LEN: usize = 200;

/// The fields every summary has, in their order in the text: the `From`
/// name and address, the subject, the `Message-ID`, the snippet; the
/// address lists' names and addresses follow.
const FIXED: usize = 5;
const FROM_NAME: usize = 0;
const FROM_ADDRESS: usize = 1;
const SUBJECT: usize = 2;
const MESSAGE_ID: usize = 3;
const SNIPPET: usize = 4;

/// Octets of one offset in the table.
const OFFSET: usize = 4;

/// A mailbox: display name (decoded; empty when absent) and address.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Address {
    /// The display name.
    pub name: Box<str>,
    /// The address (`local@domain`).
    pub address: Box<str>,
}

/// A mailbox of a summary, borrowed (serialized as [`Address`] is).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Mailbox<'a> {
    /// The display name.
    pub name: &'a str,
    /// The address (`local@domain`).
    pub address: &'a str,
}

impl Mailbox<'_> {
    /// An owned copy.
    #[must_use]
    pub fn to_address(&self) -> Address {
        Address {
            name: self.name.into(),
            address: self.address.into(),
        }
    }
}

/// The mailboxes of one address header of a summary (serialized as a
/// list of [`Address`]).
#[derive(Debug, Clone, Copy)]
pub struct Mailboxes<'a> {
    meta: &'a Meta,
    /// Index of the first mailbox's name among the summary's strings.
    first: usize,
    len: usize,
}

impl<'a> Mailboxes<'a> {
    /// How many mailboxes.
    #[must_use]
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether there is none.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The mailboxes in header order.
    pub fn iter(&self) -> impl Iterator<Item = Mailbox<'a>> + use<'a> {
        let (meta, first) = (self.meta, self.first);
        (0..self.len).map(move |n| meta.mailbox(first + 2 * n))
    }
}

impl Serialize for Mailboxes<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(self.len))?;
        for mailbox in self.iter() {
            seq.serialize_element(&mailbox)?;
        }
        seq.end()
    }
}

/// The summary of one message.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Meta {
    /// A table of little-endian `u32` offsets, one per string (where it
    /// ends), then the strings (valid UTF-8 each): see [`FIXED`].
    text: Box<[u8]>,
    /// Mailboxes of `To`, `Cc`, `Bcc` and `Reply-To`.
    lists: [u32; 4],
    /// Attachments (named ones, as Mailpit counts them).
    pub attachments: u32,
    /// Inline parts (named ones).
    pub inline: u32,
}

/// The parts of a summary, to [pack](Meta::new) into one.
#[derive(Debug, Clone, Default)]
pub struct Fields<'a> {
    /// `Message-ID` without its angle brackets.
    pub message_id: &'a str,
    /// The decoded `Subject`.
    pub subject: &'a str,
    /// The first `From` mailbox (empty when there is none).
    pub from: Mailbox<'a>,
    /// `To` mailboxes.
    pub to: &'a [Address],
    /// `Cc` mailboxes.
    pub cc: &'a [Address],
    /// `Bcc` mailboxes (of the header, not the envelope).
    pub bcc: &'a [Address],
    /// `Reply-To` mailboxes.
    pub reply_to: &'a [Address],
    /// Attachments.
    pub attachments: u32,
    /// Inline parts.
    pub inline: u32,
    /// Up to 200 octets of the body text (the HTML's text when there is
    /// HTML), white space collapsed.
    pub snippet: &'a str,
}

impl Meta {
    /// A summary of `fields`, packed into one allocation.
    #[must_use]
    pub fn new(fields: &Fields<'_>) -> Meta {
        let mut strings: Vec<&str> = vec![""; FIXED];
        strings[FROM_NAME] = fields.from.name;
        strings[FROM_ADDRESS] = fields.from.address;
        strings[SUBJECT] = fields.subject;
        strings[MESSAGE_ID] = fields.message_id;
        strings[SNIPPET] = fields.snippet;
        let lists = [fields.to, fields.cc, fields.bcc, fields.reply_to];
        for list in lists {
            for a in list {
                strings.push(&a.name);
                strings.push(&a.address);
            }
        }
        let table = strings.len() * OFFSET;
        let total = table + strings.iter().map(|s| s.len()).sum::<usize>();
        let mut text = Vec::with_capacity(total);
        let mut end = table;
        for s in &strings {
            end += s.len();
            text.extend_from_slice(&u32::try_from(end).unwrap_or(u32::MAX).to_le_bytes());
        }
        for s in &strings {
            text.extend_from_slice(s.as_bytes());
        }
        let count = |l: &[Address]| u32::try_from(l.len()).unwrap_or(u32::MAX);
        Meta {
            text: text.into_boxed_slice(),
            lists: lists.map(count),
            attachments: fields.attachments,
            inline: fields.inline,
        }
    }

    /// How many strings the text holds.
    fn strings(&self) -> usize {
        if self.text.is_empty() {
            return 0;
        }
        FIXED + 2 * self.lists.iter().map(|&n| n as usize).sum::<usize>()
    }

    /// Where string `n` ends in the text.
    fn end(&self, n: usize) -> usize {
        let at = n * OFFSET;
        self.text
            .get(at..at + OFFSET)
            .and_then(|b| b.try_into().ok())
            .map_or(0, |b| u32::from_le_bytes(b) as usize)
    }

    /// String `n` as octets (empty when there is none).
    fn bytes(&self, n: usize) -> &[u8] {
        let count = self.strings();
        if n >= count {
            return &[];
        }
        let start = if n == 0 {
            count * OFFSET
        } else {
            self.end(n - 1)
        };
        self.text.get(start..self.end(n)).unwrap_or_default()
    }

    /// String `n`.
    fn string(&self, n: usize) -> &str {
        std::str::from_utf8(self.bytes(n)).unwrap_or_default()
    }

    fn mailbox(&self, n: usize) -> Mailbox<'_> {
        Mailbox {
            name: self.string(n),
            address: self.string(n + 1),
        }
    }

    fn list(&self, which: usize) -> Mailboxes<'_> {
        let before: usize = self.lists[..which].iter().map(|&n| n as usize).sum();
        Mailboxes {
            meta: self,
            first: FIXED + 2 * before,
            len: self.lists[which] as usize,
        }
    }

    /// `Message-ID` without its angle brackets.
    #[must_use]
    pub fn message_id(&self) -> &str {
        self.string(MESSAGE_ID)
    }

    /// The decoded `Subject`.
    #[must_use]
    pub fn subject(&self) -> &str {
        self.string(SUBJECT)
    }

    /// The first `From` mailbox (empty when there is none).
    #[must_use]
    pub fn from(&self) -> Mailbox<'_> {
        self.mailbox(FROM_NAME)
    }

    /// `To` mailboxes.
    #[must_use]
    pub fn to(&self) -> Mailboxes<'_> {
        self.list(0)
    }

    /// `Cc` mailboxes.
    #[must_use]
    pub fn cc(&self) -> Mailboxes<'_> {
        self.list(1)
    }

    /// `Bcc` mailboxes (of the header, not the envelope).
    #[must_use]
    pub fn bcc(&self) -> Mailboxes<'_> {
        self.list(2)
    }

    /// `Reply-To` mailboxes.
    #[must_use]
    pub fn reply_to(&self) -> Mailboxes<'_> {
        self.list(3)
    }

    /// Up to 200 octets of the body text (the HTML's text when there is
    /// HTML), white space collapsed.
    #[must_use]
    pub fn snippet(&self) -> &str {
        self.string(SNIPPET)
    }

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
        let from = from_of(message);
        let (to, cc) = (addresses(message.to()), addresses(message.cc()));
        let (bcc, reply_to) = (addresses(message.bcc()), addresses(message.reply_to()));
        let snippet = snippet(message);
        Meta::new(&Fields {
            message_id: message.message_id().unwrap_or_default(),
            subject: message.subject().unwrap_or_default(),
            from: Mailbox {
                name: &from.name,
                address: &from.address,
            },
            to: &to,
            cc: &cc,
            bcc: &bcc,
            reply_to: &reply_to,
            attachments: count(Kind::Attachment),
            inline: count(Kind::Inline),
            snippet: &snippet,
        })
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
        assert_eq!(meta.subject(), "Grüße");
        assert_eq!(meta.message_id(), "abc@example.org");
        assert_eq!(meta.from().name, "Jürgen");
        assert_eq!(meta.from().address, "j@example.org");
        let to: Vec<_> = meta.to().iter().collect();
        assert_eq!(to.len(), 2);
        assert_eq!(to[0].name, "Bob");
        assert_eq!(to[1].name, "");
        assert_eq!(to[1].address, "carol@example.org");
        assert_eq!(meta.cc().iter().next().unwrap().address, "dave@example.org");
        assert!(meta.bcc().is_empty() && meta.reply_to().is_empty());
        assert_eq!(meta.snippet(), "Hello world");
        assert_eq!(meta.attachments, 0);
    }

    #[test]
    fn snippet_prefers_html_and_is_cut() {
        let long = "word ".repeat(100);
        let raw = format!(
            "From: a@b\r\nContent-Type: text/html\r\n\r\n<html><body><p>{long}</p></body></html>\r\n"
        );
        let meta = Meta::of(raw.as_bytes());
        assert!(meta.snippet().ends_with("..."), "{}", meta.snippet());
        assert_eq!(meta.snippet().len(), 203);
        assert!(meta.snippet().starts_with("word word"));
    }

    #[test]
    fn counts_attachments_and_inline_parts() {
        let meta = Meta::of(crate::parts::tests::MIXED.as_bytes());
        assert_eq!((meta.attachments, meta.inline), (1, 1));
        assert_eq!(meta.snippet(), "Hello");
    }

    #[test]
    fn packs_every_field_and_list() {
        let list = |names: &[&str]| -> Vec<Address> {
            names
                .iter()
                .map(|n| Address {
                    name: n.to_uppercase().into(),
                    address: format!("{n}@x").into(),
                })
                .collect()
        };
        let (to, cc, bcc, reply_to) = (
            list(&["a", "b"]),
            list(&[]),
            list(&["c"]),
            list(&["d", "e", "f"]),
        );
        let meta = Meta::new(&Fields {
            message_id: "m@x",
            subject: "Grüße",
            from: Mailbox {
                name: "F",
                address: "f@x",
            },
            to: &to,
            cc: &cc,
            bcc: &bcc,
            reply_to: &reply_to,
            attachments: 2,
            inline: 3,
            snippet: "text",
        });
        assert_eq!(
            (meta.message_id(), meta.subject(), meta.snippet()),
            ("m@x", "Grüße", "text")
        );
        assert_eq!(
            meta.from().to_address(),
            Address {
                name: "F".into(),
                address: "f@x".into()
            }
        );
        let owned = |m: Mailboxes<'_>| m.iter().map(|m| m.to_address()).collect::<Vec<_>>();
        assert_eq!(owned(meta.to()), to);
        assert_eq!(owned(meta.cc()), cc);
        assert_eq!(owned(meta.bcc()), bcc);
        assert_eq!(owned(meta.reply_to()), reply_to);
        assert_eq!((meta.attachments, meta.inline), (2, 3));
        assert_eq!(
            serde_json::to_string(&meta.reply_to()).unwrap(),
            serde_json::to_string(&reply_to).unwrap()
        );
        let empty = Meta::default();
        assert_eq!((empty.subject(), empty.from().address), ("", ""));
        assert!(empty.to().is_empty());
    }
}
