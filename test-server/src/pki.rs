//! [`TestPki`]: test certificates made with rcgen — a private CA and a
//! server certificate it signs, for real TLS on loopback.

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair, KeyUsagePurpose};

/// A test CA and one server certificate signed by it, all as PEM.
///
/// ```
/// use mailwire_test_server::TestPki;
///
/// let pki = TestPki::localhost();
/// assert!(pki.ca_pem.starts_with("-----BEGIN CERTIFICATE-----"));
/// ```
#[derive(Debug, Clone)]
pub struct TestPki {
    /// The CA certificate (what a verifying client trusts).
    pub ca_pem: String,
    /// The server certificate chain (leaf, then the CA).
    pub server_chain_pem: String,
    /// The server's private key.
    pub server_key_pem: String,
}

impl TestPki {
    /// A CA and a server certificate for `names` (DNS names and IP
    /// addresses, e.g. `["localhost", "127.0.0.1"]`).
    ///
    /// # Panics
    ///
    /// If rcgen cannot make a key or a certificate (it does not fail on
    /// valid names).
    #[must_use]
    pub fn new(names: &[&str]) -> TestPki {
        let ca_key = KeyPair::generate().expect("CA key");
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "mailwire test CA");
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let ca = ca_params.self_signed(&ca_key).expect("CA certificate");

        let names: Vec<String> = names.iter().map(|s| s.to_string()).collect();
        let key = KeyPair::generate().expect("server key");
        let mut params = CertificateParams::new(names).expect("server params");
        params
            .distinguished_name
            .push(DnType::CommonName, "mailwire test server");
        let leaf = params
            .signed_by(&key, &ca, &ca_key)
            .expect("server certificate");

        TestPki {
            ca_pem: ca.pem(),
            server_chain_pem: format!("{}{}", leaf.pem(), ca.pem()),
            server_key_pem: key.serialize_pem(),
        }
    }

    /// For `localhost` and `127.0.0.1`.
    #[must_use]
    pub fn localhost() -> TestPki {
        TestPki::new(&["localhost", "127.0.0.1"])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mailwire_driver::{ClientTls, ServerTls};

    #[test]
    fn the_pki_loads_into_both_tls_configs() {
        let pki = TestPki::localhost();
        ServerTls::from_pem(
            pki.server_chain_pem.as_bytes(),
            pki.server_key_pem.as_bytes(),
        )
        .expect("server TLS config");
        let client = ClientTls::with_ca_pem(pki.ca_pem.as_bytes()).expect("client roots");
        assert!(!client.is_insecure());
        client.connector(false).expect("connector");
    }
}
