//! `mailwire serve --fault RULE`: failures on purpose, to test how an
//! application copes with a refusing, slow or vanishing server — by
//! address, every time (`--fault 'rcpt to:*@flaky.test 451'`, and the
//! built-in `tempfail@…`, `permfail@…` addresses), or by chance
//! (`--fault 'rcpt 10% 451'`). The rules can be read and replaced over
//! HTTP under `/api/mailwire/v1/faults`.

use mailwire_driver::core::wire::reply::Reply;
use mailwire_driver::server::Glob;
use mailwire_driver::server::faults::{Fault, Match, Rule, Rules, Step};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use crate::common::duration::parse_duration;

/// The text of a refusal whose rule gives none.
const DEFAULT_TEXT: &str = "Failure on purpose";

/// The fault options of `mailwire serve`.
#[derive(Debug, Clone, clap::Args)]
pub struct FaultArgs {
    /// Fail on purpose (repeatable; the first rule that fires decides):
    /// `STEP [from:GLOB|to:GLOB] [N%] ACTION`. STEP is connect, ehlo,
    /// auth, mail, rcpt or data (the end of the data); ACTION is a reply
    /// `CODE [X.Y.Z] [TEXT]` (4xx or 5xx), `delay DURATION` (500ms, 5s, 2m; then go on),
    /// `disconnect` (hang up without a reply; at data, in the middle of
    /// the message) or, at data, `disconnect-after-data` (hang up once the
    /// whole message has arrived, before its reply). E.g. 'rcpt to:*@flaky.test 451 4.3.0 Try later',
    /// 'mail 25% 421', 'data to:slow@* delay 5s'.
    #[arg(long = "fault", value_name = "RULE", value_parser = parse_fault)]
    pub faults: Vec<FaultText>,
    /// Do not fail on purpose for the built-in addresses (tempfail@…,
    /// permfail@…, tempfail-data@…, permfail-data@…, disconnect@…,
    /// disconnect-data@…, disconnect-after-data@… at any domain).
    #[arg(long)]
    pub no_failing_addresses: bool,
}

/// One `--fault` rule and the text it was written as.
#[derive(Debug, Clone)]
pub struct FaultText {
    /// As written.
    pub text: String,
    /// As parsed.
    pub rule: Rule,
}

fn parse_fault(text: &str) -> Result<FaultText, String> {
    parse_rule(text).map(|rule| FaultText {
        text: text.trim().to_owned(),
        rule,
    })
}

/// Parses `STEP [from:GLOB|to:GLOB] [N%] ACTION`.
///
/// # Errors
///
/// A sentence saying what is wrong with `text`.
pub fn parse_rule(text: &str) -> Result<Rule, String> {
    let fail = |why: &str| Err(format!("fault rule {text:?}: {why}"));
    let mut words = text.split_whitespace().peekable();
    let step = match words.next().map(str::to_ascii_lowercase).as_deref() {
        Some("connect") => Step::Connect,
        Some("ehlo" | "helo") => Step::Helo,
        Some("auth") => Step::Auth,
        Some("mail") => Step::Mail,
        Some("rcpt") => Step::Rcpt,
        Some("data") => Step::Data,
        _ => return fail("it must start with connect, ehlo, auth, mail, rcpt or data"),
    };
    let mut when = Match::Always;
    if let Some(word) = words.peek() {
        let lower = word.to_ascii_lowercase();
        if let Some(glob) = lower.strip_prefix("from:") {
            when = Match::Sender(Glob::new(glob));
            words.next();
        } else if let Some(glob) = lower.strip_prefix("to:") {
            when = Match::Recipient(Glob::new(glob));
            words.next();
        }
    }
    if matches!(step, Step::Connect | Step::Helo | Step::Auth) && when != Match::Always {
        return fail("from: and to: only apply at mail, rcpt and data");
    }
    if step == Step::Mail && matches!(when, Match::Recipient(_)) {
        return fail("the recipients are not known yet at mail");
    }
    let mut probability = 1.0;
    if let Some(percent) = words.peek().and_then(|w| w.strip_suffix('%')) {
        match percent.parse::<f64>() {
            Ok(p) if (0.0..=100.0).contains(&p) => probability = p / 100.0,
            _ => return fail("a chance is a percentage from 0% to 100%"),
        }
        words.next();
    }
    let rest: Vec<&str> = words.collect();
    let fault = match rest.as_slice() {
        [] => return fail("the action is missing (a reply code, delay DURATION or disconnect)"),
        ["disconnect"] => Fault::Disconnect,
        ["disconnect-after-data"] if step == Step::Data => Fault::DisconnectAfterData,
        ["disconnect-after-data"] => {
            return fail("disconnect-after-data only applies at data");
        }
        ["delay", duration] => match delay(duration) {
            Ok(d) => Fault::Delay(d),
            Err(why) => return fail(&why),
        },
        [code, more @ ..] => {
            let Ok(code) = code.parse::<u16>() else {
                return fail("the action is a reply code, delay DURATION or disconnect");
            };
            if !(400..=599).contains(&code) {
                return fail("the reply code must be between 400 and 599");
            }
            let (enhanced, words) = match more {
                [first, others @ ..] if is_enhanced(first) => ((*first).to_owned(), others),
                _ => (format!("{}.0.0", code / 100), more),
            };
            let joined = words.join(" ");
            let reply_text = if joined.is_empty() {
                DEFAULT_TEXT
            } else {
                &joined
            };
            match Reply::simple(code, &enhanced, reply_text) {
                Ok(reply) => Fault::Reply(reply),
                Err(e) => return fail(&format!("not a valid reply ({e})")),
            }
        }
    };
    Ok(Rule::new(step, when, fault).with_probability(probability))
}

