//! Keeps web pages out of a runtime: a browser can reach a loopback server, so without a key we must tell
//! a page's requests from our clients' ones.
//!
//! - A cross-site page can POST `text/plain` or a form without a preflight: action routes take only
//!   `application/json` (which needs a preflight we never approve).
//! - A keyless server refuses any request with an `Origin` that is not itself, and any `Host` that does
//!   not name it (DNS rebinding: a page on `evil.example` resolved to 127.0.0.1 sends `Host:
//!   evil.example:PORT`).
//! - A keyed server is protected by its key (a page cannot add `X-Session-API-Key` without a preflight),
//!   so it skips the Origin and Host checks: the Docker runtime reaches it through a mapped port, under a
//!   Host that is not the server's own. A keyless server may only listen on loopback (see
//!   [`check_exposure`]).

use std::net::IpAddr;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::{ApiError, AppState};

/// Refuses to start a server that anyone on the network could drive.
pub(crate) fn check_exposure(host: IpAddr, api_key: Option<&str>) -> Result<(), String> {
    if host.is_loopback() || api_key.is_some() {
        return Ok(());
    }
    Err(format!(
        "refusing to listen on {host} without SESSION_API_KEY: anyone who can reach that address could run \
         commands. Set SESSION_API_KEY (clients then send it as X-Session-API-Key), or keep the default \
         --host 127.0.0.1"
    ))
}

/// 415 unless the body is declared `application/json` (parameters such as `charset` allowed).
/// With `allow_empty`, a body with no bytes and no content type also passes (it means `{}`).
pub(crate) fn require_json(
    headers: &HeaderMap,
    body: &[u8],
    allow_empty: bool,
) -> Result<(), ApiError> {
    let declared = headers.get(header::CONTENT_TYPE);
    if allow_empty && declared.is_none() && body.is_empty() {
        return Ok(());
    }
    let media_type = declared
        .and_then(|v| v.to_str().ok())
        .map(|v| v.split(';').next().unwrap_or("").trim());
    if media_type.is_some_and(|m| m.eq_ignore_ascii_case("application/json")) {
        return Ok(());
    }
    Err(ApiError::new(
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        format!(
            "The body must be JSON sent with `Content-Type: application/json`, got {}",
            declared.map_or_else(
                || "no Content-Type".to_owned(),
                |v| format!("'{}'", String::from_utf8_lossy(v.as_bytes()))
            )
        ),
    ))
}

/// The Origin and Host checks of a keyless server, on every route.
pub(crate) async fn refuse_foreign_pages(
    State(state): State<Arc<AppState>>,
    req: Request,
    next: Next,
) -> Response {
    if state.config.api_key.is_none()
        && let Err(refusal) = check_request(req.headers(), req.uri(), state.config.host, state.port)
    {
        return refusal.into_response();
    }
    next.run(req).await
}

fn check_request(
    headers: &HeaderMap,
    uri: &axum::http::Uri,
    host: IpAddr,
    port: u16,
) -> Result<(), ApiError> {
    let names = own_names(host, port);
    // HTTP/2 carries the authority in the request line instead of `Host`.
    let authority = headers
        .get(header::HOST)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
        .or_else(|| uri.authority().map(|a| a.as_str().to_owned()));
    match authority {
        Some(a) if names.iter().any(|n| n.eq_ignore_ascii_case(&a)) => {}
        given => {
            return Err(ApiError::new(
                StatusCode::MISDIRECTED_REQUEST,
                format!(
                    "Host {} does not name this server: a runtime without SESSION_API_KEY only answers \
                     requests for {} (set SESSION_API_KEY to serve it under other names)",
                    given.map_or_else(|| "(none)".to_owned(), |g| format!("'{g}'")),
                    names.join(", ")
                ),
            ));
        }
    }
    if let Some(origin) = headers.get(header::ORIGIN) {
        let origin = String::from_utf8_lossy(origin.as_bytes());
        let own = ["http://", "https://"].iter().any(|scheme| {
            origin
                .get(..scheme.len())
                .is_some_and(|s| s.eq_ignore_ascii_case(scheme))
                && names
                    .iter()
                    .any(|n| n.eq_ignore_ascii_case(&origin[scheme.len()..]))
        });
        if !own {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                format!(
                    "Cross-origin request refused: Origin '{origin}' is not this server; a runtime without \
                     SESSION_API_KEY only answers local clients, not web pages"
                ),
            ));
        }
    }
    Ok(())
}

