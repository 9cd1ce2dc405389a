//! Command lines: framing, policy gates and one handler per verb.
//!
//! The order of checks for a line: a refused host answers `503` to all but
//! QUIT; an unknown verb is `500`; a TLS or AUTH policy is `530`; then each
//! handler checks the sequence (`503`) before the arguments (`501`/`555`).

use crate::wire::address::{Domain, ForwardPath};
use crate::wire::command::{Command, CommandError, CommandErrorKind, Verb};
use crate::wire::ehlo::{Capabilities, EhloReply};
use crate::wire::line::Framed;
use crate::wire::reply::Reply;

use super::connection::{Helo, Phase, ServerConnection};
use super::decision::Step;
use super::event::{AbortReason, CloseKind, ServerEvent, TransactionEnd, Transfer};
use super::pending_state::Waiting;
use super::replies;
use super::transaction;

type Parsed = Result<Command, CommandError>;

impl ServerConnection {
    /// Frames the next line and handles it. Returns false when no complete
    /// line is buffered.
    pub(crate) fn next_line(&mut self) -> bool {
        // SASL responses, and the AUTH command line with its initial
        // response, may be 12,288 octets long (RFC 4954 §4); every other
        // command line is held to the command limit.
        let limits = &self.config.limits;
        let long = self.sasl.is_some()
            || (!self.config.auth_mechanisms.is_empty()
                && self
                    .inbuf
                    .get(..5)
                    .is_some_and(|start| start.eq_ignore_ascii_case(b"AUTH ")));
        let limit = if long {
            limits.max_sasl_line.max(limits.max_line)
        } else {
            limits.max_line
        };
        if !self.framer.is_discarding() {
            // The limit of a line is fixed when its first bytes are seen.
            self.framing_auth = long;
            self.framer.set_max_len(limit.max(3));
        }
        match self.framer.next(&self.inbuf) {
            Framed::Line { line, consumed, .. } => {
                let line = line.to_vec();
                self.consume(consumed);
                self.line_done = true;
                if self.sasl.is_some() {
                    self.sasl_response(&line);
                } else {
                    self.command(&line);
                }
                true
            }
            Framed::TooLong { consumed, length } => {
                self.consume(consumed);
                self.line_done = true;
                match self.line_answered.take() {
                    // Answered when it passed the limit; nothing pipelined
                    // behind an AUTH line is run.
                    Some(true) => self.discard_input(),
                    Some(false) => {}
                    None => {
                        self.over_long_line();
                    }
                }
                if self.over_discard_limit(u64::try_from(length).unwrap_or(u64::MAX)) {
                    self.close_discard_limit(&replies::line_past_discard_limit());
                }
                true
            }
            Framed::Incomplete { consumed } => {
                self.consume(consumed);
                if self.framer.is_discarding() {
                    // The limit is passed and the end may never come:
                    // answer now, and give up past the discard limit.
                    if self.line_answered.is_none() {
                        let drop_rest = self.over_long_line();
                        self.line_answered = Some(drop_rest);
                    }
                    let dropped = u64::try_from(self.framer.discarded_len()).unwrap_or(u64::MAX);
                    if self.over_discard_limit(dropped) {
                        self.close_discard_limit(&replies::line_past_discard_limit());
                    }
                }
                false
            }
        }
    }

    fn command(&mut self, line: &[u8]) {
        let parsed = Command::parse(line);
        let verb = match &parsed {
            Ok(c) => Some(c.verb()),
            Err(e) => e.verb(),
        };
        if self.refused_host.is_some() {
            if matches!(parsed, Ok(Command::Quit)) {
                self.quit(parsed);
            } else {
                self.refused_host_command();
            }
            return;
        }
        let Some(verb) = verb.filter(|v| *v != Verb::Lhlo) else {
            let reply = match &parsed {
                Err(e) if matches!(e.kind(), CommandErrorKind::ForbiddenByte(_)) => {
                    replies::reply(500, (5, 5, 2), "Invalid character in command")
                }
                _ => replies::unknown_command(),
            };
            self.send_error(&reply);
            return;
        };
        // AUTH and STARTTLS end a pipelined group (RFC 4954 §4, RFC 3207
        // §4.2): whatever was sent behind them is never run.
        if matches!(verb, Verb::Auth | Verb::StartTls) {
            self.discard_input();
        }
        if let Some(reply) = self.policy_gate(verb) {
            if verb == Verb::Bdat {
                // The chunk's octets are still read (and dropped).
                self.bdat(parsed, Some(reply));
            } else {
                self.refuse(verb, &reply);
            }
            return;
        }
        match verb {
            Verb::Ehlo | Verb::Helo => self.helo(parsed, verb == Verb::Ehlo),
            Verb::Mail => self.mail(parsed),
            Verb::Rcpt => self.rcpt(parsed),
            Verb::Data => self.data(parsed),
            Verb::Bdat => self.bdat(parsed, None),
            Verb::Rset => self.rset(parsed),
            Verb::Noop => self.simple(parsed, replies::ok()),
            Verb::Quit => self.quit(parsed),
            Verb::Vrfy => self.simple(parsed, self.config.vrfy_reply.clone()),
            Verb::Expn => self.simple(parsed, self.config.expn_reply.clone()),
            Verb::Help => self.simple(parsed, help()),
            Verb::StartTls => self.starttls(parsed),
            Verb::Auth => self.auth(parsed),
            Verb::Lhlo => self.send_error(&replies::unknown_command()),
        }
    }

