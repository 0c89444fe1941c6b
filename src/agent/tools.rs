//! The CodeAct tools offered to the model: OpenHands' names, parameters, types and enums, with
//! descriptions in our own words. `security_risk` is required, as OpenHands declares it, so models rate
//! every action; a call without it is still run, read as an unknown risk (`parse.rs`), since weaker models
//! fumble a required enum.

use std::path::Path;

use serde_json::{Value, json};

use crate::llm::ToolSpec;

pub const EXECUTE_BASH: &str = "execute_bash";
pub const STR_REPLACE_EDITOR: &str = "str_replace_editor";
pub const EXECUTE_IPYTHON_CELL: &str = "execute_ipython_cell";
pub const BROWSER: &str = "browser";
pub const THINK: &str = "think";
pub const FINISH: &str = "finish";
pub const TASK_TRACKER: &str = "task_tracker";

/// Which runtime features exist, so tools without support are not offered.
#[derive(Debug, Clone, Copy, Default)]
pub struct ToolSupport {
    pub jupyter: bool,
    pub browser: bool,
}

fn security_risk() -> Value {
    json!({"type": "string", "enum": ["LOW", "MEDIUM", "HIGH"],
           "description": "Your assessment of the risk of this action; the levels are defined in SECURITY_RISK_ASSESSMENT in the system prompt."})
}

fn tool(name: &str, description: &str, parameters: Value) -> ToolSpec {
    ToolSpec {
        name: name.to_owned(),
        description: description.to_owned(),
        parameters,
    }
}

fn execute_bash() -> ToolSpec {
    tool(
        EXECUTE_BASH,
        "Execute a bash command in a persistent terminal session.\n\n\
### Command execution\n\
* One command per call; chain several with `&&` or `;`. The working directory, environment variables, \
activated virtual environments and background processes persist between calls.\n\
* A command that prints nothing new for 10 seconds returns with exit code -1 while it keeps running. Then, \
with `is_input` set to `true`: send an empty `command` to see more output, send text to feed the process's \
stdin, or send `C-c`, `C-d` or `C-z` to stop it. After `C-c`, re-run the command with a longer `timeout` so \
it can finish.\n\
* Never use `set -e`, `set -eu` or `set -euo pipefail`: a failure would leave the session unusable. Put \
multi-line shell work into a script file and run that instead.\n\n\
### Long-running commands\n\
* Run servers and other endless processes in the background with output to a file, e.g. \
`python3 app.py > server.log 2>&1 &`.\n\
* For commands that take long but end (installs, builds, test suites, `sleep`), set `timeout` to a fitting \
number of seconds.\n\n\
### Best practices\n\
* Check that the parent directory exists before creating files or directories in it.\n\
* Prefer absolute paths to many `cd`s.\n\
* Long outputs are cut in the middle; narrow them with `grep`, `head` or `tail`.",
        json!({"type": "object", "required": ["command", "security_risk"], "properties": {
            "command": {"type": "string", "description": "The bash command to execute. An empty string shows more output of the previous command when its exit code was -1. `C-c` (Ctrl+C) interrupts the running process. One command at a time: chain several with `&&` or `;`."},
            "is_input": {"type": "string", "enum": ["true", "false"], "description": "If `true`, `command` is typed as input into the running process (text for its stdin, or a key such as `C-c`). If `false` (the default), it is a new bash command."},
            "timeout": {"type": "number", "description": "Optional hard timeout in seconds. Without it, a command that produces no new output for 10 seconds returns while it keeps running."},
            "security_risk": security_risk()
        }}),
    )
}