/// `host:port` spellings that name this server: the loopback names and the bound address.
fn own_names(host: IpAddr, port: u16) -> Vec<String> {
    let bound = match host {
        IpAddr::V4(ip) => ip.to_string(),
        IpAddr::V6(ip) => format!("[{ip}]"),
    };
    let mut hosts = vec![
        "127.0.0.1".to_owned(),
        "localhost".to_owned(),
        "[::1]".to_owned(),
    ];
    if !hosts.contains(&bound) {
        hosts.push(bound);
    }
    let mut names: Vec<String> = hosts.iter().map(|h| format!("{h}:{port}")).collect();
    if port == 80 {
        names.extend(hosts);
    }
    names
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;
    use pretty_assertions::assert_eq;

    use super::*;

    fn status(host: Option<&str>, origin: Option<&str>) -> Option<u16> {
        let mut headers = HeaderMap::new();
        if let Some(h) = host {
            headers.insert(header::HOST, HeaderValue::from_str(h).unwrap());
        }
        if let Some(o) = origin {
            headers.insert(header::ORIGIN, HeaderValue::from_str(o).unwrap());
        }
        let uri = axum::http::Uri::from_static("/alive");
        check_request(&headers, &uri, IpAddr::from([127, 0, 0, 1]), 3000)
            .err()
            .map(|e| e.status.as_u16())
    }

    #[test]
    fn only_our_own_names_and_origins_pass() {
        for host in [
            "127.0.0.1:3000",
            "localhost:3000",
            "LOCALHOST:3000",
            "[::1]:3000",
        ] {
            assert_eq!(status(Some(host), None), None, "{host}");
        }
        for host in [
            "evil.example:3000",
            "127.0.0.1:3001",
            "localhost",
            "127.0.0.1",
        ] {
            assert_eq!(status(Some(host), None), Some(421), "{host}");
        }
        assert_eq!(status(None, None), Some(421));
        assert_eq!(
            status(Some("127.0.0.1:3000"), Some("http://localhost:3000")),
            None
        );
        for origin in [
            "http://evil.example",
            "http://localhost:8080",
            "null",
            "http://127.0.0.1:3000.evil.example",
        ] {
            assert_eq!(
                status(Some("127.0.0.1:3000"), Some(origin)),
                Some(403),
                "{origin}"
            );
        }
    }

    #[test]
    fn json_only_unless_empty_is_allowed() {
        let with = |ct: Option<&str>, body: &[u8], allow_empty: bool| {
            let mut headers = HeaderMap::new();
            if let Some(ct) = ct {
                headers.insert(header::CONTENT_TYPE, HeaderValue::from_str(ct).unwrap());
            }
            require_json(&headers, body, allow_empty).is_ok()
        };
        assert!(with(Some("application/json"), b"{}", false));
        assert!(with(Some("Application/JSON; charset=utf-8"), b"{}", false));
        assert!(!with(Some("text/plain"), b"{}", false));
        assert!(!with(
            Some("application/x-www-form-urlencoded"),
            b"a=b",
            false
        ));
        assert!(!with(None, b"{}", false));
        assert!(!with(None, b"", false));
        assert!(with(None, b"", true));
        assert!(!with(Some("text/plain"), b"", true));
    }

    #[test]
    fn a_keyless_server_stays_on_loopback() {
        assert!(check_exposure(IpAddr::from([127, 0, 0, 1]), None).is_ok());
        assert!(check_exposure(IpAddr::from([0, 0, 0, 0]), Some("k")).is_ok());
        assert!(check_exposure(IpAddr::from([0, 0, 0, 0]), None).is_err());
    }
}
