//! Live pushes: the current value at once, then again after every change that touches it.

use super::errors::{internal, not_found, terminal_number};
use super::types::{Job, Run, Terminal};
use crate::app::App;
use crate::notifications::Hub;
use crate::read_models;
use async_graphql::{Context, Json, Result, SimpleObject, Subscription as SubscriptionRoot};
use futures::Stream;
use packet_run_domain::TerminalCommand;
use packet_run_projections::{Position, StoredEvent};
use std::sync::Arc;
use tokio::sync::broadcast;

/// Who is at the other end of a WebSocket: set by the transport for each connection.
#[derive(Debug, Clone)]
pub struct Connection {
    pub ip: String,
    pub websocket_id: String,
}

/// One event of the log, as subscription consumers and history readers get it.
#[derive(SimpleObject, Clone, Debug)]
pub struct EventRecord {
    /// Where the event stands in the log; pass the last one seen as `afterPosition` to resume.
    pub position: f64,
    pub aggregate_type: String,
    pub aggregate_id: String,
    pub sequence: f64,
    #[graphql(name = "type")]
    pub event_type: String,
    pub version: String,
    /// When it happened (ISO-8601 UTC), from the event itself.
    pub time: Option<String>,
    pub payload: Json<serde_json::Value>,
}

impl From<&StoredEvent> for EventRecord {
    fn from(e: &StoredEvent) -> Self {
        let time = e
            .payload
            .as_object()
            .and_then(|o| o.values().next())
            .and_then(|v| v.get("at"))
            .and_then(|t| t.as_str());
        EventRecord {
            position: e.position.position as f64,
            aggregate_type: e.aggregate_type.clone(),
            aggregate_id: e.aggregate_id.clone(),
            sequence: e.sequence as f64,
            event_type: e.event_type.clone(),
            version: e.event_version.clone(),
            time: time.map(str::to_string),
            payload: Json(e.payload.clone()),
        }
    }
}

/// Waits for the next notification, folding any that queued up meanwhile into one push.
async fn next_change(rx: &mut broadcast::Receiver<()>) -> bool {
    match rx.recv().await {
        Ok(()) | Err(broadcast::error::RecvError::Lagged(_)) => {
            while rx.try_recv().is_ok() {}
            true
        }
        Err(broadcast::error::RecvError::Closed) => false,
    }
}

/// Ends a screen's presence when its subscription stream is dropped (socket closed or lost).
struct PresenceGuard {
    app: Arc<App>,
    terminal: u32,
    websocket_id: String,
}

impl Drop for PresenceGuard {
    fn drop(&mut self) {
        let (app, terminal, websocket_id) =
            (self.app.clone(), self.terminal, self.websocket_id.clone());
        tokio::spawn(async move {
            let lose = TerminalCommand::LosePresence {
                websocket_id,
                at: chrono::Utc::now(),
            };
            if let Err(error) = app.terminal_command(terminal, lose).await {
                tracing::warn!(%error, terminal, "could not record a screen leaving");
            }
        });
    }
}

pub struct Subscription;

#[SubscriptionRoot]
impl Subscription {
    /// A terminal's screen: its terminal, pushed on every change; the socket counts as present.
    async fn register_terminal(
        &self,
        ctx: &Context<'_>,
        id: f64,
    ) -> Result<impl Stream<Item = Result<Option<Terminal>>>> {
        let number = terminal_number(id)?;
        let app = ctx.data_unchecked::<Arc<App>>().clone();
        let hub = ctx.data_unchecked::<Arc<Hub>>().clone();
        if app.installation.terminal(number).is_none() {
            return Err(not_found(format!("terminal {number} does not exist")));
        }
        let mut changes = hub.terminal(number as i64);
        let guard = match ctx.data_opt::<Connection>() {
            Some(connection) => {
                let connect = TerminalCommand::ConnectPresence {
                    websocket_id: connection.websocket_id.clone(),
                    ip: connection.ip.clone(),
                    at: chrono::Utc::now(),
                };
                let committed = app
                    .terminal_command(number, connect)
                    .await
                    .map_err(super::errors::to_graphql)?;
                app.settle(committed.position).await;
                Some(PresenceGuard {
                    app: app.clone(),
                    terminal: number,
                    websocket_id: connection.websocket_id.clone(),
                })
            }
            None => None,
        };
        Ok(async_stream::stream! {
            let _guard = guard;
            loop {
                yield read_models::terminal(app.database(), number as i64).await.map(|r| r.map(Terminal)).map_err(internal);
                if !next_change(&mut changes).await {
                    break;
                }
            }
        })
    }

