//! Strategies for `mailwire_core::wire::command`.

use mailwire_core::wire::command::{Command, InitialResponse, Mechanism, Text};
use proptest::prelude::*;

use super::address::{domain, forward_path, reverse_path};
use super::params::{mail_parameters, rcpt_parameters};

/// Free text for NOOP/VRFY/EXPN/HELP: printable, UTF-8 included, no control
/// characters, no leading or trailing space.
pub fn text() -> impl Strategy<Value = Text> {
    "[!-~\u{a0}-\u{2fff}]([ -~\u{a0}-\u{2fff}]{0,40}[!-~\u{a0}-\u{2fff}])?"
        .prop_map(|s| Text::new(s).expect("strategy makes valid text"))
}

/// SASL mechanism names.
pub fn mechanism() -> impl Strategy<Value = Mechanism> {
    prop_oneof![
        Just("PLAIN".to_string()),
        Just("LOGIN".to_string()),
        Just("CRAM-MD5".to_string()),
        Just("SCRAM-SHA-256".to_string()),
        "[A-Za-z0-9_-]{1,20}",
    ]
    .prop_map(|s| Mechanism::new(&s).expect("strategy makes valid mechanisms"))
}

/// AUTH initial responses.
pub fn initial_response() -> impl Strategy<Value = InitialResponse> {
    prop_oneof![
        Just(InitialResponse::Empty),
        "[A-Za-z0-9+/]{1,60}={0,2}".prop_map(|s| InitialResponse::base64(s).expect("base64 text")),
    ]
}

/// Every command, with arguments drawn from the codec strategies.
pub fn command() -> impl Strategy<Value = Command> {
    prop_oneof![
        domain().prop_map(Command::Ehlo),
        domain().prop_map(Command::Helo),
        domain().prop_map(Command::Lhlo),
        (reverse_path(), mail_parameters())
            .prop_map(|(from, params)| Command::Mail { from, params }),
        (forward_path(), rcpt_parameters()).prop_map(|(to, params)| Command::Rcpt { to, params }),
        Just(Command::Data),
        (any::<u64>(), any::<bool>()).prop_map(|(size, last)| Command::Bdat { size, last }),
        Just(Command::Rset),
        proptest::option::of(text()).prop_map(Command::Noop),
        Just(Command::Quit),
        text().prop_map(Command::Vrfy),
        text().prop_map(Command::Expn),
        proptest::option::of(text()).prop_map(Command::Help),
        Just(Command::StartTls),
        (mechanism(), proptest::option::of(initial_response())).prop_map(
            |(mechanism, initial_response)| Command::Auth {
                mechanism,
                initial_response
            }
        ),
    ]
}
