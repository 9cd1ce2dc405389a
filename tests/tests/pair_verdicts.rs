//! Property 3, verdicts line up: each recipient result the client reports
//! is the server application's verdict for that RCPT (or the server core's
//! own refusal, never an acceptance), recipients deferred with `452 4.5.3`
//! are retried in a further transaction, and when the send policy says not
//! to send, no BDAT chunk or DATA body reaches the server (only the DATA
//! that RFC 2920 lets a client pipeline, which the server refuses).

use mailwire_tests::pair::check;
use mailwire_tests::pair::scenario::{Gaps, network, scenario};
use proptest::prelude::*;

proptest! {
    #![proptest_config(mailwire_tests::proptest_config!(
        "pair_verdicts",
        mailwire_tests::proptest_cases(256)
    ))]

    #[test]
    fn verdicts_line_up_and_the_send_policy_holds(
        scenario in scenario(Gaps { enabled: true }),
        network in network(),
    ) {
        let transcript = scenario
            .run(network)
            .map_err(|f| TestCaseError::fail(f.to_string()))?;
        check::verdicts_line_up(&transcript)
            .and_then(|()| check::send_policy_respected(&transcript))
            .map_err(|v| TestCaseError::fail(format!("{v}\n{transcript}")))?;
    }
}
