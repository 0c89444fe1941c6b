//! Integration tests: the Docker runtime against the real Docker Engine: the sandbox image (built from a
//! debootstrapped Debian, then reused), commands and files as the user, limits, a memory hog, a container
//! killed mid-command, close/drop, orphans, reconnecting, and clear errors; `plugins` the IPython kernel and
//! Chromium inside the container. Skipped without an engine.

use std::collections::HashMap;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bollard::Docker;
use bollard::models::ContainerCreateBody;
use bollard::query_parameters::{
    CreateContainerOptions, KillContainerOptions, ListContainersOptions, RemoveImageOptions,
};
use openhands_lsp::runtime::docker::{
    DockerOptions, DockerRuntime, ExtraMount, ImageInfo, ImageSource, build_sandbox_image,
    engine_check, remove_orphans,
};
use openhands_lsp::runtime::{Runtime, RuntimeError, restarted_message};
use openhands_runtime_api::{
    Action, ActionEvent, CmdRunAction, FileWriteAction, Observation, ObservationKind,
};
use pretty_assertions::assert_eq;
use tokio::sync::OnceCell;

use super::common::runtime_binary;

mod plugins;

/// Tests use their own tag, so that they never replace the user's `openhands-sandbox:<version>`.
const TEST_IMAGE: &str = "openhands-sandbox-test:latest";

/// Why Docker tests cannot run here, if they cannot.
async fn skip_reason() -> Option<String> {
    if std::env::var("OPENHANDS_SKIP_DOCKER").as_deref() == Ok("1") {
        return Some("OPENHANDS_SKIP_DOCKER=1".to_owned());
    }
    engine_check(None).await.err().map(|e| e.to_string())
}

macro_rules! require_docker {
    () => {
        if let Some(reason) = skip_reason().await {
            eprintln!(
                "skipped: no Docker Engine ({reason}); set up docker.io (`apt-get install docker.io` and start \
                 dockerd) or set OPENHANDS_SKIP_DOCKER=1"
            );
            return;
        }
    };
}

fn opts() -> DockerOptions {
    DockerOptions {
        image: Some(TEST_IMAGE.to_owned()),
        build: ImageSource::debian_rootfs(),
        ..DockerOptions::default()
    }
}

fn print(line: &str) {
    eprintln!("  | {line}");
}

/// The test image, built (or found up to date) once per test process.
async fn image() -> &'static ImageInfo {
    static IMAGE: OnceCell<ImageInfo> = OnceCell::const_new();
    IMAGE
        .get_or_init(|| async {
            let info = build_sandbox_image(&opts(), &runtime_binary(), false, &print)
                .await
                .expect("the sandbox image builds");
            eprintln!(
                "sandbox image {} {} ({} bytes) reused={} in {:.1} s",
                info.tag,
                info.id,
                info.size_bytes,
                info.reused,
                info.build_time.as_secs_f64()
            );
            info
        })
        .await
}

/// Every start sweeps orphans; the test that crashes a process and then adopts its container holds this
/// exclusively, so that no other test's start removes that container first.
static SWEEPS: tokio::sync::RwLock<()> = tokio::sync::RwLock::const_new(());

async fn start_runtime(
    dir: &Path,
    options: DockerOptions,
    progress: &(dyn Fn(&str) + Send + Sync),
) -> Result<DockerRuntime, RuntimeError> {
    let _sweep = SWEEPS.read().await;
    DockerRuntime::start(dir, options, progress).await
}

async fn start_with(dir: &Path, options: DockerOptions) -> DockerRuntime {
    image().await;
    start_runtime(dir, options, &print)
        .await
        .expect("the docker runtime starts")
}

/// A client of our own for what the runtime does not expose (inspect, kill, create).
async fn docker() -> Docker {
    let docker = Docker::connect_with_unix_defaults().unwrap();
    match docker.clone().negotiate_version().await {
        Ok(docker) => docker,
        // Engines before API 1.49 (20.10 speaks 1.41) refuse the handshake at bollard's version.
        Err(_) => {
            let v141 = bollard::ClientVersion {
                major_version: 1,
                minor_version: 41,
            };
            Docker::connect_with_unix("/var/run/docker.sock", 60, &v141).unwrap()
        }
    }
}

