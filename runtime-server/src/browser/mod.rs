//! The browser behind `browse` and `browse_interactive`: headless Chromium driven over the DevTools
//! protocol, started on first use, one persistent page, replaced on the next action if it dies.
//!
//! `launch` starts and kills the process, `cdp` speaks the protocol, `actions` (over `call_syntax`) parses
//! BrowserGym's action strings, `interact` and `page` carry them out and snapshot the page (with `page.js`
//! inside it), `axtree` renders the accessibility tree and `observation` builds OpenHands' observation.

pub(crate) mod actions;
mod axtree;
mod call_syntax;
mod cdp;
mod interact;
mod keys;
mod launch;
mod observation;
mod page;

use std::path::{Path, PathBuf};
use std::time::Duration;

use openhands_runtime_api::{BrowseInteractiveAction, BrowseUrlAction, Observation};
use serde_json::{Value, json};

use self::actions::BrowserAction;
use self::cdp::CdpError;
use self::launch::Chromium;
use self::observation::{Request, Trigger};
use self::page::{Page, StepError};

/// OpenHands' answer when there is no browser (observed).
const DISABLED: &str = "Browser functionality is not supported or disabled.";

/// The longest a navigation may take; an action's own hard timeout shortens it.
const NAV_TIMEOUT: Duration = Duration::from_secs(30);

/// Why the browser could not be used.
#[derive(Debug, Clone, thiserror::Error)]
pub(crate) enum BrowserError {
    #[error(
        "Chromium was not found (looked for {looked_for}). Install it (Debian/Ubuntu: `apt-get install chromium`) or point --chromium-path or OPENHANDS_CHROMIUM at a Chromium or Chrome executable"
    )]
    NotInstalled { looked_for: String },
    #[error("cannot start Chromium: {0}")]
    Launch(String),
    #[error(transparent)]
    Cdp(#[from] CdpError),
}

/// What the browser needs from the server's configuration.
#[derive(Debug, Clone)]
pub(crate) struct BrowserSettings {
    /// `--chromium-path` / `OPENHANDS_CHROMIUM`; otherwise the usual names are looked up.
    pub executable: Option<PathBuf>,
    /// Start Chromium with `--no-sandbox` as any user (`--chromium-no-sandbox`).
    pub no_sandbox: bool,
    /// Relative upload paths and `browse` paths resolve here; screenshots are saved here.
    pub working_dir: PathBuf,
}

struct Session {
    chromium: Chromium,
    page: Page,
}

/// The browser's state as `/server_info` reports it.
#[derive(Debug, Clone, Default)]
struct Status {
    state: &'static str,
    pid: Option<i32>,
    executable: Option<String>,
    launches: u32,
    restarts: u32,
    last_error: Option<String>,
}

pub(crate) struct Browser {
    /// `None` when the browser is disabled.
    settings: Option<BrowserSettings>,
    /// One action at a time drives the page.
    session: tokio::sync::Mutex<Option<Session>>,
    status: std::sync::Mutex<Status>,
}

impl Browser {
    pub fn new(settings: Option<BrowserSettings>) -> Self {
        let state = if settings.is_some() {
            "not started"
        } else {
            "disabled"
        };
        Self {
            settings,
            session: tokio::sync::Mutex::new(None),
            status: std::sync::Mutex::new(Status {
                state,
                ..Status::default()
            }),
        }
    }

    /// `browse`: opens the URL and answers with the page as Markdown.
    pub async fn browse(&self, action: &BrowseUrlAction, timeout: Option<f64>) -> Observation {
        let Some(settings) = &self.settings else {
            return Observation::error(DISABLED);
        };
        let url = resolve_url(&action.url, &settings.working_dir);
        let action_str = format!("goto(\"{url}\")");
        let req = Request {
            trigger: Trigger::Browse,
            action: &action_str,
            return_axtree: action.return_axtree,
        };
        self.run(
            settings,
            &req,
            Ok(vec![BrowserAction::Goto(url.clone())]),
            timeout,
            &url,
        )
        .await
    }

    /// `browse_interactive`: runs BrowserGym actions and answers with the accessibility tree.
    pub async fn interact(
        &self,
        action: &BrowseInteractiveAction,
        timeout: Option<f64>,
    ) -> Observation {
        let Some(settings) = &self.settings else {
            return Observation::error(DISABLED);
        };
        let req = Request {
            trigger: Trigger::Interactive,
            action: &action.browser_actions,
            return_axtree: action.return_axtree,
        };
        let parsed = actions::parse(&action.browser_actions);
        self.run(settings, &req, parsed, timeout, "").await
    }

    async fn run(
        &self,
        settings: &BrowserSettings,
        req: &Request<'_>,
        parsed: Result<Vec<BrowserAction>, String>,
        timeout: Option<f64>,
        asked_url: &str,
    ) -> Observation {
        let nav_timeout = timeout
            .filter(|t| t.is_finite() && *t > 0.0)
            .map_or(NAV_TIMEOUT, |t| {
                Duration::try_from_secs_f64(t).map_or(NAV_TIMEOUT, |t| t.min(NAV_TIMEOUT))
            });
        let mut guard = self.session.lock().await;
        let restarted = match self.ensure_session(settings, &mut guard).await {
            Ok(r) => r,
            Err(e) => {
                self.set_failed(&e.to_string());
                return Observation::error(format!("{DISABLED} {e}"));
            }
        };
        let Some(session) = guard.as_mut() else {
            return Observation::error(DISABLED);
        };
        let mut error = parsed.as_ref().err().cloned();
        for action in parsed.iter().flatten() {
            match session
                .page
                .run(action, nav_timeout, &settings.working_dir)
                .await
            {
                Ok(()) => {}
                Err(StepError::Action(e)) => {
                    error = Some(e);
                    break;
                }
                Err(StepError::Browser(e)) => {
                    return self.lost(&mut guard, req, asked_url, e).await;
                }
            }
        }
        let mut obs = match session.page.snapshot(req.trigger == Trigger::Browse).await {
            Ok(snap) => observation::from_snapshot(req, snap, error, &settings.working_dir).await,
            Err(StepError::Action(e)) => observation::failed(req, asked_url, e),
            Err(StepError::Browser(e)) => return self.lost(&mut guard, req, asked_url, e).await,
        };
        crate::memory::release_free_memory();
        if restarted {
            obs.content.insert_str(
                0,
                "[The browser had stopped and was restarted before this action: earlier pages and element ids are gone.]\n",
            );
        }
        obs
    }

