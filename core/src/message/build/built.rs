//! A built message: its prepared header section (with the envelope) and
//! its body as segments, some of which the driver reads from files as it
//! sends.

use std::path::{Path, PathBuf};

use bytes::Bytes;

use super::base64_encoded_len;
use crate::envelope::Envelope;
use crate::message::PreparedMessage;

/// A piece of a built message's body.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Segment {
    /// Bytes to send as they are (MIME headers, boundaries, parts held in
    /// memory, already encoded).
    Bytes(Bytes),
    /// A file to read and send base64-encoded
    /// ([`Base64Stream`](super::Base64Stream)) as it streams.
    Base64File(PathBuf),
}

/// What [`MessageBuilder::build`](super::MessageBuilder::build) makes: the
/// header section, prepared for sending (envelope, `Date`, `Message-ID`,
/// `Bcc` removed, what the server must offer), and the body.
///
/// The body is ASCII with lines of at most 998 octets; the header section
/// is ASCII too unless it was built for a server with SMTPUTF8. A message
/// without [`Segment::Base64File`] is in memory whole
/// ([`to_bytes`](Self::to_bytes)); otherwise the driver streams it
/// (`mailwire_driver`'s `MessageReader`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
#[must_use]
pub struct BuiltMessage {
    /// The header section (ending with its empty line) with its envelope.
    pub prepared: PreparedMessage,
    /// The body, in order.
    pub body: Vec<Segment>,
}

impl BuiltMessage {
    /// The whole message, when no part is read from a file.
    #[must_use]
    pub fn to_bytes(&self) -> Option<Vec<u8>> {
        let mut out = self.prepared.bytes.clone();
        for segment in &self.body {
            match segment {
                Segment::Bytes(bytes) => out.extend_from_slice(bytes),
                Segment::Base64File(_) => return None,
            }
        }
        Some(out)
    }

    /// The files the body reads.
    pub fn files(&self) -> impl Iterator<Item = &Path> {
        self.body.iter().filter_map(|segment| match segment {
            Segment::Base64File(path) => Some(path.as_path()),
            Segment::Bytes(_) => None,
        })
    }

    /// The length of the message in octets, given each file's length
    /// (`None` when one is unknown).
    #[must_use]
    pub fn len_with(&self, mut file_len: impl FnMut(&Path) -> Option<u64>) -> Option<u64> {
        let mut total = self.prepared.bytes.len() as u64;
        for segment in &self.body {
            total = total.saturating_add(match segment {
                Segment::Bytes(bytes) => bytes.len() as u64,
                Segment::Base64File(path) => base64_encoded_len(file_len(path)?),
            });
        }
        Some(total)
    }

    /// The [`Envelope`] to send the message with (what a client's
    /// `send_mail` takes): the prepared one, with the size of the whole message (`size`, from
    /// [`len_with`](Self::len_with)) as its `SIZE=` hint, or none.
    pub fn envelope(&self, size: Option<u64>) -> Envelope {
        let mut envelope = self.prepared.envelope();
        envelope.options.size = size;
        envelope
    }
}
