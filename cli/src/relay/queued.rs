//! `relay --queue DIR`: store and forward. The client's `250` at the end
//! of data means the message and its envelope are durable in the spool;
//! RCPT is answered by local policy only; the queue delivers afterwards,
//! per recipient, and a recipient the smarthost refuses for good gets a
//! DSN instead of a `5xx`.
//!
//! What the smarthost is known not to take (from its last EHLO: a SIZE
//! over its limit, 8BITMIME, BINARYMIME, SMTPUTF8) is refused at
//! acceptance as in the proxy mode; when nothing is known yet (it has not
//! answered since start) the message is queued and the delivery decides.
//! A spool without room answers `452 4.3.1`.
//!
//! With `--queue nats://HOST:PORT/STREAM` the queue is a JetStream stream
//! that any number of relay nodes share: the `250` follows JetStream's
//! publish acknowledgement (see `mailwire_queue::jetstream`).

use std::sync::{Arc, Mutex};

use mailwire_core::sasl::{Mechanism, StoredSecret};
use mailwire_core::server::{AuthCheck, TransactionEnd};
use mailwire_core::wire::address::{ForwardPath, ReversePath};
use mailwire_core::wire::ehlo::Capabilities;
use mailwire_core::wire::params::{BodyType, MailParameters, RcptParameters};
use mailwire_driver::server::{
    Context, HookError, HookResult, Mail, Session, SessionEnd, SessionFactory,
};
use mailwire_queue::{QueueError, QueuedEnvelope};

use super::backend::Backend;

use super::session::{Relay, count_received, dedup_key, log};

/// Everything the queueing sessions share.
pub struct Queued {
    /// Policy, users and limits (as the proxy mode).
    pub relay: Arc<Relay>,
    /// The queue the messages go into.
    pub queue: Backend,
    /// What the smarthost offered when it last answered.
    pub caps: Arc<Mutex<Option<Capabilities>>>,
    /// Octets the spool's file system must keep free beyond a message.
    pub min_free: u64,
}

/// Makes one [`QueuedSession`] per connection.
#[derive(Clone)]
pub struct QueuedFactory(pub Arc<Queued>);

impl SessionFactory for QueuedFactory {
    type Session = QueuedSession;

    async fn new_session(&self, ctx: &Context) -> HookResult<QueuedSession> {
        self.0.relay.check_client(ctx)?;
        Ok(QueuedSession {
            shared: self.0.clone(),
        })
    }
}

/// One client session of the queueing relay.
pub struct QueuedSession {
    shared: Arc<Queued>,
}

fn full() -> HookError {
    // Application policy: the CLI's own reply, not one the protocol implies.
    HookError::refuse(
        452,
        "4.3.1",
        "Insufficient system storage: the queue is full",
    )
}

impl Session for QueuedSession {
    type Message = Mail;

    async fn mail(
        &mut self,
        ctx: &Context,
        from: &ReversePath,
        params: &MailParameters,
    ) -> HookResult {
        let relay = &self.shared.relay;
        if !relay.may_relay(ctx) {
            return Err(relay.not_allowed());
        }
        relay.policy.check_sender(from)?;
        if params.requiretls {
            // The queue cannot promise TLS on every later hop.
            // Application policy: the CLI's own reply, not one the protocol implies.
            return Err(HookError::refuse(
                550,
                "5.7.30",
                "REQUIRETLS support required: not available through this queue",
            ));
        }
        let known = self.shared.caps.lock().ok().and_then(|c| c.clone());
        if let Some(caps) = known {
            if let (Some(size), Some(limit)) = (params.size, caps.size)
                && limit > 0
                && size > limit
            {
                // Application policy: the CLI's own reply, not one the protocol implies.
                return Err(HookError::refuse(
                    552,
                    "5.3.4",
                    &format!("Message size exceeds the smarthost's limit of {limit} octets"),
                ));
            }
            match params.body {
                Some(BodyType::EightBitMime) if !caps.eight_bit_mime => {
                    return Err(conversion("8BITMIME"));
                }
                Some(BodyType::BinaryMime) if !(caps.binary_mime && caps.chunking) => {
                    return Err(conversion("BINARYMIME"));
                }
                _ => {}
            }
            if params.smtputf8 && !caps.smtputf8 {
                // Application policy: the CLI's own reply, not one the protocol implies.
                return Err(HookError::refuse(
                    553,
                    "5.6.7",
                    "The smarthost does not take SMTPUTF8 mail",
                ));
            }
        }
        let needed = self
            .shared
            .min_free
            .saturating_add(params.size.unwrap_or(0));
        match self.shared.queue.free_space() {
            Some(free) if free < needed => Err(full()),
            _ => Ok(()),
        }
    }

