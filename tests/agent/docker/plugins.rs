//! The runtime's plugins inside the Docker sandbox: the image variant with Debian's ipykernel and Chromium,
//! a kernel and a browser that run unprivileged under the container's limits and go with it, a whole CLI
//! task that computes, serves a page in the container and fills its form, and the clear refusal of an
//! image that lacks a plugin the settings ask for. Real engine, kernel and Chromium; only the LLM is
//! scripted. Skipped without an engine.

use std::path::Path;

use openhands_lsp::runtime::docker::{
    DockerOptions, ImageInfo, ImageSource, SandboxPlugins, build_sandbox_image,
};
use openhands_lsp::runtime::{DockerRuntime, Runtime};
use openhands_runtime_api::{Action, ActionEvent, Observation, ObservationKind};
use pretty_assertions::assert_eq;
use serde_json::json;
use tokio::sync::OnceCell;

use super::{docker, exists, output, print, run, skip_reason, start_runtime};
use crate::cli::{docker_unavailable, our_containers};
use crate::common::{CliEnv, runtime_binary};
use crate::scripted_llm::{ScriptedLlm, Wire, tool as tools};

/// The test tag of the variant with both plugins (the user's `openhands-sandbox:<version>-...` is left be).
const PLUGINS_IMAGE: &str = "openhands-sandbox-test:jupyter-browser";

fn plugin_opts() -> DockerOptions {
    DockerOptions {
        image: Some(PLUGINS_IMAGE.to_owned()),
        build: ImageSource::debian_rootfs(),
        plugins: SandboxPlugins::ALL,
        ..DockerOptions::default()
    }
}

/// The variant, built (or found up to date) once per test process.
async fn plugin_image() -> &'static ImageInfo {
    static IMAGE: OnceCell<ImageInfo> = OnceCell::const_new();
    IMAGE
        .get_or_init(|| async {
            let info = build_sandbox_image(&plugin_opts(), &runtime_binary(), false, &print)
                .await
                .expect("the sandbox image with the plugins builds");
            eprintln!(
                "sandbox image {} ({} bytes) reused={} in {:.1} s",
                info.tag,
                info.size_bytes,
                info.reused,
                info.build_time.as_secs_f64()
            );
            info
        })
        .await
}

fn cell(code: &str) -> ActionEvent {
    let action = serde_json::from_value(json!({ "code": code })).unwrap();
    ActionEvent::new(Action::RunIpython(action)).with_timeout(60.0)
}

fn browse(actions: &str) -> ActionEvent {
    let action = serde_json::from_value(json!({ "browser_actions": actions })).unwrap();
    ActionEvent::new(Action::BrowseInteractive(action)).with_timeout(60.0)
}

/// The content of an observation of `kind`, or a panic naming what came instead.
fn content<'a>(obs: &'a Observation, kind: &str) -> &'a str {
    let got = match &obs.kind {
        ObservationKind::RunIpython { .. } => "run_ipython",
        ObservationKind::Browse(_) => "browse",
        ObservationKind::Error { .. } => "error",
        _ => "other",
    };
    assert_eq!(got, kind, "{}", obs.content);
    &obs.content
}

