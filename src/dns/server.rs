//! Transports: UDP workers and a TCP listener, bound once, stopped by a future.
//!
//! UDP is the hot path: one `SO_REUSEPORT` socket per worker, each served by its
//! own OS thread in a tight `recv_from` → [`answer`] → `send_to` loop with buffers
//! reused across queries (no task spawn, no allocation, no log line per query).
//! The kernel spreads datagrams over the sockets. TCP (truncated answers retried,
//! large headless services, `dig +tcp`) is framed here per RFC 7766 and calls the
//! same [`answer`] function, so both transports send identical bytes.
//!
//! Why not hickory-server for TCP: its response path re-encodes every message
//! through hickory's encoder, which sheds additional records of large SRV answers
//! *and sets TC for it* (RFC 2181 §9 says missing additional data must not), and
//! whose linear compression table makes 1,000-record answers quadratic. Framing
//! TCP is 60 lines; byte-identical answers on both transports are worth more.

use std::net::{SocketAddr, UdpSocket};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use socket2::{Domain, Protocol, Socket, Type};

use super::answer::{Limits, Outcome, Transport, answer};
use super::forward::Forwarder;
use crate::cache::Zone;
use crate::metrics::{Proto, QueryMetrics};

/// Why the server could not start or stopped.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// A listen address could not be bound.
    #[error("cannot bind {proto} {addr}: {source} (is another DNS server using this port? pick another with --listen)")]
    Bind {
        /// udp or tcp.
        proto: &'static str,
        /// The address.
        addr: SocketAddr,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// A worker thread could not be spawned.
    #[error("cannot start a UDP worker thread: {0}")]
    Spawn(std::io::Error),
    /// hickory-server's TCP listener failed.
    #[error("TCP listener failed: {0}")]
    Tcp(String),
}

/// Sockets bound and ready to serve.
pub struct Bound {
    /// UDP sockets: `workers` per listen address, sharing the port via SO_REUSEPORT.
    udp: Vec<UdpSocket>,
    /// One TCP listener per listen address.
    tcp: Vec<std::net::TcpListener>,
    /// The addresses actually bound (port 0 resolved).
    addrs: Vec<SocketAddr>,
}

fn udp_socket(addr: SocketAddr) -> std::io::Result<UdpSocket> {
    let sock = Socket::new(Domain::for_address(addr), Type::DGRAM, Some(Protocol::UDP))?;
    if addr.is_ipv6() {
        sock.set_only_v6(true)?;
    }
    sock.set_reuse_port(true)?;
    let _ = sock.set_recv_buffer_size(4 << 20);
    let _ = sock.set_send_buffer_size(4 << 20);
    sock.bind(&addr.into())?;
    // A short timeout lets workers notice shutdown without a wake-up packet.
    sock.set_read_timeout(Some(Duration::from_millis(200)))?;
    Ok(sock.into())
}

impl Bound {
    /// Binds every address: UDP (×`workers`) and TCP on the same port. Port 0 is
    /// resolved on the first bind and reused for the rest (tests use `127.0.0.1:0`),
    /// trying another port when TCP on the one picked is taken.
    pub fn bind(addrs: &[SocketAddr], workers: usize) -> Result<Self, ServerError> {
        let mut bound = Bound { udp: Vec::new(), tcp: Vec::new(), addrs: Vec::new() };
        for &want in addrs {
            let (udp, tcp, addr) = bind_one(want, workers)?;
            bound.udp.extend(udp);
            bound.tcp.push(tcp);
            bound.addrs.push(addr);
        }
        Ok(bound)
    }

    /// The bound addresses.
    pub fn local_addrs(&self) -> &[SocketAddr] {
        &self.addrs
    }
}

/// Attempts at a free port when asked for port 0: the kernel picks a UDP port, and
/// TCP on that same port may already be taken by another process.
const PORT_ZERO_ATTEMPTS: usize = 16;

/// Binds `workers` UDP sockets and one TCP listener on one address (the same port
/// for both). With port 0, a port whose TCP side is taken is given up and another
/// one tried.
fn bind_one(
    want: SocketAddr,
    workers: usize,
) -> Result<(Vec<UdpSocket>, std::net::TcpListener, SocketAddr), ServerError> {
    let mut attempt = 0;
    loop {
        attempt += 1;
        let first = udp_socket(want).map_err(|source| ServerError::Bind { proto: "udp", addr: want, source })?;
        let addr = first.local_addr().map_err(|source| ServerError::Bind { proto: "udp", addr: want, source })?;
        let mut udp = vec![first];
        for _ in 1..workers.max(1) {
            udp.push(udp_socket(addr).map_err(|source| ServerError::Bind { proto: "udp", addr, source })?);
        }
        match tcp_listener(addr) {
            Ok(tcp) => return Ok((udp, tcp, addr)),
            Err(e) if want.port() == 0 && e.kind() == std::io::ErrorKind::AddrInUse && attempt < PORT_ZERO_ATTEMPTS => {
                continue; // drops these UDP sockets; the kernel picks another port
            }
            Err(source) => return Err(ServerError::Bind { proto: "tcp", addr, source }),
        }
    }
}

