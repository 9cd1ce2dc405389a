//! The PROXY protocol header (HAProxy's, versions 1 and 2), which a load
//! balancer sends before anything else to say who the client really is:
//! parsed for servers, written for clients.
//!
//! The parser takes bytes as they arrive and says how many more it needs,
//! so a driver can read **exactly** the header and nothing after it (on an
//! implicit-TLS port the client's TLS handshake follows at once, and must
//! reach TLS untouched).
//!
//! ```
//! use mailwire_core::wire::proxy::{ProxyHeader, ProxyParse};
//!
//! let header = ProxyHeader::proxied(
//!     "192.0.2.7:50123".parse().unwrap(),
//!     "198.51.100.1:25".parse().unwrap(),
//! );
//! for bytes in [header.to_v1(), header.to_v2()] {
//!     let ProxyParse::Done { header: parsed, len } = ProxyParse::parse(&bytes).unwrap() else {
//!         panic!("a whole header");
//!     };
//!     assert_eq!((parsed, len), (header.clone(), bytes.len()));
//! }
//! // Too little yet: at least this many more octets.
//! assert_eq!(ProxyParse::parse(b"PROX").unwrap(), ProxyParse::Need(8));
//! ```

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// The twelve octets that start a version 2 header.
pub const V2_SIGNATURE: [u8; 12] = *b"\r\n\r\n\0\r\nQUIT\n";

/// The longest version 1 header, CRLF included (HAProxy's specification).
pub const V1_MAX: usize = 107;

/// The longest version 2 header this parser takes by default (the fixed 16
/// octets and the addresses, with room for TLVs).
pub const V2_MAX_DEFAULT: usize = 16 + 512;

/// What a PROXY header says.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProxyHeader {
    /// A proxied connection: the client's address and the address it
    /// connected to.
    Proxied {
        /// The client (the session's real peer).
        source: SocketAddr,
        /// The address the client connected to.
        destination: SocketAddr,
    },
    /// The balancer speaking for itself (v2 `LOCAL`, health checks) or an
    /// unknown protocol (v1 `UNKNOWN`): use the connection's own addresses.
    Local,
}

impl ProxyHeader {
    /// A proxied connection from `source` to `destination`.
    #[must_use]
    pub fn proxied(source: SocketAddr, destination: SocketAddr) -> ProxyHeader {
        ProxyHeader::Proxied {
            source,
            destination,
        }
    }

    /// The version 1 (text) form. Addresses of different families are
    /// written as `UNKNOWN`.
    #[must_use]
    pub fn to_v1(&self) -> Vec<u8> {
        match self {
            ProxyHeader::Proxied {
                source,
                destination,
            } if source.is_ipv4() == destination.is_ipv4() => {
                let family = if source.is_ipv4() { "TCP4" } else { "TCP6" };
                format!(
                    "PROXY {family} {} {} {} {}\r\n",
                    source.ip(),
                    destination.ip(),
                    source.port(),
                    destination.port()
                )
                .into_bytes()
            }
            _ => b"PROXY UNKNOWN\r\n".to_vec(),
        }
    }

    /// The version 2 (binary) form: `PROXY` over TCP, or `LOCAL`.
    #[must_use]
    pub fn to_v2(&self) -> Vec<u8> {
        let mut out = V2_SIGNATURE.to_vec();
        match self {
            ProxyHeader::Proxied {
                source,
                destination,
            } => {
                out.push(0x21);
                let (source, destination) = match (source, destination) {
                    (SocketAddr::V4(s), SocketAddr::V4(d)) => {
                        (SocketAddr::V4(*s), SocketAddr::V4(*d))
                    }
                    (s, d) => (
                        SocketAddr::new(v6(s.ip()), s.port()),
                        SocketAddr::new(v6(d.ip()), d.port()),
                    ),
                };
                match (source.ip(), destination.ip()) {
                    (IpAddr::V4(s), IpAddr::V4(d)) => {
                        out.push(0x11);
                        out.extend_from_slice(&12u16.to_be_bytes());
                        out.extend_from_slice(&s.octets());
                        out.extend_from_slice(&d.octets());
                    }
                    (s, d) => {
                        out.push(0x21);
                        out.extend_from_slice(&36u16.to_be_bytes());
                        out.extend_from_slice(&v6_octets(s));
                        out.extend_from_slice(&v6_octets(d));
                    }
                }
                out.extend_from_slice(&source.port().to_be_bytes());
                out.extend_from_slice(&destination.port().to_be_bytes());
            }
            ProxyHeader::Local => {
                out.push(0x20);
                out.push(0x00);
                out.extend_from_slice(&0u16.to_be_bytes());
            }
        }
        out
    }
}

