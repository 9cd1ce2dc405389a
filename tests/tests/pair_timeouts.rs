//! Property 4, timeouts: with one idle gap somewhere in a session (before
//! a message, inside a body, or a slow decision by the server application),
//! the timers that fire are exactly those a model of RFC 5321 §4.5.3.2
//! predicts from the configured timeouts: on the expected side, in the
//! expected phase, at exactly the expected virtual instant; and none fires
//! when the gap is shorter than the timeout. (A gap exactly as long as a
//! timeout counts as reaching it: at one instant the harness fires the
//! connections' deadlines before it wakes the applications.)
//!
//! Server timeouts are drawn from {35, 95, 155, 305, 605} s and client
//! timeouts from {30, 60, 120, 180, 300, 600} s, so a server and a client
//! deadline never coincide.

use std::sync::Arc;
use std::time::Duration;

use mailwire_core::client::{ClientEvent, CloseKind};
use mailwire_core::server::ServerEvent;
use mailwire_tests::pair::scenario::Setup;
use mailwire_tests::pair::{
    Answer, MessagePlan, Pair, ScriptedClient, ScriptedServer, ServerScript, Side, Transcript, What,
};
use proptest::prelude::*;

const SERVER: [u64; 5] = [35, 95, 155, 305, 605];
const CLIENT: [u64; 6] = [30, 60, 120, 180, 300, 600];
const BODY: &[u8] = b"line one\r\nline two\r\n.hidden\r\nend";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    Helo,
    Mail,
    /// The RCPT of the second recipient.
    Rcpt,
    Message,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Gap {
    /// The client application waits before `send_mail`.
    BeforeMail,
    /// The client application pauses after this many body octets.
    InBody(usize),
    /// The server application decides this step late.
    Decision(Step),
}

#[derive(Debug, Clone)]
struct Case {
    /// Server: command, data, transfer, decision.
    server: [u64; 4],
    /// Client: hello, mail, rcpt, data_block, data_termination.
    client: [u64; 5],
    bdat: bool,
    pipelining: bool,
    gap: Gap,
    /// The gap's length.
    length: Duration,
}

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

impl Case {
    fn command(&self) -> u64 {
        self.server[0]
    }
    fn data(&self) -> u64 {
        self.server[1]
    }
    fn transfer(&self) -> u64 {
        self.server[2]
    }
    fn decision(&self) -> u64 {
        self.server[3]
    }

    /// The timers that run during the gap: (side, what, seconds). Every
    /// gap starts at virtual time zero: everything before it is instant.
    fn timers(&self) -> Vec<(Side, String, u64)> {
        let [hello, mail, rcpt, block, termination] = self.client;
        match self.gap {
            Gap::BeforeMail => vec![(Side::Server, "Command".into(), self.command())],
            Gap::InBody(at) => {
                let mut t = vec![(Side::Client, "DataBlock".into(), block)];
                if self.bdat {
                    // Between BDAT chunks the server waits for a command;
                    // the transfer cap runs once the first chunk came.
                    t.push((Side::Server, "Command".into(), self.command()));
                    if at > 0 {
                        t.push((Side::Server, "Transfer".into(), self.transfer()));
                    }
                } else {
                    t.push((Side::Server, "Data".into(), self.data()));
                    t.push((Side::Server, "Transfer".into(), self.transfer()));
                }
                t
            }
            Gap::Decision(step) => {
                let (phase, wait) = match step {
                    Step::Helo => ("Ehlo", hello),
                    Step::Mail => ("Mail", mail),
                    Step::Rcpt => ("Rcpt", rcpt),
                    Step::Message => ("DataTermination", termination),
                };
                vec![
                    (Side::Server, "DecisionExpired".into(), self.decision()),
                    (Side::Client, phase.into(), wait),
                ]
            }
        }
    }

    /// What must fire, in the model.
    fn expected(&self) -> Vec<(Side, String, Duration)> {
        let gap = self.length;
        let timers = self.timers();
        let mut out = Vec::new();
        match self.gap {
            Gap::Decision(_) => {
                // The server's decision deadline answers 451 and the
                // session goes on; the client's wait ends the connection,
                // unless the 451 came first.
                let (server, client) = (&timers[0], &timers[1]);
                if secs(server.2) <= gap {
                    out.push((server.0, server.1.clone(), secs(server.2)));
                }
                if secs(client.2) <= gap && client.2 < server.2 {
                    out.push((client.0, client.1.clone(), secs(client.2)));
                }
            }
            _ => {
                // The first timer to run out ends the session (on a tie the
                // server's transfer cap is checked before its idle timer).
                let first = timers
                    .iter()
                    .min_by_key(|(_, what, at)| (*at, what != "Transfer"))
                    .cloned();
                if let Some((side, what, at)) = first
                    && secs(at) <= gap
                {
                    out.push((side, what, secs(at)));
                }
            }
        }
        out.sort_by(|a, b| format!("{a:?}").cmp(&format!("{b:?}")));
        out
    }

