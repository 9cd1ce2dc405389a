//! Command lines: parsing never panics, and whatever parses serialises to a
//! line that parses back to the same command.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mailwire_core::wire::command::Command;

fuzz_target!(|line: &[u8]| {
    if let Ok(cmd) = Command::parse(line) {
        let bytes = cmd.to_bytes();
        let again = Command::parse(&bytes[..bytes.len() - 2]).expect("serialised command parses");
        assert_eq!(again, cmd);
    }
});
