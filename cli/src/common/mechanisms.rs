//! The SASL mechanisms a client may use, as the command lines name them:
//! `send --auth MECH` and `relay --smarthost-auth MECH`.

use mailwire_core::sasl::Mechanism;

/// The mechanisms, in order of preference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mechanisms(pub Vec<Mechanism>);

/// Parses a mechanism list (`PLAIN`, `LOGIN,CRAM-MD5`).
///
/// # Errors
///
/// A sentence naming the unknown mechanism.
pub fn parse_mechanisms(text: &str) -> Result<Mechanisms, String> {
    text.split(',')
        .map(|name| {
            Mechanism::from_name(&name.trim().to_ascii_uppercase()).ok_or_else(|| {
                format!(
                    "{name:?} is not a mechanism mailwire speaks: PLAIN, LOGIN, CRAM-MD5, \
                     DIGEST-MD5, SCRAM-SHA-256, XOAUTH2"
                )
            })
        })
        .collect::<Result<_, _>>()
        .map(Mechanisms)
}
