//! The relay's [`Handler`]: who may relay, AUTH, and the delivery hook
//! that forwards each message to a smarthost before answering.
//!
//! # Nothing is lost
//!
//! The delivery hook (buffered) forwards the message synchronously: the
//! client's final reply is the smarthost's verdict, translated:
//!
//! * every recipient accepted and the message accepted → `250`;
//! * no smarthost reachable, the connection lost, a timeout, or an
//!   outcome that cannot be known → `451 4.4.x` (an outage is always
//!   transient, never 5xx; the sender keeps the message and retries);
//! * MAIL, DATA or the end of data refused → the smarthost's reply
//!   (4xx stays 4xx, 5xx stays 5xx), its text prefixed with `smarthost:`;
//! * some recipients refused at RCPT: SMTP (not LMTP) has one final
//!   reply per message, and a 250 would silently lose the refused
//!   recipients. So the relay forwards **all or nothing**: the smarthost
//!   transaction is abandoned (RSET) and the whole message is refused
//!   with the refused recipient's reply — transient (`4xx`) when any
//!   refusal was transient, else permanent (`5xx`, naming the recipient).
//!   The sender's bounce then names every recipient as not delivered,
//!   which is true: nobody got the message;
//! * accepted for only some recipients (the smarthost deferred the rest
//!   and they could not be sent): `451 4.5.3`. The sender retries; those
//!   who already got it may get it twice — a duplicate, never a loss.

use std::collections::HashSet;
use std::net::IpAddr;

use bytes::Bytes;
use mailwire_core::client::{
    BodyKind, Envelope as ClientEnvelope, MailOptions, NotSentReason, Outcome, Recipient,
    RecipientStatus, SendPolicy, TransactionOutcome,
};
use mailwire_core::sasl::{Mechanism, StoredSecret};
use mailwire_core::server::{AuthCheck, Envelope};
use mailwire_core::wire::address::{ForwardPath, ReversePath};
use mailwire_core::wire::params::{BodyType, MailParameters, RcptParameters};
use mailwire_core::wire::reply::Reply;
use mailwire_driver::client::{Client, ClientError, ClientSettings, ServerAddress};
use mailwire_driver::server::{Context, Handler, HookError, HookResult, Mail};
use mailwire_tokio::Tokio;

use crate::common::cidr::Cidr;
use crate::common::text::escape_control;
use crate::common::users::Users;

/// Everything the hooks need, shared by every session.
#[derive(Debug)]
pub struct Relay {
    /// Networks that may relay without AUTH.
    pub allowed: Vec<Cidr>,
    /// `--auth` users and their passwords.
    pub users: Users,
    /// The smarthosts, in failover order.
    pub smarthosts: Vec<ServerAddress>,
    /// How to talk to them.
    pub settings: ClientSettings,
    /// Most `Received` headers a message may carry (ours included).
    pub max_received: usize,
    /// Whether the smarthost offers 8BITMIME (a 7BIT-declared body with
    /// 8-bit octets is then sent as 8BITMIME).
    pub smarthost_8bit: bool,
}

impl Relay {
    /// Whether this session may relay: from an allowed network, or
    /// authenticated.
    fn may_relay(&self, session: &Context) -> bool {
        session.authenticated.is_some() || self.host_allowed(session.peer.map(|p| p.ip()))
    }

    fn host_allowed(&self, ip: Option<IpAddr>) -> bool {
        ip.is_some_and(|ip| self.allowed.iter().any(|net| net.contains(ip)))
    }

    /// The refusal for a session that may not relay.
    fn not_allowed(&self) -> HookError {
        if self.users.is_empty() {
            HookError::refuse(550, "5.7.1", "Relaying denied")
        } else {
            HookError::refuse(530, "5.7.0", "Authentication required")
        }
    }
}

impl Handler for Relay {
    type Message = Mail;

    async fn validate_host(&self, session: &Context) -> HookResult {
        if self.users.is_empty() && !self.host_allowed(session.peer.map(|p| p.ip())) {
            let who = session
                .peer
                .map_or_else(|| "?".to_owned(), |p| p.ip().to_string());
            return Err(HookError::refuse(
                554,
                "5.7.1",
                &format!("{who} may not relay through this host"),
            ));
        }
        Ok(())
    }