/// A delay: milliseconds (`500ms`), or a duration as `--max-age` takes
/// it (`5s`, `2m`, a bare number of seconds).
fn delay(text: &str) -> Result<Duration, String> {
    match text.strip_suffix("ms") {
        Some(ms) => ms
            .parse::<u64>()
            .map(Duration::from_millis)
            .map_err(|_| format!("{text:?} is not a number of milliseconds")),
        None => parse_duration(text),
    }
}

/// Whether `word` looks like an enhanced status code (`4.3.0`).
fn is_enhanced(word: &str) -> bool {
    let parts: Vec<&str> = word.split('.').collect();
    parts.len() == 3
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.len() <= 3 && p.bytes().all(|b| b.is_ascii_digit()))
}

/// The built-in addresses that fail on purpose: the local part decides,
/// at any domain, as sender (at MAIL, or at the end of the data for the
/// `-data` kinds) or as recipient (at RCPT, or at the end of the data).
///
/// | Local part        | What the client sees                              |
/// |-------------------|---------------------------------------------------|
/// | `tempfail`        | `451 4.3.0` to MAIL / RCPT                        |
/// | `permfail`        | `550 5.7.1` to MAIL / RCPT                        |
/// | `tempfail-data`   | `451 4.3.0` after the message data                |
/// | `permfail-data`   | `554 5.6.0` after the message data                |
/// | `disconnect`      | the connection dropped instead of the MAIL / RCPT reply |
/// | `disconnect-data` | the connection dropped in the middle of the data  |
/// | `disconnect-after-data` | the connection dropped after the whole message, before its reply |
#[must_use]
pub fn failing_addresses() -> Vec<Rule> {
    // Application policy: these replies are the test server's own choice
    // (failures on purpose), not ones the protocol implies.
    let refuse = |code, enhanced, text| Fault::Reply(reply(code, enhanced, text));
    let envelope = [
        (
            "tempfail",
            refuse(451, "4.3.0", "Temporary failure on purpose (tempfail@)"),
        ),
        (
            "permfail",
            refuse(550, "5.7.1", "Permanent failure on purpose (permfail@)"),
        ),
        ("disconnect", Fault::Disconnect),
    ];
    let data = [
        (
            "tempfail-data",
            refuse(
                451,
                "4.3.0",
                "Temporary failure on purpose (tempfail-data@)",
            ),
        ),
        (
            "permfail-data",
            refuse(
                554,
                "5.6.0",
                "Permanent failure on purpose (permfail-data@)",
            ),
        ),
        ("disconnect-data", Fault::Disconnect),
        ("disconnect-after-data", Fault::DisconnectAfterData),
    ];
    let mut rules = Vec::new();
    for (local, fault) in envelope {
        let glob = Glob::new(&format!("{local}@*"));
        rules.push(Rule::new(
            Step::Mail,
            Match::Sender(glob.clone()),
            fault.clone(),
        ));
        rules.push(Rule::new(Step::Rcpt, Match::Recipient(glob), fault));
    }
    for (local, fault) in data {
        let glob = Glob::new(&format!("{local}@*"));
        rules.push(Rule::new(
            Step::Data,
            Match::Sender(glob.clone()),
            fault.clone(),
        ));
        rules.push(Rule::new(Step::Data, Match::Recipient(glob), fault));
    }
    rules
}

fn reply(code: u16, enhanced: &str, text: &str) -> Reply {
    Reply::simple(code, enhanced, text).expect("the built-in replies are valid")
}

/// mailwire's own fault rules while `serve` runs: the `--fault` rules
/// (replaceable over HTTP) followed by the built-in addresses.
#[derive(Debug)]
pub struct FaultSet {
    rules: Arc<Rules>,
    texts: Mutex<Vec<String>>,
    builtin: Vec<Rule>,
}

