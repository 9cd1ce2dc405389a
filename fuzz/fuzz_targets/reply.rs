//! Replies: the incremental parser never panics, consumes what it says, and
//! every reply it yields serialises to bytes that parse back to it.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mailwire_core::wire::reply::{ReplyLimits, ReplyParser};

fuzz_target!(|input: &[u8]| {
    // The first byte picks a chunk size so that chunk boundaries are fuzzed too.
    let Some((&step, mut rest)) = input.split_first() else { return };
    let step = usize::from(step).max(1);
    let limits = ReplyLimits { max_line_len: 512, max_lines: 16, max_total: 4096 };
    let mut parser = ReplyParser::new(limits);
    while !rest.is_empty() {
        let chunk = &rest[..step.min(rest.len())];
        let (used, result) = parser.feed(chunk);
        assert!(used <= chunk.len());
        if let Some(Ok(reply)) = &result {
            let bytes = reply.to_bytes();
            let mut check = ReplyParser::new(ReplyLimits::default());
            let (n, again) = check.feed(&bytes);
            assert_eq!(n, bytes.len());
            assert_eq!(again.as_ref(), Some(&Ok(reply.clone())));
        }
        if used == 0 && result.is_none() {
            break;
        }
        rest = &rest[used..];
    }
});
