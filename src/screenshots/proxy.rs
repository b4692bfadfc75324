//! The filtering proxy every byte of the browser goes through.
//!
//! Checking requests inside the page is not enough: cross-site frames, WebSockets and a
//! name that resolves differently the second time all slip past it. So chromium is started
//! with this proxy for everything (loopback included), and the proxy resolves each name
//! once, refuses addresses that are not on the public internet, and connects to exactly the
//! address it checked. HTTPS and WebSockets arrive as CONNECT; plain HTTP as absolute-form
//! requests, each forwarded on a connection of its own.

use crate::resolver::TargetResolver;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

const MAX_HEAD: usize = 64 * 1024;
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// A running proxy; it stops when dropped.
pub struct FilteringProxy {
    pub address: SocketAddr,
    refused: Arc<AtomicU64>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FilteringProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl FilteringProxy {
    /// Listens on a free loopback port.
    pub async fn start(resolver: TargetResolver) -> std::io::Result<FilteringProxy> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let address = listener.local_addr()?;
        let refused = Arc::new(AtomicU64::new(0));
        let counter = refused.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((client, _)) = listener.accept().await else {
                    continue;
                };
                let (resolver, counter) = (resolver.clone(), counter.clone());
                tokio::spawn(async move {
                    if let Err(reason) = serve(client, &resolver).await {
                        counter.fetch_add(1, Ordering::Relaxed);
                        tracing::debug!(%reason, "proxy refused a request");
                    }
                });
            }
        });
        Ok(FilteringProxy {
            address,
            refused,
            task,
        })
    }

    /// How many requests the proxy has refused or could not forward.
    pub fn refused(&self) -> u64 {
        self.refused.load(Ordering::Relaxed)
    }
}

/// `host:port` into its parts; IPv6 literals come in brackets.
fn split_authority(authority: &str, default_port: u16) -> Option<(String, u16)> {
    if let Some(rest) = authority.strip_prefix('[') {
        let (host, after) = rest.split_once(']')?;
        let port = match after.strip_prefix(':') {
            Some(p) => p.parse().ok()?,
            None => default_port,
        };
        return Some((host.to_string(), port));
    }
    match authority.rsplit_once(':') {
        Some((host, port)) => Some((host.to_string(), port.parse().ok()?)),
        None => Some((authority.to_string(), default_port)),
    }
}

async fn refuse(client: &mut TcpStream, status: &str, reason: &str) -> String {
    let body = format!("{reason}\n");
    let _ = client
        .write_all(
            format!(
                "HTTP/1.1 {status}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            )
            .as_bytes(),
        )
        .await;
    reason.to_string()
}

async fn serve(mut client: TcpStream, resolver: &TargetResolver) -> Result<(), String> {
    let mut reader = BufReader::new(&mut client);
    let mut head = Vec::new();
    loop {
        let before = head.len();
        let read = reader
            .read_until(b'\n', &mut head)
            .await
            .map_err(|e| e.to_string())?;
        if read == 0 {
            return Err("the browser closed before sending a request".into());
        }
        if head.len() > MAX_HEAD {
            drop(reader);
            return Err(refuse(
                &mut client,
                "431 Request Header Fields Too Large",
                "request head too large",
            )
            .await);
        }
        if &head[before..] == b"\r\n" || &head[before..] == b"\n" {
            break;
        }
    }
    // Bytes the browser sent after the head (a request body) are still in the buffer.
    let early = reader.buffer().to_vec();
    drop(reader);
    let head = String::from_utf8_lossy(&head).into_owned();
    let mut lines = head.lines();
    let request_line = lines.next().unwrap_or_default().to_string();
    let mut parts = request_line.split_whitespace();
    let (method, target, version) = (
        parts.next().unwrap_or_default(),
        parts.next().unwrap_or_default(),
        parts.next().unwrap_or("HTTP/1.1"),
    );

    if method.eq_ignore_ascii_case("CONNECT") {
        let Some((host, port)) = split_authority(target, 443) else {
            return Err(refuse(&mut client, "400 Bad Request", "bad CONNECT target").await);
        };
        let mut upstream = match open(resolver, &host, port).await {
            Ok(s) => s,
            Err(reason) => return Err(refuse(&mut client, "403 Forbidden", &reason).await),
        };
        client
            .write_all(b"HTTP/1.1 200 Connection Established\r\n\r\n")
            .await
            .map_err(|e| e.to_string())?;
        upstream
            .write_all(&early)
            .await
            .map_err(|e| e.to_string())?;
        let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
        return Ok(());
    }

    let Ok(url) = url::Url::parse(target) else {
        return Err(refuse(
            &mut client,
            "400 Bad Request",
            "only absolute URLs go through this proxy",
        )
        .await);
    };
    if url.scheme() != "http" {
        return Err(refuse(
            &mut client,
            "400 Bad Request",
            "only http:// goes through this proxy without CONNECT",
        )
        .await);
    }
    let host = url.host_str().unwrap_or_default().to_string();
    let port = url.port_or_known_default().unwrap_or(80);
    let mut upstream = match open(resolver, &host, port).await {
        Ok(s) => s,
        Err(reason) => return Err(refuse(&mut client, "403 Forbidden", &reason).await),
    };
    let path = match url.query() {
        Some(q) => format!("{}?{q}", url.path()),
        None => url.path().to_string(),
    };
    // One request per upstream connection: a kept-alive proxy connection could otherwise
    // carry the next request to another host past the check.
    let mut forwarded = format!("{method} {path} {version}\r\n");
    for line in lines {
        let name = line.split(':').next().unwrap_or_default().trim();
        if line.is_empty()
            || [
                "connection",
                "proxy-connection",
                "keep-alive",
                "proxy-authorization",
            ]
            .iter()
            .any(|h| name.eq_ignore_ascii_case(h))
        {
            continue;
        }
        forwarded.push_str(line);
        forwarded.push_str("\r\n");
    }
    forwarded.push_str("Connection: close\r\n\r\n");
    upstream
        .write_all(forwarded.as_bytes())
        .await
        .map_err(|e| e.to_string())?;
    upstream
        .write_all(&early)
        .await
        .map_err(|e| e.to_string())?;
    let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
    Ok(())
}

/// Resolves once, checks, and connects to exactly the address that was checked.
async fn open(resolver: &TargetResolver, host: &str, port: u16) -> Result<TcpStream, String> {
    let ip = resolver
        .resolve_str(host)
        .await
        .map_err(|e| e.to_string())?;
    tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect((ip, port)))
        .await
        .map_err(|_| format!("{host} ({ip}) port {port} did not answer"))?
        .map_err(|e| format!("{host} ({ip}) port {port}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::split_authority;

    #[test]
    fn authorities_split_with_and_without_ports() {
        assert_eq!(
            split_authority("example.org:8443", 443),
            Some(("example.org".into(), 8443))
        );
        assert_eq!(
            split_authority("example.org", 443),
            Some(("example.org".into(), 443))
        );
        assert_eq!(
            split_authority("[2001:db8::1]:80", 443),
            Some(("2001:db8::1".into(), 80))
        );
        assert_eq!(
            split_authority("[2001:db8::1]", 443),
            Some(("2001:db8::1".into(), 443))
        );
        assert_eq!(split_authority("example.org:x", 443), None);
    }
}
