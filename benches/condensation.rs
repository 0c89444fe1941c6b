//! `cargo bench -p openhands-lsp --bench condensation`: what a 300-step task costs in input tokens with no
//! condensation, with each condenser, and with prompt caching priced as each provider bills it, side by
//! side in one run. The scripted server counts tokens (4 bytes each) and caches as providers do
//! (`tests/agent/scripted_llm/usage.rs`); the runtime is real (release build if present, else debug).

#[path = "../tests/agent/scripted_llm.rs"]
mod scripted_llm;

use std::path::PathBuf;
use std::sync::Arc;

use openhands_lsp::agent::condenser::{Condensation, CondenserConfig, CondenserKind};
use openhands_lsp::agent::{AgentConfig, Controller, Outcome};
use openhands_lsp::events::EventStream;
use openhands_lsp::llm::{Llm, LlmConfig};
use openhands_lsp::runtime::{LocalOptions, LocalRuntime, Runtime};
use serde_json::{Value, json};

use scripted_llm::{Reply, Reported, ScriptedLlm, Wire, tool};

const STEPS: usize = 300;
/// The configured context window (`[llm] max_input_tokens`).
const BUDGET: u64 = 16_000;

/// A realistic mix: a command with 40 lines of output, a 60-line file viewed, a thought.
fn script(file: &str) -> Vec<Reply> {
    let mut s: Vec<Reply> = (0..STEPS - 1)
        .map(|i| match i % 3 {
            0 => tool(
                "execute_bash",
                json!({"command": format!("seq -f 'step {i}: build log line %g of the compiler output' 1 40")}),
            ),
            1 => tool("str_replace_editor", json!({"command": "view", "path": file})),
            _ => tool(
                "think",
                json!({"thought": format!("Step {i}: the build output and the source agree; the next step checks the following module, then the tests that cover it, before moving on.")}),
            ),
        })
        .collect();
    s.push(tool("finish", json!({"message": "done"})));
    s
}

fn summariser(body: &Value, n: usize) -> Reply {
    let previous = body.to_string().contains("<PREVIOUS_SUMMARY>");
    Reply::Text(format!(
        "GOAL: check every module of the build and its tests.\nPROGRESS: summary {n}{}: the build log and the sources were read module by module; nothing is broken so far.\nFILES: src/module.rs (read).\nREMAINING: the next modules and their tests, then finish.",
        if previous {
            ", over the previous one"
        } else {
            ""
        }
    ))
}

struct Run {
    condenser: &'static str,
    wire: Wire,
    prompts: Vec<u64>,
    usages: Vec<Reported>,
    summariser_calls: usize,
    condensations: usize,
    usd: f64,
}

/// Billed input in input-token equivalents: fresh tokens at 1, cache reads and writes at the provider's
/// ratio (Anthropic: read 0.1, write 1.25; OpenAI GPT-4o: read 0.5, no write charge).
fn billed(wire: Wire, usages: &[Reported], caching: bool) -> f64 {
    let (read, write) = match wire {
        Wire::Anthropic => (0.1, 1.25),
        Wire::OpenAi => (0.5, 1.0),
    };
    usages
        .iter()
        .map(|u| {
            if !caching {
                return u.prompt as f64;
            }
            let fresh = (u.prompt - u.cache_read - u.cache_write) as f64;
            fresh + u.cache_read as f64 * read + u.cache_write as f64 * write
        })
        .sum()
}

async fn run(
    runtime: Arc<LocalRuntime>,
    file: &str,
    wire: Wire,
    kind: CondenserKind,
    condenser: &'static str,
) -> Run {
    let llm = ScriptedLlm::start(wire, script(file))
        .count_tokens()
        .answer_untooled(summariser);
    let (input, read, write, output) = match wire {
        Wire::Anthropic => (3e-6, 0.3e-6, 3.75e-6, 15e-6),
        Wire::OpenAi => (2.5e-6, 1.25e-6, 2.5e-6, 10e-6),
    };
    let config = LlmConfig {
        max_input_tokens: Some(BUDGET),
        stream: false,
        input_cost_per_token: Some(input),
        cache_read_cost_per_token: Some(read),
        cache_write_cost_per_token: Some(write),
        output_cost_per_token: Some(output),
        ..llm.config()
    };
    let agent = AgentConfig {
        max_iterations: STEPS as u32 + 10,
        condenser: CondenserConfig {
            kind,
            keep_first: 1,
            max_size: 100,
        },
        ..AgentConfig::default()
    };
    let stream = Arc::new(EventStream::default());
    let mut c = Controller::new(
        stream.clone(),
        Llm::new(config).unwrap(),
        runtime as Arc<dyn Runtime>,
        agent,
    )
    .with_cache_key("bench-conversation");
    let outcome = c
        .send_user_message("Check every module of the build.")
        .await;
    assert_eq!(outcome, Outcome::Finished("done".into()), "{condenser}");
    let requests = llm.requests();
    let tooled = |b: &Value| b["tools"].as_array().is_some_and(|t| !t.is_empty());
    let usages = llm.usages();
    Run {
        condenser,
        wire,
        prompts: requests
            .iter()
            .zip(&usages)
            .filter(|(b, _)| tooled(b))
            .map(|(_, u)| u.prompt)
            .collect(),
        summariser_calls: requests.iter().filter(|b| !tooled(b)).count(),
        condensations: stream
            .events()
            .iter()
            .filter(|e| Condensation::from_event(e).is_some())
            .count(),
        usages,
        usd: c.metrics().cost,
    }
}