fn run(command: &str, timeout: f64) -> ActionEvent {
    ActionEvent::new(Action::Run(CmdRunAction::new(command))).with_timeout(timeout)
}

/// A `run` observation's exit code and output.
fn output(obs: &Observation) -> (i64, &str) {
    match &obs.kind {
        ObservationKind::Run(extras) => (extras.metadata.exit_code, obs.content.trim()),
        other => panic!("expected a run observation, got {other:?}: {}", obs.content),
    }
}

async fn exists(docker: &Docker, id: &str) -> bool {
    docker
        .inspect_container(
            id,
            None::<bollard::query_parameters::InspectContainerOptions>,
        )
        .await
        .is_ok()
}

#[tokio::test]
async fn the_sandbox_image_is_built_from_a_debian_rootfs_and_then_reused() {
    require_docker!();
    let first = image().await;
    let lines = Arc::new(Mutex::new(Vec::<String>::new()));
    let sink = lines.clone();
    let record = move |l: &str| sink.lock().unwrap().push(l.to_owned());
    let again = build_sandbox_image(&opts(), &runtime_binary(), false, &record)
        .await
        .unwrap();
    eprintln!("cached build: {:.2} s", again.build_time.as_secs_f64());
    assert!(again.reused, "{again:?}");
    assert_eq!(
        (again.tag.as_str(), again.id.as_str()),
        (TEST_IMAGE, first.id.as_str())
    );
    assert!(again.size_bytes > 50 << 20, "{again:?}");
    let lines = lines.lock().unwrap().join("\n");
    assert!(lines.contains("inputs are unchanged"), "{lines}");
    assert!(lines.contains("openhands-sandbox-base:bookworm"), "{lines}");
}

#[tokio::test]
async fn a_changed_runtime_binary_rebuilds_the_image_and_drops_the_old_one() {
    require_docker!();
    image().await;
    let dir = tempfile::tempdir().unwrap();
    // Appending to an ELF file leaves it runnable; only the hash sees the change. The first byte makes
    // this image differ from the shared test image, which must survive the test.
    let binary = dir.path().join("openhands-runtime");
    let mut bytes = std::fs::read(runtime_binary()).unwrap();
    bytes.push(1);
    std::fs::write(&binary, &bytes).unwrap();
    let options = DockerOptions {
        image: Some(format!(
            "openhands-sandbox-test:inputs-{}",
            std::process::id()
        )),
        ..opts()
    };
    let first = build_sandbox_image(&options, &binary, false, &print)
        .await
        .unwrap();
    assert!(!first.reused);
    bytes.push(2);
    std::fs::write(&binary, bytes).unwrap();
    let second = build_sandbox_image(&options, &binary, false, &print)
        .await
        .unwrap();
    assert!(!second.reused);
    assert_ne!(second.id, first.id);
    let docker = docker().await;
    assert!(
        docker.inspect_image(&first.id).await.is_err(),
        "the old image was removed"
    );
    assert!(docker.inspect_image(TEST_IMAGE).await.is_ok());
    docker
        .remove_image(&second.tag, None::<RemoveImageOptions>, None)
        .await
        .unwrap();
}

