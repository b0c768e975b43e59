//! A small blocking HTTP/1.1 client over `std::net` for the control API.
//!
//! Why hand-written: the API is plain HTTP/1.1 on loopback with JSON bodies and one
//! chunked stream (watch); `std::net::TcpStream` plus ~150 lines covers it without a
//! TLS stack, an async runtime or any new crate (hyper's client needs crates that are
//! not in the lock file). One request per connection (`Connection: close`).

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

/// Client errors, worded for the user.
#[derive(Debug)]
pub enum ClientError {
    /// Could not connect or the connection broke.
    Unreachable { server: String, reason: String },
    /// The server's reply was not HTTP we understand.
    Protocol(String),
    /// A read timed out (used by `rollout status --timeout`).
    TimedOut,
}

impl std::fmt::Display for ClientError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ClientError::Unreachable { server, reason } => {
                write!(f, "cannot reach ordinal at {server}: {reason} (is \"ordinal serve\" running?)")
            }
            ClientError::Protocol(m) => write!(f, "bad response from ordinal: {m}"),
            ClientError::TimedOut => write!(f, "timed out waiting for the condition"),
        }
    }
}

/// A response with its whole body.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub body: Vec<u8>,
}

/// The server address.
#[derive(Debug, Clone)]
pub struct Client {
    /// As given (for messages).
    pub server: String,
    host_port: String,
}

fn io_reason(e: &io::Error) -> String {
    match e.kind() {
        io::ErrorKind::ConnectionRefused => "connection refused".into(),
        io::ErrorKind::ConnectionReset => "connection reset by peer".into(),
        io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => "i/o timeout".into(),
        _ => e.to_string(),
    }
}

impl Client {
    /// `http://host[:port][/]`; https is refused (the admin API is plain HTTP).
    pub fn new(server: &str) -> Result<Client, String> {
        let rest = if let Some(r) = server.strip_prefix("http://") {
            r
        } else if server.starts_with("https://") {
            return Err(format!("--server {server:?}: https is not supported; the ordinal admin API is plain http"));
        } else if server.contains("://") {
            return Err(format!("--server {server:?}: unsupported scheme; use http://HOST:PORT"));
        } else {
            server
        };
        let authority = rest.split('/').next().unwrap_or_default();
        if authority.is_empty() {
            return Err(format!("--server {server:?} has no host; use e.g. {}", super::args::DEFAULT_SERVER));
        }
        let has_port = match authority.rfind(':') {
            Some(i) => !authority[i..].contains(']'),
            None => false,
        };
        let host_port = if has_port { authority.to_string() } else { format!("{authority}:80") };
        Ok(Client { server: server.trim_end_matches('/').to_string(), host_port })
    }

    fn unreachable(&self, e: &io::Error) -> ClientError {
        ClientError::Unreachable { server: self.server.clone(), reason: io_reason(e) }
    }

    fn connect(&self) -> Result<TcpStream, ClientError> {
        let addrs: Vec<_> = self
            .host_port
            .to_socket_addrs()
            .map_err(|e| ClientError::Unreachable {
                server: self.server.clone(),
                reason: format!("cannot resolve {}: {e}", self.host_port),
            })?
            .collect();
        let mut last = io::Error::new(io::ErrorKind::NotFound, "no address");
        for a in addrs {
            match TcpStream::connect_timeout(&a, Duration::from_secs(5)) {
                Ok(s) => {
                    let _ = s.set_nodelay(true);
                    return Ok(s);
                }
                Err(e) => last = e,
            }
        }
        Err(self.unreachable(&last))
    }

