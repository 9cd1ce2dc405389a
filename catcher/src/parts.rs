//! The MIME parts of a message as Mailpit numbers and sorts them: part IDs
//! in IMAP's dotted notation (`1`, `1.2`, `2`), and which leaf parts are
//! attachments, which inline parts (images a body refers to), and which
//! are the text and HTML bodies.

use mail_parser::{Message, MessagePart, MimeHeaders, PartType};

/// How a leaf part is listed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// An attachment (`Content-Disposition: attachment`, or a file that is
    /// not shown in the body).
    Attachment,
    /// An inline part: shown within the body (`inline`, or with a
    /// `Content-ID`, or inside `multipart/related`).
    Inline,
}

/// A listed part: its Mailpit part ID, its index in
/// [`Message::parts`](mail_parser::Message), and its kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    /// The dotted part ID (`2`, `1.2`).
    pub part_id: String,
    /// Index into the parsed message's parts.
    pub index: usize,
    /// Attachment or inline.
    pub kind: Kind,
}

/// Every attachment and inline part of `message`, in the order they
/// appear, that has a file name or a `Content-ID` (as Mailpit lists them).
#[must_use]
pub fn listed(message: &Message<'_>) -> Vec<Listed> {
    let mut out = Vec::new();
    let root = 0usize;
    match message.parts.first().map(|p| &p.body) {
        Some(PartType::Multipart(children)) => {
            let related = is_related(message, root);
            for (n, child) in children.iter().enumerate() {
                walk(
                    message,
                    *child as usize,
                    (n + 1).to_string(),
                    related,
                    &mut out,
                );
            }
        }
        Some(_) => walk_leaf(message, root, "1".to_owned(), false, &mut out),
        None => {}
    }
    out
}

/// The part with Mailpit part ID `part_id`, if it is listed.
#[must_use]
pub fn find<'m>(message: &'m Message<'m>, part_id: &str) -> Option<&'m MessagePart<'m>> {
    listed(message)
        .into_iter()
        .find(|l| l.part_id == part_id)
        .and_then(|l| message.parts.get(l.index))
}

fn is_related(message: &Message<'_>, index: usize) -> bool {
    message
        .parts
        .get(index)
        .and_then(|p| p.content_type())
        .is_some_and(|ct| {
            ct.ctype().eq_ignore_ascii_case("multipart")
                && ct
                    .subtype()
                    .is_some_and(|s| s.eq_ignore_ascii_case("related"))
        })
}

fn walk(message: &Message<'_>, index: usize, id: String, related: bool, out: &mut Vec<Listed>) {
    match message.parts.get(index).map(|p| &p.body) {
        Some(PartType::Multipart(children)) => {
            let related = related || is_related(message, index);
            for (n, child) in children.iter().enumerate() {
                walk(
                    message,
                    *child as usize,
                    format!("{id}.{}", n + 1),
                    related,
                    out,
                );
            }
        }
        Some(_) => walk_leaf(message, index, id, related, out),
        None => {}
    }
}

fn walk_leaf(
    message: &Message<'_>,
    index: usize,
    id: String,
    related: bool,
    out: &mut Vec<Listed>,
) {
    let Some(part) = message.parts.get(index) else {
        return;
    };
    let disposition = part
        .content_disposition()
        .map(|d| d.ctype().to_ascii_lowercase());
    let is_body =
        message.text_body.contains(&(index as u32)) || message.html_body.contains(&(index as u32));
    let is_text = matches!(part.body, PartType::Text(_) | PartType::Html(_));
    let kind = match disposition.as_deref() {
        Some("attachment") => Some(Kind::Attachment),
        _ if matches!(part.body, PartType::Message(_)) => Some(Kind::Attachment),
        _ if is_body && is_text && part.attachment_name().is_none() => None,
        Some("inline") => Some(Kind::Inline),
        _ if part.content_id().is_some() || related => Some(Kind::Inline),
        _ => Some(Kind::Attachment),
    };
    let named = part.attachment_name().is_some_and(|n| !n.is_empty())
        || part.content_id().is_some_and(|c| !c.is_empty());
    if let Some(kind) = kind
        && named
    {
        out.push(Listed {
            part_id: id,
            index,
            kind,
        });
    }
}

/// The part's content type as `type/subtype` (lower case), or the default
/// `text/plain` for text and `application/octet-stream` for the rest.
#[must_use]
pub fn content_type(part: &MessagePart<'_>) -> String {
    match part.content_type() {
        Some(ct) => match ct.subtype() {
            Some(sub) => format!("{}/{}", ct.ctype(), sub).to_ascii_lowercase(),
            None => ct.ctype().to_ascii_lowercase(),
        },
        None if matches!(part.body, PartType::Text(_)) => "text/plain".to_owned(),
        None if matches!(part.body, PartType::Html(_)) => "text/html".to_owned(),
        None => "application/octet-stream".to_owned(),
    }
}

/// The file name of a part, or its `Content-ID` when it has none (as
/// Mailpit names inline images).
#[must_use]
pub fn file_name(part: &MessagePart<'_>) -> String {
    part.attachment_name()
        .filter(|n| !n.is_empty())
        .or_else(|| part.content_id())
        .unwrap_or_default()
        .to_owned()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) const MIXED: &str = "From: a@b\r\nSubject: x\r\nMIME-Version: 1.0\r\n\
Content-Type: multipart/mixed; boundary=\"m\"\r\n\r\n\
--m\r\nContent-Type: multipart/related; boundary=\"r\"\r\n\r\n\
--r\r\nContent-Type: multipart/alternative; boundary=\"a\"\r\n\r\n\
--a\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nHello\r\n\
--a\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>Hello <img src=\"cid:logo@x\"></p>\r\n\
--a--\r\n\
--r\r\nContent-Type: image/png\r\nContent-ID: <logo@x>\r\nContent-Transfer-Encoding: base64\r\n\r\niVBORw0KGgo=\r\n\
--r--\r\n\
--m\r\nContent-Type: application/pdf; name=\"report.pdf\"\r\nContent-Disposition: attachment; filename=\"report.pdf\"\r\n\
Content-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQK\r\n\
--m--\r\n";

    #[test]
    fn numbers_and_sorts_parts_as_mailpit() {
        let message = mail_parser::MessageParser::default()
            .parse(MIXED.as_bytes())
            .unwrap();
        let listed = listed(&message);
        let ids: Vec<(&str, Kind)> = listed
            .iter()
            .map(|l| (l.part_id.as_str(), l.kind))
            .collect();
        assert_eq!(ids, [("1.2", Kind::Inline), ("2", Kind::Attachment)]);
        let image = find(&message, "1.2").unwrap();
        assert_eq!(content_type(image), "image/png");
        assert_eq!(file_name(image), "logo@x");
        let pdf = find(&message, "2").unwrap();
        assert_eq!(file_name(pdf), "report.pdf");
        assert_eq!(pdf.contents(), b"%PDF-1.4\n");
        assert!(
            find(&message, "1.1.1").is_none(),
            "bodies are not parts to fetch"
        );
    }
}
