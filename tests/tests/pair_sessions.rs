//! Session-level servers over the Pair harness: a [`Session`] with state
//! of its own, of each delivery kind (whole, streamed, parsed), run by the
//! driver's `SessionHost` inside the deterministic loop against the
//! scripted client.
//!
//! * each kind delivers exactly the messages the client saw accepted,
//!   with the session's state carried from hook to hook, `reset` for the
//!   transactions that delivered nothing and `end` last;
//! * the driver's fault injector runs on the virtual clock: a hook that
//!   sleeps past the decision deadline is answered `451` and holds up the
//!   next hook, and a hook that disconnects hangs up without a reply;
//! * for random scenarios over seeded networks (read sizes, delays, a
//!   break at any byte), every message the client saw accepted reached
//!   the session's `deliver` exactly once, and only those (or one whose
//!   reply was lost with the connection).

use std::collections::HashMap;
use std::marker::PhantomData;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use bytes::Bytes;
use mailwire_core::client::{
    BodyType, CloseKind, Envelope, MailOptions, NotSentReason, Outcome, RecipientStatus, SendPolicy,
};
use mailwire_core::sasl::{Mechanism, StoredSecret};
use mailwire_core::server::{self, AuthCheck, TransactionEnd};
use mailwire_core::wire::address::{Domain, ForwardPath, ReversePath};
use mailwire_core::wire::dot::normalize;
use mailwire_core::wire::params::{MailParameters, RcptParameters};
use mailwire_driver::server::faults::{Fault, Faults, Match, Rule, Rules, Step};
use mailwire_driver::server::{
    Context, Delivery, Glob, HookError, HookResult, Mail, MailStream, ParsedMail, ServerOptions,
    Session, SessionEnd, SessionFactory,
};
use mailwire_tests::pair::scenario::{Gaps, Scenario, scenario, seeded_network};
use mailwire_tests::pair::{
    Answer, Cut, Direction, LinkPlan, MessageEnd, MessagePlan, Network, Pair, PairClock,
    ScriptedClient, ServerScript, SessionApp, Transcript, What, check,
};
use proptest::prelude::*;

/// A message as `deliver` got it.
#[derive(Debug, Clone)]
struct Delivered {
    /// The session (in the order the factory made them).
    session: usize,
    /// This session's count of `deliver` calls, this one included.
    number: usize,
    envelope: server::ReceivedEnvelope,
    body: Vec<u8>,
    /// The body arrived whole (a streamed one read to a clean end).
    complete: bool,
    /// The `Subject` (parsed delivery only).
    subject: Option<String>,
    /// What `deliver` returned.
    ok: bool,
}

/// What the sessions saw, shared with the test.
#[derive(Debug, Default)]
struct Log {
    deliveries: Vec<Delivered>,
    resets: Vec<(usize, TransactionEnd)>,
    ends: Vec<(usize, SessionEnd)>,
}

type SharedLog = Arc<Mutex<Log>>;

fn lock(log: &SharedLog) -> MutexGuard<'_, Log> {
    log.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Reading a delivery of any kind: envelope, octets, whether whole, subject.
trait Take: Delivery {
    fn take(
        self,
    ) -> impl Future<Output = (server::ReceivedEnvelope, Vec<u8>, bool, Option<String>)> + Send;
}

impl Take for Mail {
    async fn take(self) -> (server::ReceivedEnvelope, Vec<u8>, bool, Option<String>) {
        (self.envelope, self.data, true, None)
    }
}

impl Take for ParsedMail {
    async fn take(self) -> (server::ReceivedEnvelope, Vec<u8>, bool, Option<String>) {
        let subject = self.message().and_then(|m| m.subject()).map(str::to_owned);
        let data = self.data().to_vec();
        (self.envelope, data, true, subject)
    }
}

impl Take for MailStream {
    async fn take(mut self) -> (server::ReceivedEnvelope, Vec<u8>, bool, Option<String>) {
        let mut body = Vec::new();
        let complete = loop {
            match self.body.next_chunk().await {
                Ok(Some(chunk)) => body.extend_from_slice(&chunk),
                Ok(None) => break true,
                Err(_) => break false,
            }
            // Let the queue fill behind us now and then: the harness
            // polls the hook again on its next step.
            futures_lite::future::yield_now().await;
        };
        (self.envelope, body, complete, None)
    }
}

