//! A readable, plain-text rendering of events for people: the CLI prints it, the LSP will log it.

use openhands_runtime_api::{Action, ObservationKind};
use serde_json::Value;

use crate::events::{Event, EventSource, kinds};

/// Command output shown per observation before it is cut (the model still gets its own full view).
const MAX_OUTPUT_LINES: usize = 40;

fn indent(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let shown: Vec<String> = if lines.len() > MAX_OUTPUT_LINES {
        let half = MAX_OUTPUT_LINES / 2;
        let mut v: Vec<String> = lines[..half].iter().map(|l| format!("  {l}")).collect();
        v.push(format!(
            "  ... ({} more lines) ...",
            lines.len() - MAX_OUTPUT_LINES
        ));
        v.extend(lines[lines.len() - half..].iter().map(|l| format!("  {l}")));
        v
    } else {
        lines.iter().map(|l| format!("  {l}")).collect()
    };
    shown.join("\n")
}

/// The lines for one event, or `None` for events people do not need to see (the system prompt).
pub fn render(event: &Event) -> Option<String> {
    match event {
        Event::Action(a) => {
            if let Some((kind, args)) = kinds::other_args(a) {
                let text = |k: &str| args.get(k).and_then(Value::as_str).unwrap_or_default();
                return match kind {
                    "system" => None,
                    "message" if event.source() == Some(EventSource::User) => {
                        Some(format!("> {}", text("content")))
                    }
                    "message" => Some(format!("agent: {}", text("content"))),
                    "think" => Some(format!("(thinking) {}", text("thought"))),
                    "finish" => Some(format!("finished: {}", text("final_thought"))),
                    "task_tracking" => None,
                    "call_tool_mcp" => Some(format!(
                        "[mcp] {} {}",
                        text("name"),
                        args.get("arguments")
                            .map(Value::to_string)
                            .unwrap_or_default()
                    )),
                    other => Some(format!("[{other}]")),
                };
            }
            let thought = match &a.action {
                Action::Run(r) => &r.thought,
                Action::Read(r) => &r.thought,
                Action::Edit(e) => &e.thought,
                Action::Write(w) => &w.thought,
                _ => "",
            };
            let mut out = String::new();
            if !thought.trim().is_empty() {
                out.push_str(&format!("agent: {}\n", thought.trim()));
            }
            out.push_str(&match &a.action {
                Action::Run(r) if r.is_input => format!("$ [input] {}", r.command),
                Action::Run(r) => format!("$ {}", r.command),
                Action::Read(r) => format!("[view] {}", r.path),
                Action::Edit(e) => format!("[{}] {}", e.command, e.path),
                Action::Write(w) => format!("[write] {}", w.path),
                Action::RunIpython(p) => format!("[python]\n{}", indent(&p.code)),
                Action::Browse(b) => format!("[browse] {}", b.url),
                Action::BrowseInteractive(b) => format!("[browser] {}", b.browser_actions),
                Action::Other { kind, .. } => format!("[{kind}]"),
            });
            Some(out)
        }
        Event::Observation(o) => match &o.kind {
            ObservationKind::Run(e) => {
                let mut s = String::new();
                if !o.content.is_empty() {
                    s.push_str(&indent(&o.content));
                    s.push('\n');
                }
                s.push_str(&match e.metadata.exit_code {
                    -1 => "  [still running]".to_owned(),
                    code => format!("  [exit {code}]"),
                });
                Some(s)
            }
            ObservationKind::Edit(e) if !e.diff.is_empty() => Some(indent(&e.diff)),
            ObservationKind::Edit(_) | ObservationKind::Read { .. } => {
                o.content.starts_with("ERROR:").then(|| indent(&o.content))
            }
            ObservationKind::Error { .. } => Some(format!("  error: {}", o.content)),
            ObservationKind::Other { kind, extras } if kind == "agent_state_changed" => {
                let state = extras
                    .get("agent_state")
                    .and_then(Value::as_str)
                    .unwrap_or("?");
                let reason = extras.get("reason").and_then(Value::as_str).unwrap_or("");
                match state {
                    "running" | "loading" => None,
                    _ if reason.is_empty() => Some(format!("[state: {state}]")),
                    _ => Some(format!("[state: {state}] {reason}")),
                }
            }
            _ if crate::events::kinds::is_user_rejected(o) => {
                Some(format!("  [not run] {}", o.content))
            }
            ObservationKind::Other { kind, .. } if kind == "task_tracking" => {
                Some(indent(&o.content))
            }
            ObservationKind::Other { kind, .. } if kind == "mcp" => {
                Some(indent(&crate::mcp::result_text(&o.content)))
            }
            ObservationKind::Other { .. } => None,
            _ => (!o.content.is_empty()).then(|| indent(&o.content)),
        },
    }
}