#[tokio::test]
async fn commands_and_files_run_in_the_container_as_the_user() {
    require_docker!();
    image().await;
    let dir = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let rt = start_with(dir.path(), opts()).await;
    let obs = rt.execute(&run("echo hi", 10.0)).await.unwrap();
    eprintln!(
        "container start to first action: {:.2} s",
        started.elapsed().as_secs_f64()
    );
    assert_eq!(output(&obs), (0, "hi"));
    assert!(
        rt.description().starts_with("docker ("),
        "{}",
        rt.description()
    );
    assert!(
        rt.description().contains("http://127.0.0.1:"),
        "{}",
        rt.description()
    );
    assert_eq!(rt.workspace_dir(), Path::new("/workspace"));
    rt.health().await.unwrap();

    let uid = nix::unistd::getuid().as_raw();
    let obs = rt
        .execute(&run(
            "id -u; pwd; git --version >/dev/null && python3 -c 'print(6*7)'",
            10.0,
        ))
        .await
        .unwrap();
    assert_eq!(output(&obs), (0, format!("{uid}\n/workspace\n42").as_str()));

    let write = ActionEvent::new(Action::Write(FileWriteAction::new(
        "/workspace/a.txt",
        "one\n",
    )));
    let obs = rt.execute(&write).await.unwrap();
    assert_eq!(obs.kind_name(), "write", "{}", obs.content);
    let meta = std::fs::metadata(dir.path().join("a.txt")).unwrap();
    assert_eq!(
        std::fs::read_to_string(dir.path().join("a.txt")).unwrap(),
        "one\n"
    );
    assert_eq!(
        (meta.uid(), meta.gid()),
        (uid, nix::unistd::getgid().as_raw())
    );
    assert!(rt.logs().await.contains("listening"), "{}", rt.logs().await);

    // With every capability dropped, the shell still signals its own processes, and docker-init (pid 1)
    // reaps the ones it orphans.
    let obs = rt.execute(&run("sleep 100", 1.0)).await.unwrap();
    assert_eq!(output(&obs).0, -1, "still running: {obs:?}");
    rt.interrupt().await;
    let script = "sleep 100 & kill %1; wait; (sleep 0.2 &); sleep 0.6; ps -eo stat= | grep -c '^Z'";
    let obs = rt.execute(&run(script, 10.0)).await.unwrap();
    assert_eq!(output(&obs).1.lines().last(), Some("0"), "{}", obs.content);
    rt.close().await;
}

