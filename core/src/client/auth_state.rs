//! The state of an AUTH exchange in progress, held by the connection; the
//! exchange itself is in `auth.rs` (methods of
//! [`ClientConnection`](super::ClientConnection)).

use std::collections::VecDeque;

use crate::sasl::{ClientMechanism, Mechanism, SaslError};
use crate::wire::reply::Reply;

/// The state of one AUTH attempt sequence.
pub(crate) struct AuthExchange {
    /// Mechanisms still to try, in order of preference.
    pub(crate) candidates: VecDeque<Mechanism>,
    /// The mechanism in progress.
    pub(crate) current: Option<ClientMechanism>,
    /// A client-first response too long for the AUTH line: sent after the
    /// first (empty) 334.
    pub(crate) deferred_initial: Option<Vec<u8>>,
    /// Why the client cancelled the exchange with `*`.
    pub(crate) cancelled: Option<SaslError>,
    /// The last server reply that made the client fall back.
    pub(crate) last_refusal: Option<(Reply, String)>,
}
