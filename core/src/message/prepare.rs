//! Preparing a message for sending: the envelope, the completed headers,
//! the Bcc (and Dcc) removal and what the server must support.

use super::envelope::{self, Field, PLAIN, RESENT, Roles, is_blind, is_resent};
use super::fold::write_text_field;
use super::header::{self, HeaderSection, is_ftext};
use super::{BodyNeeds, MessageDate, MessageError, message_id};
use crate::envelope::{Envelope, MailOptions};
use crate::random::RandomSource;
use crate::wire::address::{Domain, ForwardPath, ReversePath};

/// Headers a caller may not give: they belong to the MIME structure of the
/// message (tcllib's `smtp` refuses the same four).
pub const PROTECTED_HEADERS: [&str; 4] = [
    "Content-Type",
    "Content-Transfer-Encoding",
    "Content-MD5",
    "MIME-Version",
];

/// Whether the envelope comes from the `Resent-*` headers (RFC 5322
/// §3.6.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum ResentMode {
    /// Resent mode when the caller gives `Resent-*` extra headers, or when
    /// the message's first header field is a `Resent-*` field (the newest
    /// resent block is at the top).
    #[default]
    Auto,
    /// Always resent mode. The block that drives the envelope is the
    /// caller's `Resent-*` extra headers, else the message's top block if
    /// it is a resent block, else a new block (so the originator and the
    /// recipients must then be given explicitly).
    Force,
    /// Never: `Resent-*` fields are ordinary headers.
    Never,
}

/// How to prepare a message: what the caller gives explicitly.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct PrepareOptions {
    /// The envelope sender; `Some(ReversePath::Null)` sends with `<>`.
    /// `None`: from the headers.
    pub originator: Option<ReversePath>,
    /// The envelope recipients, used instead of the `To` and `Cc` fields
    /// (duplicates removed). The `Bcc` and `Dcc` fields of the mode that
    /// drives the envelope still add theirs after them: those fields are
    /// never transmitted, so their addresses are recipients in any case.
    /// `None`: every recipient from the headers.
    pub recipients: Option<Vec<ForwardPath>>,
    /// Whether the `Resent-*` headers drive the envelope.
    pub resent: ResentMode,
    /// Header fields to add, `(name, value)`, in order. They take part in
    /// the envelope like the message's own headers (so a bare body plus
    /// `To`/`From`/`Subject` here is a whole message, as with tcllib's
    /// `-header`). They are appended at the end of the header section,
    /// except `Resent-*` fields, which form a new resent block at the top
    /// (RFC 5322 §3.6.6). `Bcc`, `Dcc`, `Resent-Bcc` and `Resent-Dcc` are
    /// never written; they add recipients when their mode drives the
    /// envelope.
    pub extra_headers: Vec<(String, String)>,
}

impl PrepareOptions {
    /// Sets the envelope sender.
    #[must_use]
    pub fn with_originator(mut self, originator: ReversePath) -> Self {
        self.originator = Some(originator);
        self
    }

    /// Sets the envelope recipients.
    #[must_use]
    pub fn with_recipients(mut self, recipients: impl IntoIterator<Item = ForwardPath>) -> Self {
        self.recipients = Some(recipients.into_iter().collect());
        self
    }

    /// Sets the resent mode.
    #[must_use]
    pub fn with_resent(mut self, resent: ResentMode) -> Self {
        self.resent = resent;
        self
    }

    /// Adds an extra header field.
    #[must_use]
    pub fn with_header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.extra_headers.push((name.into(), value.into()));
        self
    }
}

/// The facts of the moment that [`prepare`] may need: the time for `Date`,
/// a random source and a domain for `Message-ID`. The core reads no clock
/// and no randomness of its own.
#[derive(Clone, Copy)]
#[non_exhaustive]
pub struct PrepareContext<'a> {
    /// The time written into an added `Date` (or `Resent-Date`).
    pub date: MessageDate,
    /// Random bytes for an added `Message-ID` (or `Resent-Message-ID`).
    pub random: &'a dyn RandomSource,
    /// The right-hand side of an added `Message-ID`: usually the client's
    /// host name.
    pub domain: &'a Domain,
}

impl<'a> PrepareContext<'a> {
    /// The context from its three parts.
    pub fn new(date: MessageDate, random: &'a dyn RandomSource, domain: &'a Domain) -> Self {
        PrepareContext {
            date,
            random,
            domain,
        }
    }
}

impl std::fmt::Debug for PrepareContext<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PrepareContext")
            .field("date", &self.date)
            .field("domain", &self.domain)
            .finish_non_exhaustive()
    }
}

