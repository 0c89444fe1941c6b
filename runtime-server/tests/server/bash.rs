//! Integration tests of the bash session: OpenHands' recorded behaviour, its state machine, and the faults.

use pretty_assertions::assert_eq;
use serde_json::{Value, json};

use super::common::*;

fn content(obs: &Value) -> &str {
    obs["content"].as_str().unwrap()
}
fn exit_code(obs: &Value) -> i64 {
    obs["extras"]["metadata"]["exit_code"].as_i64().unwrap()
}
fn prefix(obs: &Value) -> &str {
    obs["extras"]["metadata"]["prefix"].as_str().unwrap()
}
fn suffix(obs: &Value) -> &str {
    obs["extras"]["metadata"]["suffix"].as_str().unwrap()
}
fn run_t(srv: &Server, command: &str, timeout: f64) -> Value {
    srv.exec(run_action(command, false, Some(timeout)))
}
fn input(srv: &Server, text: &str, timeout: Option<f64>) -> Value {
    srv.exec(run_action(text, true, timeout))
}

const TEMPLATE: &str = "You may wait longer to see additional output by sending empty command '', send other commands to interact with the current process, send keys (\"C-c\", \"C-z\", \"C-d\") to interrupt/kill the previous command before sending your new command, or use the timeout parameter in execute_bash for future commands.";

#[test]
fn echo_hi_is_the_recorded_exchange() {
    let srv = Server::start();
    let obs = srv.run("echo hi");
    let meta = &obs["extras"]["metadata"];
    let expected = json!({
        "message": "Command `echo hi` executed with exit code 0.",
        "observation": "run",
        "content": "hi",
        "extras": {
            "command": "echo hi",
            "metadata": {
                "exit_code": 0, "pid": -1,
                "username": meta["username"], "hostname": meta["hostname"],
                "working_dir": srv.workdir.display().to_string(),
                "py_interpreter_path": meta["py_interpreter_path"],
                "prefix": "", "suffix": "\n[The command completed with exit code 0.]"
            },
            "hidden": false
        },
        "success": true
    });
    assert_eq!(obs, expected);
    assert!(!meta["username"].as_str().unwrap().is_empty());
    // Key order is part of the wire format.
    let keys: Vec<_> = obs.as_object().unwrap().keys().cloned().collect();
    assert_eq!(
        keys,
        ["message", "observation", "content", "extras", "success"]
    );
    // The minimal body (no timeout key, defaults for every arg) works the same.
    let min = srv.exec(json!({"action": "run", "args": {"command": "echo hi"}}));
    assert_eq!(min, expected);
}

#[test]
fn exit_codes_stderr_and_persistent_state() {
    let srv = Server::start();
    let obs = srv.run("bash -c 'exit 3'");
    assert_eq!((content(&obs), exit_code(&obs)), ("", 3));
    assert_eq!(obs["success"], false);
    assert_eq!(
        obs["message"],
        "Command `bash -c 'exit 3'` executed with exit code 3."
    );
    let obs = srv.run("ls /nonexistent_dir_xyz");
    assert_eq!(
        (content(&obs), exit_code(&obs)),
        (
            "ls: cannot access '/nonexistent_dir_xyz': No such file or directory",
            2
        )
    );
    assert_eq!(content(&srv.run("echo out; echo err 1>&2")), "out\nerr");
    let obs = srv.run("cd /tmp && pwd");
    assert_eq!(content(&obs), "/tmp");
    assert_eq!(obs["extras"]["metadata"]["working_dir"], "/tmp");
    assert_eq!(content(&srv.run("pwd")), "/tmp");
    srv.run("export BENCHVAR=42; alias hey='echo alias-works'; f() { echo fn-$1; }");
    assert_eq!(
        content(&srv.run("echo $BENCHVAR; hey; f x")),
        "42\nalias-works\nfn-x"
    );
    let obs = srv.run("sleep 100 > /dev/null 2>&1 &");
    let pid = obs["extras"]["metadata"]["pid"].as_i64().unwrap();
    assert!(pid > 1, "background pid in metadata: {obs}");
    assert_eq!(content(&srv.run("echo $!")), pid.to_string());
    assert_eq!(content(&srv.run("printf \"a\\nb\\n\\nc\\n\"")), "a\nb\n\nc");
    assert_eq!(content(&srv.run("echo héllo wörld ✓")), "héllo wörld ✓");
}

