//! What the model learns besides the task, recorded as OpenHands' `recall` events so a resumed conversation
//! sends the same and the transcript shows it: with the first message, the workspace context (repository,
//! branch, date, working directory, secret names) and the repository's instructions (`AGENTS.md` and
//! kin, nearest first for the files the task names); with any message, the skills its words trigger,
//! each once per conversation.
//!
//! Files are read from the host's workspace, not through the runtime: with the local and Docker runtimes
//! it is the very directory the sandbox works in (Docker mounts it), reading it costs no action, and with
//! a remote runtime it is the checkout the user opened, whose instructions the user can see, rather than
//! a remote copy a sandboxed process could rewrite to steer the agent.

mod files;
mod skills;

use std::path::{Path, PathBuf};

use serde_json::{Map, Value, json};

use crate::events::{AgentObservation, Event, EventSource, EventStream, StreamError, kinds};

pub use files::Limits;
pub use skills::Skill;

/// OpenHands' `RecallType`s.
pub const WORKSPACE_CONTEXT: &str = "workspace_context";
pub const KNOWLEDGE: &str = "knowledge";

/// Where skills are looked for in a repository, in load order.
pub const REPO_SKILL_DIRS: &[&str] = &[".openhands/microagents", ".agents/skills"];

/// What a conversation can be told about its workspace, loaded when it opens.
#[derive(Debug, Clone, Default)]
pub struct Context {
    /// The workspace on the host, where instruction files are read.
    workspace: PathBuf,
    /// Knowledge skills (with triggers); a later one of the same name replaces an earlier one.
    skills: Vec<Skill>,
    /// Skills without triggers: always-on instructions, after the repository's files.
    always: Vec<Skill>,
    secret_names: Vec<String>,
    limits: Limits,
}

impl Context {
    /// Loads the skills of the repository and of `user_skills` (the user's directory, which wins on a
    /// name); unusable files are skipped and described in the returned warnings.
    pub fn load(
        workspace: &Path,
        user_skills: Option<&Path>,
        secret_names: Vec<String>,
    ) -> (Self, Vec<String>) {
        Self::load_with(workspace, user_skills, secret_names, Limits::default())
    }

    pub fn load_with(
        workspace: &Path,
        user_skills: Option<&Path>,
        secret_names: Vec<String>,
        limits: Limits,
    ) -> (Self, Vec<String>) {
        let mut warnings = Vec::new();
        let mut all: Vec<Skill> = Vec::new();
        for dir in REPO_SKILL_DIRS {
            let skills = skills::load_dir(
                &workspace.join(dir),
                dir,
                Some(workspace),
                &limits,
                &mut warnings,
            );
            all.extend(skills);
        }
        if let Some(dir) = user_skills {
            all.extend(skills::load_dir(
                dir,
                &dir.display().to_string(),
                None,
                &limits,
                &mut warnings,
            ));
        }
        let mut skills: Vec<Skill> = Vec::new();
        for skill in all {
            // `repo.md` is read as a repository instruction file, in its place among them.
            if skill.source == ".openhands/microagents/repo.md" {
                continue;
            }
            skills.retain(|s| s.name != skill.name);
            skills.push(skill);
        }
        let (always, skills) = skills.into_iter().partition(|s| s.triggers.is_empty());
        let context = Self {
            workspace: workspace.to_path_buf(),
            skills,
            always,
            secret_names,
            limits,
        };
        (context, warnings)
    }

    /// One line for `doctor`: the root's instruction files and the skills with their triggers.
    pub fn summary(&self) -> String {
        let files: Vec<String> = files::instruction_files(&self.workspace, &[])
            .iter()
            .map(|p| {
                p.strip_prefix(&self.workspace)
                    .unwrap_or(p)
                    .display()
                    .to_string()
            })
            .collect();
        let mut skills: Vec<String> = self
            .skills
            .iter()
            .map(|s| format!("{} ({})", s.name, s.triggers.join(", ")))
            .collect();
        skills.extend(self.always.iter().map(|s| format!("{} (always)", s.name)));
        let or_none = |v: Vec<String>| match v.is_empty() {
            true => "none".to_owned(),
            false => v.join(", "),
        };
        format!(
            "instructions: {}; skills: {}",
            or_none(files),
            or_none(skills)
        )
    }