    /// A command from a refused host: `503`, and after a few `421`.
    pub(crate) fn refused_host_command(&mut self) {
        let tries = self.refused_host.unwrap_or(0).saturating_add(1);
        self.refused_host = Some(tries);
        self.send(&replies::bad_sequence("Bad sequence of commands"));
        if tries >= self.config.limits.max_refused_host_commands {
            let reply = replies::reply(421, (4, 7, 0), "Closing connection");
            self.send(&reply);
            self.close_with(CloseKind::HostRefused, Some(reply), None);
        }
    }

    /// The `530` of a TLS or AUTH policy, if it applies to `verb`.
    pub(crate) fn policy_gate(&self, verb: Verb) -> Option<Reply> {
        let tls_exempt = matches!(
            verb,
            Verb::Noop | Verb::Ehlo | Verb::Helo | Verb::StartTls | Verb::Rset | Verb::Quit
        );
        if self.config.require_tls && self.tls.is_none() && !tls_exempt {
            return Some(replies::tls_required());
        }
        let auth_exempt = tls_exempt || verb == Verb::Auth;
        if self.config.require_auth && self.auth.is_none() && !auth_exempt {
            return Some(replies::auth_required());
        }
        None
    }

    /// Sends an error reply for `verb` and counts it. Replies to HELO/EHLO
    /// never carry an enhanced code (RFC 2034 §4); a refused DATA drops
    /// whatever was pipelined behind it.
    fn refuse(&mut self, verb: Verb, reply: &Reply) {
        if matches!(verb, Verb::Ehlo | Verb::Helo) {
            self.send_plain(reply);
            self.count_error();
        } else {
            self.send_error(reply);
        }
        if verb == Verb::Data {
            self.discard_input();
        }
    }

    /// The reply to arguments that did not parse.
    fn argument_error(&self, verb: Verb, kind: &CommandErrorKind) -> Reply {
        match (verb, kind) {
            (_, CommandErrorKind::ForbiddenByte(_)) => replies::bad_byte(),
            (Verb::Mail, CommandErrorKind::Address(_)) => {
                replies::reply(501, (5, 1, 7), "Bad sender address syntax")
            }
            (Verb::Rcpt, CommandErrorKind::Address(_)) => {
                replies::reply(501, (5, 1, 3), "Bad recipient address syntax")
            }
            (Verb::Mail | Verb::Rcpt, CommandErrorKind::Params(e)) => transaction::param_error(
                e,
                self.helo.as_ref().and_then(|h| h.caps.as_ref()),
                self.config.pass_unknown_params,
            ),
            (Verb::Ehlo | Verb::Helo, CommandErrorKind::Address(_)) => {
                replies::syntax("Invalid domain name")
            }
            (Verb::Ehlo, _) => replies::syntax("Syntax: EHLO hostname"),
            (Verb::Helo, _) => replies::syntax("Syntax: HELO hostname"),
            (Verb::Mail, _) => replies::syntax("Syntax: MAIL FROM:<address>"),
            (Verb::Rcpt, _) => replies::syntax("Syntax: RCPT TO:<address>"),
            (Verb::Vrfy | Verb::Expn, _) => replies::syntax("Argument required"),
            (Verb::Auth, _) => replies::syntax("Syntax: AUTH mechanism [initial-response]"),
            (Verb::Noop | Verb::Help, _) => replies::syntax("Syntax error in argument"),
            _ => replies::syntax("No parameters allowed"),
        }
    }

    /// A command whose only answer is `reply` once its arguments parse.
    fn simple(&mut self, parsed: Parsed, reply: Reply) {
        match parsed {
            Ok(_) => self.send(&reply),
            Err(e) => {
                let verb = e.verb().unwrap_or(Verb::Noop);
                let r = self.argument_error(verb, e.kind());
                self.refuse(verb, &r);
            }
        }
    }