#[tokio::test]
async fn another_uid_owns_the_files_it_writes() {
    require_docker!();
    if !nix::unistd::geteuid().is_root() {
        eprintln!("skipped: needs root to hand the workspace to uid 1000");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    std::os::unix::fs::chown(dir.path(), Some(1000), Some(1000)).unwrap();
    let rt = start_with(
        dir.path(),
        DockerOptions {
            user: Some((1000, 1000)),
            ..opts()
        },
    )
    .await;
    let obs = rt
        .execute(&run("id -u; touch made-by-shell; echo $HOME", 10.0))
        .await
        .unwrap();
    assert_eq!(output(&obs), (0, "1000\n/tmp"));
    let meta = std::fs::metadata(dir.path().join("made-by-shell")).unwrap();
    assert_eq!((meta.uid(), meta.gid()), (1000, 1000));
    rt.close().await;
}

#[tokio::test]
async fn limits_confinement_env_and_mounts_are_applied() {
    require_docker!();
    let dir = tempfile::tempdir().unwrap();
    let extra = tempfile::tempdir().unwrap();
    std::fs::write(extra.path().join("data.txt"), "shared\n").unwrap();
    let options = DockerOptions {
        memory_bytes: 512 << 20,
        nano_cpus: 1_500_000_000,
        pids_limit: 300,
        env: vec![("GREETING".into(), "hello there".into())],
        mounts: vec![ExtraMount {
            host: extra.path().to_path_buf(),
            container: "/data".into(),
            read_only: true,
        }],
        ..opts()
    };
    let rt = start_with(dir.path(), options).await;
    let info = docker()
        .await
        .inspect_container(
            rt.container_id(),
            None::<bollard::query_parameters::InspectContainerOptions>,
        )
        .await
        .unwrap();
    let host = info.host_config.unwrap();
    assert_eq!(
        (
            host.memory,
            host.memory_swap,
            host.nano_cpus,
            host.pids_limit
        ),
        (
            Some(512 << 20),
            Some(512 << 20),
            Some(1_500_000_000),
            Some(300)
        )
    );
    assert_eq!((host.privileged, host.init), (Some(false), Some(true)));
    assert_eq!(host.cap_drop, Some(vec!["ALL".to_owned()]));
    assert_eq!(
        host.security_opt,
        Some(vec!["no-new-privileges".to_owned()])
    );
    assert_eq!(host.network_mode.as_deref(), Some("bridge"));
    let bindings = host.port_bindings.unwrap()["8000/tcp"].clone().unwrap();
    assert_eq!(bindings[0].host_ip.as_deref(), Some("127.0.0.1"));
    let labels = info.config.unwrap().labels.unwrap();
    assert_eq!(labels["openhands-lsp.managed"], "true");
    assert_eq!(
        labels["openhands-lsp.owner-pid"],
        std::process::id().to_string()
    );
    assert_eq!(labels["openhands-lsp.key"].len(), 32);

    let obs = rt
        .execute(&run(
            "echo \"$GREETING\"; cat /data/data.txt; touch /data/x 2>/dev/null || echo read-only",
            10.0,
        ))
        .await
        .unwrap();
    assert_eq!(output(&obs), (0, "hello there\nshared\nread-only"));
    // The container cannot reach the host's network namespace: only its own interface and loopback.
    let obs = rt
        .execute(&run("ls /sys/class/net | sort | tr '\\n' ' '", 10.0))
        .await
        .unwrap();
    assert_eq!(output(&obs), (0, "eth0 lo"));
    rt.close().await;
}

#[tokio::test]
async fn a_memory_hog_is_killed_and_the_session_survives() {
    require_docker!();
    let dir = tempfile::tempdir().unwrap();
    let rt = start_with(
        dir.path(),
        DockerOptions {
            memory_bytes: 256 << 20,
            ..opts()
        },
    )
    .await;
    let id = rt.container_id().to_owned();
    let obs = rt
        .execute(&run("python3 -c 'b = bytearray(512*1024*1024)'", 60.0))
        .await
        .unwrap();
    let (code, text) = output(&obs);
    assert_eq!(code, 137, "{text}");
    assert!(text.contains("memory limit of 256 MiB"), "{text}");
    let obs = rt.execute(&run("echo still here", 10.0)).await.unwrap();
    assert_eq!(output(&obs), (0, "still here"));
    assert_eq!(rt.container_id(), id, "the container was not replaced");
    rt.close().await;
}

#[tokio::test]
async fn a_container_killed_mid_command_is_restarted_once() {
    require_docker!();
    let dir = tempfile::tempdir().unwrap();
    let rt = Arc::new(start_with(dir.path(), opts()).await);
    let first = rt.container_id().to_owned();
    rt.execute(&run("export MARK=before", 10.0)).await.unwrap();
    let busy = tokio::spawn({
        let rt = rt.clone();
        async move { rt.execute(&run("sleep 30; echo done", 60.0)).await }
    });
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let docker = docker().await;
    docker
        .kill_container(&first, None::<KillContainerOptions>)
        .await
        .unwrap();
    let obs = tokio::time::timeout(Duration::from_secs(30), busy)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    let short = &first[..12];
    assert_eq!(
        obs.content,
        restarted_message(&format!("the container {short} exited with code 137"))
    );
    assert_ne!(rt.container_id(), first);
    assert!(
        !exists(&docker, &first).await,
        "the dead container was removed"
    );
    let obs = rt.execute(&run("echo \"[$MARK]\"", 10.0)).await.unwrap();
    assert_eq!(output(&obs), (0, "[]"));

    // A second death is not restarted.
    docker
        .kill_container(rt.container_id(), None::<KillContainerOptions>)
        .await
        .unwrap();
    match rt.execute(&run("echo again", 10.0)).await {
        Err(RuntimeError::Unreachable { message, .. }) => {
            assert!(message.contains("not restarted again"), "{message}")
        }
        other => panic!("{other:?}"),
    }
    rt.close().await;
}

#[tokio::test]
async fn close_and_drop_leave_no_container() {
    require_docker!();
    let docker = docker().await;
    let dir = tempfile::tempdir().unwrap();
    let rt = start_with(dir.path(), opts()).await;
    let id = rt.container_id().to_owned();
    rt.close().await;
    rt.close().await;
    assert!(!exists(&docker, &id).await);
    assert!(rt.execute(&run("echo x", 5.0)).await.is_err());
    assert!(rt.description().contains("removed"), "{}", rt.description());

    let rt = start_with(dir.path(), opts()).await;
    let id = rt.container_id().to_owned();
    drop(rt);
    assert!(!exists(&docker, &id).await, "drop removed the container");
    // Listed by our label, as `docker ps -a --filter label=openhands-lsp.managed=true` would.
    let options = ListContainersOptions {
        all: true,
        filters: Some(HashMap::from([(
            "label".to_owned(),
            vec!["openhands-lsp.managed=true".to_owned()],
        )])),
        ..Default::default()
    };
    let ours = docker.list_containers(Some(options)).await.unwrap();
    assert!(
        ours.iter().all(|c| c.id.as_deref() != Some(id.as_str())),
        "{ours:?}"
    );
}

#[tokio::test]
async fn containers_of_a_dead_owner_are_removed_as_orphans() {
    require_docker!();
    image().await;
    let docker = docker().await;
    let mut child = std::process::Command::new("true").spawn().unwrap();
    let dead_pid = child.id();
    child.wait().unwrap();
    let labels = HashMap::from([
        ("openhands-lsp.managed".to_owned(), "true".to_owned()),
        ("openhands-lsp.owner-pid".to_owned(), dead_pid.to_string()),
    ]);
    let body = ContainerCreateBody {
        image: Some(TEST_IMAGE.to_owned()),
        labels: Some(labels),
        ..Default::default()
    };
    let orphan = docker
        .create_container(None::<CreateContainerOptions>, body)
        .await
        .unwrap()
        .id;
    // A live runtime of ours is not an orphan.
    let dir = tempfile::tempdir().unwrap();
    let rt = start_with(dir.path(), opts()).await;
    let removed = {
        let _sweep = SWEEPS.read().await;
        remove_orphans(None).await.unwrap()
    };
    assert!(
        !exists(&docker, &orphan).await,
        "removed {removed}, the orphan survived"
    );
    assert!(exists(&docker, rt.container_id()).await);
    rt.close().await;
}

#[tokio::test]
async fn a_resumed_conversation_reconnects_to_its_running_container() {
    require_docker!();
    let dir = tempfile::tempdir().unwrap();
    let conversation = format!("test-{}", std::process::id());
    let options = DockerOptions {
        conversation_id: Some(conversation.clone()),
        ..opts()
    };
    let rt = start_with(dir.path(), options.clone()).await;
    let id = rt.container_id().to_owned();
    rt.execute(&run("export MARK=kept", 10.0)).await.unwrap();
    rt.detach().await;

    let lines = Arc::new(Mutex::new(Vec::<String>::new()));
    let sink = lines.clone();
    let record = move |l: &str| sink.lock().unwrap().push(l.to_owned());
    let rt = start_runtime(dir.path(), options, &record).await.unwrap();
    assert_eq!(rt.container_id(), id);
    assert!(
        lines
            .lock()
            .unwrap()
            .iter()
            .any(|l| l.contains("reconnected")),
        "{lines:?}"
    );
    let obs = rt.execute(&run("echo $MARK", 10.0)).await.unwrap();
    assert_eq!(output(&obs), (0, "kept"));
    rt.close().await;
}

#[tokio::test]
async fn a_missing_image_is_built_on_demand() {
    require_docker!();
    image().await;
    let tag = format!("openhands-sandbox-test:missing-{}", std::process::id());
    let dir = tempfile::tempdir().unwrap();
    let lines = Arc::new(Mutex::new(Vec::<String>::new()));
    let sink = lines.clone();
    let record = move |l: &str| sink.lock().unwrap().push(l.to_owned());
    let rt = start_runtime(
        dir.path(),
        DockerOptions {
            image: Some(tag.clone()),
            ..opts()
        },
        &record,
    )
    .await
    .unwrap();
    let text = lines.lock().unwrap().join("\n");
    assert!(
        text.contains(&format!("the sandbox image {tag} is missing; building it")),
        "{text}"
    );
    assert!(text.contains(&format!("built {tag}: ")), "{text}");
    let obs = rt.execute(&run("echo built", 10.0)).await.unwrap();
    assert_eq!(output(&obs), (0, "built"));
    rt.close().await;
    docker()
        .await
        .remove_image(&tag, None::<RemoveImageOptions>, None)
        .await
        .unwrap();
}

#[tokio::test]
async fn an_unreachable_registry_says_to_build_from_debian() {
    require_docker!();
    let options = DockerOptions {
        image: Some("openhands-sandbox-test:never".to_owned()),
        build: ImageSource::Registry {
            base: "registry.invalid/nothing:latest".to_owned(),
        },
        ..DockerOptions::default()
    };
    let err = build_sandbox_image(&options, &runtime_binary(), false, &print)
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("cannot pull the base image registry.invalid/nothing:latest"),
        "{text}"
    );
    assert!(text.contains("--rootfs debian"), "{text}");
}

