//! `cargo bench -p openhands-lsp`: the agent's own overhead per step and conversation loading, each beside
//! its baseline from the same run. Needs the release runtime: `cargo build --release -p openhands-runtime`.

#[path = "../tests/agent/scripted_llm.rs"]
mod scripted_llm;

use std::sync::Arc;
use std::time::{Duration, Instant};

use openhands_lsp::agent::{AgentConfig, Controller, Outcome};
use openhands_lsp::events::EventStream;
use openhands_lsp::llm::Llm;
use openhands_lsp::runtime::{LocalOptions, LocalRuntime, Runtime};
use openhands_lsp::storage::{ConversationId, ConversationMeta, Storage};
use serde_json::json;

use scripted_llm::{Reply, ScriptedLlm, Wire};

fn meta(workspace: &std::path::Path) -> ConversationMeta {
    ConversationMeta {
        title: "bench".into(),
        model: "scripted-model".into(),
        ..ConversationMeta::new(&ConversationId::generate(), workspace.to_path_buf())
    }
}

fn script(steps: usize, file: &str) -> Vec<Reply> {
    let mut s: Vec<Reply> = (0..steps - 1)
        .map(|i| {
            let (name, args) = match i % 3 {
                0 => ("execute_bash", json!({"command": format!("echo step {i}")})),
                1 => (
                    "str_replace_editor",
                    json!({"command": "view", "path": file}),
                ),
                _ => ("think", json!({"thought": format!("step {i} looks fine")})),
            };
            Reply::Tools {
                text: format!("Step {i}."),
                calls: vec![(name.to_owned(), args)],
            }
        })
        .collect();
    s.push(Reply::Tools {
        text: String::new(),
        calls: vec![("finish".into(), json!({"message": "done"}))],
    });
    s
}

struct StepFigures {
    wall: Duration,
    llm: Duration,
    runtime: Duration,
    log_bytes: u64,
    events: usize,
}

async fn task(steps: usize, runtime: Arc<LocalRuntime>, storage: &Storage) -> StepFigures {
    let ws = runtime.workspace_dir().to_path_buf();
    let file = ws.join("notes.txt");
    std::fs::write(&file, "a\nb\nc\n").unwrap();
    let llm = ScriptedLlm::start(Wire::OpenAi, script(steps, &file.display().to_string()));
    let m = meta(&ws);
    let id = m.id.clone();
    let log = storage.create(m).unwrap();
    let stream = Arc::new(EventStream::new(Vec::new(), Some(Box::new(log))));
    let config = AgentConfig {
        max_iterations: steps as u32 + 1,
        ..AgentConfig::default()
    };
    // Non-streaming: the scripted server paces SSE chunks for tests; here it must answer at once.
    let mut llm_config = llm.config();
    llm_config.stream = false;
    let mut c = Controller::new(
        stream.clone(),
        Llm::new(llm_config).unwrap(),
        runtime,
        config,
    );
    let t = Instant::now();
    let outcome = c.send_user_message("run the scripted steps").await;
    let wall = t.elapsed();
    assert_eq!(outcome, Outcome::Finished("done".into()));
    let path = storage
        .root()
        .join("conversations")
        .join(&id)
        .join("events.jsonl");
    StepFigures {
        wall,
        llm: c.metrics().llm_time,
        runtime: c.metrics().runtime_time,
        log_bytes: std::fs::metadata(path).map(|m| m.len()).unwrap_or(0),
        events: stream.len(),
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let dir = tempfile::tempdir().unwrap();
    let ws = dir.path().join("ws");
    std::fs::create_dir_all(&ws).unwrap();
    let runtime = match LocalRuntime::start(
        &ws,
        LocalOptions {
            binary: None,
            plugins: Vec::new(),
            enable_browser: false,
            withheld: Vec::new(),
            env: Vec::new(),
        },
    )
    .await
    {
        Ok(r) => Arc::new(r),
        Err(e) => {
            eprintln!("{e}\nbuild it first: cargo build --release -p openhands-runtime");
            std::process::exit(1);
        }
    };
    let storage = Storage::open(dir.path().join("data")).unwrap();

    println!("| measure | openhands-lsp | target | baseline (same run) |");
    println!("| --- | --- | --- | --- |");
    for steps in [10usize, 25, 50] {
        let f = task(steps, runtime.clone(), &storage).await;
        let overhead = f.wall.saturating_sub(f.llm + f.runtime);
        println!(
            "| {steps}-step task: agent overhead per step (wall − LLM − runtime) | {:.3} ms | < 1 ms, flat as tasks grow | per step: LLM {:.3} ms, runtime {:.3} ms, wall {:.3} ms |",
            ms(overhead) / steps as f64,
            ms(f.llm) / steps as f64,
            ms(f.runtime) / steps as f64,
            ms(f.wall) / steps as f64,
        );
        println!(
            "| {steps}-step task: event log | {} events, {:.1} KiB ({:.0} B/event) | linear | — |",
            f.events,
            f.log_bytes as f64 / 1024.0,
            f.log_bytes as f64 / f.events as f64
        );
    }
    runtime.close().await;

    // A 10,000-event conversation of realistic command/observation pairs.
    let m = meta(&ws);
    let id = m.id.clone();
    let log = storage.create(m).unwrap();
    let stream = EventStream::new(Vec::new(), Some(Box::new(log)));
    for i in 0..5_000 {
        let mut action =
            openhands_runtime_api::ActionEvent::new(openhands_runtime_api::Action::Run(
                openhands_runtime_api::CmdRunAction::new(format!("grep -rn 'pattern {i}' src/")),
            ));
        action.timeout = Some(120.0);
        stream
            .add(
                openhands_lsp::events::Event::Action(action),
                openhands_lsp::events::EventSource::Agent,
            )
            .unwrap();
        let obs = openhands_runtime_api::Observation::cmd_output(
            format!("src/lib.rs:{i}: let pattern_{i} = compute({i});\nsrc/main.rs:12: pattern {i}"),
            format!("grep -rn 'pattern {i}' src/"),
            openhands_runtime_api::CmdOutputMetadata {
                exit_code: 0,
                working_dir: Some("/workspace".into()),
                suffix: "\n[The command completed with exit code 0.]".into(),
                ..Default::default()
            },
            false,
        );
        stream
            .add(
                openhands_lsp::events::Event::Observation(obs),
                openhands_lsp::events::EventSource::Agent,
            )
            .unwrap();
    }
    drop(stream);
    let path = storage
        .root()
        .join("conversations")
        .join(&id)
        .join("events.jsonl");
    let load = median(
        (0..10)
            .map(|_| {
                let t = Instant::now();
                let loaded = storage.load(&id).unwrap();
                assert_eq!(loaded.events.len(), 10_000);
                t.elapsed()
            })
            .collect(),
    );
    let read = median(
        (0..10)
            .map(|_| {
                let t = Instant::now();
                assert!(!std::fs::read(&path).unwrap().is_empty());
                t.elapsed()
            })
            .collect(),
    );
    println!(
        "| load a 10,000-event conversation ({:.1} MiB) | {:.1} ms | < 100 ms | reading the file's bytes: {:.2} ms |",
        std::fs::metadata(&path).unwrap().len() as f64 / 1048576.0,
        ms(load),
        ms(read)
    );
}
