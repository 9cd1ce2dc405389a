//! Scripted applications: a server that answers each step from a script
//! (verdicts, delays, users) and a client that sends planned messages (with
//! planned body chunks and pauses) and quits.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use bytes::Bytes;
use mailwire_core::client::{ClientEvent, Envelope, PlaintextDecision, TransactionId};
use mailwire_core::sasl::StoredSecret;
use mailwire_core::server::{AuthCheck, ServerEvent, Token, Verdict};
use mailwire_core::wire::reply::Reply;

use super::app::{ClientApp, ClientCx, ServerApp, ServerCx};

/// How the scripted server answers one request: a verdict, after a delay.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Answer {
    /// `None`: accept with the default reply.
    pub reply: Option<Reply>,
    /// Decide this long (virtual time) after the request.
    pub delay: Duration,
}

impl Answer {
    /// Accept at once.
    #[must_use]
    pub fn accept() -> Answer {
        Answer::default()
    }

    /// Answer with `reply` (a refusal, or a positive code that fits the
    /// step) at once.
    #[must_use]
    pub fn reply(reply: Reply) -> Answer {
        Answer {
            reply: Some(reply),
            delay: Duration::ZERO,
        }
    }

    /// Refuse with `code enhanced text` (`enhanced` may be `""`).
    ///
    /// # Panics
    ///
    /// When the reply is not valid (see `Reply::simple`).
    #[must_use]
    pub fn refuse(code: u16, enhanced: &str, text: &str) -> Answer {
        Answer::reply(Reply::simple(code, enhanced, text).expect("a valid reply"))
    }

    /// The same answer, given `delay` after the request.
    #[must_use]
    pub fn after(mut self, delay: Duration) -> Answer {
        self.delay = delay;
        self
    }

    /// The verdict.
    #[must_use]
    pub fn verdict(&self) -> Verdict {
        self.reply.clone().map_or(Verdict::Accept, Verdict::Reply)
    }
}

/// What the scripted server answers. Each list is used in order of the
/// requests of its kind; past its end (or when empty), requests are
/// accepted at once.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ServerScript {
    /// The connection request.
    pub connect: Answer,
    /// HELO/EHLO requests, in order.
    pub helo: Vec<Answer>,
    /// MAIL requests, in order.
    pub mail: Vec<Answer>,
    /// RCPT requests for each *distinct* recipient (by forward path, in
    /// the order they are first seen), the first time it is asked for.
    pub rcpt: Vec<Answer>,
    /// RCPT requests for a recipient seen before (a retry after `452`, or
    /// the same address in a later message).
    pub rcpt_again: Answer,
    /// MESSAGE requests (end of data), in order.
    pub message: Vec<Answer>,
    /// Users and passwords for AUTH.
    pub users: Vec<(String, String)>,
}

/// A server application that follows a [`ServerScript`].
#[derive(Debug, Clone, Default)]
pub struct ScriptedServer {
    /// The script.
    pub script: ServerScript,
    helo_seen: usize,
    mail_seen: usize,
    message_seen: usize,
    rcpt_seen: HashMap<String, usize>,
    /// Decisions waiting for their time, earliest first.
    due: Vec<(Instant, Token, Verdict)>,
}

impl ScriptedServer {
    /// A server that follows `script`.
    #[must_use]
    pub fn new(script: ServerScript) -> ScriptedServer {
        ScriptedServer {
            script,
            ..ScriptedServer::default()
        }
    }

    fn pick(list: &[Answer], seen: &mut usize) -> Answer {
        let answer = list.get(*seen).cloned().unwrap_or_default();
        *seen += 1;
        answer
    }

    fn answer(&mut self, event: &ServerEvent) -> Option<Answer> {
        Some(match event {
            ServerEvent::ConnectRequest { .. } => self.script.connect.clone(),
            ServerEvent::HeloRequest { .. } => Self::pick(&self.script.helo, &mut self.helo_seen),
            ServerEvent::MailRequest { .. } => Self::pick(&self.script.mail, &mut self.mail_seen),
            ServerEvent::RcptRequest { to, .. } => {
                let distinct = self.rcpt_seen.len();
                let key = to.to_string();
                let count = self.rcpt_seen.entry(key).or_insert(0);
                *count += 1;
                if *count == 1 {
                    self.script.rcpt.get(distinct).cloned().unwrap_or_default()
                } else {
                    self.script.rcpt_again.clone()
                }
            }
            ServerEvent::MessageRequest { .. } => {
                Self::pick(&self.script.message, &mut self.message_seen)
            }
            ServerEvent::AuthRequest { check, .. } => match check {
                AuthCheck::VerifyPassword {
                    username, password, ..
                } => {
                    let ok = self
                        .script
                        .users
                        .iter()
                        .any(|(u, p)| u == username && password.constant_time_eq(p));
                    if ok {
                        Answer::accept()
                    } else {
                        Answer::refuse(535, "5.7.8", "Authentication credentials invalid")
                    }
                }
                _ => Answer::accept(),
            },
            _ => return None,
        })
    }
}

