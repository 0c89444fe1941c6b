//! Integration tests: runtime. The local and remote runtimes against the real `openhands-runtime`
//! binary: start, actions, interrupts, a server killed under us, shutdown, and clear start-up errors.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use openhands_lsp::runtime::{
    LocalOptions, LocalRuntime, RemoteRuntime, Runtime, RuntimeError, find_runtime_binary,
    restarted_message,
};
use openhands_runtime_api::{
    Action, ActionEvent, CmdRunAction, FileReadAction, FileWriteAction, Observation,
    ObservationKind,
};
use pretty_assertions::assert_eq;
use tokio::io::{AsyncBufReadExt, BufReader};

use super::common::runtime_binary;

fn opts() -> LocalOptions {
    LocalOptions {
        binary: Some(runtime_binary()),
        plugins: Vec::new(),
        enable_browser: false,
        withheld: Vec::new(),
        env: Vec::new(),
    }
}

async fn start() -> (tempfile::TempDir, LocalRuntime) {
    let dir = tempfile::tempdir().unwrap();
    let runtime = LocalRuntime::start(dir.path(), opts())
        .await
        .expect("the local runtime starts");
    (dir, runtime)
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

fn process_exists(pid: u32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
}

fn kill_9(pid: u32) {
    let status = std::process::Command::new("kill")
        .args(["-9", &pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

#[tokio::test]
async fn the_local_runtime_runs_commands_and_file_actions() {
    let (dir, rt) = start().await;
    assert!(
        rt.description().starts_with("local (pid "),
        "{}",
        rt.description()
    );
    assert_eq!(rt.workspace_dir(), dir.path());
    rt.health().await.unwrap();

    let obs = rt.execute(&run("echo hello; pwd", 10.0)).await.unwrap();
    let expected = format!("hello\n{}", dir.path().display());
    assert_eq!(output(&obs), (0, expected.as_str()));

    let path = dir.path().join("a.txt").display().to_string();
    let write = ActionEvent::new(Action::Write(FileWriteAction::new(&path, "one\ntwo\n")));
    let obs = rt.execute(&write).await.unwrap();
    assert_eq!(obs.kind_name(), "write", "{}", obs.content);
    let obs = rt
        .execute(&ActionEvent::new(Action::Read(FileReadAction::new(&path))))
        .await
        .unwrap();
    assert_eq!(
        (obs.kind_name(), obs.content.as_str()),
        ("read", "one\ntwo\n")
    );

    // An action the server refuses is an HTTP error with the server's own detail.
    let think = ActionEvent::new(Action::Other {
        kind: "think".into(),
        args: serde_json::Map::new(),
    });
    match rt.execute(&think).await {
        Err(RuntimeError::Http {
            status: 400,
            detail,
        }) => assert!(!detail.is_empty()),
        other => panic!("{other:?}"),
    }
    rt.close().await;
}

#[tokio::test]
async fn interrupt_stops_a_command_that_outlived_its_timeout() {
    let (_dir, rt) = start().await;
    let started = Instant::now();
    let obs = rt.execute(&run("sleep 100", 1.0)).await.unwrap();
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_eq!(output(&obs).0, -1, "still running: {obs:?}");
    rt.interrupt().await;
    let obs = rt.execute(&run("echo after", 10.0)).await.unwrap();
    assert_eq!(output(&obs), (0, "after"));
    rt.close().await;
}

#[tokio::test]
async fn a_server_killed_from_outside_is_restarted_once_and_then_works() {
    let (dir, rt) = start().await;
    rt.execute(&run("export MARK=before; cd /", 10.0))
        .await
        .unwrap();
    let pid = rt.server_pid().unwrap();
    kill_9(pid);

    let obs = rt.execute(&run("echo $MARK", 10.0)).await.unwrap();
    assert_eq!(obs.kind_name(), "error");
    assert_eq!(obs.content, restarted_message("signal: 9 (SIGKILL)"));
    let new_pid = rt.server_pid().unwrap();
    assert_ne!(new_pid, pid);
    assert!(!process_exists(pid), "the dead server was reaped");

    // A fresh shell: the variable and the directory are gone.
    let obs = rt
        .execute(&run("echo \"[$MARK]\"; pwd", 10.0))
        .await
        .unwrap();
    let expected = format!("[]\n{}", dir.path().display());
    assert_eq!(output(&obs), (0, expected.as_str()));
    rt.health().await.unwrap();
    rt.close().await;
}

#[tokio::test]
async fn a_server_that_dies_mid_action_answers_that_action_with_the_restart() {
    let (_dir, rt) = start().await;
    let pid = rt.server_pid().unwrap();
    let killer = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(500)).await;
        kill_9(pid);
    });
    let obs = rt.execute(&run("sleep 30; echo done", 60.0)).await.unwrap();
    killer.await.unwrap();
    assert_eq!(obs.content, restarted_message("signal: 9 (SIGKILL)"));
    let obs = rt.execute(&run("echo again", 10.0)).await.unwrap();
    assert_eq!(output(&obs), (0, "again"));
    rt.close().await;
}

#[tokio::test]
async fn close_kills_the_server_and_is_idempotent() {
    let (_dir, rt) = start().await;
    let pid = rt.server_pid().unwrap();
    assert!(process_exists(pid));
    rt.close().await;
    assert!(!process_exists(pid), "pid {pid} survived close");
    assert_eq!(rt.server_pid(), None);
    rt.close().await;
    match rt.execute(&run("echo x", 5.0)).await {
        Err(RuntimeError::Unreachable { message, .. }) => assert!(message.contains("closed")),
        other => panic!("{other:?}"),
    }
    assert!(rt.health().await.is_err());
}

#[tokio::test]
async fn dropping_the_runtime_kills_the_server() {
    let (_dir, rt) = start().await;
    let pid = rt.server_pid().unwrap();
    drop(rt);
    let deadline = Instant::now() + Duration::from_secs(5);
    while process_exists(pid) && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(!process_exists(pid), "pid {pid} survived the drop");
}

#[tokio::test]
async fn a_missing_binary_is_a_clear_start_error() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no-such-openhands-runtime");
    let options = LocalOptions {
        binary: Some(missing.clone()),
        ..opts()
    };
    match LocalRuntime::start(dir.path(), options).await {
        Err(RuntimeError::Start(message)) => {
            assert!(
                message.contains(&missing.display().to_string()),
                "{message}"
            );
            assert!(message.contains("does not exist"), "{message}");
        }
        Err(other) => panic!("{other:?}"),
        Ok(_) => panic!("started without a binary"),
    }
    // Found beside the test executable's directory (target/<profile>/) when nothing is configured.
    assert!(find_runtime_binary(None).unwrap().is_file());
}

