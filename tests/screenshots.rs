//! The screenshot worker against pages this test serves on loopback, with real chromium.

mod common;

use actix_web::{web, HttpResponse};
use common::{screenshot_ended, spawn_app_with_workers, wait_for_run, TestApp};
use packet_run::queue::Queue;
use packet_run::targets::TargetPolicy;
use packet_run_domain::RunEvent;
use std::time::{Duration, Instant};

const IDLE_TIMEOUT: Duration = Duration::from_secs(3);

const PAGE: &str = r#"<!doctype html><html><body style="margin:0;background:#1a4d8f">
<h1 style="color:#ffd23f;font:bold 120px sans-serif;margin:100px">Packet Run</h1>
<div style="position:absolute;right:0;bottom:0;width:400px;height:300px;background:#e63946"></div>
</body></html>"#;

/// Four requests that never finish keep the page from ever going quiet.
const BUSY: &str = r#"<!doctype html><html><body style="background:#2a9d8f"><h1>busy</h1>
<script>for (let k = 0; k < 4; k++) fetch('/hang?' + k);</script></body></html>"#;

async fn pages() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    let server = actix_web::HttpServer::new(|| {
        actix_web::App::new()
            .route(
                "/page",
                web::get().to(|| async { HttpResponse::Ok().content_type("text/html").body(PAGE) }),
            )
            .route(
                "/busy",
                web::get().to(|| async { HttpResponse::Ok().content_type("text/html").body(BUSY) }),
            )
            .route(
                "/hang",
                web::get().to(|| async {
                    tokio::time::sleep(Duration::from_secs(120)).await;
                    HttpResponse::Ok().finish()
                }),
            )
            .route(
                "/error",
                web::get().to(|| async {
                    HttpResponse::InternalServerError()
                        .content_type("text/html")
                        .body(
                            "<h1 style='font-size:80px;color:#b00'>500 Internal Server Error</h1>",
                        )
                }),
            )
    })
    .listen(listener)
    .unwrap()
    .disable_signals()
    .run();
    tokio::spawn(server);
    format!("http://{address}")
}

async fn app() -> TestApp {
    spawn_app_with_workers(|s| {
        // The pages are on loopback, which visitors may not reach: allowed for this test only.
        s.targets = TargetPolicy::from_allowlist("127.0.0.0/8").unwrap();
        s.workers.screenshot_timeout = IDLE_TIMEOUT;
    })
    .await
}

fn taken(events: &[RunEvent]) -> Option<(String, bool)> {
    events.iter().find_map(|e| match e {
        RunEvent::ScreenshotTaken {
            image_path,
            partial,
            ..
        } => Some((image_path.clone(), *partial)),
        _ => None,
    })
}

fn failed(events: &[RunEvent]) -> Option<String> {
    events.iter().find_map(|e| match e {
        RunEvent::ScreenshotFailed { reason, .. } => Some(reason.clone()),
        _ => None,
    })
}

/// The image's size and how many distinct colours it has.
fn inspect(app: &TestApp, image_path: &str) -> (u32, u32, usize) {
    let file = app.settings.data_dir.join(image_path);
    let decoder = png::Decoder::new(std::fs::File::open(&file).unwrap());
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).unwrap();
    let step = info.color_type.samples();
    let colours: std::collections::HashSet<&[u8]> =
        buf[..info.buffer_size()].chunks(step).collect();
    (info.width, info.height, colours.len())
}

#[tokio::test]
async fn a_normal_page_is_captured_at_the_screens_size() {
    let pages = pages().await;
    let app = app().await;
    let run = app
        .app()
        .create_run(&format!("{pages}/page"), "tag-page")
        .await
        .unwrap();
    let events = wait_for_run(&app, &run, Duration::from_secs(60), screenshot_ended).await;
    let (image_path, partial) = taken(&events).unwrap_or_else(|| panic!("{:?}", failed(&events)));
    assert_eq!(image_path, format!("images/{run}.png"));
    assert!(!partial, "the page went quiet in time");
    let (width, height, colours) = inspect(&app, &image_path);
    assert_eq!((width, height), (1856, 992));
    assert!(colours >= 3, "not blank: {colours} colours");
    // Served to the screens under /images/.
    let served = reqwest::get(format!("http://{}/{image_path}", app.address()))
        .await
        .unwrap();
    assert_eq!(served.status(), 200);
    assert_eq!(
        served.bytes().await.unwrap().len() as u64,
        std::fs::metadata(app.settings.data_dir.join(&image_path))
            .unwrap()
            .len()
    );
    // No temporary file is left beside it.
    let leftovers: Vec<_> = std::fs::read_dir(app.settings.data_dir.join("images"))
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty());
}

