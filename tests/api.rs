//! End to end over real HTTP and real WebSockets: every operation the screens send, with the
//! exact selections of clients.md, and the pushes that follow each mutation.

mod common;
use common::ws::WsClient;
use common::*;
use futures::SinkExt;
use serde_json::{json, Value};
use std::time::Duration;

const ADDRESS: &str = "ip isInAltNetwork isInternalIP info { type hostname carrier { name } company { domain name type } location { city latitude longitude country { name area tld code flag { emoji } } } }";

fn hop() -> String {
    format!("id type mayPerformTransformation hop status address {{ {ADDRESS} }} terminal {{ id type }}")
}

fn register_terminal() -> String {
    format!(
        "subscription($id: Float!) {{ registerTerminal(id: $id) {{
            id type status payload createdAt updatedAt
            connectionsTo {{ slot to {{ id status type }} }}
            run {{ id nfcId url imagePath packetType currentHopIndex createdAt updatedAt
                  destination {{ {ADDRESS} }} origin {{ {ADDRESS} }}
                  availableHops {{ {hop} terminal {{ id status type }} mayPerformTransformation }}
                  currentHop {{ {hop} }} hops {{ {hop} }} }} }} }}",
        hop = hop()
    )
}

const ALL_TERMINALS: &str = "subscription { allTerminals {
    id type status payload createdAt updatedAt connectionsTo { slot to { id } }
    presences { id ip websocketId connectedAt lastSeenAt }
    run { id nfcId url currentHopIndex createdAt updatedAt destination { ip info { company { name } } }
          availableHops { id hop mayPerformTransformation address { ip } terminal { id } }
          currentHop { address { ip } }
          hops { id hop status type address { ip } terminal { id } } } } }";

const JOBS: &str = "subscription { jobs { name id attemptsMade processedOn finishedOn timestamp data failedReason stacktrace status } }";

fn no_errors(answer: &Value) -> &Value {
    assert!(
        answer.get("errors").is_none(),
        "unexpected errors: {answer}"
    );
    &answer["data"]
}

#[tokio::test]
async fn queries_and_mutations_of_the_screens_validate_and_answer() {
    let t = spawn_app().await;
    let data = t
        .graphql(
            "query($terminalId: Float!) { terminal(id: $terminalId) { id type } }",
            json!({"terminalId": 9}),
        )
        .await;
    assert_eq!(
        no_errors(&data)["terminal"],
        json!({"id": 9.0, "type": "SERVER"})
    );

    let created = t
        .graphql(
            "mutation($url: String!, $nfcId: String!) { createRun(url: $url, nfcId: $nfcId) { id nfcId url createdAt updatedAt imagePath } }",
            json!({"url": "https://example.org/", "nfcId": "ball-1"}),
        )
        .await;
    let run = no_errors(&created)["createRun"].clone();
    assert_eq!(run["nfcId"], "ball-1");
    assert_eq!(run["imagePath"], Value::Null);
    assert_eq!(run["id"].as_str().unwrap().len(), 12);
    let run_id = run["id"].as_str().unwrap().to_string();
    trace(t.app(), &run_id).await;

    let scan = "mutation($terminalId: Float!, $nfcId: String!) { scanNfcForTerminal(terminalId: $terminalId, nfcId: $nfcId) }";
    for terminal in [1, 2] {
        assert_eq!(
            no_errors(
                &t.graphql(scan, json!({"terminalId": terminal, "nfcId": "ball-1"}))
                    .await
            )["scanNfcForTerminal"],
            true
        );
    }
    let create = "mutation($terminalId: Float!, $isPacketCreated: Boolean!) { createReturnPacketForTerminal(terminalId: $terminalId, isPacketCreated: $isPacketCreated) }";
    let refused = t
        .graphql(create, json!({"terminalId": 2, "isPacketCreated": false}))
        .await;
    assert_eq!(refused["errors"][0]["extensions"]["code"], "INVALID_STATE");
    assert_eq!(
        refused["errors"][0]["message"],
        "terminal 2 is a GATEWAY; only SENDER and SERVER terminals create packets"
    );
    let idle = "mutation($terminalId: Float!) { setTerminalToIdle(terminalId: $terminalId) }";
    assert_eq!(
        no_errors(&t.graphql(idle, json!({"terminalId": 2})).await)["setTerminalToIdle"],
        true
    );
    let validate = "mutation($host: String!) { validateHost(host: $host) }";
    assert_eq!(
        no_errors(
            &t.graphql(validate, json!({"host": "www.0000114.com"}))
                .await
        )["validateHost"],
        false
    );

    let data = t.graphql(&format!("query($id: String!) {{ run(id: $id) {{ id url tracerouteHops {{ hop address {{ ip }} }} hops {{ {} }} origin {{ ip }} destination {{ ip }} server {{ id }} }} }}", hop()), json!({"id": run_id})).await;
    let run = &no_errors(&data)["run"];
    assert_eq!(run["origin"]["ip"], ORIGIN);
    assert_eq!(run["destination"]["ip"], DESTINATION);
    let traced: Vec<f64> = run["tracerouteHops"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["hop"].as_f64().unwrap())
        .collect();
    assert!(
        !traced.contains(&7.0),
        "a silent router is left out of tracerouteHops: {traced:?}"
    );
    assert_eq!(traced.len(), 11);

    let errors = t.graphql("{ terminal(id: 1.5) { id } }", json!({})).await;
    assert_eq!(errors["errors"][0]["extensions"]["code"], "BAD_INPUT");
    let errors = t.graphql("{ run(id: \"nope\") { id } }", json!({})).await;
    assert_eq!(errors["errors"][0]["extensions"]["code"], "NOT_FOUND");
    t.application.stop().await;
}

