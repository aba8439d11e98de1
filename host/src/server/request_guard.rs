//! Checks that stop other web sites from using the API through a visitor's
//! browser.
//!
//! A browser sends a cross-site POST with a `text/plain` or form body
//! without a CORS preflight, so the API accepts request bodies as JSON only:
//! a cross-site page cannot send `application/json` without a preflight,
//! which the CORS layer answers. A page reached through DNS rebinding talks
//! to the server under a foreign host name, so a server that listens on
//! loopback addresses only accepts loopback host names.

use std::net::SocketAddr;

use axum::extract::{Request, State};
use axum::http::{header, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::AppError;

/// Rejects a request under `/api` that changes state and carries a body
/// whose `Content-Type` is not `application/json`, with 415.
pub async fn require_json_body(request: Request, next: Next) -> Response {
    let changes_state = matches!(
        *request.method(),
        Method::POST | Method::PUT | Method::PATCH | Method::DELETE
    );
    if !changes_state || !request.uri().path().starts_with("/api/") || !has_body(&request) {
        return next.run(request).await;
    }
    let content_type = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .unwrap_or("");
    let media_type = content_type.split(';').next().unwrap_or("").trim();
    if media_type.eq_ignore_ascii_case("application/json") {
        return next.run(request).await;
    }
    let shown = if content_type.is_empty() {
        "no Content-Type".to_string()
    } else {
        format!("Content-Type \"{content_type}\"")
    };
    tracing::info!(
        method = %request.method(),
        path = request.uri().path(),
        content_type,
        "rejected a request body that is not JSON"
    );
    AppError::new(
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        format!(
            "The request body has {shown}; send it as JSON with Content-Type \"application/json\"."
        ),
    )
    .into_response()
}

/// Returns whether the request announces a non-empty body.
fn has_body(request: &Request) -> bool {
    let headers = request.headers();
    let length = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.trim().parse::<u64>().ok());
    match length {
        Some(length) => length > 0,
        None => headers.contains_key(header::TRANSFER_ENCODING),
    }
}

/// Rejects, with 421, a request whose `Host` is not a loopback name or the
/// listener's own address. `serve` adds this check to listeners on loopback
/// addresses. A request without a host (HTTP/1.0) passes, because browsers
/// always send one.
pub async fn require_loopback_host(
    State(listener): State<SocketAddr>,
    request: Request,
    next: Next,
) -> Response {
    let host = request
        .headers()
        .get(header::HOST)
        .and_then(|value| value.to_str().ok())
        .map(str::to_string)
        .or_else(|| {
            request
                .uri()
                .authority()
                .map(|authority| authority.to_string())
        });
    let Some(host) = host else {
        return next.run(request).await;
    };
    let name = host_name(&host).to_ascii_lowercase();
    let own_address = match listener.ip() {
        std::net::IpAddr::V4(ip) => ip.to_string(),
        std::net::IpAddr::V6(ip) => format!("[{ip}]"),
    };
    if ["localhost", "127.0.0.1", "[::1]"].contains(&name.as_str()) || name == own_address {
        return next.run(request).await;
    }
    tracing::info!(
        host,
        path = request.uri().path(),
        "rejected a request for a foreign host name"
    );
    AppError::new(
        StatusCode::MISDIRECTED_REQUEST,
        format!(
            "This server listens on a loopback address and serves only the host names \
             localhost, 127.0.0.1 and [::1], not \"{host}\"."
        ),
    )
    .into_response()
}

/// Returns the host part of a `Host` header value, without the port.
fn host_name(host: &str) -> &str {
    let host = host.trim();
    if host.starts_with('[') {
        return match host.find(']') {
            Some(end) => &host[..=end],
            None => host,
        };
    }
    match host.rsplit_once(':') {
        Some((name, port)) if port.chars().all(|c| c.is_ascii_digit()) => name,
        _ => host,
    }
}

#[cfg(test)]
mod tests {
    use super::host_name;

    #[test]
    fn host_name_drops_port() {
        assert_eq!(host_name("localhost:4000"), "localhost");
        assert_eq!(host_name("127.0.0.1"), "127.0.0.1");
        assert_eq!(host_name("[::1]:4000"), "[::1]");
        assert_eq!(host_name("[::1]"), "[::1]");
        assert_eq!(host_name("attacker.example:4714"), "attacker.example");
    }
}
