//! Code actions, the one trigger every editor has: start a task from the selection or the diagnostics,
//! and cancel tasks or answer approvals (the fallback for editors without `showMessageRequest`).
//! Commands only, no resolve step.

use serde_json::{Value, json};
use tower_lsp_server::ls_types::{
    CodeAction, CodeActionKind, CodeActionOrCommand, CodeActionParams, Command,
};

use super::{Backend, uri_path};

fn action(
    title: String,
    kind: Option<CodeActionKind>,
    command: &str,
    args: Vec<Value>,
) -> CodeActionOrCommand {
    CodeActionOrCommand::CodeAction(CodeAction {
        title: title.clone(),
        kind,
        command: Some(Command {
            title,
            command: command.to_owned(),
            arguments: Some(args),
        }),
        ..Default::default()
    })
}

/// The code actions for `params`' range, plus task and approval controls shown anywhere.
pub fn actions(backend: &Backend, params: &CodeActionParams) -> Vec<CodeActionOrCommand> {
    let uri = params.text_document.uri.as_str();
    let range = params.range;
    let st = backend.lock();
    let name = uri_path(&params.text_document.uri)
        .map(|p| p.display().to_string())
        .unwrap_or_else(|| uri.to_owned());
    let lines = format!("lines {}-{}", range.start.line + 1, range.end.line + 1);
    let mut out = Vec::new();
    // The selection, or the whole line under the cursor (a comment saying what to do). Helix always has a
    // one-character selection (the cursor), so a selection of one character or less counts as none.
    let selected = st.docs.get(uri).and_then(|doc| {
        let a = st.docs.char_index(&doc.text, range.start)?;
        let b = st.docs.char_index(&doc.text, range.end)?;
        let selection = doc.text.slice(a.min(b)..a.max(b)).to_string();
        let text = if selection.trim().chars().count() > 1 {
            selection
        } else {
            let line = doc.text.char_to_line(a.min(b));
            doc.text.line(line).to_string()
        };
        (!text.trim().is_empty()).then_some(text)
    });
    let where_ = json!({"start": range.start, "end": range.end});
    // A task that asked a question takes the selection (or the line) as its answer: Helix's
    // `:lsp-workspace-command` cannot pass the text.
    if let Some(text) = &selected {
        for t in st
            .tasks
            .iter()
            .filter(|t| t.state() == super::tasks::TaskState::AwaitingUserInput)
        {
            out.push(action(
                format!(
                    "OpenHands: reply to task {} with this selection or line",
                    t.task_id
                ),
                Some(CodeActionKind::QUICKFIX),
                "openhands.task.reply",
                vec![json!(t.task_id), json!(text.trim_end())],
            ));
        }
    }
    if let Some(text) = selected {
        let prompt = format!(
            "In {name} ({lines}), do what this selection or comment says:\n```\n{}\n```",
            text.trim_end()
        );
        out.push(action(
            "OpenHands: do what this selection or comment says".into(),
            Some(CodeActionKind::REFACTOR_REWRITE),
            "openhands.task.start",
            vec![json!({"prompt": prompt, "uri": uri, "range": where_})],
        ));
    }
    let diagnostics = &params.context.diagnostics;
    if !diagnostics.is_empty() {
        let list: Vec<String> = diagnostics
            .iter()
            .map(|d| {
                let source = d
                    .source
                    .as_deref()
                    .map(|s| format!(" ({s})"))
                    .unwrap_or_default();
                format!("- line {}: {}{source}", d.range.start.line + 1, d.message)
            })
            .collect();
        let prompt = format!(
            "Fix these problems the editor reports in {name}:\n{}",
            list.join("\n")
        );
        out.push(action(
            "OpenHands: fix the diagnostics here".into(),
            Some(CodeActionKind::QUICKFIX),
            "openhands.task.start",
            vec![json!({"prompt": prompt, "uri": uri, "range": where_})],
        ));
    }
    for p in &st.approvals {
        let id = &p.id;
        for (title, answer) in [
            (
                format!("OpenHands: allow #{id} (task {}): {}", p.task_id, p.summary),
                "allow_once",
            ),
            (
                format!("OpenHands: allow #{id} for this conversation"),
                "allow_always",
            ),
            (format!("OpenHands: reject #{id}"), "reject"),
        ] {
            out.push(action(
                title,
                Some(CodeActionKind::QUICKFIX),
                "openhands.approval.respond",
                vec![json!(id), json!(answer)],
            ));
        }
    }
    for t in &st.tasks {
        if !t.state().is_over() {
            out.push(action(
                format!("OpenHands: cancel task {}", t.task_id),
                None,
                "openhands.task.cancel",
                vec![json!(t.task_id)],
            ));
        }
    }
    drop(st);
    for (title, command, args) in super::review::code_actions(backend, &params.text_document.uri) {
        out.push(action(title, None, command, args));
    }
    out
}
