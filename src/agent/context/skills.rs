//! Skills (OpenHands' microagents): Markdown files with a small front matter whose `triggers` bring them
//! into the conversation when a user message names one; a file without triggers is always-on instructions.

use std::path::{Path, PathBuf};

use super::files::{Limits, read_text};

/// One skill file, loaded.
#[derive(Debug, Clone, PartialEq)]
pub struct Skill {
    /// `name` from the front matter, else the path under its directory without `.md`.
    pub name: String,
    /// Lowercased; empty: always on.
    pub triggers: Vec<String>,
    pub content: String,
    /// Where it came from, for the transcript (`.openhands/microagents/x.md`, `~/.config/.../y.md`).
    pub source: String,
}

impl Skill {
    /// The first trigger `text` contains, case-insensitively (OpenHands' substring match).
    pub fn matches(&self, text: &str) -> Option<&str> {
        let text = text.to_lowercase();
        self.triggers
            .iter()
            .find(|t| text.contains(t.as_str()))
            .map(String::as_str)
    }
}

/// What the front matter says, and the body after it.
#[derive(Debug, Default, PartialEq)]
struct FrontMatter {
    name: Option<String>,
    triggers: Vec<String>,
}

fn unquote(v: &str) -> String {
    let v = v.trim();
    let quoted = v.len() >= 2
        && ((v.starts_with('"') && v.ends_with('"')) || (v.starts_with('\'') && v.ends_with('\'')));
    if quoted {
        v[1..v.len() - 1].to_owned()
    } else {
        v.to_owned()
    }
}

/// Splits `---` front matter from the body; the subset of YAML skills use (`key: value`, `key: [a, b]`,
/// `key:` followed by `- item` lines; nested blocks of other keys are skipped). Errors say what is wrong.
fn parse(text: &str) -> Result<(FrontMatter, &str), String> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let Some(rest) = text
        .strip_prefix("---\n")
        .or_else(|| text.strip_prefix("---\r\n"))
    else {
        return Ok((FrontMatter::default(), text));
    };
    let mut end = None;
    let mut offset = 0;
    for line in rest.split_inclusive('\n') {
        if line.trim_end() == "---" {
            end = Some((offset, offset + line.len()));
            break;
        }
        offset += line.len();
    }
    let Some((head_end, body_start)) = end else {
        return Err("the front matter opened with `---` is never closed".into());
    };
    let mut fm = FrontMatter::default();
    // The key whose `- item` lines follow, if it takes a list.
    let mut list_key: Option<String> = None;
    for (i, line) in rest[..head_end].lines().enumerate() {
        let n = i + 2;
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        if line.starts_with([' ', '\t']) || trimmed.starts_with("- ") || trimmed == "-" {
            // A nested line: an item of the open list, or part of a block we skip.
            if list_key.as_deref() == Some("triggers") {
                let item = trimmed
                    .strip_prefix('-')
                    .ok_or_else(|| format!("line {n}: `triggers` items must be `- word` lines"))?;
                fm.triggers.push(unquote(item));
            }
            continue;
        }
        let (key, value) = trimmed
            .split_once(':')
            .ok_or_else(|| format!("line {n}: `{trimmed}` is not `key: value`"))?;
        let (key, value) = (key.trim(), value.trim());
        list_key = value.is_empty().then(|| key.to_owned());
        match key {
            "name" if !value.is_empty() => fm.name = Some(unquote(value)),
            "triggers" if value.starts_with('[') => {
                let inner = value
                    .strip_prefix('[')
                    .and_then(|v| v.strip_suffix(']'))
                    .ok_or_else(|| {
                        format!("line {n}: the `triggers` list is not closed with `]`")
                    })?;
                if !inner.trim().is_empty() {
                    fm.triggers.extend(inner.split(',').map(unquote));
                }
            }
            "triggers" if !value.is_empty() => fm.triggers.push(unquote(value)),
            _ => {}
        }
    }
    if let Some(bad) = fm.triggers.iter().find(|t| t.trim().is_empty()) {
        return Err(format!(
            "an empty trigger (`{bad}`) would match every message"
        ));
    }
    fm.triggers = fm
        .triggers
        .iter()
        .map(|t| t.trim().to_lowercase())
        .collect();
    Ok((fm, &rest[body_start..]))
}

/// Parses one skill file's text; `default_name` when the front matter has none.
pub fn parse_skill(text: &str, default_name: &str, source: &str) -> Result<Skill, String> {
    let (fm, body) = parse(text)?;
    Ok(Skill {
        name: fm.name.unwrap_or_else(|| default_name.to_owned()),
        triggers: fm.triggers,
        content: body.trim().to_owned(),
        source: source.to_owned(),
    })
}

/// How many skill files one directory may hold before the rest are ignored (with a warning).
const MAX_FILES: usize = 200;
const MAX_DEPTH: usize = 5;

