//! `cargo bench -p openhands-lsp --bench docker_plugins`: the Docker sandbox with its plugins (IPython
//! kernel, Chromium) beside the local runtime with the same plugins: start to the first cell answered and
//! to the first browser observation, a warm cell and a warm `goto`, and the image sizes with and without
//! the plugins. Skips (and says so) without a Docker Engine.

use std::path::Path;
use std::time::{Duration, Instant};

use openhands_lsp::runtime::docker::{
    DockerOptions, DockerRuntime, ImageInfo, ImageSource, SandboxPlugins, build_sandbox_image,
    engine_check,
};
use openhands_lsp::runtime::{LocalOptions, LocalRuntime, Runtime, find_runtime_binary};
use openhands_runtime_api::{Action, ActionEvent, Observation, ObservationKind};

const RUNS: usize = 5;
const WARM: usize = 30;

fn cell(code: &str) -> ActionEvent {
    let action = serde_json::from_value(serde_json::json!({ "code": code })).unwrap();
    ActionEvent::new(Action::RunIpython(action)).with_timeout(120.0)
}

fn goto(url: &str) -> ActionEvent {
    let action = serde_json::from_value(serde_json::json!({
        "browser_actions": format!("goto(\"{url}\")")
    }))
    .unwrap();
    ActionEvent::new(Action::BrowseInteractive(action)).with_timeout(120.0)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn expect(obs: &Observation, cell: bool, needle: &str) {
    let kind_ok = match &obs.kind {
        ObservationKind::RunIpython { .. } => cell,
        ObservationKind::Browse(_) => !cell,
        _ => false,
    };
    assert!(
        kind_ok && obs.content.contains(needle),
        "unexpected answer: {}",
        obs.content
    );
}

fn options(plugins: SandboxPlugins) -> DockerOptions {
    DockerOptions {
        build: ImageSource::debian_rootfs(),
        plugins,
        ..DockerOptions::default()
    }
}

/// One of the two runtimes compared, started with both plugins.
enum Kind {
    Docker,
    Local,
}

async fn start(kind: &Kind, ws: &Path) -> Box<dyn Runtime> {
    let quiet = |_: &str| {};
    match kind {
        Kind::Docker => Box::new(
            DockerRuntime::start(ws, options(SandboxPlugins::ALL), &quiet)
                .await
                .unwrap(),
        ),
        Kind::Local => Box::new(
            LocalRuntime::start(
                ws,
                LocalOptions {
                    binary: None,
                    plugins: vec!["jupyter".to_owned()],
                    enable_browser: true,
                    withheld: Vec::new(),
                    env: Vec::new(),
                },
            )
            .await
            .unwrap(),
        ),
    }
}

/// The page's URL as the runtime sees the workspace.
fn page_url(rt: &dyn Runtime) -> String {
    format!("file://{}/page.html", rt.workspace_dir().display())
}

struct Figures {
    first_cell: Duration,
    first_page: Duration,
    warm_cell: Duration,
    warm_goto: Duration,
}

async fn measure(kind: Kind, ws: &Path) -> Figures {
    let mut first_cell = Vec::new();
    let mut first_page = Vec::new();
    for _ in 0..RUNS {
        let t = Instant::now();
        let rt = start(&kind, ws).await;
        expect(
            &rt.execute(&cell("print(6 * 7)")).await.unwrap(),
            true,
            "42",
        );
        first_cell.push(t.elapsed());
        rt.close().await;

        let t = Instant::now();
        let rt = start(&kind, ws).await;
        let url = page_url(rt.as_ref());
        expect(&rt.execute(&goto(&url)).await.unwrap(), false, "Bench page");
        first_page.push(t.elapsed());
        rt.close().await;
    }
    let rt = start(&kind, ws).await;
    let url = page_url(rt.as_ref());
    let mut cells = Vec::new();
    let mut gotos = Vec::new();
    for i in 0..WARM + 5 {
        let t = Instant::now();
        expect(&rt.execute(&cell("x = 1")).await.unwrap(), true, "");
        let c = t.elapsed();
        let t = Instant::now();
        expect(&rt.execute(&goto(&url)).await.unwrap(), false, "Bench page");
        let g = t.elapsed();
        if i >= 5 {
            cells.push(c);
            gotos.push(g);
        }
    }
    rt.close().await;
    Figures {
        first_cell: median(first_cell),
        first_page: median(first_page),
        warm_cell: median(cells),
        warm_goto: median(gotos),
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
    let build = |plugins| {
        let binary = binary.clone();
        async move {
            build_sandbox_image(&options(plugins), &binary, false, &quiet)
                .await
                .unwrap()
        }
    };
    let plain: ImageInfo = build(SandboxPlugins::default()).await;
    let with: ImageInfo = build(SandboxPlugins::ALL).await;
    // A cold build (debootstrap, then the plugins' packages from Debian) only on request.
    let cold = if std::env::var("BENCH_DOCKER_COLD").as_deref() == Ok("1") {
        let info = build_sandbox_image(&options(SandboxPlugins::ALL), &binary, true, &quiet)
            .await
            .unwrap();
        format!("{:.0} s", info.build_time.as_secs_f64())
    } else {
        "run with BENCH_DOCKER_COLD=1".to_owned()
    };

    let dir = tempfile::tempdir().unwrap();
    let ws = dir.path().canonicalize().unwrap();
    std::fs::write(
        ws.join("page.html"),
        "<html><head><title>Bench page</title></head><body><h1>Bench page</h1>\
         <form><input name=q aria-label=Query><button>Go</button></form></body></html>",
    )
    .unwrap();
    let docker = measure(Kind::Docker, &ws).await;
    let local = measure(Kind::Local, &ws).await;

    println!("| measure | docker runtime | target | baseline (same run) |");
    println!("| --- | --- | --- | --- |");
    println!(
        "| start to the first cell answered (`print(6 * 7)`): median of {RUNS} | {:.0} ms | < 1 s | local runtime: {:.0} ms |",
        ms(docker.first_cell),
        ms(local.first_cell)
    );
    println!(
        "| start to the first browser observation (`goto` a workspace page): median of {RUNS} | {:.0} ms | < 1.5 s | local runtime: {:.0} ms |",
        ms(docker.first_page),
        ms(local.first_page)
    );
    println!(
        "| warm cell (`x = 1`): median of {WARM} | {:.1} ms | — | local runtime: {:.1} ms |",
        ms(docker.warm_cell),
        ms(local.warm_cell)
    );
    println!(
        "| warm `goto`: median of {WARM} | {:.1} ms ({:+.0}%) | within 20% of local | local runtime: {:.1} ms |",
        ms(docker.warm_goto),
        (docker.warm_goto.as_secs_f64() / local.warm_goto.as_secs_f64() - 1.0) * 100.0,
        ms(local.warm_goto)
    );
    println!(
        "| image `{}` with jupyter and browser: size; cold build | {:.0} MiB; {cold} | — | `{}` without plugins: {:.0} MiB |",
        with.tag,
        with.size_bytes as f64 / 1048576.0,
        plain.tag,
        plain.size_bytes as f64 / 1048576.0
    );
}