impl ServerApp for ScriptedServer {
    fn on_event(&mut self, cx: &mut ServerCx<'_>, event: &ServerEvent) {
        let Some(token) = event.token() else {
            return;
        };
        if let ServerEvent::AuthRequest {
            check: AuthCheck::NeedSecret { username, .. },
            ..
        } = event
        {
            let secret = self
                .script
                .users
                .iter()
                .find(|(u, _)| u == username)
                .map(|(_, p)| StoredSecret::password(p.clone()));
            let _ = cx.supply_secret(token, secret);
            return;
        }
        let Some(answer) = self.answer(event) else {
            return;
        };
        if answer.delay.is_zero() {
            // A refusal the step does not allow is the script's mistake;
            // the transcript records the error.
            let _ = cx.decide(token, answer.verdict());
        } else {
            self.due
                .push((cx.now() + answer.delay, token, answer.verdict()));
            self.due.sort_by_key(|(at, _, _)| *at);
        }
    }

    fn next_wake(&self) -> Option<Instant> {
        self.due.first().map(|(at, _, _)| *at)
    }

    fn on_wake(&mut self, cx: &mut ServerCx<'_>) {
        while self.due.first().is_some_and(|(at, _, _)| *at <= cx.now()) {
            let (_, token, verdict) = self.due.remove(0);
            // Stale when the decision expired first: recorded, ignored.
            let _ = cx.decide(token, verdict);
        }
    }
}

/// One message the scripted client sends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessagePlan {
    /// The envelope for `send_mail`.
    pub envelope: Envelope,
    /// The body, as the application has it (before normalisation).
    pub body: Bytes,
    /// Sizes of the `send_body` calls, in a cycle; empty: one call.
    pub chunks: Vec<usize>,
    /// Wait this long after the connection is ready (or the previous
    /// message completed) before `send_mail`.
    pub wait_before: Duration,
    /// Pause once, in the first attempt's body: after this many octets,
    /// wait this long before the next `send_body` (or `end_body`).
    pub pause: Option<(usize, Duration)>,
}

impl MessagePlan {
    /// A message sent at once, its body in one piece.
    #[must_use]
    pub fn new(envelope: Envelope, body: impl Into<Bytes>) -> MessagePlan {
        MessagePlan {
            envelope,
            body: body.into(),
            chunks: Vec::new(),
            wait_before: Duration::ZERO,
            pause: None,
        }
    }
}

/// Where the scripted client stands.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Stage {
    /// Before `Ready`.
    Setup,
    /// Waiting until this time to send the next message.
    Waiting(Instant),
    /// A message is in progress.
    Sending(TransactionId),
    /// Nothing more to send (quit sent, or the connection closed).
    Done,
}

/// A client application that sends [`MessagePlan`]s one after the other,
/// then quits. A refused STARTTLS is answered with
/// [`PlaintextDecision::Continue`]; a `send_body` error aborts the
/// connection.
#[derive(Debug, Clone)]
pub struct ScriptedClient {
    plans: VecDeque<MessagePlan>,
    /// The plan in progress.
    current: Option<MessagePlan>,
    stage: Stage,
    /// Octets of the current body given so far (this attempt).
    offset: usize,
    /// Index into the plan's chunk cycle.
    chunk: usize,
    /// The body pause: `Some(until)` while paused.
    paused: Option<Instant>,
    pause_done: bool,
    /// Send QUIT at the end (else leave the connection to time out).
    pub quit: bool,
    /// What to answer a `TlsPolicyRequest`.
    pub on_tls_refused: PlaintextDecision,
    /// Start the next message as soon as the connection is ready again
    /// after `end_body` (under PIPELINING, before the previous message's
    /// outcome: its final dot and the next commands share a write), as a
    /// bulk sender does. Otherwise wait for each outcome.
    pub eager: bool,
}

