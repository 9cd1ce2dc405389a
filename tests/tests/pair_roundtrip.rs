//! Property 1, round trip: both roles against each other over a network
//! that cuts every write into reads of any size. Every message the server
//! receives intact is byte-identical to the client's body after the
//! documented normalisation, with the client's envelope (DATA and BDAT
//! alike); every outcome the client reports is honest (sent only if the
//! server application accepted it, not sent only if it did not, unknown
//! only when the connection ended between the end of the data and its
//! reply).

use mailwire_tests::pair::check;
use mailwire_tests::pair::scenario::{Gaps, network, scenario};
use proptest::prelude::*;

proptest! {
    #![proptest_config(mailwire_tests::proptest_config!(
        "pair_roundtrip",
        mailwire_tests::proptest_cases(256)
    ))]

    #[test]
    fn messages_round_trip_and_outcomes_are_honest(
        scenario in scenario(Gaps { enabled: true }),
        network in network(),
    ) {
        let transcript = scenario
            .run(network)
            .map_err(|f| TestCaseError::fail(f.to_string()))?;
        check::round_trip(&transcript)
            .and_then(|()| check::honest_outcomes(&transcript))
            .map_err(|v| TestCaseError::fail(format!("{v}\n{transcript}")))?;
    }
}
