//! Visitors type URLs; they must not reach our own network. An address is a fair target only
//! when IANA's special-purpose registries call it globally reachable; `TARGET_ALLOWLIST`
//! exempts networks for labs and tests. Every spelling of an address is covered because the
//! URL parser normalises it first (decimal, hex and octal IPv4, IPv4-mapped IPv6).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

/// A network in CIDR notation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    network: IpAddr,
    prefix: u8,
}

impl FromStr for Cidr {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, String> {
        let text = text.trim();
        let (address, prefix) = text.split_once('/').unwrap_or((text, ""));
        let network: IpAddr = address
            .parse()
            .map_err(|_| format!("{text:?} is not a network (e.g. 10.99.0.0/16)"))?;
        let max = if network.is_ipv4() { 32 } else { 128 };
        let prefix = if prefix.is_empty() {
            max
        } else {
            prefix
                .parse()
                .map_err(|_| format!("{text:?} has no valid prefix length"))?
        };
        if prefix > max {
            return Err(format!("{text:?}: the prefix length is at most {max}"));
        }
        Ok(Cidr { network, prefix })
    }
}

impl std::fmt::Display for Cidr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.network, self.prefix)
    }
}

impl Cidr {
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.network, ip) {
            (IpAddr::V4(n), IpAddr::V4(a)) => prefix_eq(&n.octets(), &a.octets(), self.prefix),
            (IpAddr::V6(n), IpAddr::V6(a)) => prefix_eq(&n.octets(), &a.octets(), self.prefix),
            _ => false,
        }
    }
}

fn prefix_eq(a: &[u8], b: &[u8], bits: u8) -> bool {
    let (bytes, rest) = ((bits / 8) as usize, bits % 8);
    a[..bytes] == b[..bytes] && (rest == 0 || (a[bytes] ^ b[bytes]) >> (8 - rest) == 0)
}

fn v4_in(ip: Ipv4Addr, network: [u8; 4], prefix: u8) -> bool {
    prefix_eq(&ip.octets(), &network, prefix)
}

/// IPv4 networks IANA marks as not globally reachable.
const V4_NOT_GLOBAL: &[([u8; 4], u8)] = &[
    ([0, 0, 0, 0], 8),       // "this network"
    ([10, 0, 0, 0], 8),      // private
    ([100, 64, 0, 0], 10),   // carrier-grade NAT
    ([127, 0, 0, 0], 8),     // loopback
    ([169, 254, 0, 0], 16),  // link-local
    ([172, 16, 0, 0], 12),   // private
    ([192, 0, 0, 0], 24),    // IETF protocol assignments
    ([192, 0, 2, 0], 24),    // documentation
    ([192, 88, 99, 0], 24),  // deprecated 6to4 relay anycast
    ([192, 168, 0, 0], 16),  // private
    ([198, 18, 0, 0], 15),   // benchmarking
    ([198, 51, 100, 0], 24), // documentation
    ([203, 0, 113, 0], 24),  // documentation
    ([224, 0, 0, 0], 4),     // multicast
    ([240, 0, 0, 0], 4),     // reserved, and the limited broadcast address
];

fn v4_global(ip: Ipv4Addr) -> bool {
    !V4_NOT_GLOBAL
        .iter()
        .any(|(network, prefix)| v4_in(ip, *network, *prefix))
}

fn v6_global(ip: Ipv6Addr) -> bool {
    let s = ip.segments();
    if let Some(v4) = ip.to_ipv4_mapped() {
        return v4_global(v4);
    }
    let in_net = |network: [u16; 2], prefix: u32| {
        let top = ((s[0] as u32) << 16) | s[1] as u32;
        let net = ((network[0] as u32) << 16) | network[1] as u32;
        prefix == 0 || (top ^ net) >> (32 - prefix) == 0
    };
    let not_global = ip.is_unspecified()
        || ip.is_loopback()
        || s[..6] == [0; 6] // IPv4-compatible (deprecated) and the rest of ::/96
        || (s[..4] == [0x100, 0, 0, 0]) // discard-only 100::/64
        || in_net([0x64, 0xff9b], 32) && s[2] == 1 // 64:ff9b:1::/48, local-use NAT64
        || in_net([0x2001, 0], 23) // IETF protocol assignments
        || in_net([0x2001, 0xdb8], 32) // documentation
        || in_net([0x3fff, 0], 20) // documentation
        || in_net([0x5f00, 0], 16) // segment routing SIDs
        || (s[0] & 0xfe00) == 0xfc00 // unique local
        || (s[0] & 0xffc0) == 0xfe80 // link-local
        || (s[0] & 0xff00) == 0xff00; // multicast
    if not_global {
        return false;
    }
    // NAT64 and 6to4 embed an IPv4 address: it must be a fair target too.
    if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        return v4_global(Ipv4Addr::new(
            (s[6] >> 8) as u8,
            s[6] as u8,
            (s[7] >> 8) as u8,
            s[7] as u8,
        ));
    }
    if s[0] == 0x2002 {
        return v4_global(Ipv4Addr::new(
            (s[1] >> 8) as u8,
            s[1] as u8,
            (s[2] >> 8) as u8,
            s[2] as u8,
        ));
    }
    true
}