impl FaultSet {
    /// The rules of `args`, with probabilities drawn from a generator
    /// seeded with `seed`.
    #[must_use]
    pub fn new(args: &FaultArgs, seed: u64) -> FaultSet {
        let set = FaultSet {
            rules: Rules::new(seed),
            texts: Mutex::new(Vec::new()),
            builtin: if args.no_failing_addresses {
                Vec::new()
            } else {
                failing_addresses()
            },
        };
        set.install(
            args.faults.iter().map(|f| f.text.clone()).collect(),
            args.faults.iter().map(|f| f.rule.clone()).collect(),
        );
        set
    }

    /// The rules the server's fault wrapper follows.
    #[must_use]
    pub fn rules(&self) -> &Arc<Rules> {
        &self.rules
    }

    /// The `--fault` rules now, as written.
    #[must_use]
    pub fn texts(&self) -> Vec<String> {
        self.texts
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Whether the built-in failing addresses are on.
    #[must_use]
    pub fn failing_addresses(&self) -> bool {
        !self.builtin.is_empty()
    }

    /// Replaces the `--fault` rules (the built-in addresses stay).
    ///
    /// # Errors
    ///
    /// A sentence naming the first rule that does not parse; then nothing
    /// changes.
    pub fn replace(&self, texts: Vec<String>) -> Result<(), String> {
        let rules = texts
            .iter()
            .map(|t| parse_rule(t))
            .collect::<Result<Vec<_>, _>>()?;
        self.install(texts, rules);
        Ok(())
    }

    fn install(&self, texts: Vec<String>, mut rules: Vec<Rule>) {
        let mut held = self.texts.lock().unwrap_or_else(PoisonError::into_inner);
        rules.extend(self.builtin.iter().cloned());
        self.rules.set(rules);
        *held = texts;
    }
}

/// A seed for the dice of chance rules: different on every start.
#[must_use]
pub fn seed() -> u64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    #[allow(clippy::cast_possible_truncation)]
    let low = nanos as u64;
    low ^ u64::from(std::process::id()).rotate_left(32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_each_kind_of_rule() {
        let rule = parse_rule("rcpt to:*@flaky.test 451 4.3.0 Try again later").unwrap();
        assert_eq!(rule.step, Step::Rcpt);
        assert_eq!(rule.when, Match::Recipient(Glob::new("*@flaky.test")));
        assert_eq!(
            rule.fault,
            Fault::Reply(Reply::simple(451, "4.3.0", "Try again later").unwrap())
        );
        assert!((rule.probability - 1.0).abs() < f64::EPSILON);

        let rule = parse_rule("mail 25% 421").unwrap();
        assert_eq!(rule.when, Match::Always);
        assert!((rule.probability - 0.25).abs() < f64::EPSILON);
        assert_eq!(
            rule.fault,
            Fault::Reply(Reply::simple(421, "4.0.0", DEFAULT_TEXT).unwrap())
        );

        let rule = parse_rule("DATA from:bob@* delay 5s").unwrap();
        assert_eq!(rule.step, Step::Data);
        assert_eq!(rule.when, Match::Sender(Glob::new("bob@*")));
        assert_eq!(rule.fault, Fault::Delay(Duration::from_secs(5)));
        let rule = parse_rule("rcpt delay 250ms").unwrap();
        assert_eq!(rule.fault, Fault::Delay(Duration::from_millis(250)));

        assert_eq!(
            parse_rule("connect disconnect").unwrap().fault,
            Fault::Disconnect
        );
    }

    #[test]
    fn refuses_bad_rules_with_a_sentence() {
        for bad in [
            "",
            "quit 451",
            "rcpt",
            "rcpt 250 ok",
            "rcpt 700",
            "rcpt 150% 451",
            "ehlo to:x@y 451",
            "mail to:x@y 451",
            "rcpt delay soon",
            "rcpt delay 5xms",
            "rcpt hang-up",
            "rcpt disconnect-after-data",
        ] {
            let e = parse_rule(bad).unwrap_err();
            assert!(
                e.starts_with("fault rule") || e.contains("duration"),
                "{bad}: {e}"
            );
        }
    }

    #[test]
    fn replacing_keeps_the_built_in_addresses() {
        let args = FaultArgs {
            faults: vec![parse_fault("rcpt to:a@b 451").unwrap()],
            no_failing_addresses: false,
        };
        let set = FaultSet::new(&args, 1);
        let builtin = failing_addresses().len();
        assert_eq!(set.rules().list().len(), 1 + builtin);
        set.replace(vec!["mail 550".into(), "data disconnect".into()])
            .unwrap();
        assert_eq!(set.texts(), ["mail 550", "data disconnect"]);
        assert_eq!(set.rules().list().len(), 2 + builtin);
        assert!(set.replace(vec!["nonsense".into()]).is_err());
        assert_eq!(set.texts(), ["mail 550", "data disconnect"]);
    }
}
