//! [`Faults`]: a fault-injecting wrapper for any [`SessionFactory`], to
//! test how clients cope with a server that refuses, stalls or hangs up —
//! by rule, every time (a recipient pattern that always gets `451`), or by
//! chance (Mailpit's chaos triggers).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use mailwire_core::sasl::{Mechanism, StoredSecret};
use mailwire_core::server::{AuthCheck, TransactionEnd};
use mailwire_core::wire::address::{Domain, ForwardPath, ReversePath};
use mailwire_core::wire::params::{MailParameters, RcptParameters};
use mailwire_core::wire::reply::Reply;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::context::Context;
use super::delivery::sealed;
use super::error::{HookError, HookResult};
use super::glob::Glob;
use super::session::{Session, SessionEnd, SessionFactory};
use crate::Runtime;

/// Where in a session a [`Fault`] strikes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Step {
    /// The connection (instead of the greeting).
    Connect,
    /// HELO or EHLO.
    Helo,
    /// Each AUTH step.
    Auth,
    /// MAIL FROM.
    Mail,
    /// RCPT TO.
    Rcpt,
    /// The end of the message data (the final reply).
    Data,
}

/// Which sessions, transactions or recipients a rule applies to.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Match {
    /// Every time the step is reached.
    Always,
    /// When the sender (without angle brackets; `""` for `<>`) matches.
    Sender(Glob),
    /// At RCPT: when this recipient matches; at the end of data: when any
    /// accepted recipient matches.
    Recipient(Glob),
}

/// What a rule does.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Fault {
    /// Answer with this reply (a 4xx or 5xx) instead of going on.
    Reply(Reply),
    /// Wait this long, then go on as usual.
    Delay(Duration),
    /// Drop the connection without a reply; nothing is delivered. At
    /// [`Step::Data`], a streaming session ([`MailStream`](super::MailStream))
    /// is cut off in the middle of the data, the others once the whole
    /// message has arrived, before its reply.
    Disconnect,
    /// At [`Step::Data`]: drop the connection once the whole message has
    /// arrived, before the reply to its end, for every kind of session —
    /// the client cannot know whether the message was delivered (it was
    /// not). At the other steps, the same as [`Fault::Disconnect`].
    DisconnectAfterData,
}

/// One rule: at `step`, when `when` matches (and the dice agree, for a
/// probability below 1), do `fault`.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Rule {
    /// Where it strikes.
    pub step: Step,
    /// Whom it strikes.
    pub when: Match,
    /// What it does.
    pub fault: Fault,
    /// The chance it fires when it matches, from 0 to 1 (1: every time).
    pub probability: f64,
}

impl Rule {
    /// A rule that fires every time `when` matches at `step`.
    #[must_use]
    pub fn new(step: Step, when: Match, fault: Fault) -> Rule {
        Rule {
            step,
            when,
            fault,
            probability: 1.0,
        }
    }

    /// The same rule, firing with probability `p` (clamped to 0..=1).
    #[must_use]
    pub fn with_probability(mut self, p: f64) -> Rule {
        self.probability = if p.is_nan() { 0.0 } else { p.clamp(0.0, 1.0) };
        self
    }

    /// A refusal `code enhanced text` at `step` for `when`.
    ///
    /// # Errors
    ///
    /// The reply is not a valid 4xx/5xx reply.
    pub fn refuse(
        step: Step,
        when: Match,
        code: u16,
        enhanced: &str,
        text: &str,
    ) -> Result<Rule, mailwire_core::wire::reply::ReplyError> {
        let reply = Reply::simple(code, enhanced, text)?;
        Ok(Rule::new(step, when, Fault::Reply(reply)))
    }
}

/// The rules of a [`Faults`] wrapper, changeable while it runs.
#[derive(Debug)]
pub struct Rules {
    rules: Mutex<Vec<Rule>>,
    dice: Mutex<StdRng>,
}

impl Rules {
    /// No rules yet; probabilities drawn from a generator seeded with
    /// `seed` (the same seed, the same faults).
    #[must_use]
    pub fn new(seed: u64) -> Arc<Rules> {
        Arc::new(Rules {
            rules: Mutex::new(Vec::new()),
            dice: Mutex::new(StdRng::seed_from_u64(seed)),
        })
    }

    /// Adds a rule (rules are tried in the order they were added; the
    /// first that fires decides).
    pub fn add(&self, rule: Rule) {
        lock(&self.rules).push(rule);
    }

    /// Replaces every rule.
    pub fn set(&self, rules: Vec<Rule>) {
        *lock(&self.rules) = rules;
    }

    /// The rules now.
    #[must_use]
    pub fn list(&self) -> Vec<Rule> {
        lock(&self.rules).clone()
    }

