//! [`Cidr`]: networks as CIDR blocks (`127.0.0.0/8`, `::1`,
//! `192.0.2.7/32`), parsed and matched without a dependency — for host
//! policy and the trusted balancers of the PROXY protocol.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

/// One network: an address and a prefix length. A bare address is a
/// single host (`/32` or `/128`).
///
/// ```
/// use mailwire_driver::server::Cidr;
///
/// let lan: Cidr = "192.0.2.0/24".parse().unwrap();
/// assert!(lan.contains("192.0.2.77".parse().unwrap()));
/// assert!(!lan.contains("198.51.100.1".parse().unwrap()));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    network: IpAddr,
    prefix: u8,
}

impl Cidr {
    /// `127.0.0.0/8`.
    pub const LOOPBACK_V4: Cidr = Cidr {
        network: IpAddr::V4(std::net::Ipv4Addr::new(127, 0, 0, 0)),
        prefix: 8,
    };
    /// `::1/128`.
    pub const LOOPBACK_V6: Cidr = Cidr {
        network: IpAddr::V6(std::net::Ipv6Addr::LOCALHOST),
        prefix: 128,
    };

    /// Whether `ip` is inside this network. An IPv4-mapped IPv6 address
    /// (`::ffff:127.0.0.1`) matches as its IPv4 address.
    #[must_use]
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        match (self.network, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                prefix_eq(&net.octets(), &ip.octets(), self.prefix)
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                prefix_eq(&net.octets(), &ip.octets(), self.prefix)
            }
            _ => false,
        }
    }
}

/// Whether the first `prefix` bits of `a` and `b` are equal.
fn prefix_eq(a: &[u8], b: &[u8], prefix: u8) -> bool {
    let full = usize::from(prefix / 8);
    let rest = prefix % 8;
    if a.get(..full) != b.get(..full) {
        return false;
    }
    if rest == 0 {
        return true;
    }
    let mask = 0xffu8 << (8 - rest);
    match (a.get(full), b.get(full)) {
        (Some(x), Some(y)) => x & mask == y & mask,
        _ => false,
    }
}

/// Why a CIDR block did not parse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CidrError(String);

impl fmt::Display for CidrError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:?} is not an address or CIDR block (e.g. 192.0.2.0/24, ::1)",
            self.0
        )
    }
}

impl std::error::Error for CidrError {}

impl FromStr for Cidr {
    type Err = CidrError;

    fn from_str(s: &str) -> Result<Cidr, CidrError> {
        let err = || CidrError(s.to_owned());
        let (addr, prefix) = match s.split_once('/') {
            Some((addr, prefix)) => (addr, Some(prefix)),
            None => (s, None),
        };
        let addr = addr.trim_start_matches('[').trim_end_matches(']');
        let network: IpAddr = addr.parse().map_err(|_| err())?;
        let max = if network.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(p) if !p.is_empty() && p.len() <= 3 && p.bytes().all(|b| b.is_ascii_digit()) => {
                p.parse::<u8>().map_err(|_| err())?
            }
            Some(_) => return Err(err()),
        };
        if prefix > max {
            return Err(err());
        }
        Ok(Cidr { network, prefix })
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.network, self.prefix)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn parses_and_matches() {
        let net: Cidr = "192.0.2.0/24".parse().unwrap();
        assert!(net.contains(ip("192.0.2.77")));
        assert!(!net.contains(ip("192.0.3.1")));
        assert!(!net.contains(ip("::1")));
        let host: Cidr = "127.0.0.1".parse().unwrap();
        assert!(host.contains(ip("127.0.0.1")));
        assert!(!host.contains(ip("127.0.0.2")));
        assert!(host.contains(ip("::ffff:127.0.0.1")));
        let odd: Cidr = "10.128.0.0/9".parse().unwrap();
        assert!(odd.contains(ip("10.200.1.1")));
        assert!(!odd.contains(ip("10.1.1.1")));
        let all: Cidr = "0.0.0.0/0".parse().unwrap();
        assert!(all.contains(ip("203.0.113.9")));
        let v6: Cidr = "2001:db8::/32".parse().unwrap();
        assert!(v6.contains(ip("2001:db8:1::5")));
        assert!(!v6.contains(ip("2001:db9::5")));
        assert!(Cidr::LOOPBACK_V4.contains(ip("127.9.9.9")));
        assert!(Cidr::LOOPBACK_V6.contains(ip("::1")));
    }

    #[test]
    fn refuses_nonsense() {
        for bad in [
            "",
            "1.2.3.4/33",
            "::/129",
            "1.2.3/8",
            "1.2.3.4/",
            "1.2.3.4/+8",
            "x/8",
        ] {
            assert!(bad.parse::<Cidr>().is_err(), "{bad}");
        }
    }
}
