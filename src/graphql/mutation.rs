use super::errors::{internal, terminal_number, to_graphql};
use super::types::Run;
use crate::app::App;
use crate::{blocklist, read_models};
use async_graphql::{Context, Object, Result};
use std::sync::Arc;
use std::time::Duration;

pub struct Mutation;

/// One client for every `validateHost` probe: its TLS set-up and connection pool are built once.
fn probe_client() -> Result<&'static reqwest::Client, String> {
    static CLIENT: std::sync::OnceLock<reqwest::Client> = std::sync::OnceLock::new();
    if let Some(client) = CLIENT.get() {
        return Ok(client);
    }
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(5))
        .build()
        .map_err(|e| e.to_string())?;
    Ok(CLIENT.get_or_init(|| client))
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
    async fn validate_host(&self, host: String) -> Result<Option<bool>> {
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
        let client = probe_client().map_err(internal)?;
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
