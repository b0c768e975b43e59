//! Forwarding of names outside our zones to upstream resolvers.
//!
//! A plain proxy, like CoreDNS's `forward`: the client's query bytes go upstream
//! unchanged over UDP from a fresh ephemeral socket (so replies cannot be spoofed
//! onto another query's port), the reply comes back unchanged, a truncated UDP
//! reply is retried over TCP, and upstreams are tried in order until one answers.
//! Cluster data never passes through here (it is authoritative and never cached).

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};

use super::answer::Transport;

/// The upstream resolvers and how long to wait for each.
#[derive(Debug, Clone)]
pub struct Forwarder {
    /// Upstreams, tried in order.
    upstreams: Vec<SocketAddr>,
    /// Per-upstream timeout.
    timeout: Duration,
}

impl Forwarder {
    /// A forwarder to `upstreams` (at least one).
    pub fn new(upstreams: Vec<SocketAddr>, timeout: Duration) -> Self {
        Forwarder { upstreams, timeout }
    }

    /// Forwards `query`; returns the upstream's reply, or `None` if none answered
    /// (the caller answers SERVFAIL or stays silent, as a timeout would).
    pub async fn forward(&self, query: &[u8], transport: Transport) -> Option<Vec<u8>> {
        let id = query.get(..2)?;
        for &upstream in &self.upstreams {
            // UDP first whatever the client used (upstreams need not serve TCP);
            // TCP when the UDP reply is truncated and the client can take more.
            match self.over_udp(query, upstream).await {
                Ok(r) if r.get(..2) == Some(id) => {
                    let truncated = r.get(2).is_some_and(|f| f & 0x02 != 0);
                    if truncated && transport == Transport::Tcp {
                        if let Ok(full) = self.over_tcp(query, upstream).await {
                            return Some(full);
                        }
                    }
                    return Some(r);
                }
                Ok(_) => tracing::debug!(%upstream, "upstream reply with a mismatched id"),
                Err(e) => tracing::debug!(%upstream, error = %e, "upstream failed"),
            }
        }
        None
    }

    async fn over_udp(&self, query: &[u8], upstream: SocketAddr) -> std::io::Result<Vec<u8>> {
        let bind: SocketAddr =
            if upstream.is_ipv4() { ([0, 0, 0, 0], 0).into() } else { (std::net::Ipv6Addr::UNSPECIFIED, 0).into() };
        let sock = UdpSocket::bind(bind).await?;
        sock.connect(upstream).await?;
        sock.send(query).await?;
        let mut buf = vec![0u8; 65535];
        let n = tokio::time::timeout(self.timeout, sock.recv(&mut buf))
            .await
            .map_err(|_| std::io::ErrorKind::TimedOut)??;
        buf.truncate(n);
        Ok(buf)
    }

    async fn over_tcp(&self, query: &[u8], upstream: SocketAddr) -> std::io::Result<Vec<u8>> {
        let exchange = async {
            let mut s = TcpStream::connect(upstream).await?;
            let len = u16::try_from(query.len()).map_err(|_| std::io::ErrorKind::InvalidInput)?;
            s.write_all(&len.to_be_bytes()).await?;
            s.write_all(query).await?;
            let n = s.read_u16().await? as usize;
            let mut buf = vec![0u8; n];
            s.read_exact(&mut buf).await?;
            Ok::<_, std::io::Error>(buf)
        };
        tokio::time::timeout(self.timeout, exchange).await.map_err(|_| std::io::ErrorKind::TimedOut)?
    }
}
