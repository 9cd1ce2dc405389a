//! The JSON bodies of Mailpit's API, field for field (names and types as
//! Mailpit's API documentation gives them; `catcher/API.md` writes them
//! down and the tests check every response against them).

use std::collections::BTreeMap;

use serde::Serialize;

use crate::meta::{Address, Mailbox, Mailboxes};

/// One message in a list (`MessageSummary`).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct MessageSummary<'a> {
    /// The message's ID.
    #[serde(rename = "ID")]
    pub id: String,
    /// `Message-ID` without angle brackets.
    #[serde(rename = "MessageID")]
    pub message_id: &'a str,
    /// Whether it has been read (the Maildir `S` flag).
    pub read: bool,
    /// The first `From` mailbox.
    pub from: Mailbox<'a>,
    /// `To` mailboxes.
    pub to: Mailboxes<'a>,
    /// `Cc` mailboxes.
    pub cc: Mailboxes<'a>,
    /// `Bcc` mailboxes.
    pub bcc: Mailboxes<'a>,
    /// `Reply-To` mailboxes.
    pub reply_to: Mailboxes<'a>,
    /// The decoded subject.
    pub subject: &'a str,
    /// Arrival time, RFC 3339.
    pub created: String,
    /// The SMTP AUTH user (mailwire does not keep it: always empty).
    pub username: &'static str,
    /// Tags (mailwire has none).
    pub tags: [&'static str; 0],
    /// Size of the stored file in octets.
    pub size: u64,
    /// Number of attachments.
    pub attachments: u32,
    /// Up to 200 octets of the body's text.
    pub snippet: &'a str,
}

/// A page of messages (`MessagesSummary`).
#[derive(Debug, Clone, Serialize)]
pub struct MessagesSummary<'a> {
    /// Messages in the mailbox.
    pub total: u64,
    /// Unread messages in the mailbox.
    pub unread: u64,
    /// Messages on this page (undocumented by Mailpit, but sent).
    pub count: u64,
    /// Messages matching the query (all of them for a list).
    pub messages_count: u64,
    /// Unread messages matching the query.
    pub messages_unread: u64,
    /// The offset of this page.
    pub start: u64,
    /// Every tag (mailwire has none).
    pub tags: [&'static str; 0],
    /// The page, newest first.
    pub messages: Vec<MessageSummary<'a>>,
}

/// An attachment or inline part (`Attachment`).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Attachment {
    /// The part ID for `/part/{PartID}`.
    #[serde(rename = "PartID")]
    pub part_id: String,
    /// The file name (or the `Content-ID` when there is none).
    pub file_name: String,
    /// `type/subtype`.
    pub content_type: String,
    /// The `Content-ID` without angle brackets.
    #[serde(rename = "ContentID")]
    pub content_id: String,
    /// Decoded size in octets.
    pub size: u64,
    /// Checksums of the decoded content.
    pub checksums: Checksums,
}

/// Hex checksums of a part's content.
#[derive(Debug, Clone, Serialize)]
pub struct Checksums {
    /// MD5.
    #[serde(rename = "MD5")]
    pub md5: String,
    /// SHA-1.
    #[serde(rename = "SHA1")]
    pub sha1: String,
    /// SHA-256.
    #[serde(rename = "SHA256")]
    pub sha256: String,
}

/// `List-Unsubscribe` and what was found in it.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListUnsubscribe {
    /// The header's value.
    pub header: String,
    /// The links found (at most one `mailto:` and one HTTP(S) link).
    pub links: Vec<String>,
    /// What is wrong with it, if anything.
    pub errors: String,
    /// `List-Unsubscribe-Post`.
    pub header_post: String,
}

/// A whole message (`Message`).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Message {
    /// The message's ID.
    #[serde(rename = "ID")]
    pub id: String,
    /// `Message-ID` without angle brackets.
    #[serde(rename = "MessageID")]
    pub message_id: String,
    /// The first `From` mailbox.
    pub from: Address,
    /// `To` mailboxes.
    pub to: Box<[Address]>,
    /// `Cc` mailboxes.
    pub cc: Box<[Address]>,
    /// `Bcc` mailboxes.
    pub bcc: Box<[Address]>,
    /// `Reply-To` mailboxes.
    pub reply_to: Box<[Address]>,
    /// The `Return-Path` address.
    pub return_path: String,
    /// The decoded subject.
    pub subject: String,
    /// `List-Unsubscribe`.
    pub list_unsubscribe: ListUnsubscribe,
    /// The `Date` header (RFC 3339), or the arrival time without one.
    pub date: String,
    /// Tags (mailwire has none).
    pub tags: [&'static str; 0],
    /// The SMTP AUTH user (always empty).
    pub username: &'static str,
    /// The text body.
    pub text: String,
    /// The HTML body.
    #[serde(rename = "HTML")]
    pub html: String,
    /// Size of the stored file in octets.
    pub size: u64,
    /// Inline parts.
    pub inline: Vec<Attachment>,
    /// Attachments.
    pub attachments: Vec<Attachment>,
}

/// Message headers: canonical names to values, names sorted.
pub type Headers = BTreeMap<String, Vec<String>>;

/// Runtime statistics of `AppInformation`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct RuntimeStats {
    /// Seconds since start.
    pub uptime: u64,
    /// Resident memory in octets.
    pub memory: u64,
    /// Messages deleted since start.
    pub messages_deleted: u64,
    /// Messages accepted over SMTP since start.
    #[serde(rename = "SMTPAccepted")]
    pub smtp_accepted: u64,
    /// Their octets.
    #[serde(rename = "SMTPAcceptedSize")]
    pub smtp_accepted_size: u64,
    /// Messages refused (mailwire counts none here: always 0).
    #[serde(rename = "SMTPRejected")]
    pub smtp_rejected: u64,
    /// Messages ignored as duplicates (never: 0).
    #[serde(rename = "SMTPIgnored")]
    pub smtp_ignored: u64,
}

/// `GET /api/v1/info` (`AppInformation`).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct AppInformation {
    /// mailwire's version.
    pub version: String,
    /// `disabled`: nothing is fetched at run time.
    pub latest_version: &'static str,
    /// The Maildir.
    pub database: String,
    /// Octets of all stored messages.
    pub database_size: u64,
    /// Messages in the mailbox.
    pub messages: u64,
    /// Unread messages.
    pub unread: u64,
    /// Tags and their counts (none).
    pub tags: BTreeMap<String, u64>,
    /// Runtime statistics.
    pub runtime_stats: RuntimeStats,
}

/// One websocket event: `{"Type": …, "Data": …}`.
#[derive(Debug, Clone, Serialize)]
pub struct Event<T: Serialize> {
    /// `new`, `update`, `delete`, `truncate`, `prune` or `stats`.
    #[serde(rename = "Type")]
    pub kind: &'static str,
    /// The event's data (`null` for `truncate` and `prune`).
    #[serde(rename = "Data")]
    pub data: T,
}

/// Data of an `update` event.
#[derive(Debug, Clone, Serialize)]
pub struct ReadChange {
    /// The message.
    #[serde(rename = "ID")]
    pub id: String,
    /// Its new read state.
    #[serde(rename = "Read")]
    pub read: bool,
}

/// Data of a `delete` event.
#[derive(Debug, Clone, Serialize)]
pub struct Deleted {
    /// The message.
    #[serde(rename = "ID")]
    pub id: String,
}

/// Data of a `stats` event.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Stats {
    /// Messages in the mailbox.
    pub total: u64,
    /// Unread messages.
    pub unread: u64,
    /// mailwire's version.
    pub version: String,
}
