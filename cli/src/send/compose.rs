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
    BodyNeeds, BodyScanner, BuiltMessage, HeaderCharset, MessageBuilder, MessageDate,
    PrepareContext, PrepareOptions, PreparedMessage, header_section_len, prepare,
};
use mailwire_core::wire::address::{Domain, ForwardPath, ReversePath};
use mailwire_driver::client::ClientError;

use super::Args;
use super::settings::TokioClient;

/// A `--message` file larger than this is streamed: only its header
/// section is read into memory; the body goes from the file to the socket.
pub const STREAM_OVER: u64 = 16 << 20;

/// Longest header section of a streamed message (a longer one, or a file
/// without an empty line, is read whole).
const MAX_STREAMED_HEADER: usize = 1 << 20;

/// A message before preparation, and how to prepare it.
#[derive(Debug, Clone)]
pub struct Draft {
    /// The message (empty when composed: see `compose`). For a
    /// streamed message, only its header section.
    pub message: Vec<u8>,
    /// The explicit envelope and the extra header fields.
    pub options: PrepareOptions,
    /// The body of a streamed message: read from the file at send time.
    pub stream: Option<StreamedBody>,
    /// A composed message (no --message): built for each server, ASCII
    /// unless an address needs UTF-8 and the server offers SMTPUTF8.
    pub compose: Option<MessageBuilder>,
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
        if self.compose.is_some() {
            // Checked as for a server with SMTPUTF8 (the envelope and
            // every problem but a need for it): built again for the server.
            return self
                .build(HeaderCharset::Utf8, random, domain)
                .map(|built| built.prepared);
        }
        let date = MessageDate::from_system_time(SystemTime::now(), 0)
            .map_err(|e| format!("the system clock: {e}"))?;
        let context = PrepareContext::new(date, random, domain);
        prepare(&self.message, &self.options, &context).map_err(|e| format!("message: {e}"))
    }

    /// Builds the composed message for a server (`charset`: whether it
    /// offers SMTPUTF8), with this draft's envelope and extra headers.
    ///
    /// # Errors
    ///
    /// The clock, or why the message cannot be built, as a sentence.
    pub fn build(
        &self,
        charset: HeaderCharset,
        random: &dyn RandomSource,
        domain: &Domain,
    ) -> Result<BuiltMessage, String> {
        let empty = MessageBuilder::default();
        let builder = self.compose.as_ref().unwrap_or(&empty);
        let date = MessageDate::from_system_time(SystemTime::now(), 0)
            .map_err(|e| format!("the system clock: {e}"))?;
        let context = PrepareContext::new(date, random, domain);
        builder
            .build(charset, &self.options, &context)
            .map_err(|e| format!("message: {e}"))
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
                .with_body(needs.body_type())
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
    let mut compose = None;
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
            compose = Some(super::mime::compose(args)?);
            Vec::new()
        }
    };
    for text in &args.headers {
        options.extra_headers.push(header(text)?);
    }
    Ok(Draft {
        message,
        options,
        stream,
        compose,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

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