    async fn rcpt(
        &mut self,
        ctx: &Context,
        to: &ForwardPath,
        _params: &RcptParameters,
    ) -> HookResult {
        let relay = &self.shared.relay;
        if !relay.may_relay(ctx) {
            return Err(relay.not_allowed());
        }
        relay.policy.check_recipient(to)
    }

    async fn auth(
        &mut self,
        _ctx: &Context,
        _mechanism: Mechanism,
        check: &AuthCheck,
    ) -> HookResult<Option<StoredSecret>> {
        self.shared.relay.users.authenticate(check)
    }

    async fn deliver(&mut self, ctx: &Context, mail: Mail) -> HookResult {
        let Mail {
            envelope,
            trace,
            data,
            ..
        } = mail;
        // Queued with our trace header in front, as it is forwarded.
        let data = if trace.is_empty() {
            data
        } else {
            [trace, data].concat()
        };
        let received = count_received(&data);
        if received > self.shared.relay.max_received {
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
        let known = self.shared.caps.lock().ok().and_then(|c| c.clone());
        if let Some(caps) = known
            && !caps.eight_bit_mime
            && envelope.body == BodyType::SevenBit
            && data.iter().any(|&b| b >= 0x80)
        {
            // Application policy: the CLI's own reply, not one the protocol implies.
            return Err(HookError::refuse(
                554,
                "5.6.3",
                "The message has 8-bit octets and the smarthost does not take 8BITMIME",
            ));
        }
        let client = ctx.peer.map(|p| p.to_string());
        let mut queued = QueuedEnvelope::from_server(&envelope, client);
        // A recipient given twice is delivered once.
        let mut seen = std::collections::HashSet::new();
        let keys: Vec<String> = envelope
            .recipients
            .iter()
            .map(|r| dedup_key(&r.to))
            .collect();
        let mut index = 0;
        queued.recipients.retain(|_| {
            let keep = seen.insert(keys[index].clone());
            index += 1;
            keep
        });
        match self.shared.queue.accept(queued, data).await {
            Ok(id) => {
                log(ctx, &envelope, &format!("queued as {id}"));
                Ok(())
            }
            Err(QueueError::Full(why)) => {
                log(ctx, &envelope, &format!("refused: {why}"));
                Err(full())
            }
            Err(QueueError::Failed(why)) => {
                log(ctx, &envelope, &format!("refused: {why}"));
                // Application policy: the CLI's own reply, not one the protocol implies.
                Err(HookError::refuse(
                    451,
                    "4.3.0",
                    "Local error in processing: the message could not be queued",
                ))
            }
        }
    }

    async fn reset(&mut self, _ctx: &Context, _end: TransactionEnd) {}

    async fn end(&mut self, _ctx: &Context, _end: SessionEnd) {}
}

fn conversion(what: &str) -> HookError {
    // Application policy: the CLI's own reply, not one the protocol implies.
    HookError::refuse(
        550,
        "5.6.3",
        &format!("The smarthost does not take {what}: conversion required but not supported"),
    )
}
