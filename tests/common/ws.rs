//! A GraphQL WebSocket client for tests, speaking either sub-protocol.
#![allow(dead_code)]

use futures::{SinkExt, StreamExt};
use serde_json::{json, Value};
use std::time::Duration;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::handshake::client::generate_key;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::Message;

pub type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

pub struct WsClient {
    pub socket: Socket,
    pub key: String,
    pub modern: bool,
}

impl WsClient {
    /// Opens a socket on `/graphql`; `modern` picks graphql-transport-ws, else graphql-ws.
    pub async fn connect(address: &str, modern: bool) -> WsClient {
        let mut request = format!("ws://{address}/graphql")
            .into_client_request()
            .unwrap();
        let protocol = if modern {
            "graphql-transport-ws"
        } else {
            "graphql-ws"
        };
        request
            .headers_mut()
            .insert("Sec-WebSocket-Protocol", HeaderValue::from_static(protocol));
        let key = generate_key();
        request
            .headers_mut()
            .insert("Sec-WebSocket-Key", HeaderValue::from_str(&key).unwrap());
        let (socket, response) = tokio_tungstenite::connect_async(request)
            .await
            .expect("WebSocket handshake");
        assert_eq!(
            response.headers().get("sec-websocket-protocol").unwrap(),
            protocol,
            "the server echoes the sub-protocol"
        );
        WsClient {
            socket,
            key,
            modern,
        }
    }

    pub async fn send(&mut self, message: Value) {
        self.socket
            .send(Message::Text(message.to_string()))
            .await
            .unwrap();
    }

    /// The next JSON message (skipping keep-alives), or `None` when the socket closed.
    pub async fn next_json(&mut self, within: Duration) -> Option<Value> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let message = tokio::time::timeout_at(deadline, self.socket.next())
                .await
                .expect("a message in time")?;
            match message.ok()? {
                Message::Text(text) => {
                    let value: Value = serde_json::from_str(&text).unwrap();
                    if value["type"] == "ka" {
                        continue;
                    }
                    return Some(value);
                }
                Message::Close(_) => return None,
                _ => continue,
            }
        }
    }

    /// The close code the server sent, reading until the socket closes.
    pub async fn close_code(&mut self, within: Duration) -> Option<u16> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            match tokio::time::timeout_at(deadline, self.socket.next())
                .await
                .ok()?
            {
                Some(Ok(Message::Close(Some(frame)))) => return Some(frame.code.into()),
                Some(Ok(Message::Close(None))) | None | Some(Err(_)) => return None,
                Some(Ok(_)) => continue,
            }
        }
    }

    pub async fn init(&mut self) {
        self.send(json!({"type": "connection_init", "payload": {}}))
            .await;
        let ack = self
            .next_json(Duration::from_secs(5))
            .await
            .expect("connection_ack");
        assert_eq!(ack["type"], "connection_ack");
    }

    pub async fn subscribe(&mut self, id: &str, query: &str, variables: Value) {
        let kind = if self.modern { "subscribe" } else { "start" };
        self.send(
            json!({"id": id, "type": kind, "payload": {"query": query, "variables": variables}}),
        )
        .await;
    }

    /// The next result pushed for any subscription: (id, payload).
    pub async fn next_result(&mut self) -> (String, Value) {
        let message = self
            .next_json(Duration::from_secs(10))
            .await
            .expect("a pushed result");
        let expected = if self.modern { "next" } else { "data" };
        assert_eq!(message["type"], expected, "{message}");
        (
            message["id"].as_str().unwrap().to_string(),
            message["payload"].clone(),
        )
    }
}

impl WsClient {
    /// Reads (and so answers pings) for `duration`, dropping what arrives.
    pub async fn read_for(&mut self, duration: Duration) {
        let deadline = tokio::time::Instant::now() + duration;
        while let Ok(Some(Ok(_))) = tokio::time::timeout_at(deadline, self.socket.next()).await {}
    }
}
