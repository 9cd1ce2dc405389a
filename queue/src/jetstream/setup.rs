//! Connecting, and creating what the queue needs when it is missing: the
//! work-queue stream, its durable consumer, the key-value bucket of
//! per-recipient state and the object store of large bodies.

use std::time::Duration;

use async_nats::jetstream::{self, consumer, kv, object_store, stream};

use super::address::{JetStreamAddress, NatsAuth};
use crate::QueueError;

/// The durable consumer every node pulls from.
const CONSUMER: &str = "mailwire-delivery";

/// How the JetStream resources are made.
#[derive(Debug, Clone)]
pub struct JetStreamSettings {
    /// Servers and stream.
    pub address: JetStreamAddress,
    /// Copies of the stream, the bucket and the object store (1 on a
    /// single server, 3 on a three-node cluster). Only used when they are
    /// created.
    pub replicas: usize,
    /// How long a delivery may go without an acknowledgement before the
    /// entry goes to another node (in-progress acknowledgements are sent
    /// every third of it while a delivery runs). Only used when the
    /// consumer is created.
    pub ack_wait: Duration,
}

/// The connected resources.
pub(crate) struct Resources {
    pub js: jetstream::Context,
    pub consumer: consumer::PullConsumer,
    pub state: kv::Store,
    /// The bucket's stream, read through its leader (a direct get may be
    /// answered by a replica that lags behind).
    pub state_stream: stream::Stream,
    pub bodies: object_store::ObjectStore,
    pub subject: String,
    /// The largest message the servers take.
    pub max_payload: usize,
}

fn failed(what: &str, e: impl std::fmt::Display) -> QueueError {
    QueueError::Failed(format!("{what}: {e}"))
}

/// Connects and creates what is missing; `max_deliver` is the consumer's
/// limit of deliveries per entry, `keep` how long state and bodies are
/// kept at most (beyond the queue's maximum age).
pub(crate) async fn connect(
    settings: &JetStreamSettings,
    max_deliver: i64,
    keep: Duration,
) -> Result<Resources, QueueError> {
    let address = &settings.address;
    let options = match &address.auth {
        None => async_nats::ConnectOptions::new(),
        Some(NatsAuth::UserPassword { user, password }) => {
            async_nats::ConnectOptions::with_user_and_password(user.clone(), password.clone())
        }
        Some(NatsAuth::Token(token)) => async_nats::ConnectOptions::with_token(token.clone()),
    };
    let client = options
        .name("mailwire relay")
        .connection_timeout(Duration::from_secs(5))
        .connect(address.servers.clone())
        .await
        .map_err(|e| failed(&format!("cannot connect to {address}"), e))?;
    let max_payload = client.server_info().max_payload;
    let js = jetstream::new(client);
    let stream = js
        .get_or_create_stream(stream::Config {
            name: address.stream.clone(),
            subjects: vec![address.subject()],
            retention: stream::RetentionPolicy::WorkQueue,
            storage: stream::StorageType::File,
            num_replicas: settings.replicas,
            duplicate_window: Duration::from_secs(120),
            ..Default::default()
        })
        .await
        .map_err(|e| failed(&format!("cannot create the stream {}", address.stream), e))?;
    let consumer = stream
        .get_or_create_consumer(
            CONSUMER,
            consumer::pull::Config {
                durable_name: Some(CONSUMER.to_owned()),
                ack_policy: consumer::AckPolicy::Explicit,
                ack_wait: settings.ack_wait,
                max_deliver,
                max_ack_pending: 100_000,
                ..Default::default()
            },
        )
        .await
        .map_err(|e| failed("cannot create the delivery consumer", e))?;
    let bucket = address.state_bucket();
    let state = match js.get_key_value(&bucket).await {
        Ok(store) => store,
        Err(_) => js
            .create_key_value(kv::Config {
                bucket: bucket.clone(),
                description: "mailwire: per-recipient delivery state".into(),
                history: 1,
                max_age: keep,
                storage: stream::StorageType::File,
                num_replicas: settings.replicas,
                ..Default::default()
            })
            .await
            .map_err(|e| failed(&format!("cannot create the key-value bucket {bucket}"), e))?,
    };
    let state_stream = js
        .get_stream(format!("KV_{bucket}"))
        .await
        .map_err(|e| failed(&format!("cannot open the key-value bucket {bucket}"), e))?;
    let bucket = address.body_bucket();
    let bodies = match js.get_object_store(&bucket).await {
        Ok(store) => store,
        Err(_) => js
            .create_object_store(object_store::Config {
                bucket: bucket.clone(),
                description: Some("mailwire: bodies too large for one message".into()),
                max_age: keep,
                storage: stream::StorageType::File,
                num_replicas: settings.replicas,
                ..Default::default()
            })
            .await
            .map_err(|e| failed(&format!("cannot create the object store {bucket}"), e))?,
    };
    Ok(Resources {
        js,
        consumer,
        state,
        state_stream,
        bodies,
        subject: address.subject(),
        max_payload,
    })
}
