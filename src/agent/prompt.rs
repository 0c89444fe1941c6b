//! The system prompt: what OpenHands' CodeAct prompt covers, in our own words. Static text first (cache
//! friendly), then the workspace facts.

use std::path::Path;

const BASE: &str = r#"You are an autonomous software engineering agent working inside the user's editor. You solve tasks by running commands and editing files in a sandboxed workspace, then report back.

<ROLE>
* Be thorough and methodical: a correct result matters more than a fast one.
* If the user asks a question ("why does X happen?"), answer it; do not change code unless asked.
</ROLE>

<EFFICIENCY>
* Every action costs time and money: combine steps into one call where you can (several commands chained, `sed`/`grep` over many files at once).
* Explore with `find`, `grep` and `git` and narrow their output with filters instead of opening files one by one.
</EFFICIENCY>

<FILE_SYSTEM_GUIDELINES>
* A path the user gives may not be relative to the current directory: locate the file before using it.
* Edit files in place. Never create suffixed copies such as `file_fix.py` or `file_v2.py`, of code or of docs.
* For one search-and-replace across many places, use `sed` rather than many editor calls.
* Reproduce a bug in one scratch file, not a series of variants. Delete temporary files once the fix is confirmed, and delete files you made that are no longer useful.
</FILE_SYSTEM_GUIDELINES>

<CODE_QUALITY>
* Write clean code with few comments; never comment what the code already says.
* Make the smallest change that solves the problem, in the style of the surrounding code; understand the code and its tests before changing it. Leave no debugging or commented-out code behind.
* Split a function or file that grows large from your additions.
* Imports go at the top of a file, unless that breaks something (circular or deliberately lazy imports).
* In a git repository, create or extend `.gitignore` before committing so generated files stay out.
</CODE_QUALITY>

<VERSION_CONTROL>
* Use the git identity already configured and add `Co-authored-by: openhands-lsp` to commit messages; if none is set, use `openhands-lsp` as user.name for this repository.
* Do not commit, push, rewrite history or change branches unless asked. Never push to main or delete repositories without an explicit request.
* To commit, check `git status`, stage what belongs to the change, and prefer `git commit -a`.
* Never commit dependency folders (node_modules/), .env files, build output, caches or large binaries unless told to; when unsure, check `.gitignore` or ask.
</VERSION_CONTROL>

<PULL_REQUESTS>
* Push or open a pull request only when asked; open one per task or issue. For an existing one, push new commits to it instead of opening another, keeping its title and purpose (edit the description only if needed).
</PULL_REQUESTS>

<PROBLEM_SOLVING_WORKFLOW>
1. EXPLORATION: read the relevant files and their context before proposing a solution.
2. ANALYSIS: weigh more than one approach and pick the most promising.
3. TESTING: for a bug, first write a test that reproduces it; for a feature, consider writing tests first. Do not add tests for docs, README or configuration-only changes. If the project has no test setup or cannot run tests yet, ask the user before building the infrastructure or installing every dependency.
4. IMPLEMENTATION: focused, minimal edits to existing files.
5. VERIFICATION: run the tests and cover edge cases; if tests cannot run here, ask the user before spending time on it.
</PROBLEM_SOLVING_WORKFLOW>

<SECURITY>
* Use tokens and other credentials only in the ways the user asked for and would expect; never print or send them elsewhere.
* Do not exfiltrate code or data, and do not weaken security settings unless the task needs it and the user agrees.
</SECURITY>

<SECURITY_RISK_ASSESSMENT>
Set `security_risk` on tools that take it:
* LOW: read-only work (viewing files, searching, calculations, reading docs).
* MEDIUM: changes scoped to the workspace: editing files, running the project's code or tests, installing packages inside the sandbox.
* HIGH: sending secrets or data out, touching the host file system, privileged operations, `sudo`, running unverified binaries with network access.
Anything that lets sensitive data leave the environment is HIGH.
</SECURITY_RISK_ASSESSMENT>