    /// Every terminal, for the operator's dashboard.
    async fn all_terminals(&self, ctx: &Context<'_>) -> impl Stream<Item = Result<Vec<Terminal>>> {
        let app = ctx.data_unchecked::<Arc<App>>().clone();
        let mut changes = ctx.data_unchecked::<Arc<Hub>>().all_terminals();
        async_stream::stream! {
            loop {
                yield read_models::all_terminals(app.database()).await.map(|rows| rows.into_iter().map(Terminal).collect()).map_err(internal);
                if !next_change(&mut changes).await {
                    break;
                }
            }
        }
    }

    /// The job queue's active, waiting, delayed and failed jobs.
    async fn jobs(&self, ctx: &Context<'_>) -> impl Stream<Item = Result<Vec<Job>>> {
        let mut changes = ctx.data_unchecked::<Arc<Hub>>().jobs();
        let board = ctx
            .data_unchecked::<Arc<crate::queue::board::JobBoard>>()
            .clone();
        async_stream::stream! {
            loop {
                yield board.list().await.map(|jobs| jobs.into_iter().map(Job::from).collect()).map_err(internal);
                if !next_change(&mut changes).await {
                    break;
                }
            }
        }
    }

    /// One run, pushed after each change to it.
    async fn run_updated(
        &self,
        ctx: &Context<'_>,
        id: String,
    ) -> Result<impl Stream<Item = Result<Run>>> {
        let app = ctx.data_unchecked::<Arc<App>>().clone();
        let mut changes = ctx.data_unchecked::<Arc<Hub>>().run(&id);
        if read_models::run(app.database(), &id)
            .await
            .map_err(internal)?
            .is_none()
        {
            return Err(not_found(format!("run {id} does not exist")));
        }
        Ok(async_stream::stream! {
            loop {
                yield read_models::run(app.database(), &id).await.map_err(internal)
                    .and_then(|r| r.map(Run).ok_or_else(|| internal("run vanished")));
                if !next_change(&mut changes).await {
                    break;
                }
            }
        })
    }

    /// The event log: everything after `afterPosition` (from the start when absent), then live,
    /// with no gap and no duplicate at the seam. Resume with the last position received.
    async fn events(
        &self,
        ctx: &Context<'_>,
        after_position: Option<f64>,
        aggregate_type: Option<String>,
    ) -> Result<impl Stream<Item = Result<EventRecord>>> {
        let app = ctx.data_unchecked::<Arc<App>>().clone();
        // Listen before reading history, so nothing projected meanwhile is missed.
        let mut live = ctx.data_unchecked::<Arc<Hub>>().projected();
        let mut last = match after_position {
            Some(p) => app
                .database()
                .position_of(p as i64)
                .await
                .map_err(internal)?
                .ok_or_else(|| super::errors::bad_input(format!("no event has position {p}")))?,
            None => Position::default(),
        };
        let wanted = move |e: &StoredEvent| {
            aggregate_type
                .as_ref()
                .is_none_or(|t| t.eq_ignore_ascii_case(&e.aggregate_type))
        };
        Ok(async_stream::stream! {
            loop {
                match app.database().events_after(last, 500).await {
                    Ok(batch) if batch.is_empty() => break,
                    Ok(batch) => {
                        for event in &batch {
                            last = event.position;
                            if wanted(event) {
                                yield Ok(EventRecord::from(event));
                            }
                        }
                    }
                    Err(e) => {
                        yield Err(internal(e));
                        return;
                    }
                }
            }
            loop {
                match live.recv().await {
                    Ok(batch) => {
                        for event in batch.iter() {
                            if event.position <= last {
                                continue; // already sent from the history
                            }
                            last = event.position;
                            if wanted(event) {
                                yield Ok(EventRecord::from(event));
                            }
                        }
                    }
                    Err(broadcast::error::RecvError::Lagged(_)) => {
                        // Fell behind the live feed: catch up from the log itself.
                        while let Ok(batch) = app.database().events_after(last, 500).await {
                            if batch.is_empty() { break; }
                            for event in &batch {
                                last = event.position;
                                if wanted(event) {
                                    yield Ok(EventRecord::from(event));
                                }
                            }
                        }
                    }
                    Err(broadcast::error::RecvError::Closed) => break,
                }
            }
        })
    }
}
