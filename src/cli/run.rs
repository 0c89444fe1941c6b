//! `openhands-lsp run` and `openhands-lsp conversations`: one task to its end, and the stored list.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use super::{RunArgs, exit, fail};
use crate::agent::{Controller, Metrics, Outcome};
use crate::config::{self, Overrides};
use crate::events::EventStream;
use crate::storage::{ConversationMeta, Storage};

pub(super) fn conversations(data_dir: Option<PathBuf>) -> ExitCode {
    let root = data_dir.unwrap_or_else(Storage::default_root);
    let storage = match Storage::open(root) {
        Ok(s) => s,
        Err(e) => return fail(exit::USAGE, e),
    };
    let list = match storage.list() {
        Ok(l) => l,
        Err(e) => return fail(exit::ERROR, e),
    };
    if list.is_empty() {
        eprintln!("no conversations in {}", storage.root().display());
    }
    for m in list {
        println!(
            "{}  {}  {:<18}  {}  ${:.4}  {}",
            m.id,
            &m.updated_at[..m.updated_at.len().min(19)],
            m.state,
            m.workspace.display(),
            m.accumulated_cost,
            m.title
        );
    }
    ExitCode::SUCCESS
}

fn title_of(task: &str) -> String {
    let line = task.lines().next().unwrap_or_default().trim();
    let mut t: String = line.chars().take(80).collect();
    if line.chars().count() > 80 {
        t.push('…');
    }
    t
}

pub(super) async fn run(args: RunArgs) -> ExitCode {
    let workspace = match args
        .workspace
        .clone()
        .map_or_else(std::env::current_dir, Ok)
    {
        Ok(w) => w,
        Err(e) => {
            return fail(
                exit::USAGE,
                format!("cannot tell the current directory: {e}"),
            );
        }
    };
    let workspace = match workspace.canonicalize() {
        Ok(w) if w.is_dir() => w,
        _ => {
            return fail(
                exit::USAGE,
                format!("the workspace {} is not a directory", workspace.display()),
            );
        }
    };
    let overrides = Overrides {
        runtime: args.runtime,
        runtime_url: args.runtime_url.clone(),
        max_iterations: args.max_iterations,
        llm_profile: args.llm_profile.clone(),
        data_dir: args.data_dir.clone(),
        model: args.model.clone(),
    };
    let settings = match config::resolve(&workspace, &overrides, &|k| std::env::var(k).ok()) {
        Ok(s) => s,
        Err(e) => return fail(exit::USAGE, e),
    };
    let llm = match crate::llm::Llm::new(settings.llm.clone()) {
        Ok(l) => l,
        Err(e) => return fail(exit::USAGE, e),
    };
    let storage = match Storage::open(settings.data_dir.clone()) {
        Ok(s) => s,
        Err(e) => return fail(exit::USAGE, e),
    };

    let (mut meta, history, log, metrics) = match &args.resume {
        Some(id) => {
            let loaded = match storage.load(id) {
                Ok(l) => l,
                Err(e) => return fail(exit::USAGE, e),
            };
            for w in &loaded.warnings {
                eprintln!("warning: {w}");
            }
            let log = match storage.open_log(id) {
                Ok(l) => l,
                Err(e) => return fail(exit::ERROR, e),
            };
            let metrics = Metrics::resumed(&loaded.meta);
            (loaded.meta, loaded.events, log, metrics)
        }
        None => {
            let meta = ConversationMeta {
                title: title_of(&args.task),
                model: settings.llm.model.clone(),
                runtime: format!("{:?}", settings.runtime.kind).to_lowercase(),
                ..ConversationMeta::new(
                    &crate::storage::ConversationId::generate(),
                    workspace.clone(),
                )
            };
            let log = match storage.create(meta.clone()) {
                Ok(l) => l,
                Err(e) => return fail(exit::USAGE, e),
            };
            (meta, Vec::new(), log, Metrics::default())
        }
    };
    eprintln!("conversation {} ({})", meta.id, storage.root().display());

    let runtime = match crate::runtime::start_runtime(&settings, &workspace, &meta.id).await {
        Ok(r) => r,
        Err(e) => return fail(exit::USAGE, e),
    };
    eprintln!("runtime: {}", runtime.description());

    let stream = Arc::new(EventStream::new(history, Some(Box::new(log))));
    if let Some(key) = &settings.runtime.api_key {
        stream.add_secret(key.clone());
    }
    let mut printer = stream.subscribe();
    let printing = tokio::spawn(async move {
        while let Some(event) = printer.recv().await {
            if let Some(text) = crate::transcript::render(&event) {
                eprintln!("{text}");
            }
        }
    });
    let mut controller =
        Controller::new(stream.clone(), llm, runtime.clone(), settings.agent.clone())
            .with_metrics(metrics);
    controller.on_llm_event(|e| {
        if let crate::llm::StreamEvent::Retrying {
            attempt,
            max_attempts,
            wait,
            reason,
        } = e
        {
            eprintln!("  (LLM: {reason}; retry {attempt}/{max_attempts} in {wait:?})");
        }
    });
    let handle = controller.handle();
    let ctrl_c = tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            eprintln!("\nstopping (Ctrl-C again to quit at once)...");
            handle.stop();
            if tokio::signal::ctrl_c().await.is_ok() {
                std::process::exit(i32::from(exit::STOPPED));
            }
        }
    });

    let outcome = controller.send_user_message(&args.task).await;
    ctrl_c.abort();
    runtime.close().await;

    let m = controller.metrics().clone();
    m.record(&mut meta, controller.state());
    if let Err(e) = storage.save_meta(&meta) {
        eprintln!("warning: cannot save the conversation's metadata: {e}");
    }
    drop(controller);
    drop(stream);
    let _ = printing.await;
    eprintln!(
        "tokens: {} in, {} out; cost ${:.4}; conversation {}",
        m.prompt_tokens, m.completion_tokens, m.cost, meta.id
    );
    match outcome {
        Outcome::Finished(text) => {
            println!("{text}");
            ExitCode::from(exit::FINISHED)
        }
        Outcome::AwaitingInput(text) => {
            println!("{text}");
            eprintln!(
                "the agent is waiting for your answer: openhands-lsp run --resume {} \"...\"",
                meta.id
            );
            ExitCode::from(exit::NEEDS_INPUT)
        }
        Outcome::Error(reason) => fail(exit::ERROR, reason),
        Outcome::LimitReached(reason) => fail(exit::LIMIT, reason),
        Outcome::Stuck(reason) => fail(exit::STUCK, reason),
        Outcome::Stopped | Outcome::Paused => fail(exit::STOPPED, "stopped"),
    }
}
