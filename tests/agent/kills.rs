//! Fault tests: the parent (the CLI, or the editor of the LSP server), the runtime and the shell are killed
//! at chosen points of a task. Afterwards no process of the session is left, found by the runtime's session
//! marker (`OH_RUNTIME_SESSION` in the environment of everything the shell starts) and by process group,
//! never by name; and the conversation reads as interrupted, not lost.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};
use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant};

use serde_json::json;

use super::common::CliEnv as Env;
use super::scripted_llm::{Reply, ScriptedLlm, Wire};

const MARKER: &str = "OH_RUNTIME_SESSION=";

fn bash(command: &str) -> Reply {
    Reply::Tools {
        text: String::new(),
        calls: vec![(
            "execute_bash".into(),
            json!({"command": command, "timeout": 600}),
        )],
    }
}

/// A process's state letter, parent and process group, from /proc/<pid>/stat.
struct Stat {
    state: char,
    ppid: u32,
    pgid: u32,
}

fn stat(pid: u32) -> Option<Stat> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may hold spaces and parentheses: count from the last ')'.
    let rest: Vec<&str> = s[s.rfind(')')? + 1..].split_whitespace().collect();
    Some(Stat {
        state: rest.first()?.chars().next()?,
        ppid: rest.get(1)?.parse().ok()?,
        pgid: rest.get(2)?.parse().ok()?,
    })
}

/// Running, not a zombie waiting to be reaped.
fn alive(pid: u32) -> bool {
    stat(pid).is_some_and(|s| s.state != 'Z')
}

/// The children of `pid`.
fn children(pid: u32) -> Vec<u32> {
    all_pids()
        .into_iter()
        .filter(|&p| stat(p).is_some_and(|s| s.ppid == pid))
        .collect()
}

fn all_pids() -> Vec<u32> {
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .collect()
}

/// The session marker's value in a process's environment.
fn marker_of(pid: u32) -> Option<String> {
    let env = std::fs::read(format!("/proc/{pid}/environ")).ok()?;
    env.split(|b| *b == 0)
        .find_map(|v| v.strip_prefix(MARKER.as_bytes()))
        .map(|v| String::from_utf8_lossy(v).into_owned())
}

/// Live processes carrying `marker`, or in one of `groups`.
fn session_processes(marker: &str, groups: &BTreeSet<u32>) -> Vec<u32> {
    all_pids()
        .into_iter()
        .filter(|&pid| alive(pid))
        .filter(|&pid| {
            marker_of(pid).as_deref() == Some(marker)
                || stat(pid).is_some_and(|s| groups.contains(&s.pgid))
        })
        .collect()
}

/// The marker of the runtime `runtime_pid`'s shell, and the process groups of everything carrying it.
fn session_of(runtime_pid: u32) -> (String, BTreeSet<u32>) {
    let marker = children(runtime_pid)
        .into_iter()
        .find_map(marker_of)
        .expect("the runtime's shell carries the session marker");
    let groups = all_pids()
        .into_iter()
        .filter(|&pid| marker_of(pid).as_deref() == Some(marker.as_str()))
        .filter_map(|pid| stat(pid).map(|s| s.pgid))
        .collect();
    (marker, groups)
}

fn assert_session_gone(runtime_pid: u32, marker: &str, groups: &BTreeSet<u32>) {
    let deadline = Instant::now() + Duration::from_secs(3);
    loop {
        let left = session_processes(marker, groups);
        if left.is_empty() && !alive(runtime_pid) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "left behind: runtime {runtime_pid} alive={}, session processes {left:?}",
            alive(runtime_pid)
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Lines of a child's stderr, read on a thread.
fn lines(child: &mut Child) -> Receiver<String> {
    let (tx, rx) = std::sync::mpsc::channel();
    let err = child.stderr.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(err).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    rx
}

/// Reads lines until one contains `what`; returns them all.
fn until(rx: &Receiver<String>, what: &str) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut seen = Vec::new();
    while let Ok(line) = rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
        let found = line.contains(what);
        seen.push(line);
        if found {
            return seen;
        }
    }
    panic!("never saw {what:?}; saw:\n{}", seen.join("\n"));
}

fn runtime_pid(lines: &[String]) -> u32 {
    lines
        .iter()
        .find_map(|l| l.strip_prefix("runtime: local (pid "))
        .and_then(|rest| rest.split(',').next()?.parse().ok())
        .expect("the CLI names its runtime")
}

/// A CLI running `task` with `llm`, once its command `$ {command}` runs; with its runtime's pid.
fn cli_at(
    env: &Env,
    llm: &ScriptedLlm,
    task: &str,
    command: &str,
) -> (Child, Receiver<String>, u32) {
    let mut child = env
        .run_cmd(&llm.base_url, &[task])
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let rx = lines(&mut child);
    let seen = until(&rx, &format!("$ {command}"));
    let pid = runtime_pid(&seen);
    // Give the command a moment to be running in the shell.
    std::thread::sleep(Duration::from_millis(300));
    (child, rx, pid)
}

