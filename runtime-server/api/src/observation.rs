//! Observations as OpenHands V0 serializes them: `{message, observation, content, extras, success}`.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::event::EventMeta;

/// Commands whose output exceeds this many characters are cut to head + tail (`MAX_CMD_OUTPUT_SIZE`).
pub const MAX_CMD_OUTPUT_CHARS: usize = 30_000;
/// The marker OpenHands puts between the head and the tail of a truncated command output.
pub const TRUNCATION_MARKER: &str = "\n[... Observation truncated due to length ...]\n";

/// `CmdOutputMetadata`: what the shell prompt reported after a command.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CmdOutputMetadata {
    #[serde(default = "minus_one")]
    pub exit_code: i64,
    #[serde(default = "minus_one")]
    pub pid: i64,
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default)]
    pub hostname: Option<String>,
    #[serde(default)]
    pub working_dir: Option<String>,
    #[serde(default)]
    pub py_interpreter_path: Option<String>,
    #[serde(default)]
    pub prefix: String,
    #[serde(default)]
    pub suffix: String,
}

fn minus_one() -> i64 {
    -1
}

impl Default for CmdOutputMetadata {
    fn default() -> Self {
        Self {
            exit_code: -1,
            pid: -1,
            username: None,
            hostname: None,
            working_dir: None,
            py_interpreter_path: None,
            prefix: String::new(),
            suffix: String::new(),
        }
    }
}

/// Extras of a `run` observation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CmdOutputExtras {
    pub command: String,
    #[serde(default)]
    pub metadata: CmdOutputMetadata,
    #[serde(default)]
    pub hidden: bool,
}

/// Extras of an `edit` observation, with the quirks OpenHands' server emits (see the runtime reference §2.3).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FileEditExtras {
    pub path: String,
    #[serde(default)]
    pub prev_exist: bool,
    #[serde(default)]
    pub old_content: Option<String>,
    #[serde(default)]
    pub new_content: Option<String>,
    #[serde(default = "oh_aci")]
    pub impl_source: String,
    #[serde(default)]
    pub diff: String,
    #[serde(default, rename = "_diff_cache")]
    pub diff_cache: Option<Value>,
}

fn oh_aci() -> String {
    "oh_aci".to_owned()
}

/// Extras of a `browse` observation (`BrowserOutputObservation`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BrowserOutputExtras {
    pub url: String,
    #[serde(default)]
    pub trigger_by_action: String,
    #[serde(default)]
    pub screenshot: String,
    #[serde(default)]
    pub screenshot_path: Option<String>,
    #[serde(default)]
    pub set_of_marks: String,
    #[serde(default)]
    pub error: bool,
    #[serde(default)]
    pub goal_image_urls: Vec<String>,
    #[serde(default)]
    pub open_pages_urls: Vec<String>,
    #[serde(default = "minus_one")]
    pub active_page_index: i64,
    #[serde(default)]
    pub dom_object: Map<String, Value>,
    #[serde(default)]
    pub axtree_object: Map<String, Value>,
    #[serde(default)]
    pub extra_element_properties: Map<String, Value>,
    #[serde(default)]
    pub last_browser_action: String,
    #[serde(default)]
    pub last_browser_action_error: String,
    #[serde(default)]
    pub focused_element_bid: String,
    #[serde(default)]
    pub filter_visible_only: bool,
}

/// An observation's type and its `extras`.
#[derive(Debug, Clone, PartialEq)]
pub enum ObservationKind {
    Run(CmdOutputExtras),
    RunIpython {
        code: String,
        image_urls: Option<Vec<String>>,
    },
    Read {
        path: String,
        impl_source: String,
    },
    Write {
        path: String,
    },
    Edit(FileEditExtras),
    Error {
        error_id: String,
    },
    Browse(Box<BrowserOutputExtras>),
    Download {
        file_path: String,
    },
    /// Any other type (`null`, `think`, `agent_state_changed`, ...) with its extras kept as they are.
    Other {
        kind: String,
        extras: Map<String, Value>,
    },
}

