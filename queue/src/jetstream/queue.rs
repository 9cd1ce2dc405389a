//! [`JetStreamQueue`]: accepts into the stream (the `250` follows
//! JetStream's publish acknowledgement) and runs this node's delivery
//! workers on the shared durable consumer.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use mailwire_driver::Runtime;
use mailwire_driver::client::ClientSettings;

use super::setup::{JetStreamSettings, connect};
use super::shared::Shared;
use super::worker::Worker;
use crate::deliver::Delivery;
use crate::{QueueError, QueueId, QueueSettings, QueuedEnvelope, RetrySchedule};

/// Deliveries beyond those the schedule allows, for those cut short by a
/// node that stopped (each redelivery counts).
const SPARE_DELIVERIES: i64 = 5;

/// The deliveries the schedule allows before `max_age`: the first at
/// once, each next after the schedule's wait, the last one at or past the
/// age (the one that gives up).
#[must_use]
pub fn allowed_deliveries(schedule: &RetrySchedule, max_age: Duration) -> i64 {
    let mut at = Duration::ZERO;
    let mut n: i64 = 1;
    while at < max_age && n < 100_000 {
        at += schedule.after_attempt(u32::try_from(n).unwrap_or(u32::MAX));
        n += 1;
    }
    n
}

/// A queue on a JetStream work-queue stream that any number of relay
/// nodes accept into and deliver from.
pub struct JetStreamQueue {
    shared: Arc<Shared>,
}

impl JetStreamQueue {
    /// Connects, creates the stream, the consumer, the key-value bucket
    /// and the object store when they are missing, and starts
    /// `settings.workers` delivery workers on `runtime`.
    ///
    /// # Errors
    ///
    /// The servers cannot be reached or refuse to create a resource.
    pub async fn start<R: Runtime>(
        jetstream: JetStreamSettings,
        runtime: R,
        settings: QueueSettings,
    ) -> Result<JetStreamQueue, QueueError> {
        let max_deliver =
            allowed_deliveries(&settings.schedule, settings.max_age) + SPARE_DELIVERIES;
        let keep = settings.max_age + Duration::from_secs(86_400);
        let res = connect(&jetstream, max_deliver, keep).await?;
        let salt = {
            use std::hash::{BuildHasher, Hasher};
            let mut h = std::collections::hash_map::RandomState::new().build_hasher();
            h.write_u32(std::process::id());
            (h.finish() & 0xFFFF_FFFF) as u32
        };
        let shared = Arc::new(Shared {
            res,
            ack_wait: jetstream.ack_wait,
            max_deliver,
            salt,
            possible_duplicates: AtomicU64::new(0),
            stopping: AtomicBool::new(false),
            busy: AtomicUsize::new(0),
            settings,
        });
        for _ in 0..shared.settings.workers.max(1) {
            let client: ClientSettings = shared.settings.client.clone();
            let worker = Worker {
                shared: shared.clone(),
                delivery: Delivery::new(
                    runtime.clone(),
                    shared.settings.smarthosts.clone(),
                    client,
                ),
            };
            runtime.spawn(worker.run());
        }
        Ok(JetStreamQueue { shared })
    }

    /// Queues an accepted message; returns once JetStream acknowledged
    /// it (give the `250` then).
    ///
    /// # Errors
    ///
    /// JetStream did not acknowledge it ([`QueueError::Full`]: no room).
    pub async fn accept(
        &self,
        envelope: QueuedEnvelope,
        message: Vec<u8>,
    ) -> Result<QueueId, QueueError> {
        self.shared.publish(envelope, message).await
    }

    /// Stops taking entries and waits (at most `grace`) for the
    /// deliveries under way to be recorded; returns the number still
    /// under way (their entries go to another node after the
    /// acknowledgement wait).
    pub async fn stop(&self, grace: Duration) -> usize {
        self.shared.stopping.store(true, Ordering::SeqCst);
        let deadline = std::time::Instant::now() + grace;
        loop {
            let busy = self.shared.busy.load(Ordering::SeqCst);
            if busy == 0 || std::time::Instant::now() >= deadline {
                return busy;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Deliveries since start after which a recipient may have got a
    /// second copy (see the module's documentation).
    #[must_use]
    pub fn possible_duplicates(&self) -> u64 {
        self.shared.possible_duplicates.load(Ordering::Relaxed)
    }

    /// The largest message the servers take in one piece (larger bodies
    /// go to the object store).
    #[must_use]
    pub fn max_payload(&self) -> usize {
        self.shared.res.max_payload
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deliveries_follow_the_schedule_up_to_the_age() {
        let s = RetrySchedule::parse("1m,5m").unwrap();
        // 0, 1m, 6m, 11m: the fourth is at the age of 10m or past it.
        assert_eq!(allowed_deliveries(&s, Duration::from_secs(600)), 4);
        assert_eq!(allowed_deliveries(&s, Duration::ZERO), 1);
    }
}
