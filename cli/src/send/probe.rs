//! `--quit-after`: a session that stops on purpose (swaks' stop points),
//! sending QUIT there — in the setup (the core stops) or after MAIL or the
//! RCPTs (an envelope built step by step, then QUIT). Nothing is sent.

use mailwire_core::client::{CloseKind, Recipient};
use mailwire_core::wire::reply::Reply;
use std::sync::Arc;

use mailwire_driver::client::{
    ClientError, ClientSettings, Observer, TraceEvent, Tried, first_server,
};
use mailwire_tokio::Tokio;
use serde::Serialize;

use super::compose::Draft;
use super::exit::{self, EXIT_PARTIAL, EXIT_PERMANENT, EXIT_SENT, EXIT_TEMPORARY, EXIT_USAGE};
use super::report::{JsonReply, failure_text, print_json};
use super::settings::Plan;
use super::swaks::QuitAfter;
use super::transfer::message_id_domain;
use crate::common::text::{escape_control as escape, label};

/// The JSON object of a `--quit-after` run.
#[derive(Debug, Serialize)]
struct JsonStopped {
    outcome: &'static str,
    sent: bool,
    stop_point: String,
    server: Option<String>,
    mail: Option<JsonReply>,
    recipients: Vec<JsonProbe>,
    error: Option<String>,
    exit_code: u8,
    exit_meaning: &'static str,
}

/// One recipient's answer in JSON.
#[derive(Debug, Serialize)]
struct JsonProbe {
    address: String,
    reply: JsonReply,
}

fn positive(reply: &Reply) -> bool {
    reply.code().is_positive()
}

fn by_reply(reply: &Reply) -> u8 {
    if reply.code().as_u16() / 100 == 5 {
        EXIT_PERMANENT
    } else {
        EXIT_TEMPORARY
    }
}

/// Runs the session to `point` on the first server that gets there;
/// returns the exit status (0 when it stopped where asked and every
/// command on the way was accepted).
pub async fn run(plan: &Plan, draft: &Draft, point: QuitAfter, json: bool) -> u8 {
    let domain = message_id_domain(plan);
    let prepared = match draft.prepare(plan.settings.random.as_ref(), &domain) {
        Ok(prepared) => prepared,
        Err(problem) => {
            eprintln!("mailwire send: {}", escape(&problem));
            return EXIT_USAGE;
        }
    };
    let envelope = &draft.envelope(&prepared);
    let settings = telling_failures(plan);
    let found = first_server(
        Tokio,
        &plan.servers,
        &settings,
        |mut client, server| async move {
            let name = label(&server.host, server.port);
            let QuitAfter::Setup(_) = point else {
                let (mail, answers, error) = envelope_steps(&mut client, envelope, point).await;
                if client.is_open() {
                    let _ = client.quit().await;
                }
                let status = match (&mail, &error) {
                    (_, Some(_)) => EXIT_TEMPORARY,
                    (None, None) => EXIT_TEMPORARY,
                    (Some(reply), None) if !positive(reply) => by_reply(reply),
                    (Some(_), None) => {
                        let accepted = answers.iter().filter(|(_, r)| positive(r)).count();
                        if accepted == answers.len() {
                            EXIT_SENT
                        } else if accepted > 0 {
                            EXIT_PARTIAL
                        } else {
                            answers
                                .iter()
                                .map(|(_, r)| by_reply(r))
                                .min()
                                .unwrap_or(EXIT_SENT)
                        }
                    }
                };
                return Tried::Done(report(
                    json,
                    &point,
                    &name,
                    mail.as_ref(),
                    &answers,
                    error,
                    status,
                ));
            };
            // The setup finished without reaching the stop point (it cannot,
            // but quit politely all the same).
            let _ = client.quit().await;
            Tried::Done(report(json, &point, &name, None, &[], None, EXIT_SENT))
        },
    )
    .await;
    let given_up = match found {
        Ok((status, _)) => return status,
        Err(given_up) => given_up,
    };
    if let Some(last) = given_up.last()
        && stopped(&last.error)
    {
        // The setup reached the stop point: the session ended as asked.
        let name = label(&last.host, last.port);
        return report(json, &point, &name, None, &[], None, EXIT_SENT);
    }
    let status = exit::for_failures(given_up.iter().map(|f| &f.error));
    let error = given_up.last().map(|f| failure_text(&f.error));
    if json && !plan.servers.is_empty() {
        report(json, &point, "", None, &[], error, status)
    } else {
        eprintln!("mailwire send: stopped before {point}: no server was ready");
        status
    }
}