/// An observation with its event envelope.
#[derive(Debug, Clone, PartialEq)]
pub struct Observation {
    pub meta: EventMeta,
    pub message: String,
    pub content: String,
    pub kind: ObservationKind,
}

impl Observation {
    /// A `run` observation; the content is cut to head + tail unless `hidden`, as OpenHands does.
    pub fn cmd_output(
        content: String,
        command: String,
        metadata: CmdOutputMetadata,
        hidden: bool,
    ) -> Self {
        let content = if hidden {
            content
        } else {
            truncate_cmd_output(content)
        };
        Self {
            meta: EventMeta::default(),
            message: format!(
                "Command `{command}` executed with exit code {}.",
                metadata.exit_code
            ),
            content,
            kind: ObservationKind::Run(CmdOutputExtras {
                command,
                metadata,
                hidden,
            }),
        }
    }

    /// An `error` observation; its message is its content.
    pub fn error(content: impl Into<String>) -> Self {
        let content = content.into();
        Self {
            meta: EventMeta::default(),
            message: content.clone(),
            content,
            kind: ObservationKind::Error {
                error_id: String::new(),
            },
        }
    }

    pub fn read(content: String, path: String, impl_source: &str) -> Self {
        Self {
            meta: EventMeta::default(),
            message: format!("I read the file {path}."),
            content,
            kind: ObservationKind::Read {
                path,
                impl_source: impl_source.to_owned(),
            },
        }
    }

    pub fn write(path: String) -> Self {
        Self {
            meta: EventMeta::default(),
            message: format!("I wrote to the file {path}."),
            content: String::new(),
            kind: ObservationKind::Write { path },
        }
    }

    pub fn edit(content: String, extras: FileEditExtras) -> Self {
        Self {
            meta: EventMeta::default(),
            message: format!("I edited the file {}.", extras.path),
            content,
            kind: ObservationKind::Edit(extras),
        }
    }

    pub fn ipython(content: String, code: String, image_urls: Option<Vec<String>>) -> Self {
        Self {
            meta: EventMeta::default(),
            message: "Code executed in IPython cell.".to_owned(),
            content,
            kind: ObservationKind::RunIpython { code, image_urls },
        }
    }

    pub fn browse(content: String, extras: BrowserOutputExtras) -> Self {
        Self {
            meta: EventMeta::default(),
            message: format!("Visited {}", extras.url),
            content,
            kind: ObservationKind::Browse(Box::new(extras)),
        }
    }

    /// The wire name in the `observation` key.
    pub fn kind_name(&self) -> &str {
        match &self.kind {
            ObservationKind::Run(_) => "run",
            ObservationKind::RunIpython { .. } => "run_ipython",
            ObservationKind::Read { .. } => "read",
            ObservationKind::Write { .. } => "write",
            ObservationKind::Edit(_) => "edit",
            ObservationKind::Error { .. } => "error",
            ObservationKind::Browse(_) => "browse",
            ObservationKind::Download { .. } => "download",
            ObservationKind::Other { kind, .. } => kind,
        }
    }

    /// `success`, emitted only for `run` (exit code 0) and `run_ipython` (always true).
    pub fn success(&self) -> Option<bool> {
        match &self.kind {
            ObservationKind::Run(e) => Some(e.metadata.exit_code == 0),
            ObservationKind::RunIpython { .. } => Some(true),
            _ => None,
        }
    }

    fn extras_value(&self) -> Value {
        let to = |v: Result<Value, serde_json::Error>| v.expect("extras serialize to JSON");
        match &self.kind {
            ObservationKind::Run(e) => to(serde_json::to_value(e)),
            ObservationKind::RunIpython { code, image_urls } => {
                serde_json::json!({ "code": code, "image_urls": image_urls })
            }
            ObservationKind::Read { path, impl_source } => {
                serde_json::json!({ "path": path, "impl_source": impl_source })
            }
            ObservationKind::Write { path } => serde_json::json!({ "path": path }),
            ObservationKind::Edit(e) => to(serde_json::to_value(e)),
            ObservationKind::Error { error_id } => serde_json::json!({ "error_id": error_id }),
            ObservationKind::Browse(e) => to(serde_json::to_value(e)),
            ObservationKind::Download { file_path } => {
                serde_json::json!({ "file_path": file_path })
            }
            ObservationKind::Other { extras, .. } => Value::Object(extras.clone()),
        }
    }

