//! Property 2, chunking does not matter: the same scenario over two
//! networks that cut the bytes differently (whole writes, single octets,
//! any cycle of read sizes, each direction on its own) gives identical
//! outcomes on both sides: the same events at the same virtual times on
//! each side, and the same messages (the body of each one whose data ended
//! intact).
//!
//! What may differ is what depends on how soon a reply is read, not on
//! what it says: how much of an aborted message's data streamed to the
//! application before the abort (a size limit passed), and how many BDAT
//! chunks a pipelining client wrote before it read the refusal of an
//! earlier one (so the application's `send_body` calls and the bytes on
//! the wire are not compared).

use mailwire_core::server::ServerEvent;
use mailwire_tests::pair::scenario::{Gaps, network, scenario};
use mailwire_tests::pair::{MessageEnd, Side, Transcript, What};
use proptest::prelude::*;

/// One side's events without the message data chunks.
fn without_data(t: &Transcript, side: Side) -> Vec<mailwire_tests::pair::Entry> {
    t.side(side)
        .into_iter()
        .filter(|e| match &e.what {
            What::Server(ServerEvent::MessageData(_)) => false,
            What::Server(_) | What::Client(_) => true,
            _ => false,
        })
        .collect()
}

/// How each message ended, with its body when its data ended intact.
fn messages(t: &Transcript) -> Vec<(MessageEnd, Option<Vec<u8>>)> {
    t.server_messages()
        .into_iter()
        .map(|m| {
            let body = (!matches!(m.end, MessageEnd::Aborted(_))).then_some(m.body);
            (m.end, body)
        })
        .collect()
}

proptest! {
    #![proptest_config(mailwire_tests::proptest_config!(
        "pair_chunking",
        mailwire_tests::proptest_cases(256)
    ))]

    #[test]
    fn chunking_does_not_change_outcomes(
        scenario in scenario(Gaps { enabled: true }),
        first in network(),
        second in network(),
    ) {
        let run = |network| {
            scenario
                .run(network)
                .map_err(|f| TestCaseError::fail(f.to_string()))
        };
        let a = run(first)?;
        let b = run(second)?;
        for side in [Side::Server, Side::Client] {
            let (x, y) = (without_data(&a, side), without_data(&b, side));
            let first_difference = x.iter().zip(&y).position(|(p, q)| p != q);
            prop_assert!(
                x == y,
                "{side:?} differs at {first_difference:?} ({} vs {} entries)\n{a}\n----\n{b}",
                x.len(),
                y.len()
            );
        }
        prop_assert_eq!(messages(&a), messages(&b));
    }
}