/// A session that answers from a [`ServerScript`] (the scripted server's
/// rules, with its delays slept on the virtual clock) and keeps its own
/// counts.
struct Scripted<M> {
    id: usize,
    script: Arc<ServerScript>,
    clock: PairClock,
    log: SharedLog,
    helo_seen: usize,
    mail_seen: usize,
    message_seen: usize,
    rcpt_seen: HashMap<String, usize>,
    delivered: usize,
    _kind: PhantomData<fn() -> M>,
}

fn pick(list: &[Answer], seen: &mut usize) -> Answer {
    let answer = list.get(*seen).cloned().unwrap_or_default();
    *seen += 1;
    answer
}

/// The scripted answer as a hook's result, after its delay. A positive
/// reply is an acceptance (a session accepts with the default reply).
async fn answer(clock: &PairClock, answer: Answer) -> HookResult {
    if !answer.delay.is_zero() {
        clock.sleep(answer.delay).await;
    }
    match answer.reply {
        Some(reply) if !reply.code().is_positive() => Err(HookError::Reply(reply)),
        _ => Ok(()),
    }
}

const USER: (&str, &str) = ("user", "pencil");

impl<M: Take> Session for Scripted<M> {
    type Message = M;

    async fn helo(&mut self, _: &Context, _: &Domain, _: bool) -> HookResult {
        answer(&self.clock, pick(&self.script.helo, &mut self.helo_seen)).await
    }

    async fn mail(&mut self, _: &Context, _: &ReversePath, _: &MailParameters) -> HookResult {
        answer(&self.clock, pick(&self.script.mail, &mut self.mail_seen)).await
    }

    async fn rcpt(&mut self, _: &Context, to: &ForwardPath, _: &RcptParameters) -> HookResult {
        let distinct = self.rcpt_seen.len();
        let count = self.rcpt_seen.entry(to.to_string()).or_insert(0);
        *count += 1;
        let scripted = if *count == 1 {
            self.script.rcpt.get(distinct).cloned().unwrap_or_default()
        } else {
            self.script.rcpt_again.clone()
        };
        answer(&self.clock, scripted).await
    }

    async fn auth(
        &mut self,
        _: &Context,
        _: Mechanism,
        check: &AuthCheck,
    ) -> HookResult<Option<StoredSecret>> {
        match check {
            AuthCheck::VerifyPassword {
                username, password, ..
            } if username == USER.0 && password.constant_time_eq(USER.1) => Ok(None),
            AuthCheck::VerifyPassword { .. } => Err(HookError::refuse(
                535,
                "5.7.8",
                "Authentication credentials invalid",
            )),
            AuthCheck::NeedSecret { username, .. } => {
                Ok((username == USER.0).then(|| StoredSecret::password(USER.1)))
            }
            _ => Ok(None),
        }
    }

    async fn deliver(&mut self, _: &Context, message: M) -> HookResult {
        self.delivered += 1;
        let scripted = pick(&self.script.message, &mut self.message_seen);
        let (envelope, body, complete, subject) = message.take().await;
        let result = if complete {
            answer(&self.clock, scripted).await
        } else {
            Err(HookError::failed("the message was cut off"))
        };
        lock(&self.log).deliveries.push(Delivered {
            session: self.id,
            number: self.delivered,
            envelope,
            body,
            complete,
            subject,
            ok: result.is_ok(),
        });
        result
    }

    async fn reset(&mut self, _: &Context, end: TransactionEnd) {
        lock(&self.log).resets.push((self.id, end));
    }

    async fn end(&mut self, _: &Context, end: SessionEnd) {
        lock(&self.log).ends.push((self.id, end));
    }
}

/// Makes [`Scripted`] sessions of kind `M`; refuses the connection when
/// the script says so.
struct Factory<M> {
    script: Arc<ServerScript>,
    clock: PairClock,
    log: SharedLog,
    made: AtomicUsize,
    _kind: PhantomData<fn() -> M>,
}

impl<M: Take> SessionFactory for Factory<M> {
    type Session = Scripted<M>;

