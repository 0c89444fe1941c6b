//! `POST /list_files`, `POST /upload_file` and `GET /download_files`: moving files in and out of the sandbox.
//!
//! Unlike OpenHands, which wraps every failure in a 500, client mistakes answer 4xx with a `detail` that
//! says what to change, and nothing is ever written outside the destination (file names with path
//! components and zip entries that escape are refused).

use std::io;
use std::path::Path;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::multipart::MultipartRejection;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Multipart, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::Value;

use super::archive::{extract_zip, zip_tree};
use super::{ApiError, AppState};
use crate::files::paths::{absolutize, check_confined};

fn unprocessable(detail: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, detail)
}

/// Maps an I/O failure on `path` to a status the client can act on, with the path in the message.
pub(super) fn io_error(doing: &str, path: &Path, e: &io::Error) -> ApiError {
    let status = match e.kind() {
        io::ErrorKind::PermissionDenied | io::ErrorKind::ReadOnlyFilesystem => {
            StatusCode::FORBIDDEN
        }
        io::ErrorKind::NotFound => StatusCode::NOT_FOUND,
        io::ErrorKind::NotADirectory
        | io::ErrorKind::IsADirectory
        | io::ErrorKind::AlreadyExists
        | io::ErrorKind::DirectoryNotEmpty
        | io::ErrorKind::InvalidFilename
        | io::ErrorKind::InvalidInput => StatusCode::BAD_REQUEST,
        io::ErrorKind::StorageFull => StatusCode::INSUFFICIENT_STORAGE,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    };
    ApiError::new(status, format!("Cannot {doing} {}: {e}", path.display()))
}

fn task_failed(e: tokio::task::JoinError) -> ApiError {
    ApiError::internal(format!("the file transfer task failed: {e}"))
}

/// 403 when the server is confined and `path` (absolute, normalised) leaves the working directory.
fn confine(state: &AppState, path: &Path) -> Result<(), ApiError> {
    if state.config.confine_files {
        check_confined(path, &state.config.working_dir)
            .map_err(|m| ApiError::new(StatusCode::FORBIDDEN, m))?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------------
// POST /list_files

pub(crate) async fn list_files(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    super::guard::require_json(&headers, &body, true)?;
    let requested = list_request_path(&body)?;
    let root = &state.config.working_dir;
    // Relative paths are relative to the initial working directory, not the shell's current one.
    let dir = match &requested {
        Some(p) => absolutize(root, p),
        None => root.clone(),
    };
    confine(&state, &dir)?;
    let names = tokio::task::spawn_blocking(move || list_dir(&dir))
        .await
        .map_err(task_failed)?;
    Ok(axum::Json(names).into_response())
}

/// The optional `path` of the body; an empty body is the same as `{}`.
fn list_request_path(body: &[u8]) -> Result<Option<String>, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    let value: Value = serde_json::from_slice(body).map_err(|e| {
        unprocessable(format!(
            "The body must be a JSON object like {{\"path\": \"/workspace\"}}: {e}"
        ))
    })?;
    let Value::Object(obj) = value else {
        return Err(unprocessable(
            "The body must be a JSON object like {\"path\": \"/workspace\"}",
        ));
    };
    match obj.get("path") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(other) => Err(unprocessable(format!(
            "`path` must be a string, got {other}"
        ))),
    }
}

/// OpenHands' listing: hidden entries included, directories (symlinks to directories too) first with a
/// trailing `/`, each group sorted case-insensitively; anything that cannot be listed gives `[]`.
fn list_dir(dir: &Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut dirs = Vec::new();
    let mut files = Vec::new();
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        // Following links, as `os.path.isdir` does; a dangling link is skipped, as `os.path.exists` does.
        match std::fs::metadata(entry.path()) {
            Ok(meta) if meta.is_dir() => dirs.push(format!("{name}/")),
            Ok(_) => files.push(name),
            Err(_) => {}
        }
    }
    let by_lowercase =
        |a: &String, b: &String| a.to_lowercase().cmp(&b.to_lowercase()).then(a.cmp(b));
    dirs.sort_by(by_lowercase);
    files.sort_by(by_lowercase);
    dirs.extend(files);
    dirs
}

