//! Builds the chat messages sent to the model from the event log, keeping every assistant tool call
//! paired with its result (OpenHands' `ConversationMemory.process_events`).

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use openhands_runtime_api::{Action, Observation, ObservationKind, truncate_cmd_output};
use serde_json::{Value, json};

use crate::events::{AgentAction, AgentObservation, Event, EventSource};
use crate::llm::{Message, Role, ToolCall};

/// The tool-call metadata stored on events: which call of which model response produced them.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolCallMeta {
    pub function_name: String,
    pub tool_call_id: String,
    pub response_id: String,
    /// The assistant message of the response: its text and every tool call, to rebuild the history.
    pub assistant_content: String,
    pub tool_calls: Vec<ToolCall>,
}

impl ToolCallMeta {
    /// OpenHands' `tool_call_metadata` JSON, with the response in OpenAI's shape.
    pub fn to_value(&self) -> Value {
        let calls: Vec<Value> = self
            .tool_calls
            .iter()
            .map(|c| json!({"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}))
            .collect();
        json!({
            "function_name": self.function_name,
            "tool_call_id": self.tool_call_id,
            "model_response": {"id": self.response_id, "choices": [{"message": {
                "role": "assistant", "content": self.assistant_content, "tool_calls": calls}}]},
            "total_calls_in_response": self.tool_calls.len(),
        })
    }

    pub fn from_value(v: &Value) -> Option<Self> {
        let msg = v.pointer("/model_response/choices/0/message");
        let tool_calls = msg
            .and_then(|m| m.get("tool_calls"))
            .and_then(Value::as_array)
            .map(|calls| {
                calls
                    .iter()
                    .filter_map(|c| {
                        Some(ToolCall {
                            id: c.get("id")?.as_str()?.to_owned(),
                            name: c.pointer("/function/name")?.as_str()?.to_owned(),
                            arguments: c
                                .pointer("/function/arguments")
                                .and_then(Value::as_str)
                                .unwrap_or("{}")
                                .to_owned(),
                        })
                    })
                    .collect()
            })
            .unwrap_or_default();
        Some(Self {
            function_name: v.get("function_name")?.as_str()?.to_owned(),
            tool_call_id: v.get("tool_call_id")?.as_str()?.to_owned(),
            response_id: v
                .pointer("/model_response/id")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned(),
            assistant_content: msg
                .and_then(|m| m.get("content"))
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned(),
            tool_calls,
        })
    }
}

/// The tool-call metadata of an event, if any.
pub fn tool_call_meta(event: &Event) -> Option<ToolCallMeta> {
    event
        .meta()
        .tool_call_metadata
        .as_ref()
        .and_then(ToolCallMeta::from_value)
}

fn cut(text: String, max_chars: usize) -> String {
    if text.chars().count() <= max_chars {
        return text;
    }
    // Same head + tail cut as command outputs, at the configured size.
    let half = max_chars / 2;
    let chars: Vec<char> = text.chars().collect();
    let head: String = chars[..half].iter().collect();
    let tail: String = chars[chars.len() - half..].iter().collect();
    format!("{head}{}{tail}", openhands_runtime_api::TRUNCATION_MARKER)
}

/// The images an observation shows the model (data URLs): a browser screenshot, a cell's figures, an image
/// file the agent read. Which of them a request carries is the LLM client's choice (`llm::images::fit`).
pub fn observation_images(obs: &Observation) -> Vec<String> {
    match &obs.kind {
        ObservationKind::Browse(e) if !e.screenshot.is_empty() => vec![e.screenshot.clone()],
        ObservationKind::RunIpython {
            image_urls: Some(urls),
            ..
        } => urls.clone(),
        ObservationKind::Read { .. } if is_image_data_url(&obs.content) => {
            vec![obs.content.clone()]
        }
        _ => Vec::new(),
    }
}

fn is_image_data_url(text: &str) -> bool {
    crate::llm::images::parse_data_url(text).is_some_and(|(t, _)| t.starts_with("image/"))
}

/// What a file read as a data URL (an image, a PDF, a video) says in text: never its base64.
fn data_url_text(path: &str, content: &str) -> Option<String> {
    let (media_type, data) = crate::llm::images::parse_data_url(content)?;
    let kb = (data.len() / 4 * 3).div_ceil(1024);
    Some(if media_type.starts_with("image/") {
        format!("The image {path} ({media_type}, {kb} KB) is attached to this result.")
    } else {
        format!("{path} is a file of type {media_type} ({kb} KB); it cannot be shown as text.")
    })
}

/// What the model reads for an observation (`None`: not sent).
pub fn observation_text(obs: &Observation, max_chars: usize) -> Option<String> {
    let text = match &obs.kind {
        ObservationKind::Read { path, .. } if obs.content.starts_with("data:") => {
            data_url_text(path, &obs.content).unwrap_or_else(|| obs.content.clone())
        }
        ObservationKind::Run(e) => {
            let m = &e.metadata;
            let mut s = format!(
                "{}{}{}",
                m.prefix,
                truncate_cmd_output(obs.content.clone()),
                m.suffix
            );
            if let Some(wd) = m.working_dir.as_deref().filter(|w| !w.is_empty()) {
                s.push_str(&format!("\n[Current working directory: {wd}]"));
            }
            if let Some(py) = m.py_interpreter_path.as_deref().filter(|p| !p.is_empty()) {
                s.push_str(&format!("\n[Python interpreter: {py}]"));
            }
            if m.exit_code != -1 {
                s.push_str(&format!(
                    "\n[Command finished with exit code {}]",
                    m.exit_code
                ));
            }
            s
        }
        ObservationKind::Error { .. } => {
            format!(
                "{}\n[Error occurred in processing last action]",
                obs.content
            )
        }
        ObservationKind::Write { .. } if obs.content.is_empty() => obs.message.clone(),
        ObservationKind::Other { .. } => match AgentObservation::of(obs) {
            Some(AgentObservation::StateChanged { .. } | AgentObservation::Null) => return None,
            Some(AgentObservation::UserRejected { content }) => {
                format!("OBSERVATION:\n{content}\n[Last action has been rejected by the user]")
            }
            _ => obs.content.clone(),
        },
        _ => obs.content.clone(),
    };
    Some(cut(text, max_chars))
}

/// Builds `[system, first user message, ...]` with tool calls and results interleaved correctly.
pub fn build_messages(events: &[Arc<Event>], max_chars: usize) -> Vec<Message> {
    let mut out: Vec<Message> = Vec::new();
    // Assistant messages waiting for all their tool results, in the order they appeared.
    let mut pending: Vec<(String, Message)> = Vec::new();
    let mut results: HashMap<String, Message> = HashMap::new();
    let mut emitted: HashSet<String> = HashSet::new();

    for event in events {
        match event.as_ref() {
            Event::Action(a) => {
                if let Some(meta) = tool_call_meta(event) {
                    // A finish call is shown as plain assistant text (its call never gets a result).
                    if let Some(AgentAction::Finish { final_thought, .. }) = AgentAction::of(a) {
                        out.push(Message::new(Role::Assistant, final_thought));
                        continue;
                    }
                    if !emitted.contains(&meta.response_id)
                        && !pending.iter().any(|(id, _)| *id == meta.response_id)
                    {
                        let mut msg = Message::new(Role::Assistant, meta.assistant_content.clone());
                        msg.tool_calls = meta.tool_calls.clone();
                        pending.push((meta.response_id.clone(), msg));
                    }
                    continue;
                }
                match &a.action {
                    Action::Other { .. } => match AgentAction::of(a) {
                        Some(AgentAction::System { content }) => {
                            out.push(Message::new(Role::System, content))
                        }
                        Some(AgentAction::Message {
                            content,
                            image_urls,
                            ..
                        }) => {
                            let role = if event.source() == Some(EventSource::User) {
                                Role::User
                            } else {
                                Role::Assistant
                            };
                            let mut msg = Message::new(role, content);
                            if role == Role::User {
                                msg.images = image_urls
                                    .iter()
                                    .filter_map(Value::as_str)
                                    .map(str::to_owned)
                                    .collect();
                            }
                            out.push(msg);
                        }
                        Some(AgentAction::Finish { final_thought, .. }) => {
                            out.push(Message::new(Role::Assistant, final_thought))
                        }
                        _ => {}
                    },
                    Action::Run(run) if event.source() == Some(EventSource::User) => {
                        out.push(Message::new(
                            Role::User,
                            format!("User executed the command:\n{}", run.command),
                        ));
                    }
                    _ => {}
                }
            }
            Event::Observation(obs) => {
                let Some(text) = observation_text(obs, max_chars) else {
                    continue;
                };
                let images = observation_images(obs);
                match tool_call_meta(event) {
                    Some(meta) => {
                        // A result whose call produced no action (it was invalid, or never ran) opens
                        // its assistant message from the metadata, which carries the whole response.
                        if !emitted.contains(&meta.response_id)
                            && !pending.iter().any(|(id, _)| *id == meta.response_id)
                        {
                            let mut msg =
                                Message::new(Role::Assistant, meta.assistant_content.clone());
                            msg.tool_calls = meta.tool_calls.clone();
                            pending.push((meta.response_id.clone(), msg));
                        }
                        let mut msg = Message::new(Role::Tool, text);
                        msg.images = images;
                        msg.tool_call_id = Some(meta.tool_call_id.clone());
                        msg.name = Some(meta.function_name.clone());
                        results.insert(meta.tool_call_id, msg);
                    }
                    None => {
                        let prefix = if event.source() == Some(EventSource::User)
                            && matches!(obs.kind, ObservationKind::Run(_))
                        {
                            "Observed result of command executed by user:\n"
                        } else {
                            ""
                        };
                        let mut msg = Message::new(Role::User, format!("{prefix}{text}"));
                        msg.images = images;
                        out.push(msg);
                    }
                }
            }
        }
        flush_complete(&mut pending, &mut results, &mut out, &mut emitted);
    }
    // Calls that never got a result (cancelled mid-flight, condensed away) are trimmed from their message.
    for (_, mut msg) in pending.drain(..) {
        msg.tool_calls.retain(|c| results.contains_key(&c.id));
        if msg.tool_calls.is_empty() && msg.content.is_empty() {
            continue;
        }
        emit(msg, &mut results, &mut out);
    }
    out
}

/// Pushes an assistant message followed by its tool results, in tool-call order.
fn emit(msg: Message, results: &mut HashMap<String, Message>, out: &mut Vec<Message>) {
    let answers: Vec<Message> = msg
        .tool_calls
        .iter()
        .filter_map(|c| results.remove(&c.id))
        .collect();
    out.push(msg);
    out.extend(answers);
}

fn flush_complete(
    pending: &mut Vec<(String, Message)>,
    results: &mut HashMap<String, Message>,
    out: &mut Vec<Message>,
    emitted: &mut HashSet<String>,
) {
    let mut i = 0;
    while i < pending.len() {
        let done = pending[i]
            .1
            .tool_calls
            .iter()
            .all(|c| results.contains_key(&c.id));
        if done {
            let (id, msg) = pending.remove(i);
            emitted.insert(id);
            emit(msg, results, out);
        } else {
            i += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn screenshots_figures_and_image_files_are_images_and_never_base64_text() {
        let png = "data:image/png;base64,iVBORw0KGgo=".to_owned();
        let cell = Observation::ipython("plotted".into(), "plot()".into(), Some(vec![png.clone()]));
        assert_eq!(observation_images(&cell), vec![png.clone()]);
        let read = Observation::read(png.clone(), "/w/a.png".into(), "default");
        assert_eq!(observation_images(&read), vec![png.clone()]);
        let text = observation_text(&read, 30_000).unwrap();
        assert_eq!(
            text,
            "The image /w/a.png (image/png, 1 KB) is attached to this result."
        );
        let pdf = Observation::read(
            "data:application/pdf;base64,JVBERi0=".into(),
            "/w/a.pdf".into(),
            "default",
        );
        assert!(observation_images(&pdf).is_empty());
        assert_eq!(
            observation_text(&pdf, 30_000).unwrap(),
            "/w/a.pdf is a file of type application/pdf (1 KB); it cannot be shown as text."
        );
        let extras =
            serde_json::from_value(json!({"url": "http://x/", "screenshot": png})).unwrap();
        let page = Observation::browse("[1] link".into(), extras);
        assert_eq!(observation_images(&page), vec![png.clone()]);
        let plain = Observation::read("hello".into(), "/w/a.txt".into(), "default");
        assert!(observation_images(&plain).is_empty());
    }
}