fn tcp_listener(addr: SocketAddr) -> std::io::Result<std::net::TcpListener> {
    let sock = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    if addr.is_ipv6() {
        sock.set_only_v6(true)?;
    }
    sock.set_reuse_address(true)?;
    sock.bind(&addr.into())?;
    sock.listen(1024)?;
    sock.set_nonblocking(true)?;
    Ok(sock.into())
}

/// What the transports share.
#[derive(Clone)]
pub struct Shared {
    /// The zone answers come from.
    pub zone: Arc<Zone>,
    /// Size limits and forwarding switch.
    pub limits: Limits,
    /// Query counters.
    pub metrics: Arc<QueryMetrics>,
    /// Upstream forwarder for names outside our zones, if configured.
    pub forwarder: Option<Arc<Forwarder>>,
}

/// Serves DNS on `bound` until `shutdown` resolves, then stops every worker and
/// the TCP listener and returns.
pub async fn serve(
    bound: Bound,
    shared: Shared,
    shutdown: impl std::future::Future<Output = ()>,
) -> Result<(), ServerError> {
    let stop = Arc::new(AtomicBool::new(false));
    let mut threads = Vec::new();
    let runtime = tokio::runtime::Handle::current();
    for (i, sock) in bound.udp.into_iter().enumerate() {
        let (shared, stop, runtime) = (shared.clone(), Arc::clone(&stop), runtime.clone());
        let t = std::thread::Builder::new()
            .name(format!("dns-udp-{i}"))
            .spawn(move || udp_worker(i, sock, &shared, &stop, &runtime))
            .map_err(ServerError::Spawn)?;
        threads.push(t);
    }
    let tcp_stop = tokio_util::sync::CancellationToken::new();
    let mut tcp = tokio::task::JoinSet::new();
    for l in bound.tcp {
        let l = tokio::net::TcpListener::from_std(l).map_err(|e| ServerError::Tcp(e.to_string()))?;
        tcp.spawn(tcp_accept(l, shared.clone(), tcp_stop.clone()));
    }
    shutdown.await;
    stop.store(true, Ordering::Relaxed);
    tcp_stop.cancel();
    while tcp.join_next().await.is_some() {}
    tokio::task::spawn_blocking(move || {
        for t in threads {
            let _ = t.join();
        }
    })
    .await
    .map_err(|e| ServerError::Tcp(e.to_string()))?;
    Ok(())
}

/// One UDP worker: receive, answer, send, until `stop`.
fn udp_worker(i: usize, sock: UdpSocket, shared: &Shared, stop: &AtomicBool, runtime: &tokio::runtime::Handle) {
    let mut inbuf = vec![0u8; 65535];
    let mut out = Vec::with_capacity(65535);
    let shard = shared.metrics.shard(i);
    while !stop.load(Ordering::Relaxed) {
        let (len, src) = match sock.recv_from(&mut inbuf) {
            Ok(r) => r,
            Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => continue,
            Err(e) => {
                tracing::debug!(error = %e, "udp recv failed");
                continue;
            }
        };
        let started = Instant::now();
        match answer(&inbuf[..len], &shared.zone, Transport::Udp, &shared.limits, &mut out) {
            Outcome::Reply { len, rcode, qtype } => {
                if let Err(e) = sock.send_to(&out[..len], src) {
                    tracing::debug!(error = %e, %src, "udp send failed");
                }
                shard.record(Proto::Udp, qtype, rcode, started.elapsed());
            }
            Outcome::Drop => shard.dropped(),
            Outcome::Forward { qtype } => match (&shared.forwarder, sock.try_clone()) {
                (Some(fwd), Ok(reply_sock)) => {
                    let (fwd, query) = (Arc::clone(fwd), inbuf[..len].to_vec());
                    let metrics = Arc::clone(&shared.metrics);
                    runtime.spawn(async move {
                        if let Some(resp) = fwd.forward(&query, Transport::Udp).await {
                            let _ = reply_sock.send_to(&resp, src);
                            let rcode = resp.get(3).map_or(2, |b| b & 0x0F);
                            metrics.shard(i).record(Proto::Udp, qtype, rcode, started.elapsed());
                        }
                    });
                }
                _ => shard.dropped(),
            },
        }
    }
}

