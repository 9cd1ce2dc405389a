//! Property 5, STARTTLS injection (RFC 3207 §5, CVE-2011-0411): bytes a
//! malicious client sends behind `STARTTLS`, or a malicious server behind
//! its `220`, in the same write, never produce anything after the upgrade.
//! The same scenario run with and without the injection gives exactly the
//! same events on both sides, and nothing the attacker named ever shows up
//! in an event.

use mailwire_tests::pair::scenario::{ClientTls, Gaps, StartTls, network, scenario};
use mailwire_tests::pair::{Injection, Side, What};
use proptest::prelude::*;

/// What a man in the middle (or a malicious peer) slips in behind the
/// switch: whole commands or replies, pieces of them, arbitrary bytes.
fn client_injection() -> impl Strategy<Value = Vec<u8>> {
    let payloads: Vec<&'static [u8]> = vec![
        b"EHLO EVIL7.example\r\n",
        b"MAIL FROM:<EVIL7@EVIL7.example>\r\nRCPT TO:<victim@example.org>\r\nDATA\r\n",
        b"RSET\r\n",
        b"QUIT\r\n",
        b"AUTH PLAIN AHVzZXIAcGVuY2ls\r\n",
        b"NOOP\r\n",
        b"STARTTLS\r\n",
        b"\r\n.\r\n",
    ];
    prop_oneof![
        4 => prop::collection::vec(prop::sample::select(payloads), 1..4).prop_map(|p| p.concat()),
        1 => prop::collection::vec(any::<u8>(), 1..64),
    ]
}

fn server_injection() -> impl Strategy<Value = Vec<u8>> {
    let payloads: Vec<&'static [u8]> = vec![
        b"250-EVIL7.example\r\n250 AUTH PLAIN\r\n",
        b"250 2.0.0 EVIL7 ok\r\n",
        b"221 2.0.0 EVIL7 bye\r\n",
        b"354 EVIL7 go ahead\r\n",
        b"421 4.3.2 EVIL7 closing\r\n",
        b"535 5.7.8 EVIL7 no\r\n",
        b"220 EVIL7 ready\r\n",
    ];
    prop_oneof![
        4 => prop::collection::vec(prop::sample::select(payloads), 1..4).prop_map(|p| p.concat()),
        1 => prop::collection::vec(any::<u8>(), 1..64),
    ]
}

proptest! {
    #![proptest_config(mailwire_tests::proptest_config!(
        "pair_starttls",
        mailwire_tests::proptest_cases(256)
    ))]

    #[test]
    fn nothing_injected_at_starttls_is_processed(
        mut scenario in scenario(Gaps { enabled: false }),
        network in network(),
        required in any::<bool>(),
        client_required in prop::bool::weighted(0.3),
        from_client in prop::option::of(client_injection()),
        from_server in prop::option::of(server_injection()),
    ) {
        scenario.setup.starttls = if required { StartTls::Required } else { StartTls::Offered };
        scenario.setup.client_tls =
            if client_required { ClientTls::Required } else { ClientTls::Opportunistic };
        scenario.setup.implicit_tls = false;
        let injection = Injection {
            after_starttls: from_client.unwrap_or_default(),
            after_220: from_server.unwrap_or_default(),
        };
        let mut clean = scenario.pair(network.clone());
        clean.run().map_err(|e| TestCaseError::fail(format!("{e}\n{}", clean.transcript())))?;
        let mut attacked = scenario.pair(network).with_injection(injection);
        attacked
            .run()
            .map_err(|e| TestCaseError::fail(format!("{e}\n{}", attacked.transcript())))?;
        let (a, b) = (clean.transcript(), attacked.transcript());
        for side in [Side::Server, Side::Client] {
            let (x, y) = (a.side(side), b.side(side));
            let first_difference = x.iter().zip(&y).position(|(p, q)| p != q);
            prop_assert!(
                x == y,
                "{side:?} differs at {first_difference:?}\n{a}\n---- attacked:\n{b}"
            );
        }
        let switched = |t: &mailwire_tests::pair::Transcript| {
            t.entries.iter().any(|e| matches!(e.what, What::TlsSwitched { .. }))
        };
        prop_assert_eq!(switched(a), switched(b));
        for (_, event) in b.server_events() {
            prop_assert!(!format!("{event:?}").contains("EVIL7"), "{event:?}\n{b}");
        }
        for (_, event) in b.client_events() {
            prop_assert!(!format!("{event:?}").contains("EVIL7"), "{event:?}\n{b}");
        }
    }
}
