//! `GET /api-doc.yaml`: the OpenAPI 3 document of this server's API,
//! compiled into the binary. `tests/api_openapi.rs` checks that it lists
//! exactly the routes the router serves.

use axum::http::header;
use axum::response::IntoResponse;

/// The OpenAPI document, `host/api-doc.yaml`.
pub const API_DOC: &str = include_str!("../../api-doc.yaml");

pub async fn api_doc() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/yaml; charset=utf-8")],
        API_DOC,
    )
}
