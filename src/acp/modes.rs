//! The session modes ACP clients switch between (`session/set_mode`): how much the agent may do without
//! asking, each mapped onto the shared approval policy (`crate::approval`) so the LSP and ACP ask alike; and
//! `plan`, whose turns may only look (`crate::plan_mode`) and end with a plan.

use std::path::Path;

use openhands_runtime_api::Action;
use serde_json::{Value, json};

use crate::approval::Policy;

/// An approval mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Every command and edit is confirmed (`Policy::Always`).
    Ask,
    /// Edits inside the workspace and safe commands run; risky commands and writes outside the workspace
    /// are confirmed (`Policy::Risky`, the LSP's default).
    AutoEdit,
    /// Nothing is confirmed (`Policy::Never`).
    FullAuto,
    /// Read-only tools (`crate::plan_mode`): the turn investigates and records a plan; what it may do needs
    /// no confirmation, everything else is refused.
    Plan,
}

pub const ALL: [Mode; 4] = [Mode::Ask, Mode::AutoEdit, Mode::FullAuto, Mode::Plan];

/// The modes as a user names them, for error messages and hints.
pub const NAMES: &str = "ask, auto-edit, full-auto or plan";

impl Mode {
    pub fn id(self) -> &'static str {
        match self {
            Mode::Ask => "ask",
            Mode::AutoEdit => "auto-edit",
            Mode::FullAuto => "full-auto",
            Mode::Plan => "plan",
        }
    }

    pub fn parse(id: &str) -> Option<Mode> {
        ALL.into_iter().find(|m| m.id() == id)
    }

    fn name(self) -> &'static str {
        match self {
            Mode::Ask => "Ask",
            Mode::AutoEdit => "Auto-edit",
            Mode::FullAuto => "Full auto",
            Mode::Plan => "Plan",
        }
    }

    fn description(self) -> &'static str {
        match self {
            Mode::Ask => "Ask before every command and edit",
            Mode::AutoEdit => {
                "Edit the workspace freely; ask before risky commands and writes outside it"
            }
            Mode::FullAuto => "Never ask",
            Mode::Plan => {
                "Only look (reads and read-only commands) and propose a plan; switch mode to carry it out"
            }
        }
    }

    /// Why this mode asks before `action` (`None`: it runs).
    pub fn asks(self, action: &Action, sandboxed: bool, workspace: &Path) -> Option<&'static str> {
        match self {
            Mode::Ask => Policy::Always.asks(action, sandboxed, workspace),
            Mode::AutoEdit => Policy::Risky.asks(action, sandboxed, workspace),
            Mode::FullAuto | Mode::Plan => Policy::Never.asks(action, sandboxed, workspace),
        }
    }
}

/// `SessionModeState` as JSON.
pub fn state(current: Mode) -> Value {
    json!({
        "currentModeId": current.id(),
        "availableModes": ALL.iter().map(|m| json!({
            "id": m.id(), "name": m.name(), "description": m.description(),
        })).collect::<Vec<_>>(),
    })
}

/// The slash commands this agent offers (`available_commands_update`).
pub fn commands() -> Value {
    json!({
        "sessionUpdate": "available_commands_update",
        "availableCommands": [
            {"name": "usage", "description": "Show this conversation's tokens and cost"},
            {"name": "mode", "description": "Switch the mode: ask, auto-edit, full-auto, or plan (read-only)",
             "input": {"hint": "ask | auto-edit | full-auto | plan"}},
        ],
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use openhands_runtime_api::{CmdRunAction, FileEditAction};

    #[test]
    fn modes_ask_as_the_policy_does() {
        let ws = Path::new("/w");
        let ls = Action::Run(CmdRunAction::new("ls"));
        let rm = Action::Run(CmdRunAction::new("rm -rf x"));
        let edit = Action::Edit(FileEditAction::new("/w/a.txt", "create"));
        assert!(Mode::Ask.asks(&ls, true, ws).is_some());
        assert!(Mode::Ask.asks(&edit, true, ws).is_some());
        assert!(Mode::AutoEdit.asks(&ls, true, ws).is_none());
        assert!(Mode::AutoEdit.asks(&edit, true, ws).is_none());
        assert!(Mode::AutoEdit.asks(&rm, true, ws).is_some());
        assert!(Mode::FullAuto.asks(&rm, true, ws).is_none());
        assert_eq!(Mode::parse("auto-edit"), Some(Mode::AutoEdit));
        assert_eq!(Mode::parse("yolo"), None);
        assert_eq!(Mode::parse("plan"), Some(Mode::Plan));
        // Plan mode asks nothing: what it lets through only reads, the rest is refused (`crate::plan_mode`).
        assert!(Mode::Plan.asks(&rm, true, ws).is_none());
    }
}