    fn helo(&mut self, parsed: Parsed, extended: bool) {
        let verb = if extended { Verb::Ehlo } else { Verb::Helo };
        let domain = match parsed {
            Ok(Command::Ehlo(d) | Command::Helo(d)) => d,
            Ok(_) => return,
            Err(e) => {
                let r = self.argument_error(verb, e.kind());
                self.refuse(verb, &r);
                return;
            }
        };
        // A new EHLO/HELO is a reset (RFC 5321 §4.1.4).
        self.reset_transaction(AbortReason::Reset, TransactionEnd::Helo);
        self.helo = None;
        let event_domain = domain.clone();
        self.request(Step::Helo, Waiting::Helo { domain, extended }, |token| {
            ServerEvent::HeloRequest {
                token,
                domain: event_domain,
                extended,
            }
        });
    }

    /// Answers an accepted (or refused) HELO/EHLO.
    pub(crate) fn apply_helo(&mut self, domain: Domain, extended: bool, reply: Option<Reply>) {
        if let Some(r) = reply.as_ref().filter(|r| !r.code().is_positive()) {
            self.send_plain(r);
            return;
        }
        let greeting = reply
            .as_ref()
            .and_then(|r| r.lines().first().cloned())
            .unwrap_or_else(|| format!("Hello {domain}"));
        if extended {
            let caps = self.advertised();
            let ehlo = EhloReply {
                domain: self.config.domain.clone(),
                greeting,
                capabilities: caps.clone(),
            };
            self.send_plain(&ehlo.to_reply());
            self.helo = Some(Helo {
                domain,
                caps: Some(caps),
            });
        } else {
            let r = match reply {
                Some(r) => r,
                None => replies::plain(250, &format!("{} {greeting}", self.config.domain)),
            };
            self.send_plain(&r);
            self.helo = Some(Helo { domain, caps: None });
        }
    }

    /// The extensions to advertise now.
    fn advertised(&self) -> Capabilities {
        let config = &self.config;
        let ext = &config.extensions;
        let tls = self.tls.is_some();
        let auth_allowed = tls || !config.require_tls;
        Capabilities {
            pipelining: ext.pipelining,
            eight_bit_mime: ext.eight_bit_mime,
            smtputf8: ext.smtputf8 && ext.eight_bit_mime,
            size: ext
                .size
                .then(|| config.limits.max_message_size.unwrap_or(0)),
            chunking: ext.chunking,
            binary_mime: ext.binary_mime && ext.chunking,
            dsn: ext.dsn,
            enhanced_status_codes: ext.enhanced_status_codes,
            starttls: ext.starttls && !tls,
            requiretls: ext.requiretls && tls,
            auth: if auth_allowed {
                config
                    .offered_mechanisms(tls)
                    .iter()
                    .map(|m| m.name().to_owned())
                    .collect()
            } else {
                Vec::new()
            },
            auth_legacy: false,
            unknown: Vec::new(),
        }
    }

    fn mail(&mut self, parsed: Parsed) {
        if self.helo.is_none() {
            return self.refuse(Verb::Mail, &replies::bad_sequence("Send HELO/EHLO first"));
        }
        if self.txn.is_some() {
            return self.refuse(Verb::Mail, &replies::bad_sequence("Nested MAIL command"));
        }
        let (from, params) = match parsed {
            Ok(Command::Mail { from, params }) => (from, params),
            Ok(_) => return,
            Err(e) => {
                let r = self.argument_error(Verb::Mail, e.kind());
                return self.refuse(Verb::Mail, &r);
            }
        };
        let caps = self.capabilities();
        if let Err(r) =
            transaction::check_mail_params(&params, caps, self.config.pass_unknown_params)
        {
            return self.refuse(Verb::Mail, &r);
        }
        if from.is_utf8() && !params.smtputf8 {
            return self.refuse(Verb::Mail, &replies::needs_smtputf8());
        }
        if let (Some(size), Some(max)) = (params.size, self.config.limits.max_message_size)
            && size > max
        {
            self.send(&replies::size_exceeded());
            return;
        }
        let (f, p) = (from.clone(), params.clone());
        self.request(Step::Mail, Waiting::Mail { from, params }, |token| {
            ServerEvent::MailRequest {
                token,
                from: f,
                params: p,
            }
        });
    }

