//! The simulated network between the two connections: two byte queues that
//! keep TCP's order, release bytes in reads of planned or seeded sizes after
//! planned or seeded delays, and can break the connection at any byte.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use bytes::Bytes;

/// A small deterministic random generator (SplitMix64) for the seeded
/// parts of a simulation. Not for secrets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimRng(u64);

impl SimRng {
    /// A generator that yields the same numbers for the same seed.
    #[must_use]
    pub fn new(seed: u64) -> SimRng {
        SimRng(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`0` when `n` is 0).
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.next_u64() % n }
    }
}

/// Which way bytes travel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// From the client to the server (commands, message data).
    ClientToServer,
    /// From the server to the client (replies).
    ServerToClient,
}

/// How one direction of the connection delivers bytes.
///
/// Bytes always arrive in the order they were written (TCP order). Each
/// write becomes readable `latency` (plus a seeded jitter) after it was
/// made, never before an earlier write; each read takes the next planned
/// number of readable bytes.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LinkPlan {
    /// Sizes of successive reads, used in a cycle. Empty (the default), or
    /// a `0` in the cycle: the read takes everything readable.
    pub reads: Vec<usize>,
    /// When set, each read's size is drawn from `1..=max` instead (seeded).
    pub random_reads: Option<usize>,
    /// Delay of every write.
    pub latency: Duration,
    /// Extra delay per write, drawn from `0..=jitter` (seeded).
    pub jitter: Duration,
    /// Seed for `random_reads` and `jitter`.
    pub seed: u64,
}

impl LinkPlan {
    /// Every read takes everything that has arrived; no delay.
    #[must_use]
    pub fn whole() -> LinkPlan {
        LinkPlan::default()
    }

    /// Reads of these sizes, in a cycle (`[1]`: one byte at a time); no
    /// delay.
    #[must_use]
    pub fn reads(sizes: impl Into<Vec<usize>>) -> LinkPlan {
        LinkPlan {
            reads: sizes.into(),
            ..LinkPlan::default()
        }
    }

    /// Reads of seeded sizes in `1..=max_read`, writes delayed by a seeded
    /// `0..=max_delay`.
    #[must_use]
    pub fn seeded(seed: u64, max_read: usize, max_delay: Duration) -> LinkPlan {
        LinkPlan {
            reads: Vec::new(),
            random_reads: Some(max_read.max(1)),
            latency: Duration::ZERO,
            jitter: max_delay,
            seed,
        }
    }
}

/// Where the connection breaks: once `after` bytes have been delivered in
/// `direction`, nothing more arrives either way and both sides see the end
/// of the stream (a reset, a crash, a cable pulled).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cut {
    /// The direction whose byte count decides.
    pub direction: Direction,
    /// Bytes delivered in that direction before the break.
    pub after: u64,
}

/// The whole network of a [`Pair`](super::Pair): one plan per direction,
/// an optional break, and a seed for the scheduler's choices (which ready
/// direction is read first).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Network {
    /// Client to server.
    pub client_to_server: LinkPlan,
    /// Server to client.
    pub server_to_client: LinkPlan,
    /// Break the connection at this byte.
    pub cut: Option<Cut>,
    /// `Some(seed)`: when both directions have bytes ready, a seeded choice
    /// says which is read first; `None`: replies first.
    pub scheduler_seed: Option<u64>,
}

impl Network {
    /// Both directions with the same plan.
    #[must_use]
    pub fn symmetric(plan: LinkPlan) -> Network {
        Network {
            client_to_server: plan.clone(),
            server_to_client: LinkPlan {
                seed: plan.seed.wrapping_add(1),
                ..plan
            },
            cut: None,
            scheduler_seed: None,
        }
    }

    /// The same network, broken at `cut`.
    #[must_use]
    pub fn with_cut(mut self, cut: Cut) -> Network {
        self.cut = Some(cut);
        self
    }
}

/// One direction in flight.
#[derive(Debug)]
pub(crate) struct Link {
    plan: LinkPlan,
    rng: SimRng,
    /// Writes not yet fully read: when readable, and the bytes.
    queue: VecDeque<(Instant, Bytes)>,
    /// Next entry of `plan.reads`.
    next_read: usize,
    /// The writer closed: end of stream once the queue is empty.
    pub(crate) fin: bool,
    /// The reader has been given the end of stream.
    pub(crate) eof_given: bool,
    /// Bytes written into the link.
    pub(crate) written: u64,
    /// Bytes handed to the reader.
    pub(crate) delivered: u64,
    /// When the last write becomes readable (to keep order).
    last_ready: Option<Instant>,
}

impl Link {
    pub(crate) fn new(plan: LinkPlan) -> Link {
        let rng = SimRng::new(plan.seed);
        Link {
            plan,
            rng,
            queue: VecDeque::new(),
            next_read: 0,
            fin: false,
            eof_given: false,
            written: 0,
            delivered: 0,
            last_ready: None,
        }
    }

    /// Queues a write made at `now`.
    pub(crate) fn write(&mut self, now: Instant, bytes: Bytes) {
        if bytes.is_empty() || self.fin {
            return;
        }
        let jitter = if self.plan.jitter.is_zero() {
            Duration::ZERO
        } else {
            let nanos = u64::try_from(self.plan.jitter.as_nanos()).unwrap_or(u64::MAX);
            Duration::from_nanos(self.rng.below(nanos.saturating_add(1)))
        };
        let mut ready = now + self.plan.latency + jitter;
        if let Some(last) = self.last_ready {
            ready = ready.max(last);
        }
        self.last_ready = Some(ready);
        self.written += bytes.len() as u64;
        self.queue.push_back((ready, bytes));
    }

    /// When the next bytes become readable, if any are queued.
    pub(crate) fn next_ready(&self) -> Option<Instant> {
        self.queue.front().map(|(at, _)| *at)
    }

    /// Whether bytes are readable at `now`.
    pub(crate) fn has_ready(&self, now: Instant) -> bool {
        self.next_ready().is_some_and(|at| at <= now)
    }

    /// Whether everything written has been read.
    pub(crate) fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }

    /// One read at `now`: at most the planned size, at most `limit` bytes.
    pub(crate) fn read(&mut self, now: Instant, limit: u64) -> Bytes {
        let want = match self.plan.random_reads {
            Some(max) => 1 + usize::try_from(self.rng.below(max as u64)).unwrap_or(0),
            None if self.plan.reads.is_empty() => usize::MAX,
            None => {
                let n = self.plan.reads[self.next_read % self.plan.reads.len()];
                self.next_read = self.next_read.wrapping_add(1);
                if n == 0 { usize::MAX } else { n }
            }
        };
        let want = want.min(usize::try_from(limit).unwrap_or(usize::MAX));
        let mut out = Vec::new();
        while out.len() < want {
            let Some((at, front)) = self.queue.front_mut() else {
                break;
            };
            if *at > now {
                break;
            }
            let take = (want - out.len()).min(front.len());
            out.extend_from_slice(&front.split_to(take));
            if front.is_empty() {
                self.queue.pop_front();
            }
        }
        self.delivered += out.len() as u64;
        Bytes::from(out)
    }

    /// Drops everything in flight; returns how many bytes were dropped.
    pub(crate) fn drop_in_flight(&mut self) -> usize {
        let n = self.queue.iter().map(|(_, b)| b.len()).sum();
        self.queue.clear();
        n
    }
}