#[test]
fn commands_are_delivered_literally() {
    let srv = Server::start();
    // OpenHands' tmux escaping turns `\|` into a pipe to `b`, and `\>` into a redirection that writes a file.
    assert_eq!(content(&srv.run("echo a \\| b")), "a | b");
    let obs = srv.run("echo x \\> y; ls y");
    assert!(content(&obs).starts_with("x > y"), "{obs}");
    assert!(!srv.workdir.join("y").exists());
    let obs = srv.run("echo 'a;b' \"c|d\" \\; e");
    assert_eq!((content(&obs), exit_code(&obs)), ("a;b c|d ; e", 0));
    std::fs::write(srv.workdir.join("f.txt"), "x").unwrap();
    assert_eq!(
        content(&srv.run("find . -name f.txt -exec ls {} \\;")),
        "./f.txt"
    );
    // Several lines run as one script (OpenHands refuses them), heredocs included.
    let obs = srv.run("echo a\necho b\ncat <<'EOF'\n$HOME stays literal\nEOF");
    assert_eq!(content(&obs), "a\nb\n$HOME stays literal");
    // Leading whitespace of the first line is kept; a syntax error names no temp file.
    assert_eq!(
        content(&srv.run("printf '   indented\\n  second\\n'")),
        "   indented\n  second"
    );
    let obs = srv.run("echo $((1+");
    assert_eq!(exit_code(&obs), 2);
    assert!(content(&obs).starts_with("bash: line 1: "), "{obs}");
}

#[test]
fn terminal_rendering_of_progress_colour_and_clear() {
    let srv = Server::start();
    assert_eq!(content(&srv.run("printf '10%%\\r50%%\\r100%%\\n'")), "100%");
    assert_eq!(content(&srv.run("printf '\\033[31mred\\033[0m\\n'")), "red");
    let obs = srv.run("echo before; clear; echo after");
    assert_eq!(content(&obs), "after");
    assert_eq!(
        prefix(&obs),
        "[Previous command outputs are truncated. Showing the last 1 lines of the output below.]\n"
    );
    assert_eq!(content(&srv.run("printf 'a\\tb\\n'")), "a\tb");
}

#[test]
fn hard_timeout_not_executed_poll_and_completion() {
    let srv = Server::start();
    let obs = run_t(&srv, "sleep 2 && echo late", 1.0);
    assert_eq!((content(&obs), exit_code(&obs), prefix(&obs)), ("", -1, ""));
    assert_eq!(
        suffix(&obs),
        format!("\n[The command timed out after 1.0 seconds. {TEMPLATE}]")
    );
    assert_eq!(obs["extras"]["metadata"]["username"], Value::Null);
    let obs = srv.run("echo next");
    assert_eq!(
        prefix(&obs),
        "[Below is the output of the previous command.]\n"
    );
    assert_eq!(
        suffix(&obs),
        format!(
            "\n[Your command \"echo next\" is NOT executed. The previous command is still running - You CANNOT send new commands until the previous command is completed. By setting `is_input` to `true`, you can interact with the current process: {TEMPLATE}]"
        )
    );
    let obs = run_t(&srv, "", 10.0);
    assert_eq!(
        (content(&obs), exit_code(&obs), prefix(&obs)),
        ("late", 0, "")
    );
    assert_eq!(suffix(&obs), "\n[The command completed with exit code 0.]");
    assert_eq!(content(&srv.run("echo after")), "after");
}

#[test]
fn a_command_that_finished_unobserved_shows_its_tail_first() {
    let srv = Server::start();
    run_t(&srv, "sleep 0.5 && echo done-bg", 0.2);
    std::thread::sleep(std::time::Duration::from_millis(900));
    let obs = srv.run("echo next");
    assert_eq!((content(&obs), exit_code(&obs)), ("done-bg\nnext", 0));
}

