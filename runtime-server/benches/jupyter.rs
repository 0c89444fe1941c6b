//! `cargo bench -p openhands-runtime --bench jupyter`: the jupyter plugin's figures beside their baselines.
//!
//! Starts the release binary with `--plugins jupyter` on loopback and drives it over keep-alive HTTP. The
//! same client times `GET /alive` and an `echo` run action, and a Python `jupyter_client` times the same
//! cell against a bare ipykernel: the kernel's own floor. `BENCH_QUICK=1` shrinks the counts.

#[path = "support/mod.rs"]
mod support;

use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use support::{Server, row, rss_mib, stats};

/// ipykernel driven by jupyter_client, the way a Python client would: prints the median and p99 in ms.
const PY_BASELINE: &str = r#"
import sys, time
from jupyter_client.manager import start_new_kernel
n = int(sys.argv[1])
km, kc = start_new_kernel()
try:
    samples = []
    for _ in range(n + 5):
        t0 = time.perf_counter()
        kc.execute_interactive("print(1)", output_hook=lambda msg: None, timeout=30)
        samples.append(time.perf_counter() - t0)
    samples = sorted(samples[5:])
    print(samples[len(samples) // 2] * 1e3, samples[round((len(samples) - 1) * 0.99)] * 1e3)
finally:
    kc.stop_channels()
    km.shutdown_kernel(now=True)
"#;

const BARE: &[&str] = &["--no-enable-browser"];
const JUPYTER: &[&str] = &["--no-enable-browser", "--plugins", "jupyter"];

/// The jupyter plugin's part of the server.
trait Jupyter {
    fn jupyter(&self) -> Value;
    fn cell(&self, code: &str) -> Value;
}

impl Jupyter for Server {
    fn jupyter(&self) -> Value {
        self.info()["jupyter"].clone()
    }

    fn cell(&self, code: &str) -> Value {
        let obs =
            self.action(json!({"action": "run_ipython", "args": {"code": code}, "timeout": 60.0}));
        assert_eq!(obs["observation"], "run_ipython", "{obs}");
        obs
    }
}

/// `support::time` after five warm-up runs.
fn time<F: FnMut()>(n: usize, mut f: F) -> Vec<Duration> {
    for _ in 0..5 {
        f();
    }
    support::time(n, f)
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let quick = std::env::var("BENCH_QUICK").is_ok_and(|v| v == "1");
    let n = if quick { 50 } else { 300 };
    println!("| measure | openhands-runtime | target | baseline (same run) |");
    println!("| --- | --- | --- | --- |");

    let (bare, _) = Server::start(BARE);
    std::thread::sleep(Duration::from_millis(300));
    let bare_rss = rss_mib(bare.child.id());

    // Starts alternate so that both see the same machine load.
    let starts = if quick { 3 } else { 7 };
    let (mut ups, mut firsts, mut bare_ups) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..starts {
        bare_ups.push(Server::start(BARE).1);
        let t0 = Instant::now();
        let (srv, up) = Server::start(JUPYTER);
        srv.cell("print(1)");
        firsts.push(t0.elapsed());
        ups.push(up);
    }
    let srv = Server::start(JUPYTER).0;
    srv.cell("print(1)");
    row(
        &format!(
            "process start to first `/alive` / to the first cell answered (kernel start included): median of {starts}"
        ),
        format!("{:.1} ms / {:.0} ms", stats(ups).0, stats(firsts).0),
        "start not slowed",
        format!(
            "bare server to `/alive`: {:.1} ms; OpenHands: about 6 s to `/alive`, the gateway and kernel included",
            stats(bare_ups).0
        ),
    );

    let (cell_med, cell_p99) = stats(time(n, || {
        srv.cell("print(1)");
    }));
    let (alive_med, alive_p99) = stats(time(n, || srv.alive()));
    let (echo_med, _) = stats(time(n, || {
        srv.action(json!({"action": "run", "args": {"command": "echo hi"}, "timeout": 60.0}));
    }));
    let floor = Command::new("python3")
        .args(["-c", PY_BASELINE, &n.to_string()])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned());
    let parsed = floor.as_deref().and_then(|s| {
        let (med, p99) = s.split_once(' ')?;
        Some((med.parse::<f64>().ok()?, p99.parse::<f64>().ok()?))
    });
    let floor = match parsed {
        Some((med, p99)) => format!("jupyter_client → ipykernel directly: {med:.2} / {p99:.2} ms"),
        None => "jupyter_client baseline unavailable".to_owned(),
    };
    row(
        &format!("`print(1)` cell round trip, {n} sequential: median / p99"),
        format!("{cell_med:.2} ms / {cell_p99:.2} ms"),
        "< 10 ms (OpenHands: about 48 ms)",
        format!(
            "{floor}; HTTP `GET /alive`: {alive_med:.3} / {alive_p99:.3} ms; `echo hi` run action: {echo_med:.2} ms"
        ),
    );

    std::thread::sleep(Duration::from_millis(500));
    let kernel_pid = srv.jupyter()["pid"].as_u64().unwrap_or_default() as u32;
    let fresh = {
        let (fresh, _) = Server::start(JUPYTER);
        fresh.cell("1");
        std::thread::sleep(Duration::from_millis(300));
        (
            rss_mib(fresh.child.id()),
            rss_mib(fresh.jupyter()["pid"].as_u64().unwrap_or_default() as u32),
        )
    };
    row(
        "idle RSS, plugin started and kernel idle: server process (fresh / after the cells above); the kernel process",
        format!(
            "{:.1} MiB / {:.1} MiB; kernel {:.1} MiB",
            fresh.0,
            rss_mib(srv.child.id()),
            fresh.1.max(rss_mib(kernel_pid))
        ),
        "server < 15 MiB",
        format!("bare server (no plugin): {bare_rss:.1} MiB"),
    );
}
