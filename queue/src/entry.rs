//! What the queue keeps about a message: its envelope (written once, at
//! acceptance) and the state of each recipient (rewritten after each
//! attempt).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use mailwire_core::client::{MailOptions, Recipient};
use mailwire_core::wire::address::{ForwardPath, ReversePath};
use mailwire_core::wire::params::{BodyType, Notify, NotifyOn, Orcpt, Ret};
use serde::{Deserialize, Serialize};

use crate::QueueId;

/// Milliseconds since the Unix epoch (how times are stored).
#[must_use]
pub fn unix_ms(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// The time `ms` milliseconds after the Unix epoch.
#[must_use]
pub fn from_unix_ms(ms: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(ms)
}

/// A queued message's envelope, as accepted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueuedEnvelope {
    /// `MAIL FROM`, as written (`<>` for the null sender).
    pub from: String,
    /// The recipients, in the order they were accepted.
    pub recipients: Vec<QueuedRecipient>,
    /// `BODY=`: `7BIT`, `8BITMIME` or `BINARYMIME`.
    pub body: String,
    /// `SMTPUTF8` was given.
    #[serde(default)]
    pub smtputf8: bool,
    /// `RET=`: `FULL` or `HDRS`.
    #[serde(default)]
    pub ret: Option<String>,
    /// `ENVID=`, decoded.
    #[serde(default)]
    pub envid: Option<String>,
    /// When the message was accepted (Unix milliseconds).
    pub arrival: u64,
    /// Who sent it: the client's address, for the log and the DSN.
    #[serde(default)]
    pub client: Option<String>,
}

/// One recipient of a [`QueuedEnvelope`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueuedRecipient {
    /// The forward path, as written (`<b@example.org>`).
    pub to: String,
    /// `NOTIFY=`: `NEVER`, or a comma-separated list of `SUCCESS`,
    /// `FAILURE`, `DELAY`; absent when not given.
    #[serde(default)]
    pub notify: Option<String>,
    /// `ORCPT=` as `type;address` (decoded).
    #[serde(default)]
    pub orcpt: Option<String>,
}

impl QueuedEnvelope {
    /// The envelope of a message the server accepted, arrived now.
    #[must_use]
    pub fn from_server(
        envelope: &mailwire_core::server::ReceivedEnvelope,
        client: Option<String>,
    ) -> Self {
        let params = &envelope.params;
        QueuedEnvelope {
            from: envelope.from.to_string(),
            recipients: envelope
                .recipients
                .iter()
                .map(|r| QueuedRecipient {
                    to: r.to.to_string(),
                    notify: r.params.notify.map(notify_text),
                    orcpt: r
                        .params
                        .orcpt
                        .as_ref()
                        .map(|o| format!("{};{}", o.addr_type(), o.address())),
                })
                .collect(),
            body: envelope.body.as_str().to_owned(),
            smtputf8: params.smtputf8,
            ret: params.ret.map(|r| r.as_str().to_owned()),
            envid: params.envid.clone(),
            arrival: unix_ms(SystemTime::now()),
            client,
        }
    }

    /// Whether the sender is `<>` (no DSN is ever sent to it).
    #[must_use]
    pub fn is_null_sender(&self) -> bool {
        self.from == "<>"
    }

    /// The reverse path.
    ///
    /// # Errors
    ///
    /// The stored text is not a reverse path (a damaged file).
    pub fn reverse_path(&self) -> Result<ReversePath, String> {
        self.from
            .parse()
            .map_err(|_| format!("the sender {:?} is not an address", self.from))
    }

    /// `RET=`.
    #[must_use]
    pub fn ret(&self) -> Option<Ret> {
        match self.ret.as_deref() {
            Some(r) if r.eq_ignore_ascii_case("HDRS") => Some(Ret::Headers),
            Some(r) if r.eq_ignore_ascii_case("FULL") => Some(Ret::Full),
            _ => None,
        }
    }

    /// The body type declared at MAIL.
    #[must_use]
    pub fn body_type(&self) -> BodyType {
        if self
            .body
            .eq_ignore_ascii_case(BodyType::BinaryMime.as_str())
        {
            BodyType::BinaryMime
        } else if self
            .body
            .eq_ignore_ascii_case(BodyType::EightBitMime.as_str())
        {
            BodyType::EightBitMime
        } else {
            BodyType::SevenBit
        }
    }

    /// The options for MAIL towards the next hop; the DSN parameters only
    /// when it offers DSN (`dsn`).
    #[must_use]
    pub fn mail_options(&self, size: u64, dsn: bool) -> MailOptions {
        let mut options = MailOptions::default();
        options.size = Some(size);
        options.body = self.body_type();
        options.smtputf8 = self.smtputf8;
        if dsn {
            options.ret = self.ret();
            options.envid.clone_from(&self.envid);
        }
        options
    }
}

impl QueuedRecipient {
    /// The forward path.
    ///
    /// # Errors
    ///
    /// The stored text is not a forward path (a damaged file).
    pub fn forward_path(&self) -> Result<ForwardPath, String> {
        self.to
            .parse()
            .map_err(|_| format!("the recipient {:?} is not an address", self.to))
    }

