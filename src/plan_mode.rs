//! Plan mode: a task that may only look. A `Runtime` wrapper lets through reads and commands on a
//! conservative read-only allow-list and refuses everything else with an observation that says why; the
//! task's prompt asks for a plan in the task tracker. Knows no front end.

use std::sync::Arc;

use futures_util::FutureExt;
use futures_util::future::BoxFuture;
use openhands_runtime_api::{Action, ActionEvent, Observation};

use crate::runtime::{Runtime, RuntimeError};

/// What the agent reads with a plan-mode task's message.
pub const PLAN_INSTRUCTIONS: &str = "[Plan mode] Do not change anything yet: investigate with read-only tools \
only (viewing files, searching, read-only commands such as ls, cat, grep, find, git status/log/diff). Writing \
files, editing, running code and other commands are refused in this mode. End by recording a step-by-step \
plan with the task_tracker tool (command \"plan\") and finish; the user will review it and ask you to act.";

/// The message of a plan-mode task: the user's words and the mode's rules.
pub fn plan_prompt(prompt: &str) -> String {
    format!("{prompt}\n\n{PLAN_INSTRUCTIONS}")
}

/// The message that turns a plan into action in the same conversation.
pub const ACT_PROMPT: &str = "[Act] Plan mode is over: all tools are available again. Carry out the plan, \
updating the task tracker as you go.";

/// Commands that only read, whatever their arguments (except those refused below).
const READ_ONLY: &[&str] = &[
    "ls",
    "cat",
    "head",
    "tail",
    "wc",
    "grep",
    "egrep",
    "fgrep",
    "rg",
    "find",
    "pwd",
    "echo",
    "tree",
    "stat",
    "file",
    "du",
    "df",
    "which",
    "type",
    "sort",
    "uniq",
    "cut",
    "tr",
    "diff",
    "cmp",
    "basename",
    "dirname",
    "realpath",
    "readlink",
    "date",
    "uname",
    "whoami",
    "id",
    "nl",
    "od",
    "xxd",
    "hexdump",
    "md5sum",
    "sha1sum",
    "sha256sum",
    "jq",
    "true",
    "printf",
    "cd",
    "test",
    "[",
    "column",
    "comm",
    "fold",
    "rev",
    "seq",
    "expand",
    "strings",
];

/// git subcommands that only read.
const GIT_READ_ONLY: &[&str] = &[
    "status",
    "log",
    "diff",
    "show",
    "blame",
    "ls-files",
    "ls-tree",
    "grep",
    "rev-parse",
    "describe",
    "shortlog",
    "cat-file",
    "rev-list",
];

/// Why `command` is not read-only, or `None` when it is on the allow-list.
pub fn not_read_only(command: &str) -> Option<String> {
    // Redirections, substitutions, background jobs and here-documents can write or run anything.
    for bad in [">", "`", "$(", "<(", ">(", "<<"] {
        if command.contains(bad) {
            return Some(format!("it contains `{bad}`"));
        }
    }
    let normalized = command
        .replace("&&", ";")
        .replace("||", ";")
        .replace('|', ";");
    if normalized.contains('&') {
        return Some("it runs a job in the background".into());
    }
    for segment in normalized.split([';', '\n']) {
        let words: Vec<&str> = segment.split_whitespace().collect();
        let Some(first) = words.first() else {
            continue;
        };
        let name = first.rsplit('/').next().unwrap_or(first);
        let args = &words[1..];
        let ok = match name {
            "git" => git_reads_only(args),
            "find" => !args.iter().any(|a| {
                matches!(
                    *a,
                    "-delete"
                        | "-exec"
                        | "-execdir"
                        | "-ok"
                        | "-okdir"
                        | "-fprint"
                        | "-fprint0"
                        | "-fprintf"
                        | "-fls"
                )
            }),
            "sort" => !args
                .iter()
                .any(|a| a.starts_with("-o") || a.starts_with("--output")),
            n => READ_ONLY.contains(&n),
        };
        if !ok {
            return Some(format!("`{}` is not a read-only command", segment.trim()));
        }
    }
    None
}

