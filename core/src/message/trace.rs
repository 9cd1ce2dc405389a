//! Trace headers a server adds to what delivery receives: `Received`
//! (RFC 5321 §4.4) and `Return-Path` (§4.4, final delivery only).

use std::fmt;
use std::net::IpAddr;

use super::MessageDate;
use super::fold::write_field_iter;
use crate::tls::TlsInfo;
use crate::wire::address::{Domain, ForwardPath, ReversePath};

/// Longest HELO text kept in a `Received` comment, in characters.
pub const MAX_HELO_IN_TRACE: usize = 64;

/// The `with` protocol of a `Received` header: RFC 3848 and, for SMTPUTF8
/// sessions, RFC 6531 §3.7.3.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TraceProtocol {
    /// `SMTP`: a HELO session.
    Smtp,
    /// `ESMTP`: an EHLO session.
    Esmtp,
    /// `ESMTPS`: EHLO and TLS.
    Esmtps,
    /// `ESMTPA`: EHLO and AUTH.
    Esmtpa,
    /// `ESMTPSA`: EHLO, TLS and AUTH.
    Esmtpsa,
    /// `UTF8SMTP`: EHLO and SMTPUTF8.
    Utf8Smtp,
    /// `UTF8SMTPS`: EHLO, SMTPUTF8 and TLS.
    Utf8Smtps,
    /// `UTF8SMTPA`: EHLO, SMTPUTF8 and AUTH.
    Utf8Smtpa,
    /// `UTF8SMTPSA`: EHLO, SMTPUTF8, TLS and AUTH.
    Utf8Smtpsa,
}

/// The facts of a session that choose its [`TraceProtocol`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct SessionTraits {
    /// The client greeted with EHLO (not HELO).
    pub extended: bool,
    /// The session is under TLS (STARTTLS or implicit).
    pub tls: bool,
    /// The client authenticated (AUTH succeeded).
    pub authenticated: bool,
    /// The transaction used `SMTPUTF8` on `MAIL FROM`.
    pub smtputf8: bool,
}

impl SessionTraits {
    /// An EHLO (`true`) or HELO (`false`) session without TLS, AUTH or
    /// SMTPUTF8.
    #[must_use]
    pub fn new(extended: bool) -> Self {
        SessionTraits {
            extended,
            ..SessionTraits::default()
        }
    }

    /// Sets whether TLS is on.
    #[must_use]
    pub fn with_tls(mut self, tls: bool) -> Self {
        self.tls = tls;
        self
    }

    /// Sets whether the client authenticated.
    #[must_use]
    pub fn with_auth(mut self, authenticated: bool) -> Self {
        self.authenticated = authenticated;
        self
    }

    /// Sets whether the transaction used SMTPUTF8.
    #[must_use]
    pub fn with_smtputf8(mut self, smtputf8: bool) -> Self {
        self.smtputf8 = smtputf8;
        self
    }
}

impl TraceProtocol {
    /// The protocol of a session. A HELO session is `SMTP` whatever else
    /// is true: the registered names with S and A are ESMTP ones, and
    /// SMTPUTF8 needs EHLO (the TLS facts still appear in the header).
    #[must_use]
    pub fn new(traits: SessionTraits) -> Self {
        use TraceProtocol::*;
        if !traits.extended {
            return Smtp;
        }
        match (traits.smtputf8, traits.tls, traits.authenticated) {
            (false, false, false) => Esmtp,
            (false, true, false) => Esmtps,
            (false, false, true) => Esmtpa,
            (false, true, true) => Esmtpsa,
            (true, false, false) => Utf8Smtp,
            (true, true, false) => Utf8Smtps,
            (true, false, true) => Utf8Smtpa,
            (true, true, true) => Utf8Smtpsa,
        }
    }

    /// The registered name.
    #[must_use]
    pub fn as_str(&self) -> &'static str {
        match self {
            TraceProtocol::Smtp => "SMTP",
            TraceProtocol::Esmtp => "ESMTP",
            TraceProtocol::Esmtps => "ESMTPS",
            TraceProtocol::Esmtpa => "ESMTPA",
            TraceProtocol::Esmtpsa => "ESMTPSA",
            TraceProtocol::Utf8Smtp => "UTF8SMTP",
            TraceProtocol::Utf8Smtps => "UTF8SMTPS",
            TraceProtocol::Utf8Smtpa => "UTF8SMTPA",
            TraceProtocol::Utf8Smtpsa => "UTF8SMTPSA",
        }
    }
}

