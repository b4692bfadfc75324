//! Jobs survive their workers and the queue: a worker process killed mid-job, and Redis
//! down while runs are created.

mod common;

use actix_web::{web, HttpResponse};
use common::lab::Lab;
use common::{run_events, screenshot_ended, spawn_app_with_workers, trace_ended, wait_for_run};
use packet_run::queue::Queue;
use packet_run::targets::TargetPolicy;
use packet_run_domain::RunEvent;
use std::collections::BTreeMap;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A worker process, killed when the test ends however it ends.
struct WorkerProcess(Child);

impl WorkerProcess {
    fn id(&self) -> u32 {
        self.0.id()
    }

    fn wait(&mut self) -> std::io::Result<std::process::ExitStatus> {
        self.0.wait()
    }

    fn kill(&mut self) -> std::io::Result<()> {
        self.0.kill()
    }
}

impl Drop for WorkerProcess {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A `packet-run worker` process on the test's database and queue.
fn worker(app: &common::TestApp, allowlist: &str) -> WorkerProcess {
    let child = Command::new(env!("CARGO_BIN_EXE_packet-run"))
        .arg("worker")
        .env("DATABASE_URL", &app.settings.database_url)
        .env("INSTALLATION_FILE", &app.settings.installation_file)
        .env("DATA_DIR", &app.settings.data_dir)
        .env("REDIS_URL", &app.settings.redis_url)
        .env("QUEUE_PREFIX", &app.settings.workers.queue_prefix)
        .env("TARGET_ALLOWLIST", allowlist)
        // Names are never resolved here, and nothing is looked up outside the machine.
        .env("DNS_SERVER", "127.0.0.1:9")
        .env("IPREGISTRY_BASE_URL", "http://127.0.0.1:9")
        .env("IPREGISTRY_API_KEY", "")
        .env("SCREENSHOT_CONCURRENCY", "1")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .spawn()
        .expect("start packet-run worker");
    WorkerProcess(child)
}

fn hop_counts(events: &[RunEvent]) -> BTreeMap<u32, usize> {
    let mut counts = BTreeMap::new();
    for e in events {
        if let RunEvent::TracerouteHopRecorded { hop, .. } = e {
            *counts.entry(*hop).or_insert(0) += 1;
        }
    }
    counts
}

#[tokio::test]
async fn a_worker_killed_mid_trace_is_replaced_and_the_run_gets_each_hop_once() {
    let Some(lab) =
        Lab::require("a_worker_killed_mid_trace_is_replaced_and_the_run_gets_each_hop_once")
    else {
        return;
    };
    let allow = lab.allowlist();
    // The service without workers: they are separate processes here.
    let app = spawn_app_with_workers(|s| {
        s.workers.in_process = false;
        s.targets = TargetPolicy::from_allowlist(&allow).unwrap();
    })
    .await;
    let mut first = worker(&app, &allow);
    // A blackhole trace runs two full rounds: time to be killed in the middle.
    let run = app
        .app()
        .create_run(
            &format!("http://{}/", lab.target("blackhole")),
            "tag-durable",
        )
        .await
        .unwrap();
    // Kill the worker as soon as it has recorded its first hop.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let events = run_events(&app, &run).await;
        if !hop_counts(&events).is_empty() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the first worker recorded nothing"
        );
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(first.id() as i32),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    first.wait().unwrap();
    let recorded_before = hop_counts(&run_events(&app, &run).await).len();

    let mut second = worker(&app, &allow);
    // The lease (15 s) runs out, the second worker takes the job over and finishes it.
    let events = wait_for_run(&app, &run, Duration::from_secs(60), trace_ended).await;
    let _ = second.kill();
    let _ = second.wait();
    let _ = Command::new("pkill")
        .args([
            "-KILL",
            "-f",
            &app.settings.data_dir.join("chromium").display().to_string(),
        ])
        .status();