impl ScriptedClient {
    /// A client that sends `plans` in order, then quits.
    #[must_use]
    pub fn new(plans: impl IntoIterator<Item = MessagePlan>) -> ScriptedClient {
        ScriptedClient {
            plans: plans.into_iter().collect(),
            current: None,
            stage: Stage::Setup,
            offset: 0,
            chunk: 0,
            paused: None,
            pause_done: false,
            quit: true,
            on_tls_refused: PlaintextDecision::Continue,
            eager: true,
        }
    }

    /// Starts the next message (after its wait), or quits.
    fn next(&mut self, cx: &mut ClientCx<'_>) {
        if cx.conn().is_closed() {
            self.stage = Stage::Done;
            return;
        }
        let Some(plan) = self.plans.front() else {
            self.stage = Stage::Done;
            if self.quit {
                let _ = cx.quit();
            }
            return;
        };
        if plan.wait_before.is_zero() {
            self.send(cx);
        } else {
            self.stage = Stage::Waiting(cx.now() + plan.wait_before);
        }
    }

    /// Sends the next planned message now.
    fn send(&mut self, cx: &mut ClientCx<'_>) {
        let Some(plan) = self.plans.pop_front() else {
            self.next(cx);
            return;
        };
        match cx.send_mail(plan.envelope.clone()) {
            Ok(id) => {
                self.stage = Stage::Sending(id);
                self.current = Some(plan);
                self.pause_done = false;
            }
            Err(_) if cx.conn().is_closed() => self.stage = Stage::Done,
            // Refused before anything was written (a missing extension,
            // not ready): recorded in the transcript; on to the next.
            Err(_) => self.next(cx),
        }
    }
}

impl ClientApp for ScriptedClient {
    fn on_event(&mut self, cx: &mut ClientCx<'_>, event: &ClientEvent) {
        match event {
            ClientEvent::Ready { .. } => self.next(cx),
            ClientEvent::TransactionCompleted(outcome)
                if self.stage == Stage::Sending(outcome.id) =>
            {
                self.current = None;
                self.next(cx);
            }
            ClientEvent::BodyRequested { .. } => {
                self.offset = 0;
                self.chunk = 0;
            }
            ClientEvent::TlsPolicyRequest { token, .. } => {
                let _ = cx.decide_plaintext(*token, self.on_tls_refused);
            }
            ClientEvent::Closed(_) => self.stage = Stage::Done,
            _ => {}
        }
    }

    fn on_body_wanted(&mut self, cx: &mut ClientCx<'_>) {
        if self.paused.is_some() {
            return;
        }
        let Some(plan) = self.current.as_ref() else {
            return;
        };
        if let Some((at, pause)) = plan.pause
            && !self.pause_done
            && self.offset >= at.min(plan.body.len())
        {
            self.pause_done = true;
            self.paused = Some(cx.now() + pause);
            return;
        }
        if self.offset >= plan.body.len() {
            let _ = cx.end_body();
            if self.eager && cx.conn().is_ready() {
                // The outcome comes later (matched by its id); the next
                // message goes now.
                self.current = None;
                self.next(cx);
            }
            return;
        }
        let mut size = plan.body.len() - self.offset;
        if !plan.chunks.is_empty() {
            let n = plan.chunks[self.chunk % plan.chunks.len()];
            self.chunk += 1;
            if n > 0 {
                size = size.min(n);
            }
        }
        if let Some((at, _)) = plan.pause
            && !self.pause_done
            && at > self.offset
        {
            size = size.min(at - self.offset);
        }
        let piece = plan.body.slice(self.offset..self.offset + size);
        self.offset += size;
        if cx.send_body(piece).is_err() {
            cx.abort();
        }
    }

    fn next_wake(&self) -> Option<Instant> {
        match (self.paused, &self.stage) {
            (Some(at), _) => Some(at),
            (None, Stage::Waiting(at)) => Some(*at),
            _ => None,
        }
    }

    fn on_wake(&mut self, cx: &mut ClientCx<'_>) {
        if let Some(at) = self.paused
            && at <= cx.now()
        {
            self.paused = None;
            return;
        }
        if let Stage::Waiting(at) = self.stage
            && at <= cx.now()
        {
            self.send(cx);
        }
    }
}
