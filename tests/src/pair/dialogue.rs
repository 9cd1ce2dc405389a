//! Rebuilding the conversation from the two byte streams: each command
//! line (or SASL response, DATA body, BDAT chunk) paired with the reply
//! that answered it, in order.

use std::fmt;

use mailwire_core::wire::reply::{Reply, ReplyParser};

/// What the client sent, as one unit that gets one reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sent {
    /// Nothing: the server's greeting.
    Connect,
    /// A command line or SASL response, without its CRLF.
    Line(Vec<u8>),
    /// A DATA body after a `354`, as on the wire (dot-stuffed), with its
    /// terminating `.` CRLF when `ended`.
    Data {
        /// The octets.
        wire: Vec<u8>,
        /// Whether the terminator was seen.
        ended: bool,
    },
    /// A BDAT command line and its chunk octets (fewer than announced when
    /// the stream ended first).
    Bdat {
        /// The command line without CRLF.
        line: Vec<u8>,
        /// The chunk.
        data: Vec<u8>,
    },
}

impl Sent {
    /// The command verb in upper case (`MAIL`, `DATA`, `BDAT`, …; the
    /// first word for a SASL response), or `""` for the greeting and a
    /// DATA body.
    #[must_use]
    pub fn verb(&self) -> String {
        let line = match self {
            Sent::Line(line) | Sent::Bdat { line, .. } => line,
            _ => return String::new(),
        };
        let word = line.split(|&b| b == b' ').next().unwrap_or_default();
        String::from_utf8_lossy(word).to_ascii_uppercase()
    }
}

/// One unit the client sent and the reply to it (`None` when the stream
/// ended first).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exchange {
    /// What was sent.
    pub sent: Sent,
    /// The reply.
    pub reply: Option<Reply>,
}

impl fmt::Display for Exchange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.sent {
            Sent::Connect => write!(f, "C: <connect>")?,
            Sent::Line(line) => write!(f, "C: {}", String::from_utf8_lossy(line))?,
            Sent::Data { wire, ended } => {
                write!(f, "C: <{} octets of data, ended: {ended}>", wire.len())?;
            }
            Sent::Bdat { line, data } => write!(
                f,
                "C: {} <{} octets>",
                String::from_utf8_lossy(line),
                data.len()
            )?,
        }
        match &self.reply {
            Some(reply) => write!(f, "\nS: {}", reply.to_string().trim_end()),
            None => write!(f, "\nS: <no reply>"),
        }
    }
}

/// Pairs what the client sent (`to_server`) with what the server answered
/// (`to_client`), the way an SMTP client does: the first reply is the
/// greeting, then each command line gets the next reply, a `354` is
/// followed by a DATA body that gets its own reply, and `BDAT n` carries
/// `n` octets. Replies left over at the end (a `421` the server sent on
/// its own before closing) are paired with an empty [`Sent::Line`].
///
/// This is a reconstruction for well-behaved peers; it does not model
/// bytes a connection discards (after STARTTLS, behind a refused DATA).
#[must_use]
pub fn dialogue(to_server: &[u8], to_client: &[u8]) -> Vec<Exchange> {
    let mut replies = parse_replies(to_client).into_iter();
    let mut out = vec![Exchange {
        sent: Sent::Connect,
        reply: replies.next(),
    }];
    let mut rest = to_server;
    while !rest.is_empty() {
        let (line, after) = match find_crlf(rest) {
            Some(end) => (&rest[..end], &rest[end + 2..]),
            None => (rest, &rest[rest.len()..]),
        };
        rest = after;
        let verb = Sent::Line(line.to_vec()).verb();
        if verb == "BDAT" {
            let size = std::str::from_utf8(line)
                .ok()
                .and_then(|l| l.split(' ').nth(1))
                .and_then(|n| n.parse::<usize>().ok())
                .unwrap_or(0);
            let take = size.min(rest.len());
            out.push(Exchange {
                sent: Sent::Bdat {
                    line: line.to_vec(),
                    data: rest[..take].to_vec(),
                },
                reply: replies.next(),
            });
            rest = &rest[take..];
            continue;
        }
        let reply = replies.next();
        let go_ahead = verb == "DATA" && reply.as_ref().is_some_and(|r| r.code().as_u16() == 354);
        out.push(Exchange {
            sent: Sent::Line(line.to_vec()),
            reply,
        });
        if go_ahead {
            let (wire, ended, after) = take_data(rest);
            rest = after;
            out.push(Exchange {
                sent: Sent::Data {
                    wire: wire.to_vec(),
                    ended,
                },
                reply: replies.next(),
            });
        }
    }
    out.extend(replies.map(|reply| Exchange {
        sent: Sent::Line(Vec::new()),
        reply: Some(reply),
    }));
    out
}

fn find_crlf(bytes: &[u8]) -> Option<usize> {
    bytes.windows(2).position(|w| w == b"\r\n")
}

/// A DATA body up to and including `CRLF . CRLF` (or `. CRLF` at its
/// start): the body, whether it ended, and the rest.
fn take_data(input: &[u8]) -> (&[u8], bool, &[u8]) {
    if input.starts_with(b".\r\n") {
        return (&input[..3], true, &input[3..]);
    }
    match input.windows(5).position(|w| w == b"\r\n.\r\n") {
        Some(at) => (&input[..at + 5], true, &input[at + 5..]),
        None => (input, false, &input[input.len()..]),
    }
}

/// Every complete reply in `bytes`, until one does not parse.
fn parse_replies(bytes: &[u8]) -> Vec<Reply> {
    let mut parser = ReplyParser::default();
    let mut out = Vec::new();
    let mut rest = bytes;
    while !rest.is_empty() {
        let (used, reply) = parser.feed(rest);
        rest = &rest[used..];
        match reply {
            Some(Ok(reply)) => out.push(reply),
            Some(Err(_)) => break,
            None if used == 0 => break,
            None => {}
        }
    }
    out
}
