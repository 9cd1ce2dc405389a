//! Building messages: [`MessageBuilder`].

mod address;
mod attachment;
mod built;
mod error;
mod fields;
mod render;
mod stream;

use bytes::Bytes;

pub use address::NameAddr;
pub use attachment::{Attachment, Content, guess_type};
pub use built::{BuiltMessage, Segment};
pub use error::BuildError;
pub use fields::HeaderCharset;
pub use stream::{Base64Stream, base64_encoded_len};

use super::{PrepareContext, PrepareOptions, prepare};
use fields::{MimeType, check_field, check_value, write_addresses, write_text};
use render::{Leaf, LeafBody, Node, canonical_text, render};

/// Headers the builder writes from the message's parts: never given.
const STRUCTURE_HEADERS: [&str; 4] = [
    "MIME-Version",
    "Content-Transfer-Encoding",
    "Content-Disposition",
    "Content-ID",
];

/// A message to build: the client side's counterpart to parsed delivery.
///
/// It collects addresses, a subject, other headers, a
/// plain-text body, an HTML body (both: `multipart/alternative`), inline
/// parts (`multipart/related`, referenced by `cid:`) and attachments
/// (`multipart/mixed`). [`build`](MessageBuilder::build) writes it for one
/// server:
///
/// * **Headers** in ASCII wherever there is an ASCII form: display names
///   and subjects as RFC 2047 encoded words and file names as RFC 2231
///   parameters (mail-builder's encoders), domains as A-labels. Only an
///   address with a non-ASCII local part needs UTF-8 (RFC 6532): written
///   so for a server that offers SMTPUTF8, refused with
///   [`BuildError::Utf8LocalPart`] for one that does not
///   ([`HeaderCharset`]).
/// * **Transfer encodings** picked per part: 7bit, quoted-printable or
///   base64 for parts in memory, whichever is valid and shortest; base64
///   for files. No line exceeds 998 octets and the body is ASCII.
/// * **Completion** by [`prepare`](super::prepare), the same as for any
///   other message: the envelope from the headers (or explicit), `Date`
///   and `Message-ID` added, `Bcc` removed.
///
/// Files are never opened here (the core does no I/O): a file part becomes
/// a [`Segment::Base64File`] that the driver reads and encodes with
/// [`Base64Stream`] as the message is sent, so attachments of any size
/// stream in bounded memory.
///
/// ```
/// use mailwire_core::message::{
///     Attachment, HeaderCharset, MessageBuilder, MessageDate, PrepareContext, PrepareOptions,
/// };
/// use mailwire_core::SeededRandom;
///
/// let builder = MessageBuilder::new()
///     .from("José Núñez <jose@example.org>".parse()?)
///     .to("bob@example.org".parse()?)
///     .subject("Rapport trimestriel")
///     .text("The report is attached.")
///     .html("<p>The report is <b>attached</b>.</p>")
///     .attach(Attachment::from_bytes("report.pdf", b"%PDF-1.7".to_vec()));
///
/// let (random, domain) = (SeededRandom::new(1), "client.example.org".parse()?);
/// let context = PrepareContext::new(MessageDate::utc(0)?, &random, &domain);
/// let built = builder.build(HeaderCharset::Ascii, &PrepareOptions::default(), &context)?;
///
/// let bytes = built.to_bytes().expect("no file parts");
/// assert!(bytes.is_ascii());
/// let text = String::from_utf8(bytes)?;
/// assert!(text.contains("From: =?utf-8?"));
/// assert!(text.contains("multipart/mixed"));
/// assert_eq!(built.prepared.recipients.len(), 1);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// Every setter replaces what it sets (`to`, `cc`, `bcc`, `reply_to` and
/// [`attach`](Self::attach) add). [`header`](Self::header) adds any other
/// field, and replaces a field the builder writes itself.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[must_use]
pub struct MessageBuilder {
    from: Vec<NameAddr>,
    sender: Option<NameAddr>,
    to: Vec<NameAddr>,
    cc: Vec<NameAddr>,
    bcc: Vec<NameAddr>,
    reply_to: Vec<NameAddr>,
    subject: Option<String>,
    headers: Vec<(String, String)>,
    text: Option<String>,
    html: Option<String>,
    body: Option<(String, Bytes)>,
    attachments: Vec<Attachment>,
}

impl MessageBuilder {
    /// An empty message.
    pub fn new() -> Self {
        MessageBuilder::default()
    }

    /// Sets `From`.
    pub fn from(mut self, from: NameAddr) -> Self {
        self.from = vec![from];
        self
    }

    /// Sets `Sender` (RFC 5322 §3.6.2).
    pub fn sender(mut self, sender: NameAddr) -> Self {
        self.sender = Some(sender);
        self
    }

    /// Adds a `To` recipient.
    pub fn to(mut self, to: NameAddr) -> Self {
        self.to.push(to);
        self
    }

    /// Adds a `Cc` recipient.
    pub fn cc(mut self, cc: NameAddr) -> Self {
        self.cc.push(cc);
        self
    }