#[test]
fn soft_timeout_blocking_and_the_default_ten_seconds() {
    let srv = Server::builder()
        .env("NO_CHANGE_TIMEOUT_SECONDS", "1")
        .start();
    let obs = srv.run("echo start; sleep 3; echo late");
    assert_eq!(content(&obs), "start");
    assert_eq!(
        suffix(&obs),
        format!("\n[The command has no new output after 1 seconds. {TEMPLATE}]")
    );
    // Polling continues from where the last observation ended (a poll has the soft timeout too).
    let obs = run_t(&srv, "", 10.0);
    assert_eq!(
        prefix(&obs),
        "[Below is the output of the previous command.]\n"
    );
    let mut poll = run_action("", false, Some(10.0));
    poll["args"]["blocking"] = json!(true);
    let obs = srv.exec(poll);
    assert_eq!((content(&obs), exit_code(&obs)), ("late", 0));
    // blocking=true disables the soft timeout.
    let mut action = run_action("sleep 2 && echo blocked-done", false, Some(10.0));
    action["args"]["blocking"] = json!(true);
    let obs = srv.exec(action);
    assert_eq!((content(&obs), exit_code(&obs)), ("blocked-done", 0));

    let srv = Server::start();
    let started = std::time::Instant::now();
    let obs = srv.run("sleep 12 && echo late");
    assert!(suffix(&obs).starts_with("\n[The command has no new output after 10 seconds."));
    assert!(started.elapsed().as_secs_f64() >= 9.9);
}

#[test]
fn interactive_programs_get_input() {
    let srv = Server::start();
    let obs = run_t(
        &srv,
        "python3 -c \"x=input('name? '); print('got', x)\"",
        1.0,
    );
    assert_eq!(content(&obs), "name?");
    let obs = input(&srv, "hello", Some(10.0));
    assert_eq!((content(&obs), exit_code(&obs)), ("got hello", 0));
    // Text that happens to be a tmux key name is typed as text.
    run_t(&srv, "read -r line; echo \"[$line]\"", 0.5);
    let obs = input(&srv, "Up", Some(10.0));
    assert_eq!(content(&obs), "[Up]");
}

#[test]
fn empty_command_and_input_with_nothing_running() {
    let srv = Server::start();
    let obs = srv.run("");
    assert_eq!(
        content(&obs),
        "ERROR: No previous running command to retrieve logs from."
    );
    assert_eq!(obs["extras"]["command"], "");
    assert_eq!(obs["message"], "Command `` executed with exit code -1.");
    let obs = input(&srv, "hello", Some(120.0));
    assert_eq!(
        content(&obs),
        "ERROR: No previous running command to interact with."
    );
    assert_eq!((prefix(&obs), suffix(&obs)), ("", ""));
}

#[test]
fn control_keys() {
    let srv = Server::start();
    run_t(&srv, "while true; do sleep 0.1; done", 0.5);
    let obs = input(&srv, "C-c", Some(10.0));
    assert_eq!((content(&obs), exit_code(&obs)), ("^C", 130));
    assert_eq!(
        suffix(&obs),
        "\n[The command completed with exit code 130. CTRL+C was sent.]"
    );
    run_t(&srv, "sleep 30", 0.5);
    let obs = input(&srv, "C-z", Some(10.0));
    assert_eq!(exit_code(&obs), 148);
    assert!(content(&obs).starts_with("^Z\n[1]+  Stopped"), "{obs}");
    assert!(suffix(&obs).ends_with("CTRL+Z was sent.]"));
    srv.run("kill %1");
    run_t(&srv, "cat", 0.5);
    let obs = input(&srv, "C-d", Some(10.0));
    assert_eq!(exit_code(&obs), 0);
    assert!(suffix(&obs).ends_with("CTRL+D was sent.]"));
    // C-c sent as a plain command on an idle shell behaves as OpenHands observed.
    let obs = srv.run("C-c");
    assert_eq!((content(&obs), exit_code(&obs)), ("^C", 130));
    assert_eq!(content(&srv.run("echo still-fine")), "still-fine");
}

#[test]
fn a_process_that_ignores_sigint_is_killed_by_the_second_ctrl_c() {
    let srv = Server::start();
    let obs = run_t(
        &srv,
        "python3 -c \"import signal,time; signal.signal(signal.SIGINT, signal.SIG_IGN); print('ready', flush=True); time.sleep(1000)\"",
        2.0,
    );
    assert_eq!(content(&obs), "ready");
    let obs = input(&srv, "C-c", Some(1.0));
    assert_eq!(
        exit_code(&obs),
        -1,
        "still running after the first C-c: {obs}"
    );
    let obs = input(&srv, "C-c", Some(10.0));
    assert_eq!(exit_code(&obs), 137, "{obs}");
    assert!(prefix(&obs).contains("was killed with SIGKILL"), "{obs}");
    assert_eq!(content(&srv.run("echo alive")), "alive");
}

