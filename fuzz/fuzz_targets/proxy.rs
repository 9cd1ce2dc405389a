//! PROXY protocol headers: the parser never panics, never asks for more
//! octets than the header needs (so a reader never consumes SMTP that
//! follows it), and every header it yields writes back to octets that parse
//! to the same header (version 1 where the families allow it, version 2
//! always).
#![no_main]

use std::net::SocketAddr;

use libfuzzer_sys::fuzz_target;
use mailwire_core::wire::proxy::{ProxyHeader, ProxyParse};

fuzz_target!(|input: &[u8]| {
    // Feed the input the way the server reads it: exactly what is asked for.
    let mut taken = 0;
    loop {
        match ProxyParse::parse(&input[..taken]) {
            Ok(ProxyParse::Need(n)) => {
                assert!(n > 0);
                if taken + n > input.len() {
                    return;
                }
                taken += n;
            }
            Ok(ProxyParse::Done { header, len }) => {
                assert_eq!(len, taken, "the header ends where the reads ended");
                for bytes in [header.to_v1(), header.to_v2()] {
                    match ProxyParse::parse(&bytes) {
                        Ok(ProxyParse::Done { header: again, len }) => {
                            assert_eq!(len, bytes.len());
                            // v1 writes mixed families as UNKNOWN; v2 reads
                            // IPv4-mapped IPv6 addresses as IPv4.
                            assert!(
                                again == ProxyHeader::Local || canonical(&again) == canonical(&header),
                                "{header:?} came back as {again:?}"
                            );
                        }
                        other => panic!("written header does not parse: {other:?}"),
                    }
                }
                return;
            }
            Ok(_) | Err(_) => return,
        }
    }
});

fn canonical(header: &ProxyHeader) -> Option<(SocketAddr, SocketAddr)> {
    match header {
        ProxyHeader::Proxied { source, destination } => Some((
            SocketAddr::new(source.ip().to_canonical(), source.port()),
            SocketAddr::new(destination.ip().to_canonical(), destination.port()),
        )),
        _ => None,
    }
}
