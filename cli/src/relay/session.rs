//! One relay session per client connection, passing each command on to
//! the smarthost as it comes (Postfix's before-queue proxy): MAIL opens a
//! session with the first smarthost that answers, each RCPT gets the
//! smarthost's own verdict, the message streams through and the client
//! gets the smarthost's final reply.
//!
//! # Nothing is lost, nothing is hidden
//!
//! * A recipient the smarthost refuses is refused to the client at RCPT
//!   with the smarthost's reply; the good ones go on (a bad recipient
//!   never costs the good ones). Duplicates are passed on once and get the
//!   first one's verdict.
//! * The client's `250` at the end of data is the smarthost's `250`; any
//!   other final reply is passed on; a connection that breaks is `451`.
//! * What the smarthost cannot carry (SIZE over its limit, 8BITMIME,
//!   BINARYMIME, SMTPUTF8, DSN, REQUIRETLS) is refused at MAIL with the
//!   matching reply; 8-bit octets the smarthost cannot take, and NUL
//!   outside BINARYMIME, are refused at the end of data. Never downgraded
//!   in silence.
//! * No smarthost reachable: `451 4.4.1` at MAIL; the next MAIL tries
//!   again, so the relay works again as soon as one is back.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;

use futures_lite::AsyncReadExt;
use mailwire_core::client::{NotSentReason, Outcome};
use mailwire_core::sasl::{Mechanism, StoredSecret};
use mailwire_core::server::{AuthCheck, TransactionEnd, replies};
use mailwire_core::wire::address::{ForwardPath, ReversePath};
use mailwire_core::wire::params::{MailParameters, RcptParameters};
use mailwire_driver::client::{ClientError, ClientSettings, ServerAddress};
use mailwire_driver::server::{
    Context, HookError, HookResult, MailStream, Session, SessionEnd, SessionFactory,
};

use super::upstream::{Upstream, accepted, lost, outage, pass_on};
use crate::common::policy::Policy;
use crate::common::text::escape_control;
use crate::common::users::Users;
use mailwire_driver::server::Cidr;

/// Octets of a message's start kept to count its `Received` headers.
const HEADER_LIMIT: usize = 64 << 10;

/// Everything the sessions share.
#[derive(Debug)]
pub struct Relay {
    /// Networks that may relay without AUTH.
    pub allowed: Vec<Cidr>,
    /// Host, sender and recipient policy.
    pub policy: Policy,
    /// `--auth` users and their passwords.
    pub users: Users,
    /// The smarthosts, in failover order.
    pub smarthosts: Vec<ServerAddress>,
    /// How to talk to them.
    pub settings: ClientSettings,
    /// Most `Received` headers a message may carry (ours included).
    pub max_received: usize,
}

impl Relay {
    /// The check at connection time: host policy, and an allowed network
    /// unless AUTH can make up for it.
    pub(super) fn check_client(&self, ctx: &Context) -> HookResult {
        let ip = ctx.peer.map(|p| p.ip());
        self.policy.check_host(ip)?;
        if self.users.is_empty() && !self.host_allowed(ip) {
            let who = ip.map_or_else(|| "?".to_owned(), |ip| ip.to_string());
            // Application policy: the CLI's own reply, not one the protocol implies.
            return Err(HookError::refuse(
                554,
                "5.7.1",
                &format!("{who} may not relay through this host"),
            ));
        }
        Ok(())
    }

    fn host_allowed(&self, ip: Option<IpAddr>) -> bool {
        ip.is_some_and(|ip| self.allowed.iter().any(|net| net.contains(ip)))
    }

    /// Whether this session may relay: from an allowed network, or
    /// authenticated.
    pub(super) fn may_relay(&self, ctx: &Context) -> bool {
        ctx.authenticated.is_some() || self.host_allowed(ctx.peer.map(|p| p.ip()))
    }

    /// The refusal for a session that may not relay.
    pub(super) fn not_allowed(&self) -> HookError {
        if self.users.is_empty() {
            // Application policy: the CLI's own reply, not one the protocol implies.
            HookError::refuse(550, "5.7.1", "Relaying denied")
        } else {
            HookError::Reply(replies::auth_required())
        }
    }
}

/// Makes one [`RelaySession`] per connection.
#[derive(Debug, Clone)]
pub struct RelayFactory(pub Arc<Relay>);

impl SessionFactory for RelayFactory {
    type Session = RelaySession;

    async fn new_session(&self, ctx: &Context) -> HookResult<RelaySession> {
        let relay = &self.0;
        let ip = ctx.peer.map(|p| p.ip());
        relay.policy.check_host(ip)?;
        if relay.users.is_empty() && !relay.host_allowed(ip) {
            let who = ip.map_or_else(|| "?".to_owned(), |ip| ip.to_string());
            // Application policy: the CLI's own reply, not one the protocol implies.
            return Err(HookError::refuse(
                554,
                "5.7.1",
                &format!("{who} may not relay through this host"),
            ));
        }
        Ok(RelaySession {
            relay: relay.clone(),
            upstream: None,
            verdicts: HashMap::new(),
            open: false,
            forced: None,
        })
    }
}

