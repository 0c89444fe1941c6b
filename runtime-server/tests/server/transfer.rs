//! Integration tests of `/list_files`, `/upload_file` and `/download_files`, zips included.

use std::io::{Cursor, Read as _, Write as _};
use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;

use pretty_assertions::assert_eq;
use reqwest::blocking::RequestBuilder;
use reqwest::blocking::multipart::{Form, Part};
use serde_json::{Value, json};
use zip::write::SimpleFileOptions;

use super::common::*;

fn keyed(srv: &Server, rb: RequestBuilder) -> RequestBuilder {
    match &srv.key {
        Some(k) => rb.header("X-Session-API-Key", k),
        None => rb,
    }
}

fn status_and_json(resp: reqwest::blocking::Response) -> (u16, Value) {
    let status = resp.status().as_u16();
    (status, resp.json().unwrap_or(Value::Null))
}

fn list(srv: &Server, body: Value) -> (u16, Value) {
    status_and_json(srv.post_json("/list_files", &body))
}

/// Uploads `data` as the multipart field `file` named `name`, the file name sent exactly as given.
fn upload(
    srv: &Server,
    destination: &str,
    recursive: Option<&str>,
    name: &str,
    data: Vec<u8>,
) -> (u16, Value) {
    let form = Form::new()
        .percent_encode_noop()
        .part("file", Part::bytes(data).file_name(name.to_owned()));
    let mut query = vec![("destination", destination)];
    if let Some(r) = recursive {
        query.push(("recursive", r));
    }
    // A refused upload is answered before its body is read, and the server then drops the connection;
    // a pooled client could pick that connection for the next request. One connection per upload.
    let rb = srv
        .client
        .post(srv.url("/upload_file"))
        .header("Connection", "close")
        .query(&query)
        .multipart(form);
    status_and_json(keyed(srv, rb).send().unwrap())
}

fn download(srv: &Server, path: &str) -> reqwest::blocking::Response {
    let rb = srv
        .client
        .get(srv.url("/download_files"))
        .query(&[("path", path)]);
    keyed(srv, rb).send().unwrap()
}

/// A zip of `(name, contents, unix mode)`; a name ending in `/` is a directory entry.
fn make_zip(entries: &[(&str, &str, u32)]) -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
    for (name, contents, mode) in entries {
        let options = SimpleFileOptions::default().unix_permissions(*mode);
        if name.ends_with('/') {
            zip.add_directory(*name, options).unwrap();
        } else {
            zip.start_file(*name, options).unwrap();
            zip.write_all(contents.as_bytes()).unwrap();
        }
    }
    zip.finish().unwrap().into_inner()
}

/// The entries of a zip in archive order, with their contents.
fn unzip(bytes: &[u8]) -> Vec<(String, String)> {
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).unwrap();
    (0..archive.len())
        .map(|i| {
            let mut f = archive.by_index(i).unwrap();
            let mut s = String::new();
            f.read_to_string(&mut s).unwrap();
            (f.name().to_owned(), s)
        })
        .collect()
}

/// Every entry under `dir`, relative, sorted; directories end with `/`.
fn tree(dir: &Path) -> Vec<String> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let path = e.unwrap().path();
            let rel = path.strip_prefix(root).unwrap().display().to_string();
            if path.is_dir() && !path.is_symlink() {
                out.push(format!("{rel}/"));
                walk(root, &path, out);
            } else {
                out.push(rel);
            }
        }
    }
    let mut out = Vec::new();
    if dir.exists() {
        walk(dir, dir, &mut out);
    }
    out.sort();
    out
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

// ---------------------------------------------------------------------------------------------------
// /list_files

