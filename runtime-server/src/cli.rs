//! The command line, OpenHands' own: `openhands-runtime PORT --working-dir DIR [...]`.

use std::net::IpAddr;
use std::path::PathBuf;

use clap::Parser;

/// Plugins OpenHands knows; `vscode` arrives in later work, `agent_skills` has no server side.
pub const KNOWN_PLUGINS: &[&str] = &["jupyter", "agent_skills", "vscode"];

/// Action execution server wire-compatible with OpenHands' V0 runtime.
///
/// The API key comes from the environment variable SESSION_API_KEY; when it is set, every route but
/// /alive and /server_info requires it in the X-Session-API-Key header.
#[derive(Debug, Clone, Parser)]
#[command(name = "openhands-runtime", version)]
pub struct Args {
    /// TCP port to listen on (0 picks a free one and prints it)
    pub port: u16,
    /// Directory the bash session starts in and file actions are relative to
    #[arg(long)]
    pub working_dir: PathBuf,
    /// Name of the sandbox user (informational unless running as root with --user-id)
    #[arg(long, default_value = "openhands")]
    pub username: String,
    /// Run the shell as this uid when the server runs as root (default: the server's own uid)
    #[arg(long)]
    pub user_id: Option<u32>,
    /// Plugins to start: jupyter, agent_skills, vscode
    #[arg(long, num_args = 0..)]
    pub plugins: Vec<String>,
    /// Enable the browser (the default)
    #[arg(long, overrides_with = "no_enable_browser")]
    pub enable_browser: bool,
    /// Disable the browser
    #[arg(long)]
    pub no_enable_browser: bool,
    /// Chromium or Chrome executable for the browser (default: Debian's chromium, then chromium,
    /// chromium-browser, google-chrome on PATH)
    #[arg(long, env = "OPENHANDS_CHROMIUM")]
    pub chromium_path: Option<PathBuf>,
    /// Start Chromium without its own sandbox even when not root: for a container that is the sandbox
    /// (no user namespaces, no setuid helper under no-new-privileges)
    #[arg(long, env = "OPENHANDS_CHROMIUM_NO_SANDBOX")]
    pub chromium_no_sandbox: bool,
    /// Address to bind; 127.0.0.1 unless widened on purpose
    #[arg(long, default_value = "127.0.0.1")]
    pub host: IpAddr,
    /// Refuse file actions, uploads and downloads outside the working directory
    #[arg(long, env = "OPENHANDS_CONFINE_FILES")]
    pub confine_files: bool,
    /// Python interpreter for the jupyter plugin's IPython kernel (needs ipykernel; default: python3 on PATH)
    #[arg(long, env = "OPENHANDS_PYTHON")]
    pub python: Option<PathBuf>,
    /// Accepted for compatibility with OpenHands' launcher; evaluation environments are not supported
    #[arg(long, hide = true)]
    pub browsergym_eval_env: Option<String>,
}

impl Args {
    pub fn browser_enabled(&self) -> bool {
        !self.no_enable_browser
    }

    /// Rejects plugin names OpenHands would also reject (it exits with a ValueError).
    pub fn validate(&self) -> Result<(), String> {
        if let Some(bad) = self
            .plugins
            .iter()
            .find(|p| !KNOWN_PLUGINS.contains(&p.as_str()))
        {
            return Err(format!(
                "unknown plugin '{bad}'; known plugins: {}",
                KNOWN_PLUGINS.join(", ")
            ));
        }
        if !self.working_dir.is_absolute() {
            return Err(format!(
                "--working-dir must be an absolute path, got '{}'",
                self.working_dir.display()
            ));
        }
        Ok(())
    }
}
