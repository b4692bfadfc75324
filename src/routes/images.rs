//! `GET /images/<file>`: the screenshots in `DATA_DIR/images`, and nothing else.

use actix_web::http::header;
use actix_web::{web, HttpResponse};
use std::path::PathBuf;

pub struct ImagesDir(pub PathBuf);

pub async fn image(dir: web::Data<ImagesDir>, name: web::Path<String>) -> HttpResponse {
    let name = name.into_inner();
    // One plain file name: no separators, no dot-files, so no way out of the folder.
    let plain = !name.is_empty()
        && !name.starts_with('.')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'));
    let content_type = match name
        .rsplit_once('.')
        .map(|(_, ext)| ext.to_ascii_lowercase())
    {
        Some(ext) if ext == "png" => "image/png",
        Some(ext) if ext == "jpg" || ext == "jpeg" => "image/jpeg",
        Some(ext) if ext == "webp" => "image/webp",
        _ => return HttpResponse::NotFound().finish(),
    };
    if !plain {
        return HttpResponse::NotFound().finish();
    }
    match tokio::fs::read(dir.0.join(&name)).await {
        Ok(bytes) => HttpResponse::Ok()
            .content_type(content_type)
            .insert_header((header::CACHE_CONTROL, "no-cache"))
            .body(bytes),
        Err(_) => HttpResponse::NotFound().finish(),
    }
}