#[test]
fn list_files_orders_like_openhands() {
    let srv = Server::start();
    let w = &srv.workdir;
    for d in ["sub", ".git", "Zeta"] {
        std::fs::create_dir(w.join(d)).unwrap();
    }
    for f in ["c.py", "a.txt", "B.txt", ".env", "sub/b.txt"] {
        std::fs::write(w.join(f), "x").unwrap();
    }
    let expected = json!([".git/", "sub/", "Zeta/", ".env", "a.txt", "B.txt", "c.py"]);
    assert_eq!(list(&srv, json!({})), (200, expected.clone()));
    assert_eq!(list(&srv, json!({"path": null})), (200, expected.clone()));
    assert_eq!(list(&srv, json!({"path": s(w)})), (200, expected.clone()));
    assert_eq!(
        status_and_json(srv.post_raw("/list_files", b"")),
        (200, expected)
    );
    assert_eq!(list(&srv, json!({"path": "sub"})), (200, json!(["b.txt"])));
    assert_eq!(
        list(&srv, json!({"path": "sub/../sub"})),
        (200, json!(["b.txt"]))
    );
    assert_eq!(
        list(&srv, json!({"path": "/nonexistent_zz"})),
        (200, json!([]))
    );
    assert_eq!(list(&srv, json!({"path": "a.txt"})), (200, json!([])));
}

#[test]
fn list_files_rejects_bodies_that_are_not_a_json_object() {
    let srv = Server::start();
    for body in [&b"not json"[..], b"[\"/tmp\"]", br#"{"path": 5}"#] {
        let (status, detail) = status_and_json(srv.post_raw("/list_files", body));
        assert_eq!(status, 422, "{detail}");
        assert!(
            detail["detail"].as_str().unwrap().contains("path"),
            "{detail}"
        );
    }
    assert_eq!(list(&srv, json!({})), (200, json!([])));
}

// ---------------------------------------------------------------------------------------------------
// /upload_file

#[test]
fn upload_creates_the_destination_and_overwrites() {
    let srv = Server::start();
    let dest = srv.workdir.join("uploads/deeper");
    let (status, body) = upload(
        &srv,
        s(&dest),
        None,
        "up.txt",
        b"uploaded content\n".to_vec(),
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body,
        json!({"filename": "up.txt", "destination": s(&dest), "recursive": false})
    );
    assert_eq!(
        std::fs::read_to_string(dest.join("up.txt")).unwrap(),
        "uploaded content\n"
    );

    std::fs::set_permissions(dest.join("up.txt"), std::fs::Permissions::from_mode(0o750)).unwrap();
    let (status, _) = upload(&srv, s(&dest), Some("false"), "up.txt", b"second".to_vec());
    assert_eq!(status, 200);
    assert_eq!(
        std::fs::read_to_string(dest.join("up.txt")).unwrap(),
        "second"
    );
    let mode = std::fs::metadata(dest.join("up.txt"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o750, "an overwritten file keeps its mode");
    // No temporary file is left behind.
    assert_eq!(tree(&dest), ["up.txt"]);
}

#[test]
fn upload_accepts_the_body_openhands_client_sends() {
    let srv = Server::start();
    let dest = srv.workdir.join("uploads");
    let boundary = "benchboundary26b956a9cc874e83bced5cee2bada157";
    let body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"up.txt\"\r\n\
         Content-Type: application/octet-stream\r\n\r\nuploaded content\n\r\n--{boundary}--\r\n"
    );
    let rb = srv
        .client
        .post(srv.url(&format!("/upload_file?destination={}", s(&dest))))
        .header(
            "content-type",
            format!("multipart/form-data; boundary={boundary}"),
        )
        .body(body);
    assert_eq!(
        status_and_json(keyed(&srv, rb).send().unwrap()),
        (
            200,
            json!({"filename": "up.txt", "destination": s(&dest), "recursive": false})
        )
    );
    assert_eq!(
        std::fs::read_to_string(dest.join("up.txt")).unwrap(),
        "uploaded content\n"
    );
}

