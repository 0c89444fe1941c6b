//! Actions as OpenHands V0 serializes them: `{message, action, args, timeout}` plus the event envelope.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::event::EventMeta;

/// `security_risk` when nobody assessed it (OpenHands' `ActionSecurityRisk.UNKNOWN`).
pub const SECURITY_RISK_UNKNOWN: i64 = -1;

fn default_risk() -> i64 {
    SECURITY_RISK_UNKNOWN
}
fn default_confirmed() -> String {
    "confirmed".to_owned()
}
fn default_true() -> bool {
    true
}
fn default_end() -> i64 {
    -1
}
fn default_one() -> i64 {
    1
}
fn default_oh_aci() -> String {
    "oh_aci".to_owned()
}
fn default_impl() -> String {
    "default".to_owned()
}

/// `CmdRunAction` (`run`): one command for the persistent bash session.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CmdRunAction {
    pub command: String,
    #[serde(default)]
    pub is_input: bool,
    #[serde(default)]
    pub thought: String,
    #[serde(default)]
    pub blocking: bool,
    #[serde(default)]
    pub is_static: bool,
    #[serde(default)]
    pub cwd: Option<String>,
    #[serde(default)]
    pub hidden: bool,
    #[serde(default = "default_confirmed")]
    pub confirmation_state: String,
    #[serde(default = "default_risk")]
    pub security_risk: i64,
}

impl CmdRunAction {
    pub fn new(command: impl Into<String>) -> Self {
        Self {
            command: command.into(),
            is_input: false,
            thought: String::new(),
            blocking: false,
            is_static: false,
            cwd: None,
            hidden: false,
            confirmation_state: default_confirmed(),
            security_risk: SECURITY_RISK_UNKNOWN,
        }
    }
}

/// `IPythonRunCellAction` (`run_ipython`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IPythonRunCellAction {
    pub code: String,
    #[serde(default)]
    pub thought: String,
    #[serde(default = "default_true")]
    pub include_extra: bool,
    #[serde(default = "default_confirmed")]
    pub confirmation_state: String,
    #[serde(default = "default_risk")]
    pub security_risk: i64,
    #[serde(default)]
    pub kernel_init_code: String,
}

/// `FileReadAction` (`read`): `impl_source` `default` reads lines, `oh_aci` runs the editor's `view`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FileReadAction {
    pub path: String,
    #[serde(default)]
    pub start: i64,
    #[serde(default = "default_end")]
    pub end: i64,
    #[serde(default)]
    pub thought: String,
    #[serde(default = "default_risk")]
    pub security_risk: i64,
    #[serde(default = "default_impl")]
    pub impl_source: String,
    #[serde(default)]
    pub view_range: Option<Vec<i64>>,
}

impl FileReadAction {
    pub fn new(path: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            start: 0,
            end: -1,
            thought: String::new(),
            security_risk: SECURITY_RISK_UNKNOWN,
            impl_source: default_impl(),
            view_range: None,
        }
    }
}

/// `FileWriteAction` (`write`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FileWriteAction {
    pub path: String,
    pub content: String,
    #[serde(default)]
    pub start: i64,
    #[serde(default = "default_end")]
    pub end: i64,
    #[serde(default)]
    pub thought: String,
    #[serde(default = "default_risk")]
    pub security_risk: i64,
}

impl FileWriteAction {
    pub fn new(path: impl Into<String>, content: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            content: content.into(),
            start: 0,
            end: -1,
            thought: String::new(),
            security_risk: SECURITY_RISK_UNKNOWN,
        }
    }
}

/// `FileEditAction` (`edit`): the `str_replace_editor` commands.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FileEditAction {
    pub path: String,
    #[serde(default)]
    pub command: String,
    #[serde(default)]
    pub file_text: Option<String>,
    #[serde(default)]
    pub old_str: Option<String>,
    #[serde(default)]
    pub new_str: Option<String>,
    /// An integer or a numeric string, as OpenHands accepts both.
    #[serde(default)]
    pub insert_line: Option<Value>,
    #[serde(default)]
    pub content: String,
    #[serde(default = "default_one")]
    pub start: i64,
    #[serde(default = "default_end")]
    pub end: i64,
    #[serde(default)]
    pub thought: String,
    #[serde(default = "default_risk")]
    pub security_risk: i64,
    #[serde(default = "default_oh_aci")]
    pub impl_source: String,
}

impl FileEditAction {
    pub fn new(path: impl Into<String>, command: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            command: command.into(),
            file_text: None,
            old_str: None,
            new_str: None,
            insert_line: None,
            content: String::new(),
            start: 1,
            end: -1,
            thought: String::new(),
            security_risk: SECURITY_RISK_UNKNOWN,
            impl_source: default_oh_aci(),
        }
    }
}