/// `workspace` is where the runtime's files live (the real directory for the local runtime), so the
/// path example names a path the model can use, as OpenHands does for its local runtimes.
fn str_replace_editor(workspace: &Path) -> ToolSpec {
    let ws = workspace.display().to_string();
    let ws = ws.trim_end_matches('/');
    tool(
        STR_REPLACE_EDITOR,
        "View, create and edit plain-text files.\n\
* State persists across calls and across turns with the user.\n\
* `view` on a file shows it with line numbers (like `cat -n`); on a directory it lists files and directories \
two levels deep, hidden ones excluded. Binary files and images cannot be viewed.\n\
* `create` cannot overwrite an existing file.\n\
* Long outputs are clipped and marked `<response clipped>`.\n\
* `undo_edit` reverts the last edit of a file.\n\n\
Before editing, `view` the file to see its content and context; before creating one, check that the parent \
directory exists. Use absolute paths. Every edit must leave correct, idiomatic code: never leave a file broken.\n\n\
Requirements for `str_replace`:\n\
1. EXACT MATCH: `old_str` must match one or more consecutive lines exactly, whitespace and indentation \
included; otherwise nothing is replaced.\n\
2. UNIQUE: `old_str` must appear exactly once; include 3-5 lines of context around the change to make it \
unique, or nothing is replaced.\n\
3. REPLACEMENT: `new_str` replaces `old_str` completely, and the two must differ.\n\
For several edits to one file, send them all in one message as several calls to this tool.",
        json!({"type": "object", "required": ["command", "path", "security_risk"], "properties": {
            "command": {"type": "string", "enum": ["view", "create", "str_replace", "insert", "undo_edit"], "description": "The command to run: `view`, `create`, `str_replace`, `insert`, `undo_edit`."},
            "path": {"type": "string", "description": format!("Absolute path to a file or directory, e.g. `{ws}/file.py` or `{}`.", if ws.is_empty() { "/" } else { ws })},
            "file_text": {"type": "string", "description": "Required for `create`: the content of the new file."},
            "old_str": {"type": "string", "description": "Required for `str_replace`: the exact text to replace."},
            "new_str": {"type": "string", "description": "For `str_replace`: the replacement (empty to delete). Required for `insert`: the text to insert."},
            "insert_line": {"type": "integer", "description": "Required for `insert`: `new_str` is inserted AFTER this line (0 inserts at the top)."},
            "view_range": {"type": "array", "items": {"type": "integer"}, "description": "Optional for `view` of a file: the lines to show, e.g. [11, 12]; 1-based; [start, -1] shows from start to the end."},
            "security_risk": security_risk()
        }}),
    )
}

fn execute_ipython_cell() -> ToolSpec {
    tool(
        EXECUTE_IPYTHON_CELL,
        "Run Python code in an IPython kernel whose state persists between calls: import packages and define \
variables before you use them. The kernel is not the shell: variables set here are not seen by `execute_bash` \
commands, nor theirs here. Magic commands such as `%pip install` work. Print what you want to see; the value of \
the last expression is shown too, and figures are shown to models that see images.",
        json!({"type": "object", "required": ["code", "security_risk"], "properties": {
            "code": {"type": "string", "description": "The Python code to run; IPython magics such as %pip work."},
            "security_risk": security_risk()
        }}),
    )
}

fn browser() -> ToolSpec {
    tool(
        BROWSER,
        "Drive a headless web browser with BrowserGym actions written as Python calls. Use it only when the task \
needs a web page (an app you started, documentation online). Several actions may go in one call, one per line; \
they run in order without a look at the page in between, so more than two or three in a call often goes wrong. \
Elements are addressed by the bid shown in the accessibility tree of the previous observation. To look at an \
image file, `view` it with str_replace_editor instead.",
        json!({"type": "object", "required": ["code", "security_risk"], "properties": {
            "code": {"type": "string", "description": "The actions, one per line. These 15 exist and nothing else:\n\
        goto(url); go_back(); go_forward();\n\
        noop(wait_ms=1000): wait (e.g. for the page to load) and see the current page;\n\
        scroll(dx, dy): in pixels, positive scrolls right or down, negative left or up;\n\
        fill(bid, value): types into an <input>, a <textarea> or a contenteditable element;\n\
        select_option(bid, options): one option or a list, by value or by label;\n\
        click(bid, button='left', modifiers=[]) and dblclick(...): button 'left', 'middle' or 'right'; modifiers from \
        'Alt', 'Control', 'ControlOrMeta', 'Meta', 'Shift';\n\
        hover(bid); focus(bid); clear(bid);\n\
        press(bid, key_comb): key names as KeyboardEvent.key gives them ('Enter', 'Backspace', 'Tab', 'Escape', \
        'ArrowDown', 'F5') or one character, with modifiers joined by '+', e.g. 'ControlOrMeta+a';\n\
        drag_and_drop(from_bid, to_bid);\n\
        upload_file(bid, file): one path or a list; relative paths start from the working directory; an empty list \
        clears the choice.\n\
        Example:\nfill('a12', 'hello')\nclick('a51')"},
            "security_risk": security_risk()
        }}),
    )
}

