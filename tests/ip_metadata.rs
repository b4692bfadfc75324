//! IP metadata against a small local server that speaks IPRegistry's format.

mod common;
use actix_web::{web, HttpResponse};
use common::*;
use packet_run::ip_metadata::{IpRegistry, Metadata, MetadataError, MetadataSettings};
use packet_run_domain::AddressCommand;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

type Hits = Arc<Mutex<HashMap<String, usize>>>;

fn google() -> Value {
    json!({
        "ip": "8.8.8.8", "type": "IPv4", "hostname": "dns.google",
        "carrier": {"name": null, "mcc": null, "mnc": null},
        "company": {"domain": "google.com", "name": "Google LLC", "type": "business"},
        "connection": {"asn": 15169, "domain": "google.com", "organization": "Google LLC", "route": "8.8.8.0/24", "type": "business"},
        "currency": {"code": "USD", "name": "US Dollar", "format": {"negative": {"prefix": "-$", "suffix": ""}, "positive": {"prefix": "$", "suffix": ""}}},
        "location": {"continent": {"code": "NA", "name": "North America"},
                     "country": {"area": 9629091.0, "code": "US", "name": "United States", "tld": ".us", "flag": {"emoji": "🇺🇸"}, "languages": [{"code": "en", "name": "English", "native": "English"}]},
                     "region": {"code": "US-CA", "name": "California"}, "city": "Mountain View", "latitude": 37.386, "longitude": -122.0838,
                     "language": {"code": "en", "name": "English", "native": "English"}, "in_eu": false},
        "security": {"is_abuser": false, "is_attacker": false, "is_bogon": false, "is_cloud_provider": false, "is_proxy": false,
                     "is_relay": false, "is_tor": false, "is_tor_exit": false, "is_vpn": false, "is_anonymous": false, "is_threat": false},
        "time_zone": {"id": "America/Los_Angeles", "abbreviation": "PST", "current_time": "2026-12-04T04:00:00-08:00", "name": "Pacific Standard Time", "offset": -28800, "in_daylight_saving": false}
    })
}

/// 8.8.8.8 answers; 1.1.1.1 is rate limited once; 9.9.9.9 always fails; 4.4.4.4 is refused.
async fn stand_in(hits: Hits) -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    let server = actix_web::HttpServer::new(move || {
        let hits = hits.clone();
        actix_web::App::new().route(
            "/{ip}",
            web::get().to(move |ip: web::Path<String>, query: web::Query<HashMap<String, String>>| {
                let hits = hits.clone();
                async move {
                    if query.get("key").map(String::as_str) != Some("test-key") {
                        return HttpResponse::Forbidden().json(json!({"code": "INVALID_API_KEY"}));
                    }
                    let n = {
                        let mut hits = hits.lock().unwrap();
                        let n = hits.entry(ip.to_string()).or_insert(0);
                        *n += 1;
                        *n
                    };
                    match ip.as_str() {
                        "8.8.8.8" => HttpResponse::Ok().json(google()),
                        "1.1.1.1" if n == 1 => HttpResponse::TooManyRequests().finish(),
                        "1.1.1.1" => HttpResponse::Ok().json(json!({"ip": "1.1.1.1", "type": "IPv4", "company": {"name": "Cloudflare"}})),
                        "9.9.9.9" => HttpResponse::InternalServerError().finish(),
                        _ => HttpResponse::Forbidden().json(json!({"code": "FORBIDDEN_IP"})),
                    }
                }
            }),
        )
    })
    .listen(listener)
    .unwrap()
    .workers(1)
    .disable_signals()
    .run();
    tokio::spawn(server);
    format!("http://{address}")
}

fn settings(base_url: String, key: Option<&str>) -> MetadataSettings {
    MetadataSettings {
        base_url,
        api_key: key.map(str::to_string),
        default_location: json!({"city": "Eindhoven", "latitude": 51.44, "longitude": 5.47, "country": {"name": "Netherlands", "code": "NL"}}),
        default_company: "Packet Run venue".into(),
        cache_ttl: Duration::from_secs(600),
        cache_capacity: 100,
    }
}

fn ip(text: &str) -> IpAddr {
    text.parse().unwrap()
}

