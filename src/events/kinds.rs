//! Constructors and accessors for the agent-side event types the runtime never sees (message, system,
//! think, finish, task tracking, state changes), kept in OpenHands' JSON shape. Reading them back is
//! `agent.rs`'s typed view.

use openhands_runtime_api::{Action, ActionEvent, Observation, ObservationKind};
use serde_json::{Map, Value, json};

use super::Event;

fn other_action(kind: &str, args: Value, message: String) -> Event {
    let args = match args {
        Value::Object(m) => m,
        _ => Map::new(),
    };
    let mut ev = ActionEvent::new(Action::Other {
        kind: kind.to_owned(),
        args,
    });
    ev.message = message;
    Event::Action(ev)
}

fn other_observation(kind: &str, content: String, extras: Value, message: String) -> Event {
    Event::Observation(Observation {
        meta: Default::default(),
        message,
        content,
        kind: ObservationKind::Other {
            kind: kind.to_owned(),
            extras: match extras {
                Value::Object(m) => m,
                _ => Map::new(),
            },
        },
    })
}

/// `MessageAction`: a user's or the agent's chat message.
pub fn message(content: &str, wait_for_response: bool) -> Event {
    other_action(
        "message",
        json!({"content": content, "file_urls": [], "image_urls": [],
               "wait_for_response": wait_for_response, "security_risk": -1}),
        content.to_owned(),
    )
}

/// `SystemMessageAction`: the exact system prompt and tool list sent to the model.
pub fn system(content: &str, tools: Value, agent_class: &str) -> Event {
    other_action(
        "system",
        json!({"content": content, "tools": tools,
               "openhands_version": env!("CARGO_PKG_VERSION"), "agent_class": agent_class}),
        content.to_owned(),
    )
}

/// `AgentThinkAction`.
pub fn think(thought: &str) -> Event {
    other_action(
        "think",
        json!({"thought": thought}),
        format!("I am thinking...: {thought}"),
    )
}

/// `AgentFinishAction`.
pub fn finish(final_thought: &str, thought: &str) -> Event {
    let message = if final_thought.is_empty() {
        "All done! What's next on the agenda?".to_owned()
    } else {
        final_thought.to_owned()
    };
    other_action(
        "finish",
        json!({"final_thought": final_thought, "outputs": {}, "thought": thought}),
        message,
    )
}

/// `TaskTrackingAction`.
pub fn task_tracking(command: &str, task_list: Value, thought: &str) -> Event {
    other_action(
        "task_tracking",
        json!({"command": command, "task_list": task_list, "thought": thought}),
        format!("Task tracker: {command}"),
    )
}

/// `RecallAction`: what a user message asks the workspace and the skills for.
pub fn recall(recall_type: &str, query: &str, message: String) -> Event {
    other_action(
        "recall",
        json!({"recall_type": recall_type, "query": query, "thought": ""}),
        message,
    )
}

/// `RecallObservation`: `content` is what the model reads; `extras` describe it (OpenHands' fields).
pub fn recall_observation(content: String, extras: Value, message: String) -> Event {
    other_observation("recall", content, extras, message)
}

/// `AgentThinkObservation`.
pub fn think_observation() -> Event {
    let text = "Your thought has been logged.".to_owned();
    other_observation("think", text.clone(), json!({}), text)
}

/// `TaskTrackingObservation`.
pub fn task_tracking_observation(content: String, command: &str, task_list: Value) -> Event {
    other_observation(
        "task_tracking",
        content.clone(),
        json!({"command": command, "task_list": task_list}),
        content,
    )
}

/// `AgentStateChangedObservation`.
pub fn state_changed(state: &str, reason: &str) -> Event {
    other_observation(
        "agent_state_changed",
        String::new(),
        json!({"agent_state": state, "reason": reason}),
        String::new(),
    )
}

/// The kind of OpenHands' `UserRejectObservation`: the user refused the action, so it did not run.
pub const USER_REJECTED: &str = "user_rejected";

/// `UserRejectObservation`, with OpenHands' text and the reason.
pub fn user_rejected(why: &str) -> Observation {
    let content = format!("Action has been rejected by the user! {why}");
    Observation {
        meta: Default::default(),
        message: content.clone(),
        content,
        kind: ObservationKind::Other {
            kind: USER_REJECTED.to_owned(),
            extras: Map::new(),
        },
    }
}
