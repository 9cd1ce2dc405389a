//! What is read from a message's file on demand: the whole message as
//! Mailpit's `Message`, its headers, one part, and the text a free-word
//! search looks in.

use mail_parser::{MessageParser, MimeHeaders};
use md5::Md5;
use sha1::Sha1;
use sha2::{Digest, Sha256};

use crate::entry::Entry;
use crate::json::{Attachment, Checksums, Headers, ListUnsubscribe, Message};
use crate::meta::{addresses, from_of, html_body, text_body};
use crate::parts::{Kind, content_type, file_name, listed};
use crate::search::clean;
use crate::time::rfc3339_ms;

/// Mailpit's `Message` for the file `raw` of `entry`.
#[must_use]
pub fn message(entry: &Entry, raw: &[u8]) -> Message {
    let id = entry.id().to_string();
    let Some(parsed) = MessageParser::default().parse(raw) else {
        return Message {
            id,
            message_id: String::new(),
            from: entry.meta.from().to_address(),
            to: Box::default(),
            cc: Box::default(),
            bcc: Box::default(),
            reply_to: Box::default(),
            return_path: String::new(),
            subject: String::new(),
            list_unsubscribe: ListUnsubscribe::default(),
            date: rfc3339_ms(entry.created_ms()),
            tags: [],
            username: "",
            text: String::new(),
            html: String::new(),
            size: entry.size,
            inline: Vec::new(),
            attachments: Vec::new(),
        };
    };
    let from = from_of(&parsed);
    let return_path = parsed
        .return_address()
        .map(|r| r.trim_matches(['<', '>', ' ']).to_owned())
        .filter(|r| !r.is_empty())
        .unwrap_or_else(|| from.address.to_string());
    let mut inline = Vec::new();
    let mut attachments = Vec::new();
    for l in listed(&parsed) {
        let Some(part) = parsed.parts.get(l.index) else {
            continue;
        };
        let content = part.contents();
        let summary = Attachment {
            part_id: l.part_id,
            file_name: file_name(part),
            content_type: content_type(part),
            content_id: part.content_id().unwrap_or_default().to_owned(),
            size: content.len() as u64,
            checksums: Checksums {
                md5: hex(&Md5::digest(content)),
                sha1: hex(&Sha1::digest(content)),
                sha256: hex(&Sha256::digest(content)),
            },
        };
        match l.kind {
            Kind::Inline => inline.push(summary),
            Kind::Attachment => attachments.push(summary),
        }
    }
    Message {
        id,
        message_id: parsed.message_id().unwrap_or_default().to_owned(),
        from,
        to: addresses(parsed.to()),
        cc: addresses(parsed.cc()),
        bcc: addresses(parsed.bcc()),
        reply_to: addresses(parsed.reply_to()),
        return_path,
        subject: parsed.subject().unwrap_or_default().to_owned(),
        list_unsubscribe: list_unsubscribe(&parsed),
        date: parsed
            .date()
            .map_or_else(|| rfc3339_ms(entry.created_ms()), |d| d.to_rfc3339()),
        tags: [],
        username: "",
        text: text_body(&parsed),
        html: html_body(&parsed).unwrap_or_default(),
        size: entry.size,
        inline,
        attachments,
    }
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

/// `List-Unsubscribe`: the `<…>` links (at most one `mailto:` and one
/// HTTP(S) link), and `List-Unsubscribe-Post`.
fn list_unsubscribe(parsed: &mail_parser::Message<'_>) -> ListUnsubscribe {
    let header = parsed
        .header_raw("List-Unsubscribe")
        .map(|h| unfold(h).trim().to_owned())
        .unwrap_or_default();
    if header.is_empty() {
        return ListUnsubscribe::default();
    }
    let mut links = Vec::new();
    let mut errors = Vec::new();
    let (mut mail, mut web) = (false, false);
    for item in header.split(',') {
        let item = item.trim();
        let Some(link) = item.strip_prefix('<').and_then(|i| i.strip_suffix('>')) else {
            errors.push(format!("\"{item}\" is not enclosed in <>"));
            continue;
        };
        let lower = link.to_ascii_lowercase();
        if lower.starts_with("mailto:") && !mail {
            mail = true;
            links.push(link.to_owned());
        } else if (lower.starts_with("https://") || lower.starts_with("http://")) && !web {
            web = true;
            links.push(link.to_owned());
        } else {
            errors.push(format!("\"{link}\" is not a usable link"));
        }
    }
    ListUnsubscribe {
        header,
        links,
        errors: errors.join(", "),
        header_post: parsed
            .header_raw("List-Unsubscribe-Post")
            .map(|h| unfold(h).trim().to_owned())
            .unwrap_or_default(),
    }
}

/// A header value with its folding removed (CRLF and the white space
/// after it become one space).
fn unfold(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let mut lines = value.split('\n');
    if let Some(first) = lines.next() {
        out.push_str(first.trim_end_matches('\r'));
    }
    for line in lines {
        let line = line.trim_end_matches('\r');
        let rest = line.trim_start_matches([' ', '\t']);
        if !rest.is_empty() {
            out.push(' ');
            out.push_str(rest);
        }
    }
    out
}

/// A header name as Go canonicalises it (Mailpit's keys): the first
/// letter and each letter after `-` upper case, the rest lower case.
#[must_use]
pub fn canonical_name(name: &str) -> String {
    let mut upper = true;
    name.chars()
        .map(|c| {
            let out = if upper {
                c.to_ascii_uppercase()
            } else {
                c.to_ascii_lowercase()
            };
            upper = c == '-';
            out
        })
        .collect()
}

/// The headers of the top of `raw`: canonical names, values unfolded and
/// trimmed, in order per name.
#[must_use]
pub fn headers(raw: &[u8]) -> Headers {
    let mut out = Headers::new();
    let Some(parsed) = MessageParser::default().parse_headers(raw) else {
        return out;
    };
    for (name, value) in parsed.headers_raw() {
        out.entry(canonical_name(name))
            .or_default()
            .push(unfold(value).trim().to_owned());
    }
    out
}

/// A listed part of `raw` by its part ID: content type, file name and
/// decoded content.
#[must_use]
pub fn part(raw: &[u8], part_id: &str) -> Option<(String, String, Vec<u8>)> {
    let parsed = MessageParser::default().parse(raw)?;
    let part = crate::parts::find(&parsed, part_id)?;
    Some((
        content_type(part),
        file_name(part),
        part.contents().to_vec(),
    ))
}

/// The text a free word is looked for in, as Mailpit builds it: the
/// address headers, subject and return path, the body's text (the HTML's
/// text when there is HTML) and the attachments' names, cleaned (lower
/// case, one space between words).
#[must_use]
pub fn body_search_text(raw: &[u8]) -> String {
    let Some(parsed) = MessageParser::default().parse(raw) else {
        return String::new();
    };
    let mut text = String::new();
    for name in [
        "From",
        "Subject",
        "To",
        "Cc",
        "Bcc",
        "Reply-To",
        "Return-Path",
    ] {
        if let Some(value) = parsed.header_raw(name) {
            text.push_str(value);
            text.push(' ');
        }
    }
    if let Some(subject) = parsed.subject() {
        text.push_str(subject);
        text.push(' ');
    }
    for list in [
        parsed.from(),
        parsed.to(),
        parsed.cc(),
        parsed.bcc(),
        parsed.reply_to(),
    ] {
        for addr in list.iter().flat_map(|a| a.iter()) {
            text.push_str(addr.name().unwrap_or_default());
            text.push(' ');
        }
    }
    match html_body(&parsed) {
        Some(html) => text.push_str(&mail_parser::decoders::html::html_to_text(&html)),
        None => text.push_str(&text_body(&parsed)),
    }
    text.push(' ');
    for l in listed(&parsed) {
        if l.kind == Kind::Attachment
            && let Some(part) = parsed.parts.get(l.index)
        {
            text.push_str(&file_name(part));
            text.push(' ');
        }
    }
    clean(&text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_names_as_go_writes_them() {
        assert_eq!(canonical_name("message-ID"), "Message-Id");
        assert_eq!(canonical_name("X-ENVELOPE-TO"), "X-Envelope-To");
        let h = headers(b"Subject: a\r\n b\r\nX-A: 1\r\nx-a: 2\r\n\r\nbody");
        assert_eq!(h["Subject"], ["a b"]);
        assert_eq!(h["X-A"], ["1", "2"]);
    }

    #[test]
    fn search_text_has_body_and_names() {
        let text = body_search_text(crate::parts::tests::MIXED.as_bytes());
        assert!(text.contains("hello"), "{text}");
        assert!(text.contains("report.pdf"), "{text}");
    }
}