/// One client session and its connection to the smarthost.
pub struct RelaySession {
    relay: Arc<Relay>,
    upstream: Option<Upstream>,
    /// The smarthost's verdict per recipient of this transaction (by
    /// duplicate key): `None` accepted, `Some` the refusal.
    verdicts: HashMap<String, Option<HookError>>,
    /// An envelope is open at the smarthost.
    open: bool,
    /// `<Postmaster>` refused by the smarthost but accepted by our side
    /// (RFC 5321 §4.5.1): the message must then not be taken.
    forced: Option<HookError>,
}

impl RelaySession {
    /// Forgets the transaction; the connection to the smarthost stays for
    /// the next one when it is usable.
    async fn abandon(&mut self) {
        self.verdicts.clear();
        self.forced = None;
        if self.open {
            self.open = false;
            let usable = match self.upstream.as_mut() {
                Some(up) => up.client.cancel_mail().await.is_ok() && up.client.is_open(),
                None => false,
            };
            if !usable {
                self.upstream = None;
            }
        }
    }
}

impl Session for RelaySession {
    type Message = MailStream;

    async fn mail(
        &mut self,
        ctx: &Context,
        from: &ReversePath,
        params: &MailParameters,
    ) -> HookResult {
        if !self.relay.may_relay(ctx) {
            return Err(self.relay.not_allowed());
        }
        self.relay.policy.check_sender(from)?;
        self.verdicts.clear();
        self.forced = None;
        loop {
            // A connection kept from an earlier message may have been
            // closed by the smarthost meanwhile: then a new one (nothing
            // of this message was sent on the old one).
            let reused = self.upstream.as_ref().is_some_and(|u| u.client.is_open());
            if !reused {
                self.upstream =
                    Some(Upstream::connect(&self.relay.smarthosts, &self.relay.settings).await?);
            }
            let Some(up) = self.upstream.as_mut() else {
                return Err(outage());
            };
            let options = up.mail_options(params)?;
            match up.mail(from, options).await {
                Ok(()) => {
                    self.open = true;
                    return Ok(());
                }
                Err(e) => {
                    if up.client.is_open() {
                        return Err(e);
                    }
                    self.upstream = None;
                    if !reused {
                        return Err(e);
                    }
                }
            }
        }
    }

    async fn rcpt(
        &mut self,
        ctx: &Context,
        to: &ForwardPath,
        params: &RcptParameters,
    ) -> HookResult {
        if !self.relay.may_relay(ctx) {
            return Err(self.relay.not_allowed());
        }
        self.relay.policy.check_recipient(to)?;
        let key = dedup_key(to);
        if let Some(verdict) = self.verdicts.get(&key) {
            return match verdict {
                None => Ok(()),
                Some(HookError::Reply(r)) => Err(HookError::Reply(r.clone())),
                Some(_) => Err(outage()),
            };
        }
        let Some(up) = self.upstream.as_mut().filter(|_| self.open) else {
            return Err(outage());
        };
        let rcpt = up.recipient(to, params)?;
        let verdict = match up.client.add_recipient(rcpt).await {
            Ok(reply) => accepted(&reply),
            Err(e) => {
                self.upstream = None;
                self.open = false;
                return Err(lost(&e));
            }
        };
        if let Err(refusal) = &verdict
            && *to == ForwardPath::Postmaster
        {
            self.forced = Some(copy(refusal));
        }
        self.verdicts.insert(key, verdict.as_ref().err().map(copy));
        verdict
    }

    async fn auth(
        &mut self,
        _ctx: &Context,
        _mechanism: Mechanism,
        check: &AuthCheck,
    ) -> HookResult<Option<StoredSecret>> {
        self.relay.users.authenticate(check)
    }

    async fn deliver(&mut self, ctx: &Context, mail: MailStream) -> HookResult {
        let MailStream {
            envelope,
            trace,
            body,
            ..
        } = mail;
        let mut body = body;
        if let Some(refusal) = self.forced.take() {
            self.abandon().await;
            return Err(refusal);
        }
        // The header section first, after our trace header: a mail loop is
        // refused before anything is forwarded.
        let mut head = trace;
        while head.len() < HEADER_LIMIT && !ends_header(&head) {
            match body.next_chunk().await? {
                Some(chunk) => head.extend_from_slice(&chunk),
                None => break,
            }
        }
        let received = count_received(&head);
        if received > self.relay.max_received {
            self.abandon().await;
            log(
                ctx,
                &envelope,
                &format!("refused: {received} Received headers (loop)"),
            );
            // Application policy: the CLI's own reply, not one the protocol implies.
            return Err(HookError::refuse(
                554,
                "5.4.6",
                &format!("Too many Received headers ({received}): mail loop"),
            ));
        }
        let Some(up) = self.upstream.as_mut().filter(|_| self.open) else {
            return Err(outage());
        };
        self.open = false;
        let reader = futures_lite::io::Cursor::new(head).chain(body);
        let result = up.client.finish_mail(reader).await;
        let answer = match result {
            Ok(outcome) => match outcome.outcome {
                Outcome::Sent { .. } => Ok(()),
                Outcome::NotSent {
                    reply: Some(reply), ..
                } => Err(pass_on(&reply)),
                Outcome::NotSent {
                    reason: NotSentReason::NoRecipientAccepted,
                    ..
                } => Err(HookError::Reply(replies::no_valid_recipients())),
                // Application policy: the CLI's own reply, not one the protocol implies.
                Outcome::Unknown => Err(HookError::refuse(
                    451,
                    "4.4.2",
                    "Connection to the smarthost lost after the end of data; try again later",
                )),
                _ => Err(outage()),
            },
            Err(ClientError::Usage(e)) => Err(content_refusal(&e)),
            Err(ClientError::Body(e)) => Err(HookError::from(e)),
            Err(e) => Err(lost(&e)),
        };
        if !up.client.is_open() {
            self.upstream = None;
        }
        match &answer {
            Ok(()) => log(ctx, &envelope, "relayed: 250"),
            Err(HookError::Reply(reply)) => log(
                ctx,
                &envelope,
                &format!(
                    "refused: {}",
                    reply.to_bytes().trim_ascii_end().escape_ascii()
                ),
            ),
            Err(e) => log(ctx, &envelope, &format!("refused: {e}")),
        }
        answer
    }