    fn rcpt(&mut self, parsed: Parsed) {
        let Some(txn) = self.txn.as_ref() else {
            return self.refuse(Verb::Rcpt, &replies::bad_sequence("Need MAIL command"));
        };
        let smtputf8 = txn.params.smtputf8;
        let count = txn.recipients.len();
        let (to, params) = match parsed {
            Ok(Command::Rcpt { to, params }) => (to, params),
            Ok(_) => return,
            Err(e) => {
                let r = self.argument_error(Verb::Rcpt, e.kind());
                return self.refuse(Verb::Rcpt, &r);
            }
        };
        let caps = self.capabilities();
        if let Err(r) =
            transaction::check_rcpt_params(&params, caps, self.config.pass_unknown_params)
        {
            return self.refuse(Verb::Rcpt, &r);
        }
        if to.is_utf8() && !smtputf8 {
            return self.refuse(Verb::Rcpt, &replies::needs_smtputf8());
        }
        if count >= self.config.limits.max_recipients {
            // Not an error: the client is to send the others in another
            // transaction (RFC 5321 §4.5.3.1.10).
            self.send(&replies::too_many_recipients());
            return;
        }
        let local_postmaster = match &to {
            ForwardPath::Postmaster => true,
            ForwardPath::Mailbox(m) => {
                m.is_postmaster()
                    && matches!(m.domain(), Domain::Name(d) if self.config.is_local_domain(d))
            }
        };
        let (t, p) = (to.clone(), params.clone());
        let waiting = Waiting::Rcpt {
            to,
            params,
            local_postmaster,
        };
        self.request(Step::Rcpt, waiting, |token| ServerEvent::RcptRequest {
            token,
            to: t,
            params: p,
            is_local_postmaster: local_postmaster,
        });
    }

    fn data(&mut self, parsed: Parsed) {
        if let Err(e) = parsed {
            let r = self.argument_error(Verb::Data, e.kind());
            return self.refuse(Verb::Data, &r);
        }
        let refusal = match self.txn.as_ref() {
            None => Some(replies::bad_sequence("Need MAIL command")),
            Some(t) if t.bdat_used => Some(replies::bad_sequence("DATA not allowed after BDAT")),
            Some(t) if t.body() == crate::wire::params::BodyType::BinaryMime => Some(
                replies::bad_sequence("DATA not allowed with BODY=BINARYMIME, use BDAT"),
            ),
            Some(t) if t.recipients.is_empty() => Some(replies::no_valid_recipients()),
            Some(_) => None,
        };
        if let Some(r) = refusal {
            if r.code().as_u16() == 554 {
                // Normal when pipelined recipients were all refused: not
                // counted as an error.
                self.send(&r);
                self.discard_input();
                return;
            }
            return self.refuse(Verb::Data, &r);
        }
        let Some(txn) = self.txn.as_mut() else {
            return;
        };
        txn.transfer = Some(Transfer::Data);
        let envelope = txn.envelope(Transfer::Data);
        self.unstuffer.reset();
        self.phase = Phase::Data;
        self.timers.start_transfer(self.now, &self.config.timeouts);
        self.send(&replies::start_data());
        self.out.event(ServerEvent::MessageStarted { envelope });
    }

    fn rset(&mut self, parsed: Parsed) {
        match parsed {
            Ok(_) => {
                self.reset_transaction(AbortReason::Reset, TransactionEnd::Reset);
                self.send(&replies::ok());
            }
            Err(e) => {
                let r = self.argument_error(Verb::Rset, e.kind());
                self.refuse(Verb::Rset, &r);
            }
        }
    }

    fn quit(&mut self, parsed: Parsed) {
        if let Err(e) = parsed {
            let r = self.argument_error(Verb::Quit, e.kind());
            return self.refuse(Verb::Quit, &r);
        }
        let text = format!(
            "{} Service closing transmission channel",
            self.config.domain
        );
        let reply = replies::reply(221, (2, 0, 0), &text);
        self.send(&reply);
        self.close_with(CloseKind::Quit, Some(reply), Some("QUIT".to_owned()));
    }

    fn starttls(&mut self, parsed: Parsed) {
        if let Err(e) = parsed {
            let r = self.argument_error(Verb::StartTls, e.kind());
            return self.refuse(Verb::StartTls, &r);
        }
        let refusal = if self.tls.is_some() {
            Some(replies::bad_sequence("TLS already active"))
        } else if !self.config.extensions.starttls {
            Some(replies::not_implemented("STARTTLS not available"))
        } else if self.helo.is_none() {
            Some(replies::bad_sequence("Send EHLO first"))
        } else if self.txn.is_some() {
            Some(replies::bad_sequence(
                "STARTTLS not allowed during a mail transaction",
            ))
        } else {
            None
        };
        if let Some(r) = refusal {
            return self.refuse(Verb::StartTls, &r);
        }
        self.send(&replies::start_tls());
        // Nothing received after the STARTTLS line is ever processed
        // (CVE-2011-0411): the buffer is dropped and not read again until
        // the handshake is done.
        self.discard_input();
        self.phase = Phase::TlsHandshake;
        self.timers.start_handshake(self.now, &self.config.timeouts);
        self.out.start_tls();
    }
}

/// The HELP text.
fn help() -> Reply {
    replies::lines(
        214,
        Some((2, 0, 0)),
        vec![
            "Commands: EHLO HELO MAIL RCPT DATA BDAT RSET NOOP QUIT".to_owned(),
            "VRFY EXPN HELP STARTTLS AUTH".to_owned(),
            "End of HELP".to_owned(),
        ],
    )
}
