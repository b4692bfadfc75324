//! The object types of the API, backed by read-model rows and batched loaders.

use super::errors::internal;
use super::ip_info::IpInfo;
use super::loaders::*;
use super::scalars::DateTime;
use crate::read_models::{
    AddressRow, ConnectionRow, PresenceRow, RunHopRow, RunRow, TerminalRow, TracerouteHopRow,
};
use async_graphql::dataloader::DataLoader;
use async_graphql::{Context, Enum, Object, Result};

fn loader<'a>(ctx: &Context<'a>) -> &'a DataLoader<ReadModels> {
    ctx.data_unchecked::<DataLoader<ReadModels>>()
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum TerminalType {
    Sender,
    Receiver,
    Server,
    Gateway,
    Router,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum TerminalStatus {
    Idle,
    ScanningNfc,
    CreatingPacket,
    CreatedPacket,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum RunPacketType {
    Request,
    Response,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum RunHopType {
    Previous,
    Alternative,
    Recommended,
    Invalid,
    Wormhole,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum RunHopStatus {
    Actual,
    Potential,
}

/// Reads an enum from the text the read models store (the API's own spelling).
fn parse<T: async_graphql::EnumType>(text: &str) -> Result<T> {
    T::items()
        .iter()
        .find(|item| item.name == text)
        .map(|item| item.value)
        .ok_or_else(|| internal(format!("unknown value {text:?}")))
}

pub struct Terminal(pub TerminalRow);

#[Object]
impl Terminal {
    async fn id(&self) -> f64 {
        self.0.id as f64
    }
    #[graphql(name = "type")]
    async fn terminal_type(&self) -> Result<TerminalType> {
        parse(&self.0.terminal_type)
    }
    async fn status(&self) -> Result<TerminalStatus> {
        parse(&self.0.status)
    }
    async fn payload(&self) -> Option<&str> {
        self.0.payload.as_deref()
    }
    /// Outgoing connections: this terminal is `from`.
    async fn connections_to(&self, ctx: &Context<'_>) -> Result<Vec<TerminalConnection>> {
        let rows = loader(ctx)
            .load_one(ConnectionsFrom(self.0.id))
            .await?
            .unwrap_or_default();
        Ok(rows.into_iter().map(TerminalConnection).collect())
    }
    /// Incoming connections: this terminal is `to`.
    async fn connections_from(&self, ctx: &Context<'_>) -> Result<Vec<TerminalConnection>> {
        let rows = loader(ctx)
            .load_one(ConnectionsTo(self.0.id))
            .await?
            .unwrap_or_default();
        Ok(rows.into_iter().map(TerminalConnection).collect())
    }
    async fn run(&self, ctx: &Context<'_>) -> Result<Option<Run>> {
        match &self.0.run_id {
            Some(id) => Ok(loader(ctx).load_one(RunById(id.clone())).await?.map(Run)),
            None => Ok(None),
        }
    }
    async fn presences(&self, ctx: &Context<'_>) -> Result<Vec<Presence>> {
        let rows = loader(ctx)
            .load_one(PresencesOf(self.0.id))
            .await?
            .unwrap_or_default();
        Ok(rows.into_iter().map(Presence).collect())
    }
    async fn created_at(&self) -> DateTime {
        DateTime(self.0.created_at.clone())
    }
    async fn updated_at(&self) -> DateTime {
        DateTime(self.0.updated_at.clone())
    }
}

async fn terminal_by_id(ctx: &Context<'_>, id: i64) -> Result<Terminal> {
    loader(ctx)
        .load_one(TerminalById(id))
        .await?
        .map(Terminal)
        .ok_or_else(|| internal(format!("terminal {id} is missing")))
}

pub struct TerminalConnection(pub ConnectionRow);

#[Object]
impl TerminalConnection {
    async fn from(&self, ctx: &Context<'_>) -> Result<Terminal> {
        terminal_by_id(ctx, self.0.from_id).await
    }
    async fn to(&self, ctx: &Context<'_>) -> Result<Terminal> {
        terminal_by_id(ctx, self.0.to_id).await
    }
    async fn slot(&self) -> f64 {
        self.0.slot as f64
    }
}

pub struct Presence(pub PresenceRow);

#[Object]
impl Presence {
    async fn id(&self) -> f64 {
        self.0.id as f64
    }
    async fn terminal(&self, ctx: &Context<'_>) -> Result<Terminal> {
        terminal_by_id(ctx, self.0.terminal_id).await
    }
    async fn ip(&self) -> &str {
        &self.0.ip
    }
    async fn websocket_id(&self) -> &str {
        &self.0.websocket_id
    }
    async fn connected_at(&self) -> DateTime {
        DateTime(self.0.connected_at.clone())
    }
    async fn last_seen_at(&self) -> DateTime {
        DateTime(self.0.last_seen_at.clone())
    }
}

pub struct Run(pub RunRow);

impl Run {
    async fn all_hops(&self, ctx: &Context<'_>) -> Result<Vec<RunHopRow>> {
        Ok(loader(ctx)
            .load_one(HopsOf(self.0.id.clone()))
            .await?
            .unwrap_or_default())
    }
}

async fn address(ctx: &Context<'_>, ip: Option<&String>) -> Result<Option<Address>> {
    match ip {
        Some(ip) => Ok(loader(ctx)
            .load_one(AddressByIp(ip.clone()))
            .await?
            .map(Address)),
        None => Ok(None),
    }
}

#[Object]
impl Run {
    async fn id(&self) -> &str {
        &self.0.id
    }
    async fn nfc_id(&self) -> Option<&str> {
        Some(&self.0.nfc_id)
    }
    async fn url(&self) -> &str {
        &self.0.url
    }
    async fn destination(&self, ctx: &Context<'_>) -> Result<Option<Address>> {
        address(ctx, self.0.destination_ip.as_ref()).await
    }
    /// The terminal the packet lies on, if any.
    async fn terminal(&self, ctx: &Context<'_>) -> Result<Option<Terminal>> {
        Ok(loader(ctx)
            .load_one(TerminalByRun(self.0.id.clone()))
            .await?
            .map(Terminal))
    }
    async fn server(&self, ctx: &Context<'_>) -> Result<Terminal> {
        terminal_by_id(ctx, self.0.server_id).await
    }
    async fn is_traceroute_finished(&self) -> bool {
        self.0.is_traceroute_finished
    }
    /// Routers that did not answer are left out (their hop numbers stay free).
    #[graphql(deprecation = "Use hops instead")]
    async fn traceroute_hops(&self, ctx: &Context<'_>) -> Result<Vec<TracerouteHop>> {
        let rows = loader(ctx)
            .load_one(TracerouteHopsOf(self.0.id.clone()))
            .await?
            .unwrap_or_default();
        Ok(rows
            .into_iter()
            .filter(|r| r.address_ip.is_some())
            .map(TracerouteHop)
            .collect())
    }
    async fn hops(&self, ctx: &Context<'_>) -> Result<Vec<RunHop>> {
        Ok(self.all_hops(ctx).await?.into_iter().map(RunHop).collect())
    }
    async fn packet_type(&self) -> Result<RunPacketType> {
        parse(&self.0.packet_type)
    }
    async fn current_hop_index(&self) -> f64 {
        self.0.current_hop_index as f64
    }
    async fn created_at(&self) -> DateTime {
        DateTime(self.0.created_at.clone())
    }
    async fn updated_at(&self) -> DateTime {
        DateTime(self.0.updated_at.clone())
    }
    async fn image_path(&self) -> Option<&str> {
        self.0.image_path.as_deref()
    }
    /// The hops offered now (at `currentHopIndex`).
    async fn available_hops(&self, ctx: &Context<'_>) -> Result<Vec<RunHop>> {
        let index = self.0.current_hop_index;
        Ok(self
            .all_hops(ctx)
            .await?
            .into_iter()
            .filter(|h| h.hop == index)
            .map(RunHop)
            .collect())
    }
    /// The hop the packet stands on: the ACTUAL hop before `currentHopIndex`.
    async fn current_hop(&self, ctx: &Context<'_>) -> Result<RunHop> {
        let index = self.0.current_hop_index - 1;
        self.all_hops(ctx)
            .await?
            .into_iter()
            .find(|h| h.hop == index && h.status == "ACTUAL")
            .map(RunHop)
            .ok_or_else(|| {
                super::errors::to_graphql(crate::app::AppError::InvalidState(format!(
                    "run {} has not reached any terminal yet",
                    self.0.id
                )))
            })
    }
    /// The visitor's own machine: traceroute hop 1.
    async fn origin(&self, ctx: &Context<'_>) -> Result<Option<Address>> {
        let hops = loader(ctx)
            .load_one(TracerouteHopsOf(self.0.id.clone()))
            .await?
            .unwrap_or_default();
        let first = hops
            .into_iter()
            .find(|h| h.hop == 1)
            .and_then(|h| h.address_ip);
        address(ctx, first.as_ref()).await
    }
    /// Why the traceroute failed, when it did.
    async fn traceroute_error(&self) -> Option<&str> {
        self.0.traceroute_error.as_deref()
    }
    /// Why the screenshot failed, when it did.
    async fn screenshot_error(&self) -> Option<&str> {
        self.0.screenshot_error.as_deref()
    }
}

pub struct RunHop(pub RunHopRow);

#[Object]
impl RunHop {
    async fn id(&self) -> f64 {
        self.0.id as f64
    }
    async fn address(&self, ctx: &Context<'_>) -> Result<Option<Address>> {
        address(ctx, self.0.address_ip.as_ref()).await
    }
    #[graphql(name = "type")]
    async fn hop_type(&self) -> Result<RunHopType> {
        parse(&self.0.hop_type)
    }
    async fn terminal(&self, ctx: &Context<'_>) -> Result<Terminal> {
        terminal_by_id(ctx, self.0.terminal_id).await
    }
    async fn run(&self, ctx: &Context<'_>) -> Result<Run> {
        run_by_id(ctx, &self.0.run_id).await
    }
    async fn status(&self) -> Result<RunHopStatus> {
        parse(&self.0.status)
    }
    async fn may_perform_transformation(&self) -> bool {
        self.0.may_perform_transformation
    }
    async fn hop(&self) -> f64 {
        self.0.hop as f64
    }
    async fn created_at(&self) -> DateTime {
        DateTime(self.0.created_at.clone())
    }
    async fn updated_at(&self) -> DateTime {
        DateTime(self.0.updated_at.clone())
    }
}

async fn run_by_id(ctx: &Context<'_>, id: &str) -> Result<Run> {
    loader(ctx)
        .load_one(RunById(id.to_string()))
        .await?
        .map(Run)
        .ok_or_else(|| internal(format!("run {id} is missing")))
}

pub struct TracerouteHop(pub TracerouteHopRow);

#[Object]
impl TracerouteHop {
    async fn id(&self) -> f64 {
        self.0.id as f64
    }
    async fn address(&self, ctx: &Context<'_>) -> Result<Address> {
        address(ctx, self.0.address_ip.as_ref())
            .await?
            .ok_or_else(|| internal("traceroute hop without address"))
    }
    async fn run(&self, ctx: &Context<'_>) -> Result<Run> {
        run_by_id(ctx, &self.0.run_id).await
    }
    async fn hop(&self) -> f64 {
        self.0.hop as f64
    }
    async fn created_at(&self) -> DateTime {
        DateTime(self.0.created_at.clone())
    }
    async fn updated_at(&self) -> DateTime {
        DateTime(self.0.updated_at.clone())
    }
}

pub struct Address(pub AddressRow);

#[Object]
impl Address {
    async fn ip(&self) -> &str {
        &self.0.ip
    }
    async fn info(&self) -> Option<IpInfo> {
        self.0
            .info
            .as_deref()
            .and_then(|text| serde_json::from_str(text).ok())
    }
    async fn is_in_alt_network(&self) -> bool {
        self.0.is_in_alt_network
    }
    #[graphql(name = "isInternalIP")]
    async fn is_internal_ip(&self) -> bool {
        self.0.is_internal_ip
    }
    async fn created_at(&self) -> DateTime {
        DateTime(self.0.created_at.clone())
    }
    async fn updated_at(&self) -> DateTime {
        DateTime(self.0.updated_at.clone())
    }
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum JobStatus {
    Active,
    Waiting,
    Delayed,
    Failed,
    Completed,
    Other,
}

/// A job of the queue, as the dashboard's job table shows it.
#[derive(async_graphql::SimpleObject, Clone, Debug)]
pub struct Job {
    pub name: Option<String>,
    pub id: Option<String>,
    pub attempts_made: Option<f64>,
    pub processed_on: Option<f64>,
    pub finished_on: Option<f64>,
    pub failed_reason: Option<String>,
    pub stacktrace: Option<Vec<String>>,
    pub timestamp: Option<f64>,
    pub status: JobStatus,
    pub data: Option<String>,
}

impl From<crate::queue::JobInfo> for Job {
    fn from(job: crate::queue::JobInfo) -> Job {
        let ms = |v: Option<i64>| v.map(|v| v as f64);
        Job {
            status: match job.status.as_str() {
                "active" => JobStatus::Active,
                "waiting" => JobStatus::Waiting,
                "delayed" => JobStatus::Delayed,
                "failed" => JobStatus::Failed,
                "completed" => JobStatus::Completed,
                _ => JobStatus::Other,
            },
            name: Some(job.name),
            id: Some(job.id),
            attempts_made: Some(f64::from(job.attempts)),
            processed_on: ms(job.processed_on),
            finished_on: ms(job.finished_on),
            failed_reason: job.failed_reason,
            stacktrace: Some(job.stacktrace),
            timestamp: ms(job.timestamp),
            data: Some(job.data),
        }
    }
}
