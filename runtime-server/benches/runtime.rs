//! `cargo bench -p openhands-runtime`: the performance figures, each printed beside its floor.
//!
//! Starts the release binary on loopback and drives it with a minimal HTTP/1.1 keep-alive client, so
//! the numbers are the server's and not a client library's. `BENCH_QUICK=1` shrinks the counts.

#[path = "support/mod.rs"]
mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use support::{KEY, free_port, ms, row, rss_kib, stats, time};

struct Conn {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

impl Conn {
    fn open(port: u16) -> std::io::Result<Self> {
        let s = TcpStream::connect(("127.0.0.1", port))?;
        s.set_nodelay(true)?;
        Ok(Self {
            reader: BufReader::new(s.try_clone()?),
            writer: s,
        })
    }

    fn request(&mut self, method: &str, path: &str, body: &[u8]) -> (u16, Vec<u8>) {
        let head = format!(
            "{method} {path} HTTP/1.1\r\nhost: 127.0.0.1\r\nx-session-api-key: {KEY}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
            body.len()
        );
        let mut req = head.into_bytes();
        req.extend_from_slice(body);
        self.writer.write_all(&req).expect("send request");
        let mut status_line = String::new();
        self.reader
            .read_line(&mut status_line)
            .expect("status line");
        let status = status_line
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let mut len = 0usize;
        loop {
            let mut line = String::new();
            self.reader.read_line(&mut line).expect("header");
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some((k, v)) = line.split_once(':')
                && k.eq_ignore_ascii_case("content-length")
            {
                len = v.trim().parse().unwrap_or(0);
            }
        }
        let mut body = vec![0; len];
        self.reader.read_exact(&mut body).expect("body");
        (status, body)
    }

    fn action(&mut self, action: Value) -> Value {
        let body = serde_json::to_vec(&json!({ "action": action })).unwrap();
        let (status, out) = self.request("POST", "/execute_action", &body);
        assert_eq!(status, 200, "{}", String::from_utf8_lossy(&out));
        serde_json::from_slice(&out).unwrap()
    }

