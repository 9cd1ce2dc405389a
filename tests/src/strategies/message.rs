//! Strategies for `mailwire_core::message`: whole messages whose header
//! fields are kept as the exact bytes they were generated as, so a property
//! can say which bytes must come out unchanged.
//!
//! Messages mix CRLF and bare LF line ends, fold address lists and
//! subjects, write addresses in every common form (bare, display name,
//! quoted name, comment, encoded word, group, empty group), repeat and
//! re-case header names, put `Bcc` fields anywhere (empty ones too), and
//! carry bodies of arbitrary octets: 8-bit, NUL, bare CR and LF, long
//! lines, `Bcc:` lines inside the body.

use mailwire_core::wire::address::{ForwardPath, Mailbox, ReversePath};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::select;

use super::address::domain_name;

/// What role a generated field plays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldKind {
    /// `From` with one mailbox.
    From,
    /// `To`.
    To,
    /// `Cc`.
    Cc,
    /// `Bcc`: must not be transmitted.
    Bcc,
    /// `Date`.
    Date,
    /// `Message-ID`.
    MessageId,
    /// Anything else (`Subject`, `X-*`, `Received`, …).
    Other,
}

/// One generated header field.
#[derive(Debug, Clone)]
pub struct GenField {
    /// What it is.
    pub kind: FieldKind,
    /// The addresses in it, in order (address fields only).
    pub mailboxes: Vec<Mailbox>,
    /// The whole field as it appears in the message, line end included.
    pub raw: Vec<u8>,
}

/// A generated message.
#[derive(Debug, Clone)]
pub struct GenMessage {
    /// The header fields, in order.
    pub fields: Vec<GenField>,
    /// The empty line and body, or `None` for a message of headers only
    /// (whose last line may then lack its line end).
    pub body: Option<(Vec<u8>, Vec<u8>)>,
}

impl GenMessage {
    /// The message bytes.
    pub fn bytes(&self) -> Vec<u8> {
        let mut out: Vec<u8> = self.fields.iter().flat_map(|f| f.raw.clone()).collect();
        if let Some((separator, body)) = &self.body {
            out.extend_from_slice(separator);
            out.extend_from_slice(body);
        }
        out
    }

    /// The mailboxes of every field of one kind, in message order.
    pub fn mailboxes(&self, kind: FieldKind) -> Vec<Mailbox> {
        self.fields
            .iter()
            .filter(|f| f.kind == kind)
            .flat_map(|f| f.mailboxes.clone())
            .collect()
    }

    /// Whether a field of this kind is present.
    pub fn has(&self, kind: FieldKind) -> bool {
        self.fields.iter().any(|f| f.kind == kind)
    }
}

/// What the caller gives `prepare` besides the message.
#[derive(Debug, Clone)]
pub struct GenOptions {
    /// An explicit originator.
    pub originator: Option<ReversePath>,
    /// Explicit recipients.
    pub recipients: Option<Vec<ForwardPath>>,
    /// Extra headers (`X-*`, `Subject`, `Keywords`, `Bcc`), possibly long
    /// enough to be folded.
    pub extra_headers: Vec<(String, String)>,
}

/// Mailboxes with dot-atom local parts (ASCII or UTF-8) over a few
/// domains, so that duplicates (also differing in domain case) are common.
pub fn header_mailbox() -> impl Strategy<Value = Mailbox> {
    let local = prop_oneof![
        6 => "[a-z0-9]{1,6}(\\.[a-z0-9+_-]{1,4})?",
        1 => "[a-zé]{0,3}[éü一][a-z]{0,2}",
    ];
    let domain = prop_oneof![
        3 => select(vec!["example.org", "EXAMPLE.org", "x.test", "b\u{fc}cher.example"])
            .prop_map(str::to_owned),
        1 => domain_name(),
    ];
    (local, domain).prop_filter_map("valid mailbox", |(local, domain)| {
        Mailbox::parse(format!("{local}@{domain}").as_bytes()).ok()
    })
}

/// A display name: plain words, a quoted string with specials, or an
/// RFC 2047 encoded word (Q encoding of any text).
fn display_name() -> impl Strategy<Value = String> {
    prop_oneof![
        "[A-Za-z]{1,8}( [A-Za-z]{1,8}){0,2}",
        "[A-Za-z ,.;:@<>()]{1,12}".prop_map(|s| format!("\"{s}\"")),
        "[A-Za-zé ü一]{1,8}".prop_map(|s| {
            let encoded: String = s.bytes().map(|b| format!("={b:02X}")).collect();
            format!("=?UTF-8?Q?{encoded}?=")
        }),
    ]
}

