//! GraphQL subscriptions over WebSocket (actix-ws), in both sub-protocols the screens use:
//! `graphql-transport-ws` (graphql-ws v6) and the older `graphql-ws`
//! (subscriptions-transport-ws). async-graphql runs the operations; this module owns the
//! socket: protocol checks with the close codes graphql-transport-ws prescribes, the ping/pong
//! heartbeat that keeps a screen's presence fresh, bounded sends, and closing on shutdown.

use crate::graphql::subscription::Connection;
use crate::graphql::PacketRunSchema;
use crate::notifications::Hub;
use crate::read_models::fetch_all;
use actix_web::{web, HttpRequest, HttpResponse};
use actix_ws::{CloseCode, CloseReason, Message};
use async_graphql::http::{WebSocket, WebSocketProtocols, WsMessage};
use async_graphql::Data;
use futures::StreamExt;
use packet_run_projections::sql::Arg;
use serde_json::Value;
use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, watch};

/// Settings of the socket layer.
#[derive(Debug, Clone)]
pub struct SocketSettings {
    /// How often the server pings; a socket that has not answered the previous ping is closed.
    pub ping_interval: Duration,
    /// How long a graphql-transport-ws client may take to send `connection_init`.
    pub init_timeout: Duration,
    /// How long one send may wait for a client that stops reading.
    pub send_timeout: Duration,
    /// Largest message accepted from a client.
    pub max_message_bytes: usize,
}

impl Default for SocketSettings {
    fn default() -> Self {
        SocketSettings {
            ping_interval: Duration::from_secs(10),
            init_timeout: Duration::from_secs(3),
            send_timeout: Duration::from_secs(5),
            max_message_bytes: 64 * 1024,
        }
    }
}

pub struct SocketState {
    pub schema: PacketRunSchema,
    pub hub: Arc<Hub>,
    pub db: packet_run_projections::Database,
    pub settings: SocketSettings,
    pub shutdown: watch::Receiver<bool>,
}

const PROTOCOLS: [&str; 2] = ["graphql-transport-ws", "graphql-ws"];

pub async fn subscriptions(
    req: HttpRequest,
    body: web::Payload,
    state: web::Data<SocketState>,
) -> Result<HttpResponse, actix_web::Error> {
    let offered = req
        .headers()
        .get("sec-websocket-protocol")
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(',')
                .map(|p| p.trim().to_string())
                .collect::<Vec<_>>()
        })
        .unwrap_or_default();
    // Clients that name no protocol are the legacy ones.
    let protocol = offered
        .iter()
        .find_map(|p| PROTOCOLS.iter().find(|known| known.eq_ignore_ascii_case(p)))
        .copied()
        .unwrap_or("graphql-ws");
    let (response, session, stream) = actix_ws::handle_with_protocols(&req, body, &PROTOCOLS)?;
    let connection = Connection {
        ip: req
            .peer_addr()
            .map(|a| a.ip().to_string())
            .unwrap_or_default(),
        websocket_id: req
            .headers()
            .get("sec-websocket-key")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string(),
    };
    let state = state.into_inner();
    let stream = stream.max_frame_size(state.settings.max_message_bytes);
    actix_web::rt::spawn(serve_socket(
        state,
        session,
        stream,
        connection,
        protocol == "graphql-transport-ws",
    ));
    Ok(response)
}

/// Why the server ends a socket.
fn close(code: u16, description: &str) -> Option<CloseReason> {
    Some(CloseReason {
        code: CloseCode::Other(code),
        description: Some(description.to_string()),
    })
}

/// Checks a graphql-transport-ws client message before async-graphql sees it; `Err` closes the socket.
struct TransportRules {
    initialised: bool,
    acknowledged: bool,
    active: HashSet<String>,
    /// Operations that have sent a result.
    started: HashSet<String>,
    /// Operations answered with `error`, whose `complete` must not follow.
    errored: HashSet<String>,
}

