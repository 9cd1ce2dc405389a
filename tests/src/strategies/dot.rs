//! Strategies for `mailwire_core::wire::dot` (and `wire::line`): bodies full
//! of framing hazards, chunk plans, body policies.

use mailwire_core::wire::dot::{BareCr, BareLf, BodyPolicy};
use proptest::prelude::*;

/// One piece of a hazardous body.
fn piece() -> impl Strategy<Value = Vec<u8>> {
    const HAZARDS: &[&[u8]] = &[
        b".",
        b"..",
        b"\r",
        b"\n",
        b"\r\n",
        b"\r\n.\r\n",
        b".\r\n",
        b"\n.\n",
        b"\r.\r",
        b"\n.\r\n",
        b"\r.\r\n",
        b"\r\n.\n",
        b"\r\n.\r",
        b"\r\n..\r\n",
        b"\r\r\n",
        b"\n\r",
    ];
    prop_oneof![
        4 => prop::sample::select(HAZARDS).prop_map(<[u8]>::to_vec),
        2 => prop::collection::vec(b'a'..=b'z', 1..12),
        1 => prop::collection::vec(0x80u8..=0xff, 1..6),
        1 => prop::collection::vec(any::<u8>(), 1..8),
        1 => (prop::sample::select(&b"x.\r\n"[..]), 100usize..1500)
            .prop_map(|(b, n)| vec![b; n]),
        // Plain CRLF text long enough to fill the unstuffer's bulk blocks.
        1 => prop::collection::vec(prop::collection::vec(b'a'..=b'z', 0..90), 10..60)
            .prop_map(|lines| lines.join(&b"\r\n"[..])),
        1 => Just(Vec::new()),
    ]
}

/// A message body built from framing hazards: leading dots, bare CR and LF,
/// terminators inside the body, 8-bit bytes, long runs, or nothing at all.
pub fn hazardous_body() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(piece(), 0..24).prop_map(|pieces| pieces.concat())
}

/// How to cut a byte stream into chunks: a cycle of chunk lengths (zero
/// lengths give empty chunks).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChunkPlan(pub Vec<usize>);

impl ChunkPlan {
    /// The whole input as one chunk.
    pub fn whole() -> Self {
        Self(Vec::new())
    }

    /// Cuts `data` into chunks following the plan's cycle of lengths. The
    /// chunks concatenate to `data`; an empty plan (or one of zeros only)
    /// gives `data` whole, and empty `data` gives one empty chunk.
    pub fn split<'a>(&self, data: &'a [u8]) -> Vec<&'a [u8]> {
        if data.is_empty() || self.0.iter().all(|&n| n == 0) {
            return vec![data];
        }
        let mut chunks = Vec::new();
        let mut rest = data;
        for &n in self.0.iter().cycle() {
            if rest.is_empty() {
                break;
            }
            let (chunk, tail) = rest.split_at(n.min(rest.len()));
            chunks.push(chunk);
            rest = tail;
        }
        chunks
    }
}

/// Split points for feeding a stream: mostly tiny chunks (so that every state
/// meets a boundary), sometimes empty ones, sometimes large ones.
pub fn chunk_plan() -> impl Strategy<Value = ChunkPlan> {
    let len = prop_oneof![
        6 => 1usize..4,
        3 => 4usize..32,
        1 => Just(0usize),
        1 => 32usize..2048,
    ];
    prop_oneof![
        1 => Just(ChunkPlan::whole()),
        6 => prop::collection::vec(len, 1..8).prop_map(ChunkPlan),
    ]
}

/// Any server body policy.
pub fn body_policy() -> impl Strategy<Value = BodyPolicy> {
    (
        prop::sample::select(&[BareLf::Normalize, BareLf::Reject][..]),
        prop::sample::select(&[BareCr::Keep, BareCr::Normalize, BareCr::Reject][..]),
        prop::option::of(0usize..40),
        any::<bool>(),
    )
        .prop_map(|(bare_lf, bare_cr, max_line_len, reject_nul)| BodyPolicy {
            bare_lf,
            bare_cr,
            max_line_len,
            reject_nul,
        })
}
