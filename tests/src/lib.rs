//! Shared helpers for mailwire's property and integration tests, and
//! [`pair`]: the public deterministic-simulation harness that runs a
//! client and a server connection against each other in memory, under a
//! virtual clock and a simulated (and breakable) network, driving your own
//! application logic.
//!
//! Proptest failures are persisted to the workspace's top-level
//! `proptest-regressions/` directory (see [`proptest_config!`]); the number
//! of cases of the heavier properties comes from the
//! `MAILWIRE_PROPTEST_CASES` environment variable (see [`proptest_cases`]).

/// Test certificates (a CA and a server certificate), from the test server.
pub mod certs {
    pub use mailwire_test_server::TestPki;
}
pub mod pair;
pub mod strategies;

/// The environment variable that sets the number of cases of the
/// properties that use [`proptest_cases`]: CI sets it to 2000 or more.
pub const CASES_VAR: &str = "MAILWIRE_PROPTEST_CASES";

/// The number of proptest cases to run: the value of
/// `MAILWIRE_PROPTEST_CASES` when it is set to a number (CI), else `local`
/// (a quick run on a developer's machine).
///
/// ```
/// let config = mailwire_tests::proptest_config!("doc_cases", mailwire_tests::proptest_cases(64));
/// assert!(config.cases >= 1);
/// ```
#[must_use]
pub fn proptest_cases(local: u32) -> u32 {
    std::env::var(CASES_VAR)
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(local)
}

/// A proptest configuration whose failures are written to
/// `proptest-regressions/<name>.txt` at the top of the workspace.
///
/// ```
/// let config = mailwire_tests::proptest_config!("doc_example", 16);
/// assert_eq!(config.cases, 16);
/// ```
#[macro_export]
macro_rules! proptest_config {
    ($name:literal, $cases:expr) => {
        ::proptest::test_runner::Config {
            cases: $cases,
            failure_persistence: Some(Box::new(
                ::proptest::test_runner::FileFailurePersistence::Direct(concat!(
                    env!("CARGO_MANIFEST_DIR"),
                    "/../proptest-regressions/",
                    $name,
                    ".txt"
                )),
            )),
            ..::proptest::test_runner::Config::default()
        }
    };
}
