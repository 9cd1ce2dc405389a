//! TLS handshake failures in words: [`explain`] turns the error of a
//! failed handshake (a rustls error inside an `io::Error`) into a sentence
//! for people, saying why a certificate did not verify.

use std::io;

use rustls::{AlertDescription, CertificateError, Error};

/// A sentence for a failed TLS handshake: why the server's certificate
/// did not verify, the alert the server sent, or the I/O error. Never
/// Rust's debug output.
///
/// ```
/// let e = std::io::Error::new(
///     std::io::ErrorKind::InvalidData,
///     rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer),
/// );
/// assert_eq!(
///     mailwire_driver::tls_error::explain(&e),
///     "the server's certificate did not verify: it is not signed by a trusted certificate authority"
/// );
/// ```
#[must_use]
pub fn explain(error: &io::Error) -> String {
    let Some(tls) = error.get_ref().and_then(|e| e.downcast_ref::<Error>()) else {
        return match error.kind() {
            io::ErrorKind::UnexpectedEof => {
                "the server closed the connection during the TLS handshake".to_owned()
            }
            _ => error.to_string(),
        };
    };
    match tls {
        Error::InvalidCertificate(cert) => format!(
            "the server's certificate did not verify: {}",
            certificate(cert)
        ),
        Error::AlertReceived(alert) => format!(
            "the server ended the TLS handshake with the alert \"{}\"",
            alert_words(*alert)
        ),
        Error::NoCertificatesPresented => "the server presented no certificate".to_owned(),
        Error::PeerIncompatible(_) => {
            "the server supports no TLS version or cipher suite in common".to_owned()
        }
        Error::InvalidMessage(_) | Error::PeerMisbehaved(_) => {
            "the server broke the TLS protocol during the handshake".to_owned()
        }
        other => format!("the TLS handshake failed ({other})"),
    }
}

/// Why a certificate failed, in words.
fn certificate(error: &CertificateError) -> String {
    match error {
        CertificateError::BadEncoding => "it is not correctly encoded".into(),
        CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
            "it has expired".into()
        }
        CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
            "it is not valid yet".into()
        }
        CertificateError::Revoked => "it has been revoked".into(),
        CertificateError::UnknownIssuer => {
            "it is not signed by a trusted certificate authority".into()
        }
        CertificateError::BadSignature => "its signature is wrong".into(),
        CertificateError::NotValidForName => "it is not valid for the server's name".into(),
        CertificateError::NotValidForNameContext {
            expected,
            presented,
        } => {
            let names = if presented.is_empty() {
                "no name".to_owned()
            } else {
                presented.join(", ")
            };
            format!(
                "it is not valid for {} (it names {names})",
                expected.to_str()
            )
        }
        CertificateError::InvalidPurpose | CertificateError::InvalidPurposeContext { .. } => {
            "it is not meant for a TLS server".into()
        }
        CertificateError::Other(other) => {
            // webpki's reasons reach us only as their debug names.
            let name = format!("{other:?}");
            if name.contains("CaUsedAsEndEntity") {
                "the server presented a certificate authority's certificate as its own \
                 (a CA certificate cannot name a server)"
                    .into()
            } else if name.contains("SelfSigned") {
                "it is self-signed".into()
            } else {
                "it cannot be checked".into()
            }
        }
        _ => "it cannot be checked".into(),
    }
}

/// An alert's name in words (`bad certificate`, `handshake failure`).
fn alert_words(alert: AlertDescription) -> String {
    let name = format!("{alert:?}");
    let mut words = String::new();
    for (i, c) in name.chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            words.push(' ');
        }
        words.push(c.to_ascii_lowercase());
    }
    words
}

#[cfg(test)]
mod tests {
    use super::*;

    fn io(e: Error) -> io::Error {
        io::Error::new(io::ErrorKind::InvalidData, e)
    }

    #[test]
    fn certificate_failures_are_sentences() {
        let ca_as_leaf = CertificateError::Other(rustls::OtherError(std::sync::Arc::new(
            io::Error::other("CaUsedAsEndEntity"),
        )));
        let cases = [
            (
                Error::InvalidCertificate(ca_as_leaf),
                "a certificate authority's certificate as its own",
            ),
            (
                Error::InvalidCertificate(CertificateError::Expired),
                "it has expired",
            ),
            (
                Error::AlertReceived(AlertDescription::BadCertificate),
                "the alert \"bad certificate\"",
            ),
        ];
        for (error, want) in cases {
            let text = explain(&io(error));
            assert!(text.contains(want), "{text}");
            assert!(!text.contains("Other("), "{text}");
            assert!(!text.contains("OtherError"), "{text}");
        }
    }
}
