//! Visitors type URLs; they must not reach our network. A page in the lab network (allowed
//! by TARGET_ALLOWLIST) points an image, frames, a fetch, a WebSocket and two redirects at a
//! second server on loopback: the screenshot must leave that server without a single
//! connection.

mod common;

use common::lab::Lab;
use common::{screenshot_ended, spawn_app_with_workers, wait_for_run};
use packet_run::targets::TargetPolicy;
use packet_run_domain::RunEvent;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A server on loopback that counts every connection it gets.
async fn bystander() -> (u16, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else {
                continue;
            };
            counter.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                let _ = socket.read(&mut buf).await;
                let _ = socket
                    .write_all(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 7\r\n\r\nreached")
                    .await;
            });
        }
    });
    (port, hits)
}

#[tokio::test]
async fn a_lab_page_cannot_make_the_browser_reach_loopback() {
    let Some(lab) = Lab::require("a_lab_page_cannot_make_the_browser_reach_loopback") else {
        return;
    };
    let (port, hits) = bystander().await;
    let name = format!("ssrf-{}", uuid::Uuid::new_v4().simple());
    let page = format!(
        r#"<!doctype html><html><body style="background:#457b9d"><h1>lab page</h1>
<img src="http://127.0.0.1:{port}/image.png">
<iframe src="http://127.0.0.1:{port}/frame"></iframe>
<iframe src="http://localhost:{port}/frame-by-name"></iframe>
<script>
fetch('http://127.0.0.1:{port}/fetch', {{mode: 'no-cors'}}).catch(() => {{}});
try {{ new WebSocket('ws://127.0.0.1:{port}/socket'); }} catch (e) {{}}
setTimeout(() => {{ location.href = 'http://127.0.0.1:{port}/redirect'; }}, 300);
</script></body></html>"#
    );
    let refresh = format!(
        r#"<!doctype html><html><head><meta http-equiv="refresh" content="0;url=http://127.0.0.1:{port}/refresh"></head><body>moving</body></html>"#
    );
    let www = lab.www();
    std::fs::write(www.join(format!("{name}.html")), page).unwrap();
    std::fs::write(www.join(format!("{name}-refresh.html")), refresh).unwrap();

    let allow = lab.allowlist();
    let app = spawn_app_with_workers(|s| {
        s.targets = TargetPolicy::from_allowlist(&allow).unwrap();
        s.workers.screenshot_timeout = Duration::from_secs(3);
    })
    .await;
    let target = lab.target("ok");
    let mut runs = Vec::new();
    for (k, file) in [format!("{name}.html"), format!("{name}-refresh.html")]
        .iter()
        .enumerate()
    {
        let url = format!("http://{target}/{file}");
        runs.push(
            app.app()
                .create_run(&url, &format!("tag-ssrf-{k}"))
                .await
                .unwrap(),
        );
    }
    for run in &runs {
        let events = wait_for_run(&app, run, Duration::from_secs(60), screenshot_ended).await;
        assert!(
            events
                .iter()
                .any(|e| matches!(e, RunEvent::ScreenshotTaken { .. })),
            "the lab page itself is allowed and captured: {events:?}"
        );
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let _ = std::fs::remove_file(www.join(format!("{name}.html")));
    let _ = std::fs::remove_file(www.join(format!("{name}-refresh.html")));
    assert_eq!(
        hits.load(Ordering::SeqCst),
        0,
        "the loopback server was reached"
    );
}

/// Counts connections to 127.0.0.2:443 (free on loopback; the test runs as root like CI).
async fn https_bystander() -> Option<Arc<AtomicUsize>> {
    let listener = tokio::net::TcpListener::bind("127.0.0.2:443").await.ok()?;
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            counter.fetch_add(1, Ordering::SeqCst);
            drop(socket);
        }
    });
    Some(hits)
}

#[tokio::test]
async fn validate_host_refuses_a_name_that_resolves_into_our_network_without_connecting() {
    let Some(hits) = https_bystander().await else {
        common::lab::skipped(
            "validate_host_refuses_a_name_that_resolves_into_our_network_without_connecting",
            "127.0.0.2:443 cannot be bound (needs root)",
        );
        return;
    };
    let dns =
        common::dns::LoopbackDns::start(&[("sneaky.packetrun.test", "127.0.0.2".parse().unwrap())])
            .await;
    let ask = "mutation { validateHost(host: \"sneaky.packetrun.test\") }";

    let app = spawn_app_with_workers(|s| {
        s.workers.in_process = false;
        s.workers.dns_server = Some(dns.address);
    })
    .await;
    let answer = app.graphql(ask, serde_json::json!({})).await;
    assert_eq!(answer["data"]["validateHost"], false, "{answer}");
    let literal = app
        .graphql(
            "mutation { validateHost(host: \"127.0.0.2\") }",
            serde_json::json!({}),
        )
        .await;
    assert_eq!(literal["data"]["validateHost"], false, "{literal}");
    assert_eq!(
        hits.load(Ordering::SeqCst),
        0,
        "nothing connected to the refused address"
    );

    // The same question where loopback is allowed does connect: the check above is what
    // kept it away.
    let allowed = spawn_app_with_workers(|s| {
        s.workers.in_process = false;
        s.workers.dns_server = Some(dns.address);
        s.targets = TargetPolicy::from_allowlist("127.0.0.0/8").unwrap();
    })
    .await;
    allowed.graphql(ask, serde_json::json!({})).await;
    assert!(hits.load(Ordering::SeqCst) >= 1);
}
