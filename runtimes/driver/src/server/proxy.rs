//! Reading a PROXY protocol header from a trusted balancer before the
//! session starts (before the greeting, and before the TLS handshake on an
//! implicit-TLS port): exactly the header's octets, under a deadline.

use std::net::SocketAddr;

use futures_io::AsyncRead;
use futures_lite::{AsyncReadExt, FutureExt};
use mailwire_core::wire::proxy::{ProxyHeader, ProxyParse};

use super::options::ServerOptions;
use crate::Runtime;

/// The session's addresses once the header is read: `(local, peer)`.
pub(crate) type Addresses = (Option<SocketAddr>, Option<SocketAddr>);

/// Reads the header a trusted balancer sends first and returns the
/// addresses it names (for `LOCAL` and `UNKNOWN`, the connection's own).
/// `None` when it is missing, malformed, too long or late: the connection
/// is then closed without a word (it is not an SMTP client).
pub(crate) async fn read_header<S, R>(
    stream: &mut S,
    runtime: &R,
    options: &ServerOptions,
    own: Addresses,
) -> Option<Addresses>
where
    S: AsyncRead + Unpin,
    R: Runtime,
{
    let deadline = runtime.now() + options.proxy_timeout;
    let read = async {
        let mut buf = Vec::new();
        loop {
            match ProxyParse::parse_with_cap(&buf, options.proxy_max_len) {
                Ok(ProxyParse::Need(n)) => {
                    let at = buf.len();
                    buf.resize(at + n, 0);
                    stream.read_exact(&mut buf[at..]).await.ok()?;
                }
                Ok(ProxyParse::Done { header, .. }) => return Some(header),
                Ok(_) | Err(_) => return None,
            }
        }
    };
    let late = async {
        runtime.sleep_until(deadline).await;
        None
    };
    match read.or(late).await? {
        ProxyHeader::Proxied {
            source,
            destination,
        } => Some((Some(destination), Some(source))),
        _ => Some(own),
    }
}