impl TransportRules {
    fn check(&mut self, text: &str) -> Result<bool, Option<CloseReason>> {
        let message: Value =
            serde_json::from_str(text).map_err(|_| close(4400, "Invalid message received"))?;
        let kind = message
            .get("type")
            .and_then(Value::as_str)
            .ok_or_else(|| close(4400, "Invalid message received"))?;
        let id = || {
            message
                .get("id")
                .and_then(Value::as_str)
                .map(str::to_string)
        };
        match kind {
            "connection_init" if self.initialised => {
                Err(close(4429, "Too many initialisation requests"))
            }
            "connection_init" => {
                self.initialised = true;
                Ok(true)
            }
            "subscribe" => {
                if !self.acknowledged {
                    return Err(close(4401, "Unauthorized"));
                }
                let id = id()
                    .filter(|i| !i.is_empty())
                    .ok_or_else(|| close(4400, "Invalid message received"))?;
                if message
                    .get("payload")
                    .and_then(|p| p.get("query"))
                    .and_then(Value::as_str)
                    .is_none()
                {
                    return Err(close(4400, "Invalid message received"));
                }
                if !self.active.insert(id.clone()) {
                    return Err(close(4409, &format!("Subscriber for {id} already exists")));
                }
                Ok(true)
            }
            "complete" => {
                if let Some(id) = id() {
                    self.active.remove(&id);
                }
                Ok(true)
            }
            "ping" | "pong" => Ok(kind == "ping"),
            _ => Err(close(4400, "Invalid message received")),
        }
    }

    /// async-graphql answers an operation that fails validation with `next` + `complete`; the
    /// protocol wants one `error` message (with the errors as payload) and nothing after it.
    fn translate(&mut self, text: String) -> Option<String> {
        let Ok(message) = serde_json::from_str::<Value>(&text) else {
            return Some(text);
        };
        let id = message
            .get("id")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        match message.get("type").and_then(Value::as_str) {
            Some("next") if !self.started.contains(&id) => {
                let payload = &message["payload"];
                let errors = payload.get("errors").and_then(Value::as_array);
                let before_execution = payload.get("data").is_none_or(Value::is_null)
                    && errors.is_some_and(|e| {
                        !e.is_empty() && e.iter().all(|e| e.get("path").is_none())
                    });
                if before_execution {
                    self.errored.insert(id.clone());
                    let error = serde_json::json!({"id": id, "type": "error", "payload": errors});
                    return Some(error.to_string());
                }
                self.started.insert(id);
                Some(text)
            }
            Some("complete") => {
                self.started.remove(&id);
                (!self.errored.remove(&id)).then_some(text)
            }
            _ => Some(text),
        }
    }

    /// Follows what the server says: the ack opens the gate, a finished operation frees its id.
    fn observe(&mut self, text: &str) {
        let Ok(message) = serde_json::from_str::<Value>(text) else {
            return;
        };
        match message.get("type").and_then(Value::as_str) {
            Some("connection_ack") => self.acknowledged = true,
            Some("complete") | Some("error") => {
                if let Some(id) = message.get("id").and_then(Value::as_str) {
                    self.active.remove(id);
                }
            }
            _ => {}
        }
    }
}