fn v6(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(v4) => IpAddr::V6(v4.to_ipv6_mapped()),
        v6 => v6,
    }
}

fn v6_octets(ip: IpAddr) -> [u8; 16] {
    match ip {
        IpAddr::V4(v4) => v4.to_ipv6_mapped().octets(),
        IpAddr::V6(v6) => v6.octets(),
    }
}

/// Why bytes are not a PROXY header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProxyError {
    /// Neither `PROXY ` nor the version 2 signature.
    #[error("not a PROXY protocol header")]
    NotProxy,
    /// A version 1 line over 107 octets, or a version 2 header over the
    /// size cap.
    #[error("the PROXY header is too long")]
    TooLong,
    /// A malformed version 1 line.
    #[error("malformed PROXY v1 line")]
    BadV1,
    /// A malformed version 2 header (version, command, family or length).
    #[error("malformed PROXY v2 header")]
    BadV2,
}

/// The state of a header being read.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProxyParse {
    /// At least this many more octets are needed (read exactly that many:
    /// never more than the header).
    Need(usize),
    /// A whole header of `len` octets.
    Done {
        /// What it says.
        header: ProxyHeader,
        /// Its length: what follows it belongs to the session.
        len: usize,
    },
}

impl ProxyParse {
    /// Parses the start of `buf` with the default version 2 cap.
    ///
    /// # Errors
    ///
    /// `buf` does not start a valid header.
    pub fn parse(buf: &[u8]) -> Result<ProxyParse, ProxyError> {
        ProxyParse::parse_with_cap(buf, V2_MAX_DEFAULT)
    }

    /// Parses the start of `buf`; a version 2 header longer than `v2_cap`
    /// octets is refused.
    ///
    /// # Errors
    ///
    /// `buf` does not start a valid header.
    pub fn parse_with_cap(buf: &[u8], v2_cap: usize) -> Result<ProxyParse, ProxyError> {
        // Both versions are at least 12 octets long ("PROXY UNKNOWN\r\n"
        // is 15, a v2 header 16).
        if buf.len() < 12 {
            let prefix = &buf[..buf.len()];
            let v1 = b"PROXY ".get(..prefix.len().min(6)) == prefix.get(..prefix.len().min(6));
            let v2 = V2_SIGNATURE.get(..prefix.len()) == Some(prefix);
            if !v1 && !v2 {
                return Err(ProxyError::NotProxy);
            }
            return Ok(ProxyParse::Need(12 - buf.len()));
        }
        if buf[..12] == V2_SIGNATURE {
            return parse_v2(buf, v2_cap);
        }
        if buf.starts_with(b"PROXY ") {
            return parse_v1(buf);
        }
        Err(ProxyError::NotProxy)
    }
}