async fn subscriptions_push_after_mutations(modern: bool) {
    let t = spawn_app().await;
    let run_id = t
        .app()
        .create_run("https://example.org/", "ball")
        .await
        .unwrap();
    trace(t.app(), &run_id).await;

    let mut screen = WsClient::connect(&t.address(), modern).await;
    screen.init().await;
    screen
        .subscribe("screen", &register_terminal(), json!({"id": 2}))
        .await;
    let (id, first) = screen.next_result().await;
    assert_eq!(id, "screen");
    assert!(first.get("errors").is_none(), "{first}");
    assert_eq!(first["data"]["registerTerminal"]["status"], "IDLE");
    assert_eq!(first["data"]["registerTerminal"]["run"], Value::Null);

    let mut dashboard = WsClient::connect(&t.address(), modern).await;
    dashboard.init().await;
    dashboard.subscribe("all", ALL_TERMINALS, json!({})).await;
    dashboard.subscribe("jobs", JOBS, json!({})).await;
    let mut got_jobs = false;
    let mut got_all = false;
    while !(got_jobs && got_all) {
        let (id, payload) = dashboard.next_result().await;
        assert!(payload.get("errors").is_none(), "{payload}");
        match id.as_str() {
            "jobs" => {
                assert!(payload["data"]["jobs"].is_array());
                got_jobs = true;
            }
            "all" => {
                assert_eq!(
                    payload["data"]["allTerminals"].as_array().unwrap().len(),
                    12
                );
                got_all = true;
            }
            other => panic!("unexpected subscription {other}"),
        }
    }

    // The packet arrives at the gateway: its screen is pushed the run with the offered hops.
    t.app().scan_nfc_for_terminal(1, "ball").await.unwrap();
    t.app().scan_nfc_for_terminal(2, "ball").await.unwrap();
    let terminal = loop {
        let (_, payload) = screen.next_result().await;
        let terminal = payload["data"]["registerTerminal"].clone();
        if terminal["status"] == "SCANNING_NFC" {
            break terminal;
        }
    };
    assert_eq!(terminal["run"]["id"], run_id.as_str());
    assert_eq!(terminal["run"]["currentHop"]["terminal"]["id"], 2.0);
    let offered: Vec<(f64, String)> = terminal["run"]["availableHops"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            (
                h["terminal"]["id"].as_f64().unwrap(),
                h["type"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        offered,
        vec![(6.0, "RECOMMENDED".into()), (12.0, "PREVIOUS".into())]
    );

    // The dashboard sees the packet at the gateway too.
    loop {
        let (id, payload) = dashboard.next_result().await;
        if id != "all" {
            continue;
        }
        let gateway = payload["data"]["allTerminals"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["id"] == 2.0)
            .unwrap()
            .clone();
        if gateway["run"]["id"] == run_id.as_str() {
            assert_eq!(gateway["run"]["currentHop"]["address"]["ip"], GATEWAY_IP);
            break;
        }
    }

    // Set idle by hand: pushed again.
    t.app().set_terminal_to_idle(2).await.unwrap();
    loop {
        let (_, payload) = screen.next_result().await;
        if payload["data"]["registerTerminal"]["status"] == "IDLE" {
            assert_eq!(payload["data"]["registerTerminal"]["run"], Value::Null);
            break;
        }
    }
    t.application.stop().await;
}

#[tokio::test]
async fn subscriptions_push_after_mutations_over_graphql_transport_ws() {
    subscriptions_push_after_mutations(true).await;
}

#[tokio::test]
async fn subscriptions_push_after_mutations_over_legacy_graphql_ws() {
    subscriptions_push_after_mutations(false).await;
}

async fn presences(t: &TestApp, terminal: u32) -> Vec<Value> {
    let data = t.graphql("query($id: Float!) { terminal(id: $id) { presences { id ip websocketId connectedAt lastSeenAt } } }", json!({"id": terminal})).await;
    no_errors(&data)["terminal"]["presences"]
        .as_array()
        .unwrap()
        .clone()
}

async fn until<F: std::future::Future<Output = bool>>(mut check: impl FnMut() -> F, what: &str) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while tokio::time::Instant::now() < deadline {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("timed out waiting until {what}");
}

#[tokio::test]
async fn a_screen_is_present_while_its_socket_answers_pings() {
    let t = spawn_app().await;
    let mut screen = WsClient::connect(&t.address(), true).await;
    screen.init().await;
    screen
        .subscribe("s", &register_terminal(), json!({"id": 4}))
        .await;
    screen.next_result().await;
    let present = presences(&t, 4).await;
    assert_eq!(present.len(), 1);
    assert_eq!(present[0]["ip"], "127.0.0.1");
    assert_eq!(present[0]["websocketId"], screen.key.as_str());
    let connected_at = present[0]["connectedAt"].as_str().unwrap().to_string();

    // Pongs (answered while the client reads) refresh lastSeenAt.
    screen.read_for(Duration::from_millis(1500)).await;
    let seen = presences(&t, 4).await;
    assert!(
        seen[0]["lastSeenAt"].as_str().unwrap() > connected_at.as_str(),
        "{seen:?}"
    );

    // A socket that stops answering pings is closed and its presence removed.
    tokio::time::sleep(Duration::from_millis(1600)).await;
    until(
        || async { presences(&t, 4).await.is_empty() },
        "the silent screen's presence is gone",
    )
    .await;
    assert_eq!(screen.close_code(Duration::from_secs(2)).await, Some(1001));

    // A screen that closes normally is gone too, and the server echoes its close.
    let mut other = WsClient::connect(&t.address(), false).await;
    other.init().await;
    other
        .subscribe("s", &register_terminal(), json!({"id": 5}))
        .await;
    other.next_result().await;
    assert_eq!(presences(&t, 5).await.len(), 1);
    other.socket.close(None).await.unwrap();
    until(
        || async { presences(&t, 5).await.is_empty() },
        "the closed screen's presence is gone",
    )
    .await;
    t.application.stop().await;
}

#[tokio::test]
async fn graphql_transport_ws_rules_are_enforced_with_their_close_codes() {
    let t = spawn_app().await;
    let q = "subscription { jobs { status } }";

    let mut c = WsClient::connect(&t.address(), true).await;
    c.subscribe("1", q, json!({})).await;
    assert_eq!(
        c.close_code(Duration::from_secs(3)).await,
        Some(4401),
        "subscribe before the ack"
    );

    let mut c = WsClient::connect(&t.address(), true).await;
    c.init().await;
    c.send(json!({"type": "connection_init"})).await;
    assert_eq!(
        c.close_code(Duration::from_secs(3)).await,
        Some(4429),
        "a second connection_init"
    );

    let mut c = WsClient::connect(&t.address(), true).await;
    c.init().await;
    c.subscribe("dup", q, json!({})).await;
    c.subscribe("dup", q, json!({})).await;
    assert_eq!(
        c.close_code(Duration::from_secs(3)).await,
        Some(4409),
        "a duplicate subscription id"
    );

    let mut c = WsClient::connect(&t.address(), true).await;
    c.socket
        .send(tokio_tungstenite::tungstenite::Message::Text(
            "not json".into(),
        ))
        .await
        .unwrap();
    assert_eq!(
        c.close_code(Duration::from_secs(3)).await,
        Some(4400),
        "a malformed message"
    );

    let mut c = WsClient::connect(&t.address(), true).await;
    assert_eq!(
        c.close_code(Duration::from_secs(6)).await,
        Some(4408),
        "no connection_init in time"
    );

    let mut c = WsClient::connect(&t.address(), true).await;
    c.init().await;
    c.send(json!({"type": "ping"})).await;
    assert_eq!(
        c.next_json(Duration::from_secs(3)).await.unwrap()["type"],
        "pong"
    );

    // A validation error answers `error`, and the id can be used again afterwards.
    c.subscribe("bad", "subscription { noSuchField }", json!({}))
        .await;
    let answer = c.next_json(Duration::from_secs(3)).await.unwrap();
    assert_eq!(answer["type"], "error", "{answer}");
    c.subscribe("bad", q, json!({})).await;
    assert_eq!(c.next_result().await.0, "bad");

    // Shutting down closes open sockets with 1012, at once.
    let stopping = tokio::spawn(async move { c.close_code(Duration::from_secs(5)).await });
    t.application.stop().await;
    assert_eq!(stopping.await.unwrap(), Some(1012));
}

#[tokio::test]
async fn the_event_stream_resumes_without_gap_or_duplicate() {
    let t = spawn_app().await;
    let query = "subscription($after: Float) { events(afterPosition: $after) { position aggregateType type } }";
    let mut seen: Vec<f64> = Vec::new();
    let mut after: Option<f64> = None;
    // Events keep being appended while the consumer connects, reads a while, drops, resumes.
    let app = t.application.app.clone();
    let writer = tokio::spawn(async move {
        for k in 0..40 {
            app.create_run("https://example.org/", &format!("t{k}"))
                .await
                .unwrap();
            tokio::time::sleep(Duration::from_millis(15)).await;
        }
    });
    for _ in 0..3 {
        let mut c = WsClient::connect(&t.address(), true).await;
        c.init().await;
        c.subscribe("e", query, json!({"after": after})).await;
        for _ in 0..12 {
            let (_, payload) = c.next_result().await;
            let position = payload["data"]["events"]["position"].as_f64().unwrap();
            seen.push(position);
            after = Some(position);
        }
        drop(c); // abrupt disconnect
    }
    writer.await.unwrap();
    let mut c = WsClient::connect(&t.address(), true).await;
    c.init().await;
    c.subscribe("e", query, json!({"after": after})).await;
    let total = t.event_count().await as usize;
    while seen.len() < total {
        let (_, payload) = c.next_result().await;
        seen.push(payload["data"]["events"]["position"].as_f64().unwrap());
    }
    let expected: Vec<f64> = (1..=total).map(|p| p as f64).collect();
    assert_eq!(seen, expected, "every event exactly once, in order");
    t.application.stop().await;
}

#[tokio::test]
async fn oversized_and_overdeep_requests_get_clear_errors() {
    let t = spawn_app().await;
    let client = reqwest::Client::new();
    let huge = json!({"query": format!("{{ terminals {{ id }} }} # {}", "x".repeat(300 * 1024))});
    let response = client
        .post(format!("http://{}/graphql", t.address()))
        .json(&huge)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 413);

    let response = client
        .post(format!("http://{}/graphql", t.address()))
        .body("{not json")
        .header("content-type", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["errors"][0]["extensions"]["code"], "BAD_INPUT");

    let mut deep = String::from("id");
    for _ in 0..12 {
        deep = format!("id connectionsTo {{ to {{ {deep} }} }}");
    }
    let answer = t
        .graphql(&format!("{{ terminals {{ {deep} }} }}"), json!({}))
        .await;
    assert!(
        answer["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("nested too deep"),
        "{answer}"
    );

    // A WebSocket message over the limit closes the socket.
    let mut c = WsClient::connect(&t.address(), true).await;
    c.init().await;
    c.subscribe(
        "big",
        &format!(
            "subscription {{ jobs {{ status }} }} # {}",
            "x".repeat(100 * 1024)
        ),
        json!({}),
    )
    .await;
    let code = c.close_code(Duration::from_secs(3)).await;
    assert!(matches!(code, Some(1002) | Some(1009)), "{code:?}");
    t.application.stop().await;
}

#[tokio::test]
async fn readiness_reports_database_projections_and_queue_each_with_its_state() {
    let mut t = spawn_app().await;
    let client = reqwest::Client::new();
    let health = client
        .get(format!("http://{}/healthz", t.address()))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    let ready = client
        .get(format!("http://{}/readyz", t.address()))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), 200, "{:?}", ready.text().await);

    // With nothing listening at the queue's address the service still serves, but is not ready.
    t.settings.redis_url = format!(
        "redis://127.0.0.1:{}",
        std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port()
    );
    let t = t.restart().await;
    let answer = t.graphql("{ terminal(id: 1) { id } }", json!({})).await;
    assert!(answer.get("errors").is_none());
    let ready = client
        .get(format!("http://{}/readyz", t.address()))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), 503);
    let body: Value = ready.json().await.unwrap();
    assert_eq!(body["database"]["ready"], true);
    assert_eq!(body["projections"]["ready"], true);
    assert_eq!(body["queue"]["ready"], false);
    assert!(
        body["queue"]["error"]
            .as_str()
            .unwrap()
            .contains("Redis at redis://127.0.0.1:"),
        "{body}"
    );
    t.application.stop().await;
}

