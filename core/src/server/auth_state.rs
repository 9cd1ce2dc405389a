//! What AUTH leaves on a server connection: the identity it established,
//! and the step that waits for the application.

use crate::sasl::Mechanism;

/// The identity a successful AUTH established.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Authentication {
    /// The mechanism used.
    pub mechanism: Mechanism,
    /// The authenticated identity.
    pub username: String,
    /// The identity the client acts as, when it asked for one.
    pub authzid: Option<String>,
}

/// An AUTH step waiting for the application.
#[derive(Debug)]
pub(crate) struct AuthWait {
    pub(super) mechanism: Mechanism,
    pub(super) username: String,
    pub(super) authzid: Option<String>,
}
