//! The HTTP listener: connections accepted under limits, served by hyper (HTTP/1.1 with
//! upgrades for WebSocket, and h2c), and drained on shutdown.
//!
//! `axum::serve` has no limits of its own: an idle keep-alive connection, a client that sends
//! its headers a byte a minute (slowloris) or a body that stalls after a few bytes each hold a
//! socket and its buffers for as long as the client likes, and nothing caps how many sockets
//! there are. [`serve_with`] closes a connection that has not sent a whole request head within
//! [`HttpLimits::header_read_timeout`] (the timer also runs while a keep-alive connection waits
//! for its next request, so it is the idle timeout too), fails a request whose body sends
//! nothing for [`HttpLimits::body_timeout`], and refuses connections over
//! [`HttpLimits::max_connections`] in all or [`HttpLimits::max_connections_per_client`] from
//! one address (closed at once: the client sees a reset, never a half-served request).
//!
//! With a [`TlsAcceptor`] ([`tls_acceptor`], from `[tls]`), every connection is TLS (ALPN
//! offers `h2` and `http/1.1`); the handshake must finish within the header-read timeout.

use std::collections::HashMap;
use std::future::Future;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use parking_lot::Mutex;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
pub use tokio_rustls::TlsAcceptor;

/// Limits on connections and on how slowly a client may send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HttpLimits {
    /// How long a connection may take to send a whole request head, counted from when it
    /// opened or from the end of its previous response (an idle keep-alive connection is
    /// closed after this long).
    pub header_read_timeout: Duration,
    /// How long a request body may go without sending anything before the request fails.
    pub body_timeout: Duration,
    /// Open connections in all; more are closed as soon as they are accepted.
    pub max_connections: usize,
    /// Open connections from one client address.
    pub max_connections_per_client: usize,
}

impl Default for HttpLimits {
    fn default() -> Self {
        Self {
            header_read_timeout: Duration::from_secs(30),
            body_timeout: Duration::from_secs(30),
            max_connections: 10_000,
            max_connections_per_client: 1_000,
        }
    }
}

/// Counts connections per client address; a slot is given back when its guard drops.
#[derive(Default)]
struct Clients {
    open: Mutex<Open>,
}

#[derive(Default)]
struct Open {
    total: usize,
    by_client: HashMap<IpAddr, usize>,
}

struct Slot {
    clients: Arc<Clients>,
    ip: IpAddr,
}

impl Clients {
    fn admit(self: &Arc<Self>, ip: IpAddr, limits: &HttpLimits) -> Option<Slot> {
        let mut open = self.open.lock();
        let from_ip = open.by_client.get(&ip).copied().unwrap_or(0);
        if open.total >= limits.max_connections || from_ip >= limits.max_connections_per_client {
            return None;
        }
        open.total += 1;
        open.by_client.insert(ip, from_ip + 1);
        Some(Slot {
            clients: Arc::clone(self),
            ip,
        })
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut open = self.clients.open.lock();
        open.total = open.total.saturating_sub(1);
        if let Some(n) = open.by_client.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                open.by_client.remove(&self.ip);
            }
        }
    }
}

/// The PEM certificate chain and private key a TLS listener serves with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    /// The certificate chain, leaf first.
    pub cert_file: std::path::PathBuf,
    /// The private key (PKCS#8, PKCS#1 or SEC1).
    pub key_file: std::path::PathBuf,
}

/// A TLS acceptor for `files`, offering HTTP/2 and HTTP/1.1 by ALPN (gRPC clients need `h2`).
/// Errors name the file that could not be read or used.
pub fn tls_acceptor(files: &TlsFiles) -> std::io::Result<TlsAcceptor> {
    use rustls::pki_types::pem::PemObject as _;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let bad = |path: &std::path::Path, why: String| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("{}: {why}", path.display()),
        )
    };
    let certs = CertificateDer::pem_file_iter(&files.cert_file)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|e| bad(&files.cert_file, e.to_string()))?;
    if certs.is_empty() {
        return Err(bad(&files.cert_file, "no certificate in it".to_owned()));
    }
    let key = PrivateKeyDer::from_pem_file(&files.key_file)
        .map_err(|e| bad(&files.key_file, e.to_string()))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| bad(&files.cert_file, e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| bad(&files.key_file, e.to_string()))?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}

