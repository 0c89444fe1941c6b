//! `openhands-runtime`: an action execution server wire-compatible with OpenHands' V0 runtime.
//!
//! The HTTP layer (`server`) decodes requests into wire types and hands them to the [`executor`], which
//! owns the persistent bash session (`bash`), the file tools (`files`), the IPython kernel (`jupyter`) and the
//! browser (`browser`).

mod bash;
mod browser;
mod cli;
mod executor;
mod files;
mod jupyter;
mod mcp;
pub mod memory;
mod server;
mod system_stats;

use std::path::PathBuf;

pub use cli::Args;
pub use server::serve;

/// Entry points for the fuzz targets in `fuzz/` (a crate of its own); not an API, no stability promised.
#[doc(hidden)]
pub mod fuzzing {
    pub use crate::server::execute::{DecodeError, decode_action};

    /// BrowserGym action strings as `browse_interactive` parses them: the actions (as `Debug` text) or the
    /// error the model would read.
    pub fn parse_browser_actions(source: &str) -> Result<Vec<String>, String> {
        crate::browser::actions::parse(source)
            .map(|actions| actions.iter().map(|a| format!("{a:?}")).collect())
    }
}

/// The longest timeout the server takes, from the environment or an action (a year, in seconds): longer
/// ones are refused rather than overflowing a deadline.
pub const MAX_TIMEOUT_SECS: f64 = 365.0 * 24.0 * 3600.0;

/// Everything the server needs, resolved from the command line and the environment.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub host: std::net::IpAddr,
    pub port: u16,
    /// The initial working directory, canonical.
    pub working_dir: PathBuf,
    pub username: String,
    /// Run the shell as this uid (only honoured when the server runs as root).
    pub user_id: Option<u32>,
    pub plugins: Vec<String>,
    pub browser_enabled: bool,
    /// The browser's executable, when configured (`--chromium-path`, `OPENHANDS_CHROMIUM`).
    pub chromium_path: Option<PathBuf>,
    /// `--chromium-no-sandbox`: Chromium runs without its sandbox as any user, not only as root.
    pub chromium_no_sandbox: bool,
    /// `SESSION_API_KEY`; `None` disables the check.
    pub api_key: Option<String>,
    /// The soft "no new output" timeout of the bash session (`NO_CHANGE_TIMEOUT_SECONDS`).
    pub no_change_timeout: std::time::Duration,
    /// Refuse file actions outside `working_dir`.
    pub confine_files: bool,
    /// The interpreter of the jupyter plugin's kernel; `None` means `python3` on PATH.
    pub python: Option<PathBuf>,
}

impl ServerConfig {
    pub fn from_args(args: &Args) -> anyhow::Result<Self> {
        use anyhow::Context as _;
        std::fs::create_dir_all(&args.working_dir).with_context(|| {
            format!(
                "cannot create the working directory {}",
                args.working_dir.display()
            )
        })?;
        let working_dir = args.working_dir.canonicalize().with_context(|| {
            format!(
                "cannot resolve the working directory {}",
                args.working_dir.display()
            )
        })?;
        let no_change_timeout = match std::env::var("NO_CHANGE_TIMEOUT_SECONDS") {
            Ok(v) => {
                let secs: f64 = v.trim().parse().map_err(|_| {
                    anyhow::anyhow!(
                        "NO_CHANGE_TIMEOUT_SECONDS must be a number of seconds, got '{v}'"
                    )
                })?;
                anyhow::ensure!(
                    secs.is_finite() && secs > 0.0 && secs <= MAX_TIMEOUT_SECS,
                    "NO_CHANGE_TIMEOUT_SECONDS must be positive and at most {MAX_TIMEOUT_SECS} (a year), got '{v}'"
                );
                std::time::Duration::from_secs_f64(secs)
            }
            Err(_) => std::time::Duration::from_secs(10),
        };
        let api_key = std::env::var("SESSION_API_KEY")
            .ok()
            .filter(|k| !k.is_empty());
        server::guard::check_exposure(args.host, api_key.as_deref()).map_err(anyhow::Error::msg)?;
        Ok(Self {
            host: args.host,
            port: args.port,
            working_dir,
            username: args.username.clone(),
            user_id: shell_user(args.user_id),
            plugins: args.plugins.clone(),
            browser_enabled: args.browser_enabled(),
            chromium_path: args.chromium_path.clone(),
            chromium_no_sandbox: args.chromium_no_sandbox,
            api_key,
            no_change_timeout,
            confine_files: args.confine_files,
            python: args.python.clone(),
        })
    }
}

/// The uid to run the shell as: only a root server can switch users; otherwise the flag is informational.
fn shell_user(requested: Option<u32>) -> Option<u32> {
    let uid = requested?;
    let me = nix::unistd::geteuid().as_raw();
    if uid == me {
        None
    } else if me == 0 {
        Some(uid)
    } else {
        tracing::warn!(
            requested = uid,
            running_as = me,
            "--user-id needs a root server to switch users; the shell runs as the server's user"
        );
        None
    }
}
