//! [`Shared`]: what the acceptance and this node's delivery workers
//! share, and the publish into the stream.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize};
use std::time::Duration;

use async_nats::jetstream::context::PublishErrorKind;
use async_nats::jetstream::message::PublishMessage;

use super::record::{Head, encode};
use super::setup::Resources;
use crate::{QueueError, QueueId, QueueSettings, QueuedEnvelope};

/// Room kept in a message for its head and headers: a body larger than
/// the server's payload limit less this goes to the object store.
const HEAD_ROOM: usize = 16 * 1024;

/// How long a publish is tried again (with the same message id) before
/// the client is answered `451`.
const PUBLISH_PATIENCE: Duration = Duration::from_secs(20);

/// What the workers and the acceptance share.
pub(crate) struct Shared {
    pub res: Resources,
    pub settings: QueueSettings,
    pub ack_wait: Duration,
    /// The consumer's last allowed delivery: it gives up and reports.
    pub max_deliver: i64,
    /// Mixed into this node's queue ids (ids must not collide across
    /// nodes).
    pub(super) salt: u32,
    pub possible_duplicates: AtomicU64,
    pub stopping: AtomicBool,
    pub busy: AtomicUsize,
}

impl Shared {
    pub(crate) fn log(&self, line: &str) {
        (self.settings.log)(line);
    }

    /// Publishes an entry and returns once JetStream acknowledged it (on a
    /// replicated stream: once its quorum has it).
    pub(crate) async fn publish(
        &self,
        envelope: QueuedEnvelope,
        message: Vec<u8>,
    ) -> Result<QueueId, QueueError> {
        let id = QueueId::parse(&format!("{}{:08X}", QueueId::generate(), self.salt))
            .expect("a generated id parses");
        let mut head = Head {
            id: id.to_string(),
            envelope,
            size: message.len() as u64,
            object: None,
        };
        let inline = message.len() + HEAD_ROOM <= self.res.max_payload;
        let payload = if inline {
            encode(&head, Some(&message))
        } else {
            let name = id.to_string();
            self.res
                .bodies
                .put(name.as_str(), &mut message.as_slice())
                .await
                .map_err(|e| {
                    QueueError::Failed(format!("cannot store the body in the object store: {e}"))
                })?;
            head.object = Some(name);
            encode(&head, None)
        };
        let payload = bytes::Bytes::from(payload);
        // A publish whose acknowledgement was lost is sent again with the
        // same message id (JetStream keeps one copy), for a while: a
        // cluster electing a new leader answers again within seconds, and
        // a 4xx after a publish that did land would make the client send
        // a second copy.
        let deadline = std::time::Instant::now() + PUBLISH_PATIENCE;
        let mut last;
        loop {
            let publish = PublishMessage::build()
                .message_id(id.as_str())
                .payload(payload.clone());
            let sent = match self
                .res
                .js
                .send_publish(self.res.subject.clone(), publish)
                .await
            {
                Ok(ack) => ack.await.map(|_| ()).map_err(|e| e.to_string()),
                Err(e) if e.kind() == PublishErrorKind::MaxPayloadExceeded => {
                    return Err(QueueError::Failed(format!(
                        "the message does not fit in a JetStream message: {e}"
                    )));
                }
                Err(e) => Err(e.to_string()),
            };
            match sent {
                Ok(()) => return Ok(id),
                Err(e) => last = e,
            }
            if std::time::Instant::now() >= deadline {
                break;
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        if let Some(name) = &head.object {
            let _ = self.res.bodies.delete(name).await;
        }
        if last.contains("insufficient resources") || last.contains("maximum bytes") {
            return Err(QueueError::Full(format!("JetStream refused it: {last}")));
        }
        Err(QueueError::Failed(format!(
            "JetStream did not acknowledge the message: {last}"
        )))
    }
}