    /// Adds a `Bcc` recipient: an envelope recipient no header shows.
    pub fn bcc(mut self, bcc: NameAddr) -> Self {
        self.bcc.push(bcc);
        self
    }

    /// Adds a `Reply-To` address.
    pub fn reply_to(mut self, reply_to: NameAddr) -> Self {
        self.reply_to.push(reply_to);
        self
    }

    /// Sets `Subject`.
    pub fn subject(mut self, subject: impl Into<String>) -> Self {
        self.subject = Some(subject.into());
        self
    }

    /// Adds a header field. One the builder writes itself replaces it
    /// (the last one given wins): `From`, `Sender`, `To`, `Cc`, `Bcc` and
    /// `Reply-To` are read as address lists, `Subject` as the subject;
    /// `Date` and `Message-ID` are then not generated. `Content-Type`
    /// sets the type of a message of one part (text or
    /// [`body`](Self::body)); `MIME-Version`, `Content-Transfer-Encoding`,
    /// `Content-Disposition` and `Content-ID` cannot be given. Values are
    /// checked and encoded at [`build`](Self::build).
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Sets the plain-text body (line ends become CRLF).
    pub fn text(mut self, text: impl Into<String>) -> Self {
        self.text = Some(text.into());
        self
    }

    /// Sets the HTML body (line ends become CRLF).
    pub fn html(mut self, html: impl Into<String>) -> Self {
        self.html = Some(html.into());
        self
    }

    /// Sets a body of any MIME type instead of text (`application/pdf`,
    /// binary bytes that are not text): the message's only part, or its
    /// first before attachments.
    pub fn body(mut self, content_type: impl Into<String>, bytes: impl Into<Bytes>) -> Self {
        self.body = Some((content_type.into(), bytes.into()));
        self
    }

    /// Adds an attachment, or an inline part when it has a `Content-ID`
    /// ([`Attachment::inline`]).
    pub fn attach(mut self, attachment: Attachment) -> Self {
        self.attachments.push(attachment);
        self
    }

    /// Builds the message for a server (`charset`: whether it offers
    /// SMTPUTF8), completed by [`prepare`](super::prepare) with `options`
    /// (explicit envelope, resent mode; its extra headers are added as
    /// with [`header`](Self::header)) and `context` (date, random source
    /// for `Message-ID` and the boundaries, domain).
    ///
    /// # Errors
    ///
    /// A [`BuildError`] naming the header or part to fix.
    pub fn build(
        &self,
        charset: HeaderCharset,
        options: &PrepareOptions,
        context: &PrepareContext<'_>,
    ) -> Result<BuiltMessage, BuildError> {
        let mut fields = self.clone();
        let mut custom: Vec<(String, String)> = Vec::new();
        let mut content_type: Option<String> = None;
        for (name, value) in self.headers.iter().chain(&options.extra_headers) {
            check_field(name, value)?;
            let list = |name: &str| NameAddr::parse_list(name, value);
            match name.to_ascii_lowercase().as_str() {
                "from" => fields.from = list("From")?,
                "sender" => fields.sender = list("Sender")?.into_iter().next(),
                "to" => fields.to = list("To")?,
                "cc" => fields.cc = list("Cc")?,
                "bcc" => fields.bcc = list("Bcc")?,
                "reply-to" => fields.reply_to = list("Reply-To")?,
                "subject" => fields.subject = Some(value.clone()),
                "content-type" => content_type = Some(value.clone()),
                _ if STRUCTURE_HEADERS
                    .iter()
                    .any(|h| h.eq_ignore_ascii_case(name)) =>
                {
                    return Err(BuildError::ProtectedHeader(name.clone()));
                }
                _ => custom.push((name.clone(), value.clone())),
            }
        }

        let mut head = Vec::with_capacity(512);
        let addresses = [
            ("From", fields.from.as_slice()),
            ("Sender", fields.sender.as_slice()),
            ("To", &fields.to),
            ("Cc", &fields.cc),
            ("Bcc", &fields.bcc),
            ("Reply-To", &fields.reply_to),
        ];
        for (name, list) in addresses {
            if !list.is_empty() {
                write_addresses(name, list, charset, &mut head)?;
            }
        }
        if let Some(subject) = &fields.subject {
            check_value("Subject", subject)?;
            write_text("Subject", subject, &mut head);
        }
        for (name, value) in &custom {
            write_text(name, value, &mut head);
        }
        head.extend_from_slice(b"MIME-Version: 1.0\r\n");

        let tree = fields.tree(content_type.as_deref())?;
        let (mime_headers, body) = render(tree, context.random)?;
        head.extend_from_slice(&mime_headers);
        head.extend_from_slice(b"\r\n");

        let mut envelope = PrepareOptions::default().with_resent(options.resent);
        envelope.originator.clone_from(&options.originator);
        envelope.recipients.clone_from(&options.recipients);
        let prepared = prepare(&head, &envelope, context)?;
        Ok(BuiltMessage { prepared, body })
    }