    /// Skills triggered by `text` and not yet in `injected`, with the trigger each matched.
    fn triggered<'a>(&'a self, text: &str, injected: &[String]) -> Vec<(&'a Skill, String)> {
        self.skills
            .iter()
            .filter(|s| !injected.contains(&s.name))
            .filter_map(|s| s.matches(text).map(|t| (s, t.to_owned())))
            .collect()
    }
}

/// What earlier recall observations in the stream already brought in: whether the workspace context was
/// given, and the names of the skills injected.
fn already_recalled(events: &[std::sync::Arc<Event>]) -> (bool, Vec<String>) {
    let mut workspace = false;
    let mut names = Vec::new();
    for e in events {
        let Some(AgentObservation::Recall { extras, .. }) =
            e.as_observation().and_then(AgentObservation::of)
        else {
            continue;
        };
        workspace |= extras.get("recall_type").and_then(Value::as_str) == Some(WORKSPACE_CONTEXT);
        for k in extras
            .get("microagent_knowledge")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let Some(name) = k.get("name").and_then(Value::as_str) {
                names.push(name.to_owned());
            }
        }
    }
    (workspace, names)
}

/// Records what `text` (a user message just added) brings in: the workspace context for the first message
/// of a conversation, and the skills it triggers that are not in yet. `sandbox_dir` is the working
/// directory as the sandbox sees it. Nothing is recorded when nothing is new.
pub fn recall(
    context: &Context,
    stream: &EventStream,
    text: &str,
    sandbox_dir: &Path,
) -> Result<(), StreamError> {
    let (given, injected) = already_recalled(&stream.events());
    let knowledge = context.triggered(text, &injected);
    let first = !given;
    if !first && knowledge.is_empty() {
        return Ok(());
    }
    let recall_type = if first { WORKSPACE_CONTEXT } else { KNOWLEDGE };
    let message = format!("Retrieving content for: {}", first_line(text));
    let action = stream.add(kinds::recall(recall_type, text, message), EventSource::User)?;

    let mut extras = json!({"recall_type": recall_type});
    let mut parts: Vec<String> = Vec::new();
    let mut warnings: Vec<String> = Vec::new();
    if first {
        let (repo_name, branch) = files::git_info(&context.workspace);
        let (instructions, sources) = repository_instructions(context, text, &mut warnings);
        let date = crate::events::now_iso()[..10].to_owned();
        let working_dir = sandbox_dir.display().to_string();
        let mut info = String::new();
        if let Some(name) = &repo_name {
            info.push_str(&format!(
                "<REPOSITORY_INFO>\nThe repository `{name}` is checked out at {working_dir}"
            ));
            match &branch {
                Some(b) => info.push_str(&format!(
                    ", on branch `{b}`. Stay on it unless asked to switch."
                )),
                None => info.push('.'),
            }
            info.push_str("\n</REPOSITORY_INFO>");
            parts.push(info);
        }
        if !instructions.is_empty() {
            parts.push(format!(
                "<REPOSITORY_INSTRUCTIONS>\nThe repository's instructions for agents, the most specific first:\n\n{instructions}\n</REPOSITORY_INSTRUCTIONS>"
            ));
        }
        let mut runtime = format!(
            "<RUNTIME_INFORMATION>\n* The working directory is {working_dir}.\n* Today's date is {date} (UTC)."
        );
        runtime.push_str("\n</RUNTIME_INFORMATION>");
        parts.push(runtime);
        if !context.secret_names.is_empty() {
            let names: Vec<String> = context
                .secret_names
                .iter()
                .map(|n| format!("`${n}`"))
                .collect();
            parts.push(format!(
                "<CUSTOM_SECRETS>\nThe user gave you these secrets as environment variables of the shell: {}. Use them by name where the task needs them; their values are hidden from you and from every log, and must never be printed or sent anywhere the user did not ask for.\n</CUSTOM_SECRETS>",
                names.join(", ")
            ));
        }
        let extras = extras.as_object_mut().expect("an object");
        extras.insert("repo_name".into(), json!(repo_name.unwrap_or_default()));
        extras.insert("repo_directory".into(), json!(working_dir));
        extras.insert("repo_branch".into(), json!(branch.unwrap_or_default()));
        extras.insert("repo_instructions".into(), json!(instructions));
        extras.insert("instruction_files".into(), json!(sources));
        extras.insert("runtime_hosts".into(), json!({}));
        extras.insert("additional_agent_instructions".into(), json!(""));
        extras.insert("date".into(), json!(date));
        let secrets: Map<String, Value> = context
            .secret_names
            .iter()
            .map(|n| (n.clone(), json!("")))
            .collect();
        extras.insert("custom_secrets_descriptions".into(), Value::Object(secrets));
        extras.insert("conversation_instructions".into(), json!(""));
        extras.insert("working_dir".into(), json!(working_dir));
    }
    let mut knowledge_json = Vec::new();
    // However many skills one message triggers, together they get the instructions' budget; the rest
    // stay out (and can come with a later message).
    let mut budget = context.limits.total_chars;
    for (skill, trigger) in &knowledge {
        let size = skill.content.chars().count();
        if size > budget {
            warnings.push(format!(
                "skill {} left out: the skills this message triggers exceed {} characters together",
                skill.source, context.limits.total_chars
            ));
            continue;
        }
        budget -= size;
        parts.push(format!(
            "<EXTRA_INFO>\nThe following information has been included based on a keyword match for \"{trigger}\". It may or may not be relevant to the user's request.\n\n{}\n</EXTRA_INFO>",
            skill.content
        ));
        knowledge_json.push(json!({"name": skill.name, "trigger": trigger, "content": skill.content, "source": skill.source}));
    }
    extras["microagent_knowledge"] = Value::Array(knowledge_json);
    if !warnings.is_empty() {
        for w in &warnings {
            tracing::warn!("{w}");
        }
        extras["warnings"] = json!(warnings);
    }
    let content = parts.join("\n\n");
    let message = match first {
        true => "Added workspace context",
        false => "Added microagent knowledge",
    };
    let mut obs = kinds::recall_observation(content, extras, message.to_owned());
    obs.meta_mut().cause = Some(action.id());
    stream.add(obs, EventSource::Environment)?;
    Ok(())
}