    async fn new_session(&self, _: &Context) -> HookResult<Scripted<M>> {
        answer(&self.clock, self.script.connect.clone()).await?;
        Ok(Scripted {
            id: self.made.fetch_add(1, Ordering::Relaxed),
            script: self.script.clone(),
            clock: self.clock.clone(),
            log: self.log.clone(),
            helo_seen: 0,
            mail_seen: 0,
            message_seen: 0,
            rcpt_seen: HashMap::new(),
            delivered: 0,
            _kind: PhantomData,
        })
    }
}

/// Runs `scenario` with sessions of kind `M` over `network` (a queue of
/// `body_queue` octets before a streaming hook).
fn run<M: Take>(
    scenario: &Scenario,
    network: Network,
    body_queue: usize,
) -> Result<(Transcript, SharedLog), String> {
    let clock = PairClock::new();
    let log = SharedLog::default();
    let factory = Factory::<M> {
        script: Arc::new(scenario.script.clone()),
        clock: clock.clone(),
        log: log.clone(),
        made: AtomicUsize::new(0),
        _kind: PhantomData,
    };
    let mut options = ServerOptions::with_config(scenario.setup.server_config());
    options.add_received = false;
    options.body_queue = body_queue;
    let config = options.config.clone();
    let app = SessionApp::new(factory, options).with_clock(clock);
    let client = ScriptedClient::new(scenario.messages.clone());
    let pair = Pair::new(
        config,
        Arc::new(scenario.setup.client_config()),
        app,
        client,
    )
    .map_err(|e| e.to_string())?
    .with_network(network);
    let mut pair = if scenario.setup.implicit_tls {
        pair.with_implicit_tls()
    } else {
        pair
    };
    let result = pair.run();
    let (transcript, _, _) = pair.into_parts();
    match result {
        Ok(()) => Ok((transcript, log)),
        Err(e) => Err(format!("{e}\n{transcript}")),
    }
}

fn paths(envelope: &server::ReceivedEnvelope) -> Vec<String> {
    envelope
        .recipients
        .iter()
        .map(|r| r.to.to_string())
        .collect()
}

/// `small ⊆ big` as multisets.
fn sub_multiset<T: Eq + std::hash::Hash + Clone>(small: &[T], big: &[T]) -> bool {
    let mut counts: HashMap<T, i64> = HashMap::new();
    for b in big {
        *counts.entry(b.clone()).or_default() += 1;
    }
    small.iter().all(|s| {
        let c = counts.entry(s.clone()).or_default();
        *c -= 1;
        *c >= 0
    })
}

