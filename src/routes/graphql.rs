//! `POST /graphql` (GraphQL over HTTP) and `GET /graphql` (the IDE for browsers, or the
//! subscription socket).

use super::websocket::{self, SocketState};
use crate::graphql::PacketRunSchema;
use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::json;

/// Largest request body accepted.
pub const MAX_BODY_BYTES: usize = 256 * 1024;

fn bad_request(message: String) -> HttpResponse {
    HttpResponse::BadRequest()
        .json(json!({"errors": [{"message": message, "extensions": {"code": "BAD_INPUT"}}]}))
}

pub async fn execute(
    schema: web::Data<PacketRunSchema>,
    req: HttpRequest,
    body: web::Bytes,
) -> HttpResponse {
    let request: async_graphql::Request = match serde_json::from_slice(&body) {
        Ok(request) => request,
        Err(e) => return bad_request(format!("the body is not a GraphQL request in JSON: {e}")),
    };
    let response = schema.execute(request).await;
    let wants_graphql_json = req
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("application/graphql-response+json"));
    let content_type = if wants_graphql_json {
        "application/graphql-response+json"
    } else {
        "application/json"
    };
    HttpResponse::Ok().content_type(content_type).json(response)
}

pub async fn get(
    req: HttpRequest,
    body: web::Payload,
    sockets: web::Data<SocketState>,
) -> Result<HttpResponse, actix_web::Error> {
    let upgrade = req
        .headers()
        .get(header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if upgrade.eq_ignore_ascii_case("websocket") {
        return websocket::subscriptions(req, body, sockets).await;
    }
    Ok(HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(IDE_PAGE))
}

/// GraphiQL, with every asset served by us: installations usually have no internet.
const IDE_PAGE: &str = include_str!("../../assets/ide.html");

/// `GET /graphiql/<file>`: the IDE's assets, built into the binary.
pub async fn ide_asset(name: web::Path<String>) -> HttpResponse {
    let (body, content_type): (&'static [u8], &str) = match name.as_str() {
        "graphiql.min.js" => (
            include_bytes!("../../assets/graphiql/graphiql.min.js"),
            "text/javascript",
        ),
        "graphiql.min.css" => (
            include_bytes!("../../assets/graphiql/graphiql.min.css"),
            "text/css",
        ),
        "react.production.min.js" => (
            include_bytes!("../../assets/graphiql/react.production.min.js"),
            "text/javascript",
        ),
        "react-dom.production.min.js" => (
            include_bytes!("../../assets/graphiql/react-dom.production.min.js"),
            "text/javascript",
        ),
        _ => return HttpResponse::NotFound().finish(),
    };
    HttpResponse::Ok()
        .content_type(content_type)
        .insert_header((header::CACHE_CONTROL, "public, max-age=86400"))
        .body(body)
}
