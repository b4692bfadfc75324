//! One way to start the real service for a test: a fresh SQLite file in a temporary folder (or a
//! fresh PostgreSQL database), migrated and seeded like a first start.
#![allow(dead_code)]

pub mod dns;
pub mod lab;
pub mod ws;

use packet_run::app::App;
use packet_run::configuration::Settings;
use packet_run::startup::Application;
use packet_run_domain::{AddressCommand, RunCommand, TerminalCommand};
use packet_run_projections::dump::{dump, Dump};
use packet_run_projections::Database;
use serde_json::json;
use std::path::PathBuf;
use std::sync::Arc;

pub struct TestApp {
    pub application: Application,
    pub settings: Settings,
    pub dir: Arc<tempfile::TempDir>,
}

impl TestApp {
    pub fn app(&self) -> &App {
        &self.application.app
    }

    pub fn address(&self) -> String {
        format!("127.0.0.1:{}", self.application.port())
    }

    /// POSTs a GraphQL operation and returns the JSON answer.
    pub async fn graphql(&self, query: &str, variables: serde_json::Value) -> serde_json::Value {
        reqwest::Client::new()
            .post(format!("http://{}/graphql", self.address()))
            .json(&json!({"query": query, "variables": variables}))
            .send()
            .await
            .expect("POST /graphql")
            .json()
            .await
            .expect("a JSON answer")
    }

    pub fn db(&self) -> &Database {
        self.app().database()
    }

    pub async fn dump(&self) -> Dump {
        dump(self.db()).await.expect("dump read models")
    }

    pub async fn event_count(&self) -> i64 {
        self.db().event_count().await.unwrap()
    }

    /// Stops this instance and starts the service again on the same database.
    pub async fn restart(self) -> TestApp {
        let TestApp {
            application,
            settings,
            dir,
        } = self;
        application.stop().await;
        let application = Application::build(&settings, Some(7))
            .await
            .expect("restart");
        TestApp {
            application,
            settings,
            dir,
        }
    }
}

pub fn sqlite_settings(dir: &tempfile::TempDir) -> Settings {
    Settings {
        database_url: format!("sqlite://{}", dir.path().join("packet-run.db").display()),
        installation_file: PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("installation.toml"),
        host: "127.0.0.1".parse().unwrap(),
        port: 0,
        data_dir: dir.path().join("data"),
        ping_interval: std::time::Duration::from_millis(500),
        redis_url: std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into()),
        targets: Default::default(),
        workers: packet_run::configuration::WorkerSettings {
            in_process: false,
            queue_prefix: format!("packet-run-test-{}", uuid::Uuid::new_v4().simple()),
            ..Default::default()
        },
    }
}

pub async fn spawn_app() -> TestApp {
    let dir = Arc::new(tempfile::tempdir().unwrap());
    let settings = sqlite_settings(&dir);
    let application = Application::build(&settings, Some(7))
        .await
        .expect("start the service");
    TestApp {
        application,
        settings,
        dir,
    }
}

