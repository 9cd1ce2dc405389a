//! Pending decisions: issuing a request, applying the application's
//! verdict to the step it answers, and expiring it at its deadline.

use crate::wire::reply::Reply;

use super::connection::{Phase, ServerConnection};
use super::decision::{Step, Token};
use super::event::{AcceptedRecipient, CloseKind, ServerEvent, TimeoutKind, TransactionEnd};
use super::pending_state::{Pending, Waiting};
use super::replies;
use super::transaction::Transaction;

impl ServerConnection {
    /// Issues a request: a new token, the decision deadline, the event.
    pub(crate) fn request(
        &mut self,
        step: Step,
        waiting: Waiting,
        event: impl FnOnce(Token) -> ServerEvent,
    ) {
        self.seq += 1;
        let token = Token::new(self.seq);
        self.pending = Some(Pending {
            token,
            step,
            waiting,
        });
        self.timers.start_decision(self.now, &self.config.timeouts);
        self.out.event(event(token));
    }

    /// Applies a decision.
    pub(crate) fn apply(&mut self, pending: Pending, reply: Option<Reply>) {
        let step = pending.step;
        // The reply as sent: completed with an enhanced code (stripped
        // again when enhanced codes are not in use).
        let reply = reply.map(|r| step.complete(r));
        let refused = reply.as_ref().filter(|r| !r.code().is_positive());
        let closing = refused.is_some_and(|r| r.code().as_u16() == 421);
        // The 421 for the close reason (a copy only when it closes).
        let closing_reply = if closing { reply.clone() } else { None };
        match pending.waiting {
            Waiting::Connect => self.apply_connect(reply),
            Waiting::Helo { domain, extended } => self.apply_helo(domain, extended, reply),
            Waiting::Mail { from, params } => match reply {
                Some(r) if !r.code().is_positive() => {
                    self.send(&r);
                    if !closing {
                        self.count_refusal();
                    }
                }
                r => {
                    self.txn = Some(Transaction::new(from, params));
                    self.send(&r.unwrap_or_else(|| replies::reply(250, (2, 1, 0), "Sender OK")));
                }
            },
            Waiting::Rcpt {
                to,
                params,
                local_postmaster,
            } => {
                let accepted = match &reply {
                    Some(r) if !r.code().is_positive() => local_postmaster && !closing,
                    _ => true,
                };
                if accepted {
                    if let Some(txn) = self.txn.as_mut() {
                        txn.recipients.push(AcceptedRecipient { to, params });
                    }
                    let r = reply
                        .filter(|r| r.code().is_positive())
                        .unwrap_or_else(|| replies::reply(250, (2, 1, 5), "Recipient OK"));
                    self.send(&r);
                } else if let Some(r) = reply {
                    self.send(&r);
                    if !closing {
                        self.count_refusal();
                    }
                }
            }
            Waiting::Auth(wait) => self.auth_decided(wait, reply),
            Waiting::Message => {
                self.timers.end_transfer();
                if refused.is_none() {
                    self.forgive();
                }
                let end = if refused.is_some() {
                    TransactionEnd::Refused
                } else {
                    TransactionEnd::Delivered
                };
                let r = reply.unwrap_or_else(|| replies::reply(250, (2, 0, 0), "Message accepted"));
                self.send(&r);
                self.end_transaction(end);
            }
        }
        if closing && !self.is_closed() {
            let reason = if step == Step::Connect {
                CloseKind::HostRefused
            } else {
                CloseKind::ServiceClosing
            };
            self.close_with(reason, closing_reply, None);
        }
    }

    fn apply_connect(&mut self, reply: Option<Reply>) {
        self.phase = Phase::Command;
        match reply {
            None => {
                let config = &self.config;
                let text = if config.banner.is_empty() {
                    format!("{} ESMTP", config.domain)
                } else {
                    format!("{} ESMTP {}", config.domain, config.banner)
                };
                self.send_plain(&replies::plain(220, &text));
            }
            Some(r) => {
                if !r.code().is_positive() {
                    self.refused_host = Some(0);
                }
                self.send_plain(&r);
            }
        }
    }

    /// Answers a decision that ran out of time.
    pub(crate) fn expire_decision(&mut self) {
        let Some(pending) = self.pending.take() else {
            return;
        };
        self.timers.end_decision();
        self.out.event(ServerEvent::DecisionExpired {
            token: pending.token,
        });
        match pending.waiting {
            Waiting::Connect => {
                let r = replies::reply(421, (4, 3, 0), "Service not available");
                self.send_plain(&r);
                self.close_with(
                    CloseKind::Timeout(TimeoutKind::ConnectDecision),
                    Some(r),
                    None,
                );
                return;
            }
            Waiting::Helo { .. } => self.send_plain(&replies::decision_timeout()),
            Waiting::Auth(_) => {
                self.end_sasl();
                self.send(&replies::decision_timeout());
            }
            Waiting::Message => {
                self.timers.end_transfer();
                self.send(&replies::decision_timeout());
                self.end_transaction(TransactionEnd::Refused);
            }
            Waiting::Mail { .. } | Waiting::Rcpt { .. } => {
                self.send(&replies::decision_timeout());
            }
        }
        self.resume();
    }
}
