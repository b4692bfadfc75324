//! A DNS server on loopback that knows only the names a test gives it: tests never ask a
//! resolver outside the machine. Unknown names get NXDOMAIN.

use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use tokio::net::UdpSocket;

pub struct LoopbackDns {
    pub address: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for LoopbackDns {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl LoopbackDns {
    pub async fn start(names: &[(&str, Ipv4Addr)]) -> LoopbackDns {
        let names: Arc<HashMap<String, Ipv4Addr>> = Arc::new(
            names
                .iter()
                .map(|(n, ip)| (n.trim_end_matches('.').to_ascii_lowercase(), *ip))
                .collect(),
        );
        let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let address = socket.local_addr().unwrap();
        let task = tokio::spawn(async move {
            let mut buf = [0u8; 1500];
            loop {
                let Ok((n, from)) = socket.recv_from(&mut buf).await else {
                    continue;
                };
                if let Some(reply) = answer(&buf[..n], &names) {
                    let _ = socket.send_to(&reply, from).await;
                }
            }
        });
        LoopbackDns { address, task }
    }
}

fn answer(query: &[u8], names: &HashMap<String, Ipv4Addr>) -> Option<Vec<u8>> {
    if query.len() < 12 {
        return None;
    }
    // The question: labels, then type and class.
    let mut at = 12;
    let mut labels = Vec::new();
    loop {
        let len = *query.get(at)? as usize;
        at += 1;
        if len == 0 {
            break;
        }
        labels.push(String::from_utf8_lossy(query.get(at..at + len)?).to_ascii_lowercase());
        at += len;
    }
    let qtype = u16::from_be_bytes([*query.get(at)?, *query.get(at + 1)?]);
    let question_end = at + 4;
    let name = labels.join(".");
    let found = names.get(&name);
    let mut reply = Vec::new();
    reply.extend_from_slice(&query[0..2]);
    let rcode = if found.is_some() { 0 } else { 3 };
    reply.extend_from_slice(&[0x81, 0x80 | rcode]);
    reply.extend_from_slice(&[0, 1]);
    let answers = u16::from(found.is_some() && qtype == 1);
    reply.extend_from_slice(&answers.to_be_bytes());
    reply.extend_from_slice(&[0, 0, 0, 0]);
    reply.extend_from_slice(query.get(12..question_end)?);
    if let (Some(ip), 1) = (found, answers) {
        reply.extend_from_slice(&[0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4]);
        reply.extend_from_slice(&ip.octets());
    }
    Some(reply)
}