/// A git command line whose subcommand only reads (`-C DIR` allowed; `-c` could configure a program to run).
fn git_reads_only(args: &[&str]) -> bool {
    let mut rest = args.iter();
    let sub = loop {
        match rest.next() {
            Some(&"-C") => {
                rest.next();
            }
            Some(a) if a.starts_with("-c") || a.starts_with("--exec-path") => return false,
            Some(a) if a.starts_with('-') => {}
            other => break other,
        }
    };
    sub.is_some_and(|s| GIT_READ_ONLY.contains(s))
        && !args
            .iter()
            .any(|a| a.starts_with("--output") || *a == "-o" || a.starts_with("--ext-diff"))
}

/// Why `action` is refused in plan mode, or `None` when it may run.
pub fn refusal(action: &Action) -> Option<String> {
    let why = match action {
        Action::Read(_) => return None,
        Action::Edit(e) if e.command == "view" => return None,
        Action::Run(r) => not_read_only(&r.command)?,
        Action::Write(_) | Action::Edit(_) => "it changes a file".to_owned(),
        Action::RunIpython(_) => "running code may change files".to_owned(),
        Action::Browse(_) | Action::BrowseInteractive(_) => {
            "the browser is not available in plan mode".to_owned()
        }
        Action::Other { .. } => return None,
    };
    Some(format!(
        "Refused in plan mode: {why}. Only reading and read-only commands are allowed until the user asks you to act; record your plan with the task_tracker tool and finish."
    ))
}

/// What an MCP tool call gets in plan mode.
pub fn mcp_refusal() -> Observation {
    Observation::error(
        "Refused in plan mode: an MCP tool may change things outside the workspace; \
plan with reads and read-only commands, the tool can be called once the plan is acted on.",
    )
}

/// The runtime of a plan-mode task.
pub struct PlanRuntime {
    inner: Arc<dyn Runtime>,
}

impl PlanRuntime {
    pub fn new(inner: Arc<dyn Runtime>) -> Self {
        Self { inner }
    }

    async fn run(&self, action: &ActionEvent) -> Result<Observation, RuntimeError> {
        match refusal(&action.action) {
            Some(why) => Ok(Observation::error(why)),
            None => self.inner.execute(action).await,
        }
    }
}

impl Runtime for PlanRuntime {
    fn execute<'a>(
        &'a self,
        action: &'a ActionEvent,
    ) -> BoxFuture<'a, Result<Observation, RuntimeError>> {
        self.run(action).boxed()
    }
    fn confirm<'a>(&'a self, _action: &'a ActionEvent) -> BoxFuture<'a, Option<Observation>> {
        Box::pin(async { Some(mcp_refusal()) })
    }
    crate::runtime::pass_on!(
        interrupt,
        health,
        close,
        workspace_dir,
        description,
        secrets,
        client,
        before_finish
    );
}

/// The last plan the agent recorded with the task tracker in `events`, as numbered lines.
pub fn last_plan(events: &[Arc<crate::events::Event>]) -> Option<String> {
    events.iter().rev().find_map(|e| {
        let a = e.as_action()?;
        let crate::events::AgentAction::TaskTracking {
            command: "plan",
            task_list: Some(list),
            ..
        } = crate::events::AgentAction::of(a)?
        else {
            return None;
        };
        let list = list.as_array()?;
        Some(
            list.iter()
                .enumerate()
                .map(|(i, t)| {
                    let title = t.get("title").and_then(|x| x.as_str()).unwrap_or("?");
                    format!("{}. {title}", i + 1)
                })
                .collect::<Vec<_>>()
                .join("\n"),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_read_only_commands_pass() {
        for ok in [
            "ls -la",
            "cat src/main.rs | head -20",
            "grep -rn foo src && git status",
            "find . -name '*.rs'",
            "git log --oneline -5",
            "git -C sub diff HEAD~1",
        ] {
            assert_eq!(not_read_only(ok), None, "{ok}");
        }
        for bad in [
            "echo hi > f",
            "rm -rf x",
            "ls; touch x",
            "find . -delete",
            "find . -exec rm {} ;",
            "git commit -am x",
            "git -c core.pager=sh log",
            "git diff --output=f",
            "cat $(which ls)",
            "sleep 10 &",
            "python3 -c 'open(\"f\",\"w\")'",
            "sed -i s/a/b/ f",
            "sort -o out in",
            "cat <<EOF",
        ] {
            assert!(not_read_only(bad).is_some(), "{bad}");
        }
    }
}
