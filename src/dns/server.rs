//! Transports: UDP workers and a TCP listener, bound once, stopped by a future.
//!
//! UDP is the hot path: one `SO_REUSEPORT` socket per worker, each served by its
//! own OS thread in a tight `recv_from` → [`answer`] → `send_to` loop with buffers
//! reused across queries (no task spawn, no allocation, no log line per query).
//! The kernel spreads datagrams over the sockets. TCP (truncated answers retried,
//! large headless services, `dig +tcp`) goes through hickory-server, which owns
//! framing, idle timeouts and connection handling; its handler calls the same
//! [`answer`] function, so both transports give identical answers.

use std::net::{SocketAddr, UdpSocket};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use hickory_proto::op::{Header, Message, MessageType, Metadata, OpCode, ResponseCode};
use hickory_server::net::runtime::Time;
use hickory_server::server::{Request, RequestHandler, ResponseHandler, ResponseInfo};
use hickory_server::zone_handler::MessageResponseBuilder;
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
    /// resolved on the first bind and reused for the rest (tests use `127.0.0.1:0`).
    pub fn bind(addrs: &[SocketAddr], workers: usize) -> Result<Self, ServerError> {
        let mut bound = Bound { udp: Vec::new(), tcp: Vec::new(), addrs: Vec::new() };
        for &want in addrs {
            let first = udp_socket(want).map_err(|source| ServerError::Bind { proto: "udp", addr: want, source })?;
            let addr = first.local_addr().map_err(|source| ServerError::Bind { proto: "udp", addr: want, source })?;
            bound.udp.push(first);
            for _ in 1..workers.max(1) {
                bound.udp.push(udp_socket(addr).map_err(|source| ServerError::Bind { proto: "udp", addr, source })?);
            }
            let tcp = tcp_listener(addr).map_err(|source| ServerError::Bind { proto: "tcp", addr, source })?;
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
pub async fn serve(bound: Bound, shared: Shared, shutdown: impl std::future::Future<Output = ()>) -> Result<(), ServerError> {
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
    let mut tcp = hickory_server::Server::new(TcpHandler { shared: shared.clone() });
    for l in bound.tcp {
        let l = tokio::net::TcpListener::from_std(l).map_err(|e| ServerError::Tcp(e.to_string()))?;
        tcp.register_listener(l, Duration::from_secs(5), 32);
    }
    shutdown.await;
    stop.store(true, Ordering::Relaxed);
    let _ = tcp.shutdown_gracefully().await;
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

/// hickory-server request handler for TCP: the same answer path, re-parsed into
/// hickory's response types (TCP is the uncommon path; the parse costs little).
struct TcpHandler {
    shared: Shared,
}

fn servfail(id: u16) -> ResponseInfo {
    let mut metadata = Metadata::new(id, MessageType::Response, OpCode::Query);
    metadata.response_code = ResponseCode::ServFail;
    Header { metadata, counts: Default::default() }.into()
}

#[async_trait::async_trait]
impl RequestHandler for TcpHandler {
    async fn handle_request<R: ResponseHandler, T: Time>(&self, request: &Request, mut response_handle: R) -> ResponseInfo {
        let started = Instant::now();
        let shared = &self.shared;
        let raw = request.as_slice();
        let mut out = Vec::with_capacity(512);
        let bytes = match answer(raw, &shared.zone, Transport::Tcp, &shared.limits, &mut out) {
            Outcome::Reply { len, .. } => out[..len].to_vec(),
            Outcome::Drop => return servfail(request.metadata.id),
            Outcome::Forward { .. } => match &shared.forwarder {
                Some(fwd) => match fwd.forward(raw, Transport::Tcp).await {
                    Some(resp) => resp,
                    None => return servfail(request.metadata.id),
                },
                None => return servfail(request.metadata.id),
            },
        };
        let Ok(msg) = Message::from_vec(&bytes) else {
            tracing::warn!("answer path produced an unparsable message; sending SERVFAIL");
            return servfail(request.metadata.id);
        };
        let qtype = msg.queries.first().map_or(0, |q| u16::from(q.query_type()));
        let rcode = (u16::from(msg.metadata.response_code) & 0x0F) as u8;
        let mut builder = MessageResponseBuilder::from_message_request(request);
        if let Some(edns) = &msg.edns {
            builder.edns(edns);
        }
        let response = builder.build(msg.metadata, msg.answers.iter(), msg.authorities.iter(), [].iter(), msg.additionals.iter());
        let info = match response_handle.send_response(response).await {
            Ok(info) => info,
            Err(e) => {
                tracing::debug!(error = %e, "tcp send failed");
                servfail(request.metadata.id)
            }
        };
        shared.metrics.tcp_shard().record(Proto::Tcp, qtype, rcode, started.elapsed());
        info
    }
}