    async fn reset(&mut self, _ctx: &Context, _end: TransactionEnd) {
        self.abandon().await;
    }

    async fn end(&mut self, _ctx: &Context, _end: SessionEnd) {
        self.verdicts.clear();
        if let Some(up) = self.upstream.take()
            && up.client.is_open()
        {
            let _ = up.client.quit().await;
        }
    }
}

/// A refusal, copied (a failure becomes the outage reply).
fn copy(error: &HookError) -> HookError {
    match error {
        HookError::Reply(r) => HookError::Reply(r.clone()),
        _ => outage(),
    }
}

/// What the client's content breaks: 8-bit octets the smarthost cannot
/// take, or a NUL outside BINARYMIME (the message is not sent).
fn content_refusal(error: &mailwire_core::UsageError) -> HookError {
    let text = error.to_string();
    if text.contains("NUL") {
        // Application policy: the CLI's own reply, not one the protocol implies.
        HookError::refuse(
            554,
            "5.6.0",
            "The message contains NUL, which only BINARYMIME may carry, and the smarthost does not take it",
        )
    } else if text.contains("8-bit") {
        // Application policy: the CLI's own reply, not one the protocol implies.
        HookError::refuse(
            554,
            "5.6.3",
            "The message has 8-bit octets and the smarthost does not take 8BITMIME",
        )
    } else {
        // Application policy: the CLI's own reply, not one the protocol implies.
        HookError::refuse(554, "5.6.0", "The smarthost cannot take this message")
    }
}

/// Recipients are the same when their local parts are equal and their
/// domains equal ignoring case (`<Postmaster>` in any case is one).
pub(super) fn dedup_key(to: &ForwardPath) -> String {
    match to {
        ForwardPath::Mailbox(mailbox) => {
            let text = mailbox.to_string();
            match text.rfind('@') {
                Some(at) => format!("{}{}", &text[..at], text[at..].to_lowercase()),
                None => text,
            }
        }
        _ => "postmaster".to_owned(),
    }
}

/// Whether `head` holds the whole header section.
pub(super) fn ends_header(head: &[u8]) -> bool {
    head.starts_with(b"\r\n") || head.windows(4).any(|w| w == b"\r\n\r\n")
}

/// `Received` header fields in the header section of `data`.
pub(super) fn count_received(data: &[u8]) -> usize {
    let mut count = 0;
    for line in data.split(|&b| b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.is_empty() {
            break;
        }
        if line.len() >= 9 && line[..9].eq_ignore_ascii_case(b"received:") {
            count += 1;
        }
    }
    count
}

/// One line on stderr per message, control characters escaped (both
/// relay modes).
pub(super) fn log(ctx: &Context, envelope: &mailwire_core::server::ReceivedEnvelope, what: &str) {
    let from = envelope.from.to_string();
    let rcpts: Vec<String> = envelope
        .recipients
        .iter()
        .map(|r| r.to.to_string())
        .collect();
    let peer = ctx.peer.map_or_else(|| "?".to_owned(), |p| p.to_string());
    eprintln!(
        "mailwire relay: {peer} {} -> {}: {}",
        escape_control(&from),
        escape_control(&rcpts.join(",")),
        escape_control(what)
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_received_in_header_only() {
        let data = b"Received: a\r\nreceived: b\r\n\tcont\r\nSubject: x\r\n\r\nReceived: body\r\n";
        assert_eq!(count_received(data), 2);
        assert!(ends_header(data));
        assert!(!ends_header(b"Received: a\r\n"));
    }

    #[test]
    fn dedup_ignores_domain_case_only() {
        let a: ForwardPath = "<Bob@Example.org>".parse().unwrap();
        let b: ForwardPath = "<Bob@example.ORG>".parse().unwrap();
        let c: ForwardPath = "<bob@example.org>".parse().unwrap();
        assert_eq!(dedup_key(&a), dedup_key(&b));
        assert_ne!(dedup_key(&a), dedup_key(&c));
    }
}
