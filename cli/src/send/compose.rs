//! From options to a message: composed from `--from`/`--to`/`--subject`/
//! `--body`, or read whole with `--message`, plus what to prepare it with
//! (explicit envelope, extra headers).

use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use bytes::Bytes;
use futures_lite::AsyncReadExt;
use mailwire_core::RandomSource;
use mailwire_core::client::{Envelope, TransactionOutcome};
use mailwire_core::message::{
    BodyNeeds, BodyScanner, MessageDate, PrepareContext, PrepareOptions, PreparedMessage,
    header_section_len, prepare,
};
use mailwire_core::wire::address::{Domain, ForwardPath, ReversePath};
use mailwire_driver::client::ClientError;

use super::Args;
use super::transfer::TokioClient;

/// A `--message` file larger than this is streamed: only its header
/// section is read into memory; the body goes from the file to the socket.
pub const STREAM_OVER: u64 = 16 << 20;

/// Longest header section of a streamed message (a longer one, or a file
/// without an empty line, is read whole).
const MAX_STREAMED_HEADER: usize = 1 << 20;

/// A message before preparation, and how to prepare it.
#[derive(Debug, Clone)]
pub struct Draft {
    /// The message (or, when composed, its MIME headers and body). For a
    /// streamed message, only its header section.
    pub message: Vec<u8>,
    /// The explicit envelope and the extra header fields.
    pub options: PrepareOptions,
    /// The body of a streamed message: read from the file at send time.
    pub stream: Option<StreamedBody>,
}

/// The body of a large message file, left in the file.
#[derive(Debug, Clone)]
pub struct StreamedBody {
    /// The file.
    pub path: PathBuf,
    /// Where the body starts.
    pub offset: u64,
    /// Its length in octets.
    pub len: u64,
    /// What it needs (8-bit, binary), scanned when the draft was made.
    pub needs: BodyNeeds,
}

impl Draft {
    /// Prepares the message now (the date, a fresh Message-ID with
    /// `domain` on its right-hand side).
    ///
    /// # Errors
    ///
    /// The clock or a message error, as a message.
    pub fn prepare(
        &self,
        random: &dyn RandomSource,
        domain: &Domain,
    ) -> Result<PreparedMessage, String> {
        let date = MessageDate::from_system_time(SystemTime::now(), 0)
            .map_err(|e| format!("the system clock: {e}"))?;
        let context = PrepareContext::new(date, random, domain);
        prepare(&self.message, &self.options, &context).map_err(|e| format!("message: {e}"))
    }

    /// Makes `prepared` (made from this draft) a new message: a fresh Date
    /// and Message-ID where preparing added them. False when it must be
    /// prepared again.
    pub fn renew(
        &self,
        prepared: &mut PreparedMessage,
        random: &dyn RandomSource,
        domain: &Domain,
    ) -> bool {
        let Ok(date) = MessageDate::from_system_time(SystemTime::now(), 0) else {
            return false;
        };
        prepared.renew(&PrepareContext::new(date, random, domain))
    }

    /// The envelope of `prepared` (made from this draft), with the body
    /// type and size of the whole message when the body is streamed.
    #[must_use]
    pub fn envelope(&self, prepared: &PreparedMessage) -> Envelope {
        let mut envelope = prepared.envelope();
        if let Some(stream) = &self.stream {
            let needs = prepared.needs.merge(stream.needs);
            envelope.options = envelope
                .options
                .with_body(needs.body_kind())
                .with_size((prepared.bytes.len() as u64).saturating_add(stream.len));
        }
        envelope
    }

    /// Sends `prepared` (made from this draft) with `envelope` on `client`:
    /// from memory, or the prepared header section followed by the body
    /// read from the file as it goes.
    ///
    /// # Errors
    ///
    /// As [`Client::send`](mailwire_driver::client::Client::send); the file
    /// cannot be opened or read
    /// ([`ClientError::Body`]).
    pub async fn transmit(
        &self,
        client: &mut TokioClient,
        envelope: Envelope,
        prepared: Bytes,
    ) -> Result<TransactionOutcome, ClientError> {
        let Some(stream) = &self.stream else {
            return client.send(envelope, prepared).await;
        };
        let open = |path: &Path, offset: u64| -> std::io::Result<std::fs::File> {
            let mut file = std::fs::File::open(path)?;
            file.seek(SeekFrom::Start(offset))?;
            Ok(file)
        };
        let file = open(&stream.path, stream.offset).map_err(ClientError::Body)?;
        let body = smol::Unblock::with_capacity(FILE_READ, file).take(stream.len);
        let mut reader = futures_lite::io::Cursor::new(prepared).chain(body);
        client.send_reader(envelope, &mut reader).await
    }
}