/// Serves `app` on `listener` under `limits` until `shutdown` completes; then stops accepting,
/// closes idle connections and waits for in-flight requests (and open streams, which the
/// service ends at shutdown) to finish.
pub async fn serve_with(
    listener: TcpListener,
    app: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
    limits: HttpLimits,
) -> std::io::Result<()> {
    serve_tls_with(listener, app, shutdown, limits, None).await
}

/// [`serve_with`], with every connection TLS when `tls` is given.
pub async fn serve_tls_with(
    listener: TcpListener,
    app: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
    limits: HttpLimits,
    tls: Option<TlsAcceptor>,
) -> std::io::Result<()> {
    let app = app.layer(tower_http::timeout::RequestBodyTimeoutLayer::new(
        limits.body_timeout,
    ));
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout);
    builder
        .http2()
        .timer(TokioTimer::new())
        // A peer that vanished without a FIN is found by a ping that gets no answer.
        .keep_alive_interval(Some(Duration::from_secs(30)))
        .keep_alive_timeout(Duration::from_secs(20));
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    // Tells connections that have not sent their first byte yet that the server is draining.
    let (draining_tx, draining_rx) = tokio::sync::watch::channel(false);
    let clients = Arc::new(Clients::default());
    let mut refused: u64 = 0;
    tokio::pin!(shutdown);
    loop {
        let (tcp, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(error) => {
                    // Out of file descriptors (EMFILE) and the like: wait rather than spin;
                    // established connections go on being served.
                    tracing::warn!(%error, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let Some(slot) = clients.admit(peer.ip(), &limits) else {
            refused += 1;
            // One line per thousand, so a flood cannot flood the log as well.
            if refused % 1000 == 1 {
                tracing::warn!(
                    client = %peer.ip(),
                    refused,
                    "connection refused: over max_connections or max_connections_per_client"
                );
            }
            drop(tcp);
            continue;
        };
        // No Nagle delay: an answer made of small writes (a pack's pkt-lines; HTTP/2
        // headers, data and gRPC trailers) otherwise waits for the client's delayed ACK.
        if let Err(error) = tcp.set_nodelay(true) {
            tracing::warn!(%error, "TCP_NODELAY could not be set");
        }
        let service = TowerToHyperService::new(app.clone());
        let builder = builder.clone();
        let watcher = graceful.watcher();
        let first_byte = limits.header_read_timeout;
        let tls = tls.clone();
        let mut draining = draining_rx.clone();
        tokio::spawn(async move {
            // The HTTP/1-or-2 sniffing reads before hyper's header timer runs: a connection
            // that never sends a byte would be held forever. It must send one in time, and
            // the drain does not wait for it: it has asked for nothing (a client's pooled
            // connection that sent nothing held every shutdown for the whole timeout).
            let mut byte = [0u8; 1];
            tokio::select! {
                peeked = tokio::time::timeout(first_byte, tcp.peek(&mut byte)) => match peeked {
                    Ok(Ok(n)) if n > 0 => {}
                    _ => return,
                },
                _ = draining.wait_for(|d| *d) => return,
            }
            match tls {
                // The handshake is bounded like a request head: a client that stalls in it
                // is closed.
                Some(acceptor) => {
                    match tokio::time::timeout(first_byte, acceptor.accept(tcp)).await {
                        Ok(Ok(stream)) => serve_connection(builder, stream, service, watcher).await,
                        Ok(Err(error)) => tracing::debug!(%error, "TLS handshake failed"),
                        Err(_) => tracing::debug!("TLS handshake timed out"),
                    }
                }
                None => serve_connection(builder, tcp, service, watcher).await,
            }
            drop(slot);
        });
    }
    drop(listener);
    draining_tx.send_replace(true);
    graceful.shutdown().await;
    Ok(())
}

/// One connection, plain or TLS, until it ends or the drain closes it.
async fn serve_connection<I>(
    builder: auto::Builder<TokioExecutor>,
    io: I,
    service: TowerToHyperService<Router>,
    watcher: hyper_util::server::graceful::Watcher,
) where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let conn = builder
        .serve_connection_with_upgrades(TokioIo::new(io), service)
        .into_owned();
    // A client that hangs up or times out ends its connection: not the server's error.
    let _ = watcher.watch(conn).await;
}