    /// Sends a request; returns the status, content type and a reader over the body.
    fn send(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&[u8]>,
        read_timeout: Option<Duration>,
    ) -> Result<(u16, String, BodyReader), ClientError> {
        let mut stream = self.connect()?;
        stream.set_read_timeout(read_timeout).map_err(|e| self.unreachable(&e))?;
        let host = self.host_port.as_str();
        let mut req = format!(
            "{method} {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: ordinal-ctl/{}\r\nAccept: application/json\r\nConnection: close\r\n",
            env!("CARGO_PKG_VERSION")
        );
        for (k, v) in headers {
            req.push_str(&format!("{k}: {v}\r\n"));
        }
        if let Some(b) = body {
            req.push_str(&format!("Content-Length: {}\r\n", b.len()));
        }
        req.push_str("\r\n");
        let mut bytes = req.into_bytes();
        if let Some(b) = body {
            bytes.extend_from_slice(b);
        }
        stream.write_all(&bytes).map_err(|e| self.unreachable(&e))?;
        let mut r = BufReader::new(stream);
        let mut line = String::new();
        let read_line = |r: &mut BufReader<TcpStream>, line: &mut String| -> Result<(), ClientError> {
            line.clear();
            match r.read_line(line) {
                Ok(0) => Err(ClientError::Protocol("connection closed before the response".into())),
                Ok(_) => Ok(()),
                Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) => {
                    Err(ClientError::TimedOut)
                }
                Err(e) => Err(self.unreachable(&e)),
            }
        };
        read_line(&mut r, &mut line)?;
        let status: u16 = line
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| ClientError::Protocol(format!("not an HTTP status line: {:?}", line.trim_end())))?;
        let mut content_type = String::new();
        let mut length: Option<u64> = None;
        let mut chunked = false;
        loop {
            read_line(&mut r, &mut line)?;
            let l = line.trim_end();
            if l.is_empty() {
                break;
            }
            if let Some((k, v)) = l.split_once(':') {
                let v = v.trim();
                match k.trim().to_ascii_lowercase().as_str() {
                    "content-type" => content_type = v.to_string(),
                    "content-length" => length = v.parse().ok(),
                    "transfer-encoding" => chunked = v.eq_ignore_ascii_case("chunked"),
                    _ => {}
                }
            }
        }
        let body = if chunked {
            BodyReader::Chunked { r, left: 0, done: false }
        } else if let Some(n) = length {
            BodyReader::Plain(r.take(n))
        } else {
            BodyReader::Plain(r.take(u64::MAX))
        };
        Ok((status, content_type, body))
    }

    /// One request, whole body read.
    #[cfg(test)]
    pub fn request(
        &self,
        method: &str,
        path: &str,
        content_type: Option<&str>,
        body: Option<&[u8]>,
    ) -> Result<Response, ClientError> {
        self.request_with(method, path, content_type.map(|c| ("Content-Type", c)).as_slice(), body)
    }

    /// One request with extra headers, whole body read.
    pub fn request_with(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&[u8]>,
    ) -> Result<Response, ClientError> {
        let (status, _, mut reader) = self.send(method, path, headers, body, Some(Duration::from_secs(60)))?;
        let mut buf = Vec::new();
        reader.read_to_end(&mut buf).map_err(|e| match e.kind() {
            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => ClientError::TimedOut,
            _ => self.unreachable(&e),
        })?;
        Ok(Response { status, body: buf })
    }

    /// A streaming GET (watch): the status, and lines as they arrive. A read that
    /// takes longer than `timeout` fails with [`ClientError::TimedOut`].
    pub fn stream(&self, path: &str, timeout: Option<Duration>) -> Result<(u16, Lines), ClientError> {
        let (status, _, reader) = self.send("GET", path, &[], None, timeout)?;
        Ok((status, Lines { r: BufReader::new(reader), server: self.server.clone() }))
    }
}

/// A response body: plain (length or until EOF) or chunked.
pub enum BodyReader {
    Plain(io::Take<BufReader<TcpStream>>),
    Chunked { r: BufReader<TcpStream>, left: u64, done: bool },
}

impl BodyReader {
    /// Shortens the read timeout of the underlying socket (watch deadlines).
    pub fn set_timeout(&self, t: Option<Duration>) {
        let s = match self {
            BodyReader::Plain(t) => t.get_ref().get_ref(),
            BodyReader::Chunked { r, .. } => r.get_ref(),
        };
        let _ = s.set_read_timeout(t);
    }
}

impl Read for BodyReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            BodyReader::Plain(t) => t.read(buf),
            BodyReader::Chunked { r, left, done } => {
                if *done {
                    return Ok(0);
                }
                if *left == 0 {
                    let mut line = String::new();
                    r.read_line(&mut line)?;
                    if line.trim().is_empty() {
                        // CRLF after the previous chunk's data.
                        line.clear();
                        if r.read_line(&mut line)? == 0 {
                            *done = true;
                            return Ok(0);
                        }
                    }
                    let size = line.trim().split(';').next().unwrap_or_default();
                    let n = u64::from_str_radix(size, 16)
                        .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, format!("bad chunk size {size:?}")))?;
                    if n == 0 {
                        *done = true;
                        return Ok(0);
                    }
                    *left = n;
                }
                let max = buf.len().min(*left as usize);
                let got = r.read(&mut buf[..max])?;
                if got == 0 {
                    return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "stream ended inside a chunk"));
                }
                *left -= got as u64;
                Ok(got)
            }
        }
    }
}

/// Lines of a streamed body.
pub struct Lines {
    r: BufReader<BodyReader>,
    server: String,
}

impl Lines {
    /// The next non-empty line; `Ok(None)` at the end of the stream.
    pub fn next_line(&mut self) -> Result<Option<String>, ClientError> {
        loop {
            let mut line = String::new();
            match self.r.read_line(&mut line) {
                Ok(0) => return Ok(None),
                Ok(_) if line.trim().is_empty() => continue,
                Ok(_) => return Ok(Some(line.trim_end().to_string())),
                Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) => {
                    return Err(ClientError::TimedOut);
                }
                Err(e) => return Err(ClientError::Unreachable { server: self.server.clone(), reason: io_reason(&e) }),
            }
        }
    }

    /// Changes the read timeout for the following reads.
    pub fn set_timeout(&self, t: Option<Duration>) {
        self.r.get_ref().set_timeout(t);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_urls() {
        assert_eq!(Client::new("http://127.0.0.1:8080").unwrap().host_port, "127.0.0.1:8080");
        assert_eq!(Client::new("http://localhost/").unwrap().host_port, "localhost:80");
        assert_eq!(Client::new("127.0.0.1:9").unwrap().host_port, "127.0.0.1:9");
        assert_eq!(Client::new("http://[::1]:8080").unwrap().host_port, "[::1]:8080");
        assert!(Client::new("https://x").unwrap_err().contains("https"));
    }

    #[test]
    fn refused_connection_names_the_server() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        drop(l);
        let c = Client::new(&format!("http://{addr}")).unwrap();
        let e = c.request("GET", "/", None, None).unwrap_err().to_string();
        assert_eq!(
            e,
            format!("cannot reach ordinal at http://{addr}: connection refused (is \"ordinal serve\" running?)")
        );
    }
}
