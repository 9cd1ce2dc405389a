//! From options to where and how to connect: the server list and the
//! [`ClientSettings`] (TLS policy, certificates, credentials, client name).

use mailwire_driver::client::{ClientSettings, ServerAddress};

use super::Args;

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
    let servers = args.outbound.addresses("server", &args.servers)?;
    let mut settings = args.outbound.settings()?;
    settings.queue = args.queue;
    settings.proxy = args.proxy.plan();
    settings = settings.with_timeout(args.timeout.timeout);
    Ok(Plan {
        servers,
        settings,
        at_least_one: args.at_least_one,
    })
}