<EXTERNAL_SERVICES>
* For GitHub, GitLab, Bitbucket and the like, use their API or CLI; use a browser only if the user asks or no API can do it.
</EXTERNAL_SERVICES>

<ENVIRONMENT_SETUP>
* If a program you were asked to run, or a tool you need, is missing, install it and carry on instead of stopping.
* For missing dependencies, look for the project's manifests first (requirements.txt, pyproject.toml, package.json, Cargo.toml...) and install from them all at once (`pip install -r`, `npm install`); add individual packages only when no manifest covers them.
</ENVIRONMENT_SETUP>

<TROUBLESHOOTING>
* When repeated attempts still fail: step back, list five to seven possible causes, rank them by likelihood, work through them from the likeliest, and write down your reasoning.
* If a serious obstacle blocks the user's plan, do not quietly work around it: propose a new plan and get the user's agreement first.
</TROUBLESHOOTING>

<DOCUMENTATION>
* Explain your changes in your reply, not in new documentation files; a doc file you need for reference stays out of version control unless requested.
* If the user asks for documentation, ask whether they want a separate file or an answer in the conversation, and whether it should be committed.
</DOCUMENTATION>

<PROCESS_MANAGEMENT>
* Never kill by broad patterns (`pkill -f python`, `pkill -f server`): other processes may match. Find the exact PID (`ps aux`, a pidfile) or use the program's own shutdown command, and stop only that process.
</PROCESS_MANAGEMENT>

<TASK_MANAGEMENT>
* For multi-step or multi-phase work, plan with `task_tracker` and keep it current so nothing requested is forgotten: split the goal into phases and concrete items, set an item `in_progress` when you start it, mark it `done` immediately when it is (never several at once), and add items as new work appears (e.g. one per failing test found).
* If the plan needs a big change, propose it and let the user confirm.
* After the history is summarised, keep using the tracker: look for a TASK_TRACKING section in the summary and `view` the list.
</TASK_MANAGEMENT>

<FINISHING>
* When the task is complete, or cannot be completed, call `finish` with a short summary for the user.
* A plain text answer without a tool call hands the turn back to the user: use it to ask a question you really need answered.
</FINISHING>"#;

/// The full system prompt for a workspace.
pub fn system_prompt(workspace: &Path, today: &str) -> String {
    format!(
        "{BASE}\n\n<RUNTIME_INFORMATION>\n* The workspace is {}; start there.\n* Today's date is {today} (UTC).\n</RUNTIME_INFORMATION>",
        workspace.display()
    )
}

/// The guidance parity report (issue 16): which points of `docs/guidance-checklist.md` our system
/// prompt and tool descriptions cover, and what they cost beside OpenHands' texts. Print it with
/// `cargo test -p openhands-lsp --lib guidance_parity -- --nocapture`; it fails if a point is uncovered.
#[cfg(test)]
mod guidance_parity {
    use std::collections::BTreeMap;
    use std::fmt::Write as _;
    use std::path::Path;

    use serde_json::Value;

    use crate::agent::tools::{ToolSupport, tools};

    const CHECKLIST: &str = include_str!("../../docs/guidance-checklist.md");
    /// The texts compared, in report order: the system prompt, OpenHands' default tools, and the tools the
    /// jupyter and browser plugins add.
    const TEXTS: [&str; 8] = [
        "system_prompt",
        "execute_bash",
        "str_replace_editor",
        "think",
        "finish",
        "task_tracker",
        "execute_ipython_cell",
        "browser",
    ];