    /// The MIME tree: mixed[ body, attachments… ] with body =
    /// alternative[ text, related[ html, inline… ] ] as far as the parts
    /// are there.
    fn tree(&self, content_type: Option<&str>) -> Result<Node<'_>, BuildError> {
        let single = self.attachments.is_empty()
            && !(self.text.is_some() && self.html.is_some())
            && !(self.body.is_some() && (self.text.is_some() || self.html.is_some()));
        let override_type = match content_type {
            Some(text) if single => Some(MimeType::parse(text)?),
            Some(_) => return Err(BuildError::ProtectedHeader("Content-Type".into())),
            None => None,
        };
        let text_leaf = |essence: &str, text: &str| -> Result<Node<'_>, BuildError> {
            let mut mime = override_type
                .clone()
                .map_or_else(|| MimeType::parse(essence), Ok)?;
            if !mime.is_text() {
                // A type that is not text/*: the text is its bytes.
                let bytes = Bytes::from(canonical_text(text).into_bytes());
                return Ok(Node::Leaf(Leaf {
                    mime,
                    filename: None,
                    disposition: None,
                    content_id: None,
                    body: LeafBody::Owned(bytes),
                }));
            }
            if mime.param("charset").is_none() {
                mime.params.push(("charset".into(), "utf-8".into()));
            }
            Ok(Node::Leaf(Leaf {
                mime,
                filename: None,
                disposition: None,
                content_id: None,
                body: LeafBody::Text(canonical_text(text)),
            }))
        };

        let (inline, attached): (Vec<&Attachment>, Vec<&Attachment>) = self
            .attachments
            .iter()
            .partition(|a| a.content_id.is_some());
        let mut inline_nodes = Vec::with_capacity(inline.len());
        for part in &inline {
            inline_nodes.push(attachment_leaf(part, "inline")?);
        }

        let text = self
            .text
            .as_deref()
            .map(|t| text_leaf("text/plain", t))
            .transpose()?;
        let html = self
            .html
            .as_deref()
            .map(|h| text_leaf("text/html", h))
            .transpose()?;
        let raw = match &self.body {
            Some((essence, bytes)) => {
                let mime = override_type
                    .clone()
                    .map_or_else(|| MimeType::parse(essence), Ok)?;
                Some(Node::Leaf(Leaf {
                    mime,
                    filename: None,
                    disposition: None,
                    content_id: None,
                    body: LeafBody::Bytes(bytes),
                }))
            }
            None => None,
        };
        let main = match (text, html, raw) {
            (Some(text), Some(html), raw) => {
                let mut children = vec![text, related(html, inline_nodes)];
                children.extend(raw);
                Some(Node::Multi("alternative", children))
            }
            (None, Some(html), None) => Some(related(html, inline_nodes)),
            (Some(first), None, None) | (None, None, Some(first)) => {
                Some(related(first, inline_nodes))
            }
            (Some(first), None, Some(raw)) | (None, Some(first), Some(raw)) => Some(Node::Multi(
                "mixed",
                vec![related(first, inline_nodes), raw],
            )),
            (None, None, None) if self.attachments.is_empty() => Some(text_leaf("text/plain", "")?),
            (None, None, None) => {
                (!inline_nodes.is_empty()).then(|| Node::Multi("related", inline_nodes))
            }
        };
        if attached.is_empty() {
            return Ok(main.unwrap_or(Node::Multi("mixed", Vec::new())));
        }
        let mut children: Vec<Node<'_>> = main.into_iter().collect();
        for part in attached {
            children.push(attachment_leaf(part, "attachment")?);
        }
        Ok(Node::Multi("mixed", children))
    }
}

/// `first` alone, or multipart/related around it and the inline parts.
fn related<'a>(first: Node<'a>, inline: Vec<Node<'a>>) -> Node<'a> {
    if inline.is_empty() {
        return first;
    }
    let mut children = vec![first];
    children.extend(inline);
    Node::Multi("related", children)
}

/// The leaf of an attachment or inline part.
fn attachment_leaf<'a>(
    part: &'a Attachment,
    disposition: &'static str,
) -> Result<Node<'a>, BuildError> {
    let mime = MimeType::parse(&part.content_type)?;
    if let Some(name) = &part.filename {
        check_value("filename", name)?;
    }
    if let Some(cid) = &part.content_id {
        let usable = !cid.is_empty()
            && cid
                .bytes()
                .all(|b| b.is_ascii_graphic() && !b"<>\"\\".contains(&b));
        if !usable {
            return Err(BuildError::InvalidContentId(cid.clone()));
        }
    }
    Ok(Node::Leaf(Leaf {
        mime,
        filename: part.filename.as_deref(),
        disposition: Some(disposition),
        content_id: part.content_id.as_deref(),
        body: match &part.content {
            Content::Bytes(bytes) => LeafBody::Bytes(bytes),
            Content::File(path) => LeafBody::File(path),
        },
    }))
}