/// A database of its own on the running PostgreSQL, dropped by `drop_postgres`.
pub async fn spawn_postgres_app() -> (TestApp, String) {
    let name = format!("packet_run_test_{}", uuid::Uuid::new_v4().simple());
    let admin = std::env::var("TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let pool = sqlx::PgPool::connect(&admin)
        .await
        .expect("the running PostgreSQL (TEST_POSTGRES_URL)");
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;
    let dir = Arc::new(tempfile::tempdir().unwrap());
    let mut settings = sqlite_settings(&dir);
    let base = admin.rsplit_once('/').map(|(b, _)| b.to_string()).unwrap();
    settings.database_url = format!("{base}/{name}");
    let application = Application::build(&settings, Some(7))
        .await
        .expect("start on PostgreSQL");
    (
        TestApp {
            application,
            settings,
            dir,
        },
        name,
    )
}

pub async fn drop_postgres(app: TestApp, name: &str) {
    app.application.stop().await;
    let admin = std::env::var("TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let pool = sqlx::PgPool::connect(&admin).await.unwrap();
    sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .execute(&pool)
        .await
        .unwrap();
}

pub const ORIGIN: &str = "10.0.0.2";
pub const GATEWAY_IP: &str = "192.168.1.1";
pub const DESTINATION: &str = "93.184.216.34";

/// What a traceroute worker would record: origin, a 12-hop route ending at the destination.
pub async fn trace(app: &App, run_id: &str) {
    let now = chrono::Utc::now();
    app.run_command(
        run_id,
        RunCommand::RecordOrigin {
            address: ORIGIN.into(),
            at: now,
        },
    )
    .await
    .unwrap();
    app.run_command(
        run_id,
        RunCommand::RecordDestination {
            address: DESTINATION.into(),
            at: now,
        },
    )
    .await
    .unwrap();
    for hop in 2..=12u32 {
        let address = match hop {
            2 => Some(GATEWAY_IP.to_string()),
            7 => None,
            12 => Some(DESTINATION.to_string()),
            _ => Some(format!("198.51.{hop}.1")),
        };
        app.run_command(
            run_id,
            RunCommand::RecordTracerouteHop {
                hop,
                address,
                at: now,
            },
        )
        .await
        .unwrap();
    }
    let finished = app
        .run_command(run_id, RunCommand::FinishTraceroute { at: now })
        .await
        .unwrap();
    app.settle(finished.position).await;
}

/// The terminal a visitor following the recommendations scans next.
pub async fn recommended(app: &App, run_id: &str) -> Option<u32> {
    let run: packet_run_domain::Run = app.store.load(run_id).await.unwrap();
    let next = run
        .available_hops()
        .find(|h| h.hop_type == packet_run_domain::HopType::Recommended)
        .or_else(|| {
            run.available_hops()
                .find(|h| h.hop_type == packet_run_domain::HopType::Wormhole)
        });
    next.map(|h| h.terminal)
}

/// A realistic stretch of use: runs created and traced, journeys, screenshots, metadata,
/// screens connecting and leaving, a terminal set idle by hand.
pub async fn realistic_use(app: &App) -> Vec<String> {
    let mut runs = Vec::new();
    for k in 0..3 {
        let run_id = app
            .create_run(
                &format!("https://site{k}.example/page"),
                &format!("tag-{}", k % 2),
            )
            .await
            .unwrap();
        trace(app, &run_id).await;
        runs.push(run_id);
    }
    let now = chrono::Utc::now();
    app.terminal_command(
        3,
        TerminalCommand::ConnectPresence {
            websocket_id: "ws-a".into(),
            ip: "127.0.0.1".into(),
            at: now,
        },
    )
    .await
    .unwrap();
    app.terminal_command(
        4,
        TerminalCommand::ConnectPresence {
            websocket_id: "ws-b".into(),
            ip: "127.0.0.2".into(),
            at: now,
        },
    )
    .await
    .unwrap();
    app.terminal_command(
        3,
        TerminalCommand::LosePresence {
            websocket_id: "ws-a".into(),
            at: now,
        },
    )
    .await
    .unwrap();
    app.address_command(
        "198.51.5.1",
        AddressCommand::See {
            ip: "198.51.5.1".into(),
            in_alt_network: false,
            at: now,
        },
    )
    .await
    .unwrap();
    let info = json!({"ip": "198.51.5.1", "type": "IPv4", "company": {"name": "Example Transit", "domain": null, "type": "isp"},
                      "location": {"city": "Utrecht", "latitude": 52.09, "longitude": 5.12}});
    app.address_command(
        "198.51.5.1",
        AddressCommand::RecordMetadata {
            ip: "198.51.5.1".into(),
            info,
            internal: false,
            at: now,
        },
    )
    .await
    .unwrap();
    app.address_command(
        GATEWAY_IP,
        AddressCommand::FailMetadata {
            ip: GATEWAY_IP.into(),
            reason: "lookup timed out".into(),
            at: now,
        },
    )
    .await
    .unwrap();
    app.run_command(
        &runs[0],
        RunCommand::RecordScreenshot {
            image_path: format!("images/{}.png", runs[0]),
            partial: false,
            at: now,
        },
    )
    .await
    .unwrap();
    app.run_command(
        &runs[1],
        RunCommand::FailScreenshot {
            reason: "HTTP 500".into(),
            at: now,
        },
    )
    .await
    .unwrap();
    // tag-0 belongs to runs[0] and runs[2]: the newest (runs[2]) is the one that travels.
    for (tag, run_id) in [("tag-1", &runs[1]), ("tag-0", &runs[2])] {
        app.scan_nfc_for_terminal(1, tag).await.unwrap();
        for _ in 0..30 {
            let Some(next) = recommended(app, run_id).await else {
                break;
            };
            app.scan_nfc_for_terminal(next, tag).await.unwrap();
            let run: packet_run_domain::Run = app.store.load(run_id).await.unwrap();
            if next == run.server && run.packet_type == packet_run_domain::PacketType::Request {
                app.create_return_packet_for_terminal(next, false)
                    .await
                    .unwrap();
                app.create_return_packet_for_terminal(next, true)
                    .await
                    .unwrap();
            }
            if next == 12 {
                break;
            }
        }
    }
    app.set_terminal_to_idle(12).await.unwrap();
    runs
}

/// The service with its workers in this process. Visitors' names are resolved only by a
/// DNS server on loopback that knows nothing unless `configure` points elsewhere, and
/// IPRegistry is only ever a local address, so no test traffic leaves the machine.
pub async fn spawn_app_with_workers(configure: impl FnOnce(&mut Settings)) -> TestApp {
    let dir = Arc::new(tempfile::tempdir().unwrap());
    let mut settings = sqlite_settings(&dir);
    let dns = dns::LoopbackDns::start(&[]).await;
    settings.workers.in_process = true;
    settings.workers.dns_server = Some(dns.address);
    settings.workers.tracer = PathBuf::from(env!("CARGO_BIN_EXE_packet-run"));
    settings.workers.screenshot_timeout = std::time::Duration::from_secs(5);
    settings.workers.metadata.base_url = "http://127.0.0.1:9".into();
    configure(&mut settings);
    // The server lives as long as the test's runtime.
    std::mem::forget(dns);
    let application = Application::build(&settings, Some(7))
        .await
        .expect("start the service");
    TestApp {
        application,
        settings,
        dir,
    }
}

/// A run's events, as they are now.
pub async fn run_events(app: &TestApp, run_id: &str) -> Vec<packet_run_domain::RunEvent> {
    app.db()
        .events_of("Run", run_id)
        .await
        .unwrap()
        .into_iter()
        .filter_map(|e| match e.decode().unwrap() {
            packet_run_projections::DecodedEvent::Run(r) => Some(r),
            _ => None,
        })
        .collect()
}

/// Waits (up to `within`) until the run's events satisfy `done`, and returns them.
pub async fn wait_for_run(
    app: &TestApp,
    run_id: &str,
    within: std::time::Duration,
    done: impl Fn(&[packet_run_domain::RunEvent]) -> bool,
) -> Vec<packet_run_domain::RunEvent> {
    let deadline = std::time::Instant::now() + within;
    loop {
        let events = run_events(app, run_id).await;
        if done(&events) {
            return events;
        }
        if std::time::Instant::now() > deadline {
            panic!("run {run_id} did not get there within {within:?}; its events: {events:#?}");
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// Whether the run's traceroute ended, either way.
pub fn trace_ended(events: &[packet_run_domain::RunEvent]) -> bool {
    use packet_run_domain::RunEvent::*;
    events
        .iter()
        .any(|e| matches!(e, TracerouteFinished { .. } | TracerouteFailed { .. }))
}

/// Whether the run's screenshot job ended, either way.
pub fn screenshot_ended(events: &[packet_run_domain::RunEvent]) -> bool {
    use packet_run_domain::RunEvent::*;
    events
        .iter()
        .any(|e| matches!(e, ScreenshotTaken { .. } | ScreenshotFailed { .. }))
}