// ---------------------------------------------------------------------------------------------------
// POST /upload_file

#[derive(Debug, Deserialize)]
pub(crate) struct UploadParams {
    destination: Option<String>,
    recursive: Option<String>,
}

/// Pydantic's boolean spellings, which OpenHands' FastAPI signature accepts.
fn parse_bool(name: &str, value: &str) -> Result<bool, ApiError> {
    match value.to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" | "t" | "y" => Ok(true),
        "false" | "0" | "no" | "off" | "f" | "n" => Ok(false),
        _ => Err(unprocessable(format!(
            "`{name}` must be true or false, got '{value}'"
        ))),
    }
}

/// A file name from the client must name one entry in the destination, never a path.
fn check_file_name(name: &str) -> Result<(), ApiError> {
    if name.is_empty() || name == "." || name == ".." || name.contains(['/', '\0']) {
        return Err(ApiError::bad_request(format!(
            "The uploaded file name '{name}' must be a plain file name without '/' or '..'; \
             use `destination` to choose the directory"
        )));
    }
    Ok(())
}

fn is_zip_name(name: &str) -> bool {
    name.to_ascii_lowercase().ends_with(".zip")
}

/// Reads and drops the rest of a refused upload's body (at most 64 MiB): a client still sending it then
/// reads the refusal, where closing the connection under it gave the client a broken pipe instead.
async fn drain(multipart: Result<Multipart, MultipartRejection>) {
    let Ok(mut multipart) = multipart else {
        return;
    };
    let mut left: usize = 64 << 20;
    while let Ok(Some(mut field)) = multipart.next_field().await {
        while let Ok(Some(chunk)) = field.chunk().await {
            left = left.saturating_sub(chunk.len());
            if left == 0 {
                return;
            }
        }
    }
}