/// Octets read from a streamed file at a time.
const FILE_READ: usize = 64 << 10;

/// Reads the header section of a large message file and scans its body
/// (without keeping it): a streamed draft's message and body, or `None`
/// when the file is small or has no header section end within
/// [`MAX_STREAMED_HEADER`] (it is then read whole).
fn streamed(path: &Path) -> Result<Option<(Vec<u8>, StreamedBody)>, String> {
    let fail = |e: std::io::Error| format!("--message {}: {e}", path.display());
    let mut file = std::fs::File::open(path).map_err(fail)?;
    let size = file.metadata().map_err(fail)?.len();
    if size <= STREAM_OVER {
        return Ok(None);
    }
    let mut head = Vec::new();
    let mut block = vec![0u8; FILE_READ];
    let header_len = loop {
        if let Some(len) = header_section_len(&head) {
            break len;
        }
        if head.len() >= MAX_STREAMED_HEADER {
            return Ok(None);
        }
        let n = file.read(&mut block).map_err(fail)?;
        if n == 0 {
            return Ok(None);
        }
        head.extend_from_slice(&block[..n]);
    };
    let mut scanner = BodyScanner::default();
    scanner.feed(&head[header_len..]);
    let mut body_len = (head.len() - header_len) as u64;
    loop {
        let n = file.read(&mut block).map_err(fail)?;
        if n == 0 {
            break;
        }
        scanner.feed(&block[..n]);
        body_len += n as u64;
    }
    head.truncate(header_len);
    Ok(Some((
        head,
        StreamedBody {
            path: path.to_path_buf(),
            offset: header_len as u64,
            len: body_len,
            needs: scanner.finish(),
        },
    )))
}

/// The address in `text`: `addr@host`, `<addr@host>` or
/// `Name <addr@host>`.
fn bare_address(text: &str) -> &str {
    let text = text.trim();
    match (text.rfind('<'), text.ends_with('>')) {
        (Some(open), true) => &text[open + 1..text.len() - 1],
        _ => text,
    }
}

/// An envelope sender from an option value (`<>` or empty: the null
/// sender).
fn reverse_path(option: &str, text: &str) -> Result<ReversePath, String> {
    let address = bare_address(text);
    if address.is_empty() {
        return Ok(ReversePath::Null);
    }
    format!("<{address}>")
        .parse()
        .map_err(|e| format!("--{option} {text}: {e}"))
}

/// An envelope recipient from an option value.
fn forward_path(option: &str, text: &str) -> Result<ForwardPath, String> {
    format!("<{}>", bare_address(text))
        .parse()
        .map_err(|e| format!("--{option} {text}: {e}"))
}

/// `Name: value` from `--header`.
fn header(text: &str) -> Result<(String, String), String> {
    match text.split_once(':') {
        Some((name, value)) if !name.trim().is_empty() => {
            Ok((name.trim().to_owned(), value.trim().to_owned()))
        }
        _ => Err(format!("--header {text:?}: expected 'Name: value'")),
    }
}

/// `text` with line ends made CRLF and a final line end.
fn crlf_lines(text: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len() + 16);
    let mut previous = 0u8;
    for &b in text {
        match b {
            b'\n' if previous != b'\r' => out.extend_from_slice(b"\r\n"),
            b'\n' => out.push(b'\n'),
            b'\r' => {
                if previous == b'\r' {
                    out.push(b'\n');
                }
                out.push(b'\r');
            }
            _ => {
                if previous == b'\r' {
                    // A bare CR becomes a line end too.
                    out.push(b'\n');
                }
                out.push(b);
            }
        }
        previous = b;
    }
    if previous == b'\r' {
        out.push(b'\n');
    }
    if !out.is_empty() && !out.ends_with(b"\r\n") {
        out.extend_from_slice(b"\r\n");
    }
    out
}

const BASE64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

