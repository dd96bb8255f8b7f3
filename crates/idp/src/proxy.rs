//! Reverse proxies: X-Forwarded-For is believed only when the connection comes from a
//! configured proxy, and then only as far back as the chain stays within trusted proxies.

use std::net::IpAddr;

/// Trusted proxies as addresses or CIDR ranges.
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies(Vec<(IpAddr, u8)>);

impl TrustedProxies {
    /// Parses `10.0.0.0/8`, `127.0.0.1`, `::1`…; the first entry that does not parse is named.
    pub fn parse(entries: &[String]) -> Result<TrustedProxies, String> {
        let mut out = Vec::new();
        for entry in entries {
            let (address, bits) = entry.split_once('/').map_or((entry.as_str(), None), |(a, b)| (a, Some(b)));
            let ip: IpAddr =
                address.trim().parse().map_err(|_| format!("{entry:?} is not an IP address or CIDR range"))?;
            let max = if ip.is_ipv4() { 32 } else { 128 };
            let bits = match bits {
                Some(b) => b
                    .trim()
                    .parse::<u8>()
                    .ok()
                    .filter(|b| *b <= max)
                    .ok_or_else(|| format!("{entry:?}: bad prefix length"))?,
                None => max,
            };
            out.push((ip, bits));
        }
        Ok(TrustedProxies(out))
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        self.0.iter().any(|(net, bits)| in_range(ip, *net, *bits))
    }

    /// The client's address: the peer, unless the peer is a trusted proxy, in which case the
    /// rightmost X-Forwarded-For entry that is not itself a trusted proxy.
    /// IPv4 peers on a dual-stack listener (`::ffff:a.b.c.d`) count as IPv4. `forwarded_for`
    /// is every X-Forwarded-For header joined in order (a proxy may add its own line).
    pub fn client(&self, peer: IpAddr, forwarded_for: Option<&str>) -> IpAddr {
        let peer = peer.to_canonical();
        if !self.contains(peer) {
            return peer;
        }
        let Some(chain) = forwarded_for else { return peer };
        let mut client = peer;
        for hop in chain.split(',').rev() {
            let Some(ip) = parse_hop(hop) else { break };
            client = ip;
            if !self.contains(ip) {
                break;
            }
        }
        client
    }
}

/// One X-Forwarded-For entry: an address, possibly `[v6]` or with a port (`a.b.c.d:port`).
fn parse_hop(hop: &str) -> Option<IpAddr> {
    let hop = hop.trim();
    if let Ok(ip) = hop.parse::<IpAddr>() {
        return Some(ip.to_canonical());
    }
    if let Ok(socket) = hop.parse::<std::net::SocketAddr>() {
        return Some(socket.ip().to_canonical());
    }
    hop.strip_prefix('[').and_then(|h| h.strip_suffix(']')).and_then(|h| h.parse::<IpAddr>().ok())
}

fn in_range(ip: IpAddr, net: IpAddr, bits: u8) -> bool {
    match (ip, net) {
        (IpAddr::V4(a), IpAddr::V4(b)) => {
            let mask = if bits == 0 { 0 } else { u32::MAX << (32 - u32::from(bits)) };
            u32::from(a) & mask == u32::from(b) & mask
        }
        (IpAddr::V6(a), IpAddr::V6(b)) => {
            let mask = if bits == 0 { 0 } else { u128::MAX << (128 - u32::from(bits)) };
            u128::from(a) & mask == u128::from(b) & mask
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forwarded_for_is_believed_only_from_trusted_proxies() {
        let trusted = TrustedProxies::parse(&["10.0.0.0/8".into(), "127.0.0.1".into()]).unwrap();
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        assert_eq!(trusted.client(ip("127.0.0.1"), Some("203.0.113.9")), ip("203.0.113.9"));
        assert_eq!(
            trusted.client(ip("127.0.0.1"), Some("198.51.100.7, 203.0.113.9, 10.1.2.3")),
            ip("203.0.113.9"),
            "spoofed left entries are skipped"
        );
        assert_eq!(
            trusted.client(ip("192.0.2.1"), Some("203.0.113.9")),
            ip("192.0.2.1"),
            "an untrusted peer's header is ignored"
        );
        assert_eq!(trusted.client(ip("127.0.0.1"), Some("garbage")), ip("127.0.0.1"));
        assert_eq!(TrustedProxies::default().client(ip("127.0.0.1"), Some("203.0.113.9")), ip("127.0.0.1"));
        assert!(TrustedProxies::parse(&["10.0.0.0/33".into()]).is_err());
        assert!(TrustedProxies::parse(&["::1".into()]).unwrap().contains(ip("::1")));
        assert_eq!(trusted.client(ip("::ffff:127.0.0.1"), Some("203.0.113.9")), ip("203.0.113.9"), "IPv4-mapped peer");
        assert_eq!(trusted.client(ip("127.0.0.1"), Some("203.0.113.9:5123")), ip("203.0.113.9"), "with a port");
        assert_eq!(trusted.client(ip("127.0.0.1"), Some("[2001:db8::7]")), ip("2001:db8::7"), "bracketed v6");
    }
}
