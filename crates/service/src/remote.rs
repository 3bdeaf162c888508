//! Clone and mirror sources: the URL checks of `core` plus name resolution, so a host name that
//! resolves to this machine or a private network is refused like its address would be.

use std::future::Future;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::Arc;

use gitapi_core::names::is_local_ip;
use gitapi_core::{ClonePolicy, Error, ErrorKind, RemoteUrl, Result};

/// The future a [`Resolver`] returns.
pub type ResolveFuture = Pin<Box<dyn Future<Output = std::io::Result<Vec<IpAddr>>> + Send>>;

/// Resolves a host name and port to addresses. The system resolver by default; tests pass
/// their own.
pub type Resolver = Arc<dyn Fn(String, u16) -> ResolveFuture + Send + Sync>;

/// The system resolver (`getaddrinfo` through tokio).
pub fn system_resolver() -> Resolver {
    Arc::new(|host: String, port: u16| {
        Box::pin(async move {
            let addrs = tokio::net::lookup_host((host.as_str(), port)).await?;
            Ok(addrs.map(|a| a.ip()).collect())
        })
    })
}

/// The host and port of an `http(s)` URL that [`RemoteUrl::parse`] accepted.
fn host_port(url: &str) -> Option<(String, u16)> {
    let (scheme, rest) = url.split_once("://")?;
    let default_port = match scheme.to_ascii_lowercase().as_str() {
        "http" => 80,
        "https" => 443,
        _ => return None,
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host_port = authority.rsplit('@').next().unwrap_or("");
    if let Some(v6) = host_port.strip_prefix('[') {
        let (host, after) = v6.split_once(']')?;
        let port = after.strip_prefix(':').and_then(|p| p.parse().ok());
        return Some((host.to_owned(), port.unwrap_or(default_port)));
    }
    let mut parts = host_port.splitn(2, ':');
    let host = parts.next()?.to_owned();
    let port = parts.next().and_then(|p| p.parse().ok());
    Some((host, port.unwrap_or(default_port)))
}

/// Checks a clone source: the URL rules of [`RemoteUrl::parse`], then, unless local sources are
/// allowed, every address the host resolves to.
///
/// A name that resolves to any local address is refused (`PermissionDenied`), since git may
/// connect to any of them. The check cannot stop a DNS server that answers differently when git
/// resolves the name again; operators who need that guarantee put the server behind an egress
/// proxy.
pub async fn check_remote(url: &str, allow_local: bool, resolver: &Resolver) -> Result<RemoteUrl> {
    let policy = ClonePolicy { allow_local };
    let remote = RemoteUrl::parse(url, policy)?;
    if allow_local {
        return Ok(remote);
    }
    let Some((host, port)) = host_port(remote.as_str()) else {
        // file:// is refused by `parse` without allow_local; nothing else reaches here.
        return Err(Error::invalid(format!("remote url {url:?} has no host")));
    };
    if host.parse::<IpAddr>().is_ok() {
        // A literal address was checked by `parse`.
        return Ok(remote);
    }
    let addrs = resolver(host.clone(), port).await.map_err(|e| {
        Error::new(
            ErrorKind::Unavailable,
            format!("resolving host {host:?} failed: {e}"),
        )
    })?;
    if addrs.is_empty() {
        return Err(Error::new(
            ErrorKind::Unavailable,
            format!("host {host:?} has no address"),
        ));
    }
    if let Some(ip) = addrs.iter().find(|ip| is_local_ip(**ip)) {
        return Err(Error::new(
            ErrorKind::PermissionDenied,
            format!(
                "remote url {url:?} is not allowed: host {host:?} resolves to the local address {ip}"
            ),
        ));
    }
    Ok(remote)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_and_port() {
        assert_eq!(
            host_port("https://example.com/a.git"),
            Some(("example.com".into(), 443))
        );
        assert_eq!(
            host_port("http://u:p@example.com:8080/a"),
            Some(("example.com".into(), 8080))
        );
        assert_eq!(
            host_port("http://[2001:db8::1]:81/a"),
            Some(("2001:db8::1".into(), 81))
        );
    }
}