#[test]
fn a_recursive_zip_upload_extracts_and_downloads_back() {
    let srv = Server::start();
    let dest = srv.workdir.join("zipped");
    let archive = make_zip(&[
        ("y.txt", "y\n", 0o644),
        ("d1/", "", 0o755),
        ("d1/x.txt", "x\n", 0o644),
        ("bin/run.sh", "#!/bin/sh\necho run\n", 0o755),
        ("empty/", "", 0o755),
    ]);
    let (status, body) = upload(&srv, s(&dest), Some("true"), "tree.zip", archive);
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body,
        json!({"filename": "tree.zip", "destination": s(&dest), "recursive": true})
    );
    // The archive itself is gone; directory entries are created, even empty ones.
    assert_eq!(
        tree(&dest),
        ["bin/", "bin/run.sh", "d1/", "d1/x.txt", "empty/", "y.txt"]
    );
    let mode = std::fs::metadata(dest.join("bin/run.sh"))
        .unwrap()
        .permissions()
        .mode();
    assert_ne!(mode & 0o100, 0, "the executable bit survives extraction");
    let mode = std::fs::metadata(dest.join("y.txt"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o111, 0);

    let resp = download(&srv, s(&dest));
    assert_eq!(resp.status().as_u16(), 200);
    assert_eq!(resp.headers()["content-type"], "application/zip");
    assert_eq!(
        resp.headers()["content-disposition"],
        "attachment; filename=\"zipped.zip\""
    );
    let bytes = resp.bytes().unwrap();
    // Files of a directory first, then its subdirectories, names relative to the downloaded path.
    assert_eq!(
        unzip(&bytes),
        [
            ("y.txt".to_owned(), "y\n".to_owned()),
            ("bin/run.sh".to_owned(), "#!/bin/sh\necho run\n".to_owned()),
            ("d1/x.txt".to_owned(), "x\n".to_owned()),
        ]
    );
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).unwrap();
    let mode = archive.by_name("bin/run.sh").unwrap().unix_mode().unwrap();
    assert_ne!(mode & 0o100, 0, "the download keeps file modes");
}

#[test]
fn a_zip_without_recursive_is_stored_as_is() {
    let srv = Server::start();
    let dest = srv.workdir.join("keep");
    let archive = make_zip(&[("inner.txt", "inner", 0o644)]);
    let (status, body) = upload(&srv, s(&dest), None, "data.zip", archive.clone());
    assert_eq!(status, 200, "{body}");
    assert_eq!(tree(&dest), ["data.zip"]);
    assert_eq!(std::fs::read(dest.join("data.zip")).unwrap(), archive);
}

#[test]
fn upload_errors_are_4xx_and_write_nothing() {
    let srv = Server::start();
    let w = &srv.workdir;
    let dest = w.join("d");

    assert_eq!(
        upload(&srv, "relative", None, "up.txt", b"x".to_vec()),
        (
            400,
            json!({"detail": "Destination must be an absolute path"})
        )
    );
    assert_eq!(
        upload(&srv, s(&dest), Some("true"), "up.txt", b"x".to_vec()),
        (
            400,
            json!({"detail": "Recursive uploads must be zip files"})
        )
    );
    let (status, body) = upload(&srv, s(&dest), Some("maybe"), "up.txt", b"x".to_vec());
    assert_eq!(status, 422, "{body}");
    assert!(
        !dest.exists(),
        "a refused upload does not create the destination"
    );

    std::fs::write(w.join("afile"), "keep").unwrap();
    let (status, body) = upload(&srv, s(&w.join("afile")), None, "x.py", b"x".to_vec());
    assert_eq!(status, 400, "{body}");
    let detail = body["detail"].as_str().unwrap();
    assert!(
        detail.contains("afile") && detail.contains("not a directory"),
        "{detail}"
    );
    let (status, body) = upload(&srv, s(&w.join("afile/sub")), None, "x.py", b"x".to_vec());
    assert_eq!(status, 400, "{body}");
    assert_eq!(std::fs::read_to_string(w.join("afile")).unwrap(), "keep");

    std::fs::create_dir(w.join("adir")).unwrap();
    let (status, body) = upload(&srv, s(w), None, "adir", b"x".to_vec());
    assert_eq!(status, 400, "uploading over a directory: {body}");
    assert_eq!(tree(&w.join("adir")), Vec::<String>::new());

    let (status, body) = upload(
        &srv,
        s(&dest),
        Some("true"),
        "bad.zip",
        b"not a zip".to_vec(),
    );
    assert_eq!(status, 400, "{body}");
    assert!(body["detail"].as_str().unwrap().contains("zip"), "{body}");
    assert_eq!(
        tree(&dest),
        Vec::<String>::new(),
        "the bad archive is removed"
    );
    assert_eq!(tree(w), ["adir/", "afile", "d/"]);
}

