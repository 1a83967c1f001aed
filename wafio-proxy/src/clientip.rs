//! The client address: the TCP peer, or, when the peer is a trusted proxy,
//! the first untrusted address of `X-Forwarded-For` counted from the right.

use std::net::IpAddr;

use http::HeaderMap;
use ipnet::IpNet;

use crate::config::WafError;

/// Proxies (load balancers, CDNs) whose `X-Forwarded-For` is believed.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct TrustedProxies {
    nets: Vec<IpNet>,
}

impl TrustedProxies {
    /// Parses `trusted_proxies` entries: addresses or CIDR prefixes.
    pub(crate) fn parse(entries: &[String]) -> Result<TrustedProxies, WafError> {
        let mut nets = Vec::with_capacity(entries.len());
        for (i, e) in entries.iter().enumerate() {
            let t = e.trim();
            let net = match t.parse::<IpNet>() {
                Ok(n) => n.trunc(),
                Err(_) => match t.parse::<IpAddr>() {
                    Ok(a) => IpNet::from(a),
                    Err(_) => {
                        return Err(WafError::Invalid {
                            key: format!("trusted_proxies[{i}]"),
                            reason: format!("{e:?} is not an IP address or CIDR prefix"),
                        })
                    }
                },
            };
            nets.push(net);
        }
        Ok(TrustedProxies { nets })
    }

    fn trusts(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.nets.iter().any(|n| n.contains(&ip))
    }

    /// The client of a request from `peer`. With no trusted proxies, or a
    /// peer that is not one, the peer. Otherwise `X-Forwarded-For` (every
    /// such header, in order) is walked from the right, skipping trusted
    /// hops; the first untrusted address is the client. An entry that is
    /// not an address stops the walk: the last trusted hop is the client
    /// (what it claims beyond that cannot be believed). All hops trusted:
    /// the leftmost.
    pub(crate) fn client(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        let peer = peer.to_canonical();
        if self.nets.is_empty() || !self.trusts(peer) {
            return peer;
        }
        let mut client = peer;
        for value in headers.get_all("x-forwarded-for").iter().rev() {
            for part in value.as_bytes().rsplit(|&b| b == b',') {
                let Some(ip) = parse_hop(part) else {
                    return client;
                };
                if !self.trusts(ip) {
                    return ip;
                }
                client = ip;
            }
        }
        client
    }
}

/// One `X-Forwarded-For` element: an address, optionally `[v6]` or
/// `v4:port` as some proxies write it.
fn parse_hop(raw: &[u8]) -> Option<IpAddr> {
    let s = std::str::from_utf8(raw).ok()?.trim();
    if let Ok(ip) = s.parse::<IpAddr>() {
        return Some(ip.to_canonical());
    }
    if let Some(rest) = s.strip_prefix('[') {
        let end = rest.find(']')?;
        return rest[..end]
            .parse::<IpAddr>()
            .ok()
            .map(|ip| ip.to_canonical());
    }
    let (host, port) = s.rsplit_once(':')?;
    port.parse::<u16>().ok()?;
    host.parse::<std::net::Ipv4Addr>().ok().map(IpAddr::V4)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn xff(values: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in values {
            h.append("x-forwarded-for", v.parse().unwrap());
        }
        h
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn untrusted_peers_are_the_client() {
        let none = TrustedProxies::default();
        assert_eq!(
            none.client(ip("192.0.2.1"), &xff(&["1.2.3.4"])),
            ip("192.0.2.1")
        );
        let t = TrustedProxies::parse(&["10.0.0.0/8".into()]).unwrap();
        assert_eq!(
            t.client(ip("192.0.2.1"), &xff(&["1.2.3.4"])),
            ip("192.0.2.1")
        );
    }

    #[test]
    fn forwarded_for_is_read_from_the_right() {
        let t = TrustedProxies::parse(&["10.0.0.0/8".into(), "127.0.0.1".into(), "::1".into()])
            .unwrap();
        // Spoofed leftmost entry, real client, two trusted hops.
        let h = xff(&["6.6.6.6, 203.0.113.9, 10.1.1.1", "10.2.2.2"]);
        assert_eq!(t.client(ip("127.0.0.1"), &h), ip("203.0.113.9"));
        // IPv4-mapped peer is trusted as IPv4; bracketed and ported forms.
        let h = xff(&["[2001:db8::7]"]);
        assert_eq!(t.client(ip("::ffff:127.0.0.1"), &h), ip("2001:db8::7"));
        let h = xff(&["198.51.100.4:5555"]);
        assert_eq!(t.client(ip("::1"), &h), ip("198.51.100.4"));
        // Garbage stops the walk at the last trusted hop.
        let h = xff(&["203.0.113.9, nonsense, 10.3.3.3"]);
        assert_eq!(t.client(ip("127.0.0.1"), &h), ip("10.3.3.3"));
        // Every hop trusted: the leftmost.
        let h = xff(&["10.4.4.4, 10.5.5.5"]);
        assert_eq!(t.client(ip("127.0.0.1"), &h), ip("10.4.4.4"));
        // No header: the peer.
        assert_eq!(
            t.client(ip("127.0.0.1"), &HeaderMap::new()),
            ip("127.0.0.1")
        );
    }

    #[test]
    fn bad_entries_are_named() {
        let e = TrustedProxies::parse(&["10.0.0.0/8".into(), "10.0.0.0/33".into()])
            .unwrap_err()
            .to_string();
        assert!(e.contains("trusted_proxies[1]"), "{e}");
        assert!(TrustedProxies::parse(&["nope".into()]).is_err());
    }
}