#[test]
fn a_shell_that_exits_or_is_killed_is_restarted() {
    let srv = Server::start();
    srv.run("export GONE=1");
    let obs = srv.run("exit 3");
    assert_eq!(exit_code(&obs), 3);
    assert!(suffix(&obs).contains("a new one was started"), "{obs}");
    let obs = srv.run("echo ok ${GONE:-unset}");
    assert_eq!((content(&obs), exit_code(&obs)), ("ok unset", 0));
    // Killed from outside between two actions: the next action reports it and runs.
    let pid = content(&srv.run("echo $$")).to_owned();
    std::process::Command::new("kill")
        .args(["-9", &pid])
        .status()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(300));
    let obs = srv.run("echo back");
    assert_eq!((content(&obs), exit_code(&obs)), ("back", 0));
    assert!(prefix(&obs).contains("had exited"), "{obs}");
}

#[test]
fn static_commands_run_in_a_fresh_shell() {
    let srv = Server::start();
    srv.run("export MAINVAR=1");
    let mut action = run_action("pwd; echo static ${MAINVAR:-none}", false, Some(120.0));
    action["args"]["is_static"] = json!(true);
    action["args"]["cwd"] = json!("/tmp");
    let obs = srv.exec(action);
    assert_eq!((content(&obs), exit_code(&obs)), ("/tmp\nstatic none", 0));
    assert_eq!(content(&srv.run("pwd")), srv.workdir.display().to_string());
    let mut action = run_action("pwd", false, Some(5.0));
    action["args"]["is_static"] = json!(true);
    action["args"]["cwd"] = json!("/does/not/exist");
    let obs = srv.exec(action);
    assert_eq!(obs["observation"], "error");
}

#[test]
fn long_outputs_are_cut_head_and_tail_unless_hidden() {
    let srv = Server::start();
    let obs = srv.run("python3 -c \"print('a'*20000 + 'b'*20000)\"");
    let c = content(&obs);
    assert_eq!(c.chars().count(), 30_000 + 47);
    assert!(c.starts_with("aaaa") && c.ends_with("bbbb"));
    assert!(c.contains("\n[... Observation truncated due to length ...]\n"));
    let mut action = run_action("python3 -c \"print('a'*40000)\"", false, Some(120.0));
    action["args"]["hidden"] = json!(true);
    let obs = srv.exec(action);
    assert_eq!(content(&obs).len(), 40_000);
    assert_eq!(obs["extras"]["hidden"], true);
}

#[test]
fn fifty_megabytes_of_output_stay_bounded() {
    let srv = Server::start();
    let started = std::time::Instant::now();
    let obs = srv
        .run("yes 0123456789abcdefghijklmnopqrstuvwxyzABCDEFGH | head -c 50000000; echo; echo END");
    assert_eq!(exit_code(&obs), 0);
    let c = content(&obs);
    assert!(c.ends_with("END"), "tail kept: {}", &c[c.len() - 100..]);
    assert!(c.starts_with("0123456789"));
    assert!(c.chars().count() <= 30_047);
    assert!(started.elapsed().as_secs() < 60);
    assert_eq!(content(&srv.run("echo alive")), "alive");
}

#[test]
fn concurrent_clients_never_mix_outputs() {
    let srv = Server::start();
    std::thread::scope(|s| {
        for t in 0..8 {
            let srv = &srv;
            s.spawn(move || {
                for i in 0..40 {
                    let want = format!("client-{t}-{i}");
                    let obs = srv.run(&format!("echo {want}"));
                    assert_eq!(content(&obs), want);
                }
            });
        }
    });
}

#[test]
fn a_root_server_runs_the_shell_as_the_given_user() {
    let me = std::process::Command::new("id").arg("-u").output().unwrap();
    if String::from_utf8_lossy(&me.stdout).trim() != "0" {
        eprintln!("skipped: switching users needs the tests to run as root");
        return;
    }
    let srv = Server::builder().arg("--user-id").arg("65534").start();
    let obs = srv.run("id -u; echo $HOME");
    let c = content(&obs);
    assert!(c.starts_with("65534\n"), "{obs}");
    assert!(!c.ends_with("/root"), "HOME follows the user: {obs}");
}

