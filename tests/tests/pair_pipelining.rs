//! Property 6, pipelining does not matter: the same scenario with
//! PIPELINING used (offered by the server and used by the client) and not
//! used (not offered, or not used by the client) gives the same outcomes:
//! the same client events (each message's outcome with every recipient's
//! status, the bodies asked for, the close) and the same messages delivered
//! with the same envelopes and bodies. (The recipient results may differ:
//! after a `452` a lock-step client defers the recipients it has not sent
//! yet, where a pipelining one has them answered `452` too; so a deferred
//! recipient that is never retried has a last RCPT reply in one mode and
//! none in the other.)
//!
//! The server application answers RCPT by recipient (not by arrival
//! order), and deferrals come from the server's own recipient limit: a
//! server that answers `452` to one recipient and accepts the next is
//! outside RFC 5321 §4.5.3.1.10, and a lock-step client rightly stops at
//! the first `452` where a pipelining one has already sent the rest.

use mailwire_core::client::ClientEvent;
use mailwire_tests::pair::scenario::{Gaps, network, scenario_with};
use mailwire_tests::pair::{MessageEnd, Transcript};
use proptest::prelude::*;

/// The client's events, without times, without the recipient results
/// (of the outcomes, only each recipient's status), and without the
/// capabilities in `Ready` (which say whether PIPELINING is offered).
/// The outcomes come last, in the order of their messages: under
/// PIPELINING a message may start before the previous one's outcome is
/// in, so one refused before anything is written (SIZE, REQUIRETLS) can
/// complete first.
fn client_events(t: &Transcript) -> Vec<String> {
    let (mut outcomes, mut rest): (Vec<_>, Vec<_>) = t
        .client_events()
        .partition(|(_, e)| matches!(e, ClientEvent::TransactionCompleted(_)));
    outcomes.sort_by_key(|(_, e)| match e {
        ClientEvent::TransactionCompleted(o) => o.id,
        _ => unreachable!("only outcomes"),
    });
    rest.extend(outcomes);
    rest.into_iter()
        .filter(|(_, e)| !matches!(e, ClientEvent::RecipientResult { .. }))
        .map(|(_, e)| match e {
            ClientEvent::Ready { .. } => "Ready".to_owned(),
            ClientEvent::TransactionCompleted(o) => {
                let statuses: Vec<_> = o.recipients.iter().map(|r| r.status).collect();
                format!(
                    "{} {:?} {statuses:?} {} {:?}",
                    o.id,
                    o.outcome,
                    o.attempts,
                    o.tls.is_some()
                )
            }
            e => format!("{e:?}"),
        })
        .collect()
}

/// Each message the server received: how it ended, to whom, what.
fn delivered(t: &Transcript) -> Vec<(MessageEnd, Vec<String>, Vec<u8>)> {
    t.server_messages()
        .into_iter()
        .filter(|m| !matches!(m.end, MessageEnd::Aborted(_)))
        .map(|m| {
            let to = m
                .envelope
                .recipients
                .iter()
                .map(|r| r.to.to_string())
                .collect();
            (m.end, to, m.body)
        })
        .collect()
}

proptest! {
    #![proptest_config(mailwire_tests::proptest_config!(
        "pair_pipelining",
        mailwire_tests::proptest_cases(256)
    ))]

    #[test]
    fn pipelining_does_not_change_outcomes(
        scenario in scenario_with(Gaps { enabled: false }, false),
        network in network(),
        server_side in any::<bool>(),
    ) {
        let mut on = scenario.clone();
        on.setup.pipelining = true;
        on.setup.client_pipelining = true;
        let mut off = scenario;
        if server_side {
            off.setup.pipelining = false;
        } else {
            off.setup.client_pipelining = false;
        }
        let run = |s: &mailwire_tests::pair::scenario::Scenario| {
            s.run(network.clone())
                .map_err(|f| TestCaseError::fail(f.to_string()))
        };
        let a = run(&on)?;
        let b = run(&off)?;
        let (x, y) = (client_events(&a), client_events(&b));
        let first_difference = x.iter().zip(&y).position(|(p, q)| p != q);
        prop_assert!(
            x == y,
            "client events differ at {first_difference:?}\n{a}\n---- without pipelining:\n{b}"
        );
        prop_assert_eq!(delivered(&a), delivered(&b));
    }
}
