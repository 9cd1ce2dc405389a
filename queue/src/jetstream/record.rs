//! One queue entry as a JetStream message: a length-prefixed JSON head
//! (id, envelope, where the body is) followed by the body itself, or by
//! nothing when the body is in the object store.

use serde::{Deserialize, Serialize};

use crate::{QueueId, QueuedEnvelope};

/// The head of an entry's message.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Head {
    /// The queue id (also the message's `Nats-Msg-Id`).
    pub id: String,
    /// The envelope as accepted.
    pub envelope: QueuedEnvelope,
    /// The body's size in octets.
    pub size: u64,
    /// The object-store name of the body when it did not fit inline.
    #[serde(default)]
    pub object: Option<String>,
}

impl Head {
    pub(crate) fn queue_id(&self) -> Option<QueueId> {
        QueueId::parse(&self.id)
    }
}

/// The head, then the body when inline.
pub(crate) fn encode(head: &Head, body: Option<&[u8]>) -> Vec<u8> {
    let json = serde_json::to_vec(head).expect("a queue head serializes");
    let len = u32::try_from(json.len()).expect("a queue head under 4 GiB");
    let mut out = Vec::with_capacity(4 + json.len() + body.map_or(0, <[u8]>::len));
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(&json);
    if let Some(body) = body {
        out.extend_from_slice(body);
    }
    out
}

/// The head and the inline body (empty when in the object store).
pub(crate) fn decode(payload: &[u8]) -> Result<(Head, &[u8]), String> {
    let bad = || "a queue entry that is not mailwire's (no head)".to_owned();
    let len = payload.get(..4).ok_or_else(bad)?;
    let len = u32::from_be_bytes([len[0], len[1], len[2], len[3]]) as usize;
    let json = payload.get(4..4 + len).ok_or_else(bad)?;
    let head: Head = serde_json::from_slice(json)
        .map_err(|e| format!("a queue entry with an unreadable head: {e}"))?;
    Ok((head, &payload[4 + len..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let head = Head {
            id: "ABC".into(),
            envelope: QueuedEnvelope {
                from: "<a@example.org>".into(),
                recipients: vec![],
                body: "7BIT".into(),
                smtputf8: false,
                ret: None,
                envid: None,
                arrival: 1,
                client: None,
            },
            size: 5,
            object: None,
        };
        let bytes = encode(&head, Some(b"hello"));
        let (back, body) = decode(&bytes).unwrap();
        assert_eq!(back.id, "ABC");
        assert_eq!(body, b"hello");
        assert!(decode(b"\0\0\0\x09{}").is_err());
    }
}