/// True once `pid` has exited (gone, or a zombie waiting for its new parent).
fn process_ended(pid: &str) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z')),
    }
}

#[test]
fn stopping_the_server_leaves_no_shell_or_job_behind() {
    for signal in ["TERM", "KILL"] {
        let mut srv = Server::start();
        let shell = content(&srv.run("echo $$")).to_owned();
        // No command (nor the shell) holds the PTY master: only the server does.
        let fds = srv.run("ls -l /proc/$$/fd /proc/self/fd | grep -c ptmx");
        assert_eq!(content(&fds), "0", "{fds}");
        let obs = srv.run("sleep 300 > /dev/null 2>&1 &");
        let job = obs["extras"]["metadata"]["pid"]
            .as_i64()
            .unwrap()
            .to_string();
        assert!(!process_ended(&shell) && !process_ended(&job));
        std::process::Command::new("kill")
            .args([&format!("-{signal}"), &srv.child.id().to_string()])
            .status()
            .unwrap();
        srv.child.wait().unwrap();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while !(process_ended(&shell) && process_ended(&job)) {
            assert!(
                std::time::Instant::now() < deadline,
                "after SIG{signal}: shell {shell} ended {}, job {job} ended {}",
                process_ended(&shell),
                process_ended(&job)
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    }
}

#[test]
fn ctrl_c_reaches_a_command_another_request_is_waiting_on() {
    let srv = Server::start();
    std::thread::scope(|s| {
        let waiting = s.spawn(|| run_t(&srv, "sleep 30; echo never", 60.0));
        std::thread::sleep(std::time::Duration::from_millis(500));
        let started = std::time::Instant::now();
        let ack = input(&srv, "C-c", Some(5.0));
        assert!(suffix(&ack).contains("CTRL+C was sent"), "{ack}");
        let obs = waiting.join().unwrap();
        assert_eq!(exit_code(&obs), 130, "{obs}");
        assert!(started.elapsed().as_secs() < 5);
    });
    assert_eq!(content(&srv.run("echo fine")), "fine");
}

#[test]
fn a_client_that_disconnects_does_not_abort_its_command() {
    let srv = Server::start();
    let client = reqwest::blocking::Client::builder()
        .timeout(std::time::Duration::from_millis(300))
        .build()
        .unwrap();
    let body = serde_json::json!({"action": run_action("sleep 1; echo done > marker.txt", false, Some(10.0))});
    let sent = client
        .post(srv.url("/execute_action"))
        .header("X-Session-API-Key", KEY)
        .json(&body)
        .send();
    assert!(sent.is_err(), "the client gave up first");
    // The command finished and the session is in a consistent state for the next one.
    let obs = run_t(&srv, "cat marker.txt", 10.0);
    assert_eq!((content(&obs), exit_code(&obs)), ("done", 0), "{obs}");
}

/// Live (not zombie) processes whose environment carries the server's session marker.
fn marked_processes(marker: &str) -> Vec<String> {
    let needle = format!("OH_RUNTIME_SESSION={marker}");
    let mut found = Vec::new();
    if marker.is_empty() {
        return found;
    }
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let pid = entry.file_name().to_string_lossy().into_owned();
        if !pid.bytes().all(|b| b.is_ascii_digit()) || process_ended(&pid) {
            continue;
        }
        if let Ok(env) = std::fs::read(format!("/proc/{pid}/environ"))
            && env.split(|&b| b == 0).any(|v| v == needle.as_bytes())
        {
            found.push(pid);
        }
    }
    found
}

/// Starts a foreground `sleep 300` (its request left waiting), a `nohup` job and a `setsid` child, stops the
/// server with `stop`, and checks that the server, those processes and every process carrying the session
/// marker are gone within 2 s.
fn stopping_kills_the_session_first(srv: &Server, stop: impl FnOnce()) {
    let marker = content(&srv.run("echo $OH_RUNTIME_SESSION")).to_owned();
    let shell = content(&srv.run("echo $$")).to_owned();
    let obs = srv.run("nohup sleep 301 > /dev/null 2>&1 &");
    let nohup = obs["extras"]["metadata"]["pid"]
        .as_i64()
        .unwrap()
        .to_string();
    srv.run("setsid sh -c 'echo $$ > setsid.pid; exec sleep 302' > /dev/null 2>&1 < /dev/null &");
    std::thread::scope(|s| {
        s.spawn(|| {
            // The server dies under this request: no answer is the expected outcome.
            let command = "sh -c 'echo $$ > fg.pid; exec sleep 300'";
            let body = json!({"action": run_action(command, false, Some(600.0))});
            let _ = srv
                .client
                .post(srv.url("/execute_action"))
                .header("X-Session-API-Key", KEY)
                .json(&body)
                .send();
        });
        let read_pid = |name: &str| {
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
            loop {
                if let Ok(pid) = std::fs::read_to_string(srv.workdir.join(name))
                    && pid.ends_with('\n')
                {
                    break pid.trim().to_owned();
                }
                assert!(std::time::Instant::now() < deadline, "no {name}");
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
        };
        let pids = [shell, read_pid("fg.pid"), nohup, read_pid("setsid.pid")];
        assert!(pids.iter().all(|p| !process_ended(p)), "{pids:?}");
        let stopped = std::time::Instant::now();
        stop();
        let runtime = srv.runtime_pid.to_string();
        loop {
            let left: Vec<&String> = pids.iter().filter(|p| !process_ended(p)).collect();
            let marked = marked_processes(&marker);
            if process_ended(&runtime) && left.is_empty() && marked.is_empty() {
                break;
            }
            assert!(
                stopped.elapsed() < std::time::Duration::from_secs(2),
                "after {:?}: server ended {}; of shell, sleep 300, nohup job, setsid child {pids:?} alive: {left:?}; marked processes: {marked:?}",
                stopped.elapsed(),
                process_ended(&runtime),
            );
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    });
    assert!(
        marker.len() >= 16,
        "the shell carries the marker: {marker:?}"
    );
}

#[test]
fn parent_death_kills_session() {
    let mut srv = Server::builder().under_parent().start();
    let parent = srv.child.id();
    stopping_kills_the_session_first(&srv, || {
        std::process::Command::new("kill")
            .args(["-9", &parent.to_string()])
            .status()
            .unwrap();
    });
    srv.child.wait().unwrap();
}

#[test]
fn sigterm_and_sigint_kill_the_session_before_the_running_command_ends() {
    for signal in ["TERM", "INT"] {
        let srv = Server::start();
        let pid = srv.runtime_pid.to_string();
        stopping_kills_the_session_first(&srv, || {
            std::process::Command::new("kill")
                .args([&format!("-{signal}"), &pid])
                .status()
                .unwrap();
        });
    }
}

#[test]
fn exec_redirections_of_the_shell_itself_restart_it() {
    let srv = Server::start();
    for (redirect, what) in [
        ("exec >/dev/null", "output"),
        ("exec 2>/dev/null", "error output"),
        ("exec </dev/null", "input"),
        ("exec >/dev/null 2>&1", "output and standard error output"),
    ] {
        srv.run("cd /tmp && export KEPT=1");
        let obs = srv.run(redirect);
        assert_eq!((content(&obs), exit_code(&obs)), ("", 0), "{obs}");
        assert_eq!(
            suffix(&obs),
            format!(
                "\n[The command completed with exit code 0.]\n[The command moved the shell's own standard {what} away from the terminal, which would hide or end every later command; a new bash session was started in /tmp; variables, aliases and functions defined earlier are gone.]"
            )
        );
        let obs = srv.run("echo visible; ls /nonexistent-xyz; echo ${KEPT:-gone}; pwd");
        assert_eq!(
            content(&obs),
            "visible\nls: cannot access '/nonexistent-xyz': No such file or directory\ngone\n/tmp",
            "after {redirect}: {obs}"
        );
        assert_eq!(prefix(&obs), "");
    }
    // A redirection of another fd is the agent's business.
    let obs = srv.run("exec 3>/dev/null; export STAYS=1");
    assert_eq!(suffix(&obs), "\n[The command completed with exit code 0.]");
    assert_eq!(content(&srv.run("echo $STAYS")), "1");
}

#[test]
fn the_second_ctrl_c_always_kills_when_the_shell_ignores_sigint() {
    let srv = Server::start();
    for round in 0..10 {
        // Each C-c answered by its own request.
        let obs = run_t(&srv, "trap '' INT; sleep 100", 0.5);
        assert_eq!(exit_code(&obs), -1, "round {round}: {obs}");
        let obs = input(&srv, "C-c", Some(0.5));
        assert_eq!(
            exit_code(&obs),
            -1,
            "round {round}, survives the first: {obs}"
        );
        let obs = input(&srv, "C-c", Some(10.0));
        assert_eq!(exit_code(&obs), 137, "round {round}: {obs}");
        assert!(prefix(&obs).contains("killed with SIGKILL"), "{obs}");
        srv.run("trap - INT");
        // Both C-c sent while the command's own request still holds the session.
        std::fs::remove_file(srv.workdir.join("started")).ok();
        std::thread::scope(|s| {
            let waiting = s.spawn(|| run_t(&srv, "trap '' INT; touch started; sleep 100", 60.0));
            while !srv.workdir.join("started").exists() {
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            let first = input(&srv, "C-c", Some(5.0));
            assert_eq!(prefix(&first), "", "round {round}: {first}");
            let second = input(&srv, "C-c", Some(5.0));
            assert!(
                prefix(&second).contains("killed with SIGKILL"),
                "round {round}: {second}"
            );
            let obs = waiting.join().unwrap();
            assert_eq!(exit_code(&obs), 137, "round {round}: {obs}");
        });
        srv.run("trap - INT");
    }
    // The shell itself runs the loop and ignores SIGINT: only killing the shell stops it.
    run_t(&srv, "trap '' INT; while :; do :; done", 0.5);
    input(&srv, "C-c", Some(0.5));
    let obs = input(&srv, "C-c", Some(10.0));
    assert!(prefix(&obs).contains("so the shell was killed"), "{obs}");
    assert!(suffix(&obs).contains("a new one was started"), "{obs}");
    assert_eq!(content(&srv.run("echo alive")), "alive");
}

#[test]
fn input_the_terminal_did_not_echo_is_not_removed_from_the_output() {
    let srv = Server::start();
    for _ in 0..5 {
        let obs = run_t(
            &srv,
            "python3 -c \"import getpass; s = getpass.getpass('pw: '); print('got', s)\"",
            2.0,
        );
        assert_eq!(content(&obs), "pw:");
        let obs = input(&srv, "secret", Some(10.0));
        assert_eq!((content(&obs), exit_code(&obs)), ("got secret", 0), "{obs}");
    }
    // With echo on, the echo goes and the program's own copy of the text stays.
    run_t(&srv, "read -r line; echo \"$line\"; echo \"$line\"", 0.5);
    let obs = input(&srv, "twice", Some(10.0));
    assert_eq!(content(&obs), "twice\ntwice");
}

#[test]
fn killing_a_stopped_job_is_reported_once() {
    let srv = Server::start();
    for round in 0..10 {
        run_t(&srv, "sleep 100", 0.3);
        let obs = input(&srv, "C-z", Some(10.0));
        assert_eq!(
            content(&obs),
            "^Z\n[1]+  Stopped                 sleep 100",
            "round {round}"
        );
        let obs = srv.run("kill %1");
        assert_eq!(content(&obs), "", "round {round}: {obs}");
        let obs = srv.run("echo next");
        assert_eq!(
            content(&obs),
            "[1]+  Terminated              sleep 100\nnext",
            "round {round}: {obs}"
        );
    }
}

#[test]
fn a_tiny_timeout_never_shows_the_internal_line() {
    let srv = Server::start();
    let mut seen = Vec::new();
    for round in 0..20 {
        seen.push(run_t(&srv, &format!("sleep 0.2; echo tiny-{round}"), 0.001));
        // Whatever comes next: a poll, a key, input, or a new command.
        let next = match round % 4 {
            0 => run_t(&srv, "", 5.0),
            1 => input(&srv, "C-c", Some(5.0)),
            2 => input(&srv, "typed", Some(5.0)),
            _ => srv.run("echo after"),
        };
        seen.push(next);
        let settle = run_t(&srv, "", 5.0);
        seen.push(settle);
        srv.run("true");
    }
    for obs in &seen {
        let c = content(obs);
        assert!(
            !c.contains("openhands-bash-") && !c.contains(" . '"),
            "the internal line leaked: {obs}"
        );
    }
}