/// Whether IANA's registries call this address globally reachable.
pub fn is_globally_reachable(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4_global(v4),
        IpAddr::V6(v6) => v6_global(v6),
    }
}

/// Names that always mean "this machine or this network".
fn local_name(host: &str) -> bool {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    ["localhost", "local", "internal", "home.arpa", "localdomain"]
        .iter()
        .any(|suffix| host == *suffix || host.ends_with(&format!(".{suffix}")))
}

/// Which targets visitors may ask for.
#[derive(Debug, Clone, Default)]
pub struct TargetPolicy {
    allow: Vec<Cidr>,
}

impl TargetPolicy {
    /// `allowlist`: comma-separated CIDRs exempted from the rule (labs and tests).
    pub fn from_allowlist(allowlist: &str) -> Result<Self, String> {
        let allow = allowlist
            .split(',')
            .filter(|s| !s.trim().is_empty())
            .map(str::parse)
            .collect::<Result<_, _>>()?;
        Ok(TargetPolicy { allow })
    }

    pub fn allowlist(&self) -> &[Cidr] {
        &self.allow
    }

    /// Refuses an address that is not globally reachable, unless the allowlist exempts it.
    pub fn check_ip(&self, ip: IpAddr) -> Result<(), String> {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
            v4 => v4,
        };
        if is_globally_reachable(ip) || self.allow.iter().any(|c| c.contains(ip)) {
            Ok(())
        } else {
            Err(format!(
                "{ip} is not on the public internet, so it cannot be visited"
            ))
        }
    }

    /// Checks a URL's host without resolving it: literal addresses by the rule above, and
    /// names such as `localhost`. A name is checked again wherever it is resolved.
    pub fn check_host(&self, host: &url::Host<&str>) -> Result<(), String> {
        match host {
            url::Host::Ipv4(v4) => self.check_ip(IpAddr::V4(*v4)),
            url::Host::Ipv6(v6) => self.check_ip(IpAddr::V6(*v6)),
            url::Host::Domain(name) if local_name(name) => Err(format!(
                "{name} names a local machine, so it cannot be visited"
            )),
            url::Host::Domain(_) => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(url: &str, policy: &TargetPolicy) -> bool {
        let parsed = url::Url::parse(url).unwrap();
        policy.check_host(&parsed.host().unwrap()).is_err()
    }

    #[test]
    fn local_and_special_addresses_are_refused_in_every_spelling() {
        let p = TargetPolicy::default();
        for url in [
            "http://127.0.0.1/",
            "http://2130706433/",
            "http://0x7f000001/",
            "http://0177.0.0.1/",
            "http://127.1/",
            "http://0/",
            "http://10.1.2.3/",
            "http://172.16.0.1/",
            "http://192.168.1.1/",
            "http://169.254.169.254/",
            "http://100.64.0.1/",
            "http://198.18.0.1/",
            "http://198.51.100.7/",
            "http://203.0.113.9/",
            "http://192.0.2.1/",
            "http://224.0.0.1/",
            "http://255.255.255.255/",
            "http://[::1]/",
            "http://[::]/",
            "http://[::ffff:127.0.0.1]/",
            "http://[::ffff:7f00:1]/",
            "http://[fe80::1]/",
            "http://[fc00::1]/",
            "http://[fd12:3456::1]/",
            "http://[ff02::1]/",
            "http://[2001:db8::1]/",
            "http://[64:ff9b::a00:1]/",
            "http://[2002:c0a8:101::1]/",
            "http://[::127.0.0.1]/",
            "http://localhost/",
            "http://LOCALHOST./",
            "http://app.localhost/",
            "http://printer.local/",
            "http://x.internal/",
        ] {
            assert!(refused(url, &p), "{url} must be refused");
        }
    }

    #[test]
    fn public_addresses_and_names_pass() {
        let p = TargetPolicy::default();
        for url in [
            "https://93.184.216.34/",
            "https://example.org/",
            "https://[2606:4700::1111]/",
            "https://1.1.1.1:8443/x",
            "https://[64:ff9b::5db8:d822]/",
        ] {
            assert!(!refused(url, &p), "{url} must pass");
        }
    }

    #[test]
    fn the_allowlist_exempts_only_its_networks() {
        let p = TargetPolicy::from_allowlist("10.99.0.0/16, fd00:99::/32").unwrap();
        assert!(!refused("http://10.99.3.4/", &p));
        assert!(refused("http://10.98.3.4/", &p));
        assert!(!refused("http://[fd00:99::5]/", &p));
        assert!(refused("http://127.0.0.1/", &p));
        assert!(TargetPolicy::from_allowlist("10.0.0.0/33").is_err());
        assert!(TargetPolicy::from_allowlist("nonsense").is_err());
    }
}
