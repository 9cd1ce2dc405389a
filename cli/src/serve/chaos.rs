//! Failures set over HTTP: Mailpit's chaos triggers (`GET`/`PUT
//! /api/v1/chaos`: a sender, recipient or authentication error code with
//! a percentage chance), always on in mailwire, and mailwire's own rules
//! (`GET`/`PUT /api/mailwire/v1/faults`, the `--fault` syntax).

use std::sync::{Arc, Mutex, PoisonError};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use mailwire_driver::core::wire::reply::Reply;
use mailwire_driver::server::faults::{Fault, Match, Rule, Rules, Step};
use serde::{Deserialize, Serialize};

use super::faults::FaultSet;

/// One of Mailpit's chaos triggers: fail with `ErrorCode` in
/// `Probability` percent of the tries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Trigger {
    /// The reply code, 400 to 599 (0 in a request: the default).
    #[serde(
        rename = "ErrorCode",
        alias = "errorCode",
        alias = "errorcode",
        default
    )]
    pub error_code: i64,
    /// The chance in percent, 0 (off) to 100.
    #[serde(rename = "Probability", alias = "probability", default)]
    pub probability: i64,
}

/// Mailpit's three chaos triggers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Triggers {
    /// At MAIL FROM.
    #[serde(rename = "Sender", alias = "sender", default)]
    pub sender: Trigger,
    /// At each RCPT TO.
    #[serde(rename = "Recipient", alias = "recipient", default)]
    pub recipient: Trigger,
    /// At AUTH (only when AUTH is offered).
    #[serde(rename = "Authentication", alias = "authentication", default)]
    pub authentication: Trigger,
}

impl Triggers {
    /// Mailpit's defaults: 451, 451 and 535, all at 0 %.
    #[must_use]
    pub fn defaults() -> Triggers {
        Triggers {
            sender: Trigger {
                error_code: 451,
                probability: 0,
            },
            recipient: Trigger {
                error_code: 451,
                probability: 0,
            },
            authentication: Trigger {
                error_code: 535,
                probability: 0,
            },
        }
    }
}

/// The chaos triggers while `serve` runs, and the rules they make.
#[derive(Debug)]
pub struct Chaos {
    rules: Arc<Rules>,
    triggers: Mutex<Triggers>,
}

impl Chaos {
    /// Mailpit's defaults (nothing fires), dice seeded with `seed`.
    #[must_use]
    pub fn new(seed: u64) -> Chaos {
        Chaos {
            rules: Rules::new(seed),
            triggers: Mutex::new(Triggers::defaults()),
        }
    }

    /// The rules the server's fault wrapper follows.
    #[must_use]
    pub fn rules(&self) -> &Arc<Rules> {
        &self.rules
    }

