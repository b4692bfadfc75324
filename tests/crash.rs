//! Crash safety: the real binary is killed (SIGKILL) at random moments while another process
//! drives it; after each restart no acknowledged command's events are missing, and in the end
//! the read models equal a fresh replay of the log.

mod common;
use common::ORIGIN;
use packet_run::app::App;
use packet_run::event_store::EventStore;
use packet_run_domain::{AltHops, Installation, RunCommand};
use packet_run_projections::dump::dump;
use packet_run_projections::replay::replay;
use packet_run_projections::Database;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

struct Service {
    child: Child,
    port: u16,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn start(dir: &std::path::Path, port: u16) -> Service {
    let child = Command::new(env!("CARGO_BIN_EXE_packet-run"))
        .arg("serve")
        .env(
            "DATABASE_URL",
            format!("sqlite://{}", dir.join("packet-run.db").display()),
        )
        .env(
            "INSTALLATION_FILE",
            concat!(env!("CARGO_MANIFEST_DIR"), "/installation.toml"),
        )
        .env("DATA_DIR", dir.join("data"))
        .env("HOST", "127.0.0.1")
        .env("PORT", port.to_string())
        .env("RUST_LOG", "warn")
        .env("WORKERS", "off")
        .env(
            "QUEUE_PREFIX",
            format!("packet-run-test-{}", uuid::Uuid::new_v4().simple()),
        )
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start packet-run");
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if reqwest::get(format!("http://127.0.0.1:{port}/healthz"))
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            return Service { child, port };
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut child = child;
    let _ = child.kill();
    let _ = child.wait();
    panic!("packet-run did not start within 30 s");
}

async fn call(client: &reqwest::Client, port: u16, query: &str, variables: Value) -> Option<Value> {
    let response = client
        .post(format!("http://127.0.0.1:{port}/graphql"))
        .json(&json!({"query": query, "variables": variables}))
        .timeout(Duration::from_secs(10))
        .send()
        .await
        .ok()?;
    let body: Value = response.json().await.ok()?;
    body.get("errors").is_none().then_some(body["data"].clone())
}

#[derive(Debug)]
enum Acknowledged {
    Created(String),
    Scanned { run: String, terminal: u32 },
}

/// Drives the service until it dies: runs created, traced by this process (as a worker
/// would be), and scanned along the journey. Returns what the service acknowledged.
async fn drive(port: u16, worker: &App, round: usize, acknowledged: &mut Vec<Acknowledged>) {
    let client = reqwest::Client::new();
    for k in 0.. {
        let tag = format!("ball-{round}-{k}");
        let Some(data) = call(
            &client,
            port,
            "mutation($u:String!,$n:String!){createRun(url:$u,nfcId:$n){id}}",
            json!({"u": "https://example.org/", "n": tag}),
        )
        .await
        else {
            return;
        };
        let run = data["createRun"]["id"].as_str().unwrap().to_string();
        acknowledged.push(Acknowledged::Created(run.clone()));
        let now = chrono::Utc::now();
        let _ = worker
            .run_command(
                &run,
                RunCommand::RecordOrigin {
                    address: ORIGIN.into(),
                    at: now,
                },
            )
            .await;
        let _ = worker
            .run_command(
                &run,
                RunCommand::RecordDestination {
                    address: "93.184.216.34".into(),
                    at: now,
                },
            )
            .await;
        for hop in 2..=8u32 {
            let address = Some(format!("198.51.{hop}.1"));
            let _ = worker
                .run_command(
                    &run,
                    RunCommand::RecordTracerouteHop {
                        hop,
                        address,
                        at: now,
                    },
                )
                .await;
        }
        let _ = worker
            .run_command(&run, RunCommand::FinishTraceroute { at: now })
            .await;
        for terminal in [1u32, 2, 6] {
            let scanned = call(
                &client,
                port,
                "mutation($t:Float!,$n:String!){scanNfcForTerminal(terminalId:$t,nfcId:$n)}",
                json!({"t": terminal, "n": tag}),
            )
            .await;
            match scanned {
                Some(_) => acknowledged.push(Acknowledged::Scanned {
                    run: run.clone(),
                    terminal,
                }),
                None => return,
            }
        }
    }
}

async fn check_acknowledged(db: &Database, acknowledged: &[Acknowledged]) {
    let events = db
        .events_after(Default::default(), 1_000_000)
        .await
        .unwrap();
    let dump = dump(db).await.unwrap();
    for ack in acknowledged {
        match ack {
            Acknowledged::Created(run) => {
                assert!(
                    events
                        .iter()
                        .any(|e| e.aggregate_id == *run && e.event_type == "RunCreated"),
                    "run {run} lost"
                );
                assert!(
                    dump["runs"]
                        .iter()
                        .any(|r| r["id"].as_deref() == Some(run.as_str())),
                    "run {run} not projected"
                );
            }
            Acknowledged::Scanned { run, terminal } if *terminal != 1 => {
                let taken = dump["run_hops"].iter().any(|h| {
                    h["run_id"].as_deref() == Some(run.as_str())
                        && h["terminal_id"].as_deref() == Some(&terminal.to_string())
                        && h["status"].as_deref() == Some("ACTUAL")
                });
                assert!(
                    taken,
                    "the acknowledged scan of run {run} at terminal {terminal} is missing"
                );
            }
            Acknowledged::Scanned { .. } => {} // the sender scan is a re-scan: it changes no run
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_the_service_at_random_moments_loses_nothing_acknowledged() {
    let dir = tempfile::tempdir().unwrap();
    let seed: u64 = rand::random();
    eprintln!("crash test seed {seed}");
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let mut acknowledged = Vec::new();
    let port = free_port();
    let mut worker: Option<App> = None;

    for round in 0..20 {
        let mut service = start(dir.path(), port).await;
        let worker = match &worker {
            Some(w) => w,
            None => {
                let db = Database::connect(&format!(
                    "sqlite://{}",
                    dir.path().join("packet-run.db").display()
                ))
                .await
                .unwrap();
                worker.insert(App::new(
                    EventStore::new(db, None),
                    Installation::default_layout(),
                    AltHops::bundled(),
                    Some(round as u64),
                ))
            }
        };
        let kill_after = Duration::from_millis(rng.gen_range(20..600));
        let before = acknowledged.len();
        let _ = tokio::time::timeout(
            kill_after,
            drive(service.port, worker, round, &mut acknowledged),
        )
        .await;
        nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(service.child.id() as i32),
            nix::sys::signal::Signal::SIGKILL,
        )
        .unwrap();
        service.child.wait().unwrap();
        eprintln!(
            "round {round}: killed after {kill_after:?}, {} commands acknowledged",
            acknowledged.len() - before
        );
        // Restart: the projector catches up before the service answers.
        let mut service = start(dir.path(), port).await;
        check_acknowledged(worker.database(), &acknowledged).await;
        nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(service.child.id() as i32),
            nix::sys::signal::Signal::SIGKILL,
        )
        .unwrap();
        service.child.wait().unwrap();
    }
    assert!(
        acknowledged.len() > 40,
        "the rounds did real work ({} acknowledged)",
        acknowledged.len()
    );

    // The read models left by all those kills equal a fresh replay of the log.
    let mut service = start(dir.path(), port).await;
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(service.child.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    service.child.wait().unwrap();
    let db = Database::connect(&format!(
        "sqlite://{}",
        dir.path().join("packet-run.db").display()
    ))
    .await
    .unwrap();
    let live = dump(&db).await.unwrap();
    replay(&db, |_, _| {}).await.unwrap();
    assert_eq!(dump(&db).await.unwrap(), live);
    check_acknowledged(&db, &acknowledged).await;
}
