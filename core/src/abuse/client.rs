//! The client's address: the socket peer, or the right-most untrusted `X-Forwarded-For` hop when
//! the peer is a trusted proxy.

use std::net::{IpAddr, SocketAddr};

use http::HeaderName;
use http::request::Parts;

/// The socket peer of a request, as the adapters put it into the request's extensions
/// (`http::request::Parts::extensions`) before calling the core.
///
/// `authmount-actix` always knows the peer; `authmount-axum` knows it when the app serves with
/// `into_make_service_with_connect_info::<SocketAddr>()` (axum's `ConnectInfo`). Without it, the
/// per-client login limit is not applied and audit events carry no address.
///
/// ```
/// use authmount::abuse::ClientAddr;
/// let (mut head, ()) = http::Request::get("/").body(()).unwrap().into_parts();
/// head.extensions.insert(ClientAddr("192.0.2.7:50123".parse().unwrap()));
/// assert_eq!(ClientAddr::peer_of(&head), Some("192.0.2.7".parse().unwrap()));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ClientAddr(pub SocketAddr);

impl ClientAddr {
    /// The peer's IP address recorded in `head`, if an adapter recorded one.
    pub fn peer_of(head: &Parts) -> Option<IpAddr> {
        head.extensions.get::<Self>().map(|addr| canonical(addr.0.ip()))
    }
}

const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");

/// Which proxies may tell the client's address in `X-Forwarded-For`. Empty by default: the
/// header is ignored and the socket peer is the client.
///
/// With proxies configured, a request whose peer is one of them is attributed to the right-most
/// address in `X-Forwarded-For` (all headers, in order) that is not itself a trusted proxy; the
/// hops to its left were written by the client and are ignored. A malformed entry stops the walk
/// at the last trusted hop (the proxy that appended the garbage is then the client).
///
/// ```
/// use authmount::abuse::{ClientAddr, TrustedProxies};
/// let proxies = TrustedProxies::new(["10.0.0.1".parse().unwrap()]);
/// let (mut head, ()) = http::Request::get("/")
///     .header("x-forwarded-for", "6.6.6.6, 203.0.113.9")
///     .body(())
///     .unwrap()
///     .into_parts();
/// head.extensions.insert(ClientAddr("10.0.0.1:4000".parse().unwrap()));
/// assert_eq!(proxies.client_ip(&head), Some("203.0.113.9".parse().unwrap()));
///
/// // The same header from an untrusted peer is ignored.
/// head.extensions.insert(ClientAddr("198.51.100.2:4000".parse().unwrap()));
/// assert_eq!(proxies.client_ip(&head), Some("198.51.100.2".parse().unwrap()));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies {
    proxies: Vec<IpAddr>,
}

impl TrustedProxies {
    /// Trusts exactly these proxy addresses.
    pub fn new(proxies: impl IntoIterator<Item = IpAddr>) -> Self {
        Self { proxies: proxies.into_iter().map(canonical).collect() }
    }

    /// `true` when no proxy is trusted (the default).
    pub fn is_empty(&self) -> bool {
        self.proxies.is_empty()
    }

    fn trusts(&self, ip: IpAddr) -> bool {
        self.proxies.contains(&ip)
    }

    /// The client's address for `head`: the socket peer, or, when the peer is a trusted proxy,
    /// the right-most untrusted `X-Forwarded-For` hop. `None` when no adapter recorded a peer.
    pub fn client_ip(&self, head: &Parts) -> Option<IpAddr> {
        let peer = ClientAddr::peer_of(head)?;
        if !self.trusts(peer) {
            return Some(peer);
        }
        let mut hops: Vec<&str> = Vec::new();
        for value in head.headers.get_all(X_FORWARDED_FOR) {
            let Ok(text) = value.to_str() else { return Some(peer) };
            hops.extend(text.split(','));
        }
        let mut client = peer;
        for hop in hops.iter().rev() {
            let Some(ip) = parse_hop(hop) else { return Some(client) };
            client = ip;
            if !self.trusts(ip) {
                break;
            }
        }
        Some(client)
    }
}

/// One `X-Forwarded-For` entry: an IP address, optionally with a port (`1.2.3.4:5`,
/// `[::1]:5`).
fn parse_hop(hop: &str) -> Option<IpAddr> {
    let hop = hop.trim();
    if let Ok(ip) = hop.parse::<IpAddr>() {
        return Some(canonical(ip));
    }
    hop.parse::<SocketAddr>().ok().map(|addr| canonical(addr.ip()))
}

/// IPv4-mapped IPv6 addresses (`::ffff:1.2.3.4`) as plain IPv4, so one client has one key.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(peer: Option<&str>, forwarded: &[&str]) -> Parts {
        let mut builder = http::Request::get("/");
        for value in forwarded {
            builder = builder.header("x-forwarded-for", *value);
        }
        let (mut head, ()) = builder.body(()).expect("request").into_parts();
        if let Some(peer) = peer {
            head.extensions.insert(ClientAddr(peer.parse().expect("socket address")));
        }
        head
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().expect("ip")
    }

    #[test]
    fn without_trusted_proxies_the_header_is_ignored() {
        let none = TrustedProxies::default();
        assert_eq!(none.client_ip(&head(Some("192.0.2.1:1"), &["203.0.113.5"])), Some(ip("192.0.2.1")));
        assert_eq!(none.client_ip(&head(None, &["203.0.113.5"])), None);
    }

    #[test]
    fn the_right_most_untrusted_hop_is_the_client() {
        let proxies = TrustedProxies::new([ip("10.0.0.1"), ip("10.0.0.2")]);
        let cases: [(&[&str], &str); 6] = [
            (&["203.0.113.5"], "203.0.113.5"),
            (&["1.1.1.1, 203.0.113.5, 10.0.0.2"], "203.0.113.5"),
            (&["1.1.1.1", "203.0.113.5", "10.0.0.2"], "203.0.113.5"),
            (&[], "10.0.0.1"),
            (&["garbage, 10.0.0.2"], "10.0.0.2"),
            (&["[2001:db8::1]:443"], "2001:db8::1"),
        ];
        for (forwarded, expected) in cases {
            assert_eq!(
                proxies.client_ip(&head(Some("10.0.0.1:9"), forwarded)),
                Some(ip(expected)),
                "{forwarded:?}"
            );
        }
        // Only trusted hops: the left-most of them.
        assert_eq!(proxies.client_ip(&head(Some("10.0.0.1:9"), &["10.0.0.2"])), Some(ip("10.0.0.2")));
    }

    #[test]
    fn mapped_ipv6_is_ipv4() {
        assert_eq!(ClientAddr::peer_of(&head(Some("[::ffff:192.0.2.1]:80"), &[])), Some(ip("192.0.2.1")));
    }
}