/// `BrowseURLAction` (`browse`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BrowseUrlAction {
    pub url: String,
    #[serde(default)]
    pub thought: String,
    #[serde(default = "default_risk")]
    pub security_risk: i64,
    #[serde(default)]
    pub return_axtree: bool,
}

/// `BrowseInteractiveAction` (`browse_interactive`): BrowserGym action strings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BrowseInteractiveAction {
    pub browser_actions: String,
    #[serde(default)]
    pub thought: String,
    #[serde(default)]
    pub browsergym_send_msg_to_user: String,
    #[serde(default = "default_risk")]
    pub security_risk: i64,
    #[serde(default)]
    pub return_axtree: bool,
}

/// Every action type OpenHands' deserializer knows (`ActionType`).
pub const KNOWN_ACTION_TYPES: &[&str] = &[
    "message",
    "system",
    "start",
    "read",
    "write",
    "edit",
    "run",
    "run_ipython",
    "browse",
    "browse_interactive",
    "call_tool_mcp",
    "delegate",
    "think",
    "finish",
    "reject",
    "null",
    "pause",
    "resume",
    "stop",
    "change_agent_state",
    "push",
    "send_pr",
    "recall",
    "condensation",
    "condensation_request",
    "task_tracking",
    "loop_recovery",
];

/// The action types an action execution server runs.
pub const RUNTIME_ACTION_TYPES: &[&str] = &[
    "run",
    "run_ipython",
    "read",
    "write",
    "edit",
    "browse",
    "browse_interactive",
];

/// An action's type and arguments. Types the sandbox does not run are kept as raw arguments.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    Run(CmdRunAction),
    RunIpython(IPythonRunCellAction),
    Read(FileReadAction),
    Write(FileWriteAction),
    Edit(FileEditAction),
    Browse(BrowseUrlAction),
    BrowseInteractive(BrowseInteractiveAction),
    /// A known type the runtime does not execute (`think`, `finish`, `message`, ...).
    Other {
        kind: String,
        args: Map<String, Value>,
    },
}

impl Action {
    /// The wire name in the `action` key.
    pub fn kind(&self) -> &str {
        match self {
            Action::Run(_) => "run",
            Action::RunIpython(_) => "run_ipython",
            Action::Read(_) => "read",
            Action::Write(_) => "write",
            Action::Edit(_) => "edit",
            Action::Browse(_) => "browse",
            Action::BrowseInteractive(_) => "browse_interactive",
            Action::Other { kind, .. } => kind,
        }
    }

    /// OpenHands' `Action.message` text for this action.
    pub fn default_message(&self) -> String {
        match self {
            Action::Run(a) => format!("Running command: {}", a.command),
            Action::RunIpython(a) => format!("Running Python code interactively: {}", a.code),
            Action::Read(a) => format!("Reading file: {}", a.path),
            Action::Write(a) => format!("Writing file: {}", a.path),
            Action::Edit(_) => String::new(),
            Action::Browse(a) => format!("I am browsing the URL: {}", a.url),
            Action::BrowseInteractive(a) => format!(
                "I am interacting with the browser:\n```\n{}\n```",
                a.browser_actions
            ),
            Action::Other { .. } => String::new(),
        }
    }

    fn args_value(&self) -> Value {
        let value = match self {
            Action::Run(a) => serde_json::to_value(a),
            Action::RunIpython(a) => serde_json::to_value(a),
            Action::Read(a) => serde_json::to_value(a),
            Action::Write(a) => serde_json::to_value(a),
            Action::Edit(a) => serde_json::to_value(a),
            Action::Browse(a) => serde_json::to_value(a),
            Action::BrowseInteractive(a) => serde_json::to_value(a),
            Action::Other { args, .. } => return Value::Object(args.clone()),
        };
        value.expect("action args serialize to JSON")
    }
}

/// Why an action dict could not be decoded.
#[derive(Debug, Clone, PartialEq)]
pub enum ActionDecodeError {
    /// The value is not an object or has no string `action` key.
    NotAnAction(String),
    /// `action` names no type OpenHands knows.
    UnknownType(String),
    /// The `args` do not fit the type (missing or wrongly typed fields).
    BadArgs { kind: String, message: String },
}

impl std::error::Error for ActionDecodeError {}

impl std::fmt::Display for ActionDecodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ActionDecodeError::NotAnAction(m) => write!(f, "{m}"),
            ActionDecodeError::UnknownType(t) => write!(
                f,
                "unknown action type '{t}'; known types: {}",
                KNOWN_ACTION_TYPES.join(", ")
            ),
            ActionDecodeError::BadArgs { kind, message } => {
                write!(f, "wrong arguments for action '{kind}': {message}")
            }
        }
    }
}

/// An action with its event envelope, as sent to `/execute_action` and stored in event logs.
#[derive(Debug, Clone, PartialEq)]
pub struct ActionEvent {
    pub meta: EventMeta,
    /// `message`; when decoding a dict without one, the type's default text.
    pub message: String,
    pub action: Action,
    /// The hard timeout in seconds (`None`: no hard timeout).
    pub timeout: Option<f64>,
}

