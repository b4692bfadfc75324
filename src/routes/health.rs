//! `GET /healthz` (the process answers) and `GET /readyz` (it can do its work).

use crate::app::App;
use actix_web::{web, HttpResponse};
use serde_json::json;
use std::sync::Arc;

pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({"status": "ok"}))
}

pub async fn readyz(app: web::Data<Arc<App>>) -> HttpResponse {
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
    let ready = database["ready"] == true && projections["ready"] == true;
    let body = json!({"ready": ready, "database": database, "projections": projections});
    if ready {
        HttpResponse::Ok().json(body)
    } else {
        HttpResponse::ServiceUnavailable().json(body)
    }
}
