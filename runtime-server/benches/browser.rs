//! `cargo bench -p openhands-runtime --bench browser`: the browser's figures, each beside a baseline
//! measured in the same run.
//!
//! Starts the release server with the browser on, serves a local page from a thread, and times
//! `browse_interactive` `goto(...)` (navigation plus the whole observation: bids, accessibility tree,
//! DOM snapshot, screenshot) and `browse` (the Markdown path). Memory: the server's own RSS with the
//! browser started and idle, beside a bare server's, and Chromium's process group beside them.
//! `BENCH_QUICK=1` shrinks the counts.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
#[path = "support/mod.rs"]
mod support;

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use support::{Server, proc_kib, row, rss_mib};

/// A page of ordinary size: headings, text, a form, a table and 40 links.
fn page() -> String {
    let links: String = (0..40)
        .map(|i| {
            format!("<li><a href=\"/item/{i}\">Item number {i}</a> with a short description</li>")
        })
        .collect();
    let rows: String = (0..20)
        .map(|i| format!("<tr><td>{i}</td><td>row {i}</td><td>{}</td></tr>", i * 7))
        .collect();
    format!(
        "<!doctype html><html><head><title>Bench page</title></head><body><h1>Bench page</h1>\
         <p>Some <b>text</b> to read, and <a href=\"/other\">a link</a>.</p>\
         <form><label>Name <input name=n></label><select><option>A</option><option>B</option></select>\
         <button>Send</button></form><ul>{links}</ul><table>{rows}</table></body></html>"
    )
}

/// Serves `page()` for every GET on loopback; returns the port.
fn serve_page() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let body = page();
    std::thread::spawn(move || {
        for stream in listener.incoming().map_while(Result::ok) {
            let body = body.clone();
            std::thread::spawn(move || {
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut stream = stream;
                loop {
                    let mut line = String::new();
                    // Request line and headers, up to the blank line (GET only: no body).
                    loop {
                        line.clear();
                        if reader.read_line(&mut line).unwrap_or(0) == 0 {
                            return;
                        }
                        if line.trim().is_empty() {
                            break;
                        }
                    }
                    let head = format!(
                        "HTTP/1.1 200 OK\r\ncontent-type: text/html\r\ncontent-length: {}\r\n\r\n",
                        body.len()
                    );
                    if stream.write_all(head.as_bytes()).is_err()
                        || stream.write_all(body.as_bytes()).is_err()
                    {
                        return;
                    }
                }
            });
        }
    });
    port
}

/// The browser's part of the server.
trait Browse {
    fn goto(&self, url: &str) -> Value;
}

impl Browse for Server {
    fn goto(&self, url: &str) -> Value {
        let obs = self.action(json!({"action": "browse_interactive",
            "args": {"browser_actions": format!("goto('{url}')")}, "timeout": 60.0}));
        assert_eq!(obs["extras"]["error"], false, "{obs}");
        obs
    }
}

/// Runs `f` `n` times; (median, p90) in milliseconds.
fn sample(n: usize, f: impl FnMut()) -> (f64, f64) {
    support::percentiles(support::time(n, f), 0.9)
}

/// Sums RSS and PSS (shared pages split between sharers) over a process group, in MiB.
fn group_memory(pgid: i64) -> (usize, f64, f64) {
    let mut count = 0;
    let (mut rss, mut pss) = (0, 0);
    for pid in std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i64>().ok())
    {
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        let fields: Vec<&str> = stat[stat.rfind(')').unwrap_or(0) + 2..]
            .split(' ')
            .collect();
        if fields.get(2).and_then(|g| g.parse().ok()) == Some(pgid) {
            count += 1;
            rss += proc_kib(&format!("/proc/{pid}/status"), "VmRSS:");
            pss += proc_kib(&format!("/proc/{pid}/smaps_rollup"), "Pss:");
        }
    }
    (count, rss as f64 / 1024.0, pss as f64 / 1024.0)
}

fn main() {
    let quick = std::env::var_os("BENCH_QUICK").is_some();
    let n = if quick { 10 } else { 50 };
    let port = serve_page();
    let url = format!("http://127.0.0.1:{port}/page");

    let bare = Server::start(&["--no-enable-browser"]).0;
    std::thread::sleep(Duration::from_millis(500));
    let bare_rss = rss_mib(bare.child.id());

    let srv = Server::start(&[]).0;
    let t = Instant::now();
    srv.goto(&url);
    let cold = t.elapsed();
    for _ in 0..3 {
        srv.goto(&url);
    }
    let (g50, g90) = sample(n, || {
        srv.goto(&url);
    });
    let (b50, b90) = sample(n, || {
        let obs = srv.action(json!({"action": "browse", "args": {"url": url}, "timeout": 60.0}));
        assert_eq!(obs["extras"]["error"], false, "{obs}");
    });
    let (f50, _) = sample(n, || {
        let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
        s.write_all(b"GET /page HTTP/1.1\r\nhost: x\r\n\r\n")
            .unwrap();
        let mut buf = vec![0; 64 * 1024];
        let _ = s.read(&mut buf).unwrap();
    });
    let (a50, _) = sample(n, || {
        srv.client
            .get(format!("{}/alive", srv.base))
            .send()
            .unwrap();
    });

    std::thread::sleep(Duration::from_secs(2));
    let info = srv.info();
    let server_rss = rss_mib(srv.child.id());
    let pid = info["browser"]["pid"].as_i64().expect("a running browser");
    let (procs, chromium_rss, chromium_pss) = group_memory(pid);

    println!("| measure | openhands-runtime | target | baseline (same run) |");
    println!("| --- | --- | --- | --- |");
    row(
        &format!("browser `goto` of a local page + observation, {n} sequential: median / p90"),
        format!("{g50:.1} ms / {g90:.1} ms"),
        "< 300 ms",
        format!("the page fetched over HTTP alone: {f50:.2} ms; `/alive` round trip: {a50:.2} ms"),
    );
    row(
        &format!("`browse` (Markdown text) of the same page, {n} sequential: median / p90"),
        format!("{b50:.1} ms / {b90:.1} ms"),
        "—",
        format!("`goto` median above: {g50:.1} ms"),
    );
    row(
        "first browser action (Chromium launched on demand)",
        format!("{:.0} ms", cold.as_secs_f64() * 1e3),
        "—",
        format!("a warm `goto`: {g50:.1} ms"),
    );
    row(
        "idle RSS of the server process with the browser started",
        format!("{server_rss:.1} MiB"),
        "—",
        format!("bare server (browser not started): {bare_rss:.1} MiB"),
    );
    row(
        "Chromium, idle (its process group)",
        format!("{procs} processes, RSS sum {chromium_rss:.0} MiB, PSS {chromium_pss:.0} MiB"),
        "—",
        format!("server alone: {server_rss:.1} MiB"),
    );
}
