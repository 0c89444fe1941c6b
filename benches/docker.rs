//! `cargo bench -p openhands-lsp --bench docker`: the Docker sandbox's start and round-trip times beside
//! the local runtime's, and the image build time and size. Skips (and says so) without a Docker Engine.

use std::path::Path;
use std::time::{Duration, Instant};

use openhands_lsp::runtime::docker::{
    DockerOptions, DockerRuntime, ImageSource, build_sandbox_image, engine_check,
};
use openhands_lsp::runtime::{LocalOptions, LocalRuntime, Runtime, find_runtime_binary};
use openhands_runtime_api::{Action, ActionEvent, CmdRunAction};

fn echo() -> ActionEvent {
    ActionEvent::new(Action::Run(CmdRunAction::new("echo hi"))).with_timeout(120.0)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

async fn echo_median(rt: &dyn Runtime, n: usize) -> Duration {
    for _ in 0..10 {
        rt.execute(&echo()).await.unwrap();
    }
    let mut v = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        let obs = rt.execute(&echo()).await.unwrap();
        v.push(t.elapsed());
        assert_eq!(obs.content, "hi");
    }
    median(v)
}

fn options() -> DockerOptions {
    DockerOptions {
        build: ImageSource::DebianRootfs {
            suite: "bookworm".into(),
            mirror: "http://deb.debian.org/debian".into(),
        },
        ..DockerOptions::default()
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    if let Err(e) = engine_check(None).await {
        println!("skipped: {e}");
        return;
    }
    let binary = find_runtime_binary(None)
        .expect("build it first: cargo build --release -p openhands-runtime");
    let quiet = |_: &str| {};
    let info = build_sandbox_image(&options(), &binary, false, &quiet)
        .await
        .unwrap();
    // A cold build (debootstrap included, about 45 s here) only on request.
    let cold = if std::env::var("BENCH_DOCKER_COLD").as_deref() == Ok("1") {
        Some(
            build_sandbox_image(&options(), &binary, true, &quiet)
                .await
                .unwrap(),
        )
    } else {
        None
    };
    let dir = tempfile::tempdir().unwrap();
    let ws = dir.path().canonicalize().unwrap();

    let mut starts = Vec::new();
    for _ in 0..5 {
        let t = Instant::now();
        let rt = DockerRuntime::start(&ws, options(), &quiet).await.unwrap();
        rt.execute(&echo()).await.unwrap();
        starts.push(t.elapsed());
        rt.close().await;
    }
    let mut local_starts = Vec::new();
    for _ in 0..5 {
        let t = Instant::now();
        let rt = local(&ws).await;
        rt.execute(&echo()).await.unwrap();
        local_starts.push(t.elapsed());
        rt.close().await;
    }
    let docker = DockerRuntime::start(&ws, options(), &quiet).await.unwrap();
    let docker_echo = echo_median(&docker, 200).await;
    docker.close().await;
    let local_rt = local(&ws).await;
    let local_echo = echo_median(&local_rt, 200).await;
    local_rt.close().await;

    println!("| measure | docker runtime | target | baseline (same run) |");
    println!("| --- | --- | --- | --- |");
    println!(
        "| `start` to the first action answered (image present): median of 5 | {:.0} ms | < 1.5 s | local runtime: {:.0} ms |",
        ms(median(starts)),
        ms(median(local_starts))
    );
    println!(
        "| `echo hi` through the container: median of 200 | {:.2} ms | ≤ 3 ms | local runtime: {:.2} ms |",
        ms(docker_echo),
        ms(local_echo)
    );
    let cold = cold.map_or("cold build: run with BENCH_DOCKER_COLD=1".to_owned(), |c| {
        format!(
            "cold build from Debian's packages {:.1} s",
            c.build_time.as_secs_f64()
        )
    });
    println!(
        "| sandbox image `{}`: size; build time | {:.0} MiB; {cold} | — | up-to-date check: {:.2} s |",
        info.tag,
        info.size_bytes as f64 / 1048576.0,
        info.build_time.as_secs_f64()
    );
}

async fn local(ws: &Path) -> LocalRuntime {
    LocalRuntime::start(
        ws,
        LocalOptions {
            binary: None,
            plugins: Vec::new(),
            enable_browser: false,
            withheld: Vec::new(),
            env: Vec::new(),
        },
    )
    .await
    .unwrap()
}