/// Whether the session ended at the stop point asked for.
fn stopped(error: &ClientError) -> bool {
    matches!(error, ClientError::Closed(reason) if matches!(reason.kind, CloseKind::Stopped(_)))
}

/// `plan`'s client settings, telling each server given up on standard
/// error as it happens (after its transcript, before the next server's).
fn telling_failures(plan: &Plan) -> ClientSettings {
    let inner = plan.settings.observer.clone();
    let observer: Observer = Arc::new(move |event: &TraceEvent<'_>| {
        if let TraceEvent::GaveUp { server, error } = event
            && !stopped(error)
        {
            eprintln!(
                "mailwire send: {}: {}",
                escape(&label(&server.host, server.port)),
                escape(&failure_text(error))
            );
        }
        if let Some(inner) = &inner {
            inner(event);
        }
    });
    plan.settings.clone().with_observer(observer)
}

/// MAIL, then (for `rcpt`) each RCPT, each answered before the next.
async fn envelope_steps(
    client: &mut super::settings::TokioClient,
    envelope: &mailwire_core::client::Envelope,
    point: QuitAfter,
) -> (Option<Reply>, Vec<(String, Reply)>, Option<String>) {
    let mail = match client
        .open_mail(envelope.reverse_path.clone(), envelope.options.clone())
        .await
    {
        Ok(reply) => reply,
        Err(error) => return (None, Vec::new(), Some(failure_text(&error))),
    };
    let mut answers = Vec::new();
    if point == QuitAfter::Rcpt && positive(&mail) {
        for recipient in &envelope.recipients {
            let address = recipient.path.to_string();
            match client.add_recipient(Recipient::clone(recipient)).await {
                Ok(reply) => answers.push((address, reply)),
                Err(error) => return (Some(mail), answers, Some(failure_text(&error))),
            }
        }
    }
    (Some(mail), answers, None)
}

fn report(
    json: bool,
    point: &QuitAfter,
    server: &str,
    mail: Option<&Reply>,
    answers: &[(String, Reply)],
    error: Option<String>,
    status: u8,
) -> u8 {
    if json {
        print_json(&JsonStopped {
            outcome: if status == EXIT_SENT {
                "stopped"
            } else {
                "not_sent"
            },
            sent: false,
            stop_point: point.to_string(),
            server: (!server.is_empty()).then(|| server.to_owned()),
            mail: mail.map(JsonReply::from_reply),
            recipients: answers
                .iter()
                .map(|(address, reply)| JsonProbe {
                    address: address.clone(),
                    reply: JsonReply::from_reply(reply),
                })
                .collect(),
            error,
            exit_code: status,
            exit_meaning: if status == EXIT_SENT {
                "stopped_as_asked"
            } else {
                exit::meaning(status)
            },
        });
        return status;
    }
    if let Some(error) = &error {
        eprintln!("mailwire send: {}", escape(error));
    }
    println!(
        "stopped after {point} via {}, as asked; nothing was sent",
        escape(server)
    );
    if let Some(reply) = mail {
        println!("  MAIL: {}", escape(&reply.to_string()));
    }
    for (address, reply) in answers {
        println!("  RCPT {}: {}", escape(address), escape(&reply.to_string()));
    }
    status
}