fn think() -> ToolSpec {
    tool(
        THINK,
        "Think something through without acting: it changes nothing and fetches nothing, it only records the thought. \
Use it when reasoning is complex: once you have found a bug's source, to brainstorm several fixes and judge which \
is simplest and most effective; after test results, to work out how to fix the failing tests; to compare \
approaches and trade-offs for a refactor; to think through the architecture and details of a feature; to sort \
out your hypotheses while debugging.",
        json!({"type": "object", "required": ["thought"], "properties": {
            "thought": {"type": "string", "description": "The thought to record."}
        }}),
    )
}

fn finish() -> ToolSpec {
    tool(
        FINISH,
        "End the task: call it when the user's request is done, or when you cannot go further (a technical limit, \
missing information). The message summarises what you did and the results, the user's possible next steps, \
why the task could not be completed if so, and any question you need answered to continue.",
        json!({"type": "object", "required": ["message"], "properties": {
            "message": {"type": "string", "description": "The closing message shown to the user."}
        }}),
    )
}

fn task_tracker() -> ToolSpec {
    tool(
        TASK_TRACKER,
        "Keep a structured task list for development work, so that progress stays visible to you and the user.\n\
Use it for: work in several phases or across several components; a user who asks for a plan or lists several \
requirements at once (record them at the start). Skip it for a single small change, a trivial edit (e.g. one \
docstring) or a plain question.\n\
Examples: a feature with several parts becomes one task per part (design, implement, validate, test); for a rename \
across the project, find the occurrences first, then plan one task per file.\n\
Rules:\n\
* Status is `todo`, `in_progress` or `done`. Only one task is `in_progress`: set it before starting and finish it \
before starting another.\n\
* Mark a task `done` immediately when it is fully achieved, never while tests fail, work is partial, errors \
remain or something needed is unavailable: keep it `in_progress` and add tasks for new work found.\n\
* Give each task a unique `id`, a short actionable `title` and optional `notes`; remove obsolete tasks.\n\
* `view` shows the list; `plan` replaces it with the full list. Always `view` before changing it.\n\
When in doubt, use it.",
        json!({"type": "object", "required": ["command"], "additionalProperties": false, "properties": {
            "command": {"type": "string", "enum": ["view", "plan"], "description": "`view` shows the list; `plan` replaces it. Look at it with `view` before any change."},
            "task_list": {"type": "array", "description": "The whole task list, replacing the old one; required for `plan`.", "items": {
                "type": "object", "additionalProperties": false, "required": ["title", "status", "id"], "properties": {
                    "id": {"type": "string"},
                    "title": {"type": "string"},
                    "status": {"type": "string", "enum": ["todo", "in_progress", "done"]},
                    "notes": {"type": "string"}
                }}}
        }}),
    )
}

/// The tools for a runtime with `support` whose workspace is `/workspace` (a sandbox's), in
/// OpenHands' order.
pub fn tools(support: ToolSupport) -> Vec<ToolSpec> {
    tools_for(support, Path::new("/workspace"))
}

/// The tools for a runtime with `support` and its workspace directory, in OpenHands' order.
pub fn tools_for(support: ToolSupport, workspace: &Path) -> Vec<ToolSpec> {
    let mut out = vec![execute_bash(), think(), finish()];
    if support.browser {
        out.push(browser());
    }
    if support.jupyter {
        out.push(execute_ipython_cell());
    }
    out.push(task_tracker());
    out.push(str_replace_editor(workspace));
    out
}

/// The tool list in OpenAI's function format, as recorded in the system event.
pub fn tools_json(tools: &[ToolSpec]) -> Value {
    Value::Array(
        tools
            .iter()
            .map(|t| json!({"type": "function", "function": {"name": t.name, "description": t.description, "parameters": t.parameters}}))
            .collect(),
    )
}
