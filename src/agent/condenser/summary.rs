//! What replaces forgotten events: the LLM summariser's prompt (a structured summary that later
//! condensations re-summarise) and the cheap summary built without an LLM, which is also the fallback
//! when the summariser fails, so a task never loses what it did.

use std::sync::Arc;

use openhands_runtime_api::Action;

use crate::agent::messages::build_messages;
use crate::events::Event;
use crate::llm::{Message, Role};

/// The summariser's instructions (after OpenHands' `LLMSummarizingCondenser`, shortened to four headings).
const INSTRUCTIONS: &str = "You maintain the memory of a coding agent whose conversation has grown too long. \
You receive the previous summary (if any) and the events that are about to be forgotten. Write a new summary \
that replaces both, so the agent can carry on without them. Keep every fact the agent still needs: exact \
file paths, function names, commands, error messages, test results, decisions and the user's requirements. \
Drop what no longer matters. Never invent progress. Use exactly these headings:

GOAL: what the user asked for, with their requirements and constraints.
PROGRESS: what has been done and verified so far, most recent last.
FILES: each file read, created or changed, with what changed.
REMAINING: what is left to do, and the next step.

Write at most {words} words, plain text, no preamble.";

/// The request sent to the summariser: instructions, the previous summary and the forgotten events.
pub fn request_messages(
    previous: Option<&str>,
    forgotten: &[Arc<Event>],
    max_summary_chars: usize,
    max_input_chars: usize,
) -> Vec<Message> {
    let words = (max_summary_chars / 6).max(50);
    let system = INSTRUCTIONS.replace("{words}", &words.to_string());
    let mut user = String::new();
    if let Some(previous) = previous {
        user.push_str("<PREVIOUS_SUMMARY>\n");
        user.push_str(previous);
        user.push_str("\n</PREVIOUS_SUMMARY>\n\n");
    }
    let room = max_input_chars.saturating_sub(system.len() + user.len() + 200);
    user.push_str("<FORGOTTEN_EVENTS>\n");
    user.push_str(&render_events(forgotten, room));
    user.push_str("</FORGOTTEN_EVENTS>\n\nWrite the new summary now.");
    vec![
        Message::new(Role::System, system),
        Message::new(Role::User, user),
    ]
}

/// The events as the model saw them, one message per block, fitted into `room` characters: each message
/// gets an equal share (at least 300 characters, cut in the middle); the oldest go first if that is
/// still too much.
fn render_events(events: &[Arc<Event>], room: usize) -> String {
    let messages = build_messages(events, usize::MAX);
    let share = (room / messages.len().max(1)).max(300);
    let blocks: Vec<String> = messages
        .iter()
        .map(|m| {
            let mut text = m.content.clone();
            for call in &m.tool_calls {
                text.push_str(&format!("\n[calls {}({})]", call.name, call.arguments));
            }
            let role = match m.role {
                Role::System => "system",
                Role::User => "user",
                Role::Assistant => "agent",
                Role::Tool => "tool result",
            };
            format!("{role}: {}\n", cut_middle(&text, share))
        })
        .collect();
    let mut out: Vec<&str> = Vec::new();
    let mut used = 0;
    for block in blocks.iter().rev() {
        if used + block.len() > room && !out.is_empty() {
            break;
        }
        used += block.len();
        out.push(block);
    }
    let omitted = blocks.len() - out.len();
    out.reverse();
    let mut text = String::new();
    if omitted > 0 {
        text.push_str(&format!("({omitted} older messages omitted)\n"));
    }
    text.push_str(&out.concat());
    text
}

/// At most `max` characters: head and tail kept.
pub fn cut_middle(text: &str, max: usize) -> String {
    let count = text.chars().count();
    if count <= max {
        return text.to_owned();
    }
    let half = max.saturating_sub(20) / 2;
    let head: String = text.chars().take(half).collect();
    let tail: String = text.chars().skip(count - half).collect();
    format!("{head}\n[... cut ...]\n{tail}")
}

/// The summary built without an LLM: the previous summary, then the commands run and the files touched
/// in the forgotten events, at most `max_chars`.
pub fn mechanical(previous: Option<&str>, forgotten: &[Arc<Event>], max_chars: usize) -> String {
    let mut commands: Vec<String> = Vec::new();
    let mut files: Vec<String> = Vec::new();
    let mut messages = 0;
    for event in forgotten {
        let Some(a) = event.as_action() else {
            continue;
        };
        match &a.action {
            Action::Run(r) if !r.command.trim().is_empty() => {
                commands.push(first_line(&r.command));
            }
            Action::RunIpython(p) => commands.push(format!("python: {}", first_line(&p.code))),
            Action::Read(r) => touch(&mut files, format!("{} (read)", r.path)),
            Action::Edit(e) => touch(&mut files, format!("{} ({})", e.path, e.command)),
            Action::Write(w) => touch(&mut files, format!("{} (written)", w.path)),
            Action::Other { kind, .. } if kind == "message" => messages += 1,
            _ => {}
        }
    }
    let mut text = String::new();
    if let Some(previous) = previous {
        text.push_str(previous.trim());
        text.push_str("\n\n");
    }
    text.push_str(&format!(
        "PROGRESS (recorded without a summariser): {} earlier events were forgotten",
        forgotten.len()
    ));
    if messages > 0 {
        text.push_str(&format!(", including {messages} chat messages"));
    }
    text.push('.');
    if !commands.is_empty() {
        let shown = &commands[commands.len().saturating_sub(15)..];
        text.push_str(&format!(
            "\nCommands run ({} in all, the last {} shown): {}",
            commands.len(),
            shown.len(),
            shown.join("; ")
        ));
    }
    if !files.is_empty() {
        let shown = &files[files.len().saturating_sub(30)..];
        text.push_str(&format!("\nFILES: {}", shown.join(", ")));
    }
    // Older text goes first when it is too long: the latest progress matters most.
    let count = text.chars().count();
    if count > max_chars {
        let skip = count - max_chars + 30;
        text = format!(
            "[older notes cut]\n{}",
            text.chars().skip(skip).collect::<String>()
        );
    }
    text
}

fn first_line(text: &str) -> String {
    let line = text.trim().lines().next().unwrap_or_default();
    cut_middle(line, 120)
}

fn touch(files: &mut Vec<String>, entry: String) {
    files.retain(|f| *f != entry);
    files.push(entry);
}
