//! The one failover: [`first_server`] runs work on the first of several
//! servers that sets a session up (tcllib's `-servers`), and tries the
//! next only while no transaction has started; [`connect_first`] is its
//! simplest use.

use std::future::Future;

use super::connection::Client;
use super::trace::TraceEvent;
use super::{ClientError, ClientSettings, ServerAddress, ServerFailure};
use crate::Runtime;

/// What one server made of the work [`first_server`] gave it.
#[derive(Debug)]
pub enum Tried<T> {
    /// The work ran on this server (whatever its outcome, a refusal
    /// included): no other server is tried.
    Done(T),
    /// The session ended before a transaction started (nothing was
    /// written past EHLO, STARTTLS and AUTH): the next server is tried
    /// when [`ClientError::allows_failover`] says so.
    NotStarted(ClientError),
}

/// Connects to each of `servers` in turn (greeting, EHLO, STARTTLS and AUTH
/// as `settings` say) and hands the first session that is ready to `work`,
/// with its address.
///
/// The next server is tried when the connection could not be set up, or
/// when `work` says the session ended before its transaction started
/// ([`Tried::NotStarted`]), and only if the error
/// [allows failover](ClientError::allows_failover). Once a transaction has
/// started on a server (`work` returned [`Tried::Done`]) no other server is
/// tried: the message could be delivered twice.
///
/// The observer of `settings` ([`ClientSettings::observer`]) is told
/// [`TraceEvent::Trying`] before each connection and
/// [`TraceEvent::GaveUp`] for each server given up, in order, besides
/// each connection's own events.
///
/// Returns what `work` returned with the servers given up before it, in
/// order.
///
/// # Errors
///
/// Every server failed (or there were none), or one failed with an error
/// that does not allow failover (the last entry): why each one did, in
/// order.
pub async fn first_server<'a, R, T, F, Fut>(
    runtime: R,
    servers: &'a [ServerAddress],
    settings: &ClientSettings,
    mut work: F,
) -> Result<(T, Vec<ServerFailure>), Vec<ServerFailure>>
where
    R: Runtime,
    F: FnMut(Client<R::Stream, R>, &'a ServerAddress) -> Fut,
    Fut: Future<Output = Tried<T>>,
{
    let mut failures = Vec::new();
    let observer = settings.observer.as_ref();
    for server in servers {
        if let Some(observer) = observer {
            observer(&TraceEvent::Trying { server });
        }
        let error = match Client::connect(runtime.clone(), server, settings).await {
            Ok(client) => match work(client, server).await {
                Tried::Done(value) => return Ok((value, failures)),
                Tried::NotStarted(error) => error,
            },
            Err(error) => error,
        };
        tracing::debug!(host = %server.host, port = server.port, %error, "server failed");
        if let Some(observer) = observer {
            observer(&TraceEvent::GaveUp {
                server,
                error: &error,
            });
        }
        let next = error.allows_failover();
        failures.push(ServerFailure::new(server, error));
        if !next {
            break;
        }
    }
    Err(failures)
}

/// Connects to the first of `servers` that sets a session up (greeting,
/// EHLO, STARTTLS and AUTH as `settings` say), in order, and returns it
/// with its address ([`first_server`] with nothing more to do). Failover
/// happens only here, before any transaction: once a message has started
/// on a server it is never tried on another (it could be delivered twice).
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
    first_server(runtime, servers, settings, |client, server| async move {
        Tried::Done((client, server))
    })
    .await
    .map(|(found, _)| found)
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
