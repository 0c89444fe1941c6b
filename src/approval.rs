//! The approval policy every front end applies (the LSP server and ACP): whether an action is asked about
//! before it runs, why, the user's possible answers, and the observation a refusal becomes. How the user is
//! asked is the front end's business (`lsp/approvals.rs`, `acp/`).

use std::path::Path;

use openhands_runtime_api::{Action, Observation};

/// When the user is asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Policy {
    /// Never ask: everything runs.
    Never,
    /// Ask before every action that changes something.
    Always,
    /// Ask for risky actions only (the default).
    Risky,
}

impl std::str::FromStr for Policy {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "never" => Ok(Policy::Never),
            "always" => Ok(Policy::Always),
            "risky" => Ok(Policy::Risky),
            other => Err(format!(
                "`{other}` is not an approval policy: use \"never\", \"always\" or \"risky\""
            )),
        }
    }
}

impl Policy {
    /// Why this policy asks before `action` (`None`: it may run without asking). Each front end then skips
    /// what the user allowed for the conversation.
    pub fn asks(
        self,
        action: &Action,
        sandboxed: bool,
        sandbox_workspace: &Path,
    ) -> Option<&'static str> {
        Some(match self {
            Policy::Never => return None,
            _ if is_mcp_call(action) => MCP_CALL,
            Policy::Risky => risk(action, sandboxed, sandbox_workspace)?,
            Policy::Always => match action {
                Action::Run(_)
                | Action::RunIpython(_)
                | Action::Write(_)
                | Action::Edit(_)
                | Action::BrowseInteractive(_) => "every action is confirmed (approvals: always)",
                _ => return None,
            },
        })
    }
}

/// Why an MCP tool call is asked (under `risky` and `always`): its server acts outside the sandbox's
/// rules, so its effects are not known. "Allow always" allows every MCP tool for the conversation.
pub const MCP_CALL: &str = "it calls an MCP tool, whose effects are not known";

fn is_mcp_call(action: &Action) -> bool {
    matches!(action, Action::Other { kind, .. } if kind == "call_tool_mcp")
}

/// The user's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    AllowOnce,
    AllowAlways,
    Reject,
}

impl std::str::FromStr for Decision {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "allow_once" => Ok(Decision::AllowOnce),
            "allow_always" => Ok(Decision::AllowAlways),
            "reject" => Ok(Decision::Reject),
            other => Err(format!(
                "`{other}` is not an answer: use \"allow_once\", \"allow_always\" or \"reject\""
            )),
        }
    }
}

/// Why the risky policy asks before `action`, if it does: what the core's risk rules find (medium or
/// high), or the model's own high rating where nothing contains the action.
pub fn risk(action: &Action, sandboxed: bool, sandbox_workspace: &Path) -> Option<&'static str> {
    if matches!(action, Action::Run(run) if run.is_input) {
        return None;
    }
    use crate::agent::risk;
    risk::rules(action, sandbox_workspace)
        .map(|found| found.reason)
        .or((!sandboxed && risk::level(action) >= risk::HIGH)
            .then_some("the model rated it high risk"))
}

/// OpenHands' rejection observation.
pub fn rejection(why: &str) -> Observation {
    crate::events::kinds::user_rejected(why)
}

/// One line saying what the action does.
pub fn summarize(action: &Action) -> String {
    let short = |s: &str| {
        let line = s.lines().next().unwrap_or("");
        let mut out: String = line.chars().take(120).collect();
        if line.chars().count() > 120 || s.lines().count() > 1 {
            out.push('…');
        }
        out
    };
    match action {
        Action::Run(r) => format!("$ {}", short(&r.command)),
        Action::RunIpython(c) => format!("python: {}", short(&c.code)),
        Action::Write(w) => format!("write {}", w.path),
        Action::Edit(e) => format!("{} {}", e.command, e.path),
        Action::Read(r) => format!("read {}", r.path),
        Action::Browse(b) => format!("browse {}", b.url),
        Action::BrowseInteractive(b) => format!("browser: {}", short(&b.browser_actions)),
        Action::Other { kind, args } if kind == "call_tool_mcp" => format!(
            "MCP tool {}",
            args.get("name")
                .and_then(serde_json::Value::as_str)
                .unwrap_or("?")
        ),
        Action::Other { kind, .. } => kind.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use openhands_runtime_api::ActionEvent;

    #[test]
    fn mcp_tool_calls_are_asked_unless_nothing_is() {
        let call = openhands_runtime_api::mcp::mcp_action("echo", Default::default(), "", -1);
        let action = &call.action;
        let ws = Path::new("/workspace");
        assert_eq!(Policy::Risky.asks(action, true, ws), Some(MCP_CALL));
        assert_eq!(Policy::Always.asks(action, false, ws), Some(MCP_CALL));
        assert_eq!(Policy::Never.asks(action, false, ws), None);
        assert_eq!(summarize(action), "MCP tool echo");
        let think = ActionEvent::new(Action::Other {
            kind: "think".into(),
            args: Default::default(),
        });
        assert_eq!(Policy::Risky.asks(&think.action, true, ws), None);
    }
}