/// Where the value `value` of a `name:` field the assembly added sits in
/// `headers` (the last such field: completions go after the message's own).
fn field_value(headers: &[u8], name: &str, value: &str) -> Option<std::ops::Range<usize>> {
    let needle = format!("{name}: {value}");
    let at = memchr::memmem::rfind(headers, needle.as_bytes())?;
    let start = at + name.len() + 2;
    Some(start..start + value.len())
}

/// A message ready to send: its envelope, the bytes to transmit and what
/// the server must support.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
#[must_use]
pub struct PreparedMessage {
    /// `MAIL FROM:`.
    pub reverse_path: ReversePath,
    /// One `RCPT TO:` each, duplicates removed, first occurrence order.
    /// Bcc (and Dcc) recipients are here: they receive these very bytes.
    pub recipients: Vec<ForwardPath>,
    /// The message to transmit: the input with its `Bcc`, `Dcc`,
    /// `Resent-Bcc` and `Resent-Dcc` fields removed and the completed and
    /// extra headers added; every other byte as it was (line ends
    /// included: the DATA/BDAT encoder normalises).
    pub bytes: Vec<u8>,
    /// 8BITMIME, SMTPUTF8 (headers or envelope), BINARYMIME.
    pub needs: BodyNeeds,
    /// Whether the envelope came from a `Resent-*` block.
    pub resent: bool,
    /// Where the `Date` and `Message-ID` values this preparation added sit
    /// in `bytes` (for [`renew`](PreparedMessage::renew)).
    generated: Generated,
}

/// Byte ranges in `bytes` of the values `prepare` generated.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Generated {
    date: Option<std::ops::Range<usize>>,
    message_id: Option<std::ops::Range<usize>>,
}

impl PreparedMessage {
    /// Makes this a new message for sending again (bulk and load sending):
    /// the `Date` and `Message-ID` that [`prepare`] added are replaced in
    /// place with ones from `context`, without preparing the message
    /// again. Fields the message had itself are left alone. Returns false,
    /// changing nothing, when a new value would not have the length of the
    /// old one (then prepare the message again).
    ///
    /// ```
    /// use mailwire_core::message::{MessageDate, PrepareContext, PrepareOptions, prepare};
    /// use mailwire_core::SeededRandom;
    ///
    /// let domain = "client.example.org".parse()?;
    /// let random = SeededRandom::new(1);
    /// let first = PrepareContext::new(MessageDate::utc(1_000_000_000)?, &random, &domain);
    /// let mut prepared = prepare(b"From: a@example.org\r\nTo: b@example.org\r\n\r\nHi\r\n",
    ///                            &PrepareOptions::default(), &first)?;
    /// let before = prepared.bytes.clone();
    /// let later = PrepareContext::new(MessageDate::utc(1_000_000_001)?, &random, &domain);
    /// assert!(prepared.renew(&later));
    /// let text = String::from_utf8(prepared.bytes.clone())?;
    /// assert!(text.contains("Date: Sun, 09 Sep 2001 01:46:41 +0000\r\n"));
    /// assert!(text.contains("Message-ID: <1000000001."));
    /// assert_eq!(prepared.bytes.len(), before.len());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn renew(&mut self, context: &PrepareContext<'_>) -> bool {
        let date = self
            .generated
            .date
            .as_ref()
            .map(|range| (range.clone(), context.date.to_string()));
        let id = self.generated.message_id.as_ref().map(|range| {
            (
                range.clone(),
                message_id(&context.date, context.random, context.domain),
            )
        });
        let fits = |new: &Option<(std::ops::Range<usize>, String)>| {
            new.as_ref()
                .is_none_or(|(range, value)| range.len() == value.len())
        };
        if !fits(&date) || !fits(&id) {
            return false;
        }
        for (range, value) in date.into_iter().chain(id) {
            if let Some(slot) = self.bytes.get_mut(range) {
                slot.copy_from_slice(value.as_bytes());
            }
        }
        true
    }

    /// The [`Envelope`] to send the message with (what a client's
    /// `send_mail` takes): these paths, the body type from
    /// [`BodyNeeds::body_type`], SMTPUTF8 when needed and the size as a
    /// `SIZE=` hint. Add DSN or a send policy with
    /// [`Envelope::with_options`].
    pub fn envelope(&self) -> Envelope {
        let mut options = MailOptions::default()
            .with_body(self.needs.body_type())
            .with_size(u64::try_from(self.bytes.len()).unwrap_or(u64::MAX));
        options.smtputf8 = self.needs.smtputf8;
        Envelope::new(self.reverse_path.clone(), self.recipients.iter().cloned())
            .with_options(options)
    }
}

/// A checked extra header.
struct Extra<'a> {
    name: &'a str,
    value: &'a str,
}

impl<'a> Extra<'a> {
    /// The extra header as a field for derivation.
    fn field(&self) -> Field<'a> {
        Field {
            name: self.name,
            value: self.value.as_bytes(),
        }
    }
}

