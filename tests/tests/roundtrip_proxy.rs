//! PROXY protocol headers round-trip: every header written (v1 and v2)
//! parses back to itself when read the way the server reads it (exactly
//! the octets asked for, never one past the header), every proper prefix
//! asks for more, and arbitrary octets never panic.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use mailwire_core::wire::proxy::{ProxyHeader, ProxyParse};
use proptest::prelude::*;

fn addr() -> impl Strategy<Value = SocketAddr> {
    prop_oneof![
        (any::<u32>(), any::<u16>())
            .prop_map(|(ip, port)| SocketAddr::new(IpAddr::V4(Ipv4Addr::from(ip)), port)),
        (any::<u128>(), any::<u16>()).prop_map(|(ip, port)| {
            // IPv4-mapped addresses are read back as IPv4 by design.
            let v6 = Ipv6Addr::from(ip);
            let ip = v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4);
            SocketAddr::new(ip, port)
        }),
    ]
}

fn header() -> impl Strategy<Value = ProxyHeader> {
    prop_oneof![
        1 => Just(ProxyHeader::Local),
        8 => (addr(), addr()).prop_map(|(s, d)| ProxyHeader::proxied(s, d)),
    ]
}

/// Reads `bytes` as the server does; returns the header and the octets
/// taken.
fn read(bytes: &[u8]) -> Option<(ProxyHeader, usize)> {
    let mut taken = 0;
    loop {
        match ProxyParse::parse(&bytes[..taken]) {
            Ok(ProxyParse::Need(n)) if taken + n <= bytes.len() => taken += n,
            Ok(ProxyParse::Done { header, len }) => {
                assert_eq!(len, taken);
                return Some((header, taken));
            }
            _ => return None,
        }
    }
}

proptest! {
    #![proptest_config(mailwire_tests::proptest_config!("roundtrip_proxy", 1024))]

    #[test]
    fn written_headers_read_back_and_leave_smtp_alone(h in header(), v2 in any::<bool>()) {
        let mut bytes = if v2 { h.to_v2() } else { h.to_v1() };
        let len = bytes.len();
        bytes.extend_from_slice(b"EHLO client.test\r\n");
        let (again, taken) = read(&bytes).expect("a written header reads back");
        prop_assert_eq!(taken, len);
        let mixed = matches!(&h, ProxyHeader::Proxied { source, destination }
            if source.is_ipv4() != destination.is_ipv4());
        if !v2 && mixed {
            prop_assert_eq!(again, ProxyHeader::Local);
        } else {
            prop_assert_eq!(again, h);
        }
    }

    #[test]
    fn every_proper_prefix_asks_for_more(h in header(), v2 in any::<bool>()) {
        let bytes = if v2 { h.to_v2() } else { h.to_v1() };
        for end in 0..bytes.len() {
            match ProxyParse::parse(&bytes[..end]) {
                Ok(ProxyParse::Need(n)) => prop_assert!(end + n <= bytes.len()),
                other => prop_assert!(false, "prefix of {} octets: {:?}", end, other),
            }
        }
    }

    #[test]
    fn arbitrary_octets_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        if let Some((_, taken)) = read(&bytes) {
            prop_assert!(taken <= bytes.len());
        }
    }

    #[test]
    fn signatures_followed_by_noise_never_panic(
        v2 in any::<bool>(),
        tail in proptest::collection::vec(any::<u8>(), 0..600),
    ) {
        let mut bytes = if v2 { b"\r\n\r\n\0\r\nQUIT\n".to_vec() } else { b"PROXY ".to_vec() };
        bytes.extend_from_slice(&tail);
        if let Some((_, taken)) = read(&bytes) {
            prop_assert!(taken <= bytes.len());
        }
    }
}
