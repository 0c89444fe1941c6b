//! `openhands-lsp doctor`: checks everything a task needs (settings, model, key, the model's server, the
//! runtime binary, Docker and its sandbox image, ipykernel, Chromium) and says how to fix each problem, before an editor hides it.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use crate::config::{self, Overrides, RuntimeKind};

/// How a check came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    Ok,
    /// Works, but something the user may want is missing.
    Warn,
    /// A task would fail.
    Fail,
}

struct Check {
    verdict: Verdict,
    name: &'static str,
    detail: String,
    fix: Option<String>,
}

fn check(verdict: Verdict, name: &'static str, detail: impl Into<String>) -> Check {
    Check {
        verdict,
        name,
        detail: detail.into(),
        fix: None,
    }
}

impl Check {
    fn fix(mut self, fix: impl Into<String>) -> Self {
        self.fix = Some(fix.into());
        self
    }
}

/// Runs every check for `workspace` and prints one line each (`ok`, `warn`, `FAIL`), with the fix below a
/// problem; fails when a task would fail.
pub(super) async fn doctor(workspace: Option<PathBuf>, overrides: Overrides) -> ExitCode {
    let workspace = workspace
        .or_else(|| std::env::current_dir().ok())
        .unwrap_or_else(|| PathBuf::from("/"));
    let mut checks = vec![check(
        Verdict::Ok,
        "openhands-lsp",
        format!(
            "{} ({})",
            env!("CARGO_PKG_VERSION"),
            std::env::current_exe()
                .map(|p| p.display().to_string())
                .unwrap_or_default()
        ),
    )];
    let settings = config::resolve(&workspace, &overrides, &|k| std::env::var(k).ok());
    match &settings {
        Ok(s) => {
            let files: Vec<String> = s.files.iter().map(|f| f.display().to_string()).collect();
            checks.push(check(
                Verdict::Ok,
                "settings",
                match files.is_empty() {
                    true => "from the environment (no config file)".to_owned(),
                    false => format!("from {}", files.join(", ")),
                },
            ));
            checks.extend(llm_checks(s).await);
            checks.extend(runtime_checks(s).await);
            checks.extend(mcp_checks(s));
            checks.extend(context_checks(&workspace, s));
        }
        Err(e) => checks.push(
            check(Verdict::Fail, "settings", e.to_string())
                .fix("set LLM_MODEL and LLM_API_KEY, or write ~/.config/openhands-lsp/config.toml (see docs/configuration.md)"),
        ),
    }
    checks.push(ipykernel_check());
    checks.push(chromium_check());
    let mut failed = false;
    for c in &checks {
        let tag = match c.verdict {
            Verdict::Ok => "ok  ",
            Verdict::Warn => "warn",
            Verdict::Fail => {
                failed = true;
                "FAIL"
            }
        };
        println!("{tag} {}: {}", c.name, c.detail);
        if let Some(fix) = &c.fix {
            println!("     fix: {fix}");
        }
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

/// One line per `[mcp]` server (env and header values are not shown); a stdio command the local runtime
/// cannot find is a warning, since the server would be skipped.
fn mcp_checks(s: &config::Settings) -> Vec<Check> {
    use crate::mcp::McpServer;
    let timeout = s.mcp.timeout.as_secs_f64();
    if s.mcp.servers.is_empty() {
        return vec![check(
            Verdict::Ok,
            "mcp",
            format!("no servers ([mcp] in the config; tool timeout {timeout} s)"),
        )];
    }
    s.mcp
        .servers
        .iter()
        .map(|server| match server {
            McpServer::Stdio(c) => {
                let keys: Vec<&str> = c.env.keys().map(String::as_str).collect();
                let line = format!(
                    "{}: stdio `{}{}`{}, run by the {} runtime inside its sandbox; tool timeout {timeout} s",
                    c.name,
                    c.command,
                    c.args.iter().map(|a| format!(" {a}")).collect::<String>(),
                    if keys.is_empty() { String::new() } else { format!(" with env {}", keys.join(", ")) },
                    match s.runtime.kind {
                        RuntimeKind::Local => "local",
                        RuntimeKind::Docker => "docker",
                        RuntimeKind::Remote => "remote",
                    },
                );
                let found = s.runtime.kind != RuntimeKind::Local
                    || c.command.contains('/') && is_executable(Path::new(&c.command))
                    || on_path(&c.command).is_some();
                if found {
                    check(Verdict::Ok, "mcp", line)
                } else {
                    check(Verdict::Warn, "mcp", format!("{line}; `{}` is not on PATH, so the server will be skipped", c.command))
                        .fix(format!("install `{}` (e.g. Node.js for node/npx) or fix stdio_servers in [mcp]", c.command))
                }
            }
            McpServer::Http(h) => {
                let keys: Vec<&str> = h.headers.keys().map(String::as_str).collect();
                check(
                    Verdict::Ok,
                    "mcp",
                    format!(
                        "{}: streamable HTTP {}{}; tool timeout {timeout} s",
                        h.name,
                        h.url,
                        if keys.is_empty() { String::new() } else { format!(" with headers {}", keys.join(", ")) }
                    ),
                )
            }
        })
        .collect()
}

/// The named secrets (names only) and what the agent will read of the workspace: instruction files and
/// skills, with every skill file that cannot be used.
fn context_checks(workspace: &Path, s: &config::Settings) -> Vec<Check> {
    let names = s.named_secrets.names();
    let secrets = match names.is_empty() {
        true => "none ([secrets] in a config file, or OPENHANDS_SECRET_<NAME>)".to_owned(),
        false => format!("{} (exported into the sandbox's shell)", names.join(", ")),
    };
    let user_skills = config::user_config_path().and_then(|p| Some(p.parent()?.join("skills")));
    let (context, warnings) =
        crate::agent::context::Context::load(workspace, user_skills.as_deref(), Vec::new());
    let mut skills = check(Verdict::Ok, "context", context.summary());
    if !warnings.is_empty() {
        skills = check(
            Verdict::Warn,
            "context",
            format!("{}; {}", context.summary(), warnings.join("; ")),
        )
        .fix("fix or remove the files named (see docs/configuration.md, skills)");
    }
    vec![check(Verdict::Ok, "secrets", secrets), skills]
}

async fn llm_checks(s: &config::Settings) -> Vec<Check> {
    let llm = &s.llm;
    let mut out = vec![check(
        Verdict::Ok,
        "model",
        format!("{} at {}", llm.model, llm.base_url),
    )];
    let local = llm.base_url.contains("://localhost") || llm.base_url.contains("://127.");
    match &llm.api_key {
        Some(_) => out.push(check(Verdict::Ok, "API key", "set (not shown)")),
        None if local => out.push(check(
            Verdict::Ok,
            "API key",
            "none (a local server usually needs none)",
        )),
        None => out.push(
            check(Verdict::Warn, "API key", "none is set")
                .fix("set LLM_API_KEY (VS Code: \"OpenHands: Set API key\")"),
        ),
    }
    out.push(condenser_check(s));
    out.push(
        match crate::llm::probe(llm, Duration::from_secs(10)).await {
            Ok(status @ (401 | 403)) => check(
                Verdict::Fail,
                "model server",
                format!("{} refused the key (HTTP {status})", llm.base_url),
            )
            .fix("check LLM_API_KEY for this server"),
            Ok(status) => check(
                Verdict::Ok,
                "model server",
                format!("{} answers (HTTP {status})", llm.base_url),
            ),
            Err(why) => check(
                Verdict::Fail,
                "model server",
                format!("{} cannot be reached: {why}", llm.base_url),
            )
            .fix("check LLM_BASE_URL (or base_url in the config file) and the network"),
        },
    );
    out
}

/// `[condenser]` and the context window it keeps prompts under.
fn condenser_check(s: &config::Settings) -> Check {
    use crate::agent::condenser::CondenserKind;
    let c = &s.agent.condenser;
    let window = match (s.llm.max_input_tokens, s.llm.context_window()) {
        (Some(n), _) => format!("context window {n} tokens ([llm] max_input_tokens)"),
        (None, Some(n)) => format!("context window {n} tokens (built in for this model)"),
        (None, None) => "context window unknown: condensing by event count and on the server's             context-length errors"
            .to_owned(),
    };
    let kind = match c.kind {
        CondenserKind::Llm => "llm",
        CondenserKind::ObservationMasking => "observation_masking",
        CondenserKind::None => "none",
    };
    let detail = format!(
        "type = \"{kind}\", keep_first = {}, max_size = {}; {window}",
        c.keep_first, c.max_size
    );
    if c.kind == CondenserKind::None {
        check(Verdict::Warn, "condenser", detail)
            .fix("a long task will fail once it outgrows the context window: set [condenser] type = \"llm\"")
    } else {
        check(Verdict::Ok, "condenser", detail)
    }
}

async fn runtime_checks(s: &config::Settings) -> Vec<Check> {
    let mut out = Vec::new();
    match crate::runtime::find_runtime_binary(s.runtime.binary.as_deref()) {
        Ok(path) => {
            let version = std::process::Command::new(&path)
                .arg("--version")
                .output()
                .ok()
                .filter(|o| o.status.success())
                .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned());
            out.push(match version {
                Some(v) => check(
                    Verdict::Ok,
                    "runtime binary",
                    format!("{v} ({})", path.display()),
                ),
                None => check(
                    Verdict::Fail,
                    "runtime binary",
                    format!("{} does not run", path.display()),
                )
                .fix("reinstall openhands-runtime beside openhands-lsp"),
            });
        }
        Err(e) => out.push(
            check(Verdict::Fail, "runtime binary", e.to_string())
                .fix("put openhands-runtime beside openhands-lsp, or set OPENHANDS_RUNTIME_BIN"),
        ),
    }
    let docker = crate::runtime::docker::engine_check(s.docker.socket.as_deref()).await;
    let needed = s.runtime.kind == RuntimeKind::Docker;
    let engine_up = docker.is_ok();
    out.push(match (docker, needed) {
        (Ok(()), _) => check(Verdict::Ok, "Docker", "the engine answers"),
        (Err(e), true) => check(Verdict::Fail, "Docker", e.to_string())
            .fix("start the Docker Engine, or use runtime = \"local\""),
        (Err(e), false) => check(
            Verdict::Ok,
            "Docker",
            format!(
                "not used (runtime {}); unavailable: {e}",
                format!("{:?}", s.runtime.kind).to_lowercase()
            ),
        ),
    });
    if needed && engine_up {
        out.push(sandbox_image_check(s).await);
    }
    out.push(check(
        Verdict::Ok,
        "runtime",
        format!("{:?}", s.runtime.kind).to_lowercase(),
    ));
    out
}

/// The image a Docker task would run: present and holding the plugins `[runtime]` asks for.
async fn sandbox_image_check(s: &config::Settings) -> Check {
    use crate::runtime::docker::{ImageCheck, SandboxPlugins, check_image};
    let plugins = SandboxPlugins {
        jupyter: s.runtime.jupyter,
        browser: s.runtime.browser,
    };
    let opts = crate::session::docker_options(&s.docker, None, plugins);
    match check_image(&opts).await {
        Ok(ImageCheck::Ready { tag, plugins }) => check(
            Verdict::Ok,
            "sandbox image",
            format!(
                "{tag} (plugins: {})",
                match plugins.is_empty() {
                    true => "none".to_owned(),
                    false => plugins.names().join(","),
                }
            ),
        ),
        Ok(ImageCheck::Missing { tag }) => check(
            Verdict::Warn,
            "sandbox image",
            format!("{tag} is not built yet: the first task builds it"),
        )
        .fix(format!(
            "openhands-lsp sandbox build{}{}",
            if s.docker.rootfs.is_some() {
                " --rootfs debian"
            } else {
                ""
            },
            match plugins.is_empty() {
                true => String::new(),
                false => format!(" --plugins {}", plugins.names().join(",")),
            }
        )),
        Ok(ImageCheck::Lacks(sentence)) => check(Verdict::Fail, "sandbox image", sentence),
        Err(e) => check(Verdict::Warn, "sandbox image", e.to_string()),
    }
}

fn ipykernel_check() -> Check {
    let ok = std::process::Command::new("python3")
        .args(["-c", "import ipykernel"])
        .output()
        .is_ok_and(|o| o.status.success());
    match ok {
        true => check(Verdict::Ok, "ipykernel", "found (IPython cells can run)"),
        false => check(
            Verdict::Warn,
            "ipykernel",
            "not found: the agent cannot run IPython cells",
        )
        .fix("python3 -m pip install ipykernel"),
    }
}

fn chromium_check() -> Check {
    let found = ["chromium", "chromium-browser", "google-chrome"]
        .iter()
        .find_map(|name| on_path(name))
        .or_else(|| {
            let p = PathBuf::from("/usr/lib/chromium/chromium");
            p.exists().then_some(p)
        });
    match found {
        Some(p) => check(
            Verdict::Ok,
            "Chromium",
            format!("{} (the browser tool can run)", p.display()),
        ),
        None => check(
            Verdict::Warn,
            "Chromium",
            "not found: the agent cannot browse",
        )
        .fix("apt-get install chromium"),
    }
}

fn on_path(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join(name))
            .find(|p| is_executable(p))
    })
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}
