//! From options to where and how to connect: the server list and the
//! [`ClientSettings`] (TLS policy, certificates, credentials, client name).

use mailwire_core::client::{AuthSecurity, StartTlsRefused, TlsPolicy};
use mailwire_core::sasl::Credentials;
use mailwire_core::wire::address::Domain;
use mailwire_driver::ClientTls;
use mailwire_driver::client::{ClientSettings, Security, ServerAddress};

use super::{Args, TlsMode};
use crate::common::text::parse_host_port;

/// Where to send and how.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The servers, in the order to try them.
    pub servers: Vec<ServerAddress>,
    /// The connection settings.
    pub settings: ClientSettings,
    /// Send when at least one recipient is accepted.
    pub at_least_one: bool,
}

/// The servers and settings for `args`.
///
/// # Errors
///
/// A usage error, as a message.
pub fn plan(args: &Args) -> Result<Plan, String> {
    let security = if args.implicit_tls {
        Security::Implicit
    } else {
        Security::StartTls
    };
    let default_port = if args.implicit_tls { 465 } else { 25 };
    let mut servers = Vec::new();
    for text in &args.servers {
        let (host, port) = parse_host_port(text).map_err(|e| format!("--server {e}"))?;
        servers.push(
            ServerAddress::new(host)
                .with_port(port.unwrap_or(default_port))
                .with_security(security),
        );
    }

    let mut tls = match &args.ca_file {
        Some(path) => {
            let pem =
                std::fs::read(path).map_err(|e| format!("--ca-file {}: {e}", path.display()))?;
            ClientTls::with_ca_pem(&pem)
                .map_err(|e| format!("--ca-file {}: {e}", path.display()))?
        }
        None => ClientTls::webpki_roots(),
    };
    if args.insecure_accept_any_cert {
        tls = tls.insecure_accept_any_certificate();
    }

    let credentials = match (&args.user, &args.password) {
        (Some(user), Some(password)) => Some(Credentials::password(user, password)),
        (None, None) => None,
        _ => return Err("--user and --password go together".into()),
    };
    let mode = match (args.tls, &credentials) {
        (Some(mode), _) => mode,
        // Credentials imply TLS, unless plaintext AUTH is explicitly allowed.
        (None, Some(_)) if !args.allow_insecure_auth => TlsMode::Required,
        (None, _) => TlsMode::Opportunistic,
    };
    if credentials.is_some()
        && mode != TlsMode::Required
        && !args.implicit_tls
        && !args.allow_insecure_auth
    {
        return Err(
            "credentials need --tls required or --implicit-tls (or --allow-insecure-auth)".into(),
        );
    }
    if args.implicit_tls && mode == TlsMode::Disabled {
        return Err("--implicit-tls cannot go with --tls disabled".into());
    }
    let policy = match mode {
        TlsMode::Disabled => TlsPolicy::Disabled,
        TlsMode::Opportunistic => TlsPolicy::Opportunistic {
            on_refused: StartTlsRefused::Continue,
        },
        TlsMode::Required => TlsPolicy::Required {
            accept_invalid_certs: args.insecure_accept_any_cert,
        },
    };
    // With credentials and implicit TLS under an opportunistic policy, the
    // certificate must still verify before AUTH (AuthSecurity says so).
    let auth_security = if args.allow_insecure_auth {
        AuthSecurity::Plaintext
    } else if args.insecure_accept_any_cert {
        AuthSecurity::AnyTls
    } else {
        AuthSecurity::VerifiedTls
    };

    let mut settings = ClientSettings::default()
        .with_tls(tls)
        .with_tls_policy(policy)
        .with_auth_security(auth_security);
    if let Some(credentials) = credentials {
        settings = settings.with_credentials(credentials);
    }
    if let Some(name) = &args.client_name {
        let domain: Domain = name
            .parse()
            .map_err(|e| format!("--client-name {name}: {e}"))?;
        if domain.validate().is_err() || domain.is_utf8() {
            return Err(format!(
                "--client-name {name}: not an ASCII domain or address literal"
            ));
        }
        settings = settings.with_client_name(domain);
    }
    settings.queue = args.queue;
    Ok(Plan {
        servers,
        settings,
        at_least_one: args.at_least_one,
    })
}