fn base64(input: &[u8]) -> String {
    let mut out = String::with_capacity(input.len().div_ceil(3) * 4);
    for chunk in input.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(BASE64[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// A header text: as is when ASCII, else RFC 2047 encoded words
/// (`=?UTF-8?B?…?=`, each under 76 columns, split between characters).
fn encode_text(text: &str) -> String {
    if text.is_ascii() {
        return text.to_owned();
    }
    let mut words = Vec::new();
    let mut chunk = String::new();
    for c in text.chars() {
        if chunk.len() + c.len_utf8() > 45 {
            words.push(format!("=?UTF-8?B?{}?=", base64(chunk.as_bytes())));
            chunk.clear();
        }
        chunk.push(c);
    }
    if !chunk.is_empty() {
        words.push(format!("=?UTF-8?B?{}?=", base64(chunk.as_bytes())));
    }
    words.join(" ")
}

fn read_message(path: &std::path::Path) -> Result<Vec<u8>, String> {
    if path.as_os_str() == "-" {
        let mut bytes = Vec::new();
        std::io::stdin()
            .lock()
            .read_to_end(&mut bytes)
            .map_err(|e| format!("--message -: reading standard input: {e}"))?;
        Ok(bytes)
    } else {
        std::fs::read(path).map_err(|e| format!("--message {}: {e}", path.display()))
    }
}

/// The message and its preparation options for `args`.
///
/// # Errors
///
/// A usage error, as a message.
pub fn draft(args: &Args) -> Result<Draft, String> {
    let mut options = PrepareOptions::default();
    if let Some(originator) = &args.originator {
        options.originator = Some(reverse_path("originator", originator)?);
    }
    if !args.recipients.is_empty() {
        let mut paths = Vec::new();
        for list in &args.recipients {
            for item in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                paths.push(forward_path("recipients", item)?);
            }
        }
        if paths.is_empty() {
            return Err("--recipients: no address given".into());
        }
        options.recipients = Some(paths);
    }

    let mut stream = None;
    let message = match &args.message {
        Some(path) => {
            // The options give the envelope; the headers stay as they are.
            if options.originator.is_none()
                && let Some(from) = &args.from
            {
                options.originator = Some(reverse_path("from", from)?);
            }
            // --to, --cc and --bcc name envelope recipients here, as
            // --recipients does: every one of them gets the message.
            for (option, list) in [("to", &args.to), ("cc", &args.cc), ("bcc", &args.bcc)] {
                for value in list {
                    let path = forward_path(option, value)?;
                    options.recipients.get_or_insert_with(Vec::new).push(path);
                }
            }
            if path.as_os_str() != "-"
                && let Some((head, body)) = streamed(path)?
            {
                stream = Some(body);
                head
            } else {
                read_message(path)?
            }
        }
        None => {
            if let Some(from) = &args.from {
                options.extra_headers.push(("From".into(), from.clone()));
            }
            for (name, list) in [("To", &args.to), ("Cc", &args.cc), ("Bcc", &args.bcc)] {
                if !list.is_empty() {
                    options.extra_headers.push((name.into(), list.join(", ")));
                }
            }
            if let Some(subject) = &args.subject {
                options
                    .extra_headers
                    .push(("Subject".into(), encode_text(subject)));
            }
            let body = match (&args.body, &args.body_file) {
                (Some(body), _) => body.as_bytes().to_vec(),
                (None, Some(path)) => std::fs::read(path)
                    .map_err(|e| format!("--body-file {}: {e}", path.display()))?,
                (None, None) => Vec::new(),
            };
            let mut message = Vec::with_capacity(body.len() + 128);
            if !body.is_ascii() {
                message.extend_from_slice(
                    b"MIME-Version: 1.0\r\n\
                      Content-Type: text/plain; charset=utf-8\r\n\
                      Content-Transfer-Encoding: 8bit\r\n",
                );
            }
            message.extend_from_slice(b"\r\n");
            message.extend_from_slice(&crlf_lines(&body));
            message
        }
    };
    for text in &args.headers {
        options.extra_headers.push(header(text)?);
    }
    Ok(Draft {
        message,
        options,
        stream,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_ends_become_crlf() {
        assert_eq!(crlf_lines(b"a\nb"), b"a\r\nb\r\n");
        assert_eq!(crlf_lines(b"a\r\nb\r\n"), b"a\r\nb\r\n");
        assert_eq!(crlf_lines(b"a\rb"), b"a\r\nb\r\n");
        assert_eq!(crlf_lines(b"a\r\r\nb"), b"a\r\n\r\nb\r\n");
        assert_eq!(crlf_lines(b""), b"");
    }

    #[test]
    fn base64_and_encoded_words() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(b"foobar"), "Zm9vYmFy");
        assert_eq!(encode_text("plain"), "plain");
        assert_eq!(encode_text("é"), "=?UTF-8?B?w6k=?=");
        let long = encode_text(&"ü".repeat(40));
        assert!(long.split(' ').all(|w| w.len() < 76), "{long}");
    }

    #[test]
    fn addresses_from_options() {
        assert_eq!(bare_address("Bob <bob@x.test>"), "bob@x.test");
        assert_eq!(bare_address(" bob@x.test "), "bob@x.test");
        assert_eq!(reverse_path("from", "<>"), Ok(ReversePath::Null));
        assert!(forward_path("to", "not an address").is_err());
        assert_eq!(
            header("X-Test:  hello "),
            Ok(("X-Test".into(), "hello".into()))
        );
        assert!(header("no colon").is_err());
    }
}