    /// `NOTIFY=`.
    #[must_use]
    pub fn notify(&self) -> Option<Notify> {
        let text = self.notify.as_deref()?;
        if text.eq_ignore_ascii_case("NEVER") {
            return Some(Notify::Never);
        }
        let mut on = NotifyOn::default();
        for word in text.split(',') {
            match word.to_ascii_uppercase().as_str() {
                "SUCCESS" => on.success = true,
                "FAILURE" => on.failure = true,
                "DELAY" => on.delay = true,
                _ => {}
            }
        }
        Some(Notify::On(on))
    }

    /// Whether a failure is to be reported (`NOTIFY` absent, or with
    /// `FAILURE`).
    #[must_use]
    pub fn wants_failure_report(&self) -> bool {
        match self.notify() {
            None => true,
            Some(Notify::On(on)) => on.failure,
            Some(_) => false,
        }
    }

    /// `ORCPT=`, when given and well formed.
    #[must_use]
    pub fn orcpt(&self) -> Option<Orcpt> {
        let (kind, address) = self.orcpt.as_deref()?.split_once(';')?;
        Orcpt::new(kind, address).ok()
    }

    /// The recipient for RCPT towards the next hop; `NOTIFY` and `ORCPT`
    /// only when it offers DSN (`dsn`).
    ///
    /// # Errors
    ///
    /// As [`forward_path`](Self::forward_path).
    pub fn for_rcpt(&self, dsn: bool) -> Result<Recipient, String> {
        let mut rcpt = Recipient::new(self.forward_path()?);
        if dsn {
            rcpt.notify = self.notify();
            rcpt.orcpt = self.orcpt();
        }
        Ok(rcpt)
    }
}

fn notify_text(notify: Notify) -> String {
    match notify {
        Notify::On(on) if on.success || on.failure || on.delay => {
            let mut words = Vec::new();
            if on.success {
                words.push("SUCCESS");
            }
            if on.failure {
                words.push("FAILURE");
            }
            if on.delay {
                words.push("DELAY");
            }
            words.join(",")
        }
        _ => "NEVER".to_owned(),
    }
}

/// Where a recipient stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RecipientStatus {
    /// Not tried yet.
    Pending,
    /// Tried and refused for now (a 4xx, or the next hop unreachable): to
    /// be tried again.
    Deferred,
    /// The next hop answered 250 to the message for it: never sent again.
    Delivered,
    /// Refused permanently (5xx), or the message expired: a DSN was
    /// queued when one was due.
    Failed,
}

impl RecipientStatus {
    /// Whether this recipient is still to be delivered.
    #[must_use]
    pub fn is_open(self) -> bool {
        matches!(self, RecipientStatus::Pending | RecipientStatus::Deferred)
    }

    /// The word shown by `queue list`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            RecipientStatus::Pending => "pending",
            RecipientStatus::Deferred => "deferred",
            RecipientStatus::Delivered => "delivered",
            RecipientStatus::Failed => "failed",
        }
    }
}

/// One recipient's state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecipientState {
    /// Where it stands.
    pub status: RecipientStatus,
    /// The last reply about it (from the next hop, or ours: why it could
    /// not be tried), as one line.
    #[serde(default)]
    pub reply: Option<String>,
    /// The next hop's reply to the end of data may never have come for it
    /// (the connection broke after the final dot): it may have the message
    /// already, and the next attempt may give it a second copy.
    #[serde(default)]
    pub unknown: bool,
    /// For a failed recipient: its failure was dealt with (a DSN queued,
    /// or none due). A failure not yet reported is reported when the
    /// entry is next handled (also after a crash).
    #[serde(default)]
    pub reported: bool,
    /// The next hop that gave the last reply, `host:port` (`Remote-MTA`
    /// of a DSN).
    #[serde(default)]
    pub remote: Option<String>,
}

/// The changing part of a queue entry: attempts, the next one, and each
/// recipient's state (in envelope order).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueState {
    /// Delivery attempts made so far.
    pub attempts: u32,
    /// When the last one started (Unix milliseconds).
    #[serde(default)]
    pub last_attempt: Option<u64>,
    /// When the next one is due (Unix milliseconds).
    pub next_attempt: u64,
    /// Attempts after which the message may have been delivered twice to
    /// some recipient (see [`RecipientState::unknown`]).
    #[serde(default)]
    pub possible_duplicates: u32,
    /// One per envelope recipient.
    pub recipients: Vec<RecipientState>,
}

impl QueueState {
    /// The state of a message just accepted: every recipient pending, due
    /// now.
    #[must_use]
    pub fn new(envelope: &QueuedEnvelope) -> QueueState {
        QueueState {
            attempts: 0,
            last_attempt: None,
            next_attempt: envelope.arrival,
            possible_duplicates: 0,
            recipients: envelope
                .recipients
                .iter()
                .map(|_| RecipientState {
                    status: RecipientStatus::Pending,
                    reply: None,
                    unknown: false,
                    reported: false,
                    remote: None,
                })
                .collect(),
        }
    }

    /// Whether no recipient is left to deliver.
    #[must_use]
    pub fn is_done(&self) -> bool {
        !self.recipients.iter().any(|r| r.status.is_open())
    }
}

/// A queue entry: its id, envelope, state and message size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueEntry {
    /// The queue id.
    pub id: QueueId,
    /// The envelope.
    pub envelope: QueuedEnvelope,
    /// The state.
    pub state: QueueState,
    /// The message's size in octets.
    pub size: u64,
}
