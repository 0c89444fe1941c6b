//! The jupyter plugin against a real ipykernel: OpenHands' texts, state, timeouts, dead kernels, huge
//! outputs, the working directory, images, `/server_info`, and no kernel left behind by the server.
//!
//! ipykernel must be installed for `python3`; without it these tests fail, unless `OPENHANDS_SKIP_JUPYTER=1`.

use std::time::{Duration, Instant};

use pretty_assertions::assert_eq;
use serde_json::{Value, json};

use crate::common::{Server, run_action};

/// False (after saying so) when ipykernel is missing and the skip is allowed; panics when it is not.
fn ipykernel_installed() -> bool {
    let ok = std::process::Command::new("python3")
        .args(["-c", "import ipykernel"])
        .output()
        .is_ok_and(|o| o.status.success());
    if ok {
        return true;
    }
    if std::env::var("OPENHANDS_SKIP_JUPYTER").is_ok_and(|v| v == "1") {
        eprintln!("skipped: ipykernel is not installed for python3 (OPENHANDS_SKIP_JUPYTER=1)");
        return false;
    }
    panic!(
        "the jupyter tests need ipykernel for python3: run `python3 -m pip install ipykernel`, \
         or set OPENHANDS_SKIP_JUPYTER=1 to skip them"
    );
}

fn start() -> Option<Server> {
    ipykernel_installed().then(|| Server::builder().arg("--plugins").arg("jupyter").start())
}

/// A `run_ipython` action dict as OpenHands' client serializes it.
fn cell(code: &str, timeout: f64) -> Value {
    json!({"message": format!("Running Python code interactively: {code}"), "action": "run_ipython",
        "args": {"code": code, "thought": "", "include_extra": true, "confirmation_state": "confirmed",
            "security_risk": -1, "kernel_init_code": ""}, "timeout": timeout})
}

fn info(srv: &Server) -> Value {
    srv.get("/server_info").json::<Value>().unwrap()["jupyter"].clone()
}

/// Runs a cell; returns its content without OpenHands' footer, after checking the footer.
fn run(srv: &Server, code: &str, timeout: f64) -> String {
    let obs = srv.exec(cell(code, timeout));
    assert_eq!(obs["observation"], "run_ipython", "{obs}");
    let content = obs["content"].as_str().unwrap();
    let python = info(srv)["python"].as_str().unwrap().to_owned();
    let cwd = srv.run("pwd")["content"].as_str().unwrap().to_owned();
    let footer = format!(
        "\n[Jupyter current working directory: {cwd}]\n[Jupyter Python interpreter: {python}]"
    );
    content
        .strip_suffix(&footer)
        .unwrap_or_else(|| panic!("no footer {footer:?} in {content:?}"))
        .to_owned()
}

fn kernel_pid(srv: &Server) -> i32 {
    let j = info(srv);
    j["pid"]
        .as_i64()
        .unwrap_or_else(|| panic!("no kernel pid: {j}")) as i32
}

/// Gone, or a zombie waiting for init to reap it: either way no longer running.
fn wait_gone(pid: i32) -> bool {
    let t0 = Instant::now();
    while t0.elapsed() < Duration::from_secs(10) {
        match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
            Err(_) => return true,
            Ok(stat)
                if stat
                    .rsplit(')')
                    .next()
                    .is_some_and(|s| s.trim_start().starts_with('Z')) =>
            {
                return true;
            }
            Ok(_) => std::thread::sleep(Duration::from_millis(20)),
        }
    }
    false
}

#[test]
fn cells_share_state_and_answer_with_openhands_texts() {
    let Some(srv) = start() else { return };
    let obs = srv.exec(cell("print(1)", 30.0));
    let python = info(&srv)["python"].as_str().unwrap().to_owned();
    let workdir = srv.workdir.display();
    assert_eq!(
        obs,
        json!({"message": "Code executed in IPython cell.", "observation": "run_ipython",
            "content": format!("1\n[Jupyter current working directory: {workdir}]\n[Jupyter Python interpreter: {python}]"),
            "extras": {"code": "print(1)", "image_urls": null}, "success": true})
    );
    assert_eq!(
        run(&srv, "x = 5", 30.0),
        "[Code executed successfully with no output]"
    );
    assert_eq!(run(&srv, "x * 2", 30.0), "10");
    assert_eq!(
        run(&srv, "print(\"a\"); print(\"b\"); 42", 30.0),
        "a\nb\n42"
    );
    // OpenHands' kernels start with os and sys imported.
    assert_eq!(
        run(&srv, "print(os.name, sys.version_info[0])", 30.0),
        "posix 3"
    );
    let mut bare = cell("print('hi')", 30.0);
    bare["args"]["include_extra"] = json!(false);
    assert_eq!(srv.exec(bare)["content"], "hi");
}

