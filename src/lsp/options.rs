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

/// Puts the setting `key` back to its default.
fn clear(key: &str, o: &mut Options) {
    let defaults = Options::default();
    match key {
        "model" => o.overrides.model = None,
        "llm" => o.overrides.llm_profile = None,
        "baseUrl" => o.overrides.base_url = None,
        "runtime" => o.overrides.runtime = None,
        "runtimeUrl" => o.overrides.runtime_url = None,
        "maxIterations" => o.overrides.max_iterations = None,
        "dataDir" => o.overrides.data_dir = None,
        "ui" => o.rich = defaults.rich,
        "approvals" => o.approval.policy = defaults.approval.policy,
        "approvalUi" => o.approval.client_ui = defaults.approval.client_ui,
        "approvalTimeoutSeconds" => o.approval.timeout = defaults.approval.timeout,
        "approvalFallbackSeconds" => o.approval.fallback_after = defaults.approval.fallback_after,
        "editTimeoutSeconds" => o.edit_timeout = defaults.edit_timeout,
        _ => {}
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
        // `null` clears a setting (an editor cannot otherwise take one back without a restart).
        if v.is_null() && KEYS.contains(&k.as_str()) {
            clear(k, o);
            continue;
        }
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Every setting the VS Code extension contributes (but the extension's own `server.*`) is one the
    /// server accepts, with a value of the type the extension declares; `null` clears each.
    #[test]
    fn the_vscode_extension_settings_are_options_the_server_accepts() {
        let manifest =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("editors/vscode/package.json");
        let package: Value =
            serde_json::from_str(&std::fs::read_to_string(&manifest).unwrap()).unwrap();
        let properties = package["contributes"]["configuration"]["properties"]
            .as_object()
            .expect("contributes.configuration.properties");
        let mut checked = Vec::new();
        for (name, schema) in properties {
            let key = name
                .strip_prefix("openhands.")
                .expect("settings are openhands.*");
            if key.starts_with("server.") {
                continue;
            }
            let sample = match schema["enum"].as_array() {
                Some(values) => values.last().cloned().unwrap(),
                // `["integer", "null"]`: a setting that may be left unset.
                None => match schema["type"]
                    .as_str()
                    .or_else(|| schema["type"][0].as_str())
                {
                    Some("string") => json!("x"),
                    Some("integer" | "number") => json!(7),
                    Some("boolean") => json!(true),
                    other => panic!("{name}: a type the test does not know: {other:?}"),
                },
            };
            let mut o = Options::default();
            let problems = read_options(Some(&json!({"openhands": {key: sample}})), &mut o);
            assert_eq!(problems, Vec::<String>::new(), "{name} = {sample}");
            let problems = read_options(Some(&json!({"openhands": {key: null}})), &mut o);
            assert_eq!(problems, Vec::<String>::new(), "{name} = null");
            checked.push(key.to_owned());
        }
        for wanted in [
            "model",
            "llm",
            "baseUrl",
            "runtime",
            "approvals",
            "maxIterations",
        ] {
            assert!(
                checked.iter().any(|k| k == wanted),
                "the extension lacks openhands.{wanted}"
            );
        }
    }

    #[test]
    fn null_clears_a_setting() {
        let mut o = Options::default();
        read_options(
            Some(
                &json!({"openhands": {"model": "m", "approvals": "never", "editTimeoutSeconds": 2}}),
            ),
            &mut o,
        );
        assert_eq!(o.overrides.model.as_deref(), Some("m"));
        let problems = read_options(
            Some(
                &json!({"openhands": {"model": null, "approvals": null, "editTimeoutSeconds": null}}),
            ),
            &mut o,
        );
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(o.overrides.model, None);
        assert_eq!(o.approval.policy, Policy::Risky);
        assert_eq!(o.edit_timeout, EDIT_TIMEOUT);
    }
}
