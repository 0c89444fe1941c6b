//! The headless CLI as a user runs it: the real `openhands-lsp` binary, a scripted LLM, a real runtime.

use std::path::Path;
use std::process::{Command, Output};

use serde_json::json;

use super::common::CliEnv;
use super::scripted_llm::{Reply, ScriptedLlm, Wire, tool as tools};

type Env = CliEnv;

trait RunOutput {
    fn run(&self, llm_url: &str, args: &[&str]) -> Output;
}

impl RunOutput for CliEnv {
    fn run(&self, llm_url: &str, args: &[&str]) -> Output {
        self.run_cmd(llm_url, args).output().unwrap()
    }
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn run_finishes_a_task_lists_it_and_resumes_it() {
    let env = Env::new();
    let llm = ScriptedLlm::start(
        Wire::OpenAi,
        vec![
            tools(
                "execute_bash",
                json!({"command": "echo hi > out.txt && cat out.txt"}),
            ),
            tools("finish", json!({"message": "Wrote out.txt."})),
            tools("finish", json!({"message": "Still there."})),
        ],
    );
    let out = env.run(&llm.base_url, &["write hi into out.txt"]);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "stderr:\n{stderr}");
    assert_eq!(stdout, "Wrote out.txt.\n");
    assert!(stderr.contains("> write hi into out.txt"), "{stderr}");
    assert!(
        stderr.contains("$ echo hi > out.txt && cat out.txt"),
        "{stderr}"
    );
    assert!(stderr.contains("  hi\n  [exit 0]"), "{stderr}");
    assert!(!stderr.contains("sk-test-secret"));
    assert_eq!(
        std::fs::read_to_string(env.ws().join("out.txt")).unwrap(),
        "hi\n"
    );

    let list = env
        .cmd(&llm.base_url)
        .arg("conversations")
        .output()
        .unwrap();
    let listing = text(&list.stdout);
    assert_eq!(list.status.code(), Some(0));
    assert!(listing.contains("finished"), "{listing}");
    assert!(listing.contains("write hi into out.txt"), "{listing}");
    let id = listing.split_whitespace().next().unwrap().to_owned();