async fn serve_socket(
    state: Arc<SocketState>,
    mut session: actix_ws::Session,
    mut incoming: actix_ws::MessageStream,
    connection: Connection,
    modern: bool,
) {
    let settings = state.settings.clone();
    let (to_engine, from_client) = mpsc::channel::<String>(64);
    let protocol = if modern {
        WebSocketProtocols::GraphQLWS
    } else {
        WebSocketProtocols::SubscriptionsTransportWS
    };
    let mut data = Data::default();
    data.insert(connection.clone());
    let mut engine = WebSocket::new(state.schema.clone(), tokio_stream(from_client), protocol)
        .connection_data(data);
    let mut rules = TransportRules {
        initialised: false,
        acknowledged: false,
        active: HashSet::new(),
        started: HashSet::new(),
        errored: HashSet::new(),
    };
    let mut shutdown = state.shutdown.clone();
    let mut heartbeat = tokio::time::interval(settings.ping_interval);
    heartbeat.tick().await;
    let mut awaiting_pong = false;
    let init_deadline = tokio::time::sleep(settings.init_timeout);
    tokio::pin!(init_deadline);

    let reason: Option<CloseReason> = loop {
        tokio::select! {
            message = incoming.next() => match message {
                Some(Ok(Message::Text(text))) => {
                    if modern {
                        match rules.check(&text) {
                            Ok(true) => {}
                            Ok(false) => continue,
                            Err(reason) => break reason,
                        }
                    }
                    if to_engine.send(text.to_string()).await.is_err() {
                        break None;
                    }
                }
                Some(Ok(Message::Binary(_))) if modern => break close(4400, "Invalid message received"),
                Some(Ok(Message::Ping(bytes))) => {
                    if session.pong(&bytes).await.is_err() { break None; }
                }
                Some(Ok(Message::Pong(_))) => {
                    awaiting_pong = false;
                    seen_alive(&state, &connection.websocket_id).await;
                }
                Some(Ok(Message::Close(reason))) => {
                    // Echo the client's close frame, as the WebSocket protocol asks.
                    let _ = session.close(reason).await;
                    return;
                }
                Some(Ok(_)) => {}
                // An abrupt TCP close or a protocol error arrives here.
                Some(Err(error)) => {
                    tracing::debug!(%error, "socket failed");
                    break close(1002, "protocol error");
                }
                None => return,
            },
            outgoing = engine.next() => match outgoing {
                Some(WsMessage::Text(text)) => {
                    let Some(text) = (if modern { rules.translate(text) } else { Some(text) }) else { continue };
                    rules.observe(&text);
                    match tokio::time::timeout(settings.send_timeout, session.text(text)).await {
                        Ok(Ok(())) => {}
                        _ => return, // the client stopped reading or left
                    }
                }
                // A refused connection_init: 4403 lets graphql-ws clients retry later.
                Some(WsMessage::Close(code, text)) => break close(if code == 1002 && modern { 4403 } else { code }, &text),
                None => break close(1000, "Normal Closure"),
            },
            _ = heartbeat.tick() => {
                if awaiting_pong {
                    break close(1001, "missed a pong");
                }
                awaiting_pong = true;
                // Legacy clients also get `ka` keep-alives, or they reconnect in a loop.
                let ping = session.ping(b"");
                if !matches!(tokio::time::timeout(settings.send_timeout, ping).await, Ok(Ok(()))) {
                    return;
                }
                if !modern && rules.acknowledged {
                    let ka = session.text(r#"{"type":"ka"}"#);
                    if !matches!(tokio::time::timeout(settings.send_timeout, ka).await, Ok(Ok(()))) {
                        return;
                    }
                }
            },
            _ = &mut init_deadline, if modern && !rules.initialised => {
                break close(4408, "Connection initialisation timeout");
            },
            _ = shutdown.changed() => break close(1012, "Service Restart"),
        }
    };
    let _ = tokio::time::timeout(settings.send_timeout, session.close(reason)).await;
}

/// A pong refreshes the screen's `lastSeenAt` (kept in the read model only: presence comes and
/// goes as events, the heartbeat does not fill the log).
async fn seen_alive(state: &SocketState, websocket_id: &str) {
    let now = packet_run_projections::format_time(chrono::Utc::now());
    let touched: Result<Vec<(i64,)>, _> = fetch_all(
        &state.db,
        "UPDATE presences SET last_seen_at = ? WHERE websocket_id = ? RETURNING terminal_id",
        &[Arg::Text(now), Arg::from(websocket_id)],
    )
    .await;
    match touched {
        Ok(rows) if !rows.is_empty() => state
            .hub
            .terminals_changed(&rows.iter().map(|r| r.0).collect::<Vec<_>>()),
        Ok(_) => {}
        Err(error) => tracing::warn!(%error, "could not refresh a screen's lastSeenAt"),
    }
}

fn tokio_stream(
    mut rx: mpsc::Receiver<String>,
) -> impl futures::Stream<Item = String> + Send + Unpin {
    Box::pin(async_stream::stream! {
        while let Some(text) = rx.recv().await {
            yield text;
        }
    })
}