/// Checks the caller's headers: names are `ftext`, values hold no control
/// byte but HTAB, and none is protected.
fn check_extras(extras: &[(String, String)]) -> Result<Vec<Extra<'_>>, MessageError> {
    extras
        .iter()
        .map(|(name, value)| {
            if name.is_empty() || !name.bytes().all(is_ftext) {
                return Err(MessageError::InvalidHeaderName(name.clone()));
            }
            if PROTECTED_HEADERS
                .iter()
                .any(|p| p.eq_ignore_ascii_case(name))
            {
                return Err(MessageError::ProtectedHeader(name.clone()));
            }
            if let Some(byte) = value
                .bytes()
                .find(|&b| (b < 0x20 && b != b'\t') || b == 0x7f)
            {
                return Err(MessageError::HeaderInjection {
                    header: name.clone(),
                    byte,
                });
            }
            Ok(Extra { name, value })
        })
        .collect()
}

/// The bytes to transmit: `top` fields, then the message's header fields
/// without the blind ones (`Bcc`, `Dcc` and their `Resent-` forms), then
/// `bottom` fields, then the rest of the
/// message, added fields in the message's line-end style.
fn assemble(
    message: &[u8],
    section: &HeaderSection,
    top: &[(String, String)],
    bottom: &[(String, String)],
) -> Vec<u8> {
    let line_end = section.line_end;
    let mut out = Vec::with_capacity(message.len() + 512);
    for (name, value) in top {
        write_text_field(name, value, line_end, &mut out);
    }
    let mut copied = 0;
    for field in section.fields.iter().filter(|f| is_blind(f.name(message))) {
        out.extend_from_slice(message.get(copied..field.range.start).unwrap_or_default());
        copied = field.range.end;
    }
    out.extend_from_slice(message.get(copied..section.end).unwrap_or_default());
    if !bottom.is_empty() && !out.is_empty() && !out.ends_with(b"\n") {
        // The last header line had no line end.
        out.extend_from_slice(line_end);
    }
    for (name, value) in bottom {
        write_text_field(name, value, line_end, &mut out);
    }
    out.extend_from_slice(message.get(section.end..).unwrap_or_default());
    out
}