/// A CLI whose task started a `nohup` job and now runs `sleep 300`; returns it with its runtime's pid.
fn cli_in_a_long_command(env: &Env, llm: &ScriptedLlm) -> (Child, Receiver<String>, u32) {
    cli_at(env, llm, "start a job, then wait", "sleep 300")
}

/// A task that runs `sleep 300`, then `echo after`, then finishes.
fn sleep_then_echo() -> Vec<Reply> {
    vec![
        bash("sleep 300"),
        bash("echo after"),
        Reply::Tools {
            text: String::new(),
            calls: vec![("finish".into(), json!({"message": "done"}))],
        },
    ]
}

fn long_script() -> Vec<Reply> {
    vec![
        bash("nohup sleep 301 >/dev/null 2>&1 &"),
        bash("sleep 300"),
        Reply::Tools {
            text: String::new(),
            calls: vec![("finish".into(), json!({"message": "done"}))],
        },
    ]
}

fn conversations(env: &Env, llm: &ScriptedLlm) -> String {
    let out = env
        .cmd(&llm.base_url)
        .arg("conversations")
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn a_killed_cli_leaves_no_process_and_its_conversation_reads_interrupted() {
    let env = Env::new();
    let llm = ScriptedLlm::start(Wire::OpenAi, long_script());
    let (mut child, _rx, runtime) = cli_in_a_long_command(&env, &llm);
    let (marker, groups) = session_of(runtime);
    assert!(
        session_processes(&marker, &groups).len() >= 3,
        "the shell, sleep 300 and the nohup job run"
    );
    child.kill().unwrap(); // SIGKILL: nothing in the CLI runs
    child.wait().unwrap();
    assert_session_gone(runtime, &marker, &groups);

    let listing = conversations(&env, &llm);
    assert!(listing.contains("interrupted"), "{listing}");
    let id = listing.split_whitespace().next().unwrap().to_owned();
    // Resuming says so, and the model learns that the command never reported.
    let llm2 = ScriptedLlm::start(
        Wire::OpenAi,
        vec![Reply::Tools {
            text: String::new(),
            calls: vec![("finish".into(), json!({"message": "resumed"}))],
        }],
    );
    let out = env
        .run_cmd(&llm2.base_url, &["--resume", &id, "go on"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("was interrupted"), "{stderr}");
    let request = llm2.requests()[0].to_string();
    assert!(request.contains("did not report a result"), "{request}");
    let listing = conversations(&env, &llm2);
    assert!(listing.contains("finished"), "{listing}");
}

#[test]
fn a_cli_stopped_by_sigterm_leaves_no_process() {
    let env = Env::new();
    let llm = ScriptedLlm::start(Wire::OpenAi, long_script());
    let (mut child, _rx, runtime) = cli_in_a_long_command(&env, &llm);
    let (marker, groups) = session_of(runtime);
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    child.wait().unwrap();
    assert_session_gone(runtime, &marker, &groups);
    assert!(conversations(&env, &llm).contains("interrupted"));
}

#[test]
fn a_killed_runtime_is_replaced_and_its_command_does_not_survive_it() {
    let env = Env::new();
    let llm = ScriptedLlm::start(Wire::OpenAi, sleep_then_echo());
    let (mut child, rx, runtime) = cli_at(&env, &llm, "wait", "sleep 300");
    let (marker, groups) = session_of(runtime);
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(runtime as i32),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    // The PTY closes with the server: the shell and its foreground command hang up.
    assert_session_gone(runtime, &marker, &groups);
    until(&rx, "after");
    let status = child.wait().unwrap();
    assert!(status.success(), "{status}");
}

#[test]
fn a_killed_shell_is_restarted_and_the_agent_told() {
    let env = Env::new();
    let llm = ScriptedLlm::start(Wire::OpenAi, sleep_then_echo());
    let (child, _rx, runtime) = cli_at(&env, &llm, "wait", "sleep 300");
    let (marker, groups) = session_of(runtime);
    // The shell: the runtime's child carrying the marker; its whole group goes.
    for g in &groups {
        let _ = nix::sys::signal::killpg(
            nix::unistd::Pid::from_raw(*g as i32),
            nix::sys::signal::Signal::SIGKILL,
        );
    }
    let deadline = Instant::now() + Duration::from_secs(3);
    while !session_processes(&marker, &groups).is_empty() {
        assert!(
            Instant::now() < deadline,
            "the shell's group survived SIGKILL"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", out.status);
    // The model reads, in the observation of the killed command or of the next one, that the shell is new.
    let told = llm.requests().iter().any(|r| {
        r.to_string()
            .contains("The bash session had exited, so a new one was started")
    });
    assert!(told, "the agent was never told: {:#?}", llm.requests());
}

#[test]
fn an_editor_that_dies_mid_task_takes_the_session_down() {
    use super::lsp_frames::{read_frames, write_frame};
    let env = Env::new();
    let llm = ScriptedLlm::start(Wire::OpenAi, long_script());
    let ws = env.ws();
    let mut lsp = env
        .cmd(&llm.base_url)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = lsp.stdin.take().unwrap();
    let inbox = read_frames(lsp.stdout.take().unwrap());
    write_frame(
        &mut stdin,
        &json!({"jsonrpc": "2.0", "id": 1, "method": "initialize",
                "params": {"processId": null, "rootUri": format!("file://{}", ws.display()), "capabilities": {}}}),
    );
    // The spec's order: nothing but `initialized` before the answer to `initialize`.
    let answer = inbox.recv_timeout(Duration::from_secs(10)).unwrap();
    assert_eq!(answer["id"], json!(1), "{answer}");
    write_frame(
        &mut stdin,
        &json!({"jsonrpc": "2.0", "method": "initialized", "params": {}}),
    );
    write_frame(
        &mut stdin,
        &json!({"jsonrpc": "2.0", "id": 2, "method": "workspace/executeCommand",
                "params": {"command": "openhands.task.start", "arguments": ["start a job, then wait"]}}),
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut seen = Vec::new();
    loop {
        let Ok(msg) = inbox.recv_timeout(deadline.saturating_duration_since(Instant::now())) else {
            panic!("the task never reached sleep 300; saw {seen:#?}");
        };
        seen.push(msg.clone());
        if msg.get("method").is_some() && msg.get("id").is_some() {
            // A cooperative editor answers the server's requests (approvals included: allowed).
            let result = if msg["method"] == "window/showMessageRequest" {
                msg["params"]["actions"][0].clone()
            } else {
                serde_json::Value::Null
            };
            write_frame(
                &mut stdin,
                &json!({"jsonrpc": "2.0", "id": msg["id"], "result": result}),
            );
        }
        if msg["params"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("$ sleep 300"))
        {
            break;
        }
    }
    std::thread::sleep(Duration::from_millis(300));
    let runtime = *children(lsp.id())
        .first()
        .expect("the LSP server runs its runtime");
    let (marker, groups) = session_of(runtime);
    assert!(session_processes(&marker, &groups).len() >= 3);
    // The editor exits without shutdown: its pipe to the server closes.
    drop(stdin);
    let deadline = Instant::now() + Duration::from_secs(5);
    let status = loop {
        if let Some(status) = lsp.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "the server outlived its editor");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(status.code(), Some(1), "no shutdown came first");
    assert_session_gone(runtime, &marker, &groups);
    // The server stopped the task before it exited, so the conversation says so.
    let listing = conversations(&env, &llm);
    assert!(listing.contains("stopped"), "{listing}");
}

#[test]
fn a_cli_killed_while_the_model_thinks_leaves_no_process_and_reads_interrupted() {
    let env = Env::new();
    let llm = ScriptedLlm::start(
        Wire::OpenAi,
        vec![
            bash("nohup sleep 302 >/dev/null 2>&1 &"),
            Reply::Hang(Duration::from_secs(60)),
        ],
    );
    let (mut child, rx, runtime) = cli_at(&env, &llm, "start a job, then think", "nohup sleep 302");
    // The job runs; the model's second answer never comes.
    until(&rx, "[exit 0]");
    let (marker, groups) = session_of(runtime);
    child.kill().unwrap();
    child.wait().unwrap();
    assert_session_gone(runtime, &marker, &groups);
    let listing = conversations(&env, &llm);
    assert!(listing.contains("interrupted"), "{listing}");
}

#[test]
fn a_conversation_another_live_process_runs_cannot_be_resumed() {
    let env = Env::new();
    let llm = ScriptedLlm::start(
        Wire::OpenAi,
        vec![Reply::Tools {
            text: String::new(),
            calls: vec![("finish".into(), json!({"message": "done"}))],
        }],
    );
    let out = env.run_cmd(&llm.base_url, &["first"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let id = conversations(&env, &llm)
        .split_whitespace()
        .next()
        .unwrap()
        .to_owned();
    // Another process is running a task in it, as far as its metadata says.
    let mut other = std::process::Command::new("sleep")
        .arg("30")
        .spawn()
        .unwrap();
    let meta_path = env.data().join("conversations").join(&id).join("meta.json");
    let mut meta: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&meta_path).unwrap()).unwrap();
    meta["state"] = json!("running");
    meta["owner"] = json!({"pid": other.id(), "start": 0});
    std::fs::write(&meta_path, meta.to_string()).unwrap();

    let out = env
        .run_cmd(&llm.base_url, &["--resume", &id, "again"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(&format!("is running in process {}", other.id())),
        "{stderr}"
    );
    assert!(conversations(&env, &llm).contains("running"));
    // Once that process is gone, the conversation reads interrupted and resumes.
    other.kill().unwrap();
    other.wait().unwrap();
    assert!(conversations(&env, &llm).contains("interrupted"));
}