#[test]
fn upload_without_a_file_field_is_422() {
    let srv = Server::start();
    let dest = srv.workdir.join("d");
    let form = Form::new().text("other", "value");
    let rb = srv
        .client
        .post(srv.url("/upload_file"))
        .query(&[("destination", s(&dest))])
        .multipart(form);
    let (status, body) = status_and_json(keyed(&srv, rb).send().unwrap());
    assert_eq!(status, 422, "{body}");
    assert!(body["detail"].as_str().unwrap().contains("file"), "{body}");

    let rb = srv
        .client
        .post(srv.url("/upload_file"))
        .query(&[("destination", s(&dest))])
        .json(&json!({"file": "x"}));
    let (status, body) = status_and_json(keyed(&srv, rb).send().unwrap());
    assert_eq!(status, 422, "{body}");
    assert!(body["detail"].is_string(), "{body}");
    assert!(!dest.exists());
}

#[test]
fn file_names_with_path_components_are_refused() {
    let srv = Server::start();
    let dest = srv.workdir.join("inbox");
    for name in ["../escape.txt", "a/b.txt", "/etc/evil", "..", "."] {
        let (status, body) = upload(&srv, s(&dest), None, name, b"evil".to_vec());
        assert_eq!(status, 400, "{name}: {body}");
        assert!(body["detail"].as_str().unwrap().contains(name), "{body}");
    }
    assert_eq!(tree(&srv.workdir), Vec::<String>::new());
}

#[test]
fn zip_entries_that_escape_the_destination_are_refused() {
    let srv = Server::start();
    let outside = tempfile::tempdir().unwrap();
    let dest = srv.workdir.join("x");
    let rel_escape = format!(
        "../{}/evil.txt",
        outside.path().file_name().unwrap().to_str().unwrap()
    );
    let abs_escape = format!("{}/evil.txt", s(outside.path()));
    for bad in [
        "../evil.txt",
        "a/../../evil.txt",
        abs_escape.as_str(),
        rel_escape.as_str(),
    ] {
        let archive = make_zip(&[("good.txt", "good", 0o644), (bad, "evil", 0o644)]);
        let (status, body) = upload(&srv, s(&dest), Some("true"), "slip.zip", archive);
        assert_eq!(status, 400, "{bad}: {body}");
        assert!(
            body["detail"].as_str().unwrap().contains("outside"),
            "{body}"
        );
        // The archive is checked before anything is written.
        assert_eq!(tree(&dest), Vec::<String>::new(), "{bad}");
    }
    assert_eq!(tree(outside.path()), Vec::<String>::new());
    assert_eq!(tree(&srv.workdir), ["x/"]);

    // A symlink already in the destination does not carry entries out of it.
    std::os::unix::fs::symlink(outside.path(), dest.join("link")).unwrap();
    let archive = make_zip(&[("link/pwned.txt", "evil", 0o644)]);
    let (status, body) = upload(&srv, s(&dest), Some("true"), "slip.zip", archive);
    assert_eq!(status, 400, "{body}");
    assert_eq!(tree(outside.path()), Vec::<String>::new());
    assert_eq!(tree(&dest), ["link"]);
}

// ---------------------------------------------------------------------------------------------------
// /download_files

#[test]
fn downloading_a_single_file_zips_that_file() {
    let srv = Server::start();
    let file = srv.workdir.join("a.txt");
    std::fs::write(&file, "hello\n").unwrap();
    let resp = download(&srv, s(&file));
    assert_eq!(resp.status().as_u16(), 200);
    assert_eq!(
        resp.headers()["content-disposition"],
        "attachment; filename=\"a.txt.zip\""
    );
    assert_eq!(
        unzip(&resp.bytes().unwrap()),
        [("a.txt".to_owned(), "hello\n".to_owned())]
    );
}