    /// Starts the browser if there is none or the last one died; true when it replaced a dead one.
    async fn ensure_session(
        &self,
        settings: &BrowserSettings,
        slot: &mut Option<Session>,
    ) -> Result<bool, BrowserError> {
        let mut restarted = false;
        if let Some(mut old) = slot.take() {
            if old.page.is_alive() && !old.chromium.has_exited() {
                *slot = Some(old);
                return Ok(false);
            }
            tracing::warn!(
                pid = old.chromium.pid(),
                "Chromium is gone{}; starting a new one",
                old.chromium.stderr_tail()
            );
            old.chromium.kill().await;
            restarted = true;
        }
        let executable = launch::find_executable(settings.executable.as_deref())?;
        self.update(|s| {
            s.state = "starting";
            s.executable = Some(executable.display().to_string());
        });
        let (mut chromium, cdp) = Chromium::launch(&executable, settings.no_sandbox).await?;
        let page = match Page::attach(cdp).await {
            Ok(p) => p,
            Err(e) => {
                chromium.kill().await;
                return Err(e.into());
            }
        };
        let pid = chromium.pid();
        self.update(|s| {
            s.state = "running";
            s.pid = Some(pid);
            s.launches += 1;
            s.restarts += u32::from(restarted);
            s.last_error = None;
        });
        *slot = Some(Session { chromium, page });
        Ok(restarted)
    }

    /// The browser died under an action: drop it (the next action starts another) and say so.
    async fn lost(
        &self,
        slot: &mut Option<Session>,
        req: &Request<'_>,
        url: &str,
        e: CdpError,
    ) -> Observation {
        let mut detail = String::new();
        if let Some(mut s) = slot.take() {
            detail = s.chromium.stderr_tail();
            s.chromium.kill().await;
        }
        tracing::warn!("the browser failed during an action: {e}{detail}");
        let message = format!(
            "The browser stopped responding or crashed ({e}); it will be restarted with a blank page on the next browser action."
        );
        self.update(|s| {
            s.state = "crashed";
            s.pid = None;
            s.last_error = Some(message.clone());
        });
        observation::failed(req, url, message)
    }

    fn set_failed(&self, message: &str) {
        self.update(|s| {
            s.state = "failed";
            s.pid = None;
            s.last_error = Some(message.to_owned());
        });
    }

    fn update(&self, f: impl FnOnce(&mut Status)) {
        if let Ok(mut s) = self.status.lock() {
            f(&mut s);
        }
    }

    /// The `browser` entry of `/server_info`.
    pub fn status(&self) -> Value {
        let mut s = self.status.lock().map(|s| s.clone()).unwrap_or_default();
        // A crash between actions is only noticed by the next action; say it now.
        if s.state == "running" && !s.pid.is_some_and(launch::process_alive) {
            s.state = "crashed";
        }
        json!({
            "status": s.state,
            "pid": s.pid,
            "executable": s.executable,
            "launches": s.launches,
            "restarts": s.restarts,
            "last_error": s.last_error,
        })
    }

    /// Kills Chromium (the whole process group) and removes its profile.
    pub async fn shutdown(&self) {
        if let Some(mut s) = self.session.lock().await.take() {
            s.chromium.kill().await;
        }
        if self.settings.is_some() {
            self.update(|s| {
                s.state = "stopped";
                s.pid = None;
            });
        }
    }
}

/// The URL for `browse`: URLs with a scheme go as they are; an existing path becomes a `file://` URL;
/// anything else is taken as a host name, as a browser's address bar does. (OpenHands prefixes anything
/// not starting with `http` with the server's directory, which breaks absolute paths and bare hosts.)
fn resolve_url(url: &str, cwd: &Path) -> String {
    let url = url.trim();
    let has_scheme = url.split_once(':').is_some_and(|(scheme, _)| {
        !scheme.is_empty()
            && scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
            && scheme
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic())
    }) && !url.contains(' ')
        && (url.contains("://")
            || ["about:", "data:", "javascript:", "blob:"]
                .iter()
                .any(|p| url.starts_with(p)));
    if has_scheme {
        return url.to_owned();
    }
    let path = cwd.join(url);
    if url.starts_with('/') || path.exists() {
        return format!("file://{}", path.display());
    }
    format!("http://{url}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_for_browse() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("page.html"), "<p>x</p>").unwrap();
        let cwd = dir.path();
        assert_eq!(
            resolve_url("http://127.0.0.1:8000/a", cwd),
            "http://127.0.0.1:8000/a"
        );
        assert_eq!(resolve_url("about:blank", cwd), "about:blank");
        assert_eq!(resolve_url("/etc/hostname", cwd), "file:///etc/hostname");
        assert_eq!(
            resolve_url("page.html", cwd),
            format!("file://{}/page.html", cwd.display())
        );
        assert_eq!(resolve_url("localhost:3000", cwd), "http://localhost:3000");
    }
}