#[tokio::test]
async fn lookups_are_recorded_cached_retried_and_internal_addresses_get_the_venue() {
    let hits: Hits = Arc::default();
    let base = stand_in(hits.clone()).await;
    let registry = IpRegistry::new(settings(base.clone(), Some("test-key")))
        .with_backoff(Duration::from_millis(20));
    let count = |ip: &str| hits.lock().unwrap().get(ip).copied().unwrap_or(0);

    let Metadata::Found(info) = registry.lookup(ip("8.8.8.8")).await.unwrap() else {
        panic!("found")
    };
    assert_eq!(info, google(), "the whole answer is kept");
    assert_eq!(
        registry.lookup(ip("8.8.8.8")).await.unwrap(),
        Metadata::Found(google())
    );
    assert_eq!(count("8.8.8.8"), 1, "looked up once within the TTL");

    let Metadata::Found(info) = registry.lookup(ip("1.1.1.1")).await.unwrap() else {
        panic!("found after a 429")
    };
    assert_eq!(info["company"]["name"], "Cloudflare");
    assert_eq!(count("1.1.1.1"), 2, "429 then 200");

    let failed = registry.lookup(ip("9.9.9.9")).await.unwrap_err();
    assert_eq!(
        failed,
        MetadataError::GaveUp {
            ip: ip("9.9.9.9"),
            status: 500,
            attempts: 3
        }
    );
    assert_eq!(count("9.9.9.9"), 3);
    assert!(matches!(
        registry.lookup(ip("4.4.4.4")).await,
        Err(MetadataError::Refused { status: 403, .. })
    ));

    let Metadata::Internal(venue) = registry.lookup(ip("192.168.1.1")).await.unwrap() else {
        panic!("internal")
    };
    assert_eq!(
        venue["company"],
        json!({"name": "Packet Run venue", "domain": null, "type": "business"})
    );
    assert_eq!(venue["type"], "IPv4");
    assert_eq!(venue["location"]["city"], "Eindhoven");
    assert_eq!(
        count("192.168.1.1"),
        0,
        "internal addresses are never sent out"
    );

    // Without a key: nothing is looked up and nothing fails.
    let keyless = IpRegistry::new(settings(base, None));
    assert_eq!(
        keyless.lookup(ip("8.8.4.4")).await.unwrap(),
        Metadata::NoKey
    );
    assert_eq!(count("8.8.4.4"), 0);
}

#[tokio::test]
async fn recorded_metadata_reaches_the_screens_in_ipinfo_shape() {
    let hits: Hits = Arc::default();
    let registry = IpRegistry::new(settings(stand_in(hits).await, Some("test-key")));
    let t = spawn_app().await;
    let Metadata::Found(info) = registry.lookup(ip("8.8.8.8")).await.unwrap() else {
        panic!("found")
    };
    let committed = t
        .app()
        .address_command(
            "8.8.8.8",
            AddressCommand::RecordMetadata {
                ip: "8.8.8.8".into(),
                info,
                internal: false,
                at: chrono::Utc::now(),
            },
        )
        .await
        .unwrap();
    t.app().settle(committed.position).await;
    let Metadata::Internal(venue) = registry.lookup(ip("10.0.0.2")).await.unwrap() else {
        panic!("internal")
    };
    let committed = t
        .app()
        .address_command(
            "10.0.0.2",
            AddressCommand::RecordMetadata {
                ip: "10.0.0.2".into(),
                info: venue,
                internal: true,
                at: chrono::Utc::now(),
            },
        )
        .await
        .unwrap();
    t.app().settle(committed.position).await;

    let run_id = t
        .app()
        .create_run("https://example.org/", "m")
        .await
        .unwrap();
    let now = chrono::Utc::now();
    t.app()
        .run_command(
            &run_id,
            packet_run_domain::RunCommand::RecordOrigin {
                address: "10.0.0.2".into(),
                at: now,
            },
        )
        .await
        .unwrap();
    let c = t
        .app()
        .run_command(
            &run_id,
            packet_run_domain::RunCommand::RecordDestination {
                address: "8.8.8.8".into(),
                at: now,
            },
        )
        .await
        .unwrap();
    t.app().settle(c.position).await;
    let answer = t
        .graphql(
            "query($id: String!) { run(id: $id) {
                destination { ip isInternalIP info { type hostname company { name domain type } connection { asn }
                    location { city latitude country { name flag { emoji } languages { native } } in_eu }
                    security { is_threat } time_zone { offset in_daylight_saving } currency { format { negative { prefix } } } } }
                origin { ip isInternalIP info { company { name type } location { city } } } } }",
            json!({"id": run_id}),
        )
        .await;
    assert!(answer.get("errors").is_none(), "{answer}");
    let run = &answer["data"]["run"];
    let destination = &run["destination"]["info"];
    assert_eq!(destination["company"]["name"], "Google LLC");
    assert_eq!(destination["connection"]["asn"], 15169.0);
    assert_eq!(destination["location"]["country"]["flag"]["emoji"], "🇺🇸");
    assert_eq!(destination["location"]["in_eu"], false);
    assert_eq!(destination["time_zone"]["offset"], -28800.0);
    assert_eq!(
        destination["currency"]["format"]["negative"]["prefix"],
        "-$"
    );
    assert_eq!(run["destination"]["isInternalIP"], false);
    assert_eq!(run["origin"]["isInternalIP"], true);
    assert_eq!(
        run["origin"]["info"]["company"],
        json!({"name": "Packet Run venue", "type": "business"})
    );
    t.application.stop().await;
}

// ---- The metadata worker: jobs from the queue, results as address events ----

use packet_run::queue::{JobKind, NewJob, Queue};

async fn queue_of(app: &TestApp) -> Queue {
    Queue::connect(&app.settings.redis_url, &app.settings.workers.queue_prefix)
        .await
        .unwrap()
}