fn parse_v1(buf: &[u8]) -> Result<ProxyParse, ProxyError> {
    let window = &buf[..buf.len().min(V1_MAX)];
    let Some(end) = window.windows(2).position(|w| w == b"\r\n") else {
        if buf.len() >= V1_MAX {
            return Err(ProxyError::TooLong);
        }
        // A bare LF is never valid; do not wait for more after one.
        if window.contains(&b'\n') {
            return Err(ProxyError::BadV1);
        }
        return Ok(ProxyParse::Need(1));
    };
    let line = std::str::from_utf8(&buf[6..end]).map_err(|_| ProxyError::BadV1)?;
    let fields: Vec<&str> = line.split(' ').collect();
    let header = match fields.as_slice() {
        ["UNKNOWN", ..] => ProxyHeader::Local,
        [family @ ("TCP4" | "TCP6"), src, dst, sport, dport] => {
            let v4 = *family == "TCP4";
            let ip = |s: &str| -> Result<IpAddr, ProxyError> {
                if v4 {
                    s.parse::<Ipv4Addr>().map(IpAddr::V4)
                } else {
                    s.parse::<Ipv6Addr>().map(IpAddr::V6)
                }
                .map_err(|_| ProxyError::BadV1)
            };
            let port = |s: &str| -> Result<u16, ProxyError> {
                if s.is_empty() || s.len() > 5 || !s.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(ProxyError::BadV1);
                }
                s.parse().map_err(|_| ProxyError::BadV1)
            };
            ProxyHeader::Proxied {
                source: SocketAddr::new(ip(src)?, port(sport)?),
                destination: SocketAddr::new(ip(dst)?, port(dport)?),
            }
        }
        _ => return Err(ProxyError::BadV1),
    };
    Ok(ProxyParse::Done {
        header,
        len: end + 2,
    })
}

