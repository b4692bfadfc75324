//! `GET /healthz` (the process answers) and `GET /readyz` (it can do its work).

use crate::app::App;
use actix_web::{web, HttpResponse};
use serde_json::json;
use std::sync::Arc;

pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({"status": "ok"}))
}

/// Where the job queue lives, for the readiness check.
pub struct QueueUrl(pub String);

/// Redis answers PING within a second.
async fn queue_state(url: &str) -> serde_json::Value {
    let ping = async {
        let client = redis::Client::open(url).map_err(|e| e.to_string())?;
        let mut connection = client
            .get_multiplexed_async_connection()
            .await
            .map_err(|e| e.to_string())?;
        redis::cmd("PING")
            .query_async::<String>(&mut connection)
            .await
            .map_err(|e| e.to_string())
    };
    match tokio::time::timeout(std::time::Duration::from_secs(1), ping).await {
        Ok(Ok(_)) => json!({"ready": true}),
        Ok(Err(e)) => json!({"ready": false, "error": format!("Redis at {url}: {e}")}),
        Err(_) => {
            json!({"ready": false, "error": format!("Redis at {url} did not answer within 1 s")})
        }
    }
}

pub async fn readyz(app: web::Data<Arc<App>>, queue: web::Data<QueueUrl>) -> HttpResponse {
    let db = app.database();
    let database = match db.ping().await {
        Ok(()) => json!({"ready": true}),
        Err(e) => json!({"ready": false, "error": e.to_string()}),
    };
    let projections = match (app.store.projector(), db.head().await) {
        (Some(projector), Ok(head)) => {
            let at = projector.position();
            let failure = projector.failure();
            json!({"ready": at >= head && failure.is_none(), "position": at.to_string(), "head": head.to_string(), "error": failure})
        }
        (_, Err(e)) => json!({"ready": false, "error": e.to_string()}),
        (None, _) => json!({"ready": false, "error": "no projector runs in this process"}),
    };
    let queue = queue_state(&queue.0).await;
    let ready = database["ready"] == true && projections["ready"] == true && queue["ready"] == true;
    let body =
        json!({"ready": ready, "database": database, "projections": projections, "queue": queue});
    if ready {
        HttpResponse::Ok().json(body)
    } else {
        HttpResponse::ServiceUnavailable().json(body)
    }
}