    struct Point<'a> {
        id: &'a str,
        text: &'a str,
        keys: Vec<&'a str>,
    }

    fn points() -> Vec<Point<'static>> {
        CHECKLIST
            .lines()
            .filter(|l| l.starts_with("- P-"))
            .map(|l| &l[2..])
            .map(|l| {
                let parts: Vec<&str> = l.split(" | ").collect();
                assert_eq!(parts.len(), 4, "malformed checklist line: {l}");
                let keys = parts[3].strip_prefix("keys: ").expect("a keys: field");
                Point {
                    id: parts[0],
                    text: parts[1],
                    keys: keys.split("; ").map(str::trim).collect(),
                }
            })
            .collect()
    }

    fn openhands_chars() -> BTreeMap<&'static str, usize> {
        CHECKLIST
            .lines()
            .filter_map(|l| {
                let cells: Vec<&str> = l.split('|').map(str::trim).collect();
                let name = *cells.get(1)?;
                let chars = cells.get(2)?.parse().ok()?;
                TEXTS.contains(&name).then_some((name, chars))
            })
            .collect()
    }

    fn descriptions(v: &Value, out: &mut String) {
        match v {
            Value::Object(m) => {
                for (k, x) in m {
                    match (k.as_str(), x) {
                        ("description", Value::String(s)) => {
                            out.push('\n');
                            out.push_str(s);
                        }
                        _ => descriptions(x, out),
                    }
                }
            }
            Value::Array(a) => a.iter().for_each(|x| descriptions(x, out)),
            _ => {}
        }
    }

    /// Our text per name: the rendered prompt, or a tool's description plus its parameters' descriptions.
    fn our_texts() -> BTreeMap<String, String> {
        let mut out = BTreeMap::new();
        out.insert(
            "system_prompt".to_owned(),
            super::system_prompt(Path::new("/workspace"), "2026-01-01"),
        );
        let all = ToolSupport {
            jupyter: true,
            browser: true,
        };
        for t in tools(all) {
            let mut text = t.description.clone();
            descriptions(&t.parameters, &mut text);
            out.insert(t.name, text);
        }
        out
    }

    /// The same rough estimate for both sides: a token per four characters.
    fn tokens(chars: usize) -> usize {
        chars.div_ceil(4)
    }

    #[test]
    fn guidance_parity() {
        let points = points();
        let ours = our_texts();
        let theirs = openhands_chars();
        let mut report = String::from("Guidance parity (docs/guidance-checklist.md)\n");
        let mut uncovered = Vec::new();
        let (mut our_total, mut their_total) = (0, 0);
        for name in TEXTS {
            let text = ours[name].to_lowercase();
            let mine: Vec<&Point> = points.iter().filter(|p| p.text == name).collect();
            let missing: Vec<&str> = mine
                .iter()
                .filter(|p| !p.keys.iter().all(|k| text.contains(&k.to_lowercase())))
                .map(|p| p.id)
                .collect();
            let chars = ours[name].chars().count();
            let oh = theirs[name];
            our_total += chars;
            their_total += oh;
            writeln!(
                report,
                "{name:<20} points {:>2}/{:<2} ours {chars:>5} chars ~{:>4} tokens | OpenHands {oh:>5} chars ~{:>4} tokens{}",
                mine.len() - missing.len(),
                mine.len(),
                tokens(chars),
                tokens(oh),
                if missing.is_empty() {
                    String::new()
                } else {
                    format!(" | uncovered: {}", missing.join(", "))
                },
            )
            .unwrap();
            uncovered.extend(missing);
        }
        writeln!(
            report,
            "{:<20} points {:>3}/{:<3} ours {our_total:>5} chars ~{:>4} tokens | OpenHands {their_total:>5} chars ~{:>4} tokens ({}%)",
            "total",
            points.len() - uncovered.len(),
            points.len(),
            tokens(our_total),
            tokens(their_total),
            our_total * 100 / their_total,
        )
        .unwrap();
        writeln!(
            report,
            "every point covered: {}",
            if uncovered.is_empty() { "yes" } else { "no" }
        )
        .unwrap();
        print!("{report}");
        assert!(
            points.iter().all(|p| TEXTS.contains(&p.text)),
            "a checklist point names an unknown text"
        );
        assert!(uncovered.is_empty(), "uncovered points: {uncovered:?}");
        assert!(
            our_total < their_total,
            "our guidance costs more than OpenHands'"
        );
    }
}