pub(crate) async fn upload_file(
    State(state): State<Arc<AppState>>,
    params: Result<Query<UploadParams>, QueryRejection>,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<Response, ApiError> {
    let checked = (|| {
        let Query(params) = params.map_err(|e| unprocessable(e.body_text()))?;
        let destination = params.destination.unwrap_or_else(|| "/".to_owned());
        let recursive = match &params.recursive {
            Some(v) => parse_bool("recursive", v)?,
            None => false,
        };
        if !Path::new(&destination).is_absolute() {
            return Err(ApiError::bad_request(
                "Destination must be an absolute path",
            ));
        }
        let dest = absolutize(Path::new("/"), &destination);
        confine(&state, &dest)?;
        Ok((dest, recursive, destination))
    })();
    let (dest, recursive, destination) = match checked {
        Ok(v) => v,
        Err(e) => {
            drain(multipart).await;
            return Err(e);
        }
    };

    let mut multipart = multipart.map_err(|e| {
        unprocessable(format!(
            "Expected a multipart/form-data body with a `file` field: {}",
            e.body_text()
        ))
    })?;
    let field = loop {
        match multipart.next_field().await {
            Ok(Some(f)) if f.name() == Some("file") => break f,
            Ok(Some(_)) => continue,
            Ok(None) => {
                return Err(unprocessable(
                    "The multipart body has no `file` field holding the upload",
                ));
            }
            Err(e) => return Err(ApiError::new(e.status(), e.body_text())),
        }
    };
    let Some(filename) = field.file_name().map(str::to_owned) else {
        return Err(unprocessable(
            "The `file` field must be a file upload with a filename",
        ));
    };
    check_file_name(&filename)?;
    if recursive && !is_zip_name(&filename) {
        return Err(ApiError::bad_request("Recursive uploads must be zip files"));
    }

    let dir = dest.clone();
    tokio::task::spawn_blocking(move || prepare_destination(&dir))
        .await
        .map_err(task_failed)??;
    let part = receive(field, &dest).await?;

    let target = dest.join(&filename);
    tokio::task::spawn_blocking(move || {
        if recursive {
            let extracted = extract_zip(&part, &dest);
            // The archive is removed whether or not it could be extracted (dropping `part` deletes it).
            drop(part);
            extracted
        } else {
            place(part, &target)
        }
    })
    .await
    .map_err(task_failed)??;

    Ok(axum::Json(serde_json::json!({
        "filename": filename,
        "destination": destination,
        "recursive": recursive,
    }))
    .into_response())
}

/// The destination is always a directory, created if missing.
fn prepare_destination(dest: &Path) -> Result<(), ApiError> {
    match std::fs::metadata(dest) {
        Ok(meta) if meta.is_dir() => Ok(()),
        Ok(_) => Err(ApiError::bad_request(format!(
            "Destination {} exists and is not a directory; `destination` names the directory to upload into",
            dest.display()
        ))),
        Err(_) => std::fs::create_dir_all(dest)
            .map_err(|e| io_error("create the destination directory", dest, &e)),
    }
}

/// Streams the upload into a hidden temporary file inside `dest`, deleted unless it is placed.
async fn receive(
    mut field: axum::extract::multipart::Field<'_>,
    dest: &Path,
) -> Result<tempfile::TempPath, ApiError> {
    let dir = dest.to_path_buf();
    let temp = tokio::task::spawn_blocking(move || {
        use std::os::unix::fs::PermissionsExt as _;
        tempfile::Builder::new()
            .prefix(".upload-")
            .suffix(".part")
            // Like `open(..., 'wb')`: 0666 minus the umask, not tempfile's private 0600.
            .permissions(std::fs::Permissions::from_mode(0o666))
            .tempfile_in(&dir)
            .map_err(|e| io_error("write into", &dir, &e))
    })
    .await
    .map_err(task_failed)??;
    let (file, path) = temp.into_parts();
    let mut file = tokio::fs::File::from_std(file);
    loop {
        let chunk = match field.chunk().await {
            Ok(Some(c)) => c,
            Ok(None) => break,
            Err(e) => return Err(ApiError::new(e.status(), e.body_text())),
        };
        tokio::io::AsyncWriteExt::write_all(&mut file, &chunk)
            .await
            .map_err(|e| io_error("write into", dest, &e))?;
    }
    tokio::io::AsyncWriteExt::flush(&mut file)
        .await
        .map_err(|e| io_error("write into", dest, &e))?;
    Ok(path)
}

/// Moves the received file to its name; an existing file keeps its permissions, as when overwritten
/// in place. Renaming replaces a symlink at `target` instead of writing through it.
fn place(part: tempfile::TempPath, target: &Path) -> Result<(), ApiError> {
    if let Ok(meta) = std::fs::symlink_metadata(target)
        && meta.is_file()
    {
        let _ = std::fs::set_permissions(&part, meta.permissions());
    }
    part.persist(target)
        .map_err(|e| io_error("write", target, &e.error))
}

// ---------------------------------------------------------------------------------------------------
// GET /download_files

#[derive(Debug, Deserialize)]
pub(crate) struct DownloadParams {
    path: String,
}

pub(crate) async fn download_files(
    State(state): State<Arc<AppState>>,
    params: Result<Query<DownloadParams>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(params) = params.map_err(|e| {
        unprocessable(format!(
            "The `path` query parameter (an absolute path) is required: {}",
            e.body_text()
        ))
    })?;
    if !Path::new(&params.path).is_absolute() {
        return Err(ApiError::bad_request("Path must be an absolute path"));
    }
    let path = absolutize(Path::new("/"), &params.path);
    confine(&state, &path)?;
    let confined_to = state
        .config
        .confine_files
        .then(|| state.config.working_dir.clone());
    let zip_name = format!(
        "{}.zip",
        path.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "root".to_owned())
    );
    let bytes = tokio::task::spawn_blocking(move || zip_tree(&path, confined_to.as_deref()))
        .await
        .map_err(task_failed)??;
    Ok((
        [
            (header::CONTENT_TYPE, "application/zip".to_owned()),
            (header::CONTENT_DISPOSITION, content_disposition(&zip_name)),
        ],
        bytes,
    )
        .into_response())
}

