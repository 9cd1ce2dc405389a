//! Host, sender and recipient policy from the command line (`--deny-host`,
//! `--allow-sender`/`--deny-sender`, `--allow-recipient`/`--deny-recipient`),
//! shared by `serve` and `relay`: tcllib smtpd's `validate_host`,
//! `validate_sender` and `validate_recipient` as flags.
//!
//! A deny always wins; once any allow pattern of a kind is given, only
//! what matches one is accepted. Patterns are case-insensitive globs on
//! the bare address (`*` any run, `?` one character; the null sender is
//! the empty string).

use std::net::IpAddr;

use mailwire_driver::core::wire::address::{ForwardPath, ReversePath};
use mailwire_driver::server::{Glob, HookError, HookResult};

use mailwire_driver::server::Cidr;

/// The policy flags, as clap parses them.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct PolicyArgs {
    /// Refuse connections from this network or address pattern (a CIDR
    /// block such as 192.0.2.0/24, or a glob on the address such as
    /// 192.168.1.*); repeatable. A deny always wins.
    #[arg(long = "deny-host", value_name = "CIDR|GLOB")]
    pub deny_host: Vec<String>,
    /// Accept only senders matching this glob (case-insensitive, on the
    /// bare address; the null sender <> is the empty string ''); repeatable.
    #[arg(long = "allow-sender", value_name = "GLOB")]
    pub allow_sender: Vec<String>,
    /// Refuse senders matching this glob (550 5.7.1); repeatable. A deny
    /// always wins.
    #[arg(long = "deny-sender", alias = "reject-sender", value_name = "GLOB")]
    pub deny_sender: Vec<String>,
    /// Accept only recipients matching this glob; repeatable.
    #[arg(long = "allow-recipient", value_name = "GLOB")]
    pub allow_recipient: Vec<String>,
    /// Refuse recipients matching this glob (550 5.1.1); repeatable. A
    /// deny always wins.
    #[arg(
        long = "deny-recipient",
        alias = "reject-recipient",
        value_name = "GLOB"
    )]
    pub deny_recipient: Vec<String>,
}

impl PolicyArgs {
    /// Every pattern given, for the argument checks.
    pub fn texts(&self) -> impl Iterator<Item = &String> {
        self.deny_host
            .iter()
            .chain(&self.allow_sender)
            .chain(&self.deny_sender)
            .chain(&self.allow_recipient)
            .chain(&self.deny_recipient)
    }
}

/// A host pattern: a network, or a glob on the address text.
#[derive(Debug, Clone)]
enum HostPattern {
    Network(Cidr),
    Glob(Glob),
}

/// The compiled policy.
#[derive(Debug, Clone, Default)]
pub struct Policy {
    deny_hosts: Vec<HostPattern>,
    allow_senders: Vec<Glob>,
    deny_senders: Vec<Glob>,
    allow_recipients: Vec<Glob>,
    deny_recipients: Vec<Glob>,
}

fn globs(patterns: &[String]) -> Vec<Glob> {
    patterns.iter().map(|p| Glob::new(p)).collect()
}

impl Policy {
    /// Compiles the flags.
    ///
    /// # Errors
    ///
    /// A `--deny-host` that is neither a network nor a glob (a sentence
    /// naming it).
    pub fn new(args: &PolicyArgs) -> Result<Policy, String> {
        let mut deny_hosts = Vec::new();
        for text in &args.deny_host {
            if text.contains(['*', '?']) {
                deny_hosts.push(HostPattern::Glob(Glob::new(text)));
            } else {
                let cidr = text
                    .parse::<Cidr>()
                    .map_err(|e| format!("--deny-host {text:?}: {e}"))?;
                deny_hosts.push(HostPattern::Network(cidr));
            }
        }
        Ok(Policy {
            deny_hosts,
            allow_senders: globs(&args.allow_sender),
            deny_senders: globs(&args.deny_sender),
            allow_recipients: globs(&args.allow_recipient),
            deny_recipients: globs(&args.deny_recipient),
        })
    }

