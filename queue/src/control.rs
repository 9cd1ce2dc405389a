//! Asking the process that delivers from a local spool to retry now
//! (`mailwire queue retry`, as `postqueue -f` and `postqueue -i`): the
//! request is a file in the spool that the delivering process takes.

use std::fs::OpenOptions;
use std::io::{self, Write};
use std::path::Path;

use crate::QueueId;

/// The word that asks for every entry.
const ALL: &str = "ALL";

/// Which entries to retry now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RetryRequest {
    /// Every entry (`postqueue -f`).
    All,
    /// These entries (`postqueue -i ID`).
    Ids(Vec<QueueId>),
}

/// Adds a retry request to the spool at `root` (`ids` empty: every
/// entry). A relay running on the spool takes it within a second; one
/// started later takes it at start.
///
/// # Errors
///
/// The request file cannot be written.
pub fn request_retry(root: &Path, ids: &[QueueId]) -> io::Result<()> {
    let mut file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(root.join("retry"))?;
    let mut text = String::new();
    if ids.is_empty() {
        text.push_str(ALL);
        text.push('\n');
    }
    for id in ids {
        text.push_str(id.as_str());
        text.push('\n');
    }
    file.write_all(text.as_bytes())?;
    file.sync_all()
}

/// Takes the retry requests waiting in the spool at `root` (`None`:
/// none).
#[must_use]
pub fn take_retry_requests(root: &Path) -> Option<RetryRequest> {
    let taking = root.join("retry.taking");
    let request = root.join("retry");
    // A file the writer has created but not yet written would be taken
    // empty and its request lost: leave it for the next look.
    if std::fs::metadata(&request).ok()?.len() == 0 {
        return None;
    }
    std::fs::rename(&request, &taking).ok()?;
    let text = std::fs::read_to_string(&taking).unwrap_or_default();
    let _ = std::fs::remove_file(&taking);
    let mut ids = Vec::new();
    for line in text.lines() {
        if line.trim() == ALL {
            return Some(RetryRequest::All);
        }
        if let Some(id) = QueueId::parse(line.trim()) {
            ids.push(id);
        }
    }
    Some(RetryRequest::Ids(ids))
}