/// The property: `deliver` ran once for each message the server
/// received (each whose data started, for a streaming session; each whose
/// data ended intact, else), in order, with its envelope and octets; every
/// message the server accepted is one whose `deliver` returned `Ok` with
/// the whole body, and a `deliver` that returned `Ok` for a message the
/// server did not accept answered too late (its decision expired) or never
/// reached the connection. On the client's side: every recipient the
/// client reports sent got the message through `deliver` exactly once,
/// and `deliver` accepted nothing else but recipients whose outcome the
/// client could not know.
fn deliveries_match(t: &Transcript, log: &Log, streaming: bool) -> Result<(), String> {
    let messages: Vec<_> = t
        .server_messages()
        .into_iter()
        .filter(|m| streaming || m.token.is_some())
        .collect();
    let deliveries = &log.deliveries;
    if deliveries.len() > messages.len() {
        return Err(format!(
            "{} deliver calls for {} messages",
            deliveries.len(),
            messages.len()
        ));
    }
    let mut delivered = Vec::new();
    for (k, m) in messages.iter().enumerate() {
        let Some(d) = deliveries.get(k) else {
            // A hook still waiting when the run ended: never accepted.
            if m.is_accepted() {
                return Err(format!("message {k} accepted without a deliver call"));
            }
            continue;
        };
        if d.envelope.from != m.envelope.from || paths(&d.envelope) != paths(&m.envelope) {
            return Err(format!(
                "deliver call {k} got {:?}, the server received {:?}",
                d.envelope, m.envelope
            ));
        }
        let intact = m.token.is_some();
        if d.complete != intact {
            return Err(format!(
                "deliver call {k}: complete {} but the message ended {:?}",
                d.complete, m.end
            ));
        }
        if intact && d.body != m.body {
            return Err(format!("deliver call {k}: the body differs"));
        }
        if m.is_accepted() && !d.ok {
            return Err(format!("message {k} accepted but deliver refused it"));
        }
        if d.ok
            && !matches!(
                m.end,
                MessageEnd::Accepted | MessageEnd::Expired | MessageEnd::Undecided
            )
        {
            return Err(format!(
                "deliver call {k} returned Ok, the message ended {:?}",
                m.end
            ));
        }
        if m.is_accepted() {
            for path in paths(&m.envelope) {
                delivered.push((d.body.clone(), path));
            }
        }
    }
    let mut sent = Vec::new();
    let mut unknown = Vec::new();
    for m in t.client_messages() {
        let Some(outcome) = &m.outcome else { continue };
        // Every attempt that ended sent the whole body (a later one may
        // have been cut off).
        let Some((raw, _)) = m.bodies.iter().find(|(_, ended)| *ended) else {
            continue;
        };
        let body = if m.envelope.options.body == BodyType::BinaryMime {
            raw.clone()
        } else {
            normalize(raw)
        };
        for (status, r) in outcome.recipients.iter().zip(&m.envelope.recipients) {
            let key = (body.clone(), r.path.to_string());
            match status.status {
                RecipientStatus::Sent => sent.push(key),
                RecipientStatus::Unknown => unknown.push(key),
                _ => {}
            }
        }
    }
    if !sub_multiset(&sent, &delivered) {
        return Err(format!(
            "recipients reported sent {sent:?} did not all get the message through deliver \
             ({delivered:?})"
        ));
    }
    let maybe: Vec<_> = sent.iter().chain(&unknown).cloned().collect();
    if !sub_multiset(&delivered, &maybe) {
        return Err(format!(
            "deliver accepted {delivered:?}, the client reports only {maybe:?} sent or unknown"
        ));
    }
    Ok(())
}

// ---------------------------------------------------------------------
// Each kind, one scripted session.

fn envelope(to: &[&str]) -> Envelope {
    Envelope::new(
        "<alice@example.net>"
            .parse::<ReversePath>()
            .expect("a valid path"),
        to.iter()
            .map(|t| t.parse::<ForwardPath>().expect("a valid path")),
    )
}

fn plan(to: &[&str], n: usize) -> MessagePlan {
    let body = format!(
        "Subject: hello {n}\n\n.leading dot\n{}\nbye {n}\n",
        "x".repeat(300 * n)
    );
    let mut plan = MessagePlan::new(envelope(to), Bytes::from(body));
    plan.chunks = vec![3, 50, 7];
    plan
}

/// Four messages: the first accepted, the second's only recipient
/// refused, the third refused at the end of data, the fourth accepted.
fn four_messages() -> Scenario {
    Scenario {
        setup: mailwire_tests::pair::scenario::Setup::default(),
        script: ServerScript {
            rcpt: vec![
                Answer::accept(),
                Answer::refuse(550, "5.1.1", "No such user"),
            ],
            message: vec![
                Answer::accept(),
                Answer::refuse(554, "5.7.1", "Spam"),
                Answer::accept().after(Duration::from_secs(20)),
            ],
            ..ServerScript::default()
        },
        messages: vec![
            plan(&["<bob@example.org>"], 1),
            plan(&["<nobody@example.org>"], 2),
            plan(&["<bob@example.org>"], 3),
            plan(&["<bob@example.org>"], 4),
        ],
    }
}

