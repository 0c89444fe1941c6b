//! The texts the agent reads: OpenHands' IPython observation content, and the notes we add to it.

use std::path::Path;

use openhands_runtime_api::{MAX_CMD_OUTPUT_CHARS, TRUNCATION_MARKER};

pub(crate) const NO_OUTPUT: &str = "[Code executed successfully with no output]";

/// What the agent is told when a kernel was lost and replaced.
pub(crate) const STATE_LOST: &str =
    "variables, imports and other state from earlier cells are lost";

/// OpenHands' timeout text; the seconds are printed as Python prints a float (`3.0`).
pub(crate) fn timed_out(secs: f64) -> String {
    format!("[Execution timed out ({secs:?} seconds).]")
}

/// The text when a cell cannot run because no kernel can be started.
pub(crate) fn unavailable(why: &str) -> String {
    format!("Unable to run IPython action: {why}")
}

/// The footer OpenHands appends when `include_extra` is true.
pub(crate) fn footer(cwd: &Path, interpreter: &str) -> String {
    format!(
        "\n[Jupyter current working directory: {}]\n[Jupyter Python interpreter: {interpreter}]",
        cwd.display()
    )
}

/// `import os; os.chdir("<dir>")`, OpenHands' cell that makes the kernel follow bash, with a literal that
/// survives any path (quotes, backslashes, newlines).
pub(crate) fn chdir_cell(dir: &Path) -> String {
    format!(
        "import os; os.chdir({})",
        python_str(&dir.to_string_lossy())
    )
}

fn python_str(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 || c == '\x7f' => out.push_str(&format!("\\x{:02x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Removes SGR colour sequences, exactly what OpenHands' `\x1B\[\d+(;\d+){0,2}m` matches; other escapes stay.
pub(crate) fn strip_sgr(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("\x1b[") {
        out.push_str(&rest[..at]);
        let after = &rest[at + 2..];
        match sgr_len(after) {
            Some(n) => rest = &after[n..],
            None => {
                out.push_str("\x1b[");
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// Length of `\d+(;\d+){0,2}m` at the start of `s`.
fn sgr_len(s: &str) -> Option<usize> {
    let b = s.as_bytes();
    let mut i = 0;
    for group in 0..3 {
        if group > 0 {
            if b.get(i) != Some(&b';') {
                break;
            }
            if !b.get(i + 1).is_some_and(u8::is_ascii_digit) {
                break;
            }
            i += 1;
        }
        let start = i;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        if i == start {
            return None;
        }
    }
    (b.get(i) == Some(&b'm')).then_some(i + 1)
}

/// Collects a cell's text with bounded memory: a cell may print gigabytes, the agent gets head and tail
/// cut exactly as a command's output is (`truncate_cmd_output`).
#[derive(Debug, Default)]
pub(crate) struct Output {
    head: String,
    head_chars: usize,
    tail: String,
    tail_chars: usize,
    total_chars: usize,
    pieces: usize,
}

const HALF: usize = MAX_CMD_OUTPUT_CHARS / 2;

impl Output {
    pub fn push(&mut self, text: &str) {
        self.pieces += 1;
        let text = strip_sgr(text);
        let n = text.chars().count();
        self.total_chars += n;
        let mut rest = text.as_str();
        if self.head_chars < HALF {
            let take = (HALF - self.head_chars).min(n);
            let cut = rest.char_indices().nth(take).map_or(rest.len(), |(i, _)| i);
            self.head.push_str(&rest[..cut]);
            self.head_chars += take;
            rest = &rest[cut..];
        }
        if rest.is_empty() {
            return;
        }
        self.tail.push_str(rest);
        self.tail_chars += rest.chars().count();
        // Keep up to twice what is needed so that trimming stays amortised.
        if self.tail_chars > 2 * MAX_CMD_OUTPUT_CHARS {
            let drop = self.tail_chars - MAX_CMD_OUTPUT_CHARS;
            let cut = self.tail.char_indices().nth(drop).map_or(0, |(i, _)| i);
            self.tail.drain(..cut);
            self.tail_chars -= drop;
        }
    }

    /// True if nothing was pushed, not even an empty string (OpenHands' test for "no output").
    pub fn is_empty(&self) -> bool {
        self.pieces == 0
    }

    pub fn finish(self) -> String {
        if self.total_chars <= MAX_CMD_OUTPUT_CHARS {
            return self.head + &self.tail;
        }
        let skip = self.tail_chars - HALF;
        let cut = self
            .tail
            .char_indices()
            .nth(skip)
            .map_or(self.tail.len(), |(i, _)| i);
        format!("{}{TRUNCATION_MARKER}{}", self.head, &self.tail[cut..])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use openhands_runtime_api::truncate_cmd_output;
    use pretty_assertions::assert_eq;

    #[test]
    fn strips_what_openhands_strips_and_nothing_else() {
        assert_eq!(strip_sgr("\x1b[33mLorem ipsum\x1b[0m"), "Lorem ipsum");
        assert_eq!(strip_sgr("a\x1b[38;25mb\x1b[0m c"), "ab c");
        assert_eq!(strip_sgr("\x1b[1;31;42mX"), "X");
        // Four groups, no digits, other final bytes: not matched by OpenHands' pattern either.
        assert_eq!(strip_sgr("\x1b[1;2;3;4mX"), "\x1b[1;2;3;4mX");
        assert_eq!(strip_sgr("\x1b[mX\x1b[2K"), "\x1b[mX\x1b[2K");
        assert_eq!(strip_sgr("é\x1b[0"), "é\x1b[0");
    }

    #[test]
    fn chdir_cells_quote_any_path() {
        assert_eq!(
            chdir_cell(Path::new("/w/a \"q\"\\b\nc")),
            r#"import os; os.chdir("/w/a \"q\"\\b\x0ac")"#
        );
    }

    #[test]
    fn timeout_seconds_print_as_python_floats() {
        assert_eq!(timed_out(3.0), "[Execution timed out (3.0 seconds).]");
        assert_eq!(timed_out(2.5), "[Execution timed out (2.5 seconds).]");
    }

    #[test]
    fn bounded_output_equals_truncating_the_whole_text() {
        for (pieces, size) in [(1, 10), (3, 10_000), (7, 20_000), (500, 999), (1, 100_000)] {
            let mut out = Output::default();
            let mut whole = String::new();
            for i in 0..pieces {
                let piece: String = (0..size)
                    .map(|j| if (i + j) % 7 == 0 { 'é' } else { 'x' })
                    .collect::<String>()
                    + &format!("<{i}>\n");
                out.push(&piece);
                whole.push_str(&piece);
            }
            assert_eq!(
                out.finish(),
                truncate_cmd_output(whole),
                "{pieces} × {size}"
            );
        }
    }

    #[test]
    fn empty_pieces_still_count_as_output() {
        let mut out = Output::default();
        assert!(out.is_empty());
        out.push("");
        assert!(!out.is_empty());
        assert_eq!(out.finish(), "");
    }
}