    fn setup(&self) -> Setup {
        Setup {
            pipelining: self.pipelining,
            client_chunking: self.bdat,
            ..Setup::default()
        }
    }

    fn run(&self) -> Result<Transcript, TestCaseError> {
        let setup = self.setup();
        let mut server = setup.server_config();
        let t = &mut server.timeouts;
        t.command = secs(self.command());
        t.data = secs(self.data());
        t.transfer = secs(self.transfer());
        t.decision = secs(self.decision());
        t.session = secs(100_000);
        let mut client = setup.client_config();
        let [hello, mail, rcpt, block, termination] = self.client;
        let t = &mut client.timeouts;
        t.hello = secs(hello);
        t.mail = secs(mail);
        t.rcpt = secs(rcpt);
        t.data_block = secs(block);
        t.data_termination = secs(termination);
        let envelope = mailwire_core::client::Envelope::new(
            "<alice@example.net>"
                .parse::<mailwire_core::wire::address::ReversePath>()
                .unwrap(),
            ["<bob@example.org>", "<carol@example.org>"].map(|r| {
                r.parse::<mailwire_core::wire::address::ForwardPath>()
                    .unwrap()
            }),
        );
        let mut plan = MessagePlan::new(envelope, BODY.to_vec());
        plan.chunks = vec![7];
        let mut script = ServerScript::default();
        let late = Answer::accept().after(self.length);
        match self.gap {
            Gap::BeforeMail => plan.wait_before = self.length,
            Gap::InBody(at) => plan.pause = Some((at, self.length)),
            Gap::Decision(Step::Helo) => script.helo = vec![late],
            Gap::Decision(Step::Mail) => script.mail = vec![late],
            Gap::Decision(Step::Rcpt) => script.rcpt = vec![Answer::accept(), late],
            Gap::Decision(Step::Message) => script.message = vec![late],
        }
        let mut pair = Pair::new(
            Arc::new(server),
            Arc::new(client),
            ScriptedServer::new(script),
            ScriptedClient::new([plan]),
        )
        .map_err(|e| TestCaseError::fail(e.to_string()))?;
        pair.run()
            .map_err(|e| TestCaseError::fail(format!("{e}\n{}", pair.transcript())))?;
        Ok(pair.into_parts().0)
    }
}

/// Every timeout that fired: side, what, when.
fn fired(t: &Transcript) -> Vec<(Side, String, Duration)> {
    let mut out = Vec::new();
    for entry in &t.entries {
        match &entry.what {
            What::Server(ServerEvent::Closed(mailwire_core::server::CloseReason {
                kind: mailwire_core::server::CloseKind::Timeout(kind),
                ..
            })) => {
                out.push((Side::Server, format!("{kind:?}"), entry.at));
            }
            What::Server(ServerEvent::DecisionExpired { .. }) => {
                out.push((Side::Server, "DecisionExpired".into(), entry.at));
            }
            What::Client(ClientEvent::Closed(reason)) if reason.kind == CloseKind::Timeout => {
                out.push((Side::Client, format!("{:?}", reason.phase), entry.at));
            }
            _ => {}
        }
    }
    out.sort_by(|a, b| format!("{a:?}").cmp(&format!("{b:?}")));
    out
}

fn case() -> impl Strategy<Value = Case> {
    let server = prop::array::uniform4(prop::sample::select(&SERVER[..]));
    let client = prop::array::uniform5(prop::sample::select(&CLIENT[..]));
    let gap = prop_oneof![
        1 => Just(Gap::BeforeMail),
        2 => (0usize..=BODY.len() + 1).prop_map(Gap::InBody),
        3 => prop::sample::select(vec![Step::Helo, Step::Mail, Step::Rcpt, Step::Message])
            .prop_map(Gap::Decision),
    ];
    (
        server,
        client,
        any::<bool>(),
        any::<bool>(),
        gap,
        0usize..8,
        0i64..3,
        1u64..1200,
    )
        .prop_map(
            |(server, client, bdat, pipelining, gap, target, near, random)| {
                let mut case = Case {
                    server,
                    client,
                    bdat,
                    pipelining,
                    gap,
                    length: Duration::ZERO,
                };
                // Mostly just under or just over one of the timers that run.
                let timers = case.timers();
                case.length = match near {
                    0 => secs(random),
                    side => {
                        let (_, _, at) = &timers[target % timers.len()];
                        if side == 1 {
                            secs(at - 1)
                        } else {
                            secs(at + 1)
                        }
                    }
                };
                case
            },
        )
}

proptest! {
    #![proptest_config(mailwire_tests::proptest_config!(
        "pair_timeouts",
        mailwire_tests::proptest_cases(256)
    ))]

    #[test]
    fn timeouts_fire_exactly_when_due(case in case()) {
        let transcript = case.run()?;
        prop_assert_eq!(fired(&transcript), case.expected(), "{}", transcript);
    }
}