fn each_kind<M: Take + KindName>(streaming: bool) {
    let scenario = four_messages();
    let network = Network::symmetric(LinkPlan::reads([1, 5, 64]));
    let (t, log) = run::<M>(&scenario, network, 16).unwrap_or_else(|e| panic!("{e}"));
    check::all(&t).unwrap_or_else(|v| panic!("{v}\n{t}"));
    let log = lock(&log);
    deliveries_match(&t, &log, streaming).unwrap_or_else(|e| panic!("{e}\n{t}"));

    let outcomes: Vec<_> = t
        .client_messages()
        .iter()
        .map(|m| {
            m.outcome
                .as_ref()
                .map(|o| matches!(o.outcome, Outcome::Sent { .. }))
        })
        .collect();
    assert_eq!(outcomes, [Some(true), Some(false), Some(false), Some(true)]);
    // One session, whose count went on from message to message.
    let seen: Vec<_> = log
        .deliveries
        .iter()
        .map(|d| (d.session, d.number, d.ok))
        .collect();
    assert_eq!(seen, [(0, 1, true), (0, 2, false), (0, 3, true)]);
    for (d, n) in log.deliveries.iter().zip([1, 3, 4]) {
        assert_eq!(d.body, normalize(&scenario.messages[n - 1].body));
        if M::KIND_NAME == "parsed" {
            assert_eq!(d.subject.as_deref(), Some(format!("hello {n}").as_str()));
        }
    }
    // The refused recipient's and the refused message's transactions
    // ended without a delivery; the session ended with QUIT.
    assert_eq!(log.resets.len(), 2, "{:?}", log.resets);
    assert!(
        matches!(
            log.ends.as_slice(),
            [(0, SessionEnd::Closed(reason))] if reason.kind == server::CloseKind::Quit
        ),
        "{:?}",
        log.ends
    );
    // The slow answer took its 20 virtual seconds.
    assert!(
        t.entries
            .last()
            .is_some_and(|e| e.at >= Duration::from_secs(20))
    );
}

/// A name for each kind, for the kind-specific assertions.
trait KindName {
    const KIND_NAME: &'static str;
}

impl KindName for Mail {
    const KIND_NAME: &'static str = "whole";
}

impl KindName for MailStream {
    const KIND_NAME: &'static str = "stream";
}

impl KindName for ParsedMail {
    const KIND_NAME: &'static str = "parsed";
}

#[test]
fn whole_messages_reach_a_stateful_session() {
    each_kind::<Mail>(false);
}

#[test]
fn streamed_messages_reach_a_stateful_session() {
    each_kind::<MailStream>(true);
}

#[test]
fn parsed_messages_reach_a_stateful_session() {
    each_kind::<ParsedMail>(false);
}

// ---------------------------------------------------------------------
// The driver's fault injector on the virtual clock.

/// Accepts everything and records what it delivers.
struct Accepting {
    log: SharedLog,
}

impl Session for Accepting {
    type Message = Mail;

    async fn deliver(&mut self, _: &Context, mail: Mail) -> HookResult {
        lock(&self.log).deliveries.push(Delivered {
            session: 0,
            number: 0,
            envelope: mail.envelope,
            body: mail.data,
            complete: true,
            subject: None,
            ok: true,
        });
        Ok(())
    }

    async fn end(&mut self, _: &Context, end: SessionEnd) {
        lock(&self.log).ends.push((0, end));
    }
}

