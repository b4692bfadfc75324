//! Job measurements, all on loopback (and the lab network for the take-over):
//! - the queue: enqueue rate, and processing rate with 10 consumers doing nothing;
//! - a screenshot of a local page on a warm browser against a browser launched per job, with
//!   the RSS of this process (the worker's part) and of chromium;
//! - how soon a job is taken over after its `packet-run worker` process is SIGKILLed.
//!
//!     cargo bench --bench workers

use packet_run::queue::{JobKind, NewJob, Queue};
use packet_run::resolver::TargetResolver;
use packet_run::screenshots::{Camera, FilteringProxy};
use packet_run::targets::TargetPolicy;
use serde_json::json;
use std::path::Path;
use std::time::{Duration, Instant};

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches(" kB").trim().parse().ok())
        .unwrap_or(0)
}

/// The summed RSS of every process whose command line mentions `marker`.
fn rss_of_processes_mentioning(marker: &str) -> (usize, u64) {
    let mut count = 0;
    let mut total = 0;
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        if String::from_utf8_lossy(&cmdline).contains(marker) {
            count += 1;
            total += rss_kib(pid);
        }
    }
    (count, total)
}

fn redis_url() -> String {
    std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

async fn queue_rates() {
    let prefix = format!("packet-run-bench-{}", uuid::Uuid::new_v4().simple());
    let queue = Queue::connect(&redis_url(), &prefix).await.expect("Redis");
    let n = 5_000;
    let jobs: Vec<NewJob> = (0..n)
        .map(|k| NewJob {
            id: format!("job-{k}"),
            kind: JobKind::Metadata,
            data: json!({ "ip": format!("198.51.100.{}", k % 250) }),
        })
        .collect();
    let started = Instant::now();
    for chunk in jobs.chunks(100) {
        queue.enqueue(chunk).await.unwrap();
    }
    let enqueue = started.elapsed();
    let started = Instant::now();
    let mut consumers = Vec::new();
    for c in 0..10 {
        let queue = queue.clone();
        consumers.push(tokio::spawn(async move {
            let mut reader = queue.reader().await.unwrap();
            let mut done = 0;
            while let Some(next) = queue
                .next(
                    &mut reader,
                    JobKind::Metadata,
                    &format!("bench-{c}"),
                    Duration::from_millis(100),
                )
                .await
                .unwrap()
            {
                if let Ok(job) = next {
                    queue.complete(&job).await.unwrap();
                    done += 1;
                }
            }
            done
        }));
    }
    let mut processed = 0;
    for c in consumers {
        processed += c.await.unwrap();
    }
    let process = started.elapsed();
    println!(
        "queue: enqueued {n} jobs in {:.2} s = {:.0} jobs/s; 10 consumers took and completed {processed} in {:.2} s = {:.0} jobs/s (each a claim check, a read, a start and a completion)",
        enqueue.as_secs_f64(),
        n as f64 / enqueue.as_secs_f64(),
        process.as_secs_f64(),
        processed as f64 / process.as_secs_f64()
    );
}

async fn page_server() -> String {
    use actix_web::{web, HttpResponse};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    let server = actix_web::HttpServer::new(|| {
        actix_web::App::new().default_service(web::to(|| async {
            HttpResponse::Ok().content_type("text/html").body(
                "<body style='background:#1d3557;color:#f1faee;font:48px sans-serif'>\
                 <h1>Packet Run</h1><p>a page of moderate size</p>\
                 <div style='width:600px;height:300px;background:#e63946'></div></body>",
            )
        }))
    })
    .listen(listener)
    .unwrap()
    .disable_signals()
    .run();
    tokio::spawn(server);
    format!("http://{address}/")
}

async fn camera(profiles: &Path) -> Camera {
    let resolver = TargetResolver::new(
        Some("127.0.0.1:9".parse().unwrap()),
        TargetPolicy::from_allowlist("127.0.0.0/8").unwrap(),
    )
    .unwrap();
    let proxy = FilteringProxy::start(resolver).await.unwrap();
    let chrome = std::env::var("CHROME_PATH").unwrap_or_else(|_| "/usr/bin/chromium".into());
    Camera::new(chrome.into(), profiles.to_path_buf(), proxy)
}

async fn screenshots() {
    let page = page_server().await;
    let dir = tempfile::tempdir().unwrap();
    let profiles = dir.path().join("chromium");
    let idle = Duration::from_secs(15);
    let rounds = 10;

    let warm = camera(&profiles).await;
    warm.capture(&page, idle).await.expect("chromium works"); // the launch, not counted
    let mut times = Vec::new();
    for _ in 0..rounds {
        let started = Instant::now();
        let shot = warm.capture(&page, idle).await.unwrap();
        assert!(!shot.png.is_empty());
        times.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    let (chromium_processes, chromium_kib) =
        rss_of_processes_mentioning(&profiles.display().to_string());
    let own = rss_kib(std::process::id());
    drop(warm);
    tokio::time::sleep(Duration::from_millis(500)).await;

    let mut cold = Vec::new();
    for _ in 0..rounds {
        let started = Instant::now();
        let camera = camera(&profiles).await;
        camera.capture(&page, idle).await.unwrap();
        drop(camera);
        cold.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(|a, b| a.partial_cmp(b).unwrap());
        v[v.len() / 2]
    };
    println!(
        "screenshot of a local page, median of {rounds}: warm browser {:.0} ms, browser launched per job {:.0} ms",
        median(&mut times),
        median(&mut cold)
    );
    println!(
        "RSS after the warm screenshots: this process (worker side: queue, proxy, CDP client) {} MiB; chromium {} MiB over {chromium_processes} processes",
        own / 1024,
        chromium_kib / 1024
    );
}

/// A real `packet-run worker` takes a long screenshot job, is SIGKILLed, and a second worker
/// takes it over: the time from the kill to the second start.
async fn take_over() {
    use actix_web::{web, HttpResponse};
    use packet_run::configuration::{Settings, WorkerSettings};
    use packet_run::startup::Application;
    // A page that never goes quiet keeps the job running.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    let server = actix_web::HttpServer::new(|| {
        actix_web::App::new()
            .route(
                "/hang",
                web::get().to(|| async {
                    tokio::time::sleep(Duration::from_secs(300)).await;
                    HttpResponse::Ok().finish()
                }),
            )
            .default_service(web::to(|| async {
                HttpResponse::Ok()
                    .content_type("text/html")
                    .body("<script>for (let k = 0; k < 4; k++) fetch('/hang?' + k);</script>busy")
            }))
    })
    .listen(listener)
    .unwrap()
    .disable_signals()
    .run();
    tokio::spawn(server);

    let dir = tempfile::tempdir().unwrap();
    let prefix = format!("packet-run-bench-{}", uuid::Uuid::new_v4().simple());
    let settings = Settings {
        database_url: format!("sqlite://{}", dir.path().join("bench.db").display()),
        installation_file: Path::new(env!("CARGO_MANIFEST_DIR")).join("installation.toml"),
        host: "127.0.0.1".parse().unwrap(),
        port: 0,
        data_dir: dir.path().join("data"),
        ping_interval: Duration::from_secs(10),
        redis_url: redis_url(),
        targets: TargetPolicy::from_allowlist("127.0.0.0/8").unwrap(),
        workers: WorkerSettings {
            in_process: false,
            queue_prefix: prefix.clone(),
            ..Default::default()
        },
    };
    let service = Application::build(&settings, None).await.unwrap();
    let worker = |settings: &Settings| {
        std::process::Command::new(env!("CARGO_BIN_EXE_packet-run"))
            .arg("worker")
            .env("DATABASE_URL", &settings.database_url)
            .env("DATA_DIR", &settings.data_dir)
            .env("REDIS_URL", &settings.redis_url)
            .env("QUEUE_PREFIX", &prefix)
            .env("TARGET_ALLOWLIST", "127.0.0.0/8")
            .env("DNS_SERVER", "127.0.0.1:9")
            .env("IPREGISTRY_BASE_URL", "http://127.0.0.1:9")
            .env("SCREENSHOT_TIMEOUT", "120")
            .env("RUST_LOG", "error")
            .spawn()
            .unwrap()
    };
    let mut first = worker(&settings);
    let run = service
        .app
        .create_run(&format!("http://{address}/busy"), "tag-bench")
        .await
        .unwrap();
    let queue = Queue::connect(&settings.redis_url, &prefix).await.unwrap();
    let job =
        loop {
            let found =
                queue.list(100).await.unwrap().into_iter().find(|j| {
                    j.name == "screenshot" && j.status == "active" && j.data.contains(&run)
                });
            if let Some(job) = found {
                break job;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
    tokio::time::sleep(Duration::from_secs(2)).await;
    let worker_kib = rss_kib(first.id());
    let killed = Instant::now();
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(first.id() as i32),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    first.wait().unwrap();
    let mut second = worker(&settings);
    loop {
        let now = queue.job(&job.id).await.unwrap().unwrap();
        if now.attempts >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let taken_over = killed.elapsed();
    let _ = second.kill();
    let _ = second.wait();
    let _ = std::process::Command::new("pkill")
        .args([
            "-KILL",
            "-f",
            &settings.data_dir.join("chromium").display().to_string(),
        ])
        .status();
    println!(
        "take-over: a screenshot job whose worker was SIGKILLed ran again on another worker {:.1} s after the kill (lease {} s); the worker's RSS while screenshotting: {} MiB",
        taken_over.as_secs_f64(),
        packet_run::queue::LEASE.as_secs(),
        worker_kib / 1024
    );
    service.stop().await;
}

#[tokio::main]
async fn main() {
    let only: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let wants = |name: &str| only.is_empty() || only.iter().any(|o| o == name);
    if wants("queue") {
        queue_rates().await;
    }
    if wants("screenshots") {
        screenshots().await;
    }
    if wants("take-over") {
        take_over().await;
    }
}