#[test]
fn errors_come_back_as_tracebacks_without_colour() {
    let Some(srv) = start() else { return };
    assert_eq!(
        run(&srv, "1/0", 30.0),
        "---------------------------------------------------------------------------\n\
         ZeroDivisionError                         Traceback (most recent call last)\n\
         Cell In[1], line 1\n----> 1 1/0\n\nZeroDivisionError: division by zero"
    );
    assert_eq!(
        run(&srv, "def f(:\n    pass", 30.0),
        "  Cell In[1], line 1\n    def f(:\n          ^\nSyntaxError: invalid syntax"
    );
    let missing = run(&srv, "import pymsgbox_nonexistent", 30.0);
    assert!(
        missing.ends_with("ModuleNotFoundError: No module named 'pymsgbox_nonexistent'"),
        "{missing}"
    );
    assert!(!missing.contains('\x1b'), "{missing:?}");
    // A failed cell does not spoil the kernel.
    assert_eq!(run(&srv, "print('still here')", 30.0), "still here");
}

#[test]
fn a_timeout_interrupts_the_cell_and_the_next_cell_is_whole() {
    let Some(srv) = start() else { return };
    assert_eq!(
        run(&srv, "x = 41", 30.0),
        "[Code executed successfully with no output]"
    );
    let t0 = Instant::now();
    assert_eq!(
        run(&srv, "while True:\n    pass", 1.0),
        "[Execution timed out (1.0 seconds).]"
    );
    assert!(t0.elapsed() < Duration::from_secs(4), "{:?}", t0.elapsed());
    // Output printed before the deadline is kept; OpenHands drops it.
    assert_eq!(
        run(
            &srv,
            "import time\nprint('started', flush=True)\ntime.sleep(30)",
            1.5
        ),
        "started\n[Execution timed out (1.5 seconds).]"
    );
    // OpenHands loses the output of the first cell after a timeout; ours is whole, and state survived.
    assert_eq!(run(&srv, "x += 1; print('alive', x)", 30.0), "alive 42");
    assert_eq!(info(&srv)["restarts"], 0);
}

#[test]
fn a_cell_that_ignores_the_interrupt_gets_a_new_kernel() {
    let Some(srv) = start() else { return };
    run(&srv, "x = 1", 30.0);
    let first = kernel_pid(&srv);
    let t0 = Instant::now();
    assert_eq!(
        run(
            &srv,
            "import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nwhile True:\n    pass",
            1.0
        ),
        "[Execution timed out (1.0 seconds).]\n[The IPython kernel did not stop when interrupted and \
         was restarted; variables, imports and other state from earlier cells are lost.]"
    );
    // Inside OpenHands' client deadline (the timeout plus 5 s).
    assert!(t0.elapsed() < Duration::from_secs(6), "{:?}", t0.elapsed());
    assert!(
        wait_gone(first),
        "the stuck kernel {first} is still running"
    );
    assert_eq!(run(&srv, "print('x' in globals())", 30.0), "False");
    assert_eq!(info(&srv)["restarts"], 1);
}