/// Prepares `message` for sending.
///
/// * **Envelope**: the explicit originator and recipients of `options`,
///   else from the headers: the sender is the single mailbox of `From`
///   (or of `Sender` when `From` has several), the recipients are `To`,
///   `Cc`, `Bcc` and `Dcc`. Explicit recipients replace `To` and `Cc`
///   only: the `Bcc` and `Dcc` addresses are added to them. In resent
///   mode ([`ResentMode`]) the same roles are played by the `Resent-*`
///   fields of the newest block only. Headers that are not needed are not
///   parsed.
/// * **Completion**: `Date` and `Message-ID` are added when missing, and
///   `From` from an explicit originator mailbox when missing (in resent
///   mode: `Resent-Date`, `Resent-Message-ID` and `Resent-From`, at the
///   top with the newest block; otherwise at the end of the header
///   section). Extra headers are added as described on
///   [`PrepareOptions::extra_headers`].
/// * **Bcc**: every `Bcc`, `Dcc`, `Resent-Bcc` and `Resent-Dcc` field is
///   removed from the bytes, whatever the mode; the ones that drive the
///   envelope put their addresses among the recipients (explicit
///   recipients or not), who get these same bytes.
/// * **Needs**: see [`BodyNeeds`]; SMTPUTF8 also when an envelope address is
///   UTF-8.
///
/// Nothing else is rewritten: the body and every other header field stay
/// byte for byte, line ends included. The only other byte ever added is a
/// line end after a last header line that has none, when headers are added
/// after it.
///
/// ```
/// use mailwire_core::message::{MessageDate, PrepareContext, PrepareOptions, prepare};
/// use mailwire_core::SeededRandom;
///
/// let message = b"From: Alice <alice@example.org>\r\nTo: bob@example.org\r\n\
///                 Bcc: carol@example.org\r\nSubject: hi\r\n\r\nHello\r\n";
/// let domain = "client.example.org".parse()?;
/// let random = SeededRandom::new(1);
/// let context = PrepareContext::new(MessageDate::utc(1_000_000_000)?, &random, &domain);
/// let prepared = prepare(message, &PrepareOptions::default(), &context)?;
///
/// assert_eq!(prepared.reverse_path.to_string(), "<alice@example.org>");
/// let rcpts: Vec<String> = prepared.recipients.iter().map(|r| r.to_string()).collect();
/// assert_eq!(rcpts, ["<bob@example.org>", "<carol@example.org>"]);
/// assert_eq!(
///     String::from_utf8(prepared.bytes)?,
///     "From: Alice <alice@example.org>\r\nTo: bob@example.org\r\nSubject: hi\r\n\
///      Date: Sun, 09 Sep 2001 01:46:40 +0000\r\n\
///      Message-ID: <1000000000.c15c0289ec2d0a9167ec8e65a18debbe@client.example.org>\r\n\
///      \r\nHello\r\n",
/// );
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn prepare(
    message: &[u8],
    options: &PrepareOptions,
    context: &PrepareContext<'_>,
) -> Result<PreparedMessage, MessageError> {
    let extras = check_extras(&options.extra_headers)?;
    let section = header::scan(message)?;
    let (top_extras, bottom_extras): (Vec<&Extra<'_>>, Vec<&Extra<'_>>) =
        extras.iter().partition(|extra| is_resent(extra.name));

    let message_fields: Vec<Field<'_>> = section
        .fields
        .iter()
        .map(|field| Field {
            name: field.name(message),
            value: field.value(message),
        })
        .collect();
    let top_fields: Vec<Field<'_>> = top_extras.iter().map(|extra| extra.field()).collect();
    let top_block = message_fields
        .iter()
        .take_while(|field| is_resent(field.name))
        .count();
    let resent = match options.resent {
        ResentMode::Never => false,
        ResentMode::Force => true,
        ResentMode::Auto => !top_fields.is_empty() || top_block > 0,
    };

    // The fields that drive the envelope and decide what is missing.
    let scope: Vec<Field<'_>> = if !resent {
        message_fields
            .iter()
            .copied()
            .chain(top_fields.iter().copied())
            .chain(bottom_extras.iter().map(|extra| extra.field()))
            .collect()
    } else if !top_fields.is_empty() {
        top_fields.clone()
    } else {
        message_fields.get(..top_block).unwrap_or_default().to_vec()
    };
    let roles: &Roles = if resent { &RESENT } else { &PLAIN };

    let reverse_path = match &options.originator {
        Some(path) => path.clone(),
        None => envelope::originator(&scope, roles)?,
    };
    let recipients = match &options.recipients {
        Some(given) => {
            if given.is_empty() {
                return Err(MessageError::NoRecipients {
                    headers: "the explicit recipient list",
                });
            }
            // The blind fields are removed from the bytes: their addresses
            // are recipients whatever else the caller names.
            let blind = envelope::blind_recipients(&scope, roles)?;
            envelope::dedup(given.iter().cloned().chain(blind))
        }
        None => envelope::recipients(&scope, roles)?,
    };

    // Completion: the fields to add, by name and value.
    let has = |name: &str| scope.iter().any(|field| field.is(name));
    let mut completions: Vec<(&str, String)> = Vec::new();
    if !has(roles.from)
        && let ReversePath::Mailbox(mailbox) = &reverse_path
    {
        completions.push((roles.from, mailbox.to_string()));
    }
    if !has(roles.date) {
        completions.push((roles.date, context.date.to_string()));
    }
    if !has(roles.message_id) {
        completions.push((
            roles.message_id,
            message_id(&context.date, context.random, context.domain),
        ));
    }

    // What renew() may replace later: the Date and Message-ID added here.
    let generated_value = |field: &str| {
        completions
            .iter()
            .find(|(name, _)| *name == field)
            .map(|(_, value)| value.clone())
    };
    let (generated_date, generated_id) = (
        generated_value(roles.date),
        generated_value(roles.message_id),
    );

    // Assembly: blind fields out, the caller's and completed fields in.
    let written = |extras: &[&Extra<'_>]| -> Vec<(String, String)> {
        extras
            .iter()
            .filter(|extra| !is_blind(extra.name))
            .map(|extra| (extra.name.to_owned(), extra.value.to_owned()))
            .collect()
    };
    let completions = completions
        .into_iter()
        .map(|(name, value)| (name.to_owned(), value));
    let (mut top, mut bottom) = (written(&top_extras), written(&bottom_extras));
    if resent {
        top.extend(completions);
    } else {
        bottom.extend(completions);
    }
    let out = assemble(message, &section, &top, &bottom);

    let mut needs = BodyNeeds::scan(&out);
    needs.smtputf8 |= reverse_path.is_utf8() || recipients.iter().any(ForwardPath::is_utf8);
    let header_end = super::header::body_start(&out);
    let generated = Generated {
        date: generated_date.and_then(|v| field_value(&out[..header_end], roles.date, &v)),
        message_id: generated_id
            .and_then(|v| field_value(&out[..header_end], roles.message_id, &v)),
    };
    Ok(PreparedMessage {
        reverse_path,
        recipients,
        bytes: out,
        needs,
        resent,
        generated,
    })
}
