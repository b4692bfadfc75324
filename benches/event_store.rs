//! Event store throughput: appends per second (1 and 20 events per command) through the same
//! path the service uses, and replay speed over a large realistic log.
//!
//!     cargo bench --bench event_store -- [--database sqlite|postgres|both] [--events N] [--appends N]
//!
//! PostgreSQL runs in a database created for the run (from TEST_POSTGRES_URL, default
//! postgres://postgres@127.0.0.1:5432/postgres) and dropped after.

use cqrs_es::event_sink::EventSink;
use cqrs_es::{Aggregate, DomainEvent};
use packet_run::event_store::EventStore;
use packet_run_domain::{AltHops, Installation, LatLng, Run, RunCommand, RunEvent, RunServices};
use packet_run_projections::replay::replay;
use packet_run_projections::Database;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

/// An aggregate that records as many events as it is asked to: appends without domain cost.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Burst;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Noted {
    n: u32,
    at: chrono::DateTime<chrono::Utc>,
}

impl DomainEvent for Noted {
    fn event_type(&self) -> String {
        "Noted".into()
    }
    fn event_version(&self) -> String {
        "1".into()
    }
}

#[derive(Debug, thiserror::Error)]
#[error("never")]
struct Never;

impl packet_run::event_store::SnapshotPolicy for Burst {}

impl Aggregate for Burst {
    const TYPE: &'static str = "Bench";
    type Command = u32;
    type Event = Noted;
    type Error = Never;
    type Services = ();
    async fn handle(&mut self, count: u32, _: &(), sink: &EventSink<Self>) -> Result<(), Never> {
        for n in 0..count {
            sink.write(
                Noted {
                    n,
                    at: chrono::Utc::now(),
                },
                self,
            )
            .await;
        }
        Ok(())
    }
    fn apply(&mut self, _: Noted) {}
}

fn arg(name: &str, default: &str) -> String {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .cloned()
        .unwrap_or_else(|| default.to_string())
}

async fn appends(db: &Database, commands: u32, per_command: u32) -> f64 {
    let store = EventStore::new(db.clone(), None);
    let started = Instant::now();
    for k in 0..commands {
        store
            .execute::<Burst>(&format!("burst-{per_command}-{k}"), per_command, &())
            .await
            .unwrap();
    }
    (commands * per_command) as f64 / started.elapsed().as_secs_f64()
}

/// The events of one realistic journey, made by the domain itself.
async fn journey_events(k: u64, services: &RunServices) -> Vec<RunEvent> {
    let mut run = Run::default();
    let mut events = Vec::new();
    let at = chrono::Utc::now();
    let exec = |command: RunCommand, run: &mut Run| {
        let mut copy = run.clone();
        async move {
            let sink = EventSink::default();
            copy.handle(command, services, &sink).await.ok()?;
            Some(sink.collect().await)
        }
    };
    let mut commands = vec![
        RunCommand::Create {
            run_id: format!("bench{k:07}"),
            nfc_id: format!("tag{}", k % 50),
            url: "https://example.org/".into(),
            server: 9,
            at,
        },
        RunCommand::RecordOrigin {
            address: "10.0.0.2".into(),
            at,
        },
        RunCommand::RecordDestination {
            address: "93.184.216.34".into(),
            at,
        },
    ];
    for hop in 2..=14u32 {
        commands.push(RunCommand::RecordTracerouteHop {
            hop,
            address: (hop != 6).then(|| format!("198.51.{hop}.{}", k % 200)),
            at,
        });
    }
    commands.push(RunCommand::FinishTraceroute { at });
    commands.push(RunCommand::RecordScreenshot {
        image_path: format!("images/bench{k:07}.png"),
        partial: false,
        at,
    });
    for command in commands {
        if let Some(new) = exec(command, &mut run).await {
            for e in &new {
                run.apply(e.clone());
            }
            events.extend(new);
        }
    }
    let locations = BTreeMap::from([(
        "198.51.7.1".to_string(),
        LatLng {
            lat: 52.1,
            lng: 5.1,
        },
    )]);
    for step in 0..12u64 {
        let Some(next) = run
            .available_hops()
            .find(|h| {
                matches!(
                    h.hop_type,
                    packet_run_domain::HopType::Recommended | packet_run_domain::HopType::Wormhole
                )
            })
            .map(|h| h.terminal)
        else {
            break;
        };
        let Some(new) = exec(
            RunCommand::Scan {
                terminal: next,
                seed: k * 31 + step,
                locations: locations.clone(),
                at,
            },
            &mut run,
        )
        .await
        else {
            break;
        };
        for e in &new {
            run.apply(e.clone());
        }
        events.extend(new);
        if next == run.server {
            if let Some(new) = exec(RunCommand::Transform { terminal: next, at }, &mut run).await {
                for e in &new {
                    run.apply(e.clone());
                }
                events.extend(new);
            }
        }
        if next == 12 {
            break;
        }
    }
    events
}

