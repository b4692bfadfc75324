//! API measurements against the release build, all on loopback:
//! - the time from a `scanNfcForTerminal` response to the matching `registerTerminal` push
//!   (p50/p99 over 1,000 scans);
//! - requests/s and p99 for the dashboard's full selection and for `terminal(id:1){id type}`,
//!   with wrk (Debian's package) when it is installed;
//! - the service's RSS idle and under load.
//!
//!     cargo bench --bench api_latency

use futures::{SinkExt, StreamExt};
use packet_run::configuration::Settings;
use packet_run::startup::Application;
use packet_run_domain::RunCommand;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::Message;

const REGISTER: &str = "subscription($id: Float!) { registerTerminal(id: $id) { id status run { id currentHopIndex availableHops { id type terminal { id } } } } }";
const DASHBOARD: &str = "{ terminals { id type status payload createdAt updatedAt connectionsTo { slot to { id } } presences { id ip websocketId connectedAt lastSeenAt } run { id nfcId url currentHopIndex createdAt updatedAt destination { ip info { company { name } } } availableHops { id hop mayPerformTransformation address { ip } terminal { id } } currentHop { address { ip } } hops { id hop status type address { ip } terminal { id } } } } }";

fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches(" kB").trim().parse().ok())
        .unwrap_or(0)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

async fn trace(app: &packet_run::app::App, run: &str) {
    let at = chrono::Utc::now();
    app.run_command(
        run,
        RunCommand::RecordOrigin {
            address: "10.0.0.2".into(),
            at,
        },
    )
    .await
    .unwrap();
    app.run_command(
        run,
        RunCommand::RecordDestination {
            address: "93.184.216.34".into(),
            at,
        },
    )
    .await
    .unwrap();
    for hop in 2..=12u32 {
        app.run_command(
            run,
            RunCommand::RecordTracerouteHop {
                hop,
                address: Some(format!("198.51.{hop}.1")),
                at,
            },
        )
        .await
        .unwrap();
    }
    let done = app
        .run_command(run, RunCommand::FinishTraceroute { at })
        .await
        .unwrap();
    app.settle(done.position).await;
}

fn wrk(port: u16, query: &str, label: &str) {
    let script = std::env::temp_dir().join(format!("packet-run-{label}.lua"));
    let body = json!({"query": query})
        .to_string()
        .replace('\\', "\\\\")
        .replace('"', "\\\"");
    std::fs::write(&script, format!("wrk.method = \"POST\"\nwrk.headers[\"Content-Type\"] = \"application/json\"\nwrk.body = \"{body}\"\n")).unwrap();
    let output = std::process::Command::new("wrk")
        .args(["-t2", "-c32", "-d10s", "--latency", "-s"])
        .arg(&script)
        .arg(format!("http://127.0.0.1:{port}/graphql"))
        .output();
    match output {
        Ok(out) => {
            let text = String::from_utf8_lossy(&out.stdout);
            let rps = text
                .lines()
                .find(|l| l.starts_with("Requests/sec"))
                .unwrap_or("?");
            let p99 = text
                .lines()
                .find(|l| l.trim_start().starts_with("99%"))
                .unwrap_or("?");
            let errors = text
                .lines()
                .find(|l| l.contains("Non-2xx") || l.contains("Socket errors"))
                .unwrap_or("no errors");
            println!(
                "wrk {label}: {rps}; p99 {}; {errors}",
                p99.trim().trim_start_matches("99%").trim()
            );
        }
        Err(e) => println!("wrk {label}: not run ({e}); install Debian's wrk"),
    }
}

