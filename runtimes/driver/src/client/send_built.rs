//! [`send_built_message`]: [`send_message`](super::send_message) for a
//! message made with [`MessageBuilder`]: built for the server that is
//! ready for it, its attachments streamed from their files.

use mailwire_core::message::{HeaderCharset, MessageBuilder};

use super::built::{BuiltBody, built_size};
use super::failover::{Tried, first_server};
use super::send::{SendSetup, conclude, finish};
use super::{SendError, SendOptions, SendReport};
use crate::Runtime;

/// Builds `message` and sends it to the first of `options.servers` that is
/// ready for it, as [`send_message`](super::send_message) does (the same
/// failover, envelope rules, options and report).
///
/// The message is checked before any connection, then built for the
/// server that is ready ([`Client::build`](super::Client::build)): ASCII
/// unless an address has a non-ASCII local part and the server offers
/// SMTPUTF8. File attachments are read as the message is sent
/// ([`Client::send_built`](super::Client::send_built)).
///
/// # Errors
///
/// As [`send_message`](super::send_message), and [`SendError::Build`]
/// when the message cannot be built: before any connection, or for the
/// server that was ready (a non-ASCII local part and no SMTPUTF8; no other
/// server is tried then).
pub async fn send_built_message<R: Runtime>(
    runtime: R,
    message: &MessageBuilder,
    options: &SendOptions,
) -> Result<SendReport, SendError> {
    let setup = SendSetup::new(options)?;
    let context = setup.context(options);
    // Every problem but a need for SMTPUTF8, before any connection.
    let _checked = message.build(HeaderCharset::Utf8, &setup.prepare, &context)?;

    let (setup, context) = (&setup, &context);
    let tried = first_server(
        runtime,
        &options.servers,
        &options.settings,
        |mut client, server| async move {
            let built = match client.build(message, &setup.prepare, context) {
                Ok(built) => built,
                Err(error) => {
                    let _ = client.quit().await;
                    return Tried::Done(Err(SendError::Build(error)));
                }
            };
            let size = built_size(&built).await;
            let envelope = setup.envelope(built.envelope(size), options);
            let mut body = BuiltBody::new(&built);
            let result = client.engine.transaction(envelope, &mut body).await;
            let prepared = &built.prepared;
            conclude(
                client,
                server,
                result,
                &prepared.reverse_path,
                &prepared.recipients,
            )
            .await
        },
    )
    .await;
    finish(tried)
}
