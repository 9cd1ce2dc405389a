//! Session setup: greeting, EHLO (HELO fallback), STARTTLS and its policy,
//! QUED, and the `Ready` event.

use std::time::Instant;

use super::close::{CloseKind, CloseReason, Phase};
use super::config::{StartTlsRefused, TlsPolicy};
use super::connection::{ClientConnection, State};
use super::deadline::Deadline;
use super::event::{ClientEvent, PlaintextDecision, PolicyToken};
use super::pending::PendingKind;
use super::stop::StopPoint;
use crate::wire::command::Command;
use crate::wire::ehlo::{Capabilities, EhloReply};
use crate::wire::reply::{Reply, ReplyCode};
use crate::{TlsInfo, UsageError};

impl ClientConnection {
    /// The application's answer to a
    /// [`TlsPolicyRequest`](ClientEvent::TlsPolicyRequest): go on in
    /// plaintext (AUTH and the rest follow, as the configuration allows),
    /// or quit this server ([`CloseKind::TlsAbandoned`]).
    ///
    /// # Errors
    ///
    /// [`UsageError::UnknownToken`] for a token that is not the pending
    /// one (nothing changes).
    pub fn decide_plaintext(
        &mut self,
        now: Instant,
        token: PolicyToken,
        decision: PlaintextDecision,
    ) -> Result<(), UsageError> {
        if self.is_closed() {
            return Err(UsageError::Closed);
        }
        if self.state != State::PolicyDecision(token) {
            return Err(UsageError::UnknownToken);
        }
        self.timers.clear(Deadline::WAIT);
        match decision {
            PlaintextDecision::Continue => self.after_tls(now),
            PlaintextDecision::Abandon => self.quit_after(
                now,
                CloseReason::new(CloseKind::TlsAbandoned, Phase::StartTls),
            ),
        }
        self.flush();
        Ok(())
    }

    pub(crate) fn on_greeting(&mut self, now: Instant, reply: Reply, command: String) {
        if reply.code() == ReplyCode::SERVICE_READY {
            self.greeting = Some(reply);
            if self.stops_at(StopPoint::Banner) {
                self.stop(now, StopPoint::Banner, Phase::Greeting);
                return;
            }
            if self.stops_at(StopPoint::Tls) && self.session.implicit_tls.is_some() {
                // Implicit TLS: the handshake came before the greeting;
                // stop right there, as swaks does, without an EHLO.
                self.stop(now, StopPoint::Tls, Phase::Greeting);
                return;
            }
            self.send_hello(now, PendingKind::Ehlo);
            return;
        }
        let reason = CloseReason::new(CloseKind::GreetingRefused, Phase::Greeting)
            .with_command(Some(command));
        if matches!(
            reply.code(),
            ReplyCode::SERVICE_UNAVAILABLE | ReplyCode::CLOSING
        ) {
            // The server is closing the channel already: no QUIT.
            self.close(reason.with_reply(Some(reply)));
        } else {
            // RFC 5321 §3.1: after a 554 greeting the client should QUIT.
            self.quit_after(now, reason.with_reply(Some(reply)));
        }
    }

    /// Sends EHLO or HELO with the configured name.
    fn send_hello(&mut self, now: Instant, kind: PendingKind) {
        let domain = self.config.client_name.clone();
        let command = if kind == PendingKind::Helo {
            Command::Helo(domain)
        } else {
            Command::Ehlo(domain)
        };
        self.state = State::Hello;
        self.send_command(now, kind, &command.to_bytes(), None);
    }

    pub(crate) fn on_ehlo(&mut self, now: Instant, reply: Reply, command: String) {
        if reply.code() == ReplyCode::OK {
            match EhloReply::parse(&reply) {
                Ok(ehlo) => {
                    self.capabilities = Some(ehlo.capabilities.clone());
                    self.ehlo = Some(ehlo);
                    self.after_hello(now);
                }
                Err(_) => self.quit_after(
                    now,
                    CloseReason::new(
                        CloseKind::ProtocolViolation("EHLO reply names no domain"),
                        Phase::Ehlo,
                    )
                    .with_reply(Some(reply))
                    .with_command(Some(command)),
                ),
            }
            return;
        }
        // HELO can carry neither STARTTLS nor AUTH.
        let needs_starttls =
            matches!(self.config.tls, TlsPolicy::Required { .. }) && self.tls.is_none();
        let helo_allowed =
            reply.code().is_permanent() && !needs_starttls && self.config.credentials.is_none();
        if helo_allowed {
            self.send_hello(now, PendingKind::Helo);
        } else {
            self.quit_after(
                now,
                CloseReason::new(CloseKind::HelloRefused, Phase::Ehlo)
                    .with_reply(Some(reply))
                    .with_command(Some(command)),
            );
        }
    }

    pub(crate) fn on_helo(&mut self, now: Instant, reply: Reply, command: String) {
        // RFC 5321 §4.3.2: 250 is HELO's only success.
        if reply.code() == ReplyCode::OK {
            self.ehlo = None;
            self.capabilities = Some(Capabilities::default());
            self.after_hello(now);
        } else {
            self.quit_after(
                now,
                CloseReason::new(CloseKind::HelloRefused, Phase::Helo)
                    .with_reply(Some(reply))
                    .with_command(Some(command)),
            );
        }
    }

