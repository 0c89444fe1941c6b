//! The `openhands-lsp` binary: the headless CLI today; the LSP server arrives on the same core.

use clap::Parser;
use openhands_lsp::cli::{Cli, main as cli_main};

fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("RUST_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        // Colour codes only for a terminal: an editor's log or a redirected file gets plain text.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("openhands-lsp: cannot start the async runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let code = runtime.block_on(cli_main(cli));
    // A blocking stdin read (the LSP transport) never ends on its own: do not wait for it.
    runtime.shutdown_timeout(std::time::Duration::from_millis(500));
    code
}
