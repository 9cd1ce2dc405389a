//! [`connect_first`]: the first of several servers that answers (tcllib's
//! `-servers`), before any transaction starts.

use super::connection::Client;
use super::{ClientError, ClientSettings, ServerAddress, ServerFailure};
use crate::Runtime;

/// Connects to the first of `servers` that sets a session up (greeting,
/// EHLO, STARTTLS and AUTH as `settings` say), in order, and returns it
/// with its address. Failover happens only here, before any transaction:
/// once a message has started on a server it is never tried on another
/// (it could be delivered twice).
///
/// ```
/// # async fn demo<R: mailwire_driver::Runtime>(runtime: R) {
/// use mailwire_driver::client::{ClientSettings, ServerAddress, connect_first};
///
/// let servers = [ServerAddress::new("mx1.example.org"), ServerAddress::new("mx2.example.org")];
/// match connect_first(runtime, &servers, &ClientSettings::default()).await {
///     Ok((client, server)) => println!("talking to {}", server.host),
///     Err(failures) => {
///         for f in failures {
///             eprintln!("{}:{}: {}", f.host, f.port, f.error);
///         }
///     }
/// }
/// # }
/// ```
///
/// # Errors
///
/// Every server failed (or there were none): why each one did, in order.
pub async fn connect_first<'a, R: Runtime>(
    runtime: R,
    servers: &'a [ServerAddress],
    settings: &ClientSettings,
) -> Result<(Client<R::Stream, R>, &'a ServerAddress), Vec<ServerFailure>> {
    let mut failures = Vec::new();
    for server in servers {
        match Client::connect(runtime.clone(), server, settings).await {
            Ok(client) => return Ok((client, server)),
            Err(error) => {
                tracing::debug!(host = %server.host, port = server.port, %error, "server failed");
                failures.push(ServerFailure::new(server, error));
            }
        }
    }
    Err(failures)
}

impl ServerFailure {
    /// `server` failed with `error`.
    pub(crate) fn new(server: &ServerAddress, error: ClientError) -> ServerFailure {
        ServerFailure {
            host: server.host.clone(),
            port: server.port,
            error,
        }
    }
}
