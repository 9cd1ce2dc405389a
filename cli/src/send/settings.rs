//! From options to where and how to connect: the server list and the
//! [`ClientSettings`] (TLS policy, certificates, credentials, client name).

use mailwire_core::client::SendPolicy;
use mailwire_driver::Runtime;
use mailwire_driver::client::{Client, ClientSettings, ServerAddress};
use mailwire_tokio::Tokio;

use super::Args;
use super::swaks::QuitAfter;
use super::transcript::Transcript;

/// A client connection on the tokio runtime.
pub type TokioClient = Client<<Tokio as Runtime>::Stream, Tokio>;

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

impl Plan {
    /// The send policy the options ask for.
    #[must_use]
    pub fn policy(&self) -> SendPolicy {
        if self.at_least_one {
            SendPolicy::AtLeastOne
        } else {
            SendPolicy::AllOrNothing
        }
    }
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
    if let Some(mechanisms) = &args.swaks.auth
        && !mechanisms.0.is_empty()
    {
        // Bare `--auth` keeps the default: any mechanism offered.
        settings = settings.with_auth_mechanisms(mechanisms.0.clone());
    }
    if let Some(QuitAfter::Setup(point)) = args.swaks.quit_after {
        settings = settings.with_stop_after(point);
    }
    if args.swaks.transcript {
        // `-v`: the conversation, and each server tried, as it happens.
        let transcript = Transcript {
            to_stderr: args.json,
            show_body: args.swaks.show_body,
        };
        settings = settings.with_observer(transcript.observer());
    }
    Ok(Plan {
        servers,
        settings,
        at_least_one: args.at_least_one,
    })
}
