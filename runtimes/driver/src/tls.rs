//! TLS configuration for both roles: rustls with the ring provider,
//! TLS 1.2 and 1.3.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use futures_rustls::{TlsAcceptor, TlsConnector};
use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, RootCertStore, SignatureScheme};

/// Why a TLS configuration could not be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TlsError {
    /// A PEM file or buffer did not hold what was expected.
    #[error("PEM: {0}")]
    Pem(String),
    /// rustls refused the configuration (e.g. a key that does not match).
    #[error("TLS configuration: {0}")]
    Config(#[from] rustls::Error),
}

/// The ring crypto provider, the only one mailwire compiles in.
pub fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// A server certificate chain and key, for STARTTLS and implicit TLS.
#[derive(Clone)]
pub struct ServerTls {
    config: Arc<rustls::ServerConfig>,
}

impl std::fmt::Debug for ServerTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerTls").finish_non_exhaustive()
    }
}

impl ServerTls {
    /// From a PEM certificate chain (leaf first) and a PEM private key.
    pub fn from_pem(cert_chain: &[u8], key: &[u8]) -> Result<ServerTls, TlsError> {
        let certs = CertificateDer::pem_slice_iter(cert_chain)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| TlsError::Pem(format!("certificate chain: {e}")))?;
        if certs.is_empty() {
            return Err(TlsError::Pem("no certificate found".into()));
        }
        let key = PrivateKeyDer::from_pem_slice(key)
            .map_err(|e| TlsError::Pem(format!("private key: {e}")))?;
        Self::from_der(certs, key)
    }

    /// From PEM files.
    pub fn from_pem_files(cert_chain: &Path, key: &Path) -> Result<ServerTls, TlsError> {
        let read =
            |p: &Path| std::fs::read(p).map_err(|e| TlsError::Pem(format!("{}: {e}", p.display())));
        Self::from_pem(&read(cert_chain)?, &read(key)?)
    }

    /// From DER certificates and key.
    pub fn from_der(
        certs: Vec<CertificateDer<'static>>,
        key: PrivateKeyDer<'static>,
    ) -> Result<ServerTls, TlsError> {
        let config = rustls::ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()?
            .with_no_client_auth()
            .with_single_cert(certs, key)?;
        Ok(ServerTls {
            config: Arc::new(config),
        })
    }

    /// From a finished rustls configuration (client certificates, ALPN, …).
    pub fn from_config(config: Arc<rustls::ServerConfig>) -> ServerTls {
        ServerTls { config }
    }

    /// The acceptor for handshakes.
    pub fn acceptor(&self) -> TlsAcceptor {
        TlsAcceptor::from(self.config.clone())
    }
}

/// How the client checks server certificates.
#[derive(Clone)]
pub struct ClientTls {
    roots: Arc<RootCertStore>,
    insecure_accept_any: bool,
}

impl std::fmt::Debug for ClientTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientTls")
            .field("roots", &self.roots.len())
            .field("insecure_accept_any", &self.insecure_accept_any)
            .finish()
    }
}

impl Default for ClientTls {
    fn default() -> Self {
        ClientTls::webpki_roots()
    }
}

impl ClientTls {
    /// Verify against the Mozilla root store (webpki-roots).
    pub fn webpki_roots() -> ClientTls {
        let mut roots = RootCertStore::empty();
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        ClientTls {
            roots: Arc::new(roots),
            insecure_accept_any: false,
        }
    }

    /// Verify against the CA certificates in a PEM buffer only.
    pub fn with_ca_pem(pem: &[u8]) -> Result<ClientTls, TlsError> {
        let mut roots = RootCertStore::empty();
        for cert in CertificateDer::pem_slice_iter(pem) {
            let cert = cert.map_err(|e| TlsError::Pem(format!("CA certificate: {e}")))?;
            roots.add(cert)?;
        }
        if roots.is_empty() {
            return Err(TlsError::Pem("no CA certificate found".into()));
        }
        Ok(ClientTls {
            roots: Arc::new(roots),
            insecure_accept_any: false,
        })
    }

    /// INSECURE: accept any server certificate, even one that fails
    /// verification. Encryption without authentication: an attacker in the
    /// middle can read everything. The outcome still records that the
    /// certificate did not verify.
    #[must_use]
    pub fn insecure_accept_any_certificate(mut self) -> ClientTls {
        self.insecure_accept_any = true;
        self
    }

    /// Whether any certificate is accepted.
    pub fn is_insecure(&self) -> bool {
        self.insecure_accept_any
    }

    /// A connector for one connection. `accept_invalid` lets an unverifiable
    /// certificate through (opportunistic TLS, RFC 7435) even when this
    /// configuration is not insecure; the returned [`VerifyRecord`] says
    /// after the handshake whether the chain and name verified.
    pub fn connector(
        &self,
        accept_invalid: bool,
    ) -> Result<(TlsConnector, VerifyRecord), TlsError> {
        let inner = WebPkiServerVerifier::builder_with_provider(self.roots.clone(), provider())
            .build()
            .map_err(|e| TlsError::Pem(format!("verifier: {e}")))?;
        let record = VerifyRecord(Arc::new(AtomicBool::new(false)));
        let verifier = RecordingVerifier {
            inner,
            accept_invalid: accept_invalid || self.insecure_accept_any,
            verified: record.0.clone(),
        };
        let config = rustls::ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()?
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(verifier))
            .with_no_client_auth();
        Ok((TlsConnector::from(Arc::new(config)), record))
    }
}

/// Whether the server certificate of one handshake verified.
#[derive(Debug, Clone)]
pub struct VerifyRecord(Arc<AtomicBool>);

impl VerifyRecord {
    /// True when the chain and the server name verified.
    pub fn verified(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

/// Runs the real webpki verification, records its verdict, and lets an
/// invalid certificate through only when told to.
#[derive(Debug)]
struct RecordingVerifier {
    inner: Arc<WebPkiServerVerifier>,
    accept_invalid: bool,
    verified: Arc<AtomicBool>,
}

impl ServerCertVerifier for RecordingVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self.inner.verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            now,
        ) {
            Ok(ok) => {
                self.verified.store(true, Ordering::SeqCst);
                Ok(ok)
            }
            Err(_) if self.accept_invalid => Ok(ServerCertVerified::assertion()),
            Err(e) => Err(e),
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        // The handshake signature is always checked: it proves the peer
        // holds the key of the certificate it sent.
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}
