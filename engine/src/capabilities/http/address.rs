//! Special-purpose addresses (loopback, private, link-local and the like), which requests never
//! reach by name, and the resolver that enforces it.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

/// The kind of a special-purpose address that requests may not reach by default, or `None` for
/// a public one.
pub fn special_address(address: IpAddr) -> Option<&'static str> {
    match address {
        IpAddr::V4(ip) => special_v4(ip),
        IpAddr::V6(ip) => special_v6(ip),
    }
}

fn special_v4(ip: Ipv4Addr) -> Option<&'static str> {
    let [a, b, c, _] = ip.octets();
    if ip.is_loopback() {
        Some("loopback")
    } else if ip.is_private() {
        Some("private")
    } else if ip.is_link_local() {
        Some("link-local (cloud metadata)")
    } else if ip.is_unspecified() || a == 0 {
        Some("unspecified")
    } else if a == 100 && (64..128).contains(&b) {
        Some("shared (carrier-grade NAT)")
    } else if ip.is_broadcast() || ip.is_multicast() || a >= 240 {
        Some("multicast or reserved")
    } else if (a, b, c) == (192, 0, 0) {
        Some("IETF protocol assignment")
    } else if ip.is_documentation() {
        Some("documentation")
    } else if a == 198 && (b == 18 || b == 19) {
        Some("benchmarking")
    } else {
        None
    }
}

fn special_v6(ip: Ipv6Addr) -> Option<&'static str> {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return special_v4(v4);
    }
    let segments = ip.segments();
    let [a, b] = segments[6].to_be_bytes();
    let [c, d] = segments[7].to_be_bytes();
    let last_v4 = Ipv4Addr::new(a, b, c, d);
    // NAT64 (64:ff9b::/96, RFC 6052) and 6to4 (2002::/16) embed an IPv4 address, and so does
    // the IPv4-translated form (::ffff:0:0/96, RFC 2765), which is special whatever it embeds.
    if segments[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        return special_v4(last_v4);
    }
    if segments[..6] == [0, 0, 0, 0, 0xffff, 0] {
        return special_v4(last_v4).or(Some("IPv4-translated"));
    }
    // Local-use NAT64 (64:ff9b:1::/48, RFC 8215) translates to addresses of the operator's
    // choosing, and Teredo (2001::/32) tunnels to an obfuscated one: neither can be checked.
    if segments[..3] == [0x64, 0xff9b, 1] {
        return Some("local-use NAT64");
    }
    if segments[..2] == [0x2001, 0] {
        return Some("Teredo");
    }
    if segments[0] == 0x2002 {
        let [a, b] = segments[1].to_be_bytes();
        let [c, d] = segments[2].to_be_bytes();
        return special_v4(Ipv4Addr::new(a, b, c, d)).or(Some("6to4"));
    }
    if ip.is_loopback() {
        Some("loopback")
    } else if ip.is_unspecified() || segments[..6] == [0; 6] {
        Some("unspecified or IPv4-compatible")
    } else if segments[0] & 0xfe00 == 0xfc00 {
        Some("unique local (private)")
    } else if segments[0] & 0xffc0 == 0xfe80 || segments[0] & 0xffc0 == 0xfec0 {
        Some("link-local")
    } else if ip.is_multicast() {
        Some("multicast")
    } else if segments[0] == 0x2001 && segments[1] == 0xdb8 {
        Some("documentation")
    } else {
        None
    }
}

/// A name resolved to a special address: refused.
#[derive(Debug, thiserror::Error)]
#[error("`{name}` resolves to {address}, {} {kind} address", article(kind))]
pub(super) struct SpecialAddress {
    name: String,
    address: IpAddr,
    kind: &'static str,
}

/// The system resolver, refusing any name with a special address among its answers.
#[derive(Debug)]
pub(super) struct PublicResolver;

impl Resolve for PublicResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let name = name.as_str().to_owned();
        Box::pin(async move {
            let addresses: Vec<SocketAddr> =
                tokio::net::lookup_host((name.as_str(), 0)).await?.collect();
            if let Some((address, kind)) = addresses
                .iter()
                .find_map(|a| special_address(a.ip()).map(|kind| (a.ip(), kind)))
            {
                return Err(Box::new(SpecialAddress {
                    name,
                    address,
                    kind,
                })
                    as Box<dyn std::error::Error + Send + Sync>);
            }
            Ok(Box::new(addresses.into_iter()) as Addrs)
        })
    }
}

/// `a` or `an`, as `kind` (a special address's kind) begins: "an unspecified address".
pub(super) fn article(kind: &str) -> &'static str {
    if kind.starts_with(['a', 'e', 'i', 'o', 'u']) {
        "an"
    } else {
        "a"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(address: &str) -> Option<&'static str> {
        special_address(address.parse().expect("an address"))
    }

    #[test]
    fn ipv6_forms_that_embed_or_tunnel_to_ipv4_are_special() {
        assert_eq!(kind("::ffff:0:7f00:1"), Some("loopback"));
        assert_eq!(kind("::ffff:0:93b8:d822"), Some("IPv4-translated"));
        assert_eq!(kind("64:ff9b::7f00:1"), Some("loopback"));
        assert_eq!(
            kind("64:ff9b::93b8:d822"),
            None,
            "NAT64 of a public address"
        );
        assert_eq!(kind("64:ff9b:1::7f00:1"), Some("local-use NAT64"));
        assert_eq!(kind("64:ff9b:1:ffff::1"), Some("local-use NAT64"));
        assert_eq!(kind("2001:0:4136:e378:8000:63bf:3fff:fdd2"), Some("Teredo"));
        assert_eq!(kind("2002:7f00:1::"), Some("loopback"));
        assert_eq!(kind("2001:4860:4860::8888"), None, "a public address");
    }
}
