//! The table of deadlines both roles keep: at most one deadline per slot of
//! a role's deadline kind, the earliest, and which has passed.

use std::time::{Duration, Instant};

/// A role's kind of deadline.
pub(crate) trait DeadlineKind: Copy {
    /// The kind's place in the table. Kinds that share a slot replace each
    /// other; slots are in order of precedence (the first wins a tie, and
    /// among passed deadlines [`Timers::expired`] names the first).
    fn slot(self) -> usize;

    /// While a deadline of this kind is set, it is the only one reported
    /// and checked (the first such slot wins): the others wait.
    fn masks_others(self) -> bool {
        false
    }
}

/// The deadlines a connection keeps, `N` slots of kind `K`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Timers<K, const N: usize> {
    slots: [Option<(Instant, K)>; N],
}

impl<K: DeadlineKind, const N: usize> Default for Timers<K, N> {
    fn default() -> Self {
        Timers { slots: [None; N] }
    }
}

impl<K: DeadlineKind, const N: usize> Timers<K, N> {
    /// Sets `kind`'s deadline (replacing its slot's).
    pub(crate) fn set(&mut self, kind: K, at: Instant) {
        self.set_opt(kind, Some(at));
    }

    /// Sets `kind`'s deadline, or clears its slot for `None`.
    pub(crate) fn set_opt(&mut self, kind: K, at: Option<Instant>) {
        if let Some(slot) = self.slots.get_mut(kind.slot()) {
            *slot = at.map(|at| (at, kind));
        }
    }

    /// Clears `kind`'s slot.
    pub(crate) fn clear(&mut self, kind: K) {
        self.set_opt(kind, None);
    }

    /// Clears every slot.
    pub(crate) fn clear_all(&mut self) {
        self.slots = [None; N];
    }

    /// What `kind`'s slot holds.
    pub(crate) fn get(&self, kind: K) -> Option<(Instant, K)> {
        self.slots.get(kind.slot()).copied().flatten()
    }

    /// The first set deadline that masks the others.
    fn masking(&self) -> Option<(Instant, K)> {
        self.slots
            .iter()
            .flatten()
            .find(|(_, kind)| kind.masks_others())
            .copied()
    }

    /// The one deadline to arm: a masking one, else the earliest (the
    /// first slot on a tie).
    pub(crate) fn earliest(&self) -> Option<(Instant, K)> {
        if let Some(masking) = self.masking() {
            return Some(masking);
        }
        let mut best: Option<(Instant, K)> = None;
        for &(at, kind) in self.slots.iter().flatten() {
            if best.is_none_or(|(b, _)| at < b) {
                best = Some((at, kind));
            }
        }
        best
    }

    /// The deadline that has passed at `now`: a masking one's alone, else
    /// the first passed in slot order.
    pub(crate) fn expired(&self, now: Instant) -> Option<K> {
        if let Some((at, kind)) = self.masking() {
            return (now >= at).then_some(kind);
        }
        self.slots
            .iter()
            .flatten()
            .find(|(at, _)| now >= *at)
            .map(|&(_, kind)| kind)
    }
}

/// `now + d`, saturating far in the future instead of panicking on an
/// absurd configured duration.
pub(crate) fn after(now: Instant, d: Duration) -> Instant {
    now.checked_add(d)
        .or_else(|| now.checked_add(Duration::from_secs(100 * 365 * 24 * 3600)))
        .unwrap_or(now)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    enum Kind {
        Gate,
        A,
        B(u8),
    }

    impl DeadlineKind for Kind {
        fn slot(self) -> usize {
            match self {
                Kind::Gate => 0,
                Kind::A => 1,
                Kind::B(_) => 2,
            }
        }

        fn masks_others(self) -> bool {
            self == Kind::Gate
        }
    }

    /// A fixed start: the core never reads the clock.
    fn t0() -> Instant {
        #[allow(clippy::disallowed_methods)]
        Instant::now()
    }

    #[test]
    fn earliest_first_on_a_tie_and_masked_by_a_gate() {
        let t0 = t0();
        let s = Duration::from_secs(1);
        let mut timers: Timers<Kind, 3> = Timers::default();
        assert_eq!(timers.earliest(), None);
        timers.set(Kind::B(1), t0 + s);
        timers.set(Kind::A, t0 + s);
        assert_eq!(timers.earliest(), Some((t0 + s, Kind::A)));
        timers.set(Kind::B(2), t0);
        assert_eq!(timers.earliest(), Some((t0, Kind::B(2))));
        assert_eq!(timers.get(Kind::B(0)), Some((t0, Kind::B(2))));
        timers.set(Kind::Gate, t0 + 9 * s);
        assert_eq!(timers.earliest(), Some((t0 + 9 * s, Kind::Gate)));
        assert_eq!(timers.expired(t0 + 2 * s), None);
        assert_eq!(timers.expired(t0 + 9 * s), Some(Kind::Gate));
        timers.clear(Kind::Gate);
        // Both passed: the first slot is named, not the earliest.
        assert_eq!(timers.expired(t0 + 2 * s), Some(Kind::A));
        assert_eq!(timers.expired(t0), Some(Kind::B(2)));
        timers.clear_all();
        assert_eq!(timers.expired(t0 + 9 * s), None);
    }

    #[test]
    fn an_absurd_duration_saturates() {
        let t0 = t0();
        assert!(after(t0, Duration::MAX) > t0);
    }
}