    async fn validate_sender(
        &self,
        session: &Context,
        _from: &ReversePath,
        _params: &MailParameters,
    ) -> HookResult {
        if self.may_relay(session) {
            Ok(())
        } else {
            Err(self.not_allowed())
        }
    }

    async fn validate_recipient(
        &self,
        session: &Context,
        _to: &ForwardPath,
        _params: &RcptParameters,
    ) -> HookResult {
        if self.may_relay(session) {
            Ok(())
        } else {
            Err(self.not_allowed())
        }
    }

    async fn authenticate(
        &self,
        _session: &Context,
        _mechanism: Mechanism,
        check: &AuthCheck,
    ) -> HookResult<Option<StoredSecret>> {
        self.users.authenticate(check)
    }

    async fn deliver(&self, session: &Context, mail: Mail) -> HookResult {
        // Postmaster is no way around the relay check: it is accepted at
        // RCPT by the core, so check again here.
        if !self.may_relay(session) {
            return Err(self.not_allowed());
        }
        let received = count_received(&mail.data);
        if received > self.max_received {
            log(
                session,
                &mail,
                &format!("refused: {received} Received headers (loop)"),
            );
            return Err(HookError::refuse(
                554,
                "5.4.6",
                &format!("Too many Received headers ({received}): mail loop"),
            ));
        }
        let envelope = self.client_envelope(&mail.envelope, &mail.data);
        let result = self.forward(envelope, Bytes::from(mail.data.clone())).await;
        match &result {
            Ok(()) => log(session, &mail, "relayed: 250"),
            Err(HookError::Reply(reply)) => log(
                session,
                &mail,
                &format!(
                    "refused: {}",
                    reply.to_bytes().trim_ascii_end().escape_ascii()
                ),
            ),
            Err(e) => log(session, &mail, &format!("refused: {e}")),
        }
        result
    }
}

impl Relay {
    /// The smarthost envelope: the same sender and parameters, each
    /// recipient once (the first of duplicates keeps its DSN parameters).
    fn client_envelope(&self, envelope: &Envelope, data: &[u8]) -> ClientEnvelope {
        let mut seen = HashSet::new();
        let recipients: Vec<Recipient> = envelope
            .recipients
            .iter()
            .filter(|r| seen.insert(dedup_key(&r.to)))
            .map(|r| {
                let mut rcpt = Recipient::new(r.to.clone());
                rcpt.notify = r.params.notify;
                rcpt.orcpt = r.params.orcpt.clone();
                rcpt
            })
            .collect();
        let mut options = MailOptions::default().with_policy(SendPolicy::AllOrNothing);
        options.size = Some(data.len() as u64);
        options.body = match envelope.body {
            BodyType::BinaryMime => BodyKind::Binary,
            BodyType::EightBitMime => BodyKind::EightBit,
            _ if self.smarthost_8bit && !data.is_ascii() => BodyKind::EightBit,
            _ => BodyKind::SevenBit,
        };
        options.smtputf8 = envelope.params.smtputf8;
        options.ret = envelope.params.ret;
        options.envid = envelope.params.envid.clone();
        options.requiretls = envelope.params.requiretls;
        ClientEnvelope::new(envelope.from.clone(), recipients).with_options(options)
    }

    /// Sends to the first smarthost that is ready, and turns its verdict
    /// into this hook's answer.
    async fn forward(&self, envelope: ClientEnvelope, body: Bytes) -> HookResult {
        for server in &self.smarthosts {
            let mut client = match Client::connect(Tokio, server, &self.settings).await {
                Ok(client) => client,
                Err(e) => {
                    let failure = format!("{}:{}: {e}", server.host, server.port);
                    eprintln!("mailwire relay: smarthost {}", escape_control(&failure));
                    continue;
                }
            };
            let paths: Vec<ForwardPath> =
                envelope.recipients.iter().map(|r| r.path.clone()).collect();
            let result = client.send(envelope.clone(), body.clone()).await;
            if client.is_open() {
                tokio::spawn(async move {
                    let _ = client.quit().await;
                });
            }
            return verdict(result, &paths);
        }
        Err(HookError::refuse(
            451,
            "4.4.1",
            "No smarthost available; try again later",
        ))
    }
}