    let counts = hop_counts(&events);
    assert!(
        counts.values().all(|n| *n == 1),
        "each hop once: {counts:?}"
    );
    // Routers 1 to 7 (TTL t is hop t + 1); the 8th swallows everything bound for the black hole.
    assert_eq!(
        counts.keys().copied().collect::<Vec<_>>(),
        (2..=8).collect::<Vec<u32>>(),
        "{counts:?}"
    );
    assert!(
        recorded_before >= 1,
        "the first worker had recorded hops when it died"
    );
    let queue = Queue::connect(&app.settings.redis_url, &app.settings.workers.queue_prefix)
        .await
        .unwrap();
    let created = app.db().events_of("Run", &run).await.unwrap()[0]
        .position
        .position;
    let job = queue
        .job(&format!("{created}-traceroute"))
        .await
        .unwrap()
        .expect("the run's trace job");
    assert_eq!(job.status, "completed");
    assert_eq!(
        job.attempts, 2,
        "the killed attempt and the one that took over"
    );
}

/// A Redis server of this test's own, which it can stop and start.
struct PrivateRedis {
    port: u16,
    child: Option<Child>,
}

impl PrivateRedis {
    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    fn start(&mut self) {
        let child = Command::new("redis-server")
            .args([
                "--port",
                &self.port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .stdout(Stdio::null())
            .spawn()
            .expect("redis-server (scripts/ensure-redis installs it)");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(Instant::now() < deadline, "redis-server did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for PrivateRedis {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

async fn page_server() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    let server = actix_web::HttpServer::new(|| {
        actix_web::App::new().default_service(web::to(|| async {
            HttpResponse::Ok().content_type("text/html").body(
                "<body style='background:#264653'><h1 style='color:#e9c46a'>durable</h1></body>",
            )
        }))
    })
    .listen(listener)
    .unwrap()
    .disable_signals()
    .run();
    tokio::spawn(server);
    format!("http://{address}")
}

#[tokio::test]
async fn runs_created_while_redis_is_down_get_each_job_once_when_it_is_back() {
    let pages = page_server().await;
    let mut redis = PrivateRedis {
        port: free_port(),
        child: None,
    };
    let url = redis.url();
    let app = spawn_app_with_workers(|s| {
        s.redis_url = url.clone();
        s.targets = TargetPolicy::from_allowlist("127.0.0.0/8").unwrap();
    })
    .await;
    let ready = reqwest::get(format!("http://{}/readyz", app.address()))
        .await
        .unwrap();
    assert_eq!(ready.status(), 503);
    let body: serde_json::Value = ready.json().await.unwrap();
    assert_eq!(body["queue"]["ready"], false);
    assert_eq!(body["database"]["ready"], true);

    let mut runs = Vec::new();
    for k in 0..3 {
        runs.push(
            app.app()
                .create_run(&format!("{pages}/page-{k}"), &format!("tag-down-{k}"))
                .await
                .expect("GraphQL keeps serving without the queue"),
        );
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    for run in &runs {
        assert!(
            !trace_ended(&run_events(&app, run).await),
            "nothing ran yet"
        );
    }

    redis.start();
    for run in &runs {
        let events = wait_for_run(&app, run, Duration::from_secs(90), |e| {
            trace_ended(e) && screenshot_ended(e)
        })
        .await;
        let count = |f: fn(&RunEvent) -> bool| events.iter().filter(|e| f(e)).count();
        assert_eq!(
            count(|e| matches!(e, RunEvent::DestinationResolved { .. })),
            1
        );
        assert_eq!(
            count(|e| matches!(e, RunEvent::TracerouteFinished { .. })),
            1
        );
        assert_eq!(count(|e| matches!(e, RunEvent::ScreenshotTaken { .. })), 1);
        assert!(hop_counts(&events).values().all(|n| *n == 1));
    }
    let queue = Queue::connect(&url, &app.settings.workers.queue_prefix)
        .await
        .unwrap();
    // Every traceroute and screenshot job was enqueued once and ran once.
    let positions = app
        .db()
        .events_after(Default::default(), 10_000)
        .await
        .unwrap();
    for event in positions.iter().filter(|e| e.event_type == "RunCreated") {
        for kind in ["traceroute", "screenshot"] {
            let id = format!("{}-{kind}", event.position.position);
            let job = queue
                .job(&id)
                .await
                .unwrap()
                .unwrap_or_else(|| panic!("job {id}"));
            assert_eq!(
                (job.status.as_str(), job.attempts),
                ("completed", 1),
                "{id}"
            );
        }
    }
    let _ = Command::new("pkill")
        .args([
            "-KILL",
            "-f",
            &app.settings.data_dir.join("chromium").display().to_string(),
        ])
        .status();
}