    /// The triggers now.
    #[must_use]
    pub fn triggers(&self) -> Triggers {
        *self.triggers.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Sets every trigger as Mailpit does: an error code of 0 is the
    /// default one; a trigger left out is reset.
    ///
    /// # Errors
    ///
    /// Mailpit's sentence for a code outside 400–599 or a probability
    /// outside 0–100; then nothing changes.
    pub fn set(&self, wanted: Triggers) -> Result<Triggers, String> {
        let defaults = Triggers::defaults();
        let fill = |t: Trigger, d: Trigger| Trigger {
            error_code: if t.error_code == 0 {
                d.error_code
            } else {
                t.error_code
            },
            probability: t.probability,
        };
        let set = Triggers {
            sender: fill(wanted.sender, defaults.sender),
            recipient: fill(wanted.recipient, defaults.recipient),
            authentication: fill(wanted.authentication, defaults.authentication),
        };
        let mut rules = Vec::new();
        for (step, trigger, text) in [
            (Step::Mail, set.sender, "Chaos sender error"),
            (Step::Rcpt, set.recipient, "Chaos recipient error"),
            (Step::Auth, set.authentication, "Chaos authentication error"),
        ] {
            if !(400..=599).contains(&trigger.error_code) {
                return Err("error code must be between 400 and 599".into());
            }
            if !(0..=100).contains(&trigger.probability) {
                return Err("probability must be between 0 and 100".into());
            }
            if trigger.probability == 0 {
                continue;
            }
            let code = u16::try_from(trigger.error_code).unwrap_or(451);
            let reply = Reply::simple(code, "", text)
                .map_err(|e| format!("error code {code} is not a reply code: {e}"))?;
            #[allow(clippy::cast_precision_loss)]
            let chance = trigger.probability as f64 / 100.0;
            rules
                .push(Rule::new(step, Match::Always, Fault::Reply(reply)).with_probability(chance));
        }
        let mut held = self.triggers.lock().unwrap_or_else(PoisonError::into_inner);
        self.rules.set(rules);
        *held = set;
        Ok(set)
    }
}

/// Parses Mailpit's `--chaos-triggers`: comma-separated
/// `KEY:CODE:PROBABILITY`, KEY being `Sender`, `Recipient` or
/// `Authentication` (any case; also `Recipients`, `Auth`), e.g.
/// `Sender:451:10,Recipient:550:5`. Triggers not named keep their
/// defaults.
///
/// # Errors
///
/// Mailpit's sentences: `invalid argument: …`, an unknown key, a code or
/// probability out of range.
pub fn parse_triggers(text: &str) -> Result<Triggers, String> {
    let mut triggers = Triggers::defaults();
    for part in text.split(',').map(str::trim) {
        let invalid = || format!("invalid argument: {part}");
        let mut fields = part.split(':');
        let (Some(key), Some(code), Some(chance), None) =
            (fields.next(), fields.next(), fields.next(), fields.next())
        else {
            return Err(invalid());
        };
        if key.is_empty() || !key.bytes().all(|b| b.is_ascii_alphanumeric()) || code.len() != 3 {
            return Err(invalid());
        }
        let error_code = code.parse::<i64>().map_err(|_| invalid())?;
        let probability = chance.parse::<i64>().map_err(|_| invalid())?;
        if !(400..=599).contains(&error_code) {
            return Err("error code must be between 400 and 599".into());
        }
        if !(0..=100).contains(&probability) {
            return Err("probability must be between 0 and 100".into());
        }
        let trigger = Trigger {
            error_code,
            probability,
        };
        match key.to_ascii_lowercase().as_str() {
            "sender" => triggers.sender = trigger,
            "recipient" | "recipients" => triggers.recipient = trigger,
            "auth" | "authentication" => triggers.authentication = trigger,
            _ => return Err(format!("unknown key {key}")),
        }
    }
    Ok(triggers)
}

/// What the HTTP routes of this module change.
#[derive(Debug, Clone)]
struct Knobs {
    chaos: Arc<Chaos>,
    faults: Arc<FaultSet>,
}

/// mailwire's rules as `/api/mailwire/v1/faults` shows them.
#[derive(Debug, Serialize, Deserialize)]
struct FaultsBody {
    /// The `--fault` rules, as written.
    #[serde(rename = "Rules")]
    rules: Vec<String>,
    /// Whether the built-in failing addresses are on (read only).
    #[serde(rename = "FailingAddresses", default, skip_deserializing)]
    failing_addresses: bool,
}

/// The routes: Mailpit's `/api/v1/chaos` and mailwire's
/// `/api/mailwire/v1/faults`.
pub fn routes(chaos: Arc<Chaos>, faults: Arc<FaultSet>) -> Router {
    Router::new()
        .route("/api/v1/chaos", get(get_chaos).put(put_chaos))
        .route("/api/mailwire/v1/faults", get(get_faults).put(put_faults))
        .with_state(Knobs { chaos, faults })
}

/// Mailpit's `400` with a message, as plain text.
pub fn bad_request(message: impl Into<String>) -> Response {
    let mut response = (StatusCode::BAD_REQUEST, message.into()).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
    response
}

fn json<T: Serialize>(value: &T) -> Response {
    match serde_json::to_string(value) {
        Ok(body) => {
            let mut response = (StatusCode::OK, body + "\n").into_response();
            response.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
            response
        }
        Err(e) => bad_request(e.to_string()),
    }
}

async fn get_chaos(State(knobs): State<Knobs>) -> Response {
    json(&knobs.chaos.triggers())
}

async fn put_chaos(State(knobs): State<Knobs>, body: Bytes) -> Response {
    let wanted: Triggers = match serde_json::from_slice(&body) {
        Ok(t) => t,
        Err(e) => return bad_request(e.to_string()),
    };
    match knobs.chaos.set(wanted) {
        Ok(set) => json(&set),
        Err(e) => bad_request(e),
    }
}

fn faults_body(faults: &FaultSet) -> FaultsBody {
    FaultsBody {
        rules: faults.texts(),
        failing_addresses: faults.failing_addresses(),
    }
}

async fn get_faults(State(knobs): State<Knobs>) -> Response {
    json(&faults_body(&knobs.faults))
}

async fn put_faults(State(knobs): State<Knobs>, body: Bytes) -> Response {
    let wanted: FaultsBody = match serde_json::from_slice(&body) {
        Ok(t) => t,
        Err(e) => return bad_request(e.to_string()),
    };
    match knobs.faults.replace(wanted.rules) {
        Ok(()) => json(&faults_body(&knobs.faults)),
        Err(e) => bad_request(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mailpit_chaos_triggers_flag() {
        let t = parse_triggers("Sender:421:10, recipients:550:5").unwrap();
        assert_eq!((t.sender.error_code, t.sender.probability), (421, 10));
        assert_eq!((t.recipient.error_code, t.recipient.probability), (550, 5));
        assert_eq!(t.authentication, Triggers::defaults().authentication);
        assert_eq!(
            parse_triggers("Sender:451").unwrap_err(),
            "invalid argument: Sender:451"
        );
        assert_eq!(
            parse_triggers("Sender:451:5.5").unwrap_err(),
            "invalid argument: Sender:451:5.5"
        );
        assert_eq!(
            parse_triggers("Helo:451:5").unwrap_err(),
            "unknown key Helo"
        );
        assert_eq!(
            parse_triggers("Auth:350:5").unwrap_err(),
            "error code must be between 400 and 599"
        );
    }

    #[test]
    fn mailpit_defaults_and_limits() {
        let chaos = Chaos::new(1);
        assert_eq!(chaos.triggers(), Triggers::defaults());
        assert!(chaos.rules().list().is_empty());
        let mut wanted = Triggers::default();
        wanted.recipient.probability = 50;
        let set = chaos.set(wanted).unwrap();
        assert_eq!(set.recipient.error_code, 451);
        assert_eq!(set.authentication.error_code, 535);
        assert_eq!(chaos.rules().list().len(), 1);
        wanted.sender.error_code = 600;
        assert_eq!(
            chaos.set(wanted).unwrap_err(),
            "error code must be between 400 and 599"
        );
        wanted.sender.error_code = 0;
        wanted.sender.probability = 101;
        assert_eq!(
            chaos.set(wanted).unwrap_err(),
            "probability must be between 0 and 100"
        );
        assert_eq!(chaos.triggers(), set);
        let json = serde_json::to_string(&set).unwrap();
        assert_eq!(
            json,
            r#"{"Sender":{"ErrorCode":451,"Probability":0},"Recipient":{"ErrorCode":451,"Probability":50},"Authentication":{"ErrorCode":535,"Probability":0}}"#
        );
    }
}