#[test]
fn a_cell_that_kills_the_kernel_gets_a_new_kernel_and_the_agent_is_told() {
    let Some(srv) = start() else { return };
    run(&srv, "x = 1", 30.0);
    let first = kernel_pid(&srv);
    assert_eq!(
        run(
            &srv,
            "import time\nprint('bye', flush=True)\ntime.sleep(0.2)\nos._exit(3)",
            30.0
        ),
        "bye\n[The IPython kernel died while running this cell (exit code 3) and was restarted; \
         variables, imports and other state from earlier cells are lost.]"
    );
    let after = run(&srv, "print('x' in globals())", 30.0);
    assert_eq!(after, "False");
    let second = kernel_pid(&srv);
    assert_ne!(first, second);
    assert!(wait_gone(first), "the dead kernel {first} is still running");
    assert_eq!(info(&srv)["restarts"], 1);

    // A kernel killed while idle is noticed by the next cell, which runs on a new kernel.
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(second),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    assert!(wait_gone(second));
    let t0 = Instant::now();
    while info(&srv)["status"] != "dead" {
        assert!(t0.elapsed() < Duration::from_secs(10), "{}", info(&srv));
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(
        info(&srv)["error"],
        "the kernel died (killed by signal SIGKILL); the next cell starts a new one"
    );
    assert_eq!(
        run(&srv, "print(2 + 2)", 30.0),
        "[The IPython kernel had died (killed by signal SIGKILL) and was restarted before this cell; \
         variables, imports and other state from earlier cells are lost.]\n4"
    );
    assert_eq!(info(&srv)["status"], "ready");
}

#[test]
fn huge_outputs_are_cut_to_head_and_tail() {
    let Some(srv) = start() else { return };
    let code = "for i in range(200000):\n    print(f'line {i:06d} ' + 'x' * 40)";
    let t0 = Instant::now();
    let out = run(&srv, code, 60.0);
    let elapsed = t0.elapsed();
    let marker = "\n[... Observation truncated due to length ...]\n";
    let (head, tail) = out.split_once(marker).expect("a truncation marker");
    assert_eq!(head.chars().count(), 15_000);
    assert!(head.starts_with("line 000000 xxx"), "{}", &head[..40]);
    // The tail ends with the last line (its newline is removed by OpenHands' rstrip).
    let last = format!("line 199999 {}", "x".repeat(40));
    assert!(tail.ends_with(&last), "{}", &tail[tail.len() - 80..]);
    assert!(tail.chars().count() <= 15_000);
    assert!(elapsed < Duration::from_secs(30), "{elapsed:?}");
    assert_eq!(run(&srv, "print('next')", 30.0), "next");
}

#[test]
fn the_kernel_follows_the_shells_working_directory() {
    let Some(srv) = start() else { return };
    let here = run(&srv, "print(os.getcwd())", 30.0);
    assert_eq!(here, srv.workdir.display().to_string());
    srv.run("mkdir -p 'sub dir' && cd 'sub dir'");
    let sub = srv.workdir.join("sub dir");
    assert_eq!(
        run(&srv, "print(os.getcwd())", 30.0),
        sub.display().to_string()
    );
    std::fs::write(sub.join("helper.py"), "VALUE = 7\n").unwrap();
    assert_eq!(
        run(&srv, "print(open('helper.py').read().strip())", 30.0),
        "VALUE = 7"
    );
    srv.exec(run_action("cd ..", false, Some(30.0)));
    assert_eq!(
        run(&srv, "print(os.getcwd())", 30.0),
        srv.workdir.display().to_string()
    );
}

#[test]
fn images_come_back_as_data_urls() {
    let Some(srv) = start() else { return };
    let png = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==";
    let code = format!(
        "from IPython.display import Image, display\nimport base64\ndisplay(Image(base64.b64decode('{png}')))"
    );
    let obs = srv.exec(cell(&code, 30.0));
    assert_eq!(
        obs["extras"]["image_urls"],
        json!([format!("data:image/png;base64,{png}")])
    );
    let content = obs["content"].as_str().unwrap();
    assert!(
        content.starts_with(
            "<IPython.core.display.Image object>\n[Jupyter current working directory: "
        ),
        "{content}"
    );
}

#[test]
fn server_info_reports_the_kernel_and_sigterm_leaves_no_kernel_behind() {
    let Some(mut srv) = start() else { return };
    run(&srv, "print(1)", 30.0);
    let j = info(&srv);
    assert_eq!(j["status"], "ready", "{j}");
    assert_eq!(j["restarts"], 0, "{j}");
    assert_eq!(j["error"], Value::Null, "{j}");
    assert!(
        j["ipykernel"].as_str().is_some_and(|v| !v.is_empty()),
        "{j}"
    );
    let pid = kernel_pid(&srv);
    // The pid is the kernel's own, and a process the cell starts belongs to its group.
    let child = run(
        &srv,
        "import subprocess\np = subprocess.Popen(['sleep', '300'])\nprint(os.getpid(), p.pid)",
        30.0,
    );
    let (own, sleeper) = child.split_once(' ').unwrap();
    assert_eq!(own.parse::<i32>().unwrap(), pid);
    let sleeper: i32 = sleeper.parse().unwrap();
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(srv.child.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    let status = srv.child.wait().unwrap();
    assert!(status.success(), "{status}: {}", srv.stderr_log());
    assert!(wait_gone(pid), "kernel {pid} outlived the server");
    assert!(
        wait_gone(sleeper),
        "the cell's child {sleeper} outlived the server"
    );
}

#[test]
fn a_killed_server_leaves_no_kernel_behind() {
    let Some(mut srv) = start() else { return };
    // Not even waiting for a cell: the kernel may still be starting.
    let t0 = Instant::now();
    let pid = loop {
        if let Some(pid) = info(&srv)["pid"].as_i64() {
            break pid as i32;
        }
        assert!(t0.elapsed() < Duration::from_secs(20), "no kernel pid");
        std::thread::sleep(Duration::from_millis(10));
    };
    srv.child.kill().unwrap();
    srv.child.wait().unwrap();
    assert!(wait_gone(pid), "kernel {pid} outlived the killed server");
}

#[test]
fn without_ipykernel_the_plugin_says_how_to_install_it() {
    if !ipykernel_installed() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    // A real interpreter that cannot see site-packages, where ipykernel lives.
    let python = dir.path().join("python-bare");
    // Written by a child process: a file this multi-threaded test process held open for writing could
    // still be open in a sibling test's fork when the server execs it ("Text file busy").
    let made = std::process::Command::new("sh")
        .arg("-c")
        .arg(r#"printf '#!/bin/sh\nexec python3 -I -S "$@"\n' > "$1" && chmod 755 "$1""#)
        .arg("sh")
        .arg(&python)
        .status()
        .unwrap();
    assert!(made.success());
    let srv = Server::builder()
        .arg("--plugins")
        .arg("jupyter")
        .arg("--python")
        .arg(python.to_str().unwrap())
        .start();
    let t0 = Instant::now();
    let j = loop {
        let j = info(&srv);
        if j["status"] != "starting" {
            break j;
        }
        assert!(t0.elapsed() < Duration::from_secs(20), "{j}");
        std::thread::sleep(Duration::from_millis(20));
    };
    let why = format!(
        "ipykernel is not installed for {p} (ModuleNotFoundError: No module named 'ipykernel'); \
         install it with `{p} -m pip install ipykernel` and run the cell again",
        p = python.display()
    );
    assert_eq!(
        j,
        json!({"status": "unavailable", "pid": null, "python": python.to_str().unwrap(),
            "ipykernel": null, "restarts": 0, "error": why})
    );
    let text = format!("Unable to run IPython action: {why}");
    assert_eq!(
        srv.exec(cell("print(1)", 30.0)),
        json!({"message": text, "observation": "error", "content": text, "extras": {"error_id": ""}})
    );
    assert!(srv.stderr_log().contains(&why), "{}", srv.stderr_log());
    // The rest of the server is unaffected.
    assert_eq!(srv.run("echo ok")["content"], "ok");
}

#[test]
fn a_missing_interpreter_is_named() {
    let srv = Server::builder()
        .arg("--plugins")
        .arg("jupyter")
        .arg("--python")
        .arg("/nonexistent/python3")
        .start();
    let obs = srv.exec(cell("print(1)", 30.0));
    let content = obs["content"].as_str().unwrap();
    assert_eq!(obs["observation"], "error");
    assert!(
        content.starts_with(
            "Unable to run IPython action: the Python interpreter '/nonexistent/python3' cannot be run ("
        ),
        "{content}"
    );
    assert!(content.contains("--python"), "{content}");
    assert_eq!(info(&srv)["status"], "unavailable");
}

#[test]
fn a_root_server_runs_the_kernel_as_the_given_user() {
    let me = std::process::Command::new("id").arg("-u").output().unwrap();
    if String::from_utf8_lossy(&me.stdout).trim() != "0" {
        eprintln!("skipped: switching users needs the tests to run as root");
        return;
    }
    if !ipykernel_installed() {
        return;
    }
    let srv = Server::builder()
        .arg("--plugins")
        .arg("jupyter")
        .arg("--user-id")
        .arg("65534")
        .start();
    let obs = srv.exec(cell("print(os.getuid(), os.getgid())", 30.0));
    if obs["observation"] == "error" {
        // Here ipykernel lives in root's private Python; the user's `python3` has none, and is told so.
        let content = obs["content"].as_str().unwrap();
        assert!(
            content.contains("ipykernel is not installed for python3"),
            "{content}"
        );
        eprintln!("skipped: no Python with ipykernel is readable by uid 65534 here");
        return;
    }
    let content = obs["content"].as_str().unwrap();
    assert!(content.starts_with("65534 65534\n"), "{content}");
}