impl fmt::Display for TraceProtocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a `Received` header records about one message.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ReceivedInfo {
    /// The HELO/EHLO argument as the client sent it. Untrusted: it is used
    /// as the `from` domain only when it is an ASCII domain name or an
    /// IPv4/IPv6 literal, and otherwise shown sanitised in a comment.
    pub helo: Option<String>,
    /// The client's IP address.
    pub peer: Option<IpAddr>,
    /// Our own name, for `by`.
    pub by_domain: Domain,
    /// The `with` protocol.
    pub protocol: TraceProtocol,
    /// TLS version and cipher, when the session was under TLS.
    pub tls: Option<TlsInfo>,
    /// The queue id (see [`trace_id`](super::trace_id)); characters other
    /// than ASCII letters, digits, `-`, `.` and `_` are dropped.
    pub id: Option<String>,
    /// The recipient, for `for`: give it only when the message has exactly
    /// one (naming one of several would disclose it to the others).
    pub for_recipient: Option<ForwardPath>,
    /// When the message was received.
    pub date: MessageDate,
}

impl ReceivedInfo {
    /// The facts every header has: our name, the protocol and the date.
    #[must_use]
    pub fn new(by_domain: Domain, protocol: TraceProtocol, date: MessageDate) -> Self {
        ReceivedInfo {
            helo: None,
            peer: None,
            by_domain,
            protocol,
            tls: None,
            id: None,
            for_recipient: None,
            date,
        }
    }

    /// Sets the HELO/EHLO argument.
    #[must_use]
    pub fn with_helo(mut self, helo: impl Into<String>) -> Self {
        self.helo = Some(helo.into());
        self
    }

    /// Sets the client's address.
    #[must_use]
    pub fn with_peer(mut self, peer: IpAddr) -> Self {
        self.peer = Some(peer);
        self
    }

    /// Sets the TLS facts.
    #[must_use]
    pub fn with_tls(mut self, tls: TlsInfo) -> Self {
        self.tls = Some(tls);
        self
    }

    /// Sets the queue id.
    #[must_use]
    pub fn with_id(mut self, id: impl Into<String>) -> Self {
        self.id = Some(id.into());
        self
    }

    /// Sets the single recipient (see [`ReceivedInfo::for_recipient`]).
    #[must_use]
    pub fn with_for(mut self, recipient: ForwardPath) -> Self {
        self.for_recipient = Some(recipient);
        self
    }
}

/// Appends `text` as it is safe inside a comment for any reader, strict
/// or naive: every character that is not printable ASCII, or is one of
/// `( ) \ ; " < > [ ]`, becomes `?`; at most `max` characters are kept
/// (then `...`).
fn push_comment_safe(out: &mut String, text: &str, max: usize) {
    let mut chars = text.chars();
    for c in chars.by_ref().take(max) {
        out.push(if c.is_ascii_graphic() && !"()\\;\"<>[]".contains(c) {
            c
        } else {
            '?'
        });
    }
    if chars.next().is_some() {
        out.push_str("...");
    }
}

/// Appends an IP address as an RFC 5321 address literal (IPv4-mapped IPv6
/// shown as IPv4).
fn push_literal(out: &mut String, ip: IpAddr) {
    use std::fmt::Write as _;
    let _ = match ip.to_canonical() {
        IpAddr::V4(v4) => write!(out, "[{v4}]"),
        IpAddr::V6(v6) => write!(out, "[IPv6:{v6}]"),
    };
}

/// Whether the HELO argument can stand as the `from` domain itself: an
/// ASCII domain name, or an IPv4/IPv6 literal (general literals may hold
/// parentheses, so they go into the comment).
fn trusted_syntax(helo: &str) -> Option<Domain> {
    if !helo.is_ascii() {
        return None;
    }
    match Domain::parse(helo.as_bytes()).ok()? {
        domain @ (Domain::Name(_) | Domain::Ipv4(_) | Domain::Ipv6(_)) => Some(domain),
        _ => None,
    }
}

/// The tokens of a header field written into one buffer (no allocation per
/// token): each token is the text between two recorded ends.
struct Tokens {
    text: String,
    ends: [usize; Tokens::MAX],
    count: usize,
}

impl Tokens {
    /// More than `received_header` ever writes.
    const MAX: usize = 12;

    fn new() -> Self {
        Tokens {
            text: String::with_capacity(192),
            ends: [0; Tokens::MAX],
            count: 0,
        }
    }

    /// Ends the token being written in `text`.
    fn end(&mut self) {
        if let Some(slot) = self.ends.get_mut(self.count) {
            *slot = self.text.len();
            self.count += 1;
        }
    }

    /// Appends one whole token.
    fn push(&mut self, parts: &[&str]) {
        for part in parts {
            self.text.push_str(part);
        }
        self.end();
    }

    fn iter(&self) -> impl Iterator<Item = &str> {
        let ends = self.ends.get(..self.count).unwrap_or_default();
        let starts = std::iter::once(0).chain(ends.iter().copied());
        starts
            .zip(ends.iter().copied())
            .map(|(start, end)| self.text.get(start..end).unwrap_or_default())
    }
}