#[test]
fn download_follows_file_links_but_not_directory_links() {
    let srv = Server::start();
    let w = &srv.workdir;
    std::fs::create_dir_all(w.join("t/real")).unwrap();
    std::fs::write(w.join("t/real/f.txt"), "f").unwrap();
    std::fs::write(w.join("target.txt"), "linked").unwrap();
    std::os::unix::fs::symlink(w.join("target.txt"), w.join("t/file_link")).unwrap();
    std::os::unix::fs::symlink(w.join("t/real"), w.join("t/dir_link")).unwrap();
    std::os::unix::fs::symlink("/nonexistent_zz", w.join("t/dangling")).unwrap();
    let resp = download(&srv, s(&w.join("t")));
    assert_eq!(resp.status().as_u16(), 200);
    assert_eq!(
        unzip(&resp.bytes().unwrap()),
        [
            ("file_link".to_owned(), "linked".to_owned()),
            ("real/f.txt".to_owned(), "f".to_owned()),
        ]
    );
    // An empty directory gives a valid empty zip.
    std::fs::create_dir(w.join("empty")).unwrap();
    let resp = download(&srv, s(&w.join("empty")));
    assert_eq!(resp.status().as_u16(), 200);
    assert_eq!(unzip(&resp.bytes().unwrap()), []);
}

#[test]
fn download_errors() {
    let srv = Server::start();
    assert_eq!(
        status_and_json(download(&srv, "/nonexistent_zz")),
        (404, json!({"detail": "File not found"}))
    );
    assert_eq!(
        status_and_json(download(&srv, "relative")),
        (400, json!({"detail": "Path must be an absolute path"}))
    );
    let (status, body) = status_and_json(srv.get("/download_files"));
    assert_eq!(status, 422, "{body}");
    assert!(body["detail"].as_str().unwrap().contains("path"), "{body}");
    // A fifo would block a reader forever.
    let fifo = srv.workdir.join("fifo");
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o644)).unwrap();
    let (status, body) = status_and_json(download(&srv, s(&fifo)));
    assert_eq!(status, 400, "{body}");
    assert_eq!(srv.get("/alive").status().as_u16(), 200);
}

// ---------------------------------------------------------------------------------------------------
// --confine-files

#[test]
fn confined_transfers_stay_in_the_working_directory() {
    let srv = Server::builder().arg("--confine-files").start();
    let w = srv.workdir.clone();
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("secret.txt"), "secret").unwrap();
    std::os::unix::fs::symlink(outside.path(), w.join("out_link")).unwrap();

    let refused = |(status, body): (u16, Value)| {
        assert_eq!(status, 403, "{body}");
        let detail = body["detail"].as_str().unwrap();
        assert!(detail.contains("outside the working directory"), "{detail}");
    };
    refused(list(&srv, json!({"path": s(outside.path())})));
    refused(list(&srv, json!({"path": ".."})));
    refused(list(&srv, json!({"path": "out_link"})));
    refused(upload(
        &srv,
        s(&outside.path().join("new")),
        None,
        "a.txt",
        b"x".to_vec(),
    ));
    refused(upload(
        &srv,
        s(&w.join("out_link")),
        None,
        "a.txt",
        b"x".to_vec(),
    ));
    refused(status_and_json(download(
        &srv,
        s(&outside.path().join("secret.txt")),
    )));
    refused(status_and_json(download(
        &srv,
        s(&w.join("out_link/secret.txt")),
    )));
    assert_eq!(tree(outside.path()), ["secret.txt"]);

    // Inside, everything works; a link leading out is left out of a download.
    let (status, body) = upload(&srv, s(&w.join("in")), None, "a.txt", b"inside".to_vec());
    assert_eq!(status, 200, "{body}");
    std::os::unix::fs::symlink(outside.path().join("secret.txt"), w.join("in/leak.txt")).unwrap();
    assert_eq!(
        list(&srv, json!({"path": "in"})),
        (200, json!(["a.txt", "leak.txt"]))
    );
    let resp = download(&srv, s(&w.join("in")));
    assert_eq!(resp.status().as_u16(), 200);
    assert_eq!(
        unzip(&resp.bytes().unwrap()),
        [("a.txt".to_owned(), "inside".to_owned())]
    );
}

