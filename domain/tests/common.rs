//! Shared fixtures for the domain tests.
#![allow(dead_code)]

use chrono::{DateTime, TimeZone, Utc};
use cqrs_es::event_sink::EventSink;
use cqrs_es::Aggregate;
use packet_run_domain::{AltHops, Installation, Run, RunCommand, RunError, RunEvent, RunServices};
use std::sync::Arc;

pub fn at(second: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 4, 12, 0, 0).unwrap() + chrono::Duration::seconds(second as i64)
}

pub fn services() -> RunServices {
    services_for(Installation::default_layout())
}

pub fn services_for(installation: Installation) -> RunServices {
    RunServices {
        installation: Arc::new(installation),
        alt_hops: Arc::new(AltHops::bundled()),
    }
}

pub const ORIGIN: &str = "10.0.0.2";
pub const GATEWAY_IP: &str = "192.168.1.1";
pub const DESTINATION: &str = "93.184.216.34";

/// A synthetic 12-hop trace: origin, gateway, ten internet hops ending at the destination.
pub fn twelve_hops() -> Vec<(u32, Option<String>)> {
    let mut hops = vec![(2, Some(GATEWAY_IP.to_string()))];
    for hop in 3..12 {
        hops.push((hop, Some(format!("198.51.{hop}.1"))));
    }
    hops.push((12, Some(DESTINATION.to_string())));
    hops
}

/// Runs a command on a copy of the run; on success applies the events to the run.
pub async fn exec(
    run: &mut Run,
    command: RunCommand,
    services: &RunServices,
) -> Result<Vec<RunEvent>, RunError> {
    let mut copy = run.clone();
    let sink = EventSink::default();
    copy.handle(command, services, &sink).await?;
    let events = sink.collect().await;
    for event in &events {
        run.apply(event.clone());
    }
    Ok(events)
}

/// A run created for `server` whose traceroute is complete.
pub async fn traced_run(server: u32, services: &RunServices) -> Run {
    let mut run = Run::default();
    let create = RunCommand::Create {
        run_id: "run000000001".into(),
        nfc_id: "tag-1".into(),
        url: "https://example.org/".into(),
        server,
        at: at(0),
    };
    exec(&mut run, create, services).await.unwrap();
    exec(
        &mut run,
        RunCommand::RecordOrigin {
            address: ORIGIN.into(),
            at: at(1),
        },
        services,
    )
    .await
    .unwrap();
    exec(
        &mut run,
        RunCommand::RecordDestination {
            address: DESTINATION.into(),
            at: at(1),
        },
        services,
    )
    .await
    .unwrap();
    for (hop, address) in twelve_hops() {
        exec(
            &mut run,
            RunCommand::RecordTracerouteHop {
                hop,
                address,
                at: at(2),
            },
            services,
        )
        .await
        .unwrap();
    }
    exec(
        &mut run,
        RunCommand::FinishTraceroute { at: at(3) },
        services,
    )
    .await
    .unwrap();
    run
}
