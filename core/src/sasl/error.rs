//! The SASL error type.

/// Why a SASL call failed.
///
/// Three kinds, in the crate's usual taxonomy:
///
/// * **The peer broke the mechanism**: [`Malformed`](Self::Malformed),
///   [`TooLong`](Self::TooLong), [`UnexpectedChallenge`](Self::UnexpectedChallenge),
///   and on the client [`NonceMismatch`](Self::NonceMismatch),
///   [`IterationCount`](Self::IterationCount),
///   [`ServerSignatureMismatch`](Self::ServerSignatureMismatch),
///   [`ServerError`](Self::ServerError). A server answers `501 5.5.2`
///   (`500 5.5.6` for `TooLong`, RFC 4954 §4) and ends the exchange; a client
///   cancels with `*` (or, after `235`, treats the session as not
///   authenticated and quits).
/// * **The mechanism cannot be used**:
///   [`UnsupportedMechanism`](Self::UnsupportedMechanism) (server: `504 5.5.4`),
///   [`UnusableCredentials`](Self::UnusableCredentials),
///   [`UnsuitableSecret`](Self::UnsuitableSecret) (server: `454 4.7.0`),
///   [`InvalidNonce`](Self::InvalidNonce).
/// * **The API was misused**: [`BadState`](Self::BadState),
///   [`Incomplete`](Self::Incomplete).
///
/// Wrong credentials are not an error: the server reports them as
/// [`ServerStep::Failure`](super::ServerStep::Failure) (`535 5.7.8`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SaslError {
    /// The peer's message does not follow the mechanism's grammar (or is not
    /// valid base64 / UTF-8 where that is required).
    #[error("malformed SASL message")]
    Malformed,
    /// The peer's message is longer than the mechanism allows
    /// ([`MAX_MESSAGE_LEN`](super::MAX_MESSAGE_LEN), or less where the
    /// mechanism's specification says so).
    #[error("SASL message too long")]
    TooLong,
    /// The server sent a challenge where the mechanism expects none (for
    /// example a second challenge to PLAIN).
    #[error("unexpected SASL challenge")]
    UnexpectedChallenge,
    /// The mechanism is not implemented in this role.
    #[error("unsupported SASL mechanism")]
    UnsupportedMechanism,
    /// The credentials cannot be expressed in this mechanism: a token for a
    /// password mechanism (or the reverse), an empty user name, a NUL in a
    /// PLAIN field, a character SASLprep prohibits, and so on.
    #[error("credentials cannot be used with this SASL mechanism")]
    UnusableCredentials,
    /// The stored secret supplied to the server cannot serve this mechanism
    /// (CRAM-MD5 and DIGEST-MD5 need the password itself).
    #[error("stored secret unsuitable for this SASL mechanism")]
    UnsuitableSecret,
    /// A nonce or host name given in the context is empty or holds a
    /// character the mechanism cannot carry (only `!`..`~` without `,`, `"`
    /// and `\` are allowed).
    #[error("invalid nonce or host name in the SASL context")]
    InvalidNonce,
    /// SCRAM: the server's nonce does not extend the client's nonce, or the
    /// client-final nonce is not the combined nonce; DIGEST-MD5: the nonce
    /// echoed is not the server's.
    #[error("SASL nonce mismatch")]
    NonceMismatch,
    /// SCRAM: the server's iteration count is outside
    /// [`SCRAM_MIN_ITERATIONS`](super::SCRAM_MIN_ITERATIONS)..=[`SCRAM_MAX_ITERATIONS`](super::SCRAM_MAX_ITERATIONS)
    /// (or an iteration count of 0 was given to
    /// [`ScramCredentials::from_password`](super::ScramCredentials::from_password)).
    #[error("SCRAM iteration count out of range")]
    IterationCount,
    /// The server failed to prove that it knows the secret: a wrong SCRAM
    /// server signature or DIGEST-MD5 `rspauth`, or (from
    /// [`finish`](super::ClientMechanism::finish)) none at all.
    #[error("the server failed to prove it knows the secret")]
    ServerSignatureMismatch,
    /// The server reported an error inside the mechanism (SCRAM `e=`, or an
    /// XOAUTH2 error challenge); the text is the server's, for diagnostics.
    #[error("the server reported a SASL error: {0}")]
    ServerError(String),
    /// A call out of order: `step` before `start`, `supply` without a
    /// pending request, anything after the exchange ended.
    #[error("SASL call out of order")]
    BadState,
    /// [`finish`](super::ClientMechanism::finish) before the exchange reached
    /// a point where success is possible.
    #[error("SASL exchange incomplete")]
    Incomplete,
}
