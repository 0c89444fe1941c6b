//! The CodeAct agent and its controller: tools, system prompt, message building, tool-call parsing,
//! stuck detection, and the loop that ties the LLM, the runtime and the event stream together.

pub mod condenser;
pub mod context;
mod controller;
pub mod messages;
pub mod parse;
pub mod prompt;
pub mod risk;
pub mod stuck;
pub mod tools;

pub use controller::{
    AgentConfig, AgentState, ControlHandle, Controller, Metrics, Outcome, is_error_observation,
};
