//! Deterministic simulation with faults: a seeded scheduler delays every
//! write (TCP order always holds), cuts the bytes into reads of seeded
//! sizes, picks which direction is read first, and breaks the connection at
//! any byte of either direction. Whatever happens:
//!
//! * a broken connection never yields "sent" on the client for a message
//!   the server did not accept, nor "not sent" for one it accepted;
//! * the server never hands a cut-off message to delivery as complete
//!   (every message whose data ended intact is the client's whole body);
//! * recipient results still line up with the server's verdicts and the
//!   send policy still holds on the wire;
//! * the same seed gives the same run, byte for byte.

use std::time::Duration;

use mailwire_tests::pair::scenario::{Gaps, scenario, seeded_network};
use mailwire_tests::pair::{Cut, Direction, check};
use proptest::prelude::*;

proptest! {
    #![proptest_config(mailwire_tests::proptest_config!(
        "pair_faults",
        mailwire_tests::proptest_cases(256)
    ))]

    #[test]
    fn a_broken_connection_never_lies(
        scenario in scenario(Gaps { enabled: true }),
        network in seeded_network(Duration::from_millis(1500)),
        to_server in any::<bool>(),
        fraction in 0.0f64..=1.0,
    ) {
        let run = |network| {
            scenario
                .run(network)
                .map_err(|f| TestCaseError::fail(f.to_string()))
        };
        // A clean run measures the streams; the faulty one breaks at a
        // fraction of one of them.
        let clean = run(network.clone())?;
        let (direction, total) = if to_server {
            (Direction::ClientToServer, clean.wire.server_received.len())
        } else {
            (Direction::ServerToClient, clean.wire.client_received.len())
        };
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss, clippy::cast_precision_loss)]
        let after = (total as f64 * fraction) as u64;
        let faulty = network.with_cut(Cut { direction, after });
        let broken = run(faulty.clone())?;
        check::all(&broken).map_err(|v| TestCaseError::fail(format!("{v}\n{broken}")))?;
        check::all(&clean).map_err(|v| TestCaseError::fail(format!("{v}\n{clean}")))?;
        let again = run(faulty)?;
        prop_assert!(again == broken, "the same seed gave another run");
    }
}
