//! AUTH (RFC 4954): choosing a mechanism, the 334 exchange, falling back
//! only when a mechanism is unusable, and never going on unauthenticated.

use std::collections::VecDeque;
use std::time::Instant;

use super::auth_state::AuthExchange;
use super::close::{CloseKind, CloseReason, Phase};
use super::config::AuthSecurity;
use super::connection::{ClientConnection, State};
use super::event::ClientEvent;
use super::pending::PendingKind;
use crate::sasl::{
    ClientContext, ClientMechanism, Mechanism, SaslError, decode_base64, encode_base64,
};
use crate::wire::reply::{Reply, ReplyCode};

/// The longest AUTH line that may carry an initial response, CRLF included
/// (RFC 4954 §4: the 512-octet command line limit).
const MAX_AUTH_LINE: usize = 512;

impl ClientConnection {
    /// Starts AUTH, or closes when credentials may not or cannot be used.
    pub(crate) fn start_auth(&mut self, now: Instant) {
        let Some(credentials) = self.config.credentials.as_ref() else {
            self.after_auth(now);
            return;
        };
        let secure = match self.config.auth_security {
            AuthSecurity::VerifiedTls => self.tls.as_ref().is_some_and(|t| t.peer_verified),
            AuthSecurity::AnyTls => self.tls.is_some(),
            AuthSecurity::Plaintext => true,
        };
        if !secure {
            self.quit_after(
                now,
                CloseReason::new(CloseKind::CredentialsWithheld, Phase::Auth),
            );
            return;
        }
        let offered = self
            .capabilities
            .as_ref()
            .map(|c| c.auth.clone())
            .unwrap_or_default();
        let candidates: VecDeque<Mechanism> = self
            .config
            .auth_mechanisms
            .iter()
            .copied()
            .filter(|m| offered.iter().any(|o| o.eq_ignore_ascii_case(m.name())))
            .filter(|m| credentials.usable_with(*m))
            .collect();
        if candidates.is_empty() {
            self.quit_after(
                now,
                CloseReason::new(CloseKind::AuthUnavailable, Phase::Auth),
            );
            return;
        }
        self.state = State::Auth;
        self.auth = Some(AuthExchange {
            candidates,
            current: None,
            deferred_initial: None,
            cancelled: None,
            last_refusal: None,
        });
        self.next_mechanism(now);
    }

    /// Tries the next candidate mechanism, skipping those that cannot be
    /// prepared locally; closes when none is left.
    fn next_mechanism(&mut self, now: Instant) {
        let Some(credentials) = self.config.credentials.clone() else {
            return;
        };
        loop {
            let Some(auth) = self.auth.as_mut() else {
                return;
            };
            let Some(mechanism) = auth.candidates.pop_front() else {
                let last = auth.last_refusal.take();
                let kind = if last.is_some() {
                    CloseKind::AuthFailed
                } else {
                    CloseKind::AuthUnavailable
                };
                let (reply, command) = last.map_or((None, None), |(r, c)| (Some(r), Some(c)));
                self.quit_after(
                    now,
                    CloseReason::new(kind, Phase::Auth)
                        .with_reply(reply)
                        .with_command(command),
                );
                return;
            };
            let context = ClientContext::new(
                self.config.nonce(mechanism),
                self.session.server_name.clone(),
            )
            .with_service(self.config.sasl_service.clone());
            let Ok(mut client) = ClientMechanism::new(mechanism, &credentials, context) else {
                continue;
            };
            let name = mechanism.name();
            let mut line = format!("AUTH {name}");
            let mut deferred = None;
            if let Some(initial) = client.initial_response() {
                let encoded = if initial.is_empty() {
                    "=".to_owned()
                } else {
                    encode_base64(&initial)
                };
                if line.len() + 1 + encoded.len() + 2 <= MAX_AUTH_LINE {
                    line.push(' ');
                    line.push_str(&encoded);
                } else {
                    deferred = Some(initial);
                }
            }
            line.push_str("\r\n");
            auth.current = Some(client);
            auth.deferred_initial = deferred;
            auth.cancelled = None;
            let shown = format!("AUTH {name}");
            self.send_command(now, PendingKind::Auth, line.as_bytes(), Some(shown));
            return;
        }
    }

    pub(crate) fn on_auth(&mut self, now: Instant, reply: Reply, command: String) {
        let Some(auth) = self.auth.as_mut() else {
            return;
        };
        let mechanism = auth.current.as_ref().map(ClientMechanism::mechanism);
        let shown = mechanism.map_or_else(|| "AUTH".to_owned(), |m| format!("AUTH {m} (response)"));
        let code = reply.code();
        if code == ReplyCode::AUTH_CHALLENGE && auth.cancelled.is_none() {
            let response = if let Some(initial) = auth.deferred_initial.take() {
                Ok(initial)
            } else {
                let text: String = reply.lines().concat();
                match (decode_base64(text.trim()), auth.current.as_mut()) {
                    (Ok(challenge), Some(client)) => client.step(&challenge),
                    (Err(error), _) => Err(error),
                    (_, None) => Err(SaslError::BadState),
                }
            };
            let line = match response {
                Ok(bytes) => {
                    let mut line = encode_base64(&bytes);
                    line.push_str("\r\n");
                    line
                }
                Err(error) => {
                    auth.cancelled = Some(error);
                    "*\r\n".to_owned()
                }
            };
            self.send_command(now, PendingKind::Auth, line.as_bytes(), Some(shown));
            return;
        }
        let reason = |kind| {
            CloseReason::new(kind, Phase::Auth)
                .with_reply(Some(reply.clone()))
                .with_command(Some(command.clone()))
        };
        if let Some(error) = auth.cancelled.take() {
            let kind = if matches!(error, SaslError::ServerSignatureMismatch) {
                CloseKind::ServerNotAuthenticated
            } else {
                CloseKind::AuthFailed
            };
            self.close(reason(kind));
            return;
        }
        if code == ReplyCode::AUTH_SUCCESS {
            let verified = auth.current.as_ref().map(ClientMechanism::finish);
            match (verified, mechanism) {
                (Some(Ok(())), Some(mechanism)) => {
                    self.auth = None;
                    self.authenticated = Some(mechanism);
                    self.push_event(ClientEvent::Authenticated { mechanism });
                    self.after_auth(now);
                }
                _ => self.close(reason(CloseKind::ServerNotAuthenticated)),
            }
            return;
        }
        if matches!(code.as_u16(), 504 | 534 | 538) {
            auth.last_refusal = Some((reply, command));
            auth.current = None;
            self.next_mechanism(now);
            return;
        }
        // 535, 454 and anything else: stop; never retry weaker, never go
        // on unauthenticated.
        self.quit_after(now, reason(CloseKind::AuthFailed));
    }
}
