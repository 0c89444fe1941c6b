//! What the runtime's benchmarks share: starting the release server on loopback, driving it over HTTP,
//! timing, percentiles, /proc memory figures and the Markdown table rows they print.
#![allow(dead_code)] // each benchmark uses a part

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

pub const BIN: &str = env!("CARGO_BIN_EXE_openhands-runtime");
pub const KEY: &str = "bench-key";

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

/// Spawns the server on `port` in `workdir` with `args` after the usual ones; output is discarded.
pub fn spawn(port: u16, workdir: &Path, args: &[&str]) -> Child {
    Command::new(BIN)
        .arg(port.to_string())
        .arg("--working-dir")
        .arg(workdir)
        .args(args)
        .env("SESSION_API_KEY", KEY)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn server")
}

/// A server driven through reqwest (the jupyter and browser benchmarks, where the action dominates).
pub struct Server {
    pub child: Child,
    pub base: String,
    pub client: reqwest::blocking::Client,
    _dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    /// Starts the server and returns it with the time from spawn to the first `/alive` answer.
    pub fn start(args: &[&str]) -> (Self, Duration) {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let t0 = Instant::now();
        let child = spawn(port, dir.path(), args);
        let client = reqwest::blocking::Client::builder()
            .timeout(Duration::from_secs(120))
            .build()
            .unwrap();
        let base = format!("http://127.0.0.1:{port}");
        while !client
            .get(format!("{base}/alive"))
            .send()
            .is_ok_and(|r| r.status().is_success())
        {
            assert!(
                t0.elapsed() < Duration::from_secs(20),
                "server never came up"
            );
            std::thread::sleep(Duration::from_micros(200));
        }
        let up = t0.elapsed();
        let srv = Self {
            child,
            base,
            client,
            _dir: dir,
        };
        (srv, up)
    }

    pub fn alive(&self) {
        let r = self.client.get(format!("{}/alive", self.base)).send();
        assert!(r.unwrap().status().is_success());
    }

    pub fn action(&self, action: Value) -> Value {
        let resp = self
            .client
            .post(format!("{}/execute_action", self.base))
            .header("X-Session-API-Key", KEY)
            .json(&json!({ "action": action }))
            .send()
            .unwrap();
        assert!(resp.status().is_success());
        resp.json().unwrap()
    }

    pub fn info(&self) -> Value {
        self.client
            .get(format!("{}/server_info", self.base))
            .send()
            .unwrap()
            .json()
            .unwrap()
    }
}

pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// Runs `f` `n` times and returns each duration.
pub fn time<F: FnMut()>(n: usize, mut f: F) -> Vec<Duration> {
    (0..n)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .collect()
}

/// (median, quantile `q`) in milliseconds.
pub fn percentiles(mut samples: Vec<Duration>, q: f64) -> (f64, f64) {
    samples.sort();
    let pick = |q: f64| ms(samples[((samples.len() - 1) as f64 * q).round() as usize]);
    (pick(0.5), pick(q))
}

/// (median, p99) in milliseconds.
pub fn stats(samples: Vec<Duration>) -> (f64, f64) {
    percentiles(samples, 0.99)
}

/// A `/proc/<pid>/status` or `smaps_rollup` figure in KiB (0 if the process is gone).
pub fn proc_kib(path: &str, key: &str) -> u64 {
    std::fs::read_to_string(path)
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(key))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

pub fn rss_kib(pid: u32) -> u64 {
    proc_kib(&format!("/proc/{pid}/status"), "VmRSS:")
}

pub fn rss_mib(pid: u32) -> f64 {
    rss_kib(pid) as f64 / 1024.0
}

pub fn row(name: &str, value: String, target: &str, baseline: String) {
    println!("| {name} | {value} | {target} | {baseline} |");
}