    /// The fault for this step, if a rule fires.
    fn fire(&self, step: Step, from: Option<&str>, to: &[String]) -> Option<Fault> {
        let rules = lock(&self.rules);
        for rule in rules.iter().filter(|r| r.step == step) {
            let matches = match &rule.when {
                Match::Always => true,
                Match::Sender(g) => from.is_some_and(|f| g.matches(f)),
                Match::Recipient(g) => to.iter().any(|t| g.matches(t)),
            };
            if !matches {
                continue;
            }
            let fires = rule.probability >= 1.0
                || (rule.probability > 0.0 && lock(&self.dice).random_bool(rule.probability));
            if fires {
                return Some(rule.fault.clone());
            }
        }
        None
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// An address as rules see it: without angle brackets, `""` for `<>`,
/// `postmaster` for `<Postmaster>`.
fn bare_reverse(path: &ReversePath) -> String {
    path.mailbox().map(ToString::to_string).unwrap_or_default()
}

fn bare_forward(path: &ForwardPath) -> String {
    path.mailbox()
        .map_or_else(|| "postmaster".to_owned(), ToString::to_string)
}

/// Wraps a [`SessionFactory`] so that its sessions fail on purpose where
/// the [`Rules`] say; everything else reaches the wrapped sessions
/// unchanged. `runtime` times the delays.
///
/// ```
/// # fn demo<R: mailwire_driver::Runtime>(runtime: R) -> Result<(), Box<dyn std::error::Error>> {
/// use mailwire_driver::server::faults::{Fault, Faults, Match, Rule, Rules, Step};
/// use mailwire_driver::server::{Context, Glob, HookResult, Mail, Server, ServerOptions, Session};
///
/// struct Accept;
/// impl Session for Accept {
///     type Message = Mail;
///     async fn deliver(&mut self, _: &Context, _: Mail) -> HookResult {
///         Ok(())
///     }
/// }
///
/// let rules = Rules::new(7);
/// // Every message to tempfail@… is deferred; one RCPT in ten is refused.
/// rules.add(Rule::refuse(Step::Rcpt, Match::Recipient(Glob::new("tempfail@*")), 451, "4.7.1", "Try again later")?);
/// rules.add(Rule::refuse(Step::Rcpt, Match::Always, 550, "5.1.1", "Unlucky")?.with_probability(0.1));
/// let server = Server::new(
///     ServerOptions::new("mx.example.org"),
///     Faults::new(|_: &Context| Accept, rules.clone(), runtime),
/// );
/// # let _ = server;
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct Faults<F, R> {
    inner: F,
    rules: Arc<Rules>,
    runtime: R,
}

impl<F, R> Faults<F, R> {
    /// Wraps `inner` with `rules`.
    pub fn new(inner: F, rules: Arc<Rules>, runtime: R) -> Faults<F, R> {
        Faults {
            inner,
            rules,
            runtime,
        }
    }

    /// The rules, to change while the server runs.
    #[must_use]
    pub fn rules(&self) -> &Arc<Rules> {
        &self.rules
    }
}

/// A session of a [`Faults`] wrapper.
#[derive(Debug)]
pub struct Faulty<S, R> {
    inner: S,
    rules: Arc<Rules>,
    runtime: R,
}

/// Applies `fault`: `Some(result)` answers the step, `None` goes on.
async fn apply<R: Runtime, T>(runtime: &R, fault: Option<Fault>) -> Option<HookResult<T>> {
    match fault? {
        Fault::Reply(reply) => Some(Err(HookError::Reply(reply))),
        Fault::Disconnect | Fault::DisconnectAfterData => Some(Err(HookError::Disconnect)),
        Fault::Delay(d) => {
            runtime.sleep_until(runtime.now() + d).await;
            None
        }
    }
}

impl<F: SessionFactory, R: Runtime> SessionFactory for Faults<F, R> {
    type Session = Faulty<F::Session, R>;

    async fn new_session(&self, ctx: &Context) -> HookResult<Self::Session> {
        let fault = self.rules.fire(Step::Connect, None, &[]);
        if let Some(answer) = apply(&self.runtime, fault).await {
            answer?;
        }
        Ok(Faulty {
            inner: self.inner.new_session(ctx).await?,
            rules: self.rules.clone(),
            runtime: self.runtime.clone(),
        })
    }
}

fn sender(ctx: &Context) -> Option<String> {
    ctx.transaction.as_ref().map(|t| bare_reverse(&t.from))
}

impl<S: Session, R: Runtime> Session for Faulty<S, R> {
    type Message = S::Message;

    async fn helo(&mut self, ctx: &Context, domain: &Domain, extended: bool) -> HookResult {
        if let Some(answer) = apply(&self.runtime, self.rules.fire(Step::Helo, None, &[])).await {
            return answer;
        }
        self.inner.helo(ctx, domain, extended).await
    }

    async fn mail(
        &mut self,
        ctx: &Context,
        from: &ReversePath,
        params: &MailParameters,
    ) -> HookResult {
        if let Some(answer) = apply(
            &self.runtime,
            self.rules
                .fire(Step::Mail, Some(bare_reverse(from).as_str()), &[]),
        )
        .await
        {
            return answer;
        }
        self.inner.mail(ctx, from, params).await
    }

    async fn rcpt(
        &mut self,
        ctx: &Context,
        to: &ForwardPath,
        params: &RcptParameters,
    ) -> HookResult {
        let recipient = [bare_forward(to)];
        if let Some(answer) = apply(
            &self.runtime,
            self.rules
                .fire(Step::Rcpt, sender(ctx).as_deref(), &recipient),
        )
        .await
        {
            return answer;
        }
        self.inner.rcpt(ctx, to, params).await
    }

    async fn auth(
        &mut self,
        ctx: &Context,
        mechanism: Mechanism,
        check: &AuthCheck,
    ) -> HookResult<Option<StoredSecret>> {
        if let Some(answer) = apply(&self.runtime, self.rules.fire(Step::Auth, None, &[])).await {
            return answer;
        }
        self.inner.auth(ctx, mechanism, check).await
    }

    async fn deliver(&mut self, ctx: &Context, message: S::Message) -> HookResult {
        let recipients: Vec<String> = ctx
            .transaction
            .as_ref()
            .map(|t| t.recipients.iter().map(|r| bare_forward(&r.to)).collect())
            .unwrap_or_default();
        let fault = self
            .rules
            .fire(Step::Data, sender(ctx).as_deref(), &recipients);
        if fault == Some(Fault::DisconnectAfterData) {
            // Read a streamed body to its end first (the others arrived
            // whole), then hang up without a reply.
            if let Some(mut body) = sealed::Sealed::into_body(message) {
                while let Ok(Some(_)) = body.next_chunk().await {}
            }
            return Err(HookError::Disconnect);
        }
        if let Some(answer) = apply(&self.runtime, fault).await {
            // The message is not delivered: a streamed body is dropped
            // unread, which the session's reader never sees as whole.
            drop(message);
            return answer;
        }
        self.inner.deliver(ctx, message).await
    }

    async fn reset(&mut self, ctx: &Context, end: TransactionEnd) {
        self.inner.reset(ctx, end).await;
    }

    async fn end(&mut self, ctx: &Context, end: SessionEnd) {
        self.inner.end(ctx, end).await;
    }

    fn share(&self) -> Option<Self> {
        Some(Faulty {
            inner: self.inner.share()?,
            rules: self.rules.clone(),
            runtime: self.runtime.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refuse(code: u16) -> Fault {
        let enhanced = format!("{}.0.0", code / 100);
        Fault::Reply(Reply::simple(code, &enhanced, "no").unwrap())
    }

    #[test]
    fn rules_match_by_step_sender_and_recipient_in_order() {
        let rules = Rules::new(1);
        rules.add(Rule::new(
            Step::Rcpt,
            Match::Recipient(Glob::new("tempfail@*")),
            refuse(451),
        ));
        rules.add(Rule::new(
            Step::Rcpt,
            Match::Sender(Glob::new("*@blocked.test")),
            refuse(550),
        ));
        rules.add(Rule::new(Step::Rcpt, Match::Always, refuse(452)));
        let to = |r: &str| vec![r.to_owned()];
        assert_eq!(
            rules.fire(Step::Rcpt, Some("a@x"), &to("TempFail@y")),
            Some(refuse(451))
        );
        assert_eq!(
            rules.fire(Step::Rcpt, Some("a@blocked.test"), &to("tempfail@y")),
            Some(refuse(451)),
            "the first rule that fires decides"
        );
        assert_eq!(
            rules.fire(Step::Rcpt, Some("a@blocked.test"), &to("b@y")),
            Some(refuse(550))
        );
        assert_eq!(
            rules.fire(Step::Rcpt, Some("a@x"), &to("b@y")),
            Some(refuse(452))
        );
        assert_eq!(rules.fire(Step::Mail, Some("a@blocked.test"), &[]), None);
        rules.set(Vec::new());
        assert_eq!(rules.fire(Step::Rcpt, Some("a@x"), &to("tempfail@y")), None);
    }

    #[test]
    fn chances_are_drawn_from_the_seed() {
        let draws = |seed| {
            let rules = Rules::new(seed);
            rules
                .add(Rule::new(Step::Mail, Match::Always, Fault::Disconnect).with_probability(0.5));
            (0..200)
                .map(|_| rules.fire(Step::Mail, None, &[]).is_some())
                .collect::<Vec<bool>>()
        };
        assert_eq!(draws(7), draws(7), "the same seed, the same faults");
        let fired = draws(7).iter().filter(|f| **f).count();
        assert!((50..=150).contains(&fired), "{fired} of 200");
        for (p, expected) in [(0.0, 0), (1.0, 200), (f64::NAN, 0), (7.0, 200)] {
            let rules = Rules::new(3);
            rules.add(Rule::new(Step::Mail, Match::Always, Fault::Disconnect).with_probability(p));
            let n = (0..200)
                .filter(|_| rules.fire(Step::Mail, None, &[]).is_some())
                .count();
            assert_eq!(n, expected, "p = {p}");
        }
    }
}