#[tokio::test]
async fn the_kernel_and_chromium_run_unprivileged_within_the_limits_and_go_with_the_container() {
    if let Some(reason) = skip_reason().await {
        eprintln!(
            "skipped: no Docker Engine ({reason}); set up docker.io (`apt-get install docker.io` and start \
             dockerd) or set OPENHANDS_SKIP_DOCKER=1"
        );
        return;
    }
    let info = plugin_image().await;
    assert_eq!(info.plugins, SandboxPlugins::ALL);
    let image = docker().await.inspect_image(PLUGINS_IMAGE).await.unwrap();
    assert_eq!(
        image.config.unwrap().labels.unwrap()["openhands-lsp.plugins"],
        "jupyter,browser"
    );
    let dir = tempfile::tempdir().unwrap();
    // Not root when we can hand the workspace over: Chromium then runs without a sandbox of its own only
    // because the server was told to (as root it always does).
    let user = nix::unistd::geteuid().is_root().then_some((1000, 1000));
    if user.is_some() {
        std::os::unix::fs::chown(dir.path(), Some(1000), Some(1000)).unwrap();
    }
    std::fs::write(
        dir.path().join("page.html"),
        "<html><head><title>Local</title></head><body><h1>Served from the workspace</h1></body></html>",
    )
    .unwrap();
    let rt: DockerRuntime = start_runtime(
        dir.path(),
        DockerOptions {
            memory_bytes: 1 << 30,
            user,
            ..plugin_opts()
        },
        &print,
    )
    .await
    .expect("the docker runtime starts with both plugins");
    let id = rt.container_id().to_owned();

    let obs = rt
        .execute(&cell("import os\nprint(os.getuid(), sys.version_info[0])"))
        .await
        .unwrap();
    let uid = user.map_or(nix::unistd::getuid().as_raw(), |(u, _)| u);
    assert!(
        content(&obs, "run_ipython").starts_with(&format!("{uid} 3\n")),
        "{}",
        obs.content
    );
    let obs = rt
        .execute(&browse("goto(\"file:///workspace/page.html\")"))
        .await
        .unwrap();
    assert!(
        content(&obs, "browse").contains("heading 'Served from the workspace'"),
        "{}",
        obs.content
    );

    // Both plugins run as the container's user, with no capability, under the pids limit.
    let obs = rt
        .execute(&run(
            "ps -eo uid=,comm= | awk '$2 ~ /^(chromium|python3)$/ {print $1, $2}' | sort -u; \
             grep -E '^Cap(Eff|Prm|Bnd)' /proc/self/status | awk '{print $2}' | sort -u; \
             cat /sys/fs/cgroup/pids.max 2>/dev/null || cat /sys/fs/cgroup/pids/pids.max; \
             n=$(ps -eLf --no-headers | wc -l); [ \"$n\" -lt 512 ] && echo \"threads under 512\" || echo \"$n threads\"",
            20.0,
        ))
        .await
        .unwrap();
    let (code, text) = output(&obs);
    assert_eq!(
        (code, text),
        (
            0,
            format!("{uid} chromium\n{uid} python3\n0000000000000000\n1024\nthreads under 512")
                .as_str()
        )
    );

    rt.close().await;
    assert!(!exists(&docker().await, &id).await, "the container is gone");
}

/// Writes the form page the whole task serves from inside the container.
fn write_form(ws: &Path) {
    std::fs::write(
        ws.join("form.html"),
        "<!doctype html><html><head><title>Greeter</title></head><body>\
         <form onsubmit=\"document.getElementById('out').textContent = 'Hello, ' + \
         this.who.value + '!'; return false;\"><input name=\"who\" aria-label=\"Who\">\
         <button type=\"submit\">Send</button></form><p id=\"out\">nobody yet</p></body></html>",
    )
    .unwrap();
}