fn metadata_job(id: &str, ip: &str) -> NewJob {
    NewJob {
        id: id.into(),
        kind: JobKind::Metadata,
        data: json!({ "ip": ip }),
    }
}

/// Waits until every job has ended (completed or failed) and returns their states.
async fn ended(queue: &Queue, ids: &[&str]) -> Vec<String> {
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let mut states = Vec::new();
        for id in ids {
            states.push(
                queue
                    .job(id)
                    .await
                    .unwrap()
                    .map(|j| j.status)
                    .unwrap_or_default(),
            );
        }
        if states.iter().all(|s| s == "completed" || s == "failed") {
            return states;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "jobs still running: {states:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn the_metadata_worker_records_owners_retries_rate_limits_and_asks_once_per_address() {
    let hits: Hits = Arc::default();
    let base = stand_in(hits.clone()).await;
    let app = spawn_app_with_workers(|s| {
        s.workers.metadata.base_url = base.clone();
        s.workers.metadata.api_key = Some("test-key".into());
    })
    .await;
    let queue = queue_of(&app).await;
    queue
        .enqueue(&[
            metadata_job("m-google", "8.8.8.8"),
            metadata_job("m-cloudflare", "1.1.1.1"),
            metadata_job("m-venue", "10.1.2.3"),
            metadata_job("m-refused", "4.4.4.4"),
        ])
        .await
        .unwrap();
    let states = ended(
        &queue,
        &["m-google", "m-cloudflare", "m-venue", "m-refused"],
    )
    .await;
    assert_eq!(
        states,
        vec!["completed"; 4],
        "an answer that retrying cannot change is no job failure"
    );

    let google_info = app.app().load_address("8.8.8.8").await.unwrap();
    assert_eq!(google_info.info, Some(google()));
    let cloudflare = app.app().load_address("1.1.1.1").await.unwrap();
    assert_eq!(cloudflare.info.unwrap()["company"]["name"], "Cloudflare");
    let venue = app.app().load_address("10.1.2.3").await.unwrap();
    assert!(venue.internal);
    assert_eq!(venue.info.unwrap()["company"]["type"], "business");
    let refused = app.app().load_address("4.4.4.4").await.unwrap();
    assert_eq!(refused.info, None);
    assert_eq!(
        hits.lock().unwrap().get("1.1.1.1"),
        Some(&2),
        "429 then 200"
    );
    assert_eq!(
        hits.lock().unwrap().get("10.1.2.3"),
        None,
        "venue addresses are not looked up"
    );

    // The same address queued again (seen on another run) costs no second lookup.
    queue
        .enqueue(&[metadata_job("m-google-again", "8.8.8.8")])
        .await
        .unwrap();
    assert_eq!(ended(&queue, &["m-google-again"]).await, vec!["completed"]);
    assert_eq!(hits.lock().unwrap().get("8.8.8.8"), Some(&1));

    // The planner queues a lookup for every address a trace finds: one recorded by hand here.
    let run = app
        .app()
        .create_run("https://nowhere.packetrun.test/", "tag-meta")
        .await
        .unwrap();
    app.app()
        .run_command(
            &run,
            packet_run_domain::RunCommand::RecordTracerouteHop {
                hop: 2,
                address: Some("9.9.9.9".into()),
                at: chrono::Utc::now(),
            },
        )
        .await
        .unwrap();
    // 9.9.9.9 always answers 500: three attempts with back-off, then the failure is recorded.
    let deadline = std::time::Instant::now() + Duration::from_secs(40);
    loop {
        let failed = queue.list(100).await.unwrap().into_iter().find(|j| {
            j.name == "ip-metadata" && j.data.contains("9.9.9.9") && j.status == "failed"
        });
        if let Some(job) = failed {
            assert_eq!(job.attempts, 3);
            assert!(job.failed_reason.unwrap().contains("HTTP 500"));
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the 9.9.9.9 job never failed for good"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let events = app.db().events_of("Address", "9.9.9.9").await.unwrap();
    assert!(events.iter().any(|e| e.event_type == "MetadataFailed"));
}

#[tokio::test]
async fn without_a_key_nothing_is_looked_up_and_no_job_fails() {
    let hits: Hits = Arc::default();
    let base = stand_in(hits.clone()).await;
    let app = spawn_app_with_workers(|s| {
        s.workers.metadata.base_url = base.clone();
        s.workers.metadata.api_key = None;
    })
    .await;
    let queue = queue_of(&app).await;
    queue
        .enqueue(&[
            metadata_job("n-public", "8.8.8.8"),
            metadata_job("n-venue", "192.168.5.5"),
        ])
        .await
        .unwrap();
    assert_eq!(
        ended(&queue, &["n-public", "n-venue"]).await,
        vec!["completed"; 2]
    );
    assert!(hits.lock().unwrap().is_empty(), "no request without a key");
    assert_eq!(app.app().load_address("8.8.8.8").await.unwrap().info, None);
    let venue = app.app().load_address("192.168.5.5").await.unwrap();
    assert!(venue.internal, "the venue's own addresses need no key");
}