fn first_line(text: &str) -> String {
    let line = text
        .lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("")
        .trim();
    let mut out: String = line.chars().take(80).collect();
    if line.chars().count() > 80 {
        out.push('…');
    }
    out
}

/// The instruction files that apply to the first message, then the always-on skills, each cut to its
/// share, all together bounded; returns the text and the files used.
fn repository_instructions(
    context: &Context,
    text: &str,
    warnings: &mut Vec<String>,
) -> (String, Vec<String>) {
    let ws = &context.workspace;
    let limits = &context.limits;
    let named = files::named_paths(text, ws);
    let mut sections: Vec<(String, String)> = Vec::new();
    for path in files::instruction_files(ws, &named) {
        let shown = path.strip_prefix(ws).unwrap_or(&path).display().to_string();
        match files::read_text(&path, Some(ws), limits.file_bytes) {
            Ok(t) if t.text.trim().is_empty() => {}
            Ok(t) => sections.push((shown.clone(), limits.cut(t.text.trim(), &shown, t.size))),
            Err(why) => warnings.push(format!("{shown} skipped: {why}")),
        }
    }
    for skill in &context.always {
        sections.push((skill.source.clone(), skill.content.clone()));
    }
    let mut out = String::new();
    let mut used = Vec::new();
    for (shown, body) in sections {
        let section = format!("## {shown}\n\n{body}\n\n");
        let left = limits.total_chars.saturating_sub(out.chars().count());
        if section.chars().count() > left {
            let note = format!(
                "[... {shown} and any later instruction files are left out: together they exceed {} characters.]",
                limits.total_chars
            );
            if left > 200 {
                out.push_str(&files::cut_chars(
                    &section,
                    left - 200,
                    &shown,
                    body.len() as u64,
                ));
                out.push_str("\n\n");
                used.push(shown);
            }
            out.push_str(&note);
            warnings.push(note);
            break;
        }
        out.push_str(&section);
        used.push(shown);
    }
    (out.trim_end().to_owned(), used)
}

