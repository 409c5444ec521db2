//! `bosun up --listen`: an address to listen on, given as an IP address or a host name,
//! with a port or without one (then 8420).
//!
//! A host name is resolved here, once, when the command line is read. Of the addresses
//! it resolves to, a loopback one is taken first, IPv4 before IPv6, so `localhost`
//! listens where the client commands look by default (`127.0.0.1`) even on a machine
//! whose resolver answers `::1` first.

use std::net::{SocketAddr, ToSocketAddrs};

use bosun_server::ServerConfig;

/// Parses `HOST:PORT`, `HOST`, `IP:PORT`, `[IPv6]:PORT` or `IP`; the error is one line
/// naming what was given.
pub(crate) fn parse_listen(text: &str) -> Result<SocketAddr, String> {
    if let Ok(addr) = text.parse::<SocketAddr>() {
        return Ok(addr);
    }
    if let Ok(ip) = text.parse::<std::net::IpAddr>() {
        return Ok(SocketAddr::new(ip, ServerConfig::PORT));
    }
    let with_port = if has_port(text) {
        text.to_owned()
    } else {
        format!("{text}:{}", ServerConfig::PORT)
    };
    let (host, _) = with_port
        .rsplit_once(':')
        .expect("a port was added if there was none");
    if host.is_empty() {
        return Err(format!(
            "{text:?} has no host: give one, as in 127.0.0.1:8420 or localhost:8420"
        ));
    }
    let addrs: Vec<SocketAddr> = with_port
        .to_socket_addrs()
        .map_err(|e| format!("cannot resolve {host:?}: {e}"))?
        .collect();
    pick(&addrs).ok_or_else(|| format!("{host:?} resolves to no address"))
}

/// True when `text` ends in `:PORT` (and is not a bare IPv6 address, which the caller
/// has tried already).
fn has_port(text: &str) -> bool {
    text.rsplit_once(':')
        .is_some_and(|(_, port)| !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()))
}

/// The address to listen on among those a name resolves to: loopback first, IPv4 first.
fn pick(addrs: &[SocketAddr]) -> Option<SocketAddr> {
    addrs
        .iter()
        .min_by_key(|a| (!a.ip().is_loopback(), !a.is_ipv4()))
        .copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Asserts that `given` is read as the address `expected`.
    fn reads_as(given: &str, expected: &str) {
        assert_eq!(
            parse_listen(given),
            Ok(expected.parse().unwrap()),
            "{given}"
        );
    }

    #[test]
    fn addresses_parse_as_they_are_and_a_missing_port_is_the_default() {
        reads_as("0.0.0.0:9000", "0.0.0.0:9000");
        reads_as("[::1]:9000", "[::1]:9000");
        reads_as("127.0.0.1", "127.0.0.1:8420");
        reads_as("::1", "[::1]:8420");
    }

    #[test]
    fn localhost_is_the_ipv4_loopback_address() {
        reads_as("localhost:9000", "127.0.0.1:9000");
        reads_as("localhost", "127.0.0.1:8420");
    }

    #[test]
    fn loopback_and_ipv4_come_first() {
        let addrs: Vec<SocketAddr> = ["10.0.0.1:1", "[::1]:1", "127.0.0.1:1"]
            .iter()
            .map(|a| a.parse().unwrap())
            .collect();
        assert_eq!(pick(&addrs), Some(addrs[2]));
        assert_eq!(pick(&addrs[..2]), Some(addrs[1]));
        assert_eq!(pick(&[]), None);
    }

    #[test]
    fn bad_values_say_what_is_wrong() {
        let err = parse_listen(":8420").unwrap_err();
        assert!(err.contains("has no host"), "{err}");
        let err = parse_listen("no-such-host.invalid:8420").unwrap_err();
        assert!(
            err.contains("cannot resolve \"no-such-host.invalid\""),
            "{err}"
        );
    }
}
