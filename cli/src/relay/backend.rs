//! Where `relay --queue` keeps its messages: a local spool directory, or
//! a JetStream stream shared by many relay nodes (`nats://…`).

use std::time::Duration;

use mailwire_queue::jetstream::JetStreamQueue;
use mailwire_queue::{Queue, QueueError, QueueId, QueuedEnvelope, Spool};

/// The running queue of `relay --queue`.
pub enum Backend {
    /// `--queue DIR`: this node's own spool.
    Spool(Queue<Spool>),
    /// `--queue nats://HOST:PORT/STREAM`: one queue for many nodes.
    JetStream(JetStreamQueue),
}

impl Backend {
    /// Queues an accepted message; returns once it is durable.
    pub async fn accept(
        &self,
        envelope: QueuedEnvelope,
        message: Vec<u8>,
    ) -> Result<QueueId, QueueError> {
        match self {
            Backend::Spool(queue) => queue.accept(envelope, message).await,
            Backend::JetStream(queue) => queue.accept(envelope, message).await,
        }
    }

    /// Free octets where messages are stored, when it is known (a local
    /// spool's file system).
    pub fn free_space(&self) -> Option<u64> {
        match self {
            Backend::Spool(queue) => queue.store().free_space().ok(),
            Backend::JetStream(_) => None,
        }
    }

    /// Stops delivering; the deliveries still under way after `grace`.
    pub async fn stop(&self, grace: Duration) -> usize {
        match self {
            Backend::Spool(queue) => queue.stop(grace).await,
            Backend::JetStream(queue) => queue.stop(grace).await,
        }
    }

    /// Deliveries since start that may have duplicated a message.
    pub fn possible_duplicates(&self) -> u64 {
        match self {
            Backend::Spool(queue) => queue.possible_duplicates(),
            Backend::JetStream(queue) => queue.possible_duplicates(),
        }
    }
}