/// A `Received:` header field, CRLF-terminated, folded under 78 columns
/// where possible:
///
/// ```text
/// Received: from client.example ([192.0.2.1])
///  by mx.example.org with ESMTPS (version=TLSv1.3 cipher=TLS13_AES_128_GCM_SHA256)
///  id K7MQ2W9XBN4TRC5A for <bob@example.org>; Sun, 22 Nov 2026 12:23:06 +0000
/// ```
///
/// The `from` part is the HELO name when its syntax is a plain domain or an
/// IP literal, followed by the peer's address literal in a comment;
/// otherwise the peer's literal (or `unknown`) with the HELO text
/// sanitised into a `(helo=…)` comment: no CR, LF, parentheses, brackets,
/// quotes, backslashes, semicolons or non-ASCII can get through, and it is
/// cut at [`MAX_HELO_IN_TRACE`] characters. So a hostile `evil\r\nBcc: x`
/// stays inside one comment of one header.
///
/// ```
/// use mailwire_core::message::{MessageDate, ReceivedInfo, SessionTraits, TraceProtocol, received_header};
///
/// let info = ReceivedInfo::new(
///     "mx.example.org".parse()?,
///     TraceProtocol::new(SessionTraits::new(true)),
///     MessageDate::utc(1_795_350_186)?,
/// )
/// .with_helo("evil\r\nBcc: x")
/// .with_peer([192, 0, 2, 1].into())
/// .with_id("K7MQ2W9XBN4TRC5A");
/// assert_eq!(
///     String::from_utf8(received_header(&info))?,
///     "Received: from [192.0.2.1] (helo=evil??Bcc:?x) by mx.example.org with ESMTP\r\n \
///      id K7MQ2W9XBN4TRC5A; Sun, 22 Nov 2026 12:23:06 +0000\r\n",
/// );
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[must_use]
pub fn received_header(info: &ReceivedInfo) -> Vec<u8> {
    use std::fmt::Write as _;
    let mut t = Tokens::new();
    let helo = info.helo.as_deref();
    match helo.and_then(trusted_syntax) {
        Some(name) => {
            let _ = write!(t.text, "from {name}");
            t.end();
            if let Some(peer) = info.peer {
                t.text.push('(');
                push_literal(&mut t.text, peer);
                t.text.push(')');
                t.end();
            }
        }
        None => {
            t.text.push_str("from ");
            match info.peer {
                Some(peer) => push_literal(&mut t.text, peer),
                None => t.text.push_str("unknown"),
            }
            t.end();
            if let Some(helo) = helo {
                t.text.push_str("(helo=");
                push_comment_safe(&mut t.text, helo, MAX_HELO_IN_TRACE);
                t.text.push(')');
                t.end();
            }
        }
    }
    let _ = write!(t.text, "by {}", info.by_domain);
    t.end();
    t.push(&["with ", info.protocol.as_str()]);
    if let Some(tls) = &info.tls {
        t.text.push_str("(version=");
        push_comment_safe(&mut t.text, &tls.version, 32);
        t.end();
        t.text.push_str("cipher=");
        push_comment_safe(&mut t.text, &tls.cipher, 64);
        t.text.push(')');
        t.end();
    }
    if let Some(id) = info.id.as_deref() {
        let mut kept = id
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || "-._".contains(*c))
            .take(64)
            .peekable();
        if kept.peek().is_some() {
            t.text.push_str("id ");
            t.text.extend(kept);
            t.end();
        }
    }
    if let Some(recipient) = &info.for_recipient {
        let _ = write!(t.text, "for {recipient}");
        t.end();
    }
    // The last token so far ends in `;`.
    t.text.push(';');
    if let Some(last) = t.count.checked_sub(1).and_then(|i| t.ends.get_mut(i)) {
        *last += 1;
    }
    let _ = write!(t.text, "{}", info.date);
    t.end();
    let mut out = Vec::with_capacity(t.text.len() + 16);
    write_field_iter("Received", t.iter(), b"\r\n", &mut out);
    out
}

/// A `Return-Path:` header field, CRLF-terminated: `Return-Path: <a@b>` or
/// `Return-Path: <>`. Add it only on final delivery; a relay must not
/// (RFC 5321 §4.4).
///
/// ```
/// use mailwire_core::message::return_path_header;
/// use mailwire_core::wire::address::ReversePath;
///
/// assert_eq!(return_path_header(&"<a@example.org>".parse()?), b"Return-Path: <a@example.org>\r\n");
/// assert_eq!(return_path_header(&ReversePath::Null), b"Return-Path: <>\r\n");
/// # Ok::<(), mailwire_core::wire::address::AddressError>(())
/// ```
#[must_use]
pub fn return_path_header(path: &ReversePath) -> Vec<u8> {
    let mut out = b"Return-Path: ".to_vec();
    path.write_to(&mut out);
    out.extend_from_slice(b"\r\n");
    out
}

/// The trace block to put before a received message: `Return-Path` when
/// given (final delivery), then `Received` when given. Each is a separate
/// choice; with neither, the block is empty.
#[must_use]
pub fn trace_headers(
    return_path: Option<&ReversePath>,
    received: Option<&ReceivedInfo>,
) -> Vec<u8> {
    let mut out = Vec::new();
    if let Some(path) = return_path {
        out.extend(return_path_header(path));
    }
    if let Some(info) = received {
        out.extend(received_header(info));
    }
    out
}
