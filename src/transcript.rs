//! A readable, plain-text rendering of events for people: the CLI prints it, the LSP will log it.

use openhands_runtime_api::{Action, ObservationKind};
use serde_json::Value;

use crate::events::{AgentAction, AgentObservation, Event, EventSource};

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
            if let Some(agent) = AgentAction::of(a) {
                return match agent {
                    AgentAction::System { .. } | AgentAction::TaskTracking { .. } => None,
                    AgentAction::Message { content, .. }
                        if event.source() == Some(EventSource::User) =>
                    {
                        Some(format!("> {content}"))
                    }
                    AgentAction::Message { content, .. } => Some(format!("agent: {content}")),
                    AgentAction::Think { thought } => Some(format!("(thinking) {thought}")),
                    AgentAction::Finish { final_thought, .. } => {
                        Some(format!("finished: {final_thought}"))
                    }
                    AgentAction::Condensation { .. } => Some(condensation_line(a)),
                    AgentAction::CondensationRequest => Some("[condensation requested]".to_owned()),
                    AgentAction::Recall { .. } => None,
                    AgentAction::McpCall { name, arguments } => Some(format!(
                        "[mcp] {name} {}",
                        arguments
                            .map(|a| Value::Object(a.clone()).to_string())
                            .unwrap_or_default()
                    )),
                    AgentAction::Unknown { kind, .. } => Some(format!("[{kind}]")),
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
            // The risk recorded on the action (the model's or the rules', the higher): high is flagged.
            if crate::agent::risk::level(&a.action) >= crate::agent::risk::HIGH {
                out.push_str("  [risk: high]");
            }
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
            ObservationKind::Other { .. } => match AgentObservation::of(o)? {
                AgentObservation::StateChanged { state, reason } => match state {
                    "running" | "loading" => None,
                    _ if reason.is_empty() => Some(format!("[state: {state}]")),
                    _ => Some(format!("[state: {state}] {reason}")),
                },
                AgentObservation::UserRejected { content } => {
                    Some(format!("  [not run] {content}"))
                }
                AgentObservation::TaskTracking { content, .. } => Some(indent(content)),
                AgentObservation::Recall { extras, .. } => crate::agent::context::describe(extras),
                AgentObservation::Mcp { content, .. } => {
                    Some(indent(&crate::mcp::result_text(content)))
                }
                _ => None,
            },
            _ => (!o.content.is_empty()).then(|| indent(&o.content)),
        },
    }
}

/// A condensation: what was forgotten and what the condenser's own LLM call cost.
fn condensation_line(a: &openhands_runtime_api::ActionEvent) -> String {
    let mut line = format!("[condensed] {}", a.message);
    if let Some(m) = &a.meta.llm_metrics {
        let tokens = |k: &str| {
            m.pointer(&format!("/accumulated_token_usage/{k}"))
                .and_then(Value::as_u64)
                .unwrap_or(0)
        };
        let cost = m
            .get("accumulated_cost")
            .and_then(Value::as_f64)
            .unwrap_or(0.0);
        line.push_str(&format!(
            " (summariser: {} tokens in, {} out, ${cost:.4})",
            tokens("prompt_tokens"),
            tokens("completion_tokens")
        ));
    }
    line
}

/// The totals line after a task: tokens in (of which read from and written to the provider's prompt
/// cache, billed at their own prices), tokens out and cost.
pub fn usage_line(m: &crate::agent::Metrics) -> String {
    format!(
        "tokens: {} in ({} cached, {} written to cache), {} out; cost ${:.4}",
        m.prompt_tokens, m.cache_read_tokens, m.cache_write_tokens, m.completion_tokens, m.cost
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::agent::condenser::Condensation;

    #[test]
    fn a_condensation_shows_what_it_forgot_and_what_the_summariser_cost() {
        let mut event = Condensation {
            forgotten_range: Some((4, 9)),
            summary: Some("GOAL: x".into()),
            summary_offset: Some(2),
            ..Condensation::default()
        }
        .to_event();
        event.meta_mut().llm_metrics = Some(serde_json::json!({
            "accumulated_cost": 0.0123,
            "accumulated_token_usage": {"prompt_tokens": 900, "completion_tokens": 80},
        }));
        assert_eq!(
            render(&event).as_deref(),
            Some(
                "[condensed] Condensed the history: 6 earlier events summarised (summariser: 900 tokens in, 80 out, $0.0123)"
            )
        );
        let m = crate::agent::Metrics {
            prompt_tokens: 1000,
            cache_read_tokens: 700,
            cache_write_tokens: 100,
            completion_tokens: 50,
            cost: 0.5,
            ..Default::default()
        };
        assert_eq!(
            usage_line(&m),
            "tokens: 1000 in (700 cached, 100 written to cache), 50 out; cost $0.5000"
        );
    }
}
