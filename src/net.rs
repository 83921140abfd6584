//! Who the client is when pointcast sits behind a reverse proxy.
//!
//! Behind nginx every connection comes from nginx's address, so the anonymous
//! stream cap, the login throttle, the inquiry rate limit and the logs would all
//! see one client. A proxy says who its client was in `Forwarded` (RFC 7239) or
//! `X-Forwarded-For`; but anyone can send those headers, so they are believed only
//! from a peer listed with `--trusted-proxy` (none by default: the headers are
//! ignored). The client is then the right-most address in the chain that is not
//! itself a trusted proxy (each proxy appends the address it saw, so addresses to
//! the left of it were written by the client and may be lies).

use std::net::IpAddr;

use actix_web::HttpRequest;
use actix_web::web;
use ipnet::IpNet;

use crate::state::AppState;

/// A `--trusted-proxy` value: a CIDR block (`10.0.0.0/8`, `fd00::/8`) or one address.
pub fn parse_proxy(s: &str) -> Result<IpNet, String> {
    let s = s.trim();
    s.parse::<IpNet>()
        .or_else(|_| s.parse::<IpAddr>().map(IpNet::from))
        .map_err(|_| format!("{s:?} is not an address or CIDR block (like 10.0.0.0/8)"))
}

/// The client's address: `peer`, or what a trusted `peer` forwarded (`Forwarded`
/// wins over `X-Forwarded-For` when both came).
pub fn client_addr(
    trusted: &[IpNet],
    peer: Option<IpAddr>,
    forwarded: Option<&str>,
    x_forwarded_for: Option<&str>,
) -> Option<IpAddr> {
    let peer = peer.map(canonical)?;
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|n| n.contains(ip));
    if !is_trusted(&peer) {
        return Some(peer);
    }
    let chain: Vec<IpAddr> = match (forwarded, x_forwarded_for) {
        (Some(f), _) => forwarded_chain(f),
        (None, Some(x)) => x.split(',').filter_map(|a| parse_node(a.trim())).collect(),
        (None, None) => return Some(peer),
    };
    // Right to left: the first address no trusted proxy wrote is the client.
    let mut client = peer;
    for ip in chain.into_iter().rev() {
        client = ip;
        if !is_trusted(&ip) {
            break;
        }
    }
    Some(client)
}

/// The client address of an actix request (see [`client_addr`]).
pub fn client_ip(req: &HttpRequest) -> Option<IpAddr> {
    let peer = req.peer_addr().map(|a| a.ip());
    let Some(state) = req.app_data::<web::Data<AppState>>() else {
        return peer;
    };
    let header = |name: &str| {
        let values: Vec<&str> = req
            .headers()
            .get_all(name)
            .filter_map(|v| v.to_str().ok())
            .collect();
        (!values.is_empty()).then(|| values.join(","))
    };
    client_addr(
        &state.settings.trusted_proxies,
        peer,
        header("forwarded").as_deref(),
        header("x-forwarded-for").as_deref(),
    )
}

/// The `for=` addresses of a `Forwarded` header, in order.
fn forwarded_chain(header: &str) -> Vec<IpAddr> {
    header
        .split(',')
        .filter_map(|element| {
            element.split(';').find_map(|pair| {
                let (k, v) = pair.trim().split_once('=')?;
                k.trim()
                    .eq_ignore_ascii_case("for")
                    .then(|| parse_node(v.trim().trim_matches('"')))?
            })
        })
        .collect()
}

/// One node: `1.2.3.4`, `1.2.3.4:5678`, `[::1]`, `[::1]:5678` or a bare IPv6.
/// Obfuscated (`_hidden`) and `unknown` nodes are no address.
fn parse_node(s: &str) -> Option<IpAddr> {
    if let Ok(ip) = s.parse::<IpAddr>() {
        return Some(canonical(ip));
    }
    if let Some(rest) = s.strip_prefix('[') {
        return rest.split_once(']')?.0.parse().ok().map(canonical);
    }
    let (host, _port) = s.rsplit_once(':')?;
    host.parse::<std::net::Ipv4Addr>()
        .ok()
        .map(|v4| canonical(IpAddr::V4(v4)))
}

/// An IPv4-mapped IPv6 address as the IPv4 address it is.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn nets(list: &[&str]) -> Vec<IpNet> {
        list.iter().map(|s| parse_proxy(s).unwrap()).collect()
    }

    #[test]
    fn forwarded_headers_count_only_from_a_trusted_peer() {
        let none: Vec<IpNet> = Vec::new();
        let xff = Some("203.0.113.7");
        assert_eq!(
            client_addr(&none, Some(ip("10.0.0.1")), None, xff),
            Some(ip("10.0.0.1")),
            "no proxy trusted by default"
        );
        let lan = nets(&["10.0.0.0/8"]);
        assert_eq!(
            client_addr(&lan, Some(ip("192.0.2.1")), None, xff),
            Some(ip("192.0.2.1")),
            "an untrusted peer's header is ignored"
        );
        assert_eq!(
            client_addr(&lan, Some(ip("10.0.0.1")), None, xff),
            Some(ip("203.0.113.7"))
        );
        assert_eq!(
            client_addr(&lan, Some(ip("10.0.0.1")), None, None),
            Some(ip("10.0.0.1"))
        );
    }

    #[test]
    fn the_client_is_the_rightmost_untrusted_address() {
        let t = nets(&["10.0.0.0/8", "127.0.0.1"]);
        let peer = Some(ip("127.0.0.1"));
        // A client lying at the left cannot pick its address.
        assert_eq!(
            client_addr(&t, peer, None, Some("1.1.1.1, 198.51.100.9, 10.1.2.3")),
            Some(ip("198.51.100.9"))
        );
        assert_eq!(
            client_addr(&t, peer, None, Some("10.9.9.9, 10.1.2.3")),
            Some(ip("10.9.9.9")),
            "all trusted: the left-most"
        );
        assert_eq!(
            client_addr(
                &t,
                peer,
                Some(r#"for="[2001:db8::1]:4711";proto=https, for=10.0.0.5"#),
                Some("9.9.9.9")
            ),
            Some(ip("2001:db8::1")),
            "Forwarded wins"
        );
        assert_eq!(
            client_addr(&t, peer, Some("for=unknown, for=192.0.2.60:80"), None),
            Some(ip("192.0.2.60"))
        );
        assert_eq!(
            client_addr(&t, Some(ip("::ffff:127.0.0.1")), None, Some("192.0.2.1")),
            Some(ip("192.0.2.1")),
            "an IPv4-mapped peer is its IPv4 address"
        );
    }

    #[test]
    fn proxies_parse_as_blocks_or_addresses() {
        assert!(parse_proxy("10.0.0.0/8").is_ok());
        assert!(parse_proxy("::1").is_ok());
        assert!(parse_proxy("127.0.0.1").unwrap().contains(&ip("127.0.0.1")));
        assert!(parse_proxy("10.0.0.0/33").is_err());
        assert!(parse_proxy("nginx").is_err());
    }
}
