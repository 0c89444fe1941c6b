//! The Runtime wrapper that puts diagnostics in the loop: it adds an edit's new problems (the editor's or the
//! checker's) to the edit's observation and holds the agent's finish back once while new errors remain.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use futures_util::FutureExt;
use futures_util::future::BoxFuture;
use openhands_runtime_api::{Action, ActionEvent, CmdRunAction, Observation, ObservationKind};

use super::checkers::{checker_for, checkers, shell_quote};
use super::{CHECKER_TIMEOUT, DiagStore, MAX_TOLD, Problem, new_problems};
use crate::lsp::{State, uri_path};
use crate::runtime::{Runtime, RuntimeError};

/// A file the agent changed: its sandbox path, the editor's problems and the checker's lines before the first
/// edit.
type Touched = (String, Vec<Problem>, Option<Vec<String>>);

/// A runtime that tells the agent what its edits broke.
pub struct DiagnosticsRuntime {
    inner: Arc<dyn Runtime>,
    state: Arc<Mutex<State>>,
    store: Arc<DiagStore>,
    workspace: PathBuf,
    checkers: HashMap<String, String>,
    /// The checker's lines about each file at its last run: the baseline for "new".
    baselines: Mutex<HashMap<PathBuf, Vec<String>>>,
    /// Each file the agent changed, with its sandbox path and the problems before the task's first edit
    /// of it (the editor's, and the checker's): what the finish is compared with.
    touched: Mutex<HashMap<PathBuf, Touched>>,
    /// The finish was held back once already.
    held: std::sync::atomic::AtomicBool,
}

impl DiagnosticsRuntime {
    pub fn new(
        inner: Arc<dyn Runtime>,
        state: Arc<Mutex<State>>,
        store: Arc<DiagStore>,
        workspace: PathBuf,
        checkers: HashMap<String, String>,
    ) -> Self {
        Self {
            inner,
            state,
            store,
            workspace,
            checkers,
            baselines: Mutex::new(HashMap::new()),
            touched: Mutex::new(HashMap::new()),
            held: std::sync::atomic::AtomicBool::new(false),
        }
    }

    /// The host path a file action changes, if it changes one.
    fn edited(&self, action: &Action) -> Option<(String, PathBuf)> {
        let path = match action {
            Action::Write(w) => &w.path,
            Action::Edit(e) if e.command != "view" => &e.path,
            _ => return None,
        };
        let p = Path::new(path);
        let rel = match p.is_absolute() {
            true => p.strip_prefix(self.inner.workspace_dir()).ok()?,
            false => p,
        };
        Some((path.clone(), self.workspace.join(rel)))
    }

    fn is_open(&self, host: &Path) -> bool {
        let st = self.state.lock().unwrap_or_else(|p| p.into_inner());
        st.docs.uris().any(|u| {
            u.parse()
                .ok()
                .and_then(|u| uri_path(&u))
                .is_some_and(|p| p == host)
        })
    }

    /// The checker's output lines that mention the file, or why it could not run.
    async fn check(
        &self,
        command: &str,
        sandbox_path: &str,
        host: &Path,
    ) -> Result<Vec<String>, String> {
        let per_file = command.contains("{file}");
        let mut run = CmdRunAction::new(command.replace("{file}", &shell_quote(sandbox_path)));
        run.is_static = true;
        run.cwd = Some(self.inner.workspace_dir().display().to_string());
        let mut event = ActionEvent::new(Action::Run(run));
        event.timeout = Some(CHECKER_TIMEOUT);
        let obs = self
            .inner
            .execute(&event)
            .await
            .map_err(|e| e.to_string())?;
        if !matches!(obs.kind, ObservationKind::Run(_)) {
            return Err(obs.content);
        }
        let rel = host
            .strip_prefix(&self.workspace)
            .map(|r| r.display().to_string())
            .unwrap_or_default();
        let name = host
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        Ok(obs
            .content
            .lines()
            // A checker of the one file (`{file}`) speaks only of it; a project's checker of every file.
            .filter(|l| {
                (per_file && !l.trim().is_empty())
                    || (!rel.is_empty() && l.contains(&rel))
                    || (!name.is_empty() && l.contains(&name))
            })
            .map(|l| l.trim().to_owned())
            .collect())
    }

    fn lock_touched(&self) -> std::sync::MutexGuard<'_, HashMap<PathBuf, Touched>> {
        self.touched.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// New errors in the files the agent changed, compared with before its first edit of each: the finish
    /// is held back once with them.
    async fn finish_check(&self) -> Option<String> {
        if self.held.load(std::sync::atomic::Ordering::Relaxed) {
            return None;
        }
        let touched: Vec<_> = self
            .lock_touched()
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let fed = self.store.fed.load(std::sync::atomic::Ordering::Relaxed);
        let mut found = Vec::new();
        for (host, (sandbox_path, editor_before, checker_before)) in touched {
            let shown = host
                .strip_prefix(&self.workspace)
                .map(|r| r.display().to_string())
                .unwrap_or_else(|_| sandbox_path.clone());
            if fed && self.is_open(&host) {
                let (_, now) = self.store.get(&host);
                for p in new_problems(&editor_before, &now)
                    .iter()
                    .filter(|p| p.severity == "error")
                {
                    found.push(format!("  {shown} line {}: {}", p.line + 1, p.message));
                }
            } else if let (Some(cmd), Some(before)) =
                (checker_for(&self.checkers, &host), checker_before)
                && let Ok(now) = self.check(cmd, &sandbox_path, &host).await
            {
                let strip = |l: &str| {
                    l.chars()
                        .filter(|c| !c.is_ascii_digit())
                        .collect::<String>()
                };
                let mut left: Vec<String> = before.iter().map(|l| strip(l)).collect();
                for l in now {
                    match left.iter().position(|o| *o == strip(&l)) {
                        Some(i) => {
                            left.remove(i);
                        }
                        None => found.push(format!("  {shown}: {l}")),
                    }
                }
            }
        }
        if found.is_empty() {
            return None;
        }
        self.held.store(true, std::sync::atomic::Ordering::Relaxed);
        found.truncate(MAX_TOLD);
        Some(format!(
            "Not finished yet: the files you changed have new errors since your first edit of them:\n{}\nFix them, or call finish again if they are expected.",
            found.join("\n")
        ))
    }

