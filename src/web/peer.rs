//! Who is on the other end: the [`ClientAddress`] extractor. The socket's address, unless that
//! is one of `http.trusted_proxies`, whose `X-Forwarded-For` then names the client. A header
//! from anyone else is ignored, so a client cannot choose its own address.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::HeaderMap;

use super::{ApiError, AppState};

/// The client's address as far as this server can tell.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ClientAddress(pub IpAddr);

impl FromRequestParts<AppState> for ClientAddress {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<ClientAddress, ApiError> {
        // `serve` records the socket's address on every request; a router driven some other
        // way (no socket) puts every caller at one address.
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |info| info.0.ip());
        Ok(ClientAddress(client_address(
            peer,
            &parts.headers,
            &state.config.http.trusted_proxies,
        )))
    }
}

/// `peer`, or when it is a trusted proxy the right-most address of `X-Forwarded-For` that is not
/// one (each proxy appends the address it was reached from).
fn client_address(peer: IpAddr, headers: &HeaderMap, trusted: &[IpAddr]) -> IpAddr {
    let is_trusted = |address: &IpAddr| trusted.iter().any(|t| same_ip(t, address));
    if !is_trusted(&peer) {
        return peer;
    }
    let mut client = peer;
    let hops = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .collect::<Vec<_>>();
    for hop in hops.iter().rev() {
        match hop.trim().parse::<IpAddr>() {
            Ok(address) => {
                client = address;
                if !is_trusted(&address) {
                    break;
                }
            }
            // A hop we cannot read: the last one we could is as far as the chain is known.
            Err(_) => break,
        }
    }
    client
}

/// Equal addresses, an IPv4 one and its IPv6-mapped form included.
fn same_ip(a: &IpAddr, b: &IpAddr) -> bool {
    a.to_canonical() == b.to_canonical()
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn forwarded(value: &'static str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert("x-forwarded-for", HeaderValue::from_static(value));
        headers
    }

    #[test]
    fn only_a_trusted_proxy_names_the_client() {
        let proxy: IpAddr = "10.0.0.1".parse().unwrap();
        let stranger: IpAddr = "198.51.100.9".parse().unwrap();
        let headers = forwarded("203.0.113.5, 10.0.0.2");
        // Untrusted peer: the header is ignored.
        assert_eq!(client_address(stranger, &headers, &[proxy]), stranger);
        assert_eq!(client_address(proxy, &headers, &[]), proxy);
        // Trusted peer: the right-most untrusted hop (10.0.0.2 is not a proxy we know).
        assert_eq!(
            client_address(proxy, &headers, &[proxy]),
            "10.0.0.2".parse::<IpAddr>().unwrap()
        );
        let both = [proxy, "10.0.0.2".parse().unwrap()];
        assert_eq!(
            client_address(proxy, &headers, &both),
            "203.0.113.5".parse::<IpAddr>().unwrap()
        );
        // A forged left part does not help a client behind the proxy.
        let headers = forwarded("1.2.3.4, garbage, 203.0.113.5");
        assert_eq!(
            client_address(proxy, &headers, &[proxy]),
            "203.0.113.5".parse::<IpAddr>().unwrap()
        );
        assert_eq!(client_address(proxy, &HeaderMap::new(), &[proxy]), proxy);
        let mapped: IpAddr = "::ffff:10.0.0.1".parse().unwrap();
        assert_eq!(
            client_address(mapped, &headers, &[proxy]),
            "203.0.113.5".parse::<IpAddr>().unwrap()
        );
    }
}
