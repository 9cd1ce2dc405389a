//! The envelope of a message to send: who it is from, who it goes to, and
//! the options it is sent with.
//!
//! It belongs to neither role: [`message`](crate::message) produces one
//! (from a prepared or built message) and
//! [`ClientConnection::send_mail`](crate::client::ClientConnection::send_mail)
//! takes one (the [`client`](crate::client) module re-exports these types).
//! What a server received is a different thing, the
//! [`server::ReceivedEnvelope`](crate::server::ReceivedEnvelope).

use crate::wire::address::{ForwardPath, Mailbox, ReversePath};
use crate::wire::params::{BodyType, Notify, Orcpt, Ret};

/// The envelope of one message: who it is from, who it goes to, and how.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Envelope {
    /// `MAIL FROM:` (`<>` for bounces).
    pub reverse_path: ReversePath,
    /// One `RCPT TO:` each, in this order (recipient indices in events
    /// and outcomes refer to it).
    pub recipients: Vec<Recipient>,
    /// Size, body type, DSN, REQUIRETLS and the send policy.
    pub options: MailOptions,
}

impl Envelope {
    /// An envelope with default options.
    #[must_use]
    pub fn new<R: Into<Recipient>>(
        reverse_path: impl Into<ReversePath>,
        recipients: impl IntoIterator<Item = R>,
    ) -> Envelope {
        Envelope {
            reverse_path: reverse_path.into(),
            recipients: recipients.into_iter().map(Into::into).collect(),
            options: MailOptions::default(),
        }
    }

    /// Replaces the options.
    #[must_use]
    pub fn with_options(mut self, options: MailOptions) -> Envelope {
        self.options = options;
        self
    }

    /// Takes `options` for this envelope, with the needs of its message
    /// merged in: the body kind and size this envelope carries (a prepared
    /// or built message's) replace those of `options`, and SMTPUTF8 is
    /// asked for when either asks for it. The one place a message's needs
    /// meet the caller's mail options.
    #[must_use]
    pub fn with_merged_options(mut self, options: MailOptions) -> Envelope {
        let needs = &self.options;
        let mut merged = options;
        merged.body = needs.body;
        merged.size = needs.size;
        merged.smtputf8 |= needs.smtputf8;
        self.options = merged;
        self
    }

    /// Whether a path needs SMTPUTF8 (RFC 6531), or the options ask for it.
    #[must_use]
    pub fn needs_smtputf8(&self) -> bool {
        self.options.smtputf8
            || self.reverse_path.is_utf8()
            || self.recipients.iter().any(|r| r.path.is_utf8())
    }
}

/// One recipient and its DSN parameters (RFC 3461).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Recipient {
    /// The forward path.
    pub path: ForwardPath,
    /// `NOTIFY=` (needs the server's DSN extension).
    pub notify: Option<Notify>,
    /// `ORCPT=` (needs the server's DSN extension).
    pub orcpt: Option<Orcpt>,
}

impl Recipient {
    /// A recipient without DSN parameters.
    #[must_use]
    pub fn new(path: impl Into<ForwardPath>) -> Recipient {
        Recipient {
            path: path.into(),
            notify: None,
            orcpt: None,
        }
    }

    /// Sets `NOTIFY=`.
    #[must_use]
    pub fn with_notify(mut self, notify: Notify) -> Recipient {
        self.notify = Some(notify);
        self
    }

    /// Sets `ORCPT=`.
    #[must_use]
    pub fn with_orcpt(mut self, orcpt: Orcpt) -> Recipient {
        self.orcpt = Some(orcpt);
        self
    }
}

impl From<ForwardPath> for Recipient {
    fn from(path: ForwardPath) -> Recipient {
        Recipient::new(path)
    }
}

impl From<Mailbox> for Recipient {
    fn from(mailbox: Mailbox) -> Recipient {
        Recipient::new(mailbox)
    }
}

/// When the message is sent although some recipients were refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum SendPolicy {
    /// The body goes only if every recipient was accepted (tcllib's
    /// default); otherwise the transaction is abandoned with RSET. Applied
    /// to each SMTP transaction (see
    /// [`TransactionOutcome`](crate::client::TransactionOutcome)).
    #[default]
    AllOrNothing,
    /// The body goes if at least one recipient was accepted
    /// (tcllib's `-atleastone`).
    AtLeastOne,
}

/// The options of one message.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct MailOptions {
    /// The message size in octets, for `SIZE=` (RFC 1870) when the server
    /// advertises SIZE; a message over the server's fixed limit is not sent.
    pub size: Option<u64>,
    /// The body type: `BODY=` and the transfer (7BIT by default).
    pub body: BodyType,
    /// Ask for SMTPUTF8 even if the paths are ASCII (UTF-8 headers).
    pub smtputf8: bool,
    /// DSN `RET=` (needs the server's DSN).
    pub ret: Option<Ret>,
    /// DSN `ENVID=`: 1 to 100 printable ASCII characters, xtext-encoded on
    /// the wire (needs the server's DSN).
    pub envid: Option<String>,
    /// REQUIRETLS (RFC 8689): the message goes only over verified TLS to a
    /// server that offers REQUIRETLS; otherwise it fails with `5.7.30`.
    pub requiretls: bool,
    /// The send policy.
    pub policy: SendPolicy,
}

impl MailOptions {
    /// Sets the size hint.
    #[must_use]
    pub fn with_size(mut self, size: u64) -> MailOptions {
        self.size = Some(size);
        self
    }

    /// Sets the body type.
    #[must_use]
    pub fn with_body(mut self, body: BodyType) -> MailOptions {
        self.body = body;
        self
    }

    /// Sets the send policy.
    #[must_use]
    pub fn with_policy(mut self, policy: SendPolicy) -> MailOptions {
        self.policy = policy;
        self
    }

    /// Asks for REQUIRETLS.
    #[must_use]
    pub fn with_requiretls(mut self, yes: bool) -> MailOptions {
        self.requiretls = yes;
        self
    }

    /// Sets the DSN `RET=` and `ENVID=`.
    #[must_use]
    pub fn with_dsn(mut self, ret: Option<Ret>, envid: Option<String>) -> MailOptions {
        self.ret = ret;
        self.envid = envid;
        self
    }
}