#[tokio::test]
async fn a_stopped_engine_is_a_clear_error() {
    if std::env::var("OPENHANDS_SKIP_DOCKER").as_deref() == Ok("1") {
        eprintln!("skipped: OPENHANDS_SKIP_DOCKER=1");
        return;
    }
    let socket = Path::new("/nonexistent.sock");
    let expected = "cannot start the runtime: cannot reach the Docker Engine at /nonexistent.sock: \
                    /nonexistent.sock does not exist. Start it with `sudo systemctl start docker` (or \
                    `sudo dockerd &`), or choose --runtime local";
    assert_eq!(
        engine_check(Some(socket)).await.unwrap_err().to_string(),
        expected
    );
    let dir = tempfile::tempdir().unwrap();
    let options = DockerOptions {
        socket: Some(socket.to_path_buf()),
        ..opts()
    };
    match DockerRuntime::start(dir.path(), options, &print).await {
        Err(e) => assert_eq!(e.to_string(), expected),
        Ok(_) => panic!("started without an engine"),
    }
}

#[tokio::test]
async fn a_missing_workspace_is_a_clear_error_before_docker_is_asked() {
    if std::env::var("OPENHANDS_SKIP_DOCKER").as_deref() == Ok("1") {
        eprintln!("skipped: OPENHANDS_SKIP_DOCKER=1");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope");
    // The socket is bogus too: the workspace is checked first.
    let options = DockerOptions {
        socket: Some("/nonexistent.sock".into()),
        ..opts()
    };
    match DockerRuntime::start(&missing, options, &print).await {
        Err(RuntimeError::Start(message)) => {
            assert_eq!(
                message,
                format!("the workspace {} does not exist", missing.display())
            )
        }
        Err(other) => panic!("{other:?}"),
        Ok(_) => panic!("started on a missing workspace"),
    }
}

/// Set in the child process of the crash tests: the conversation id to start with, or `-` for none.
const HELPER_ENV: &str = "OPENHANDS_DOCKER_TEST_HELPER";

#[tokio::test]
#[ignore = "a helper: the crash tests run it in a child process and kill it"]
async fn helper_starts_a_runtime_and_waits_to_be_killed() {
    let Ok(conversation) = std::env::var(HELPER_ENV) else {
        return;
    };
    let dir = std::env::temp_dir();
    let options = DockerOptions {
        conversation_id: (conversation != "-").then_some(conversation),
        ..opts()
    };
    let rt = start_with(&dir, options).await;
    println!("container {}", rt.container_id());
    tokio::time::sleep(Duration::from_secs(120)).await;
}

/// Runs the helper in a child process, kills it with SIGKILL once its container runs, returns the id.
async fn crash_a_process_with_a_container(conversation: &str) -> String {
    use tokio::io::AsyncBufReadExt;
    let mut child = tokio::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "docker::helper_starts_a_runtime_and_waits_to_be_killed",
            "--exact",
            "--ignored",
            "--nocapture",
        ])
        .env(HELPER_ENV, conversation)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let id = tokio::time::timeout(Duration::from_secs(120), async {
        while let Some(line) = lines.next_line().await.unwrap() {
            if let Some(id) = line.strip_prefix("container ") {
                return id.to_owned();
            }
        }
        panic!("the helper ended without starting a container");
    })
    .await
    .unwrap();
    child.start_kill().unwrap();
    child.wait().await.unwrap();
    id
}

