//! The default EHLO name: the host's fully qualified name, else its host
//! name, `localhost` for a local server.

use mailwire_core::wire::address::Domain;

/// The name this host calls itself, for EHLO: its fully qualified name when
/// one is known (the host name if it has a dot, else the first dotted name
/// that `/etc/hosts` gives it), else the bare host name (from
/// `/proc/sys/kernel/hostname`, then `/etc/hostname`). `None` when no
/// usable name is found (the caller then uses an address literal).
#[must_use]
pub fn default_client_name() -> Option<Domain> {
    let host =
        read_trimmed("/proc/sys/kernel/hostname").or_else(|| read_trimmed("/etc/hostname"))?;
    let fqdn = if host.contains('.') {
        Some(host.clone())
    } else {
        std::fs::read_to_string("/etc/hosts")
            .ok()
            .and_then(|hosts| fqdn_from_hosts(&hosts, &host))
    };
    fqdn.and_then(|name| usable(&name))
        .or_else(|| usable(&host))
}

/// The first dotted name on an `/etc/hosts` line that also names `host`.
fn fqdn_from_hosts(hosts: &str, host: &str) -> Option<String> {
    hosts.lines().find_map(|line| {
        let line = line.split('#').next().unwrap_or_default();
        let names: Vec<&str> = line.split_whitespace().skip(1).collect();
        if !names.iter().any(|n| n.eq_ignore_ascii_case(host)) {
            return None;
        }
        names
            .iter()
            .find(|n| n.contains('.') && n.len() > host.len())
            .map(|n| (*n).to_owned())
    })
}

fn read_trimmed(path: &str) -> Option<String> {
    let text = std::fs::read_to_string(path).ok()?;
    let name = text.trim();
    (!name.is_empty() && name != "(none)").then(|| name.to_owned())
}

fn usable(name: &str) -> Option<Domain> {
    let domain = Domain::parse(name.trim_end_matches('.').as_bytes()).ok()?;
    (domain.validate().is_ok() && !domain.is_utf8()).then_some(domain)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_file_gives_the_dotted_alias() {
        let hosts = "127.0.0.1 localhost\n10.0.0.5 vm.example.org vm # mine\n";
        assert_eq!(
            fqdn_from_hosts(hosts, "vm").as_deref(),
            Some("vm.example.org")
        );
        assert_eq!(fqdn_from_hosts(hosts, "other"), None);
    }

    #[test]
    fn this_host_has_a_name() {
        assert!(default_client_name().is_some());
    }
}