#[tokio::test]
async fn a_page_that_never_goes_quiet_is_captured_partially_within_the_bound() {
    let pages = pages().await;
    let app = app().await;
    let started = Instant::now();
    let run = app
        .app()
        .create_run(&format!("{pages}/busy"), "tag-busy")
        .await
        .unwrap();
    let events = wait_for_run(&app, &run, Duration::from_secs(60), screenshot_ended).await;
    let (image_path, partial) = taken(&events).unwrap_or_else(|| panic!("{:?}", failed(&events)));
    assert!(partial, "marked partial");
    assert_eq!(inspect(&app, &image_path).0, 1856);
    // The idle time-out, the 10 s capture bound and chromium's start-up, at most.
    assert!(
        started.elapsed() < IDLE_TIMEOUT + Duration::from_secs(10 + 30),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_server_error_page_is_captured_and_a_refused_port_fails_with_the_reason() {
    let pages = pages().await;
    let app = app().await;
    let error_run = app
        .app()
        .create_run(&format!("{pages}/error"), "tag-500")
        .await
        .unwrap();
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let refused_run = app
        .app()
        .create_run(&format!("http://127.0.0.1:{closed}/"), "tag-refused")
        .await
        .unwrap();
    let events = wait_for_run(&app, &error_run, Duration::from_secs(60), screenshot_ended).await;
    let (image_path, _) = taken(&events).expect("the error page is what the site shows");
    assert!(inspect(&app, &image_path).2 >= 2);
    let events = wait_for_run(
        &app,
        &refused_run,
        Duration::from_secs(30),
        screenshot_ended,
    )
    .await;
    let reason = failed(&events).expect("a refused port fails");
    assert!(reason.contains("refused"), "{reason}");
    assert!(taken(&events).is_none());
}

#[tokio::test]
async fn killing_chromium_mid_job_fails_that_attempt_and_the_next_job_gets_a_new_browser() {
    let pages = pages().await;
    let app = app().await;
    let queue = Queue::connect(&app.settings.redis_url, &app.settings.workers.queue_prefix)
        .await
        .unwrap();
    // A warm browser first.
    let first = app
        .app()
        .create_run(&format!("{pages}/page"), "tag-warm")
        .await
        .unwrap();
    let events = wait_for_run(&app, &first, Duration::from_secs(60), screenshot_ended).await;
    assert!(taken(&events).is_some());

    let busy = app
        .app()
        .create_run(&format!("{pages}/busy"), "tag-killed")
        .await
        .unwrap();
    let job_id =
        loop {
            let active =
                queue.list(100).await.unwrap().into_iter().find(|j| {
                    j.name == "screenshot" && j.status == "active" && j.data.contains(&busy)
                });
            if let Some(job) = active {
                break job.id;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
    tokio::time::sleep(Duration::from_millis(800)).await;
    let profiles = app.settings.data_dir.join("chromium");
    let killed = std::process::Command::new("pkill")
        .args(["-KILL", "-f", &profiles.display().to_string()])
        .status()
        .unwrap();
    assert!(killed.success(), "a chromium of this test was running");

    // That attempt fails; the retry and the next run are served by a relaunched browser.
    let next = app
        .app()
        .create_run(&format!("{pages}/page"), "tag-after")
        .await
        .unwrap();
    let events = wait_for_run(&app, &next, Duration::from_secs(60), screenshot_ended).await;
    assert!(taken(&events).is_some(), "{:?}", failed(&events));
    let deadline = Instant::now() + Duration::from_secs(30);
    let job = loop {
        let job = queue.job(&job_id).await.unwrap().unwrap();
        if job.attempts >= 2 || Instant::now() > deadline {
            break job;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(job.attempts >= 2, "the killed attempt was retried: {job:?}");
    assert!(
        job.failed_reason.is_some(),
        "the killed attempt's reason is kept: {job:?}"
    );
    let events = wait_for_run(&app, &busy, Duration::from_secs(60), screenshot_ended).await;
    assert!(
        taken(&events).is_some(),
        "the retried job succeeded: {:?}",
        failed(&events)
    );
}

#[tokio::test]
async fn a_browser_left_by_a_killed_worker_is_stopped_at_the_next_launch() {
    let pages = pages().await;
    let app = app().await;
    // What a worker killed outright leaves: a profile folder named after its (dead) process
    // and a process still using it (a stand-in for its chromium).
    let mut gone = std::process::Command::new("true").spawn().unwrap();
    let dead_pid = gone.id();
    gone.wait().unwrap();
    let folder = app
        .settings
        .data_dir
        .join("chromium")
        .join(format!("profile-{dead_pid}-leftover"));
    std::fs::create_dir_all(&folder).unwrap();
    std::fs::write(folder.join("marker"), "").unwrap();
    let mut orphan = std::process::Command::new("tail")
        .arg("-f")
        .arg(folder.join("marker"))
        .spawn()
        .unwrap();

    let run = app
        .app()
        .create_run(&format!("{pages}/page"), "tag-sweep")
        .await
        .unwrap();
    let events = wait_for_run(&app, &run, Duration::from_secs(60), screenshot_ended).await;
    assert!(taken(&events).is_some(), "{:?}", failed(&events));
    let deadline = Instant::now() + Duration::from_secs(5);
    while orphan.try_wait().unwrap().is_none() {
        assert!(
            Instant::now() < deadline,
            "the left-over process still runs"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(!folder.exists(), "its profile folder is removed");
}
