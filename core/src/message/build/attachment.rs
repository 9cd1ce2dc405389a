//! Attachments and inline parts: bytes in memory or a file named by its
//! path (read by the driver as the message is sent, never here).

use std::path::{Path, PathBuf};

use bytes::Bytes;

/// Where a part's bytes come from.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Content {
    /// Bytes in memory: the builder picks the transfer encoding (7bit,
    /// quoted-printable or base64) from them.
    Bytes(Bytes),
    /// A file, read while the message is sent (the core never opens it):
    /// always base64, encoded as it streams, so its size does not matter.
    File(PathBuf),
}

/// An attachment or an inline part (an image an HTML body shows through
/// `cid:`), with its MIME type, file name and `Content-ID`.
///
/// The MIME type is guessed from the file name (`application/octet-stream`
/// when the name says nothing); [`with_content_type`](Self::with_content_type)
/// overrides it.
///
/// ```
/// use mailwire_core::message::{Attachment, Content};
///
/// let report = Attachment::from_bytes("report.pdf", b"%PDF-1.7 ...".to_vec());
/// assert_eq!(report.content_type, "application/pdf");
/// let logo = Attachment::from_file("/srv/images/logo.png").inline("logo@example.org");
/// assert_eq!(logo.filename.as_deref(), Some("logo.png"));
/// assert_eq!(logo.content_id.as_deref(), Some("logo@example.org"));
/// assert!(matches!(logo.content, Content::File(_)));
/// let data = Attachment::from_bytes("data", vec![0, 1, 2]).with_content_type("image/x-raw");
/// assert_eq!(data.content_type, "image/x-raw");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Attachment {
    /// The MIME type, `type/subtype` with optional parameters.
    pub content_type: String,
    /// The file name shown to the reader (`filename=` and `name=`).
    pub filename: Option<String>,
    /// The `Content-ID` (without angle brackets) of an inline part; `None`
    /// for an attachment.
    pub content_id: Option<String>,
    /// The bytes.
    pub content: Content,
}

impl Attachment {
    /// An attachment of `bytes` named `filename`, its type guessed from
    /// the name.
    #[must_use]
    pub fn from_bytes(filename: impl Into<String>, bytes: impl Into<Bytes>) -> Self {
        let filename = filename.into();
        Attachment {
            content_type: guess_type(&filename),
            filename: (!filename.is_empty()).then_some(filename),
            content_id: None,
            content: Content::Bytes(bytes.into()),
        }
    }

    /// An attachment read from the file at `path` when the message is
    /// sent, named and typed after the path's last component.
    #[must_use]
    pub fn from_file(path: impl Into<PathBuf>) -> Self {
        let path = path.into();
        let filename = path
            .file_name()
            .map(|name| name.to_string_lossy().into_owned());
        Attachment {
            content_type: filename.as_deref().map_or_else(octet_stream, guess_type),
            filename,
            content_id: None,
            content: Content::File(path),
        }
    }

    /// Sets the MIME type instead of the guess.
    #[must_use]
    pub fn with_content_type(mut self, content_type: impl Into<String>) -> Self {
        self.content_type = content_type.into();
        self
    }

    /// Sets the file name the reader sees (the type guess is kept).
    #[must_use]
    pub fn with_filename(mut self, filename: impl Into<String>) -> Self {
        self.filename = Some(filename.into());
        self
    }

    /// Makes this an inline part with the `Content-ID` `cid` (without
    /// angle brackets): an HTML body shows it with `src="cid:…"`.
    #[must_use]
    pub fn inline(mut self, cid: impl Into<String>) -> Self {
        self.content_id = Some(cid.into());
        self
    }

    /// The file this part is read from, if it is one.
    #[must_use]
    pub fn path(&self) -> Option<&Path> {
        match &self.content {
            Content::File(path) => Some(path),
            Content::Bytes(_) => None,
        }
    }
}

/// `application/octet-stream`.
fn octet_stream() -> String {
    "application/octet-stream".to_owned()
}

/// The MIME type of a file name, from its extension.
///
/// ```
/// use mailwire_core::message::guess_type;
///
/// assert_eq!(guess_type("page.html"), "text/html");
/// assert_eq!(guess_type("photo.JPG"), "image/jpeg");
/// assert_eq!(guess_type("no-extension"), "application/octet-stream");
/// ```
#[must_use]
pub fn guess_type(filename: &str) -> String {
    mime_guess::from_path(filename)
        .first_raw()
        .map_or_else(octet_stream, str::to_owned)
}
