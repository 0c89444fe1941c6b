//! The settings an editor gives (`initializationOptions` and `workspace/didChangeConfiguration`), validated
//! key by key: a bad value is reported and leaves its setting as it was.

use std::path::PathBuf;

use serde_json::Value;

use super::approvals::{ApprovalSettings, Policy};
use crate::config::Overrides;

/// The settings an editor may give (`initializationOptions` or `workspace/didChangeConfiguration`).
#[derive(Debug, Clone)]
pub struct Options {
    pub overrides: Overrides,
    pub approval: ApprovalSettings,
    pub rich: bool,
    /// How long the editor has to apply an agent edit (the user may be asked first).
    pub edit_timeout: std::time::Duration,
}

/// The default for `editTimeoutSeconds`: long enough for a person to answer an editor's question.
pub const EDIT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

impl Default for Options {
    fn default() -> Self {
        Self {
            overrides: Overrides::default(),
            approval: ApprovalSettings::default(),
            rich: false,
            edit_timeout: EDIT_TIMEOUT,
        }
    }
}

/// Every key `read_options` accepts (the VS Code extension's settings are checked against it).
pub const KEYS: &[&str] = &[
    "model",
    "llm",
    "baseUrl",
    "runtime",
    "runtimeUrl",
    "maxIterations",
    "dataDir",
    "ui",
    "approvals",
    "approvalUi",
    "approvalTimeoutSeconds",
    "approvalFallbackSeconds",
    "editTimeoutSeconds",
];

fn seconds(key: &str, v: &Value, problems: &mut Vec<String>) -> Option<std::time::Duration> {
    match v.as_f64() {
        Some(s) if s > 0.0 && s.is_finite() => Some(std::time::Duration::from_secs_f64(s)),
        _ => {
            problems.push(format!(
                "openhands.{key} must be a positive number of seconds, got {v}"
            ));
            None
        }
    }
}

/// Reads `{"openhands": {...}}` (all optional) over `o`; returns the problems found, leaving those
/// settings as they were.
pub fn read_options(value: Option<&Value>, o: &mut Options) -> Vec<String> {
    let mut problems = Vec::new();
    let Some(opts) = value.and_then(|v| v.get("openhands")) else {
        return problems;
    };
    let Some(map) = opts.as_object() else {
        problems.push("openhands settings must be an object".into());
        return problems;
    };
    for (k, v) in map {
        match (k.as_str(), v) {
            ("model", Value::String(s)) => o.overrides.model = Some(s.clone()),
            ("llm", Value::String(s)) => o.overrides.llm_profile = Some(s.clone()),
            ("runtime", Value::String(s)) => match s.parse() {
                Ok(kind) => o.overrides.runtime = Some(kind),
                Err(e) => problems.push(format!("openhands.runtime: {e}")),
            },
            ("runtimeUrl", Value::String(s)) => o.overrides.runtime_url = Some(s.clone()),
            ("baseUrl", Value::String(s)) => {
                o.overrides.base_url = (!s.trim().is_empty()).then(|| s.trim().to_owned())
            }
            ("maxIterations", Value::Number(n)) => {
                match n.as_u64().and_then(|n| u32::try_from(n).ok()) {
                    Some(n) if n > 0 => o.overrides.max_iterations = Some(n),
                    _ => problems.push(format!(
                        "openhands.maxIterations must be a positive integer, got {n}"
                    )),
                }
            }
            ("dataDir", Value::String(s)) => o.overrides.data_dir = Some(PathBuf::from(s)),
            ("ui", Value::String(s)) if s == "rich" || s == "standard" => o.rich = s == "rich",
            ("approvals", Value::String(s)) => match s.parse::<Policy>() {
                Ok(p) => o.approval.policy = p,
                Err(e) => problems.push(format!("openhands.approvals: {e}")),
            },
            ("approvalUi", Value::String(s)) if s == "client" || s == "editor" => {
                o.approval.client_ui = s == "client"
            }
            ("editTimeoutSeconds", v) => {
                if let Some(d) = seconds(k, v, &mut problems) {
                    o.edit_timeout = d;
                }
            }
            ("approvalTimeoutSeconds", v) => {
                if let Some(d) = seconds(k, v, &mut problems) {
                    o.approval.timeout = d;
                }
            }
            ("approvalFallbackSeconds", v) => {
                if let Some(d) = seconds(k, v, &mut problems) {
                    o.approval.fallback_after = d;
                }
            }
            ("ui", v) => problems.push(format!(
                "openhands.ui must be \"standard\" or \"rich\", got {v}"
            )),
            ("approvalUi", v) => problems.push(format!(
                "openhands.approvalUi must be \"editor\" or \"client\", got {v}"
            )),
            (key, value) if KEYS.contains(&key) => {
                problems.push(format!("openhands.{key} has the wrong type ({value})"))
            }
            (key, value) => problems.push(format!(
                "openhands.{key}: unknown setting ({value}); known: {}",
                KEYS.join(", ")
            )),
        }
    }
    problems
}