#[test]
fn a_slow_hook_expires_and_a_disconnecting_hook_hangs_up() {
    let clock = PairClock::new();
    let log = SharedLog::default();
    let rules = Rules::new(1);
    rules.add(Rule::new(
        Step::Rcpt,
        Match::Recipient(Glob::new("slow@*")),
        Fault::Delay(Duration::from_secs(61)),
    ));
    rules.add(Rule::new(
        Step::Data,
        Match::Recipient(Glob::new("drop@*")),
        Fault::Disconnect,
    ));
    let shared = log.clone();
    let factory = Faults::new(
        move |_: &Context| Accepting {
            log: shared.clone(),
        },
        rules,
        clock.clone(),
    );
    let mut options = ServerOptions::with_config(
        mailwire_tests::pair::scenario::Setup::default().server_config(),
    );
    options.add_received = false;
    let config = options.config.clone();
    let app = SessionApp::new(factory, options).with_clock(clock);
    // Bob gets the first message even though the slow recipient fails.
    let mut first = plan(&["<slow@example.org>", "<bob@example.org>"], 1);
    first.envelope = first
        .envelope
        .with_options(MailOptions::default().with_policy(SendPolicy::AtLeastOne));
    let client = ScriptedClient::new([
        first,
        plan(&["<drop@example.org>"], 2),
        plan(&["<bob@example.org>"], 3),
    ]);
    let client_config = mailwire_tests::pair::scenario::Setup::default().client_config();
    let mut pair = Pair::new(config, Arc::new(client_config), app, client)
        .expect("a valid client configuration");
    pair.run()
        .unwrap_or_else(|e| panic!("{e}\n{}", pair.transcript()));
    let t = pair.transcript();
    check::all(t).unwrap_or_else(|v| panic!("{v}\n{t}"));
    let log = lock(&log);
    deliveries_match(t, &log, false).unwrap_or_else(|e| panic!("{e}\n{t}"));

    // The slow recipient was answered 451 at the decision deadline; bob,
    // whose hook waited for the slow one to give the session back, got
    // the first message.
    assert!(t.entries.iter().any(|e| matches!(
        e.what,
        What::Server(server::ServerEvent::DecisionExpired { .. })
    )));
    assert!(pair.elapsed() >= Duration::from_secs(61));
    let delivered: Vec<_> = log.deliveries.iter().map(|d| paths(&d.envelope)).collect();
    assert_eq!(delivered, [vec!["<bob@example.org>".to_owned()]]);
    // The second message's hook dropped the connection: no reply, the
    // client cannot know.
    assert!(t.entries.iter().any(|e| e.what == What::HungUp));
    let outcomes: Vec<_> = t
        .client_messages()
        .iter()
        .map(|m| m.outcome.as_ref().map(|o| o.outcome.clone()))
        .collect();
    assert!(
        matches!(outcomes[1], Some(Outcome::Unknown)),
        "{outcomes:?}"
    );
    // The third, written behind the second's end of data (PIPELINING),
    // is lost with the connection: not sent.
    assert_eq!(outcomes.len(), 3, "{outcomes:?}");
    assert!(
        matches!(
            outcomes[2],
            Some(Outcome::NotSent {
                reason: NotSentReason::ConnectionClosed,
                ..
            })
        ),
        "{outcomes:?}"
    );
    assert!(matches!(
        t.client_closed().map(|c| &c.kind),
        Some(CloseKind::ConnectionLost)
    ));
    assert_eq!(log.ends, [(0, SessionEnd::Dropped)]);
}

// ---------------------------------------------------------------------
// Random scenarios.

fn run_kind(
    kind: u8,
    scenario: &Scenario,
    network: Network,
    body_queue: usize,
) -> Result<(Transcript, SharedLog), String> {
    match kind {
        0 => run::<Mail>(scenario, network, body_queue),
        1 => run::<MailStream>(scenario, network, body_queue),
        _ => run::<ParsedMail>(scenario, network, body_queue),
    }
}

proptest! {
    #![proptest_config(mailwire_tests::proptest_config!(
        "pair_sessions",
        mailwire_tests::proptest_cases(64)
    ))]

    #[test]
    fn accepted_messages_reach_deliver_exactly_once(
        scenario in scenario(Gaps { enabled: true }),
        network in seeded_network(Duration::from_millis(1500)),
        kind in 0u8..3,
        body_queue in prop_oneof![Just(1usize), Just(64), Just(256 << 10)],
        cut in prop::option::of((any::<bool>(), 0.0f64..=1.0)),
    ) {
        let network = match cut {
            None => network,
            Some((to_server, fraction)) => {
                // A clean run measures the stream; this one breaks at a
                // fraction of it.
                let (clean, _) = run_kind(kind, &scenario, network.clone(), body_queue)
                    .map_err(TestCaseError::fail)?;
                let (direction, total) = if to_server {
                    (Direction::ClientToServer, clean.wire.server_received.len())
                } else {
                    (Direction::ServerToClient, clean.wire.client_received.len())
                };
                #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss, clippy::cast_precision_loss)]
                let after = (total as f64 * fraction) as u64;
                network.with_cut(Cut { direction, after })
            }
        };
        let (t, log) = run_kind(kind, &scenario, network, body_queue)
            .map_err(TestCaseError::fail)?;
        check::all(&t).map_err(|v| TestCaseError::fail(format!("{v}\n{t}")))?;
        let log = lock(&log);
        deliveries_match(&t, &log, kind == 1)
            .map_err(|e| TestCaseError::fail(format!("{e}\n{t}")))?;
        // The session's last hook ran at most once (it may still wait for
        // a hook sleeping past the end of the run).
        prop_assert!(log.ends.len() <= 1, "{:?}", log.ends);
    }
}
