//! Diagnostics in the loop: after an agent edit of a file, the new errors and warnings the editor reports
//! for it (`openhands/diagnostics`, opt-in) are added to the edit's observation; where the editor sends
//! none, a configured checker command (`[checkers]`) run in the sandbox serves instead, with a time limit.

mod checkers;
mod runtime;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use serde_json::Value;
use tokio::sync::Notify;

use super::uri_path;

pub use runtime::wrap;

/// How long an edit waits for the editor's first diagnostics of the file.
const FIRST_WAIT: Duration = Duration::from_millis(2500);
/// After the first, how long the diagnostics must stay unchanged (language servers report in stages).
const SETTLE: Duration = Duration::from_millis(300);
/// A checker command's time limit, in seconds.
const CHECKER_TIMEOUT: f64 = 60.0;
/// At most this many problems are told per edit.
const MAX_TOLD: usize = 20;

/// One problem as the editor reports it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Problem {
    /// 0-based, as LSP counts.
    pub line: u32,
    /// `error` or `warning`.
    pub severity: &'static str,
    pub message: String,
    pub source: String,
}

/// The latest diagnostics each open file's editor sent.
#[derive(Default)]
pub struct DiagStore {
    files: Mutex<HashMap<PathBuf, (u64, Vec<Problem>)>>,
    /// Whether the editor ever sent one: an editor that never does gets the checker at once.
    fed: std::sync::atomic::AtomicBool,
    changed: Notify,
}

impl DiagStore {
    /// Takes an `openhands/diagnostics {uri, diagnostics: Diagnostic[]}` notification.
    pub fn take(&self, params: &Value) -> Result<(), String> {
        let uri = params["uri"]
            .as_str()
            .ok_or("openhands/diagnostics needs `uri`")?;
        let path = uri
            .parse()
            .ok()
            .and_then(|u| uri_path(&u))
            .ok_or_else(|| format!("openhands/diagnostics: bad uri {uri}"))?;
        let list = params["diagnostics"]
            .as_array()
            .ok_or("openhands/diagnostics needs `diagnostics` (an array)")?;
        let problems = list
            .iter()
            .filter_map(|d| {
                let severity = match d["severity"].as_u64().unwrap_or(1) {
                    1 => "error",
                    2 => "warning",
                    _ => return None,
                };
                Some(Problem {
                    line: d["range"]["start"]["line"].as_u64().unwrap_or(0) as u32,
                    severity,
                    message: d["message"].as_str().unwrap_or_default().to_owned(),
                    source: d["source"].as_str().unwrap_or_default().to_owned(),
                })
            })
            .collect();
        {
            let mut files = self.files.lock().unwrap_or_else(|p| p.into_inner());
            let seq = files.get(&path).map_or(0, |f| f.0) + 1;
            files.insert(path, (seq, problems));
        }
        self.fed.store(true, std::sync::atomic::Ordering::Relaxed);
        self.changed.notify_waiters();
        Ok(())
    }

    fn get(&self, path: &Path) -> (u64, Vec<Problem>) {
        self.files
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(path)
            .cloned()
            .unwrap_or_default()
    }

    /// The file's diagnostics once the editor sent some after `seq` and they settled; `None` if none came.
    async fn after(&self, path: &Path, seq: u64) -> Option<Vec<Problem>> {
        let deadline = tokio::time::Instant::now() + FIRST_WAIT;
        let mut last = seq;
        loop {
            let notified = self.changed.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let (now, problems) = self.get(path);
            if now > last {
                last = now;
                // Settled when no newer list comes within SETTLE.
                if tokio::time::timeout(SETTLE, notified.as_mut())
                    .await
                    .is_err()
                {
                    return Some(problems);
                }
                continue;
            }
            if last > seq {
                return Some(problems);
            }
            if tokio::time::timeout_at(deadline, notified.as_mut())
                .await
                .is_err()
            {
                return None;
            }
        }
    }
}

/// Problems of `after` that `before` did not have (compared without their line, which an edit shifts).
fn new_problems(before: &[Problem], after: &[Problem]) -> Vec<Problem> {
    let mut left: Vec<&Problem> = before.iter().collect();
    after
        .iter()
        .filter(|p| {
            match left.iter().position(|b| {
                b.message == p.message && b.severity == p.severity && b.source == p.source
            }) {
                Some(i) => {
                    left.remove(i);
                    false
                }
                None => true,
            }
        })
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(line: u32, message: &str) -> Problem {
        Problem {
            line,
            severity: "error",
            message: message.into(),
            source: "rustc".into(),
        }
    }

    #[test]
    fn only_problems_the_edit_brought_are_new() {
        let before = vec![p(3, "unused x"), p(9, "mismatched types")];
        let after = vec![
            p(4, "unused x"),
            p(10, "mismatched types"),
            p(2, "mismatched types"),
        ];
        assert_eq!(
            new_problems(&before, &after),
            vec![p(2, "mismatched types")]
        );
    }
}