#[tokio::main]
async fn main() {
    let dir = tempfile::tempdir().unwrap();
    let settings = Settings {
        database_url: format!("sqlite://{}", dir.path().join("bench.db").display()),
        installation_file: concat!(env!("CARGO_MANIFEST_DIR"), "/installation.toml").into(),
        host: "127.0.0.1".parse().unwrap(),
        port: 0,
        data_dir: dir.path().join("data"),
        ping_interval: Duration::from_secs(10),
        redis_url: "redis://127.0.0.1:6379".into(),
        targets: Default::default(),
        workers: packet_run::configuration::WorkerSettings {
            in_process: false,
            queue_prefix: format!("packet-run-test-{}", uuid::Uuid::new_v4().simple()),
            ..Default::default()
        },
    };
    let service = Application::build(&settings, Some(1)).await.unwrap();
    let port = service.port();
    let app = service.app.clone();
    tokio::time::sleep(Duration::from_millis(500)).await;
    println!("RSS idle after start: {} MiB", rss_kib() / 1024);

    // One screen per terminal, each with its registerTerminal subscription.
    let (mut socket, _) = {
        let mut request =
            tokio_tungstenite::tungstenite::client::IntoClientRequest::into_client_request(
                format!("ws://127.0.0.1:{port}/graphql"),
            )
            .unwrap();
        request.headers_mut().insert(
            "Sec-WebSocket-Protocol",
            "graphql-transport-ws".parse().unwrap(),
        );
        tokio_tungstenite::connect_async(request).await.unwrap()
    };
    socket
        .send(Message::Text(
            json!({"type": "connection_init"}).to_string(),
        ))
        .await
        .unwrap();
    for id in 1..=12 {
        socket.send(Message::Text(json!({"id": id.to_string(), "type": "subscribe", "payload": {"query": REGISTER, "variables": {"id": id}}}).to_string())).await.unwrap();
    }
    let (pushes_tx, mut pushes) = tokio::sync::mpsc::unbounded_channel::<(u32, Value, Instant)>();
    tokio::spawn(async move {
        while let Some(Ok(message)) = socket.next().await {
            if let Message::Text(text) = message {
                let v: Value = serde_json::from_str(&text).unwrap();
                if v["type"] == "next" {
                    let id: u32 = v["id"].as_str().unwrap().parse().unwrap();
                    let _ = pushes_tx.send((
                        id,
                        v["payload"]["data"]["registerTerminal"].clone(),
                        Instant::now(),
                    ));
                }
            }
        }
    });

    let client = reqwest::Client::new();
    let scan =
        "mutation($t: Float!, $n: String!) { scanNfcForTerminal(terminalId: $t, nfcId: $n) }";
    let mut latencies = Vec::new();
    let mut k = 0;
    while latencies.len() < 1000 {
        let tag = format!("ball-{k}");
        k += 1;
        let run_id = app.create_run("https://example.org/", &tag).await.unwrap();
        trace(&app, &run_id).await;
        app.scan_nfc_for_terminal(1, &tag).await.unwrap();
        for _ in 0..12 {
            let run: packet_run_domain::Run = app.store.load(&run_id).await.unwrap();
            let Some(next) = run
                .available_hops()
                .find(|h| {
                    matches!(
                        h.hop_type,
                        packet_run_domain::HopType::Recommended
                            | packet_run_domain::HopType::Wormhole
                    )
                })
                .map(|h| h.terminal)
            else {
                break;
            };
            while pushes.try_recv().is_ok() {}
            let mut early: HashMap<u32, Instant> = HashMap::new();
            let answer: Value = client
                .post(format!("http://127.0.0.1:{port}/graphql"))
                .json(&json!({"query": scan, "variables": {"t": next, "n": tag}}))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            let answered = Instant::now();
            assert!(answer.get("errors").is_none(), "{answer}");
            // The push showing the run at the scanned terminal (it may even arrive first).
            let pushed = loop {
                while let Ok((id, terminal, at)) = pushes.try_recv() {
                    if id == next
                        && terminal["run"]["id"] == run_id.as_str()
                        && terminal["status"] == "SCANNING_NFC"
                    {
                        early.insert(id, at);
                    }
                }
                if let Some(at) = early.get(&next) {
                    break *at;
                }
                let (id, terminal, at) =
                    tokio::time::timeout(Duration::from_secs(5), pushes.recv())
                        .await
                        .expect("a push within 5 s")
                        .unwrap();
                if id == next
                    && terminal["run"]["id"] == run_id.as_str()
                    && terminal["status"] == "SCANNING_NFC"
                {
                    break at;
                }
            };
            latencies.push(pushed.saturating_duration_since(answered).as_secs_f64() * 1000.0);
            if next == run.server {
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
    latencies.sort_by(f64::total_cmp);
    println!(
        "scan response → registerTerminal push over {} scans: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms (0 = the push arrived first)",
        latencies.len(),
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.99),
        latencies.last().unwrap()
    );

    let sampler = tokio::spawn(async {
        let mut peak = 0;
        for _ in 0..40 {
            peak = peak.max(rss_kib());
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        peak
    });
    let load = tokio::task::spawn_blocking(move || {
        wrk(
            port,
            DASHBOARD,
            "dashboard (terminals, full allTerminals selection)",
        );
        wrk(
            port,
            "{ terminal(id: 1) { id type } }",
            "terminal(id:1){id type}",
        );
    });
    load.await.unwrap();
    println!("RSS peak under load: {} MiB", sampler.await.unwrap() / 1024);
    service.stop().await;
}
