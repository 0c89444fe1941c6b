//! `openhands-lsp run` and `openhands-lsp conversations`: one task to its end, and the stored list.

use super::{RunArgs, exit, fail};
use crate::agent::Outcome;
use crate::config::{self, Overrides};
use crate::session::{Open, Session, SessionError};
use crate::storage::Storage;
use std::path::PathBuf;
use std::process::ExitCode;

fn session_failure(e: SessionError) -> ExitCode {
    match e {
        SessionError::Usage(m) => fail(exit::USAGE, m),
        SessionError::Failed(m) => fail(exit::ERROR, m),
    }
}

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
        base_url: None,
    };
    let mut settings = match config::resolve(&workspace, &overrides, &|k| std::env::var(k).ok()) {
        Ok(s) => s,
        Err(e) => return fail(exit::USAGE, e),
    };
    // Nobody answers a headless run as it goes: a reply that asks nothing is told to go on.
    settings.agent.auto_continue = settings.auto_continue;
    let open = match &args.resume {
        Some(id) => Open::Resume(id),
        None => Open::New {
            id: crate::storage::ConversationId::generate(),
            first_message: &args.task,
        },
    };
    let prepared = match Session::prepare(&settings, &workspace, open) {
        Ok(p) => p,
        Err(e) => return session_failure(e),
    };
    for w in &prepared.warnings {
        eprintln!("warning: {w}");
    }
    if prepared.was_interrupted {
        eprintln!(
            "conversation {} was interrupted (its process ended while the agent was working); continuing from its last event",
            prepared.meta.id
        );
    }
    eprintln!(
        "conversation {} ({})",
        prepared.meta.id,
        prepared.storage_root().display()
    );
    let mut session = match prepared.start(&settings, &workspace, |r| r).await {
        Ok(s) => s,
        Err(e) => return session_failure(e),
    };
    eprintln!("runtime: {}", session.runtime().description());
    for w in &session.warnings {
        eprintln!("warning: {w}");
    }

    let mut printer = session.stream().subscribe();
    let printing = tokio::spawn(async move {
        while let Some(event) = printer.recv().await {
            if let Some(text) = crate::transcript::render(&event) {
                eprintln!("{text}");
            }
        }
    });
    session.controller_mut().on_llm_event(|e| {
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
    let handle = session.handle();
    let ctrl_c = tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            eprintln!("\nstopping (Ctrl-C again to quit at once)...");
            handle.stop();
            if tokio::signal::ctrl_c().await.is_ok() {
                std::process::exit(i32::from(exit::STOPPED));
            }
        }
    });

    let outcome = session.run(&args.task).await;
    ctrl_c.abort();
    let closed = session.close().await;
    if let Some(e) = &closed.save_error {
        eprintln!("warning: cannot save the conversation's metadata: {e}");
    }
    let _ = printing.await;
    let (m, meta) = (closed.metrics, closed.meta);
    eprintln!(
        "{}; conversation {}",
        crate::transcript::usage_line(&m),
        meta.id
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
