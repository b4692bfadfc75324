//! The traceroute job: resolve the run's host once, trace to that address in a child process
//! (`packet-run trace`), and record each hop as it is known.

use super::runner::JobHandler;
use super::{record, run_id};
use crate::app::App;
use crate::queue::Delivery;
use crate::resolver::{TargetError, TargetResolver};
use crate::traceroute::probe::TraceLine;
use async_trait::async_trait;
use chrono::Utc;
use packet_run_domain::RunCommand;
use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};

/// The longest a trace process may take: two rounds of one second each, with room.
const TRACE_BOUND: Duration = Duration::from_secs(10);

pub struct TracerouteJob {
    pub app: Arc<App>,
    pub resolver: TargetResolver,
    /// The program that runs `trace` (this binary).
    pub tracer: PathBuf,
}

/// The machine's first IPv4 address that is not loopback: where the visitor's packet leaves.
pub fn origin_address() -> Option<Ipv4Addr> {
    nix::ifaddrs::getifaddrs()
        .ok()?
        .filter_map(|i| i.address?.as_sockaddr_in().map(|a| a.ip()))
        .find(|ip| !ip.is_loopback())
}

#[async_trait]
impl JobHandler for TracerouteJob {
    async fn handle(&self, job: &Delivery) -> Result<(), String> {
        let run_id = run_id(job)?;
        let run = self
            .app
            .load_run(&run_id)
            .await
            .map_err(|e| e.to_string())?;
        if !run.created {
            return Err(format!("run {run_id} does not exist"));
        }
        if run.traceroute_finished {
            return Ok(());
        }
        let url = url::Url::parse(&run.url).map_err(|e| format!("the run's url: {e}"))?;
        let Some(host) = url.host() else {
            return self
                .failed(&run_id, format!("{} has no host", run.url))
                .await;
        };
        let target = match self.resolver.resolve(&host).await {
            Ok(ip) => ip,
            Err(error @ (TargetError::Unresolvable { .. } | TargetError::Refused(_))) => {
                return self.failed(&run_id, error.to_string()).await;
            }
        };
        if let Err(error) = std::net::UdpSocket::bind(if target.is_ipv4() {
            "0.0.0.0:0"
        } else {
            "[::]:0"
        })
        .and_then(|s| s.connect((target, 33434)))
        {
            return self
                .failed(&run_id, format!("no route to {target}: {error}"))
                .await;
        }
        record(
            &self.app,
            &run_id,
            RunCommand::RecordDestination {
                address: target.to_string(),
                at: Utc::now(),
            },
        )
        .await?;
        if let Some(origin) = origin_address() {
            record(
                &self.app,
                &run_id,
                RunCommand::RecordOrigin {
                    address: origin.to_string(),
                    at: Utc::now(),
                },
            )
            .await?;
        }
        self.trace(&run_id, target).await
    }

    async fn give_up(&self, job: &Delivery, reason: &str) {
        if let Ok(run_id) = run_id(job) {
            let _ = self.failed(&run_id, reason.to_string()).await;
        }
    }
}

impl TracerouteJob {
    /// The trace could not be done and retrying will not help: say so on the run.
    async fn failed(&self, run_id: &str, reason: String) -> Result<(), String> {
        tracing::info!(run = run_id, %reason, "traceroute failed");
        record(
            &self.app,
            run_id,
            RunCommand::FailTraceroute {
                reason,
                at: Utc::now(),
            },
        )
        .await
    }

    async fn trace(&self, run_id: &str, target: IpAddr) -> Result<(), String> {
        let mut child = tokio::process::Command::new(&self.tracer)
            .arg("trace")
            .arg(target.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", self.tracer.display()))?;
        let stdout = child.stdout.take().expect("stdout is piped");
        let mut lines = BufReader::new(stdout).lines();
        let reading = async {
            while let Some(line) = lines.next_line().await.map_err(|e| e.to_string())? {
                let parsed: TraceLine = serde_json::from_str(&line)
                    .map_err(|e| format!("the trace process printed {line:?}: {e}"))?;
                match parsed {
                    TraceLine::Hop { ttl, address } => {
                        let command = RunCommand::RecordTracerouteHop {
                            hop: u32::from(ttl) + 1,
                            address: address.map(|a| a.to_string()),
                            at: Utc::now(),
                        };
                        record(&self.app, run_id, command).await?;
                    }
                    TraceLine::Reached => {
                        return record(
                            &self.app,
                            run_id,
                            RunCommand::FinishTraceroute { at: Utc::now() },
                        )
                        .await;
                    }
                    TraceLine::Unreachable { by } => {
                        return self
                            .failed(
                                run_id,
                                format!("{target} is unreachable ({by} answered \"unreachable\")"),
                            )
                            .await;
                    }
                    TraceLine::NoAnswer => {
                        return self
                            .failed(
                                run_id,
                                format!(
                                    "{target} did not answer within {} hops",
                                    crate::traceroute::probe::MAX_TTL
                                ),
                            )
                            .await;
                    }
                    TraceLine::Error { reason } => return Err(reason),
                }
            }
            Err("the trace process ended without a result".to_string())
        };
        let outcome = tokio::time::timeout(TRACE_BOUND, reading)
            .await
            .unwrap_or_else(|_| Err(format!("the trace took longer than {TRACE_BOUND:?}")));
        let _ = child.start_kill();
        let _ = child.wait().await;
        outcome
    }
}
