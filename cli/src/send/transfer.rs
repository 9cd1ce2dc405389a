//! Connecting with failover and sending: the same steps as the driver's
//! `send_message`, kept here so one prepared message can be reported in
//! full (and bulk mode can reuse a connection for many messages).

use mailwire_core::TlsInfo;
use mailwire_core::client::{CloseReason, MailOptions, TransactionOutcome};
use mailwire_core::wire::address::{Domain, ForwardPath};
use mailwire_driver::Runtime;
use mailwire_driver::client::{
    Client, ClientError, ServerAddress, Tried, default_client_name, first_server,
};
use mailwire_tokio::Tokio;

use super::compose::Draft;
use super::settings::Plan;

/// A client connection on the tokio runtime.
pub type TokioClient = Client<<Tokio as Runtime>::Stream, Tokio>;

/// `host:port`, with brackets around an IPv6 host.
#[must_use]
pub fn label(host: &str, port: u16) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

/// The name on the right-hand side of added Message-IDs.
#[must_use]
pub fn message_id_domain(plan: &Plan) -> Domain {
    plan.settings
        .client_name
        .clone()
        .or_else(default_client_name)
        .unwrap_or_else(|| Domain::Name("localhost".into()))
}

/// Connects to the first server of `plan` that is ready for mail; each
/// server given up is added to `failures`.
pub async fn connect_any(
    plan: &Plan,
    failures: &mut Vec<Failure>,
) -> Option<(TokioClient, ServerAddress)> {
    let found = first_server(
        Tokio,
        &plan.servers,
        &plan.settings,
        |client, server| async move { Tried::Done((client, server.clone())) },
    )
    .await;
    let (found, given_up) = match found {
        Ok((found, given_up)) => (Some(found), given_up),
        Err(given_up) => (None, given_up),
    };
    failures.extend(given_up.into_iter().map(|f| Failure {
        server: label(&f.host, f.port),
        error: f.error,
    }));
    found
}

/// One server given up before it was ready for mail.
#[derive(Debug)]
pub struct Failure {
    /// `host:port`.
    pub server: String,
    /// Why.
    pub error: ClientError,
}

/// A [`Failure`] for `server`.
#[must_use]
pub fn failure(server: &ServerAddress, error: ClientError) -> Failure {
    Failure {
        server: label(&server.host, server.port),
        error,
    }
}

/// What one message did on a server that was ready for it.
#[derive(Debug)]
pub struct Delivery {
    /// `host:port` of the server.
    pub server: String,
    /// The TLS session (`None`: plaintext).
    pub tls: Option<TlsInfo>,
    /// The envelope recipients, in order.
    pub recipients: Vec<ForwardPath>,
    /// The transaction's outcome, or why the message could not go on this
    /// connection at all (refused before MAIL).
    pub outcome: Result<TransactionOutcome, String>,
    /// Why the connection ended when it ended with the message (not by our
    /// QUIT): says what made an unknown outcome unknown.
    pub close: Option<CloseReason>,
}

/// The result of [`send_once`].
#[derive(Debug)]
pub enum SendResult {
    /// Refused before any connection (the message or an option).
    Usage(String),
    /// Every server failed before it was ready for mail.
    AllFailed {
        /// Each server's reason, in order.
        failures: Vec<Failure>,
        /// The envelope recipients.
        recipients: Vec<ForwardPath>,
    },
    /// A server was ready: what it did.
    Delivered {
        /// The servers given up before it.
        failures: Vec<Failure>,
        /// What happened.
        delivery: Box<Delivery>,
    },
}

/// Prepares the message and sends it to the first server that takes the
/// transaction (tcllib's `smtp::sendmessage` order: once MAIL is written,
/// no other server is tried).
pub async fn send_once(plan: &Plan, draft: &Draft) -> SendResult {
    let domain = message_id_domain(plan);
    let prepared = match draft.prepare(plan.settings.random.as_ref(), &domain) {
        Ok(prepared) => prepared,
        Err(problem) => return SendResult::Usage(problem),
    };
    let mut envelope = draft.envelope(&prepared);
    envelope.options = envelope.options.with_policy(super::bulk::policy(plan));
    let body = bytes::Bytes::from(prepared.bytes.clone());
    let mut failures = Vec::new();
    for server in &plan.servers {
        if let Some(transcript) = &plan.transcript {
            transcript.note(&format!("Trying {}...", label(&server.host, server.port)));
        }
        let mut client = match Client::connect(Tokio, server, &plan.settings).await {
            Ok(client) => client,
            Err(error) => {
                failures.push(failure(server, error));
                continue;
            }
        };
        let tls = client.tls_info().cloned();
        let sent = if draft.compose.is_some() {
            // Built for this server: ASCII unless an address needs UTF-8
            // and the server offers SMTPUTF8.
            match draft.build(
                client.header_charset(),
                plan.settings.random.as_ref(),
                &domain,
            ) {
                Ok(built) => {
                    let options = MailOptions::default().with_policy(super::bulk::policy(plan));
                    Some(client.send_built(&built, options).await)
                }
                Err(problem) => {
                    let close = client.close_reason().cloned();
                    if client.is_open() {
                        let _ = client.quit().await;
                    }
                    return SendResult::Delivered {
                        failures,
                        delivery: Box::new(Delivery {
                            server: label(&server.host, server.port),
                            tls,
                            recipients: prepared.recipients.clone(),
                            outcome: Err(problem),
                            close,
                        }),
                    };
                }
            }
        } else {
            None
        };
        let sent = match sent {
            Some(sent) => sent,
            None => {
                draft
                    .transmit(&mut client, envelope.clone(), body.clone())
                    .await
            }
        };
        let outcome = match sent {
            Ok(outcome) => Ok(outcome),
            Err(ClientError::Usage(error)) => Err(error.to_string()),
            Err(error) => {
                // Closed while idle, before MAIL: the next server may try.
                failures.push(failure(server, error));
                continue;
            }
        };
        let close = client.close_reason().cloned();
        if client.is_open() {
            let _ = client.quit().await;
        }
        let tls = match &outcome {
            Ok(outcome) => outcome.tls.clone().or(tls),
            Err(_) => tls,
        };
        return SendResult::Delivered {
            failures,
            delivery: Box::new(Delivery {
                server: label(&server.host, server.port),
                tls,
                recipients: prepared.recipients.clone(),
                outcome,
                close,
            }),
        };
    }
    SendResult::AllFailed {
        failures,
        recipients: prepared.recipients,
    }
}
