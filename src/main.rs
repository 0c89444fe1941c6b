//! The `openhands-lsp` binary; the LSP server and the headless CLI arrive on top of the runtime.

use std::process::ExitCode;

const USAGE: &str =
    "openhands-lsp: an OpenHands-style coding agent inside the editor, as a Language Server

The LSP server and the headless agent are not built yet. What works today is the sandbox they drive,
the action execution server `openhands-runtime` (see the README):

    cargo run --release -p openhands-runtime -- 3000 --working-dir \"$PWD\"

Options:
    -h, --help       print this help
    -V, --version    print the version";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        None | Some("-h" | "--help" | "help") => {
            println!("{USAGE}");
            ExitCode::SUCCESS
        }
        Some("-V" | "--version") => {
            println!(
                "openhands-lsp {} (wire protocol: OpenHands V0 action execution server, {} action types)",
                env!("CARGO_PKG_VERSION"),
                openhands_runtime_api::RUNTIME_ACTION_TYPES.len()
            );
            ExitCode::SUCCESS
        }
        Some(other) => {
            eprintln!("openhands-lsp: unknown argument '{other}'\n\n{USAGE}");
            ExitCode::from(2)
        }
    }
}