impl ActionEvent {
    pub fn new(action: Action) -> Self {
        Self {
            meta: EventMeta::default(),
            message: action.default_message(),
            action,
            timeout: None,
        }
    }

    pub fn with_timeout(mut self, timeout: f64) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Decodes an action dict, applying OpenHands' legacy-key handling.
    pub fn from_value(value: &Value) -> Result<Self, ActionDecodeError> {
        let Some(obj) = value.as_object() else {
            return Err(ActionDecodeError::NotAnAction(
                "`action` must be a JSON object".to_owned(),
            ));
        };
        let kind = match obj.get("action") {
            Some(Value::String(s)) => s.clone(),
            Some(_) => {
                return Err(ActionDecodeError::NotAnAction(
                    "`action.action` must be a string naming the action type".to_owned(),
                ));
            }
            None => {
                return Err(ActionDecodeError::NotAnAction(
                    "`action.action` is missing: it names the action type, e.g. \"run\"".to_owned(),
                ));
            }
        };
        if !KNOWN_ACTION_TYPES.contains(&kind.as_str()) {
            return Err(ActionDecodeError::UnknownType(kind));
        }
        let mut args = match obj.get("args") {
            None | Some(Value::Null) => Map::new(),
            Some(Value::Object(m)) => m.clone(),
            Some(_) => {
                return Err(ActionDecodeError::BadArgs {
                    kind,
                    message: "`args` must be a JSON object".to_owned(),
                });
            }
        };
        // Legacy keys OpenHands' action_from_dict rewrites or drops.
        args.remove("timestamp");
        args.remove("keep_prompt");
        args.remove("task_completed");
        if let Some(v) = args.remove("is_confirmed") {
            args.entry("confirmation_state").or_insert(v);
        }
        if let Some(v) = args.remove("images_urls") {
            args.entry("image_urls").or_insert(v);
        }
        if let Some(risk) = args.get("security_risk")
            && !risk.is_i64()
        {
            args.remove("security_risk");
        }
        let action = decode_args(&kind, args)?;
        let meta = EventMeta::from_object(obj);
        let message = match obj.get("message") {
            Some(Value::String(s)) => s.clone(),
            _ => action.default_message(),
        };
        let timeout = match obj.get("timeout") {
            Some(Value::Number(n)) => n.as_f64(),
            Some(Value::Null) | None => None,
            Some(other) => {
                return Err(ActionDecodeError::BadArgs {
                    kind,
                    message: format!("`timeout` must be a number of seconds or null, got {other}"),
                });
            }
        };
        Ok(Self {
            meta,
            message,
            action,
            timeout,
        })
    }

    /// Encodes in OpenHands' key order: `id, timestamp, source, message, cause, action, args, timeout`.
    pub fn to_value(&self) -> Value {
        let mut map = Map::new();
        self.meta.write_head(&mut map);
        map.insert("message".into(), Value::String(self.message.clone()));
        self.meta.write_cause(&mut map);
        map.insert(
            "action".into(),
            Value::String(self.action.kind().to_owned()),
        );
        map.insert("args".into(), self.action.args_value());
        if let Some(t) = self.timeout {
            map.insert("timeout".into(), Value::from(t));
        }
        self.meta.write_tail(&mut map);
        Value::Object(map)
    }
}

fn decode_args(kind: &str, args: Map<String, Value>) -> Result<Action, ActionDecodeError> {
    fn typed<T: serde::de::DeserializeOwned>(
        kind: &str,
        args: Map<String, Value>,
    ) -> Result<T, ActionDecodeError> {
        serde_path_to_error::deserialize(Value::Object(args)).map_err(|e| {
            let path = e.path().to_string();
            let inner = e.into_inner().to_string();
            ActionDecodeError::BadArgs {
                kind: kind.to_owned(),
                message: if path == "." || inner.starts_with("missing field") {
                    inner
                } else {
                    format!("`{path}`: {inner}")
                },
            }
        })
    }
    Ok(match kind {
        "run" => Action::Run(typed(kind, args)?),
        "run_ipython" => Action::RunIpython(typed(kind, args)?),
        "read" => Action::Read(typed(kind, args)?),
        "write" => Action::Write(typed(kind, args)?),
        "edit" => Action::Edit(typed(kind, args)?),
        "browse" => Action::Browse(typed(kind, args)?),
        "browse_interactive" => Action::BrowseInteractive(typed(kind, args)?),
        other => Action::Other {
            kind: other.to_owned(),
            args,
        },
    })
}

impl Serialize for ActionEvent {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.to_value().serialize(s)
    }
}

impl<'de> Deserialize<'de> for ActionEvent {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(d)?;
        ActionEvent::from_value(&value).map_err(serde::de::Error::custom)
    }
}