    fn run(&mut self, command: &str) -> Value {
        self.action(json!({"action": "run", "args": {"command": command}, "timeout": 120.0}))
    }
}

struct Server {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
    workdir: std::path::PathBuf,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts the server and returns it with the time from spawn to the first `/alive` answer.
fn start() -> (Server, Duration) {
    let dir = tempfile::tempdir().unwrap();
    let workdir = dir.path().canonicalize().unwrap();
    let port = free_port();
    let t0 = Instant::now();
    let child = support::spawn(port, &workdir, &["--no-enable-browser"]);
    loop {
        if let Ok(mut c) = Conn::open(port)
            && c.request("GET", "/alive", b"").0 == 200
        {
            break;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(20),
            "server never came up"
        );
        std::thread::sleep(Duration::from_micros(200));
    }
    let up = t0.elapsed();
    (
        Server {
            child,
            port,
            _dir: dir,
            workdir,
        },
        up,
    )
}

fn main() {
    // `cargo bench` passes `--bench`; a filter argument is accepted and ignored.
    let quick = std::env::var("BENCH_QUICK").is_ok();
    let n_echo = if quick { 50 } else { 200 };
    let n_lossless = if quick { 1_000 } else { 10_000 };

    let (srv, _) = start();
    let mut c = Conn::open(srv.port).unwrap();
    for _ in 0..20 {
        c.run("echo warm");
    }

    println!("| measure | openhands-runtime | target | baseline (same run) |");
    println!("| --- | --- | --- | --- |");

    let echo = stats(time(n_echo, || {
        assert_eq!(c.run("echo hi")["content"], "hi");
    }));
    let spawn_floor = stats(time(n_echo, || {
        let out = Command::new("bash")
            .args(["-c", "echo hi"])
            .output()
            .unwrap();
        assert_eq!(out.stdout, b"hi\n");
    }));
    let http_floor = stats(time(n_echo, || {
        assert_eq!(c.request("GET", "/alive", b"").0, 200);
    }));
    row(
        &format!("`echo hi` run action, {n_echo} sequential, keep-alive: median / p99"),
        format!("{:.2} ms / {:.2} ms", echo.0, echo.1),
        "≤ 2 ms / ≤ 5 ms",
        format!(
            "spawn `bash -c 'echo hi'`: {:.2} / {:.2} ms; HTTP round trip (`GET /alive`): {:.3} / {:.3} ms",
            spawn_floor.0, spawn_floor.1, http_floor.0, http_floor.1
        ),
    );

    let text: String = (0..10 * 1024)
        .map(|i| char::from(b'a' + (i % 26) as u8))
        .collect();
    let path = srv.workdir.join("bench.txt").display().to_string();
    let wr = stats(time(50, || {
        let w = c.action(json!({"action": "write", "args": {"path": path, "content": text}}));
        assert_eq!(w["observation"], "write", "{w}");
        let r = c.action(json!({"action": "read", "args": {"path": path}}));
        assert_eq!(r["content"].as_str().map(str::len), Some(text.len()), "{r}");
    }));
    let fs_floor = stats(time(50, || {
        std::fs::write(srv.workdir.join("floor.txt"), &text).unwrap();
        assert_eq!(
            std::fs::read_to_string(srv.workdir.join("floor.txt"))
                .unwrap()
                .len(),
            text.len()
        );
    }));
    row(
        "10 KB write + read pair: median / p99",
        format!("{:.2} ms / {:.2} ms", wr.0, wr.1),
        "—",
        format!("std::fs write+read in-process: {:.3} ms", fs_floor.0),
    );

    let lines: String = (0..200)
        .map(|i| format!("line {i} value = {i}\n"))
        .collect();
    let epath = srv.workdir.join("edit.py").display().to_string();
    let edits = time(5, || {
        std::fs::write(&epath, &lines).unwrap();
        for i in 0..20 {
            let o = c.action(json!({"action": "edit", "args": {"path": epath, "command": "str_replace",
                "old_str": format!("line {i} value = {i}\n"), "new_str": format!("line {i} value = {}\n", i * 2 + 1000)}}));
            assert!(
                o["content"]
                    .as_str()
                    .unwrap_or("")
                    .contains("has been edited"),
                "{o}"
            );
        }
    });
    let e = stats(edits);
    row(
        "20-edit `str_replace` sequence on a 200-line file: median",
        format!("{:.2} ms ({:.2} ms per edit)", e.0, e.0 / 20.0),
        "—",
        format!(
            "{:.3} ms HTTP round trips alone (20 × `/alive`)",
            http_floor.0 * 20.0
        ),
    );

    let big = stats(time(20, || {
        let o = c.run("head -c 1000000 /dev/zero | tr '\\0' 'x'; echo");
        assert_eq!(o["extras"]["metadata"]["exit_code"], 0);
    }));
    let big_floor = stats(time(20, || {
        let out = Command::new("bash")
            .args(["-c", "head -c 1000000 /dev/zero | tr '\\0' 'x'; echo"])
            .output()
            .unwrap();
        assert_eq!(out.stdout.len(), 1_000_001);
    }));
    row(
        "command printing 1 MB: median / p99",
        format!("{:.2} ms / {:.2} ms", big.0, big.1),
        "< 50 ms",
        format!(
            "same pipeline via `bash -c` to a pipe: {:.2} ms",
            big_floor.0
        ),
    );

    let t = Instant::now();
    let per_client = if quick { 25 } else { 100 };
    std::thread::scope(|s| {
        for k in 0..8 {
            let port = srv.port;
            s.spawn(move || {
                let mut c = Conn::open(port).unwrap();
                for i in 0..per_client {
                    let want = format!("c{k}-{i}");
                    assert_eq!(c.run(&format!("echo {want}"))["content"], want.as_str());
                }
            });
        }
    });
    let conc = t.elapsed();
    row(
        &format!("8 concurrent clients × {per_client} `echo`: wall time, throughput"),
        format!(
            "{:.1} ms, {:.0} commands/s",
            ms(conc),
            (8 * per_client) as f64 / conc.as_secs_f64()
        ),
        "no mixed outputs",
        format!(
            "sequential median × 8 × {per_client}: {:.1} ms",
            echo.0 * (8 * per_client) as f64
        ),
    );

    let mut lost = 0;
    for i in 0..n_lossless {
        let want = format!("n{i}");
        if c.run(&format!("echo {want}"))["content"] != want.as_str() {
            lost += 1;
        }
    }
    row(
        &format!("lost or mixed outputs over {n_lossless} commands"),
        lost.to_string(),
        "0",
        "OpenHands: about 3% of fast commands".into(),
    );

    std::thread::sleep(Duration::from_millis(500));
    let idle = rss_kib(srv.child.id());
    drop(c);
    drop(srv);

    let starts: Vec<Duration> = (0..if quick { 5 } else { 20 }).map(|_| start().1).collect();
    let up = stats(starts);
    row(
        "process start to first `/alive` answer: median",
        format!("{:.1} ms", up.0),
        "< 50 ms",
        "OpenHands: about 6 s".into(),
    );
    let (fresh, _) = start();
    std::thread::sleep(Duration::from_millis(300));
    let fresh_rss = rss_kib(fresh.child.id());
    row(
        "idle RSS of the server process (fresh / after the runs above)",
        format!(
            "{:.1} MiB / {:.1} MiB",
            fresh_rss as f64 / 1024.0,
            idle as f64 / 1024.0
        ),
        "< 15 MiB",
        "OpenHands: about 390 MiB".into(),
    );
}