/// One address in one of the usual forms.
fn rendered(mailbox: &Mailbox, form: u8, name: &str) -> String {
    match form % 4 {
        0 => mailbox.to_string(),
        1 => format!("{name} <{mailbox}>"),
        2 => format!("{mailbox} (comment {form})"),
        _ => format!("<{mailbox}>"),
    }
}

/// Joins address texts, folding after some commas.
fn join(parts: &[String], folds: &[bool], line_end: &str) -> String {
    let mut out = String::new();
    for (i, part) in parts.iter().enumerate() {
        if i > 0 {
            out.push(',');
            if folds.get(i).copied().unwrap_or(false) {
                out.push_str(line_end);
                out.push('\t');
            } else {
                out.push(' ');
            }
        }
        out.push_str(part);
    }
    out
}

/// A line end: mostly CRLF, sometimes a bare LF.
fn line_end() -> impl Strategy<Value = &'static str> {
    prop_oneof![4 => Just("\r\n"), 1 => Just("\n")]
}

/// A header name spelt in one of several cases.
fn spelt(name: &'static str) -> impl Strategy<Value = String> {
    select(vec![
        name.to_owned(),
        name.to_ascii_lowercase(),
        name.to_ascii_uppercase(),
    ])
}

/// An address field of the given kind with 0 to 4 mailboxes (0 only as an
/// empty group or an empty value).
fn address_field(kind: FieldKind, name: &'static str) -> impl Strategy<Value = GenField> {
    (
        spelt(name),
        vec((header_mailbox(), any::<u8>(), display_name()), 0..=4),
        vec(any::<bool>(), 5),
        any::<bool>(),
        line_end(),
    )
        .prop_map(move |(name, boxes, folds, grouped, end)| {
            let mailboxes: Vec<Mailbox> = boxes.iter().map(|(m, _, _)| m.clone()).collect();
            let parts: Vec<String> = boxes
                .iter()
                .map(|(m, form, display)| rendered(m, *form, display))
                .collect();
            let value = match (grouped, parts.is_empty()) {
                (true, true) => " undisclosed-recipients:;".to_owned(),
                (true, false) => format!(" Team: {};", join(&parts, &folds, end)),
                (false, _) => {
                    let joined = join(&parts, &folds, end);
                    if joined.is_empty() {
                        joined
                    } else {
                        format!(" {joined}")
                    }
                }
            };
            GenField {
                kind,
                mailboxes,
                raw: format!("{name}:{value}{end}").into_bytes(),
            }
        })
}

/// `From` with exactly one mailbox.
fn from_field() -> impl Strategy<Value = GenField> {
    (
        spelt("From"),
        header_mailbox(),
        any::<u8>(),
        display_name(),
        line_end(),
    )
        .prop_map(|(name, mailbox, form, display, end)| GenField {
            kind: FieldKind::From,
            raw: format!("{name}: {}{end}", rendered(&mailbox, form, &display)).into_bytes(),
            mailboxes: vec![mailbox],
        })
}

/// Fields that play no envelope role, some folded, some 8-bit, odd spacing.
fn other_field() -> impl Strategy<Value = GenField> {
    let text = "[ -~]{0,30}( [ -~é€]{1,20}){0,3}";
    prop_oneof![
        (spelt("Subject"), text, line_end(), any::<bool>()).prop_map(|(n, t, e, fold)| {
            let t = if fold {
                t.replacen(' ', &format!("{e} "), 1)
            } else {
                t
            };
            other(format!("{n}: {t}{e}"))
        }),
        ("X-[A-Za-z0-9-]{1,10}", "[!-~]{0,20}", " {0,2}", line_end())
            .prop_map(|(n, v, sp, e)| other(format!("{n}{sp}:{v}{e}"))),
        line_end().prop_map(|e| other(format!(
            "Received: from a.example{e}\tby b.example; Sun, 22 Nov 2026 12:00:00 +0000{e}"
        ))),
        line_end().prop_map(|e| GenField {
            kind: FieldKind::Date,
            mailboxes: Vec::new(),
            raw: format!("Date: Mon, 1 Jan 2001 00:00:00 +0000{e}").into_bytes(),
        }),
        ("[a-z0-9]{1,10}", line_end()).prop_map(|(id, e)| GenField {
            kind: FieldKind::MessageId,
            mailboxes: Vec::new(),
            raw: format!("Message-ID: <{id}@example.org>{e}").into_bytes(),
        }),
        Just(other("Bcc-Note: not a bcc\r\n".to_owned())),
    ]
}