#[tokio::test]
async fn a_binary_that_exits_at_once_is_a_start_error_with_its_output() {
    let dir = tempfile::tempdir().unwrap();
    let options = LocalOptions {
        plugins: vec!["no-such-plugin".into()],
        ..opts()
    };
    match LocalRuntime::start(dir.path(), options).await {
        Err(RuntimeError::Start(message)) => {
            assert!(message.contains("exit status: 2"), "{message}");
            assert!(
                message.contains("unknown plugin 'no-such-plugin'"),
                "{message}"
            );
        }
        Err(other) => panic!("{other:?}"),
        Ok(_) => panic!("started with a bad plugin"),
    }
}

/// A server started by hand, as a remote runtime would be.
pub(crate) struct Server {
    _child: tokio::process::Child,
    pub(crate) url: String,
    workspace: tempfile::TempDir,
}

pub(crate) async fn serve(key: &str) -> Server {
    let workspace = tempfile::tempdir().unwrap();
    let mut child = tokio::process::Command::new(runtime_binary())
        .arg("0")
        .arg("--working-dir")
        .arg(workspace.path())
        .arg("--no-enable-browser")
        .env("SESSION_API_KEY", key)
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let url = tokio::time::timeout(Duration::from_secs(10), async {
        while let Some(line) = lines.next_line().await.unwrap() {
            if let Some(url) = line.strip_prefix("openhands-runtime listening on ") {
                return url.to_owned();
            }
        }
        panic!("the server ended without listening");
    })
    .await
    .unwrap();
    // Keep draining stderr so the server never blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    Server {
        _child: child,
        url,
        workspace,
    }
}

#[tokio::test]
async fn the_remote_runtime_checks_the_server_and_its_key() {
    let server = serve("remote-key-123").await;
    let ws: PathBuf = server.workspace.path().to_path_buf();

    let rt = RemoteRuntime::connect(&server.url, Some("remote-key-123".into()), ws.clone())
        .await
        .unwrap();
    assert_eq!(rt.description(), format!("remote ({})", server.url));
    let obs = rt.execute(&run("echo remote", 10.0)).await.unwrap();
    assert_eq!(output(&obs), (0, "remote"));
    rt.health().await.unwrap();
    rt.interrupt().await;
    rt.close().await;
    // Closing a remote runtime leaves the server running.
    rt.health().await.unwrap();

    for key in [Some("wrong".to_owned()), None] {
        match RemoteRuntime::connect(&server.url, key.clone(), ws.clone()).await {
            Err(RuntimeError::Start(message)) => {
                assert!(message.contains("refused the API key"), "{message}");
                assert!(message.contains("Invalid API Key"), "{message}");
            }
            Err(other) => panic!("{key:?}: {other:?}"),
            Ok(_) => panic!("{key:?} was accepted"),
        }
    }
}

#[tokio::test]
async fn an_unreachable_remote_is_a_clear_error() {
    // A port that was free a moment ago: nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}");
    let started = Instant::now();
    match RemoteRuntime::connect(&url, None, PathBuf::from("/tmp")).await {
        Err(e @ RuntimeError::Unreachable { .. }) => {
            let text = e.to_string();
            assert!(text.contains(&url), "{text}");
            assert!(text.contains("is the runtime server running"), "{text}");
        }
        Err(other) => panic!("{other:?}"),
        Ok(_) => panic!("connected to nothing"),
    }
    assert!(started.elapsed() < Duration::from_secs(5));
    match RemoteRuntime::connect("not a url", None, PathBuf::from("/tmp")).await {
        Err(RuntimeError::Start(message)) => assert!(message.contains("not a URL"), "{message}"),
        Err(other) => panic!("{other:?}"),
        Ok(_) => panic!("connected to nothing"),
    }
}
