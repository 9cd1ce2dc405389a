//! Shared helpers for mailwire's property and integration tests.
//!
//! Proptest failures are persisted to the workspace's top-level
//! `proptest-regressions/` directory (see [`proptest_config!`]).

pub mod certs;
pub mod strategies;

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
