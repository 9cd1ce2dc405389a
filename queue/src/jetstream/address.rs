//! Where a JetStream queue lives: `nats://HOST:PORT[,HOST:PORT…]/STREAM`.

use std::fmt;

/// A parsed `--queue nats://…` address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JetStreamAddress {
    /// The NATS servers to connect to (`nats://HOST:PORT` each); the
    /// client learns the rest of a cluster from them.
    pub servers: Vec<String>,
    /// The work-queue stream's name; the key-value bucket and the object
    /// store are named after it.
    pub stream: String,
}

impl JetStreamAddress {
    /// Whether a `--queue` value names a JetStream queue rather than a
    /// directory.
    #[must_use]
    pub fn is_nats(text: &str) -> bool {
        text.starts_with("nats://")
    }

    /// Parses `nats://HOST:PORT[,HOST:PORT…]/STREAM`.
    ///
    /// ```
    /// use mailwire_queue::jetstream::JetStreamAddress;
    /// let a = JetStreamAddress::parse("nats://127.0.0.1:4222,127.0.0.1:4223/MAIL").unwrap();
    /// assert_eq!(a.servers, ["nats://127.0.0.1:4222", "nats://127.0.0.1:4223"]);
    /// assert_eq!(a.stream, "MAIL");
    /// assert!(JetStreamAddress::parse("nats://127.0.0.1:4222").is_err());
    /// ```
    ///
    /// # Errors
    ///
    /// A sentence saying what is wrong with the text.
    pub fn parse(text: &str) -> Result<JetStreamAddress, String> {
        let rest = text
            .strip_prefix("nats://")
            .ok_or_else(|| format!("{text:?} is not a nats:// address"))?;
        let (hosts, stream) = rest
            .split_once('/')
            .ok_or_else(|| format!("{text:?} names no stream: write nats://HOST:PORT/STREAM"))?;
        if stream.is_empty()
            || stream.len() > 64
            || !stream
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        {
            return Err(format!(
                "{stream:?} is not a stream name (letters, digits, '_' and '-', at most 64)"
            ));
        }
        let servers: Vec<String> = hosts
            .split(',')
            .filter(|h| !h.is_empty())
            .map(|h| format!("nats://{h}"))
            .collect();
        if servers.is_empty() {
            return Err(format!("{text:?} names no server"));
        }
        Ok(JetStreamAddress {
            servers,
            stream: stream.to_owned(),
        })
    }

    /// The subject the entries are published on.
    #[must_use]
    pub fn subject(&self) -> String {
        format!("mailwire.{}.entries", self.stream)
    }

    /// The key-value bucket of per-recipient state.
    #[must_use]
    pub fn state_bucket(&self) -> String {
        format!("mailwire-{}-state", self.stream)
    }

    /// The object store of bodies too large for one message.
    #[must_use]
    pub fn body_bucket(&self) -> String {
        format!("mailwire-{}-bodies", self.stream)
    }
}

impl fmt::Display for JetStreamAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hosts: Vec<&str> = self
            .servers
            .iter()
            .map(|s| s.trim_start_matches("nats://"))
            .collect();
        write!(f, "nats://{}/{}", hosts.join(","), self.stream)
    }
}