/// One line for the transcript saying what a recall observation brought in.
pub fn describe(extras: &Map<String, Value>) -> Option<String> {
    let mut parts = Vec::new();
    if extras.get("recall_type").and_then(Value::as_str) == Some(WORKSPACE_CONTEXT) {
        let files: Vec<&str> = extras
            .get("instruction_files")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        parts.push(if files.is_empty() {
            "workspace context".to_owned()
        } else {
            format!("workspace context, instructions from {}", files.join(", "))
        });
    }
    for k in extras
        .get("microagent_knowledge")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        parts.push(format!(
            "skill {} (\"{}\")",
            k.get("source").and_then(Value::as_str).unwrap_or_default(),
            k.get("trigger").and_then(Value::as_str).unwrap_or_default()
        ));
    }
    for w in extras
        .get("warnings")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
    {
        parts.push(format!("warning: {w}"));
    }
    (!parts.is_empty()).then(|| format!("[context] {}", parts.join("; ")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn recalls(stream: &EventStream) -> Vec<Map<String, Value>> {
        stream
            .events()
            .iter()
            .filter_map(|e| match AgentObservation::of(e.as_observation()?)? {
                AgentObservation::Recall { extras, .. } => Some(extras.clone()),
                _ => None,
            })
            .collect()
    }

    fn names(extras: &Map<String, Value>) -> Vec<String> {
        extras["microagent_knowledge"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k["name"].as_str().unwrap().to_owned())
            .collect()
    }

    #[test]
    fn skills_come_once_within_a_budget_and_the_workspace_context_once() {
        let dir = tempfile::tempdir().unwrap();
        let ws = dir.path();
        let skills = ws.join(".openhands/microagents");
        std::fs::create_dir_all(&skills).unwrap();
        for name in ["a", "b", "c"] {
            std::fs::write(
                skills.join(format!("{name}.md")),
                format!(
                    "---\ntriggers: [common, only-{name}]\n---\n{}",
                    name.repeat(300)
                ),
            )
            .unwrap();
        }
        let limits = Limits {
            total_chars: 700,
            ..Limits::default()
        };
        let (context, warnings) = Context::load_with(ws, None, Vec::new(), limits);
        assert!(warnings.is_empty(), "{warnings:?}");
        let stream = EventStream::default();
        let sandbox = Path::new("/workspace");
        recall(&context, &stream, "a COMMON word", sandbox).unwrap();
        recall(&context, &stream, "common again", sandbox).unwrap();
        recall(&context, &stream, "nothing here", sandbox).unwrap();
        recall(&context, &stream, "only-a and common", sandbox).unwrap();
        let r = recalls(&stream);
        assert_eq!(r.len(), 2, "{r:#?}");
        assert_eq!(r[0]["recall_type"], WORKSPACE_CONTEXT);
        assert_eq!(names(&r[0]), ["a", "b"]);
        assert_eq!(
            r[0]["warnings"],
            json!([
                "skill .openhands/microagents/c.md left out: the skills this message triggers exceed 700 characters together"
            ])
        );
        assert_eq!(r[1]["recall_type"], KNOWLEDGE);
        assert_eq!(names(&r[1]), ["c"]);
        // Each recall observation answers its recall action.
        let events = stream.events();
        let obs = events.iter().filter(|e| e.as_observation().is_some());
        for o in obs {
            let cause = o.cause().unwrap();
            assert!(
                events
                    .iter()
                    .any(|e| e.id() == cause && e.as_action().is_some())
            );
        }
    }
}
