//! Facts about an established TLS session, handed to the core by the driver.

/// What the driver learnt from the TLS handshake.
///
/// Passed to `tls_established`; the core keeps it for policy (REQUIRETLS,
/// AUTH over verified TLS) and for trace headers.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct TlsInfo {
    /// Protocol version, e.g. `"TLSv1.3"`.
    pub version: String,
    /// Negotiated cipher suite, e.g. `"TLS13_AES_256_GCM_SHA384"`.
    pub cipher: String,
    /// Server name indication: sent (client) or received (server).
    pub sni: Option<String>,
    /// Whether the peer's certificate was verified (client: the server's
    /// chain and name; server: a client certificate).
    pub peer_verified: bool,
}

impl TlsInfo {
    /// TLS facts with the given version and cipher, no SNI, unverified peer.
    pub fn new(version: impl Into<String>, cipher: impl Into<String>) -> Self {
        TlsInfo {
            version: version.into(),
            cipher: cipher.into(),
            sni: None,
            peer_verified: false,
        }
    }
}
