//! Paths and parameters: parsing never panics, and what parses round-trips.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mailwire_core::wire::address::{ForwardPath, ReversePath};
use mailwire_core::wire::params::{MailParameters, RcptParameters};

fuzz_target!(|input: &[u8]| {
    if let Ok(path) = ReversePath::parse(input) {
        let mut out = Vec::new();
        path.write_to(&mut out);
        assert_eq!(ReversePath::parse(&out).expect("reparse"), path);
    }
    if let Ok(path) = ForwardPath::parse(input) {
        let mut out = Vec::new();
        path.write_to(&mut out);
        assert_eq!(ForwardPath::parse(&out).expect("reparse"), path);
    }
    if let Ok(params) = MailParameters::parse(input) {
        let mut out = Vec::new();
        params.write_to(&mut out);
        assert_eq!(MailParameters::parse(&out).expect("reparse"), params);
    }
    if let Ok(params) = RcptParameters::parse(input) {
        let mut out = Vec::new();
        params.write_to(&mut out);
        assert_eq!(RcptParameters::parse(&out).expect("reparse"), params);
    }
});