    /// After a successful EHLO/HELO: STARTTLS if the policy says so, then
    /// AUTH, then ready.
    fn after_hello(&mut self, now: Instant) {
        if self.stops_at(StopPoint::FirstHelo) && !self.starttls_tried {
            self.stop(now, StopPoint::FirstHelo, self.hello_phase());
            return;
        }
        if self.tls.is_none() {
            let offered = self.capabilities.as_ref().is_some_and(|c| c.starttls);
            match self.config.tls {
                TlsPolicy::Required { .. } => {
                    if offered {
                        self.send_starttls(now);
                    } else {
                        let phase = if self.ehlo.is_some() {
                            Phase::Ehlo
                        } else {
                            Phase::Helo
                        };
                        self.quit_after(now, CloseReason::new(CloseKind::TlsUnavailable, phase));
                    }
                    return;
                }
                TlsPolicy::Opportunistic { .. } if offered && !self.starttls_tried => {
                    self.send_starttls(now);
                    return;
                }
                _ => {}
            }
        }
        self.after_tls(now);
    }

    fn send_starttls(&mut self, now: Instant) {
        self.starttls_tried = true;
        self.state = State::StartTls;
        self.send_command(now, PendingKind::StartTls, b"STARTTLS\r\n", None);
    }

    pub(crate) fn on_starttls(&mut self, now: Instant, reply: Reply, command: String) {
        if reply.code() == ReplyCode::SERVICE_READY {
            // Whatever follows the 220 in this read is dropped by
            // handle_input (wants_read is now false).
            self.state = State::TlsHandshake;
            self.timers.set_opt(
                Deadline::Wait(Phase::TlsHandshake),
                now.checked_add(self.config.timeouts.tls_handshake),
            );
            self.push_start_tls();
            return;
        }
        let reason = |kind| {
            CloseReason::new(kind, Phase::StartTls)
                .with_reply(Some(reply.clone()))
                .with_command(Some(command.clone()))
        };
        match self.config.tls {
            TlsPolicy::Opportunistic {
                on_refused: StartTlsRefused::Continue,
            }
            | TlsPolicy::Disabled => self.after_tls(now),
            TlsPolicy::Opportunistic {
                on_refused: StartTlsRefused::Abandon,
            } => self.quit_after(now, reason(CloseKind::TlsAbandoned)),
            TlsPolicy::Opportunistic {
                on_refused: StartTlsRefused::Ask,
            } => {
                let token = PolicyToken(self.next_token);
                self.next_token += 1;
                self.state = State::PolicyDecision(token);
                self.timers.set_opt(
                    Deadline::Wait(Phase::PolicyDecision),
                    now.checked_add(self.config.timeouts.decision),
                );
                self.push_event(ClientEvent::TlsPolicyRequest { token, reply });
            }
            TlsPolicy::Required { .. } => self.quit_after(now, reason(CloseKind::StartTlsRefused)),
        }
    }

    pub(crate) fn on_tls_established(&mut self, now: Instant, info: TlsInfo) {
        self.timers.clear(Deadline::WAIT);
        self.tls = Some(info.clone());
        self.push_event(ClientEvent::TlsUpgraded(info.clone()));
        if let TlsPolicy::Required {
            accept_invalid_certs: false,
        } = self.config.tls
            && !info.peer_verified
        {
            self.close(CloseReason::new(
                CloseKind::CertificateNotVerified,
                Phase::TlsHandshake,
            ));
            return;
        }
        if self.stops_at(StopPoint::Tls) {
            self.stop(now, StopPoint::Tls, Phase::TlsHandshake);
            return;
        }
        // RFC 3207 §4.2: forget everything learnt before TLS.
        self.ehlo = None;
        self.capabilities = None;
        self.auth = None;
        self.authenticated = None;
        self.send_hello(now, PendingKind::Ehlo);
    }

    /// After TLS (or without it): AUTH when credentials are configured.
    fn after_tls(&mut self, now: Instant) {
        for point in [StopPoint::Tls, StopPoint::Helo] {
            if self.stops_at(point) {
                self.stop(now, point, self.hello_phase());
                return;
            }
        }
        if self.config.credentials.is_some() {
            self.start_auth(now);
        } else {
            self.after_auth(now);
        }
    }

    /// After AUTH (or without it): QUED when asked for and offered, then
    /// ready.
    pub(crate) fn after_auth(&mut self, now: Instant) {
        if self.stops_at(StopPoint::Auth) {
            self.stop(now, StopPoint::Auth, Phase::Auth);
            return;
        }
        let xque = self
            .capabilities
            .as_ref()
            .is_some_and(|c| c.unknown.iter().any(|e| e.keyword() == "XQUE"));
        if self.config.queue && xque {
            self.state = State::Queue;
            self.send_command(now, PendingKind::Queue, b"QUED\r\n", None);
        } else {
            self.become_ready();
        }
    }

    /// The reply to QUED does not matter (tcllib ignores it too).
    pub(crate) fn on_queue(&mut self, _now: Instant) {
        self.become_ready();
    }

    /// Whether the configuration stops the session at `point`.
    fn stops_at(&self, point: StopPoint) -> bool {
        self.config.stop_after == Some(point)
    }

    /// QUIT at a stop point; the connection closes with
    /// [`CloseKind::Stopped`].
    fn stop(&mut self, now: Instant, point: StopPoint, phase: Phase) {
        self.quit_after(now, CloseReason::new(CloseKind::Stopped(point), phase));
    }

    /// The phase of the last EHLO or HELO.
    fn hello_phase(&self) -> Phase {
        if self.ehlo.is_some() {
            Phase::Ehlo
        } else {
            Phase::Helo
        }
    }

    fn become_ready(&mut self) {
        self.state = State::Ready;
        let capabilities = self.capabilities.clone().unwrap_or_default();
        self.push_event(ClientEvent::Ready { capabilities });
    }
}