/// A zip whose entries are stored uncompressed, so a test can corrupt one entry's bytes in place.
fn stored_zip(entries: &[(&str, &str)]) -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options = SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Stored)
        .unix_permissions(0o644);
    for (name, contents) in entries {
        zip.start_file(*name, options).unwrap();
        zip.write_all(contents.as_bytes()).unwrap();
    }
    zip.finish().unwrap().into_inner()
}

/// A failed extraction used to leave the entries before the bad one behind: now nothing is written (new
/// files, new directories) and files the archive would have overwritten keep their content.
#[test]
fn a_failed_zip_extraction_leaves_nothing() {
    let srv = Server::start();
    let dest = srv.workdir.join("dest");
    std::fs::create_dir(&dest).unwrap();
    std::fs::write(dest.join("first.txt"), "old").unwrap();

    let mut archive = stored_zip(&[
        ("first.txt", "new first"),
        ("sub/deeper/made.txt", "made"),
        ("sub/second.txt", "SECOND ENTRY CONTENT"),
    ]);
    let at = archive
        .windows(20)
        .position(|w| w == b"SECOND ENTRY CONTENT")
        .unwrap();
    archive[at] = b'X'; // the CRC no longer matches
    let (status, body) = upload(&srv, s(&dest), Some("true"), "bad.zip", archive);
    assert_eq!(status, 400, "{body}");
    assert_eq!(
        body["detail"],
        "The upload is not a valid zip archive: entry 'sub/second.txt': Invalid checksum"
    );
    assert_eq!(tree(&dest), ["first.txt"]);
    assert_eq!(
        std::fs::read_to_string(dest.join("first.txt")).unwrap(),
        "old"
    );

    // Truncated: the central directory is gone, so nothing can be read at all.
    let whole = stored_zip(&[("a.txt", "a"), ("b.txt", "b")]);
    let (status, body) = upload(
        &srv,
        s(&dest),
        Some("true"),
        "cut.zip",
        whole[..whole.len() / 2].to_vec(),
    );
    assert_eq!(status, 400, "{body}");
    assert_eq!(tree(&dest), ["first.txt"]);

    // A good archive still lands, overwriting in place.
    let good = stored_zip(&[("first.txt", "new first"), ("sub/second.txt", "second")]);
    assert_eq!(
        upload(&srv, s(&dest), Some("true"), "good.zip", good).0,
        200
    );
    assert_eq!(tree(&dest), ["first.txt", "sub/", "sub/second.txt"]);
    assert_eq!(
        std::fs::read_to_string(dest.join("first.txt")).unwrap(),
        "new first"
    );
}

/// Dangling symlinks in the working directory cannot carry an upload out of a confined server.
#[test]
fn confined_uploads_do_not_follow_dangling_links() {
    let srv = Server::builder().arg("--confine-files").start();
    let w = srv.workdir.clone();
    let outside_dir = tempfile::tempdir().unwrap();
    let outside = outside_dir.path().canonicalize().unwrap();
    std::fs::create_dir(w.join("in")).unwrap();
    std::os::unix::fs::symlink(outside.join("x.txt"), w.join("in/x.txt")).unwrap();
    std::os::unix::fs::symlink(outside.join("newdir"), w.join("dl")).unwrap();

    let (status, body) = upload(
        &srv,
        s(&w.join("in")),
        Some("true"),
        "a.zip",
        stored_zip(&[("x.txt", "pwned")]),
    );
    assert_eq!(status, 400, "{body}");
    assert_eq!(
        body["detail"],
        "Zip entry 'x.txt' would be written outside the destination through a symbolic link"
    );
    let (status, body) = upload(&srv, s(&w.join("dl")), None, "a.txt", b"pwned".to_vec());
    assert_eq!(status, 403, "{body}");
    let (status, body) = list(&srv, json!({"path": "dl"}));
    assert_eq!(status, 403, "{body}");
    assert_eq!(tree(&outside), Vec::<String>::new());
}
