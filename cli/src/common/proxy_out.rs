//! swaks' PROXY protocol flags for a client that speaks for others
//! (`--proxy-version`, `--proxy-source`, `--proxy-source-port`,
//! `--proxy-dest`, `--proxy-dest-port`).

use std::net::IpAddr;

use mailwire_driver::client::ProxyHeaderPlan;

/// The flags, as clap parses them.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct ProxyOutArgs {
    /// Send a PROXY protocol header of this version (1: text, 2: binary)
    /// before anything else, as a load balancer does; the server must
    /// trust this host (e.g. `mailwire serve --proxy-from`).
    #[arg(long, value_name = "1|2", value_parser = clap::value_parser!(u8).range(1..=2))]
    pub proxy_version: Option<u8>,
    /// The client address the header announces (default: this
    /// connection's own).
    #[arg(long, value_name = "IP", requires = "proxy_version")]
    pub proxy_source: Option<IpAddr>,
    /// The client port the header announces (default: this connection's
    /// own).
    #[arg(long, value_name = "PORT", requires = "proxy_version")]
    pub proxy_source_port: Option<u16>,
    /// The destination address the header announces (default: the
    /// server's).
    #[arg(long, value_name = "IP", requires = "proxy_version")]
    pub proxy_dest: Option<IpAddr>,
    /// The destination port the header announces (default: the server's).
    #[arg(long, value_name = "PORT", requires = "proxy_version")]
    pub proxy_dest_port: Option<u16>,
}

impl ProxyOutArgs {
    /// The header to send, if one was asked for.
    #[must_use]
    pub fn plan(&self) -> Option<ProxyHeaderPlan> {
        let version = self.proxy_version?;
        let mut plan = ProxyHeaderPlan::new(version);
        plan.source = (self.proxy_source, self.proxy_source_port);
        plan.destination = (self.proxy_dest, self.proxy_dest_port);
        Some(plan)
    }
}
