//! Turns a PTY byte stream into the text a terminal would show: CR overwrites, cursor moves, no ANSI codes.
//!
//! OpenHands reads tmux's rendered screen; we read the byte stream (nothing is lost between polls) and
//! render it ourselves with a small grid model: enough for progress bars (`\r`, `ESC[K`, cursor up),
//! `clear`, colours and titles, without a full VT emulator.

/// What rendering produced.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct Rendered {
    pub text: String,
    /// The screen was cleared (`clear`, `ESC[2J`): earlier lines were dropped, as a terminal shows it.
    pub cleared: bool,
}

enum State {
    Normal,
    Esc,
    /// ESC followed by a charset designator (`(`, `)`, ...) that takes one more character.
    EscCharset,
    Csi(String),
    Osc,
    OscEsc,
}

struct Screen {
    lines: Vec<Vec<char>>,
    row: usize,
    col: usize,
    cleared: bool,
}

impl Screen {
    fn line(&mut self) -> &mut Vec<char> {
        while self.lines.len() <= self.row {
            self.lines.push(Vec::new());
        }
        &mut self.lines[self.row]
    }

    fn put(&mut self, c: char) {
        let col = self.col;
        let line = self.line();
        if col < line.len() {
            line[col] = c;
        } else {
            line.resize(col, ' ');
            line.push(c);
        }
        self.col += 1;
    }

    fn newline(&mut self) {
        self.row += 1;
        self.col = 0;
        self.line();
    }

    fn csi(&mut self, params: &str, fin: char) {
        let nums: Vec<usize> = params
            .trim_start_matches(['?', '>', '='])
            .split(';')
            .map(|p| p.parse().unwrap_or(0))
            .collect();
        let n = nums.first().copied().unwrap_or(0);
        let count = n.max(1);
        match fin {
            'K' => {
                let col = self.col;
                let line = self.line();
                match n {
                    0 => line.truncate(col),
                    1 => line.iter_mut().take(col + 1).for_each(|c| *c = ' '),
                    _ => line.clear(),
                }
            }
            'J' if n >= 2 => {
                self.lines.clear();
                self.row = 0;
                self.col = 0;
                self.cleared = true;
            }
            'J' => {
                let (row, col) = (self.row, self.col);
                self.line().truncate(col);
                self.lines.truncate(row + 1);
            }
            'A' => self.row = self.row.saturating_sub(count),
            'B' | 'E' => {
                self.row += count;
                if fin == 'E' {
                    self.col = 0;
                }
            }
            'F' => {
                self.row = self.row.saturating_sub(count);
                self.col = 0;
            }
            'C' => self.col += count,
            'D' => self.col = self.col.saturating_sub(count),
            'G' => self.col = count - 1,
            // Absolute positioning cannot be honoured without knowing where output started; keep columns.
            'H' | 'f' => {
                self.col = nums.get(1).copied().unwrap_or(1).max(1) - 1;
            }
            _ => {}
        }
    }
}

/// Renders `bytes` (UTF-8, invalid sequences replaced) as a terminal would display them.
pub(crate) fn render(bytes: &[u8]) -> Rendered {
    let text = String::from_utf8_lossy(bytes);
    let mut screen = Screen {
        lines: vec![Vec::new()],
        row: 0,
        col: 0,
        cleared: false,
    };
    let mut state = State::Normal;
    for c in text.chars() {
        state = match state {
            State::Normal => match c {
                '\x1b' => State::Esc,
                '\n' => {
                    screen.newline();
                    State::Normal
                }
                '\r' => {
                    screen.col = 0;
                    State::Normal
                }
                '\x08' => {
                    screen.col = screen.col.saturating_sub(1);
                    State::Normal
                }
                // Tabs stay tabs: the agent copies text from outputs into edits, where a tab matters.
                '\t' => {
                    screen.put('\t');
                    State::Normal
                }
                '\u{9b}' => State::Csi(String::new()),
                c if c.is_control() => State::Normal,
                c => {
                    screen.put(c);
                    State::Normal
                }
            },
            State::Esc => match c {
                '[' => State::Csi(String::new()),
                ']' | 'P' | '_' | '^' | 'X' => State::Osc,
                '(' | ')' | '*' | '+' | '#' | '%' => State::EscCharset,
                'c' => {
                    screen.csi("2", 'J');
                    State::Normal
                }
                _ => State::Normal,
            },
            State::EscCharset => State::Normal,
            State::Csi(mut params) => {
                if ('\x40'..='\x7e').contains(&c) {
                    screen.csi(&params, c);
                    State::Normal
                } else if params.len() < 64 {
                    params.push(c);
                    State::Csi(params)
                } else {
                    State::Normal
                }
            }
            State::Osc => match c {
                '\x07' => State::Normal,
                '\x1b' => State::OscEsc,
                _ => State::Osc,
            },
            State::OscEsc => match c {
                '\\' => State::Normal,
                _ => State::Osc,
            },
        };
    }
    let mut out = String::with_capacity(bytes.len());
    for (i, line) in screen.lines.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        let s: String = line.iter().collect();
        out.push_str(s.trim_end_matches([' ', '\t']));
    }
    Rendered {
        text: out,
        cleared: screen.cleared,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    fn text(s: &str) -> String {
        render(s.as_bytes()).text
    }

    #[test]
    fn plain_lines_and_crlf() {
        assert_eq!(text("a\r\nb\r\n\r\nc\r\n"), "a\nb\n\nc\n");
        assert_eq!(text("héllo ✓ 日本"), "héllo ✓ 日本");
    }

    #[test]
    fn carriage_returns_collapse_progress_bars() {
        assert_eq!(text("10%\r50%\r100%\r\ndone"), "100%\ndone");
        assert_eq!(text("abcdef\rXY"), "XYcdef");
        assert_eq!(text("downloading... 3/10\r\x1b[Kdone"), "done");
    }

    #[test]
    fn ansi_colours_titles_and_modes_vanish() {
        assert_eq!(
            text("\x1b[31mred\x1b[0m \x1b[1;32mgreen\x1b[m"),
            "red green"
        );
        assert_eq!(text("\x1b]0;title\x07x\x1b]2;t\x1b\\y"), "xy");
        assert_eq!(text("\x1b[?2004hprompt\x1b[?2004l\x1b(Bz"), "promptz");
    }

    #[test]
    fn cursor_up_redraws_multi_line_progress() {
        assert_eq!(text("a 1%\nb 1%\n\x1b[2Aa 99%\nb 99%\n"), "a 99%\nb 99%\n");
    }

    #[test]
    fn backspace_and_tabs() {
        assert_eq!(text("ab\x08c"), "ac");
        assert_eq!(text("a\tb"), "a\tb");
        assert_eq!(text("trailing   \nx"), "trailing\nx");
    }

    #[test]
    fn clear_screen_keeps_only_what_follows() {
        let r = render(b"before\r\n\x1b[H\x1b[2J\x1b[3Jafter\r\n");
        assert_eq!(r.text, "after\n");
        assert!(r.cleared);
    }

    #[test]
    fn invalid_utf8_is_replaced_not_fatal() {
        assert_eq!(text("ok \u{fffd}"), render(b"ok \xff").text);
    }
}
