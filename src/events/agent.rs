//! Typed views of the agent-side events (message, system, think, finish, task tracking, state changes, a
//! user's refusal), so the controller, the transcript, the LSP and ACP match enum variants instead of kind
//! strings. The events keep OpenHands' JSON shape (`Action::Other` / `ObservationKind::Other`); the kind
//! strings live here and in `kinds.rs`, nowhere else.

use openhands_runtime_api::{Action, ActionEvent, Observation, ObservationKind};
use serde_json::{Map, Value};

/// An agent-side action, borrowed from its event.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum AgentAction<'a> {
    /// `MessageAction`: a chat message from the user or the agent.
    Message {
        content: &'a str,
        wait_for_response: bool,
        /// Images the user attached (data URLs, as JSON strings).
        image_urls: &'a [Value],
    },
    /// `SystemMessageAction`: the system prompt sent to the model.
    System { content: &'a str },
    /// `AgentThinkAction`.
    Think { thought: &'a str },
    /// `AgentFinishAction`.
    Finish {
        final_thought: &'a str,
        thought: &'a str,
    },
    /// `TaskTrackingAction`: `command` is `plan` or `view`; `task_list` the plan's items.
    TaskTracking {
        command: &'a str,
        task_list: Option<&'a Value>,
        thought: &'a str,
    },
    /// `CondensationAction`: what the model no longer sees, and the summary that replaces it (the
    /// condenser reads its arguments).
    Condensation { args: &'a Map<String, Value> },
    /// `CondensationRequestAction`: the model, or the controller after a context-window error, asks for
    /// a condensation.
    CondensationRequest,
    /// `RecallAction`: a user message asks what the workspace and the skills have to say
    /// (`recall_type` is `workspace_context` or `knowledge`).
    Recall {
        recall_type: &'a str,
        query: &'a str,
    },
    /// `MCPAction` (`call_tool_mcp`): a call of an MCP server's tool, with the model's arguments.
    McpCall {
        name: &'a str,
        arguments: Option<&'a Map<String, Value>>,
    },
    /// Any other agent-side kind (one this agent does not run).
    Unknown {
        kind: &'a str,
        args: &'a Map<String, Value>,
    },
}

/// An agent-side observation, borrowed from its event.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum AgentObservation<'a> {
    /// `AgentThinkObservation`.
    Think,
    /// `TaskTrackingObservation`: the rendered plan in `content`.
    TaskTracking {
        content: &'a str,
        command: &'a str,
        task_list: Option<&'a Value>,
    },
    /// `AgentStateChangedObservation`.
    StateChanged { state: &'a str, reason: &'a str },
    /// `UserRejectObservation`: the user refused the action, so it did not run.
    UserRejected { content: &'a str },
    /// `NullObservation`: nothing to say.
    Null,
    /// `RecallObservation`: the workspace context, instructions and skills a user message brought in,
    /// rendered in `content` (what the model reads), described by `extras`.
    Recall {
        content: &'a str,
        extras: &'a Map<String, Value>,
    },
    /// `MCPObservation` (`mcp`): the JSON of the tool's result, or of its error.
    Mcp { content: &'a str, name: &'a str },
    /// Any other agent-side kind.
    Unknown { kind: &'a str },
}

fn str_of<'a>(m: &'a Map<String, Value>, key: &str) -> &'a str {
    m.get(key).and_then(Value::as_str).unwrap_or_default()
}

impl<'a> AgentAction<'a> {
    /// The typed view of an agent-side action; `None` for a runtime action (run, read, edit, ...).
    pub fn of(ev: &'a ActionEvent) -> Option<Self> {
        let Action::Other { kind, args } = &ev.action else {
            return None;
        };
        Some(match kind.as_str() {
            "message" => AgentAction::Message {
                content: str_of(args, "content"),
                wait_for_response: args
                    .get("wait_for_response")
                    .and_then(Value::as_bool)
                    .unwrap_or(false),
                image_urls: args
                    .get("image_urls")
                    .and_then(Value::as_array)
                    .map_or(&[], Vec::as_slice),
            },
            "system" => AgentAction::System {
                content: str_of(args, "content"),
            },
            "think" => AgentAction::Think {
                thought: str_of(args, "thought"),
            },
            "finish" => AgentAction::Finish {
                final_thought: str_of(args, "final_thought"),
                thought: str_of(args, "thought"),
            },
            "task_tracking" => AgentAction::TaskTracking {
                command: args
                    .get("command")
                    .and_then(Value::as_str)
                    .unwrap_or("view"),
                task_list: args.get("task_list"),
                thought: str_of(args, "thought"),
            },
            "condensation" => AgentAction::Condensation { args },
            "condensation_request" => AgentAction::CondensationRequest,
            "recall" => AgentAction::Recall {
                recall_type: str_of(args, "recall_type"),
                query: str_of(args, "query"),
            },
            "call_tool_mcp" => AgentAction::McpCall {
                name: str_of(args, "name"),
                arguments: args.get("arguments").and_then(Value::as_object),
            },
            other => AgentAction::Unknown { kind: other, args },
        })
    }
}

impl<'a> AgentObservation<'a> {
    /// The typed view of an agent-side observation; `None` for a runtime observation.
    pub fn of(obs: &'a Observation) -> Option<Self> {
        let ObservationKind::Other { kind, extras } = &obs.kind else {
            return None;
        };
        Some(match kind.as_str() {
            "think" => AgentObservation::Think,
            "task_tracking" => AgentObservation::TaskTracking {
                content: &obs.content,
                command: extras
                    .get("command")
                    .and_then(Value::as_str)
                    .unwrap_or("view"),
                task_list: extras.get("task_list"),
            },
            "agent_state_changed" => AgentObservation::StateChanged {
                state: str_of(extras, "agent_state"),
                reason: str_of(extras, "reason"),
            },
            super::kinds::USER_REJECTED => AgentObservation::UserRejected {
                content: &obs.content,
            },
            "null" => AgentObservation::Null,
            "recall" => AgentObservation::Recall {
                content: &obs.content,
                extras,
            },
            "mcp" => AgentObservation::Mcp {
                content: &obs.content,
                name: str_of(extras, "name"),
            },
            other => AgentObservation::Unknown { kind: other },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::{Event, kinds};
    use serde_json::json;

    fn action(e: &Event) -> AgentAction<'_> {
        AgentAction::of(e.as_action().unwrap()).unwrap()
    }

    fn observation(e: &Event) -> AgentObservation<'_> {
        AgentObservation::of(e.as_observation().unwrap()).unwrap()
    }

    /// OpenHands' MCP action and observation (built by the wire crate) read back as their variants.
    #[test]
    fn mcp_calls_and_results_read_back_as_their_variants() {
        use openhands_runtime_api::mcp::{mcp_action, mcp_observation};
        let mut args = Map::new();
        args.insert("message".into(), json!("hi"));
        let call = Event::Action(mcp_action("echo", args.clone(), "", -1));
        assert_eq!(
            action(&call),
            AgentAction::McpCall {
                name: "echo",
                arguments: Some(&args)
            }
        );
        let result = Event::Observation(mcp_observation("{}".into(), "echo", json!({})));
        assert_eq!(
            observation(&result),
            AgentObservation::Mcp {
                content: "{}",
                name: "echo"
            }
        );
    }

    /// Every constructor in `kinds` reads back as its variant: the kind strings agree in both directions.
    #[test]
    fn constructors_read_back_as_their_variants() {
        assert_eq!(
            action(&kinds::message("hi", true)),
            AgentAction::Message {
                content: "hi",
                wait_for_response: true,
                image_urls: &[],
            }
        );
        assert_eq!(
            action(&kinds::system("p", json!([]), "CodeActAgent")),
            AgentAction::System { content: "p" }
        );
        assert_eq!(
            action(&kinds::think("hmm")),
            AgentAction::Think { thought: "hmm" }
        );
        assert_eq!(
            action(&kinds::finish("done", "t")),
            AgentAction::Finish {
                final_thought: "done",
                thought: "t"
            }
        );
        let list = json!([{"title": "a", "status": "todo"}]);
        let tt = kinds::task_tracking("plan", list.clone(), "");
        assert_eq!(
            action(&tt),
            AgentAction::TaskTracking {
                command: "plan",
                task_list: Some(&list),
                thought: ""
            }
        );
        assert_eq!(
            observation(&kinds::think_observation()),
            AgentObservation::Think
        );
        assert_eq!(
            observation(&kinds::state_changed("finished", "why")),
            AgentObservation::StateChanged {
                state: "finished",
                reason: "why"
            }
        );
        let rejected = Event::Observation(kinds::user_rejected("no"));
        assert!(matches!(
            observation(&rejected),
            AgentObservation::UserRejected { content } if content.ends_with("no")
        ));
        let tto = kinds::task_tracking_observation("1. a".into(), "plan", list.clone());
        assert!(matches!(
            observation(&tto),
            AgentObservation::TaskTracking {
                command: "plan",
                ..
            }
        ));
        let run = Event::Observation(Observation::error("x"));
        assert_eq!(AgentObservation::of(run.as_observation().unwrap()), None);
    }
}
