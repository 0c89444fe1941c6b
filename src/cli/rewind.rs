//! `openhands-lsp rewind`: lists a conversation's checkpoints, or puts the files (on disk) and the
//! conversation back to just before one step, as the editor's `openhands.checkpoint.restore` does.

use std::path::PathBuf;
use std::process::ExitCode;

use super::{exit, fail};
use crate::checkpoint::{Checkpoints, plan_restore, rewind_note, steps, truncate_conversation};
use crate::storage::Storage;

#[derive(Debug, clap::Args)]
pub struct RewindArgs {
    /// The conversation (see `openhands-lsp conversations`)
    pub conversation: String,
    /// The step's event id to go back to (just before it ran); without it, the steps are listed
    pub event: Option<i64>,
    /// Leave the files as they are; only cut the conversation
    #[arg(long)]
    pub no_files: bool,
    /// Leave the conversation as it is; only restore the files
    #[arg(long)]
    pub no_conversation: bool,
    /// Where conversations are stored (default: $OPENHANDS_DATA_DIR or the XDG data dir)
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
}

pub fn rewind(args: RewindArgs) -> ExitCode {
    match run(args) {
        Ok(text) => {
            println!("{text}");
            ExitCode::SUCCESS
        }
        Err((code, why)) => fail(code, why),
    }
}

fn run(args: RewindArgs) -> Result<String, (u8, String)> {
    let usage = |e: String| (exit::USAGE, e);
    let failed = |e: String| (exit::ERROR, e);
    let storage = Storage::open(args.data_dir.unwrap_or_else(Storage::default_root))
        .map_err(|e| usage(e.to_string()))?;
    let loaded = storage
        .load(&args.conversation)
        .map_err(|e| usage(e.to_string()))?;
    if loaded.meta.runtime == "remote" {
        return Err(usage(crate::checkpoint::unavailable_remote().to_string()));
    }
    let list = steps(&loaded.events);
    let Some(event) = args.event else {
        if list.is_empty() {
            return Ok(format!(
                "conversation {} has no checkpoints",
                args.conversation
            ));
        }
        return Ok(list
            .iter()
            .map(|s| {
                format!(
                    "{:>5}  {}  {}  {}",
                    s.event_id,
                    &s.checkpoint[..12],
                    s.timestamp,
                    s.summary
                )
            })
            .collect::<Vec<_>>()
            .join("\n"));
    };
    if args.no_files && args.no_conversation {
        return Err(usage(
            "nothing to do: --no-files and --no-conversation both given".into(),
        ));
    }
    crate::checkpoint::ensure_idle(&storage, &args.conversation)
        .map_err(|e| usage(e.to_string()))?;
    let mut out = Vec::new();
    let mut files = None;
    let mut target = None;
    if !args.no_files {
        let step = list.iter().find(|s| s.event_id == event).ok_or_else(|| {
            usage(format!(
                "event {event} of conversation {} has no checkpoint; `openhands-lsp rewind {}` lists those that do",
                args.conversation, args.conversation
            ))
        })?;
        let checkpoints = Checkpoints::open(storage.root(), &loaded.meta.workspace, None)
            .map_err(|e| failed(e.to_string()))?;
        let plan =
            plan_restore(&checkpoints, &step.checkpoint).map_err(|e| failed(e.to_string()))?;
        let mut bad = Vec::new();
        for f in &plan.files {
            if let Err(e) = crate::checkpoint::write_to_disk(f) {
                bad.push(format!("{} ({e})", f.path));
            }
        }
        out.push(format!(
            "{} file(s) restored; the files before the rewind are checkpoint {}",
            plan.files.len() - bad.len(),
            plan.current
        ));
        if !bad.is_empty() {
            out.push(format!("NOT restored: {}", bad.join(", ")));
        }
        target = bad.is_empty().then(|| step.checkpoint.clone());
        files = Some((plan.files.len() - bad.len(), bad));
    }
    if !args.no_conversation {
        let note = rewind_note(event, files.as_ref().map(|(n, bad)| (*n, &bad[..])));
        let branch = truncate_conversation(
            &storage,
            &args.conversation,
            event,
            &note,
            target.as_deref(),
        )
        .map_err(|e| failed(e.to_string()))?;
        out.push(format!(
            "conversation cut before event {event}: {} event(s) kept, the whole log kept in {}",
            branch.kept,
            branch.log.display()
        ));
    }
    match files {
        Some((_, bad)) if !bad.is_empty() => Err(failed(out.join("\n"))),
        _ => Ok(out.join("\n")),
    }
}
