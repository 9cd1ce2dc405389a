//! Sending a message made by
//! [`MessageBuilder`](mailwire_core::message::MessageBuilder): built for the
//! server the client is connected to (UTF-8 headers only when it offers
//! SMTPUTF8), and streamed with its file parts read and base64-encoded as
//! they go, in bounded memory whatever their size.

use std::fs::File;
use std::io;
use std::path::Path;

use bytes::Bytes;
use futures_io::{AsyncRead, AsyncWrite};
use futures_lite::AsyncReadExt;
use mailwire_core::client::{MailOptions, TransactionId, TransactionOutcome};
use mailwire_core::message::{
    Base64Stream, BuildError, BuiltMessage, HeaderCharset, MessageBuilder, PrepareContext,
    PrepareOptions, Segment,
};

use super::body::{BODY_CHUNK, BodySource};
use super::{Client, ClientError};
use crate::Runtime;

/// Octets read from a file at a time: a multiple of 57 (one base64 line),
/// so every read but the last encodes to whole lines.
const FILE_PIECE: usize = 57 * 1024;

/// The body source of a built message: its header section, then each
/// segment, files opened in turn and read off the executor
/// ([`blocking::Unblock`]). It can start again (the server deferred some
/// recipients and the core wants the body once more).
pub(crate) struct BuiltBody<'a> {
    built: &'a BuiltMessage,
    /// The next segment: 0 is the header section, `n` is `body[n - 1]`.
    next: usize,
    /// The file being read, with its encoder.
    file: Option<(blocking::Unblock<File>, Base64Stream)>,
}

impl<'a> BuiltBody<'a> {
    pub(crate) fn new(built: &'a BuiltMessage) -> Self {
        BuiltBody {
            built,
            next: 0,
            file: None,
        }
    }
}

/// `error` with the path it is about.
fn file_error(path: &Path, error: &io::Error) -> io::Error {
    io::Error::new(error.kind(), format!("{}: {error}", path.display()))
}

impl BodySource for BuiltBody<'_> {
    async fn next_chunk(&mut self) -> io::Result<Option<Bytes>> {
        loop {
            if let Some((file, encoder)) = &mut self.file {
                let mut buf = vec![0u8; FILE_PIECE];
                let n = file.read(&mut buf).await?;
                let mut out = Vec::with_capacity(n / 57 * 78 + 80);
                if n == 0 {
                    encoder.finish(&mut out);
                    self.file = None;
                } else {
                    encoder.feed(&buf[..n], &mut out);
                }
                if out.is_empty() {
                    continue;
                }
                return Ok(Some(Bytes::from(out)));
            }
            // Cancel-safe: the engine may drop this future when it is
            // pending (it polls once for pieces that are ready at once), so
            // nothing is advanced before an await that could be dropped.
            // Opening a file is done in place (a regular file opens without
            // waiting); reading it is off the executor.
            let index = self.next;
            if index == 0 {
                self.next += 1;
                return Ok(Some(Bytes::from(self.built.prepared.bytes.clone())));
            }
            match self.built.body.get(index - 1) {
                None => return Ok(None),
                Some(Segment::Bytes(bytes)) => {
                    self.next += 1;
                    return Ok(Some(bytes.clone()));
                }
                Some(Segment::Base64File(path)) => {
                    let file = File::open(path).map_err(|e| file_error(path, &e))?;
                    self.next += 1;
                    self.file = Some((
                        blocking::Unblock::with_capacity(BODY_CHUNK, file),
                        Base64Stream::new(),
                    ));
                }
                Some(_) => {
                    return Err(io::Error::other(
                        "a part of the built message this driver cannot send",
                    ));
                }
            }
        }
    }

    fn rewind(&mut self) -> bool {
        self.next = 0;
        self.file = None;
        true
    }
}

/// The size of `built` in octets, the files' lengths read from the file
/// system (`None` when one cannot be read: no `SIZE=` hint then).
pub(crate) async fn built_size(built: &BuiltMessage) -> Option<u64> {
    let paths: Vec<_> = built.files().map(Path::to_path_buf).collect();
    if paths.is_empty() {
        // Nothing to ask the file system: no trip to the blocking pool
        // (a thread hop per message in bulk sending).
        return built.len_with(|_| None);
    }
    let lengths = blocking::unblock(move || {
        paths
            .into_iter()
            .map(|path| std::fs::metadata(&path).ok().map(|m| (path, m.len())))
            .collect::<Option<Vec<_>>>()
    })
    .await?;
    built.len_with(|path| lengths.iter().find(|(p, _)| p == path).map(|(_, len)| *len))
}

impl<S, R> Client<S, R>
where
    S: AsyncRead + AsyncWrite + Unpin + Send,
    R: Runtime,
{
    /// How a message must be built for this server: UTF-8 headers
    /// (RFC 6532) when it offers SMTPUTF8, else pure ASCII.
    #[must_use]
    pub fn header_charset(&self) -> HeaderCharset {
        HeaderCharset::for_server(self.capabilities().smtputf8)
    }

    /// Builds `builder` for this server ([`header_charset`](Self::header_charset)),
    /// completed with `options` and `context` as
    /// [`MessageBuilder::build`] does.
    ///
    /// # Errors
    ///
    /// A [`BuildError`]: among others
    /// [`BuildError::Utf8LocalPart`] when an address has a non-ASCII local
    /// part and this server does not offer SMTPUTF8.
    pub fn build(
        &self,
        builder: &MessageBuilder,
        options: &PrepareOptions,
        context: &PrepareContext<'_>,
    ) -> Result<BuiltMessage, BuildError> {
        builder.build(self.header_charset(), options, context)
    }

    /// Sends a built message: its header section, then its parts, the
    /// file parts read and base64-encoded as they go (a few tens of
    /// kilobytes in memory whatever their size), with `options` (DSN,
    /// REQUIRETLS, send policy) merged over the body type, size and
    /// SMTPUTF8 it needs. Build it for this server ([`build`](Self::build)).
    ///
    /// # Errors
    ///
    /// As [`send`](Self::send); [`ClientError::Body`] when a file cannot
    /// be opened or read (the connection is then ended, the message not
    /// sent).
    pub async fn send_built(
        &mut self,
        built: &BuiltMessage,
        options: MailOptions,
    ) -> Result<TransactionOutcome, ClientError> {
        let size = built_size(built).await;
        let envelope = built.envelope(size).with_merged_options(options);
        let mut body = BuiltBody::new(built);
        self.engine.transaction(envelope, &mut body).await
    }
    /// Starts a built message as [`Client::submit`] does: returns once
    /// its body is handed over, its outcome comes through
    /// [`Client::next_outcome`]. Options as [`send_built`](Self::send_built).
    ///
    /// # Errors
    ///
    /// As [`send`](Client::send); after an error this message has no
    /// outcome to take.
    pub async fn submit_built(
        &mut self,
        built: &BuiltMessage,
        options: MailOptions,
    ) -> Result<TransactionId, ClientError> {
        let size = built_size(built).await;
        let mut envelope = built.envelope(size);
        let needs = envelope.options.clone();
        let mut merged = options;
        merged.body = needs.body;
        merged.size = needs.size;
        merged.smtputf8 |= needs.smtputf8;
        envelope.options = merged;
        let mut body = BuiltBody::new(built);
        self.engine.submit(envelope, &mut body).await
    }
}
