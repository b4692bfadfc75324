use super::errors::{internal, terminal_number, to_graphql};
use super::types::Run;
use crate::app::App;
use crate::{blocklist, read_models};
use async_graphql::{Context, Object, Result};
use std::sync::Arc;
use std::time::Duration;

pub struct Mutation;

/// The client of `validateHost`'s probes: one, so its TLS set-up and connection pool are built
/// once. It resolves names through the target resolver, which refuses any name that leads
/// into our own network, and follows no redirects.
pub struct HostProbe {
    client: reqwest::Client,
    resolver: crate::resolver::TargetResolver,
}

impl HostProbe {
    pub fn new(resolver: crate::resolver::TargetResolver) -> Result<HostProbe, String> {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(5))
            .dns_resolver(std::sync::Arc::new(resolver.clone()))
            .build()
            .map_err(|e| e.to_string())?;
        Ok(HostProbe { client, resolver })
    }
}

#[Object]
impl Mutation {
    /// A terminal scanned a packet's NFC tag: the packet moves there.
    async fn scan_nfc_for_terminal(
        &self,
        ctx: &Context<'_>,
        terminal_id: f64,
        nfc_id: String,
    ) -> Result<Option<bool>> {
        let app = ctx.data_unchecked::<Arc<App>>();
        app.scan_nfc_for_terminal(terminal_number(terminal_id)?, &nfc_id)
            .await
            .map_err(to_graphql)?;
        Ok(Some(true))
    }

    /// SENDER and SERVER terminals: `isPacketCreated = false` starts creating the packet
    /// (CREATING_PACKET), `true` finishes it (CREATED_PACKET; at a server the run becomes a response).
    async fn create_return_packet_for_terminal(
        &self,
        ctx: &Context<'_>,
        terminal_id: f64,
        is_packet_created: bool,
    ) -> Result<Option<bool>> {
        let app = ctx.data_unchecked::<Arc<App>>();
        app.create_return_packet_for_terminal(terminal_number(terminal_id)?, is_packet_created)
            .await
            .map_err(to_graphql)?;
        Ok(Some(true))
    }

    /// Back to IDLE with no run.
    async fn set_terminal_to_idle(
        &self,
        ctx: &Context<'_>,
        terminal_id: f64,
    ) -> Result<Option<bool>> {
        let app = ctx.data_unchecked::<Arc<App>>();
        app.set_terminal_to_idle(terminal_number(terminal_id)?)
            .await
            .map_err(to_graphql)?;
        Ok(Some(true))
    }

    /// Whether a host can be visited: not on the blocklist, and answering over HTTPS.
    async fn validate_host(&self, ctx: &Context<'_>, host: String) -> Result<Option<bool>> {
        let host = host.trim();
        if host.is_empty() || host.len() > 253 || blocklist::is_blocked(host) {
            return Ok(Some(false));
        }
        let Ok(url) = url::Url::parse(&format!("https://{host}")) else {
            return Ok(Some(false));
        };
        if url.host_str().is_none() || url.path() != "/" {
            return Ok(Some(false));
        }
        let probe = ctx.data_unchecked::<HostProbe>();
        // Literal addresses are checked here; names by the client's resolver.
        if let Some(url::Host::Ipv4(_) | url::Host::Ipv6(_)) = url.host() {
            if probe
                .resolver
                .policy
                .check_host(&url.host().expect("has a host"))
                .is_err()
            {
                return Ok(Some(false));
            }
        }
        let client = &probe.client;
        let good = |s: reqwest::StatusCode| (200..400).contains(&s.as_u16());
        Ok(Some(match client.head(url.clone()).send().await {
            Ok(r) if r.status().as_u16() >= 400 => {
                client.get(url).send().await.is_ok_and(|r| good(r.status()))
            }
            Ok(r) => good(r.status()),
            Err(_) => false,
        }))
    }

    /// A new packet for `url`, bound for a random server.
    async fn create_run(&self, ctx: &Context<'_>, url: String, nfc_id: String) -> Result<Run> {
        let app = ctx.data_unchecked::<Arc<App>>();
        let id = app.create_run(&url, &nfc_id).await.map_err(to_graphql)?;
        let row = read_models::run(app.database(), &id)
            .await
            .map_err(internal)?;
        row.map(Run)
            .ok_or_else(|| internal(format!("run {id} was created but is not readable yet")))
    }
}