/// Every `*.md` under `dir` (not `README.md`), sorted; `confine`: skip links that leave it.
fn markdown_files(dir: &Path, warnings: &mut Vec<String>) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![(dir.to_path_buf(), 0)];
    while let Some((d, depth)) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        let mut entries: Vec<_> = entries.flatten().map(|e| e.path()).collect();
        entries.sort();
        for p in entries {
            if p.is_dir() {
                if depth < MAX_DEPTH {
                    stack.push((p, depth + 1));
                }
            } else if p.extension().is_some_and(|e| e == "md")
                && p.file_name().is_some_and(|n| n != "README.md")
            {
                out.push(p);
            }
        }
    }
    out.sort();
    if out.len() > MAX_FILES {
        warnings.push(format!(
            "{} holds {} skill files; only the first {MAX_FILES} are loaded",
            dir.display(),
            out.len()
        ));
        out.truncate(MAX_FILES);
    }
    out
}

/// Loads the skills of `dir` (nothing if it does not exist); a file that cannot be used is skipped and
/// named in `warnings`. `confine`: files must resolve inside it (a repository's links stay in it).
pub fn load_dir(
    dir: &Path,
    label: &str,
    confine: Option<&Path>,
    limits: &Limits,
    warnings: &mut Vec<String>,
) -> Vec<Skill> {
    let mut skills = Vec::new();
    for path in markdown_files(dir, warnings) {
        let rel = path.strip_prefix(dir).unwrap_or(&path);
        let shown = format!("{label}/{}", rel.display());
        let text = match read_text(&path, confine, limits.file_bytes) {
            Ok(t) => t,
            Err(why) => {
                warnings.push(format!("skill {shown} skipped: {why}"));
                continue;
            }
        };
        let default_name = rel.with_extension("").display().to_string();
        match parse_skill(&text.text, &default_name, &shown) {
            Ok(mut skill) => {
                skill.content = limits.cut(&skill.content, &shown, text.size);
                skills.push(skill);
            }
            Err(why) => warnings.push(format!("skill {shown} skipped: {why}")),
        }
    }
    skills
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn front_matter_forms() {
        let s = parse_skill(
            "---\nname: docker\ntype: knowledge\ntriggers: [Docker, \"container\"]\n---\nUse compose.\n",
            "x",
            "src",
        )
        .unwrap();
        assert_eq!(s.name, "docker");
        assert_eq!(s.triggers, ["docker", "container"]);
        assert_eq!(s.content, "Use compose.");
        let s = parse_skill(
            "---\ntriggers:\n  - npm\n  - 'yarn'\ninputs:\n  - name: X\n    description: y\nversion: 1.0.0\n---\nbody",
            "dir/npm",
            "src",
        )
        .unwrap();
        assert_eq!(
            (s.name.as_str(), s.triggers.clone()),
            ("dir/npm", vec!["npm".to_owned(), "yarn".to_owned()])
        );
        let s = parse_skill("no front matter\n---\n", "plain", "src").unwrap();
        assert!(s.triggers.is_empty());
        assert_eq!(s.content, "no front matter\n---");
        let s = parse_skill("---\ntriggers: deploy\n---\nx", "d", "src").unwrap();
        assert_eq!(s.triggers, ["deploy"]);
        assert_eq!(s.matches("Please DEPLOY it"), Some("deploy"));
        assert_eq!(s.matches("ship it"), None);
    }

    /// Skill files come from repositories: no text, however mangled, makes the parser panic.
    #[test]
    fn any_text_parses_or_fails_without_panicking() {
        const ALPHABET: &[&str] = &[
            "---", "\n", "\r\n", "triggers", ":", " ", "[", "]", ",", "\"", "'", "- ", "  ",
            "name", "é", "#", "\u{feff}",
        ];
        let mut state = 0x9e37_79b9_7f4a_7c15_u64;
        for _ in 0..20_000 {
            let mut text = String::new();
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            for _ in 0..(state % 16) {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                text.push_str(ALPHABET[(state % ALPHABET.len() as u64) as usize]);
            }
            let _ = parse_skill(&text, "n", "s");
        }
    }

    #[test]
    fn malformed_front_matter_is_explained() {
        for (text, why) in [
            ("---\ntriggers: [a, b\n---\n", "not closed with `]`"),
            ("---\ntriggers: [a]\nbody without end", "never closed"),
            (
                "---\nthis is not yaml\n---\nx",
                "line 2: `this is not yaml` is not `key: value`",
            ),
            ("---\ntriggers: [a, \"\"]\n---\nx", "empty trigger"),
            ("---\ntriggers:\n  - \n---\nx", "empty trigger"),
        ] {
            let err = parse_skill(text, "n", "s").unwrap_err();
            assert!(err.contains(why), "{text:?}: {err}");
        }
    }
}
