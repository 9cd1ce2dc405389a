//! Options for talking to an SMTP server as a client, shared by `send`
//! (its servers) and `relay` (its smarthosts): TLS, certificates,
//! credentials and the EHLO name, turned into driver settings.

use std::path::PathBuf;

use clap::ValueEnum;
use mailwire_driver::ClientTls;
use mailwire_driver::client::{ClientSettings, Security, ServerAddress};
use mailwire_driver::core::client::{AuthSecurity, StartTlsRefused, TlsPolicy};
use mailwire_driver::core::sasl::Credentials;
use mailwire_driver::core::wire::address::Domain;

use super::text::parse_host_port;

/// The STARTTLS policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TlsMode {
    /// Never STARTTLS.
    Disabled,
    /// STARTTLS when offered; an unverified certificate is accepted (and
    /// reported as such).
    Opportunistic,
    /// STARTTLS must succeed and the certificate must verify.
    Required,
}

/// Client-side options (flattened into `send` and `relay`).
#[derive(Debug, Clone, clap::Args)]
pub struct Outbound {
    /// STARTTLS policy [default: opportunistic; required with --user].
    #[arg(long, value_enum, value_name = "MODE")]
    pub tls: Option<TlsMode>,
    /// TLS from the first byte (SMTPS, port 465 by default; swaks'
    /// --tls-on-connect, -tlsc).
    #[arg(long, visible_alias = "tls-on-connect")]
    pub implicit_tls: bool,
    /// Verify server certificates against the CA certificates in this PEM
    /// file (instead of the public roots).
    #[arg(long, value_name = "FILE")]
    pub ca_file: Option<PathBuf>,
    /// INSECURE: accept any server certificate (still reported as not
    /// verified).
    #[arg(long)]
    pub insecure_accept_any_cert: bool,
    /// The user name for AUTH (TLS with a verified certificate is then
    /// required unless the options below say otherwise).
    #[arg(
        long,
        value_name = "USER",
        requires = "password",
        visible_alias = "auth-user"
    )]
    pub user: Option<String>,
    /// The password for AUTH.
    #[arg(
        long,
        value_name = "PASSWORD",
        requires = "user",
        visible_alias = "auth-password"
    )]
    pub password: Option<String>,
    /// Allow credentials over plaintext or unverified TLS.
    #[arg(long)]
    pub allow_insecure_auth: bool,
    /// The EHLO name (default: `localhost` for a local server, else this
    /// host's name).
    #[arg(long, value_name = "NAME", visible_aliases = ["ehlo", "helo"])]
    pub client_name: Option<String>,
}

impl Outbound {
    /// The text arguments, for the CR/LF/NUL check done before anything
    /// else.
    pub fn texts(&self) -> impl Iterator<Item = (&'static str, String)> + '_ {
        [
            ("user", self.user.clone()),
            ("password", self.password.clone()),
            ("client-name", self.client_name.clone()),
            (
                "ca-file",
                self.ca_file
                    .as_ref()
                    .map(|p| p.to_string_lossy().into_owned()),
            ),
        ]
        .into_iter()
        .filter_map(|(option, value)| value.map(|v| (option, v)))
    }

    /// `HOST[:PORT]` values of `option` as server addresses (port 25, or 465
    /// with --implicit-tls, when none is given).
    ///
    /// # Errors
    ///
    /// A value that does not parse, as a message naming `option`.
    pub fn addresses(&self, option: &str, values: &[String]) -> Result<Vec<ServerAddress>, String> {
        let (security, default_port) = if self.implicit_tls {
            (Security::Implicit, 465)
        } else {
            (Security::StartTls, 25)
        };
        values
            .iter()
            .map(|text| {
                let (host, port) = parse_host_port(text).map_err(|e| format!("--{option} {e}"))?;
                Ok(ServerAddress::new(host)
                    .with_port(port.unwrap_or(default_port))
                    .with_security(security))
            })
            .collect()
    }

    /// The driver settings: certificates, TLS policy, credentials (which
    /// imply required, verified TLS unless --allow-insecure-auth or
    /// --insecure-accept-any-cert say otherwise) and the EHLO name.
    ///
    /// # Errors
    ///
    /// A usage error, as a message.
    pub fn settings(&self) -> Result<ClientSettings, String> {
        let mut tls = match &self.ca_file {
            Some(path) => {
                let pem = std::fs::read(path)
                    .map_err(|e| format!("--ca-file {}: {e}", path.display()))?;
                ClientTls::with_ca_pem(&pem)
                    .map_err(|e| format!("--ca-file {}: {e}", path.display()))?
            }
            None => ClientTls::webpki_roots(),
        };
        if self.insecure_accept_any_cert {
            tls = tls.insecure_accept_any_certificate();
        }

        let credentials = match (&self.user, &self.password) {
            (Some(user), Some(password)) => Some(Credentials::password(user, password)),
            (None, None) => None,
            _ => return Err("--user and --password go together".into()),
        };
        let mode = match (self.tls, &credentials) {
            (Some(mode), _) => mode,
            // Credentials imply TLS, unless plaintext AUTH is explicitly allowed.
            (None, Some(_)) if !self.allow_insecure_auth => TlsMode::Required,
            (None, _) => TlsMode::Opportunistic,
        };
        if credentials.is_some()
            && mode != TlsMode::Required
            && !self.implicit_tls
            && !self.allow_insecure_auth
        {
            return Err(
                "credentials need --tls required or --implicit-tls (or --allow-insecure-auth)"
                    .into(),
            );
        }
        if self.implicit_tls && mode == TlsMode::Disabled {
            return Err("--implicit-tls cannot go with --tls disabled".into());
        }
        let policy = match mode {
            TlsMode::Disabled => TlsPolicy::Disabled,
            TlsMode::Opportunistic => TlsPolicy::Opportunistic {
                on_refused: StartTlsRefused::Continue,
            },
            TlsMode::Required => TlsPolicy::Required {
                accept_invalid_certs: self.insecure_accept_any_cert,
            },
        };
        // With credentials and implicit TLS under an opportunistic policy,
        // the certificate must still verify before AUTH (AuthSecurity says so).
        let auth_security = if self.allow_insecure_auth {
            AuthSecurity::Plaintext
        } else if self.insecure_accept_any_cert {
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
        if let Some(name) = &self.client_name {
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
        Ok(settings)
    }
}