    /// Whether a client at `ip` is denied.
    #[must_use]
    pub fn host_denied(&self, ip: IpAddr) -> bool {
        let canonical = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        let text = canonical.to_string();
        self.deny_hosts.iter().any(|p| match p {
            HostPattern::Network(c) => c.contains(ip),
            HostPattern::Glob(g) => g.matches(&text),
        })
    }

    /// The host check, as a hook answer: `554 5.7.1` in place of the
    /// greeting.
    ///
    /// # Errors
    ///
    /// The host is denied.
    pub fn check_host(&self, ip: Option<IpAddr>) -> HookResult {
        match ip {
            Some(ip) if self.host_denied(ip) => {
                // Application policy: the CLI's own reply, not one the protocol implies.
                Err(HookError::refuse(554, "5.7.1", "Access denied"))
            }
            _ => Ok(()),
        }
    }

    /// The sender check: `550 5.7.1` when denied or not allowed.
    ///
    /// # Errors
    ///
    /// The sender is refused.
    pub fn check_sender(&self, from: &ReversePath) -> HookResult {
        let address = bare_reverse(from);
        if refused(&self.allow_senders, &self.deny_senders, &address) {
            // Application policy: the CLI's own reply, not one the protocol implies.
            return Err(HookError::refuse(550, "5.7.1", "Sender refused"));
        }
        Ok(())
    }

    /// The recipient check: `550 5.1.1` when denied or not allowed.
    ///
    /// # Errors
    ///
    /// The recipient is refused.
    pub fn check_recipient(&self, to: &ForwardPath) -> HookResult {
        let address = bare_forward(to);
        if refused(&self.allow_recipients, &self.deny_recipients, &address) {
            // Application policy: the CLI's own reply, not one the protocol implies.
            return Err(HookError::refuse(550, "5.1.1", "Recipient refused"));
        }
        Ok(())
    }
}

/// A deny wins; with any allow pattern, only a match is accepted.
fn refused(allow: &[Glob], deny: &[Glob], address: &str) -> bool {
    deny.iter().any(|g| g.matches(address))
        || (!allow.is_empty() && !allow.iter().any(|g| g.matches(address)))
}

/// An address as patterns see it and output shows it: without angle
/// brackets, empty for the null sender.
#[must_use]
pub fn bare_reverse(path: &ReversePath) -> String {
    path.mailbox().map(ToString::to_string).unwrap_or_default()
}

/// A recipient as patterns see it: without angle brackets, `Postmaster`
/// for `<Postmaster>`.
#[must_use]
pub fn bare_forward(path: &ForwardPath) -> String {
    match path.mailbox() {
        Some(m) => m.to_string(),
        None => "Postmaster".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(args: PolicyArgs) -> Policy {
        Policy::new(&args).unwrap()
    }

    #[test]
    fn deny_wins_and_allow_lists_close() {
        let p = policy(PolicyArgs {
            allow_sender: vec!["*@example.org".into(), String::new()],
            deny_sender: vec!["spam*@example.org".into()],
            ..PolicyArgs::default()
        });
        let from = |s: &str| s.parse::<ReversePath>().unwrap();
        assert!(p.check_sender(&from("<bob@EXAMPLE.org>")).is_ok());
        assert!(
            p.check_sender(&from("<>")).is_ok(),
            "'' allows the null sender"
        );
        assert!(p.check_sender(&from("<spammer@example.org>")).is_err());
        assert!(p.check_sender(&from("<bob@example.net>")).is_err());
    }

    #[test]
    fn hosts_by_network_or_glob() {
        let p = policy(PolicyArgs {
            deny_host: vec!["192.168.1.*".into(), "10.0.0.0/8".into()],
            ..PolicyArgs::default()
        });
        assert!(p.host_denied("192.168.1.7".parse().unwrap()));
        assert!(p.host_denied("::ffff:192.168.1.7".parse().unwrap()));
        assert!(p.host_denied("10.2.3.4".parse().unwrap()));
        assert!(!p.host_denied("192.168.2.7".parse().unwrap()));
        assert!(
            Policy::new(&PolicyArgs {
                deny_host: vec!["not a net".into()],
                ..PolicyArgs::default()
            })
            .is_err()
        );
    }
}
