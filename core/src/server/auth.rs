//! AUTH (RFC 4954), server side: the SMTP framing around a
//! [`ServerMechanism`], with the application deciding on passwords and
//! supplying stored secrets.
//!
//! SASL payloads are never put in an event except as the password of
//! [`AuthCheck::VerifyPassword`] (a [`SecretString`], redacted in `Debug`).

use crate::sasl::{
    Mechanism, SCRAM_DEFAULT_ITERATIONS, SaslError, ScramCredentials, ServerContext,
    ServerMechanism, ServerStep, StoredSecret, decode_base64, encode_base64,
};
use crate::wire::command::{Command, CommandError, InitialResponse};
use crate::wire::reply::Reply;

use super::auth_state::{AuthWait, Authentication};
use super::connection::ServerConnection;
use super::decision::Step;
use super::event::{AuthCheck, CloseKind, ServerEvent};
use super::pending_state::Waiting;
use super::replies;

#[cfg(doc)]
use crate::sasl::SecretString;

impl ServerConnection {
    /// The AUTH command (input behind it was already dropped).
    pub(crate) fn auth(&mut self, parsed: Result<Command, CommandError>) {
        let refusal = if !self.is_extended() {
            Some(replies::bad_sequence("Send EHLO first"))
        } else if self.auth.is_some() {
            Some(replies::bad_sequence("Already authenticated"))
        } else if self.txn.is_some() {
            Some(replies::bad_sequence(
                "AUTH not allowed during a mail transaction",
            ))
        } else if self.config.offered_mechanisms(true).is_empty() {
            Some(replies::not_implemented("AUTH not available"))
        } else {
            None
        };
        if let Some(r) = refusal {
            return self.send_error(&r);
        }
        let (name, initial) = match parsed {
            Ok(Command::Auth {
                mechanism,
                initial_response,
            }) => (mechanism, initial_response),
            Ok(_) => return,
            Err(_) => {
                return self.send_error(&replies::syntax(
                    "Syntax: AUTH mechanism [initial-response]",
                ));
            }
        };
        let tls = self.tls.is_some();
        let configured = Mechanism::from_name(name.as_str())
            .filter(|m| self.config.offered_mechanisms(true).contains(m));
        let Some(mechanism) = configured else {
            return self.send_error(&replies::auth_unknown_mechanism());
        };
        if !self.config.offered_mechanisms(tls).contains(&mechanism) {
            return self.send(&replies::auth_needs_tls());
        }
        if initial.is_some() && matches!(mechanism, Mechanism::CramMd5 | Mechanism::DigestMd5) {
            return self.send_error(&replies::auth_bad_initial());
        }
        let initial = match initial {
            None => None,
            Some(InitialResponse::Empty) => Some(Vec::new()),
            Some(InitialResponse::Base64(text)) => match decode_base64(&text) {
                Ok(bytes) => Some(bytes),
                Err(_) => return self.auth_fail(replies::auth_bad_base64()),
            },
        };
        let nonce = self.config.sasl_nonce.make(&*self.config.random);
        let context = ServerContext::new(nonce, self.config.domain.clone());
        let mut server = match ServerMechanism::new(mechanism, context) {
            Ok(server) => server,
            Err(_) => return self.send(&replies::auth_temporary()),
        };
        let step = server.start(initial.as_deref());
        self.sasl = Some(server);
        self.auth_step(mechanism, step);
    }

    /// One line of the client during the exchange.
    pub(crate) fn sasl_response(&mut self, line: &[u8]) {
        // Nothing may be pipelined behind a SASL response.
        self.discard_input();
        if line == b"*" {
            self.end_sasl();
            return self.send(&replies::auth_cancelled());
        }
        let Ok(bytes) = decode_base64(line) else {
            return self.auth_fail(replies::auth_bad_base64());
        };
        let Some(server) = self.sasl.as_mut() else {
            return;
        };
        let mechanism = server.mechanism();
        let step = server.step(&bytes);
        self.auth_step(mechanism, step);
    }

    /// A SASL response line over the limit (`500 5.5.6`, RFC 4954 §4).
    pub(crate) fn sasl_line_too_long(&mut self) {
        self.auth_fail(replies::sasl_line_too_long());
    }

