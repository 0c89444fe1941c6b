//! The `openhands-runtime` binary: parses OpenHands' command line and serves until told to stop.

use clap::Parser;
use openhands_runtime::{Args, ServerConfig, serve};

fn main() -> std::process::ExitCode {
    openhands_runtime::memory::pin_mmap_threshold();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("RUST_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let args = Args::parse();
    if let Err(e) = args.validate() {
        eprintln!("openhands-runtime: {e}");
        return std::process::ExitCode::from(2);
    }
    let config = match ServerConfig::from_args(&args) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("openhands-runtime: {e:#}");
            return std::process::ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("openhands-runtime: cannot start the async runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(serve(config)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("openhands-runtime: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