/// `attachment; filename="x.zip"`, or the RFC 5987 form when the name is not plain ASCII (as Starlette does).
fn content_disposition(name: &str) -> String {
    if name.bytes().all(|b| b.is_ascii_graphic() || b == b' ') && !name.contains(['"', '\\']) {
        return format!("attachment; filename=\"{name}\"");
    }
    let mut encoded = String::new();
    for b in name.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            encoded.push(b as char);
        } else {
            encoded.push_str(&format!("%{b:02X}"));
        }
    }
    format!("attachment; filename*=utf-8''{encoded}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_bodies() {
        assert_eq!(list_request_path(b"").unwrap(), None);
        assert_eq!(list_request_path(b"{}").unwrap(), None);
        assert_eq!(list_request_path(br#"{"path": null}"#).unwrap(), None);
        assert_eq!(
            list_request_path(br#"{"path": "sub"}"#).unwrap(),
            Some("sub".to_owned())
        );
        for bad in [&b"nope"[..], b"[1]", br#"{"path": 3}"#] {
            assert_eq!(
                list_request_path(bad).unwrap_err().status,
                StatusCode::UNPROCESSABLE_ENTITY
            );
        }
    }

    #[test]
    fn listing_orders_directories_first_case_insensitively() {
        let dir = tempfile::tempdir().unwrap();
        for d in ["b_dir", "A_dir", ".hidden_dir"] {
            std::fs::create_dir(dir.path().join(d)).unwrap();
        }
        for f in ["c.txt", "B.txt", "a.txt", ".env"] {
            std::fs::write(dir.path().join(f), "").unwrap();
        }
        std::os::unix::fs::symlink(dir.path().join("A_dir"), dir.path().join("link_dir")).unwrap();
        std::os::unix::fs::symlink("/nonexistent", dir.path().join("dangling")).unwrap();
        assert_eq!(
            list_dir(dir.path()),
            [
                ".hidden_dir/",
                "A_dir/",
                "b_dir/",
                "link_dir/",
                ".env",
                "a.txt",
                "B.txt",
                "c.txt"
            ]
        );
        assert!(list_dir(&dir.path().join("a.txt")).is_empty());
        assert!(list_dir(&dir.path().join("missing")).is_empty());
    }

    #[test]
    fn file_names_must_not_be_paths() {
        for ok in ["a.txt", ".env", "a b", "..x", "x..y"] {
            assert!(check_file_name(ok).is_ok(), "{ok}");
        }
        for bad in ["", ".", "..", "../x", "a/b", "/etc/passwd", "a\0b"] {
            assert_eq!(
                check_file_name(bad).unwrap_err().status,
                StatusCode::BAD_REQUEST,
                "{bad}"
            );
        }
    }

    #[test]
    fn booleans_accept_pydantic_spellings() {
        assert!(parse_bool("r", "True").unwrap());
        assert!(parse_bool("r", "1").unwrap());
        assert!(!parse_bool("r", "false").unwrap());
        assert!(!parse_bool("r", "off").unwrap());
        assert!(parse_bool("r", "maybe").is_err());
    }

    #[test]
    fn content_disposition_quotes_or_encodes() {
        assert_eq!(
            content_disposition("dir.zip"),
            "attachment; filename=\"dir.zip\""
        );
        assert_eq!(
            content_disposition("été \"x\".zip"),
            "attachment; filename*=utf-8''%C3%A9t%C3%A9%20%22x%22.zip"
        );
    }
}