fn other(raw: String) -> GenField {
    GenField {
        kind: FieldKind::Other,
        mailboxes: Vec::new(),
        raw: raw.into_bytes(),
    }
}

/// A body of arbitrary octets with hazards mixed in: plain text lines
/// (CRLF or bare LF), hazard pieces, and now and then a line over 998
/// octets.
pub fn message_body() -> impl Strategy<Value = Vec<u8>> {
    let text = vec(("[ -~]{0,60}", line_end()), 0..8).prop_map(|lines| {
        lines
            .into_iter()
            .flat_map(|(l, e)| [l, e.to_owned()])
            .collect::<String>()
            .into_bytes()
    });
    let piece = prop_oneof![
        3 => vec(any::<u8>(), 0..40),
        2 => "[ -~]{0,30}".prop_map(String::into_bytes),
        2 => select(vec![
            &b"\r\n"[..], b"\n", b"\r", b"\r\n.\r\n", b"Bcc: body@x.org\r\n", b"\r\n\r\n",
            b"\xc3\xa9", b"\0", b"From: x@y\n",
        ])
        .prop_map(<[u8]>::to_vec),
    ];
    let pieces = vec(piece, 0..12).prop_map(|pieces| pieces.concat());
    let long = (pieces.clone(), 990usize..1010).prop_map(|(mut body, n)| {
        body.extend(std::iter::repeat_n(b'L', n));
        body
    });
    prop_oneof![3 => text, 3 => pieces, 1 => long]
}

/// Whole messages: a `From` (usually), at least one `To` (usually),
/// `Cc`/`Bcc` and other fields in any order, then a body (usually).
pub fn message() -> impl Strategy<Value = GenMessage> {
    let fields = (
        proptest::option::weighted(0.9, from_field()),
        vec(address_field(FieldKind::To, "To"), 0..=2),
        vec(address_field(FieldKind::Cc, "Cc"), 0..=2),
        vec(address_field(FieldKind::Bcc, "Bcc"), 0..=3),
        vec(other_field(), 0..=5),
    )
        .prop_flat_map(|(from, to, cc, bcc, others)| {
            let all: Vec<GenField> = from
                .into_iter()
                .chain(to)
                .chain(cc)
                .chain(bcc)
                .chain(others)
                .collect();
            Just(all).prop_shuffle()
        });
    let body = proptest::option::weighted(0.85, (line_end(), message_body()));
    (fields, body, any::<bool>()).prop_map(|(mut fields, body, cut)| {
        let body = body.map(|(end, body)| (end.as_bytes().to_vec(), body));
        // A message of headers only may end without a line end.
        if body.is_none()
            && cut
            && let Some(last) = fields.last_mut()
        {
            while last.raw.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
                last.raw.pop();
            }
        }
        GenMessage { fields, body }
    })
}

/// Caller options: sometimes explicit paths, a few extra headers.
pub fn options() -> impl Strategy<Value = GenOptions> {
    let extra = prop_oneof![
        ("X-Extra-[a-z]{1,5}", "[ -~]{0,20}").prop_map(|(n, v)| (n, v)),
        "[a-z]{1,12}( [a-z]{1,12}){0,12}".prop_map(|v| ("Subject".to_owned(), v)),
        header_mailbox().prop_map(|m| ("Bcc".to_owned(), m.to_string())),
        Just(("Keywords".to_owned(), "caf\u{e9}, test".to_owned())),
    ];
    (
        proptest::option::weighted(0.2, header_mailbox().prop_map(ReversePath::Mailbox)),
        proptest::option::weighted(
            0.2,
            vec(header_mailbox().prop_map(ForwardPath::Mailbox), 1..4),
        ),
        vec(extra, 0..4),
    )
        .prop_map(|(originator, recipients, extra_headers)| GenOptions {
            originator,
            recipients,
            extra_headers,
        })
}