    let out = env.run(&llm.base_url, &["--resume", &id, "is it still there?"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "Still there.\n");
    let last = llm.requests().last().unwrap().to_string();
    assert!(last.contains("write hi into out.txt") && last.contains("is it still there?"));
}

#[test]
fn exit_codes_say_how_a_task_ended() {
    let env = Env::new();
    let llm = ScriptedLlm::start(
        Wire::OpenAi,
        vec![
            tools("think", json!({"thought": "a"})),
            tools("think", json!({"thought": "b"})),
            Reply::Text("Which branch?".into()),
        ],
    );
    let out = env.run(&llm.base_url, &["--max-iterations", "1", "think"]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("maximum iteration limit"));
    let out = env.run(&llm.base_url, &["ask me"]);
    assert_eq!(out.status.code(), Some(5), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "Which branch?\n");
    assert!(text(&out.stderr).contains("--resume"));
}

#[test]
fn configuration_mistakes_are_clear_and_exit_2() {
    let env = Env::new();
    let llm = ScriptedLlm::start(Wire::OpenAi, vec![]);
    let cfg = env.ws().join(".openhands");
    std::fs::create_dir_all(&cfg).unwrap();
    std::fs::write(cfg.join("config.toml"), "[llm\nmodel = 1").unwrap();
    let out = env.run(&llm.base_url, &["x"]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(
        err.contains(".openhands/config.toml is not valid TOML"),
        "{err}"
    );
    std::fs::remove_file(cfg.join("config.toml")).unwrap();

    let mut c = env.cmd(&llm.base_url);
    c.env_remove("LLM_MODEL")
        .arg("run")
        .arg("--workspace")
        .arg(env.ws())
        .arg("x");
    let out = c.output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("LLM_MODEL"),
        "{}",
        text(&out.stderr)
    );

    let out = env.run(&llm.base_url, &["--runtime", "podman", "x"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("use local, remote or docker"),
        "{}",
        text(&out.stderr)
    );

    let out = env.run(&llm.base_url, &["--workspace", "/does/not/exist", "x"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn an_unreachable_llm_fails_with_the_reason() {
    let env = Env::new();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let out = env.run(&format!("http://127.0.0.1:{port}/v1"), &["x"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("cannot reach the LLM"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn a_read_only_data_dir_is_reported() {
    if Path::new("/proc/self/status").exists()
        && std::fs::read_to_string("/proc/self/status")
            .unwrap_or_default()
            .lines()
            .any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(1) == Some("0"))
    {
        eprintln!("skipped: root ignores directory permissions");
        return;
    }
    use std::os::unix::fs::PermissionsExt as _;
    let env = Env::new();
    std::fs::create_dir_all(env.data()).unwrap();
    std::fs::set_permissions(env.data(), std::fs::Permissions::from_mode(0o555)).unwrap();
    let llm = ScriptedLlm::start(Wire::OpenAi, vec![]);
    let out = env.run(&llm.base_url, &["x"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("--data-dir"));
}

#[test]
fn an_unusable_data_dir_is_reported_even_as_root() {
    let env = Env::new();
    let blocker = env.dir.path().join("a-file");
    std::fs::write(&blocker, "not a directory").unwrap();
    let llm = ScriptedLlm::start(Wire::OpenAi, vec![]);
    let out = env.run(
        &llm.base_url,
        &[
            "--data-dir",
            &blocker.join("data").display().to_string(),
            "x",
        ],
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("--data-dir"),
        "{}",
        text(&out.stderr)
    );
}

/// True once `pid` has exited (gone, or a zombie waiting for its new parent).
fn process_ended(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z')),
    }
}

#[test]
fn the_runtime_dies_with_a_killed_cli() {
    use std::io::{BufRead, BufReader};
    let env = Env::new();
    let llm = ScriptedLlm::start(
        Wire::OpenAi,
        vec![Reply::Hang(std::time::Duration::from_secs(60))],
    );
    let mut cmd = env.cmd(&llm.base_url);
    cmd.arg("run")
        .arg("--workspace")
        .arg(env.ws())
        .arg("wait")
        .stderr(std::process::Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    let stderr = child.stderr.take().unwrap();
    let mut runtime_pid = None;
    for line in BufReader::new(stderr).lines().map_while(Result::ok) {
        if let Some(rest) = line.strip_prefix("runtime: local (pid ") {
            runtime_pid = rest.split(',').next().and_then(|p| p.parse::<u32>().ok());
            break;
        }
    }
    let runtime_pid = runtime_pid.expect("the CLI names its runtime");
    assert!(!process_ended(runtime_pid));
    child.kill().unwrap(); // SIGKILL: no handler runs in the CLI
    child.wait().unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !process_ended(runtime_pid) {
        assert!(
            std::time::Instant::now() < deadline,
            "runtime {runtime_pid} outlived its parent"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// `Some(reason)` when the Docker tests cannot run here; they then say so instead of passing silently.
pub(crate) fn docker_unavailable() -> Option<String> {
    if std::env::var("OPENHANDS_SKIP_DOCKER").as_deref() == Ok("1") {
        return Some("OPENHANDS_SKIP_DOCKER=1".into());
    }
    match Command::new("docker").arg("info").output() {
        Ok(o) if o.status.success() => None,
        Ok(o) => Some(
            text(&o.stderr)
                .lines()
                .next()
                .unwrap_or("docker info failed")
                .to_owned(),
        ),
        Err(e) => Some(format!("no docker client: {e}")),
    }
}

/// Our containers for one workspace (other tests run theirs at the same time).
pub(crate) fn our_containers(ws: &Path) -> Vec<String> {
    let filter = format!("label=openhands-lsp.workspace={}", ws.display());
    let out = Command::new("docker")
        .args(["ps", "-aq", "--filter", &filter])
        .output()
        .unwrap();
    text(&out.stdout).lines().map(str::to_owned).collect()
}

#[test]
fn a_whole_task_in_a_docker_sandbox() {
    if let Some(reason) = docker_unavailable() {
        eprintln!("skipped: no Docker Engine ({reason})");
        return;
    }
    let env = Env::new();
    // No registry here: the sandbox is built from Debian's packages if it is missing.
    std::fs::create_dir_all(env.ws().join(".openhands")).unwrap();
    std::fs::write(
        env.ws().join(".openhands/config.toml"),
        // A named secret reaches the container's shell under its name, and only its length is printed.
        "[docker]\nrootfs = \"debian\"\nmemory = \"1g\"\n[secrets]\nDOCKER_TOKEN = \"tok-in-docker-1234\"\n",
    )
    .unwrap();
    assert!(our_containers(&env.ws()).is_empty());
    let llm = ScriptedLlm::start(
        Wire::OpenAi,
        vec![
            tools(
                "execute_bash",
                json!({"command": "pwd && echo made-in-docker > made.txt && id -u && echo ${#DOCKER_TOKEN}"}),
            ),
            tools("finish", json!({"message": "made it"})),
        ],
    );
    let out = env.run(&llm.base_url, &["--runtime", "docker", "make a file"]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert_eq!(text(&out.stdout), "made it\n");
    assert!(stderr.contains("runtime: docker"), "{stderr}");
    let uid = std::fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .find(|l| l.starts_with("Uid:"))
        .and_then(|l| l.split_whitespace().nth(1).map(str::to_owned))
        .unwrap();
    assert!(
        stderr.contains(&format!("  /workspace\n  {uid}\n  18\n  [exit 0]")),
        "{stderr}"
    );
    assert!(!stderr.contains("tok-in-docker-1234"), "{stderr}");
    let made = env.ws().join("made.txt");
    assert_eq!(std::fs::read_to_string(&made).unwrap(), "made-in-docker\n");
    use std::os::unix::fs::MetadataExt as _;
    assert_eq!(
        std::fs::metadata(&made).unwrap().uid().to_string(),
        uid,
        "owned by the user"
    );
    assert!(
        our_containers(&env.ws()).is_empty(),
        "no container is left behind"
    );
}

#[test]
fn docker_without_an_engine_is_a_clear_error() {
    let env = Env::new();
    std::fs::create_dir_all(env.ws().join(".openhands")).unwrap();
    std::fs::write(
        env.ws().join(".openhands/config.toml"),
        "[docker]\nsocket = \"/nonexistent/docker.sock\"\n",
    )
    .unwrap();
    let llm = ScriptedLlm::start(Wire::OpenAi, vec![]);
    let out = env.run(&llm.base_url, &["--runtime", "docker", "x"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    let err = text(&out.stderr);
    assert!(
        err.contains("Docker Engine") && err.contains("dockerd"),
        "{err}"
    );
    // With fallback_to_local the task runs on the local runtime instead.
    std::fs::write(
        env.ws().join(".openhands/config.toml"),
        "[docker]\nsocket = \"/nonexistent/docker.sock\"\nfallback_to_local = true\n",
    )
    .unwrap();
    let llm = ScriptedLlm::start(
        Wire::OpenAi,
        vec![tools("finish", json!({"message": "local"}))],
    );
    let out = env.run(&llm.base_url, &["--runtime", "docker", "x"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("falling back to the local runtime"));
}

/// Serves `body` as an HTML page on loopback, for every request; returns the port.
fn serve_html(body: &'static str) -> u16 {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for mut stream in listener.incoming().flatten() {
            let mut buf = [0u8; 4096];
            let _ = stream.read(&mut buf);
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    port
}

#[test]
fn the_agent_runs_python_and_browses_when_the_runtime_offers_them() {
    let chromium = ["chromium", "chromium-browser", "google-chrome"]
        .iter()
        .any(|c| Command::new(c).arg("--version").output().is_ok());
    let ipykernel = Command::new("python3")
        .args(["-c", "import ipykernel"])
        .status()
        .is_ok_and(|s| s.success());
    if !chromium || !ipykernel {
        eprintln!(
            "skipped: needs chromium and ipykernel (apt-get install chromium; pip install ipykernel)"
        );
        return;
    }
    let port = serve_html(
        "<html><head><title>Docs</title></head><body><h1>The answer is forty-two</h1></body></html>",
    );
    let llm = ScriptedLlm::start(
        Wire::OpenAi,
        vec![
            tools(
                "execute_ipython_cell",
                json!({"code": "x = 6 * 7\nprint(x)"}),
            ),
            tools(
                "browser",
                json!({"code": format!("goto(\"http://127.0.0.1:{port}/\")")}),
            ),
            tools("finish", json!({"message": "done"})),
        ],
    );
    let env = Env::new();
    std::fs::create_dir_all(env.ws().join(".openhands")).unwrap();
    std::fs::write(
        env.ws().join(".openhands/config.toml"),
        "[runtime]\njupyter = true\nbrowser = true\n",
    )
    .unwrap();
    let mut c = env.cmd(&llm.base_url);
    // pyenv's shims (on developer machines) find their interpreters through PYENV_ROOT or HOME.
    if let Some(root) = std::env::var_os("PYENV_ROOT")
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".pyenv").into_os_string()))
    {
        c.env("PYENV_ROOT", root);
    }
    let out = c
        .arg("run")
        .arg("--workspace")
        .arg(env.ws())
        .arg("compute and read the docs")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let requests = llm.requests();
    let offered: Vec<&str> = requests[0]["tools"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|t| t["function"]["name"].as_str())
        .collect();
    assert!(
        offered.contains(&"execute_ipython_cell") && offered.contains(&"browser"),
        "{offered:?}"
    );
    let after_cell = requests[1].to_string();
    assert!(after_cell.contains("42"), "{after_cell}");
    let after_page = requests[2].to_string();
    assert!(
        after_page.contains("The answer is forty-two"),
        "the agent read the page: {after_page}"
    );
}

/// `openhands-lsp doctor` says what works and how to fix what does not, and fails when a task would.
#[test]
fn doctor_checks_the_set_up_and_names_each_fix() {
    let env = Env::new();
    let llm = ScriptedLlm::start(Wire::OpenAi, vec![]);
    let mut ok = env.cmd(&llm.base_url);
    ok.arg("doctor")
        .arg("--workspace")
        .arg(env.ws())
        .env("OPENHANDS_RUNTIME_BIN", super::common::runtime_binary());
    let out = ok.output().unwrap();
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    for line in [
        "ok   model: scripted-model at ",
        "ok   API key: set (not shown)",
        "ok   model server: ",
        "ok   runtime binary: openhands-runtime ",
        "ok   condenser: type = \"llm\", keep_first = 1, max_size = 100; context window unknown",
    ] {
        assert!(stdout.contains(line), "{line} in:\n{stdout}");
    }
    assert!(!stdout.contains("sk-test-secret"), "{stdout}");
    let mut bad = env.cmd("http://no-such-host.invalid/v1");
    bad.arg("doctor")
        .env("OPENHANDS_RUNTIME_BIN", "/nonexistent/openhands-runtime");
    let out = bad.output().unwrap();
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("FAIL model server: http://no-such-host.invalid/v1 cannot be reached")
            && stdout.contains("     fix: check LLM_BASE_URL"),
        "{stdout}"
    );
    assert!(stdout.contains("FAIL runtime binary: "), "{stdout}");
}

/// Each LLM retry is printed once, without colour codes when stderr is a file (it was printed twice, the
/// second time by the log with escape codes).
#[test]
fn a_retry_is_printed_once_without_colour_codes() {
    let env = Env::new();
    let llm = ScriptedLlm::start(
        Wire::OpenAi,
        vec![
            Reply::Status {
                status: 503,
                body: r#"{"error":{"message":"busy"}}"#.into(),
                retry_after: Some(0),
            },
            tools("finish", json!({"message": "done"})),
        ],
    );
    let out = env
        .run_cmd(&llm.base_url, &["x"])
        .env("LLM_NUM_RETRIES", "1")
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert_eq!(stderr.matches("retry 1/1").count(), 1, "{stderr}");
    assert!(!stderr.contains('\u{1b}'), "{stderr}");
}

#[test]
fn a_reply_that_asks_nothing_continues_a_headless_run_and_a_question_still_waits() {
    let env = Env::new();
    let llm = ScriptedLlm::start(
        Wire::OpenAi,
        vec![
            Reply::Text("I will now look at the files.".into()),
            tools("finish", json!({"message": "Done."})),
            Reply::Text("Done with the first part.\n\nShould I also update the docs?".into()),
        ],
    );
    let out = env.run(&llm.base_url, &["tidy up"]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert_eq!(text(&out.stdout), "Done.\n");
    assert!(
        stderr.contains("agent: I will now look at the files."),
        "{stderr}"
    );
    assert!(stderr.contains("> [Automatic reply:"), "{stderr}");
    let second = llm.requests()[1].to_string();
    assert!(second.contains("Carry on with the task"), "{second}");

    let out = env.run(&llm.base_url, &["and the docs"]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(5), "{stderr}");
    assert!(!stderr.contains("[Automatic reply:"), "{stderr}");
}

#[test]
fn auto_continue_is_bounded_and_zero_turns_it_off() {
    let env = Env::new();
    let llm = ScriptedLlm::start(
        Wire::OpenAi,
        vec![
            Reply::Text("Working on it.".into()),
            Reply::Text("Still working on it.".into()),
            Reply::Text("Nothing to ask.".into()),
        ],
    );
    std::fs::create_dir_all(env.ws().join(".openhands")).unwrap();
    std::fs::write(
        env.ws().join(".openhands/config.toml"),
        "[agent]\nauto_continue = 1\n",
    )
    .unwrap();
    let out = env.run(&llm.base_url, &["go"]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(5), "{stderr}");
    assert_eq!(text(&out.stdout), "Still working on it.\n");
    assert_eq!(stderr.matches("[Automatic reply:").count(), 1, "{stderr}");

    std::fs::write(
        env.ws().join(".openhands/config.toml"),
        "[agent]\nauto_continue = 0\n",
    )
    .unwrap();
    let out = env.run(&llm.base_url, &["go again"]);
    assert_eq!(out.status.code(), Some(5), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "Nothing to ask.\n");
}

/// A server that refused `tools` once is remembered in the data directory: the next `run` goes to the
/// emulation at once instead of failing its first request again.
#[test]
fn a_server_that_refused_tools_is_remembered_by_the_next_run() {
    let env = Env::new();
    let finish = "<function=finish>\n<parameter=message>done</parameter>\n</function>";
    let llm = ScriptedLlm::start(
        Wire::OpenAi,
        vec![
            Reply::Status {
                status: 400,
                body: r#"{"error":{"message":"this model does not support tools"}}"#.into(),
                retry_after: None,
            },
            Reply::Text(finish.into()),
            Reply::Text(finish.into()),
        ],
    );
    for task in ["first", "second"] {
        let out = env
            .run_cmd(&llm.base_url, &[task])
            .env_remove("LLM_NATIVE_TOOL_CALLING")
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        assert_eq!(text(&out.stdout), "done\n");
    }
    let has_tools: Vec<bool> = llm
        .requests()
        .iter()
        .map(|b| b.get("tools").is_some())
        .collect();
    assert_eq!(
        has_tools,
        [true, false, false],
        "refused once, then emulated in both runs"
    );
    let kept = std::fs::read_to_string(env.data().join("tools-refused.txt")).unwrap();
    assert_eq!(kept, format!("{}\tscripted-model\n", llm.base_url));
}