    async fn run(&self, action: &ActionEvent) -> Result<Observation, RuntimeError> {
        let Some((sandbox_path, host)) = self.edited(&action.action) else {
            return self.inner.execute(action).await;
        };
        let open = self.is_open(&host);
        let (seq, before) = self.store.get(&host);
        let fed = self.store.fed.load(std::sync::atomic::Ordering::Relaxed);
        let checker = checker_for(&self.checkers, &host).cloned();
        // The checker's baseline, taken once per file before its first edit.
        if (!open || !fed)
            && let Some(cmd) = &checker
            && !self
                .baselines
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .contains_key(&host)
        {
            let lines = self
                .check(cmd, &sandbox_path, &host)
                .await
                .unwrap_or_default();
            self.baselines
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert(host.clone(), lines);
        }
        if !self.lock_touched().contains_key(&host) {
            let first_checker = self
                .baselines
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .get(&host)
                .cloned();
            self.lock_touched().insert(
                host.clone(),
                (sandbox_path.clone(), before.clone(), first_checker),
            );
        }
        let mut obs = self.inner.execute(action).await?;
        if matches!(obs.kind, ObservationKind::Error { .. }) {
            return Ok(obs);
        }
        let shown = host
            .strip_prefix(&self.workspace)
            .map(|r| r.display().to_string())
            .unwrap_or_else(|_| sandbox_path.clone());
        if open
            && fed
            && let Some(after) = self.store.after(&host, seq).await
        {
            let new = new_problems(&before, &after);
            if !new.is_empty() {
                let lines: Vec<String> = new
                    .iter()
                    .take(MAX_TOLD)
                    .map(|p| {
                        let source = match p.source.is_empty() {
                            true => String::new(),
                            false => format!(" [{}]", p.source),
                        };
                        format!(
                            "  line {}: {}: {}{source}",
                            p.line + 1,
                            p.severity,
                            p.message
                        )
                    })
                    .collect();
                obs.content.push_str(&format!(
                    "\n\nThe editor reports new problems in {shown} after this edit:\n{}",
                    lines.join("\n")
                ));
            }
            return Ok(obs);
        }
        let Some(cmd) = checker else {
            return Ok(obs);
        };
        match self.check(&cmd, &sandbox_path, &host).await {
            Ok(lines) => {
                let old = self
                    .baselines
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .insert(host.clone(), lines.clone())
                    .unwrap_or_default();
                let strip = |l: &str| {
                    l.chars()
                        .filter(|c| !c.is_ascii_digit())
                        .collect::<String>()
                };
                let mut left: Vec<String> = old.iter().map(|l| strip(l)).collect();
                let new: Vec<&String> = lines
                    .iter()
                    .filter(|l| match left.iter().position(|o| *o == strip(l)) {
                        Some(i) => {
                            left.remove(i);
                            false
                        }
                        None => true,
                    })
                    .take(MAX_TOLD)
                    .collect();
                if !new.is_empty() {
                    obs.content.push_str(&format!(
                        "\n\nThe checker (`{cmd}`) reports new problems in {shown} after this edit:\n{}",
                        new.iter().map(|l| format!("  {l}")).collect::<Vec<_>>().join("\n")
                    ));
                }
            }
            Err(why) => obs.content.push_str(&format!(
                "\n\n(The checker `{cmd}` could not run: {})",
                crate::session::one_line(&why, 200)
            )),
        }
        Ok(obs)
    }
}

/// The task's runtime with diagnostics in the loop.
pub fn wrap(
    inner: Arc<dyn Runtime>,
    state: &Arc<Mutex<State>>,
    workspace: &Path,
    config_files: &[PathBuf],
) -> Arc<dyn Runtime> {
    let store = state
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .diagnostics
        .clone();
    Arc::new(DiagnosticsRuntime::new(
        inner,
        state.clone(),
        store,
        workspace.to_owned(),
        checkers(config_files),
    ))
}

impl Runtime for DiagnosticsRuntime {
    fn execute<'a>(
        &'a self,
        action: &'a ActionEvent,
    ) -> BoxFuture<'a, Result<Observation, RuntimeError>> {
        self.run(action).boxed()
    }
    fn before_finish(&self) -> BoxFuture<'_, Option<String>> {
        self.finish_check().boxed()
    }
    crate::runtime::pass_on!(
        interrupt,
        health,
        close,
        workspace_dir,
        description,
        secrets,
        client,
        confirm
    );
}
