//! The harness's options and errors: how a run fails ([`PairError`]), the
//! malicious peer at the STARTTLS switch ([`Injection`]), and the TLS facts
//! of the simulated handshake ([`TlsSim`]).

use std::fmt;
use std::time::Duration;

use mailwire_core::{TlsInfo, UsageError};

use super::transcript::Side;

/// Why a simulation did not finish.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PairError {
    /// The step budget ran out: the two sides keep doing something without
    /// either closing (a livelock, or a budget too small for the scenario).
    Livelock {
        /// Steps taken.
        steps: u64,
        /// Virtual time reached.
        elapsed: Duration,
    },
    /// Nothing can move and no deadline is armed, yet a side is still open.
    Stalled {
        /// Virtual time reached.
        elapsed: Duration,
    },
    /// Virtual time passed the limit ([`Pair::with_time_limit`](super::Pair::with_time_limit)).
    TimeLimit {
        /// Virtual time reached.
        elapsed: Duration,
    },
    /// The harness itself misused a connection: a bug in the harness or
    /// in the connection's `wants_read`.
    Usage {
        /// Which connection refused.
        side: Side,
        /// What it said.
        error: UsageError,
    },
}

impl fmt::Display for PairError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PairError::Livelock { steps, elapsed } => {
                write!(f, "livelock: {steps} steps, {elapsed:?} virtual")
            }
            PairError::Stalled { elapsed } => {
                write!(f, "stalled at {elapsed:?}: nothing can move, no deadline")
            }
            PairError::TimeLimit { elapsed } => write!(f, "time limit reached at {elapsed:?}"),
            PairError::Usage { side, error } => write!(f, "{side:?} connection refused: {error}"),
        }
    }
}

impl std::error::Error for PairError {}

/// Bytes a test adds to the stream at the STARTTLS switch, to play a
/// malicious peer (RFC 3207 §5, CVE-2011-0411).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Injection {
    /// Appended to the client's write that ends with `STARTTLS` CRLF (in
    /// the same write, so a read may hold both).
    pub after_starttls: Vec<u8>,
    /// Appended to the server's write that holds its `220` to STARTTLS.
    pub after_220: Vec<u8>,
}

/// The facts each side is given when the simulated TLS handshake completes
/// (TLS is simulated as an identity switch: the bytes stay the same).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsSim {
    /// Given to the server's `tls_established`.
    pub server: TlsInfo,
    /// Given to the client's `tls_established`.
    pub client: TlsInfo,
}

impl Default for TlsSim {
    /// TLS 1.3; the client verified the server's certificate, the server
    /// saw no client certificate.
    fn default() -> Self {
        let server = TlsInfo::new("TLSv1.3", "TLS13_AES_128_GCM_SHA256");
        let mut client = server.clone();
        client.peer_verified = true;
        TlsSim { server, client }
    }
}
