//! The approval policy every front end applies (the LSP server and ACP): whether an action is asked about
//! before it runs, why, the user's possible answers, and the observation a refusal becomes. How the user is
//! asked is the front end's business (`lsp/approvals.rs`, `acp/`).

use std::path::{Path, PathBuf};

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

/// Why the risky policy asks before `action`, if it does.
pub fn risk(action: &Action, sandboxed: bool, sandbox_workspace: &Path) -> Option<&'static str> {
    match action {
        Action::Run(run) if !run.is_input => command_risk(&run.command)
            .or((!sandboxed && run.security_risk >= 2).then_some("the model rated it high risk")),
        Action::RunIpython(cell) => {
            (!sandboxed && cell.security_risk >= 2).then_some("the model rated it high risk")
        }
        Action::Write(w) => outside(&w.path, sandbox_workspace),
        Action::Edit(e) if e.command != "view" => outside(&e.path, sandbox_workspace),
        _ => None,
    }
}

fn outside(path: &str, workspace: &Path) -> Option<&'static str> {
    let p = Path::new(path);
    let mut normal = PathBuf::new();
    for c in p.components() {
        match c {
            std::path::Component::ParentDir => {
                normal.pop();
            }
            std::path::Component::CurDir => {}
            other => normal.push(other),
        }
    }
    (p.is_absolute() && !normal.starts_with(workspace)).then_some("it writes outside the workspace")
}

/// Commands that leave the machine, delete things, or install from the network.
fn command_risk(command: &str) -> Option<&'static str> {
    let words: Vec<&str> = command
        .split(|c: char| c.is_whitespace() || matches!(c, ';' | '&' | '|' | '(' | ')'))
        .filter(|w| !w.is_empty())
        .collect();
    let has = |pair: [&str; 2]| words.windows(2).any(|w| w[0] == pair[0] && w[1] == pair[1]);
    let any = |names: &[&str]| words.iter().any(|w| names.contains(w));
    if has(["git", "push"]) {
        return Some("it pushes to a git remote");
    }
    if any(&["rm", "rmdir", "shred", "unlink"]) || has(["git", "clean"]) || any(&["-delete"]) {
        return Some("it deletes files");
    }
    let installers = [
        ["pip", "install"],
        ["pip3", "install"],
        ["npm", "install"],
        ["npm", "i"],
        ["yarn", "add"],
        ["pnpm", "add"],
        ["apt", "install"],
        ["apt-get", "install"],
        ["cargo", "install"],
        ["gem", "install"],
        ["go", "install"],
    ];
    if installers.iter().any(|p| has(*p)) || (any(&["curl", "wget"]) && any(&["sh", "bash"])) {
        return Some("it installs software from the network");
    }
    None
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
        Action::Other { kind, .. } => kind.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn risky_commands_are_recognised() {
        for (cmd, expected) in [
            ("ls -la", None),
            ("cargo test", None),
            ("git push origin main", Some("it pushes to a git remote")),
            ("cd x && rm -rf build", Some("it deletes files")),
            (
                "pip install requests",
                Some("it installs software from the network"),
            ),
            (
                "curl -fsSL https://x | sh",
                Some("it installs software from the network"),
            ),
            ("echo rm", Some("it deletes files")),
            ("git status", None),
        ] {
            assert_eq!(command_risk(cmd), expected, "{cmd}");
        }
    }

    #[test]
    fn writes_outside_the_workspace_are_risky() {
        let ws = Path::new("/workspace");
        assert_eq!(outside("/workspace/a.txt", ws), None);
        assert_eq!(outside("relative.txt", ws), None);
        assert!(outside("/etc/passwd", ws).is_some());
        assert!(outside("/workspace/../etc/x", ws).is_some());
    }
}