fn runtime_binary() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let target = exe.parent().and_then(|d| d.parent()).unwrap().to_path_buf();
    let release = target.join("openhands-runtime");
    if release.exists() {
        return release;
    }
    let debug = target
        .parent()
        .unwrap()
        .join("debug")
        .join("openhands-runtime");
    assert!(
        debug.exists(),
        "build the runtime first: cargo build -p openhands-runtime"
    );
    debug
}

fn wire_name(w: Wire) -> &'static str {
    match w {
        Wire::OpenAi => "OpenAI",
        Wire::Anthropic => "Anthropic",
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let dir = tempfile::tempdir().unwrap();
    let ws = dir.path().join("ws");
    std::fs::create_dir_all(&ws).unwrap();
    let file = ws.join("module.rs");
    let source: String = (1..=60)
        .map(|i| format!("fn function_{i}(x: u32) -> u32 {{ x + {i} }} // keep\n"))
        .collect();
    std::fs::write(&file, source).unwrap();
    let runtime = Arc::new(
        LocalRuntime::start(
            &ws,
            LocalOptions {
                binary: Some(runtime_binary()),
                plugins: Vec::new(),
                enable_browser: false,
                withheld: Vec::new(),
                env: Vec::new(),
            },
        )
        .await
        .expect("the runtime starts"),
    );
    let file = file.display().to_string();
    let mut runs = Vec::new();
    for wire in [Wire::OpenAi, Wire::Anthropic] {
        for (kind, name) in [
            (CondenserKind::None, "none"),
            (CondenserKind::ObservationMasking, "observation_masking"),
            (CondenserKind::Llm, "llm"),
        ] {
            runs.push(run(runtime.clone(), &file, wire, kind, name).await);
        }
    }
    runtime.close().await;

    println!(
        "\n{STEPS}-step scripted task, context window (max_input_tokens) {BUDGET}, tokens as the server counts them (4 bytes each)\n"
    );
    println!(
        "| condenser | wire | requests (summariser) | condensations | largest prompt | mean prompt | billed input, no caching | billed input, cached | below baseline | USD (agent's metrics) |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
    let mut ok = true;
    for r in &runs {
        let baseline = runs
            .iter()
            .find(|b| b.wire == r.wire && b.condenser == "none")
            .map(|b| billed(b.wire, &b.usages, false))
            .unwrap();
        let uncached = billed(r.wire, &r.usages, false);
        let cached = billed(r.wire, &r.usages, true);
        let largest = r.prompts.iter().copied().max().unwrap_or(0);
        let mean = r.prompts.iter().sum::<u64>() / r.prompts.len().max(1) as u64;
        println!(
            "| {} | {} | {} ({}) | {} | {largest} | {mean} | {:.0} | {:.0} | {:.1}× uncached, {:.1}× cached |  ${:.2} |",
            r.condenser,
            wire_name(r.wire),
            r.prompts.len() + r.summariser_calls,
            r.summariser_calls,
            r.condensations,
            uncached,
            cached,
            baseline / uncached,
            baseline / cached,
            r.usd
        );
        if r.condenser != "none" {
            ok &= largest <= BUDGET && baseline / cached >= 5.0;
        }
    }
    println!("\nInput tokens per request (every 50th request of the agent):\n");
    println!("| condenser | wire | 1 | 50 | 100 | 150 | 200 | 250 | 300 |");
    println!("|---|---|---|---|---|---|---|---|---|");
    for r in &runs {
        let at: Vec<String> = [0, 49, 99, 149, 199, 249, 299]
            .iter()
            .map(|&i| r.prompts.get(i).map_or("-".into(), u64::to_string))
            .collect();
        println!(
            "| {} | {} | {} |",
            r.condenser,
            wire_name(r.wire),
            at.join(" | ")
        );
    }
    println!(
        "\ntarget: every condensed prompt <= {BUDGET} tokens and billed input (cached) >= 5x below the uncondensed, uncached run: {}",
        if ok { "met" } else { "NOT MET" }
    );
}