/// Serves TCP connections (RFC 7766): 2-byte length-prefixed messages, answered
/// in order, with an idle timeout and a cap on concurrent connections.
async fn tcp_accept(listener: tokio::net::TcpListener, shared: Shared, stop: tokio_util::sync::CancellationToken) {
    let slots = Arc::new(tokio::sync::Semaphore::new(MAX_TCP_CONNECTIONS));
    let mut conns = tokio::task::JoinSet::new();
    loop {
        let accepted = tokio::select! {
            _ = stop.cancelled() => break,
            a = listener.accept() => a,
        };
        let (stream, peer) = match accepted {
            Ok(a) => a,
            Err(e) => {
                tracing::debug!(error = %e, "tcp accept failed");
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        // Over the cap, close at once rather than queue (the client retries elsewhere).
        let Ok(permit) = Arc::clone(&slots).try_acquire_owned() else { continue };
        let shared = shared.clone();
        conns.spawn(async move {
            if let Err(e) = tcp_connection(stream, &shared).await {
                tracing::debug!(%peer, error = %e, "tcp connection ended");
            }
            drop(permit);
        });
        while conns.try_join_next().is_some() {}
    }
    conns.shutdown().await;
}

/// Most TCP connections served at once.
const MAX_TCP_CONNECTIONS: usize = 1024;
/// A connection idle this long is closed (RFC 7766 §6.2.3 suggests seconds).
const TCP_IDLE: Duration = Duration::from_secs(10);

async fn tcp_connection(mut stream: tokio::net::TcpStream, shared: &Shared) -> std::io::Result<()> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let _ = stream.set_nodelay(true);
    let mut msg = Vec::with_capacity(512);
    let mut out = Vec::with_capacity(512);
    loop {
        let len = match tokio::time::timeout(TCP_IDLE, stream.read_u16()).await {
            Ok(Ok(len)) => len as usize,
            Ok(Err(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(()),
            Ok(Err(e)) => return Err(e),
            Err(_) => return Ok(()), // idle
        };
        msg.resize(len, 0);
        tokio::time::timeout(TCP_IDLE, stream.read_exact(&mut msg))
            .await
            .map_err(|_| std::io::ErrorKind::TimedOut)??;
        let started = Instant::now();
        let reply: Option<(Vec<u8>, u16, u8)> =
            match answer(&msg, &shared.zone, Transport::Tcp, &shared.limits, &mut out) {
                Outcome::Reply { len, rcode, qtype } => {
                    let bytes = std::mem::take(&mut out);
                    out = Vec::with_capacity(512);
                    Some((bytes[..len].to_vec(), qtype, rcode))
                }
                Outcome::Drop => {
                    shared.metrics.tcp_shard().dropped();
                    None
                }
                Outcome::Forward { qtype } => {
                    let resp = match &shared.forwarder {
                        Some(fwd) => fwd.forward(&msg, Transport::Tcp).await,
                        None => None,
                    };
                    Some(resp.map_or_else(
                        || (servfail_for(&msg), qtype, 2),
                        |r| {
                            let rcode = r.get(3).map_or(2, |b| b & 0x0F);
                            (r, qtype, rcode)
                        },
                    ))
                }
            };
        if let Some((bytes, qtype, rcode)) = reply {
            let mut framed = Vec::with_capacity(bytes.len() + 2);
            framed.extend_from_slice(&(bytes.len() as u16).to_be_bytes());
            framed.extend_from_slice(&bytes);
            stream.write_all(&framed).await?;
            shared.metrics.tcp_shard().record(Proto::Tcp, qtype, rcode, started.elapsed());
        }
    }
}

/// SERVFAIL for a query no upstream answered: the query's id, opcode, RD and
/// question, no records.
fn servfail_for(query: &[u8]) -> Vec<u8> {
    let mut r = query.to_vec();
    if r.len() >= 12 {
        r[2] = 0x80 | (r[2] & 0x79);
        r[3] = 2;
        r[6..12].fill(0);
        // Keep header + question only (an upstream-less reply carries no OPT).
        let qend = 12 + r[12..].iter().position(|&b| b == 0).map_or(0, |p| p + 5);
        r.truncate(qend.min(r.len()));
    }
    r
}