    /// Acts on what the mechanism says next.
    fn auth_step(&mut self, mechanism: Mechanism, step: Result<ServerStep, SaslError>) {
        match step {
            Ok(ServerStep::Challenge(challenge)) => {
                // `334 SP base64 CRLF` (RFC 4954 §4), never an enhanced code.
                let mut line = Vec::with_capacity(challenge.len() * 4 / 3 + 8);
                line.extend_from_slice(b"334 ");
                line.extend_from_slice(encode_base64(&challenge).as_bytes());
                line.extend_from_slice(b"\r\n");
                self.out.raw(&line);
            }
            Ok(ServerStep::VerifyPassword {
                authzid,
                username,
                password,
            }) => {
                let wait = AuthWait {
                    mechanism,
                    username: username.clone(),
                    authzid: authzid.clone(),
                };
                self.request(Step::Auth, Waiting::Auth(wait), |token| {
                    ServerEvent::AuthRequest {
                        token,
                        mechanism,
                        check: AuthCheck::VerifyPassword {
                            authzid,
                            username,
                            password,
                        },
                    }
                });
            }
            Ok(ServerStep::NeedSecret { authzid, username }) => {
                let wait = AuthWait {
                    mechanism,
                    username: username.clone(),
                    authzid: authzid.clone(),
                };
                self.request(Step::AuthSecret, Waiting::Auth(wait), |token| {
                    ServerEvent::AuthRequest {
                        token,
                        mechanism,
                        check: AuthCheck::NeedSecret { authzid, username },
                    }
                });
            }
            Ok(ServerStep::Success { authzid, username }) => match authzid {
                Some(authzid) if authzid != username => {
                    let wait = AuthWait {
                        mechanism,
                        username: username.clone(),
                        authzid: Some(authzid.clone()),
                    };
                    self.request(Step::Auth, Waiting::Auth(wait), |token| {
                        ServerEvent::AuthRequest {
                            token,
                            mechanism,
                            check: AuthCheck::Authorize { authzid, username },
                        }
                    });
                }
                authzid => self.auth_success(
                    AuthWait {
                        mechanism,
                        username,
                        authzid,
                    },
                    None,
                ),
            },
            Ok(ServerStep::Failure) => self.auth_fail(replies::auth_failed()),
            Err(error) => self.auth_fail(sasl_error_reply(&error)),
        }
    }

    /// The application decided on a password or an authorisation (or
    /// refused a secret lookup).
    pub(crate) fn auth_decided(&mut self, wait: AuthWait, reply: Option<Reply>) {
        match reply {
            Some(r) if !r.code().is_positive() => self.auth_fail(r),
            reply => self.auth_success(wait, reply),
        }
    }

    /// The application supplied a stored secret (or `None`: no such user).
    pub(crate) fn auth_supply(&mut self, wait: AuthWait, secret: Option<StoredSecret>) {
        let secret = match secret {
            Some(secret) => secret,
            // Run SCRAM to its end with credentials nobody can match, so the
            // client cannot tell an unknown user from a wrong password
            // (RFC 5802 §5.1).
            None if wait.mechanism == Mechanism::ScramSha256 => {
                StoredSecret::Scram(ScramCredentials::mock(
                    self.config.scram_mock_key(),
                    &wait.username,
                    SCRAM_DEFAULT_ITERATIONS,
                ))
            }
            None => return self.auth_fail(replies::auth_failed()),
        };
        let Some(server) = self.sasl.as_mut() else {
            return;
        };
        let step = server.supply(secret);
        self.auth_step(wait.mechanism, step);
    }

    fn auth_success(&mut self, wait: AuthWait, reply: Option<Reply>) {
        self.end_sasl();
        self.send(&reply.unwrap_or_else(replies::auth_ok));
        self.auth = Some(Authentication {
            mechanism: wait.mechanism,
            username: wait.username.clone(),
            authzid: wait.authzid.clone(),
        });
        self.out.event(ServerEvent::Authenticated {
            mechanism: wait.mechanism,
            username: wait.username,
            authzid: wait.authzid,
        });
    }

    /// Ends the exchange with a failure reply and counts it; at the limit,
    /// `421 4.7.0` and close.
    fn auth_fail(&mut self, reply: Reply) {
        self.end_sasl();
        self.send(&reply);
        self.auth_failures = self.auth_failures.saturating_add(1);
        if self.auth_failures >= self.config.limits.max_auth_failures && !self.is_closed() {
            let reply = replies::auth_too_many_failures();
            self.send(&reply);
            self.close_with(CloseKind::TooManyAuthFailures, Some(reply), None);
        }
    }

    /// Forgets the exchange (the command line limit applies again).
    pub(crate) fn end_sasl(&mut self) {
        self.sasl = None;
    }
}

/// The reply to a mechanism error (see [`SaslError`]).
fn sasl_error_reply(error: &SaslError) -> Reply {
    match error {
        SaslError::Malformed | SaslError::UnexpectedChallenge | SaslError::NonceMismatch => {
            replies::reply(501, (5, 5, 2), "Malformed authentication response")
        }
        SaslError::TooLong => replies::sasl_line_too_long(),
        _ => replies::auth_temporary(),
    }
}