fn parse_v2(buf: &[u8], cap: usize) -> Result<ProxyParse, ProxyError> {
    if buf.len() < 16 {
        return Ok(ProxyParse::Need(16 - buf.len()));
    }
    let ver_cmd = buf[12];
    if ver_cmd >> 4 != 2 {
        return Err(ProxyError::BadV2);
    }
    let family = buf[13];
    let len = usize::from(u16::from_be_bytes([buf[14], buf[15]]));
    let total = 16 + len;
    if total > cap {
        return Err(ProxyError::TooLong);
    }
    if buf.len() < total {
        return Ok(ProxyParse::Need(total - buf.len()));
    }
    let body = &buf[16..total];
    let header = match ver_cmd & 0x0f {
        0x0 => ProxyHeader::Local,
        0x1 => match family {
            0x11 if len >= 12 => {
                let ip = |at: usize| {
                    IpAddr::V4(Ipv4Addr::new(
                        body[at],
                        body[at + 1],
                        body[at + 2],
                        body[at + 3],
                    ))
                };
                let port = |at: usize| u16::from_be_bytes([body[at], body[at + 1]]);
                ProxyHeader::Proxied {
                    source: SocketAddr::new(ip(0), port(8)),
                    destination: SocketAddr::new(ip(4), port(10)),
                }
            }
            0x21 if len >= 36 => {
                let ip = |at: usize| {
                    let mut o = [0u8; 16];
                    o.copy_from_slice(&body[at..at + 16]);
                    let v6 = Ipv6Addr::from(o);
                    v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4)
                };
                let port = |at: usize| u16::from_be_bytes([body[at], body[at + 1]]);
                ProxyHeader::Proxied {
                    source: SocketAddr::new(ip(0), port(32)),
                    destination: SocketAddr::new(ip(16), port(34)),
                }
            }
            // UNSPEC, UDP and UNIX sockets: the connection's own addresses.
            0x00 | 0x12 | 0x22 | 0x31 | 0x32 => ProxyHeader::Local,
            _ => return Err(ProxyError::BadV2),
        },
        _ => return Err(ProxyError::BadV2),
    };
    Ok(ProxyParse::Done { header, len: total })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn done(buf: &[u8]) -> (ProxyHeader, usize) {
        match ProxyParse::parse(buf) {
            Ok(ProxyParse::Done { header, len }) => (header, len),
            other => panic!("{other:?} for {buf:?}"),
        }
    }

    #[test]
    fn v1_table() {
        let (h, len) = done(b"PROXY TCP4 192.0.2.7 198.51.100.1 50123 25\r\nEHLO");
        assert_eq!(len, 44);
        assert_eq!(
            h,
            ProxyHeader::proxied(
                "192.0.2.7:50123".parse().unwrap(),
                "198.51.100.1:25".parse().unwrap()
            )
        );
        let (h, _) = done(b"PROXY TCP6 2001:db8::1 2001:db8::2 1 2\r\n");
        assert!(matches!(h, ProxyHeader::Proxied { source, .. } if source.port() == 1));
        assert_eq!(done(b"PROXY UNKNOWN\r\n").0, ProxyHeader::Local);
        assert_eq!(
            done(b"PROXY UNKNOWN ffff::1 ffff::2 1 2\r\n").0,
            ProxyHeader::Local
        );
        for bad in [
            &b"PROXY TCP4 192.0.2.7 198.51.100.1 50123\r\n"[..],
            b"PROXY TCP4 2001:db8::1 198.51.100.1 1 2\r\n",
            b"PROXY TCP4 1.2.3.4 5.6.7.8 1 99999\r\n",
            b"PROXY TCP4 1.2.3.4 5.6.7.8 1 +2\r\n",
            b"PROXY TCP5 1.2.3.4 5.6.7.8 1 2\r\n",
            b"PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n",
        ] {
            assert_eq!(ProxyParse::parse(bad), Err(ProxyError::BadV1), "{bad:?}");
        }
        assert_eq!(
            ProxyParse::parse(b"EHLO example.org\r\n"),
            Err(ProxyError::NotProxy)
        );
        assert_eq!(ProxyParse::parse(b"EHLO"), Err(ProxyError::NotProxy));
        let long = [b"PROXY TCP4 ".as_slice(), &[b'1'; 120]].concat();
        assert_eq!(ProxyParse::parse(&long), Err(ProxyError::TooLong));
        assert_eq!(
            ProxyParse::parse(b"PROXY TCP4 1.2.3.4 "),
            Ok(ProxyParse::Need(1))
        );
    }

    #[test]
    fn v2_table() {
        let header = ProxyHeader::proxied(
            "127.0.0.9:4000".parse().unwrap(),
            "127.0.0.1:2525".parse().unwrap(),
        );
        let bytes = header.to_v2();
        assert_eq!(bytes.len(), 28);
        // Read as a driver does: exactly what the parser asks for.
        let mut have = Vec::new();
        let mut steps = 0;
        loop {
            match ProxyParse::parse(&have).unwrap() {
                ProxyParse::Need(n) => have.extend_from_slice(&bytes[have.len()..have.len() + n]),
                ProxyParse::Done { header: h, len } => {
                    assert_eq!((h, len), (header.clone(), 28));
                    break;
                }
            }
            steps += 1;
            assert!(steps < 5);
        }
        assert_eq!(done(&ProxyHeader::Local.to_v2()).0, ProxyHeader::Local);
        let v6 = ProxyHeader::proxied(
            "[2001:db8::1]:1".parse().unwrap(),
            "[2001:db8::2]:2".parse().unwrap(),
        );
        assert_eq!(done(&v6.to_v2()).0, v6);
        // A TLV after the addresses is skipped.
        let mut tlv = header.to_v2();
        tlv[15] += 5;
        tlv.extend_from_slice(&[0x04, 0x00, 0x02, 0xab, 0xcd]);
        assert_eq!(done(&tlv), (header.clone(), 33));
        // Version 1 in the v2 byte, command 2, an unknown family, a length
        // over the cap.
        let mut bad = header.to_v2();
        bad[12] = 0x11;
        assert_eq!(ProxyParse::parse(&bad), Err(ProxyError::BadV2));
        let mut bad = header.to_v2();
        bad[12] = 0x22;
        assert_eq!(ProxyParse::parse(&bad), Err(ProxyError::BadV2));
        let mut bad = header.to_v2();
        bad[13] = 0x41;
        assert_eq!(ProxyParse::parse(&bad), Err(ProxyError::BadV2));
        let mut big = header.to_v2();
        big[14] = 0xff;
        assert_eq!(ProxyParse::parse(&big), Err(ProxyError::TooLong));
        // Short address block for the family.
        let mut short = header.to_v2();
        short[15] = 4;
        short.truncate(20);
        assert_eq!(ProxyParse::parse(&short), Err(ProxyError::BadV2));
    }

    #[test]
    fn mixed_families_in_v1_are_unknown() {
        let mixed =
            ProxyHeader::proxied("127.0.0.1:1".parse().unwrap(), "[::1]:2".parse().unwrap());
        assert_eq!(mixed.to_v1(), b"PROXY UNKNOWN\r\n");
    }
}
