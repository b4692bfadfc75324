//! The ip-metadata job: who owns an address, recorded on the address.

use super::runner::JobHandler;
use crate::app::App;
use crate::ip_metadata::{IpRegistry, Metadata, MetadataError};
use crate::queue::Delivery;
use async_trait::async_trait;
use chrono::Utc;
use packet_run_domain::{Address, AddressCommand};
use std::net::IpAddr;
use std::sync::Arc;

pub struct MetadataJob {
    pub app: Arc<App>,
    pub registry: Arc<IpRegistry>,
}

fn ip_of(job: &Delivery) -> Result<IpAddr, String> {
    job.data["ip"]
        .as_str()
        .and_then(|ip| ip.parse().ok())
        .ok_or_else(|| format!("job {} names no IP address: {}", job.id, job.data))
}

#[async_trait]
impl JobHandler for MetadataJob {
    async fn handle(&self, job: &Delivery) -> Result<(), String> {
        let ip = ip_of(job)?;
        let address: Address = self
            .app
            .load_address(&ip.to_string())
            .await
            .map_err(|e| e.to_string())?;
        // Known owners are not asked for again: the lookups are paid for.
        if address.info.is_some() || address.in_alt_network {
            return Ok(());
        }
        let (info, internal) = match self.registry.lookup(ip).await {
            Ok(Metadata::Internal(info)) => (info, true),
            Ok(Metadata::Found(info)) => (info, false),
            Ok(Metadata::NoKey) => return Ok(()),
            // An answer that will not change with retrying: record it, do not fail the job.
            Err(error @ (MetadataError::Refused { .. } | MetadataError::NotAnObject { .. })) => {
                self.fail(ip, &error.to_string()).await;
                return Ok(());
            }
            Err(error) => return Err(error.to_string()),
        };
        let command = AddressCommand::RecordMetadata {
            ip: ip.to_string(),
            info,
            internal,
            at: Utc::now(),
        };
        self.app
            .address_command(&ip.to_string(), command)
            .await
            .map(|_| ())
            .map_err(|e| e.to_string())
    }

    async fn give_up(&self, job: &Delivery, reason: &str) {
        if let Ok(ip) = ip_of(job) {
            self.fail(ip, reason).await;
        }
    }
}

impl MetadataJob {
    async fn fail(&self, ip: IpAddr, reason: &str) {
        let command = AddressCommand::FailMetadata {
            ip: ip.to_string(),
            reason: reason.to_string(),
            at: Utc::now(),
        };
        if let Err(error) = self.app.address_command(&ip.to_string(), command).await {
            tracing::error!(%error, %ip, "cannot record a metadata failure");
        }
    }
}