/// The client's answer for the smarthost's outcome (see the module docs).
fn verdict(result: Result<TransactionOutcome, ClientError>, paths: &[ForwardPath]) -> HookResult {
    let outcome = match result {
        Ok(outcome) => outcome,
        Err(ClientError::Usage(e)) => {
            return Err(HookError::refuse(
                451,
                "4.3.0",
                &format!("The smarthost cannot take this message now: {e}"),
            ));
        }
        Err(_) => {
            return Err(HookError::refuse(
                451,
                "4.4.2",
                "Connection to the smarthost lost; try again later",
            ));
        }
    };
    match &outcome.outcome {
        Outcome::Sent { .. }
            if outcome
                .recipients
                .iter()
                .all(|r| r.status == RecipientStatus::Sent) =>
        {
            Ok(())
        }
        Outcome::Sent { .. } => Err(HookError::refuse(
            451,
            "4.5.3",
            "The smarthost took the message for some recipients only; try again later",
        )),
        Outcome::NotSent {
            reason: NotSentReason::RecipientsRefused | NotSentReason::NoRecipientAccepted,
            reply,
        } => {
            let refused: Vec<(&ForwardPath, &Reply)> = outcome
                .recipients
                .iter()
                .zip(paths)
                .filter(|(r, _)| r.status == RecipientStatus::Refused)
                .filter_map(|(r, path)| r.reply.as_ref().map(|reply| (path, reply)))
                .collect();
            let chosen = refused
                .iter()
                .find(|(_, r)| r.code().is_transient())
                .or_else(|| refused.first());
            Err(match (chosen, reply) {
                (Some((path, reply)), _) => pass_on(reply, &format!("smarthost refused {path}")),
                (None, Some(reply)) => pass_on(reply, "smarthost"),
                (None, None) => outage(),
            })
        }
        Outcome::NotSent {
            reply: Some(reply), ..
        } => Err(pass_on(reply, "smarthost")),
        Outcome::NotSent { reply: None, .. } => Err(outage()),
        Outcome::Unknown => Err(HookError::refuse(
            451,
            "4.4.2",
            "Connection to the smarthost lost after the end of data; try again later",
        )),
        _ => Err(outage()),
    }
}

fn outage() -> HookError {
    HookError::refuse(451, "4.4.2", "Smarthost unavailable; try again later")
}

/// The smarthost's refusal as our reply: same class and code, its
/// enhanced code (or `X.0.0`), its text after `prefix: `. A positive or
/// unusable reply becomes a transient failure.
fn pass_on(reply: &Reply, prefix: &str) -> HookError {
    let code = reply.code();
    if !(code.is_transient() || code.is_permanent()) {
        return outage();
    }
    let number = code.as_u16();
    let enhanced = reply
        .enhanced()
        .map_or_else(|| format!("{}.0.0", number / 100), |e| e.to_string());
    let text: String = reply
        .lines()
        .join(" / ")
        .chars()
        .filter(|c| !c.is_control())
        .take(400)
        .collect();
    let refusal = HookError::refuse(number, &enhanced, &format!("{prefix}: {text}"));
    match refusal {
        HookError::Reply(_) => refusal,
        _ => outage(),
    }
}

/// Recipients are the same when their local parts are equal and their
/// domains equal ignoring case (`<Postmaster>` in any case is one).
fn dedup_key(to: &ForwardPath) -> String {
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

/// `Received` header fields in the header section of `data`.
fn count_received(data: &[u8]) -> usize {
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

/// One line on stderr per message, control characters escaped.
fn log(session: &Context, mail: &Mail, what: &str) {
    let from = mail.envelope.from.to_string();
    let rcpts: Vec<String> = mail
        .envelope
        .recipients
        .iter()
        .map(|r| r.to.to_string())
        .collect();
    let peer = session
        .peer
        .map_or_else(|| "?".to_owned(), |p| p.to_string());
    eprintln!(
        "mailwire relay: {peer} {from} -> {} ({} octets): {}",
        escape_control(&rcpts.join(",")),
        mail.data.len(),
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
