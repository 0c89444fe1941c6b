//! The headless CLI: `openhands-lsp run "task"` runs one task to its end with a transcript on stderr and
//! the final message on stdout; `openhands-lsp conversations` lists stored conversations.

mod doctor;
mod run;
mod sandbox;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::config::RuntimeKind;

/// Exit codes of `run`, documented in `--help`.
pub mod exit {
    pub const FINISHED: u8 = 0;
    pub const ERROR: u8 = 1;
    pub const USAGE: u8 = 2;
    pub const LIMIT: u8 = 3;
    pub const STUCK: u8 = 4;
    pub const NEEDS_INPUT: u8 = 5;
    pub const STOPPED: u8 = 130;
}

#[derive(Debug, Parser)]
#[command(
    name = "openhands-lsp",
    version,
    about = "An OpenHands-style coding agent inside the editor, as a Language Server",
    after_help = "Exit codes of `run`: 0 finished, 1 error, 2 bad usage or configuration, 3 iteration or budget limit, \
4 stuck in a loop, 5 the agent asks a question (answer with --resume), 130 stopped with Ctrl-C."
)]
pub struct Cli {
    /// Without a command, `openhands-lsp` speaks LSP on stdin/stdout
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Speak LSP on stdin/stdout (the default): what editors start
    Lsp,
    /// Speak the Agent Client Protocol on stdin/stdout: what Zed, JetBrains and other agent hosts start
    Acp,
    /// Run one task to its end without an editor
    Run(RunArgs),
    /// Build or check the Docker sandbox image
    Sandbox {
        #[command(subcommand)]
        action: SandboxCommand,
    },
    /// Check the settings, the model's server, the runtime, Docker, ipykernel and Chromium, with fixes
    Doctor {
        /// The project directory whose settings are checked (default: the current directory)
        #[arg(long)]
        workspace: Option<PathBuf>,
        /// The `[llm.NAME]` profile of the config file to check
        #[arg(long = "llm")]
        llm_profile: Option<String>,
        /// The model, overriding LLM_MODEL and the config file
        #[arg(long)]
        model: Option<String>,
        /// The LLM's base URL, overriding LLM_BASE_URL and the config file
        #[arg(long)]
        base_url: Option<String>,
        /// The runtime to check: local, remote, docker
        #[arg(long)]
        runtime: Option<RuntimeKind>,
    },
    /// List stored conversations, newest first
    Conversations {
        /// Where conversations are stored (default: $OPENHANDS_DATA_DIR or the XDG data dir)
        #[arg(long)]
        data_dir: Option<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
pub enum SandboxCommand {
    /// Build `openhands-sandbox:<version>` (reused when its inputs did not change)
    Build(SandboxArgs),
}

#[derive(Debug, clap::Args)]
pub struct SandboxArgs {
    /// Build the base from Debian's packages with debootstrap instead of pulling it (no registry needed)
    #[arg(long, value_name = "debian")]
    pub rootfs: Option<String>,
    /// The registry base image (default debian:bookworm-slim)
    #[arg(long)]
    pub base: Option<String>,
    /// The tag of the image to build
    #[arg(long)]
    pub image: Option<String>,
    /// Rebuild even when the inputs did not change
    #[arg(long)]
    pub force: bool,
    /// Also install the runtime's plugins: `jupyter` (Debian's python3-ipykernel), `browser` (Debian's
    /// chromium and fonts), e.g. `--plugins jupyter,browser`; the image is then tagged
    /// openhands-sandbox:<version>-jupyter-browser unless --image names it
    #[arg(long, value_name = "jupyter,browser")]
    pub plugins: Option<String>,
}

#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// The task, in plain words
    pub task: String,
    /// The project directory the agent works in (default: the current directory)
    #[arg(long)]
    pub workspace: Option<PathBuf>,
    /// Where actions run: local (a child openhands-runtime), remote (--runtime-url), docker
    #[arg(long)]
    pub runtime: Option<RuntimeKind>,
    /// URL of a remote openhands-runtime (key: OPENHANDS_RUNTIME_API_KEY)
    #[arg(long)]
    pub runtime_url: Option<String>,
    /// Maximum steps for this task (default 100)
    #[arg(long)]
    pub max_iterations: Option<u32>,
    /// The `[llm.NAME]` profile of the config file to use
    #[arg(long = "llm")]
    pub llm_profile: Option<String>,
    /// The model, overriding LLM_MODEL and the config file
    #[arg(long)]
    pub model: Option<String>,
    /// Where conversations are stored
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Continue a stored conversation with this task as the next message
    #[arg(long)]
    pub resume: Option<String>,
}

pub(super) fn fail(code: u8, message: impl std::fmt::Display) -> ExitCode {
    eprintln!("openhands-lsp: {message}");
    ExitCode::from(code)
}

pub async fn main(cli: Cli) -> ExitCode {
    match cli.command {
        None | Some(Command::Lsp) => {
            if std::io::IsTerminal::is_terminal(&std::io::stdin()) {
                eprintln!(
                    "openhands-lsp speaks the Language Server Protocol on stdin and stdout: your editor starts it.\n\
                     To run a task here: openhands-lsp run \"your task\"; to check the set-up: openhands-lsp doctor; \
                     everything else: openhands-lsp --help. (Ctrl-D quits.)"
                );
            }
            if crate::lsp::serve_stdio().await {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        Some(Command::Acp) => match crate::acp::serve_stdio().await {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("openhands-lsp acp: {e}");
                ExitCode::FAILURE
            }
        },
        Some(Command::Run(args)) => run::run(args).await,
        Some(Command::Conversations { data_dir }) => run::conversations(data_dir),
        Some(Command::Doctor {
            workspace,
            llm_profile,
            model,
            base_url,
            runtime,
        }) => {
            let overrides = crate::config::Overrides {
                llm_profile,
                model,
                base_url,
                runtime,
                ..Default::default()
            };
            doctor::doctor(workspace, overrides).await
        }
        Some(Command::Sandbox {
            action: SandboxCommand::Build(args),
        }) => sandbox::build(args).await,
    }
}
