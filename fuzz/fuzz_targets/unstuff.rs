//! The DATA unstuffer: never panics, never consumes past the terminator, and
//! its output does not depend on how the input is chunked.
#![no_main]

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use mailwire_core::wire::dot::{BodyPolicy, Unstuffer};

fn run(input: &[u8], step: usize) -> (Vec<u8>, usize, bool) {
    let mut unstuffer = Unstuffer::new(BodyPolicy::default());
    let mut out = BytesMut::new();
    let mut pos = 0;
    while pos < input.len() {
        let end = (pos + step).min(input.len());
        let chunk = &input[pos..end];
        let r = unstuffer.feed(chunk, &mut out);
        assert!(r.consumed <= chunk.len());
        pos += r.consumed;
        if r.done {
            return (out.to_vec(), pos, true);
        }
        // Until the terminator, every byte given is taken.
        assert_eq!(r.consumed, chunk.len());
    }
    (out.to_vec(), pos, false)
}

fuzz_target!(|input: &[u8]| {
    let Some((&step, body)) = input.split_first() else { return };
    let whole = run(body, body.len().max(1));
    let chunked = run(body, usize::from(step % 16).max(1));
    assert_eq!(whole, chunked);
});