/// Fills the log with at least `target` realistic events, inserted in large transactions.
async fn fill(db: &Database, target: u64) -> u64 {
    let services = RunServices {
        installation: Arc::new(Installation::default_layout()),
        alt_hops: Arc::new(AltHops::bundled()),
    };
    let (mut written, mut k) = (0u64, 0u64);
    while written < target {
        let mut rows: Vec<(String, i64, String, String)> = Vec::new();
        while rows.len() < 20_000 && written + (rows.len() as u64) < target {
            for (sequence, event) in journey_events(k, &services).await.into_iter().enumerate() {
                rows.push((
                    format!("bench{k:07}"),
                    sequence as i64 + 1,
                    event.event_type(),
                    serde_json::to_string(&event).unwrap(),
                ));
            }
            k += 1;
        }
        written += rows.len() as u64;
        match db {
            Database::Sqlite { pool, .. } => {
                let mut tx = pool.begin().await.unwrap();
                for (id, seq, kind, payload) in &rows {
                    sqlx::query("INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata) VALUES ('Run', ?, ?, ?, '1', ?, '{}')")
                        .bind(id).bind(seq).bind(kind).bind(payload).execute(&mut *tx).await.unwrap();
                }
                tx.commit().await.unwrap();
            }
            Database::Postgres { pool, .. } => {
                let mut tx = pool.begin().await.unwrap();
                for chunk in rows.chunks(2_000) {
                    let mut qb = sqlx::QueryBuilder::new("INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata) ");
                    qb.push_values(chunk, |mut b, (id, seq, kind, payload)| {
                        b.push_bind("Run")
                            .push_bind(id)
                            .push_bind(seq)
                            .push_bind(kind)
                            .push_bind("1")
                            .push_bind(payload)
                            .push_unseparated("::json")
                            .push_bind("{}")
                            .push_unseparated("::json");
                    });
                    qb.build().execute(&mut *tx).await.unwrap();
                }
                tx.commit().await.unwrap();
            }
        }
    }
    written
}

async fn bench(name: &str, db: Database, events: u64, commands: u32) {
    db.migrate().await.unwrap();
    let one = appends(&db, commands, 1).await;
    let twenty = appends(&db, commands / 4, 20).await;
    println!("{name}: appends, 1 event per command:   {one:>9.0} events/s ({commands} commands)");
    println!(
        "{name}: appends, 20 events per command: {twenty:>9.0} events/s ({} commands)",
        commands / 4
    );
    let filled = Instant::now();
    let written = fill(&db, events).await;
    println!(
        "{name}: wrote {written} journey events in {:.1} s",
        filled.elapsed().as_secs_f64()
    );
    let total = db.event_count().await.unwrap();
    let report = replay(&db, |_, _| {}).await.unwrap();
    println!(
        "{name}: replay of {total} events: {:.1} s, {:.0} events/s",
        report.elapsed.as_secs_f64(),
        report.events_per_second()
    );
}

#[tokio::main]
async fn main() {
    let which = arg("--database", "both");
    let events: u64 = arg("--events", "1000000").parse().expect("--events N");
    let commands: u32 = arg("--appends", "4000").parse().expect("--appends N");
    if which == "sqlite" || which == "both" {
        let dir = tempfile::tempdir().unwrap();
        let db = Database::connect(&format!(
            "sqlite://{}",
            dir.path().join("bench.db").display()
        ))
        .await
        .unwrap();
        bench("sqlite", db, events, commands).await;
    }
    if which == "postgres" || which == "both" {
        let admin = std::env::var("TEST_POSTGRES_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
        let name = format!("packet_run_bench_{}", std::process::id());
        let pool = sqlx::PgPool::connect(&admin)
            .await
            .expect("PostgreSQL (TEST_POSTGRES_URL)");
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&pool)
            .await
            .unwrap();
        let base = admin.rsplit_once('/').map(|(b, _)| b.to_string()).unwrap();
        let db = Database::connect(&format!("{base}/{name}")).await.unwrap();
        bench("postgres", db.clone(), events, commands).await;
        db.close().await;
        sqlx::query(&format!("DROP DATABASE {name} WITH (FORCE)"))
            .execute(&pool)
            .await
            .unwrap();
    }
}