#[tokio::test]
async fn the_container_of_a_killed_process_is_removed_at_the_next_start() {
    require_docker!();
    image().await;
    let orphan = crash_a_process_with_a_container("-").await;
    let docker = docker().await;
    assert!(exists(&docker, &orphan).await, "nothing removed it yet");
    let dir = tempfile::tempdir().unwrap();
    let rt = start_with(dir.path(), opts()).await;
    assert!(
        !exists(&docker, &orphan).await,
        "the next start removed the orphan"
    );
    rt.close().await;
}

#[tokio::test]
async fn a_conversation_resumed_after_a_crash_adopts_its_container() {
    require_docker!();
    image().await;
    let conversation = format!("crash-{}", std::process::id());
    let sweep = SWEEPS.write().await;
    let id = crash_a_process_with_a_container(&conversation).await;
    let dir = std::env::temp_dir();
    let options = DockerOptions {
        conversation_id: Some(conversation),
        ..opts()
    };
    let rt = DockerRuntime::start(&dir, options, &print).await.unwrap();
    drop(sweep);
    assert_eq!(rt.container_id(), id);
    let info = docker()
        .await
        .inspect_container(
            &id,
            None::<bollard::query_parameters::InspectContainerOptions>,
        )
        .await
        .unwrap();
    let name = info.name.unwrap();
    assert!(
        name.starts_with(&format!("/openhands-lsp-{}-", std::process::id())),
        "renamed to its new owner: {name}"
    );
    // A later orphan sweep leaves it alone: its owner is now this live process.
    let _sweep = SWEEPS.read().await;
    remove_orphans(None).await.unwrap();
    let obs = rt.execute(&run("echo adopted", 10.0)).await.unwrap();
    assert_eq!(output(&obs), (0, "adopted"));
    rt.close().await;
}

/// The engine picks each container's host port, so a port in use elsewhere can never collide with ours.
#[tokio::test]
async fn host_ports_are_picked_by_the_engine_so_a_taken_port_cannot_collide() {
    require_docker!();
    image().await;
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let taken_port = taken.local_addr().unwrap().port();
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (ra, rb) = tokio::join!(start_with(a.path(), opts()), start_with(b.path(), opts()));
    let port = |rt: &DockerRuntime| {
        let d = rt.description();
        d.rsplit(':')
            .next()
            .and_then(|p| p.trim_end_matches(')').parse::<u16>().ok())
            .unwrap_or_else(|| panic!("no port in {d}"))
    };
    let (pa, pb) = (port(&ra), port(&rb));
    assert_ne!(pa, pb);
    assert!(pa != taken_port && pb != taken_port);
    assert!(
        ra.description().contains("http://127.0.0.1:"),
        "published on loopback only"
    );
    assert_eq!(
        output(&ra.execute(&run("echo a", 10.0)).await.unwrap()).1,
        "a"
    );
    assert_eq!(
        output(&rb.execute(&run("echo b", 10.0)).await.unwrap()).1,
        "b"
    );
    ra.close().await;
    rb.close().await;
    drop(taken);
}