    /// Encodes in OpenHands' key order: `id, timestamp, source, message, cause, observation, content, extras, success`.
    pub fn to_value(&self) -> Value {
        let mut map = Map::new();
        self.meta.write_head(&mut map);
        map.insert("message".into(), self.message.clone().into());
        self.meta.write_cause(&mut map);
        map.insert("observation".into(), self.kind_name().to_owned().into());
        map.insert("content".into(), self.content.clone().into());
        map.insert("extras".into(), self.extras_value());
        if let Some(success) = self.success() {
            map.insert("success".into(), success.into());
        }
        self.meta.write_tail(&mut map);
        Value::Object(map)
    }

    /// Decodes an observation dict; unknown types are kept as [`ObservationKind::Other`].
    pub fn from_value(value: &Value) -> Result<Self, String> {
        let obj = value
            .as_object()
            .ok_or_else(|| "an observation must be a JSON object".to_owned())?;
        let kind_name = obj
            .get("observation")
            .and_then(Value::as_str)
            .ok_or_else(|| "an observation needs a string `observation` key".to_owned())?;
        let content = obj
            .get("content")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let extras = obj
            .get("extras")
            .cloned()
            .unwrap_or_else(|| Value::Object(Map::new()));
        let field = |k: &str| extras.get(k).and_then(Value::as_str).map(str::to_owned);
        let typed = |what: &str| format!("bad extras for a `{kind_name}` observation: {what}");
        let kind = match kind_name {
            "run" => ObservationKind::Run(
                serde_json::from_value(extras.clone()).map_err(|e| typed(&e.to_string()))?,
            ),
            "run_ipython" => ObservationKind::RunIpython {
                code: field("code").unwrap_or_default(),
                image_urls: extras
                    .get("image_urls")
                    .and_then(|v| serde_json::from_value(v.clone()).ok()),
            },
            "read" => ObservationKind::Read {
                path: field("path").unwrap_or_default(),
                impl_source: field("impl_source").unwrap_or_else(|| "default".to_owned()),
            },
            "write" => ObservationKind::Write {
                path: field("path").unwrap_or_default(),
            },
            "edit" => ObservationKind::Edit(
                serde_json::from_value(extras.clone()).map_err(|e| typed(&e.to_string()))?,
            ),
            "error" => ObservationKind::Error {
                error_id: field("error_id").unwrap_or_default(),
            },
            "browse" => ObservationKind::Browse(Box::new(
                serde_json::from_value(extras.clone()).map_err(|e| typed(&e.to_string()))?,
            )),
            "download" => ObservationKind::Download {
                file_path: field("file_path").unwrap_or_default(),
            },
            other => ObservationKind::Other {
                kind: other.to_owned(),
                extras: extras.as_object().cloned().unwrap_or_default(),
            },
        };
        Ok(Self {
            meta: EventMeta::from_object(obj),
            message: obj
                .get("message")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned(),
            content,
            kind,
        })
    }
}

/// Cuts `content` to its first and last 15,000 characters around OpenHands' marker when it is too long.
pub fn truncate_cmd_output(content: String) -> String {
    let total = content.chars().count();
    if total <= MAX_CMD_OUTPUT_CHARS {
        return content;
    }
    let half = MAX_CMD_OUTPUT_CHARS / 2;
    let head_end = content
        .char_indices()
        .nth(half)
        .map_or(content.len(), |(i, _)| i);
    let tail_start = content
        .char_indices()
        .nth(total - half)
        .map_or(content.len(), |(i, _)| i);
    format!(
        "{}{TRUNCATION_MARKER}{}",
        &content[..head_end],
        &content[tail_start..]
    )
}

impl Serialize for Observation {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.to_value().serialize(s)
    }
}

impl<'de> Deserialize<'de> for Observation {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(d)?;
        Observation::from_value(&value).map_err(serde::de::Error::custom)
    }
}