#[test]
fn a_whole_task_computes_serves_a_page_and_fills_its_form_inside_the_container() {
    if let Some(reason) = docker_unavailable() {
        eprintln!("skipped: no Docker Engine ({reason})");
        return;
    }
    let env = CliEnv::new();
    std::fs::create_dir_all(env.ws().join(".openhands")).unwrap();
    // The default variant with both plugins, built from Debian's packages if it is missing.
    std::fs::write(
        env.ws().join(".openhands/config.toml"),
        "[runtime]\njupyter = true\nbrowser = true\n[docker]\nrootfs = \"debian\"\nmemory = \"1g\"\n",
    )
    .unwrap();
    write_form(&env.ws());
    // Bids follow document order: html 0, head 1, title 2, body 3, form 4, input 5, button 6.
    let llm = ScriptedLlm::start(
        Wire::OpenAi,
        vec![
            tools(
                "execute_bash",
                json!({"command": "(python3 -m http.server 8765 --bind 127.0.0.1 --directory /workspace \
                                  > /tmp/http.log 2>&1 &); sleep 1; echo serving"}),
            ),
            tools("execute_ipython_cell", json!({"code": "x = 6 * 7"})),
            tools("execute_ipython_cell", json!({"code": "print(x + 1)"})),
            tools(
                "browser",
                json!({"code": "goto(\"http://127.0.0.1:8765/form.html\")"}),
            ),
            tools("browser", json!({"code": "fill('5', 'Ada')\nclick('6')"})),
            tools(
                "execute_ipython_cell",
                json!({"code": "hog = b'x' * (2 * 1024 ** 3)"}),
            ),
            tools(
                "execute_ipython_cell",
                json!({"code": "print('x' in globals())"}),
            ),
            tools("finish", json!({"message": "greeted"})),
        ],
    );
    let out = env
        .run_cmd(&llm.base_url, &["--runtime", "docker", "greet Ada"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "greeted\n");

    let requests = llm.requests();
    let offered: Vec<&str> = requests[0]["tools"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|t| t["function"]["name"].as_str())
        .collect();
    assert!(
        offered.contains(&"execute_ipython_cell") && offered.contains(&"browser"),
        "the docker runtime offers the plugins' tools: {offered:?}"
    );
    // What the model read after each step: the last message of the next request.
    let seen = |step: usize| -> String {
        let messages = requests[step]["messages"].as_array().unwrap();
        messages.last().unwrap()["content"].to_string()
    };
    assert!(seen(1).contains("serving"), "{}", seen(1));
    assert!(
        seen(3).starts_with("\"43\\n"),
        "state kept across cells: {}",
        seen(3)
    );
    assert!(
        seen(4).contains("textbox 'Who'") && seen(4).contains("[5] textbox"),
        "the page served in the container, with the bid the script fills: {}",
        seen(4)
    );
    assert!(
        seen(5).contains("StaticText 'Hello, Ada!'"),
        "the form was filled and submitted: {}",
        seen(5)
    );
    assert!(
        seen(6).contains("The IPython kernel died while running this cell")
            && seen(6).contains(
                "The IPython kernel was killed: the sandbox has a memory limit of 1.0 GiB"
            ),
        "a cell over the memory limit is the kernel's death: {}",
        seen(6)
    );
    assert!(
        seen(7).starts_with("\"False\\n"),
        "the next cell has a fresh kernel: {}",
        seen(7)
    );
    assert!(
        our_containers(&env.ws()).is_empty(),
        "the container and everything in it are gone"
    );
}

#[test]
fn asking_for_the_browser_with_an_image_without_it_names_the_build_command() {
    if let Some(reason) = docker_unavailable() {
        eprintln!("skipped: no Docker Engine ({reason})");
        return;
    }
    // Any image without the plugins label will do; the engine's own `hello-world`-like images are not
    // here without a registry, so tag the base image, which has no runtime and no plugins.
    let lacking = "openhands-sandbox-test:no-plugins";
    let tagged = std::process::Command::new("docker")
        .args(["tag", "openhands-sandbox-base:bookworm", lacking])
        .status()
        .unwrap();
    if !tagged.success() {
        eprintln!(
            "skipped: no openhands-sandbox-base:bookworm to tag (build the sandbox image first)"
        );
        return;
    }
    let env = CliEnv::new();
    std::fs::create_dir_all(env.ws().join(".openhands")).unwrap();
    std::fs::write(
        env.ws().join(".openhands/config.toml"),
        format!(
            "[runtime]\nbrowser = true\n[docker]\nrootfs = \"debian\"\nimage = \"{lacking}\"\n"
        ),
    )
    .unwrap();
    let llm = ScriptedLlm::start(Wire::OpenAi, vec![]);
    let out = env
        .run_cmd(&llm.base_url, &["--runtime", "docker", "browse"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_ne!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "the sandbox image {lacking} has no Chromium (browser) (no plugins), which [runtime] asks for: \
             build one that has it with `openhands-lsp sandbox build --rootfs debian --plugins browser \
             --image {lacking}`"
        )),
        "{stderr}"
    );
    assert!(llm.requests().is_empty(), "the task did not start");
    assert!(our_containers(&env.ws()).is_empty());
    // `doctor` says the same before any task.
    let doctor = env
        .cmd(&llm.base_url)
        .args(["doctor", "--runtime", "docker", "--workspace"])
        .arg(env.ws())
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&doctor.stdout);
    assert!(
        report.contains(&format!(
            "FAIL sandbox image: the sandbox image {lacking} has no Chromium (browser)"
        )),
        "{report}"
    );
    let _ = std::process::Command::new("docker")
        .args(["rmi", lacking])
        .output();
}
