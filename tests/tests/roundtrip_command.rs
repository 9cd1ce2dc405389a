//! Command lines round-trip: `parse(serialise(c)) == c` for every command,
//! and the parser never panics on arbitrary lines.

use mailwire_core::wire::command::{Command, CommandErrorKind};
use mailwire_tests::strategies::command::command;
use proptest::prelude::*;

proptest! {
    #![proptest_config(mailwire_tests::proptest_config!("roundtrip_command", 1024))]

    #[test]
    fn parse_of_serialise_is_identity(cmd in command()) {
        let bytes = cmd.to_bytes();
        prop_assert!(bytes.ends_with(b"\r\n"));
        let line = &bytes[..bytes.len() - 2];
        // One line: no CR or LF inside, whatever the arguments were.
        prop_assert!(!line.contains(&b'\r') && !line.contains(&b'\n'));
        prop_assert_eq!(Command::parse(line), Ok(cmd));
    }

    #[test]
    fn verbs_parse_in_any_case(cmd in command(), flips in proptest::collection::vec(any::<bool>(), 8)) {
        let bytes = cmd.to_bytes();
        let line = &bytes[..bytes.len() - 2];
        let verb_len = cmd.verb().as_str().len();
        let mut mixed = line.to_vec();
        for (b, flip) in mixed[..verb_len].iter_mut().zip(flips.iter().cycle()) {
            if *flip { b.make_ascii_lowercase(); }
        }
        prop_assert_eq!(Command::parse(&mixed), Ok(cmd));
    }

    #[test]
    fn arbitrary_lines_never_panic_and_reparse(line in proptest::collection::vec(any::<u8>(), 0..300)) {
        if let Ok(cmd) = Command::parse(&line) {
            let bytes = cmd.to_bytes();
            prop_assert_eq!(Command::parse(&bytes[..bytes.len() - 2]), Ok(cmd));
        }
    }

    #[test]
    fn injected_line_ends_are_refused(cmd in command(), at in any::<prop::sample::Index>(), cr in any::<bool>()) {
        let bytes = cmd.to_bytes();
        let mut line = bytes[..bytes.len() - 2].to_vec();
        let i = at.index(line.len() + 1);
        line.insert(i, if cr { b'\r' } else { b'\0' });
        let err = Command::parse(&line).expect_err("a control byte never parses");
        prop_assert!(matches!(err.kind(), CommandErrorKind::ForbiddenByte(_)));
    }
}