#[tokio::test]
async fn the_ide_images_and_cors_are_served_from_here() {
    let t = spawn_app().await;
    let client = reqwest::Client::new();
    let base = format!("http://{}", t.address());

    let page = client
        .get(format!("{base}/graphql"))
        .header("accept", "text/html")
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(
        html.contains("/graphiql/graphiql.min.js") && !html.contains("https://"),
        "assets come from this server"
    );
    for asset in [
        "graphiql.min.js",
        "graphiql.min.css",
        "react.production.min.js",
        "react-dom.production.min.js",
    ] {
        let r = client
            .get(format!("{base}/graphiql/{asset}"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{asset}");
        assert!(r.bytes().await.unwrap().len() > 5_000, "{asset}");
    }
    assert_eq!(
        client
            .get(format!("{base}/graphiql/other.js"))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );

    let png = [0x89u8, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a, 1, 2, 3];
    std::fs::write(
        t.settings.data_dir.join("images").join("Run123abc.png"),
        png,
    )
    .unwrap();
    let image = client
        .get(format!("{base}/images/Run123abc.png"))
        .send()
        .await
        .unwrap();
    assert_eq!(image.status(), 200);
    assert_eq!(image.headers()["content-type"], "image/png");
    assert_eq!(image.bytes().await.unwrap().as_ref(), png);
    for bad in [
        "..%2Fpacket-run.db",
        "..%2F..%2Fetc%2Fpasswd",
        ".hidden.png",
        "missing.png",
        "Run123abc.txt",
    ] {
        assert_eq!(
            client
                .get(format!("{base}/images/{bad}"))
                .send()
                .await
                .unwrap()
                .status(),
            404,
            "{bad}"
        );
    }

    let preflight = client
        .request(reqwest::Method::OPTIONS, format!("{base}/graphql"))
        .header("origin", "http://screen-4.local")
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", "content-type")
        .send()
        .await
        .unwrap();
    assert!(preflight.status().is_success());
    assert_eq!(
        preflight.headers()["access-control-allow-origin"],
        "http://screen-4.local"
    );
    assert_eq!(
        preflight.headers()["access-control-allow-credentials"],
        "true"
    );
    t.application.stop().await;
}

#[tokio::test]
async fn run_updated_pushes_each_change_of_the_run() {
    let t = spawn_app().await;
    let run_id = t
        .app()
        .create_run("https://example.org/", "r")
        .await
        .unwrap();
    let mut c = WsClient::connect(&t.address(), true).await;
    c.init().await;
    c.subscribe(
        "r",
        "subscription($id: String!) { runUpdated(id: $id) { id imagePath isTracerouteFinished } }",
        json!({"id": run_id}),
    )
    .await;
    let (_, first) = c.next_result().await;
    assert_eq!(first["data"]["runUpdated"]["imagePath"], Value::Null);
    let command = packet_run_domain::RunCommand::RecordScreenshot {
        image_path: format!("images/{run_id}.png"),
        partial: false,
        at: chrono::Utc::now(),
    };
    t.app().run_command(&run_id, command).await.unwrap();
    let (_, pushed) = c.next_result().await;
    assert_eq!(
        pushed["data"]["runUpdated"]["imagePath"],
        format!("images/{run_id}.png")
    );
    c.subscribe(
        "none",
        "subscription { runUpdated(id: \"nope\") { id } }",
        json!({}),
    )
    .await;
    let refused = c.next_json(Duration::from_secs(3)).await.unwrap();
    assert_eq!(
        refused["payload"]["errors"][0]["extensions"]["code"], "NOT_FOUND",
        "{refused}"
    );
    t.application.stop().await;
}

#[tokio::test]
async fn legacy_clients_get_keep_alives() {
    let t = spawn_app().await;
    let mut c = WsClient::connect(&t.address(), false).await;
    c.init().await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    let mut keep_alive = false;
    while !keep_alive && tokio::time::Instant::now() < deadline {
        use futures::StreamExt;
        if let Ok(Some(Ok(tokio_tungstenite::tungstenite::Message::Text(text)))) =
            tokio::time::timeout_at(deadline, c.socket.next()).await
        {
            keep_alive = serde_json::from_str::<Value>(&text).unwrap()["type"] == "ka";
        }
    }
    assert!(keep_alive, "a ka message within 5 s");
    t.application.stop().await;
}

#[tokio::test]
async fn runs_page_newest_first_and_run_events_tell_a_runs_history() {
    let t = spawn_app().await;
    let mut ids = Vec::new();
    for k in 0..5 {
        ids.push(
            t.app()
                .create_run(&format!("https://site{k}.example/"), &format!("t{k}"))
                .await
                .unwrap(),
        );
    }
    trace(t.app(), &ids[4]).await;
    let page = "query($after: String) { runs(first: 2, after: $after) { edges { cursor node { id } } pageInfo { hasNextPage } } }";
    let mut seen = Vec::new();
    let mut after = Value::Null;
    loop {
        let answer = t.graphql(page, json!({"after": after})).await;
        let runs = &no_errors(&answer)["runs"];
        for edge in runs["edges"].as_array().unwrap() {
            seen.push(edge["node"]["id"].as_str().unwrap().to_string());
            after = edge["cursor"].clone();
        }
        if runs["pageInfo"]["hasNextPage"] != true {
            break;
        }
    }
    let newest_first: Vec<String> = ids.iter().rev().cloned().collect();
    assert_eq!(seen, newest_first);
    let bad = t
        .graphql("{ runs(first: 1000) { edges { cursor } } }", json!({}))
        .await;
    assert_eq!(bad["errors"][0]["extensions"]["code"], "BAD_INPUT");

    let history = t
        .graphql(
            "query($id: String!) { runEvents(runId: $id) { position type version time payload } }",
            json!({"id": ids[4]}),
        )
        .await;
    let events = no_errors(&history)["runEvents"].as_array().unwrap().clone();
    let types: Vec<&str> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(
        types[..3],
        ["RunCreated", "OriginRecorded", "DestinationResolved"]
    );
    assert_eq!(*types.last().unwrap(), "TracerouteFinished");
    assert!(events
        .iter()
        .all(|e| e["version"] == "1" && e["time"].is_string()));
    assert_eq!(
        events[0]["payload"]["RunCreated"]["url"],
        "https://site4.example/"
    );
    let positions: Vec<f64> = events
        .iter()
        .map(|e| e["position"].as_f64().unwrap())
        .collect();
    assert!(positions.windows(2).all(|w| w[0] < w[1]));
    let missing = t
        .graphql("{ runEvents(runId: \"nope\") { type } }", json!({}))
        .await;
    assert_eq!(missing["errors"][0]["extensions"]["code"], "NOT_FOUND");
    t.application.stop().await;
}
