//! A picture of the panel for the README: Neovim 0.11 in tmux runs a task through the plugin; the screen is
//! captured with its colours (`tmux capture-pane -e`), turned into an HTML page and rendered to PNG by headless
//! Chromium, written to `$CARGO_TARGET_TMPDIR/nvim-panel.png` (docs/images/nvim-panel.png is a copy).

use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use super::super::tmux::Tmux;
use super::task::task_script;
use super::{Home, nvim_011, plugin_dir};
use crate::scripted_llm::{ScriptedLlm, Wire};

const WIDTH: u16 = 150;
const HEIGHT: u16 = 30;

/// The xterm 256-colour palette entry `n` as `#rrggbb`.
fn palette(n: u8) -> String {
    const BASE: [(u8, u8, u8); 16] = [
        (0x1e, 0x1e, 0x1e),
        (0xcd, 0x31, 0x31),
        (0x0d, 0xbc, 0x79),
        (0xe5, 0xe5, 0x10),
        (0x24, 0x72, 0xc8),
        (0xbc, 0x3f, 0xbc),
        (0x11, 0xa8, 0xcd),
        (0xe5, 0xe5, 0xe5),
        (0x66, 0x66, 0x66),
        (0xf1, 0x4c, 0x4c),
        (0x23, 0xd1, 0x8b),
        (0xf5, 0xf5, 0x43),
        (0x3b, 0x8e, 0xea),
        (0xd6, 0x70, 0xd6),
        (0x29, 0xb8, 0xdb),
        (0xff, 0xff, 0xff),
    ];
    let (r, g, b) = match n {
        0..=15 => BASE[n as usize],
        16..=231 => {
            let i = n - 16;
            let c = |v: u8| if v == 0 { 0 } else { 55 + v * 40 };
            (c(i / 36), c((i / 6) % 6), c(i % 6))
        }
        _ => {
            let v = 8 + (n - 232) * 10;
            (v, v, v)
        }
    };
    format!("#{r:02x}{g:02x}{b:02x}")
}

#[derive(Clone, Default, PartialEq)]
struct Style {
    fg: Option<String>,
    bg: Option<String>,
    bold: bool,
    italic: bool,
    underline: bool,
    reverse: bool,
}

impl Style {
    /// Applies one SGR sequence's parameters.
    fn apply(&mut self, params: &[u32]) {
        let mut i = 0;
        while i < params.len() {
            let colour = |at: usize| -> (Option<String>, usize) {
                match params.get(at + 1) {
                    Some(5) => (params.get(at + 2).map(|&n| palette(n as u8)), 3),
                    Some(2) => {
                        let c = |k: usize| params.get(at + k).copied().unwrap_or(0);
                        (Some(format!("#{:02x}{:02x}{:02x}", c(2), c(3), c(4))), 5)
                    }
                    _ => (None, 1),
                }
            };
            match params[i] {
                0 => *self = Style::default(),
                1 => self.bold = true,
                3 => self.italic = true,
                4 => self.underline = true,
                7 => self.reverse = true,
                22 => self.bold = false,
                23 => self.italic = false,
                24 => self.underline = false,
                27 => self.reverse = false,
                n @ 30..=37 => self.fg = Some(palette((n - 30) as u8)),
                n @ 90..=97 => self.fg = Some(palette((n - 90 + 8) as u8)),
                n @ 40..=47 => self.bg = Some(palette((n - 40) as u8)),
                n @ 100..=107 => self.bg = Some(palette((n - 100 + 8) as u8)),
                39 => self.fg = None,
                49 => self.bg = None,
                38 | 48 => {
                    let (c, used) = colour(i);
                    if params[i] == 38 {
                        self.fg = c;
                    } else {
                        self.bg = c;
                    }
                    i += used;
                    continue;
                }
                _ => {}
            }
            i += 1;
        }
    }

    fn css(&self, fg: &str, bg: &str) -> String {
        let (mut f, mut b) = (
            self.fg.clone().unwrap_or_else(|| fg.to_owned()),
            self.bg.clone().unwrap_or_else(|| bg.to_owned()),
        );
        if self.reverse {
            std::mem::swap(&mut f, &mut b);
        }
        let mut css = format!("color:{f};background:{b}");
        if self.bold {
            css.push_str(";font-weight:bold");
        }
        if self.italic {
            css.push_str(";font-style:italic");
        }
        if self.underline {
            css.push_str(";text-decoration:underline");
        }
        css
    }
}

fn escape(c: char, out: &mut String) {
    match c {
        '<' => out.push_str("&lt;"),
        '>' => out.push_str("&gt;"),
        '&' => out.push_str("&amp;"),
        c => out.push(c),
    }
}

/// The captured screen (text with SGR escapes) as an HTML page of coloured spans.
fn ansi_to_html(screen: &str, fg: &str, bg: &str) -> String {
    let mut body = String::new();
    let mut style = Style::default();
    for line in screen.lines() {
        let mut span = String::new();
        let mut chars = line.chars().peekable();
        let flush = |span: &mut String, style: &Style, body: &mut String| {
            if !span.is_empty() {
                let _ = write!(body, "<span style=\"{}\">{span}</span>", style.css(fg, bg));
                span.clear();
            }
        };
        while let Some(c) = chars.next() {
            if c == '\u{1b}' && chars.peek() == Some(&'[') {
                chars.next();
                let mut seq = String::new();
                for d in chars.by_ref() {
                    if d.is_ascii_alphabetic() {
                        if d == 'm' {
                            flush(&mut span, &style, &mut body);
                            let params: Vec<u32> = if seq.is_empty() {
                                vec![0]
                            } else {
                                seq.split([';', ':'])
                                    .map(|p| p.parse().unwrap_or(0))
                                    .collect()
                            };
                            style.apply(&params);
                        }
                        break;
                    }
                    seq.push(d);
                }
            } else {
                escape(c, &mut span);
            }
        }
        flush(&mut span, &style, &mut body);
        body.push('\n');
    }
    format!(
        "<!doctype html><meta charset=\"utf-8\"><style>body{{margin:0;background:{bg}}}\
         pre{{margin:0;padding:8px;font:14px/1.25 'DejaVu Sans Mono','Liberation Mono',monospace;color:{fg};\
         background:{bg}}}</style><pre>{body}</pre>"
    )
}

#[test]
fn nvim_011_panel_screenshot() {
    let Some(nvim) = nvim_011() else { return };
    if Command::new("tmux").arg("-V").output().is_err() {
        eprintln!("skipped: tmux is not installed (apt-get install tmux)");
        return;
    }
    let chromium = Path::new("/usr/bin/chromium");
    if !chromium.exists() {
        eprintln!("skipped: no /usr/bin/chromium (apt-get install chromium)");
        return;
    }
    let llm = ScriptedLlm::start(Wire::OpenAi, task_script());
    let home = Home::new();
    let init = home.dir.path().join("init.lua");
    std::fs::write(
        &init,
        format!(
            "vim.opt.rtp:append({plugin:?})\nvim.o.termguicolors = true\nvim.o.laststatus = 2\n\
             vim.o.statusline = \"%f %m%=%{{v:lua.require'openhands'.statusline()}} \"\n\
             vim.cmd('runtime plugin/openhands.lua')\n\
             require('openhands').setup({{ cmd = {{ {lsp:?} }}, base_url = {url:?}, approvals = 'never', panel = {{ size = 80 }} }})\n",
            plugin = plugin_dir().display().to_string(),
            lsp = env!("CARGO_BIN_EXE_openhands-lsp"),
            url = llm.base_url,
        ),
    )
    .unwrap();
    let d = home.dir.path();
    let command = format!(
        "cd {ws} && env HOME={d} XDG_CONFIG_HOME={d}/config XDG_STATE_HOME={d}/state XDG_CACHE_HOME={d}/cache \
         XDG_DATA_HOME={d}/share OPENHANDS_DATA_DIR={d}/data LLM_MODEL=scripted-model \
         LLM_API_KEY=sk-test-secret LLM_NATIVE_TOOL_CALLING=true LLM_NUM_RETRIES=0 TERM=tmux-256color \
         {nvim} -i NONE -n -u {init} notes.txt",
        ws = home.ws().display(),
        d = d.display(),
        nvim = nvim.bin.display(),
        init = init.display(),
    );
    let tmux = Tmux::start_sized("nvim", &command, WIDTH, HEIGHT);
    tmux.run(&["set-option", "-g", "default-terminal", "tmux-256color"]);
    tmux.wait("the file", 60, |s| s.contains("first line"), String::new);
    tmux.keys(&["Gounsaved line", "Escape"]);
    tmux.wait(
        "the unsaved line",
        60,
        |s| s.contains("unsaved line"),
        String::new,
    );
    tmux.keys(&[":OpenHands edit the first line of notes.txt", "Enter"]);
    let screen = tmux.wait(
        "the finished task",
        60,
        |s| s.contains("OpenHands finished"),
        String::new,
    );
    // Show the diff in full: the top of the panel window's text starts at the user's message.
    std::thread::sleep(Duration::from_millis(300));
    for want in [
        "You: edit the first line",
        "first line, edited",
        "OpenHands: finished",
    ] {
        let s = tmux.screen();
        assert!(
            s.contains(want),
            "no {want:?} on the screen:\n{s}\n(first capture:\n{screen})"
        );
    }
    let png = picture(&tmux, chromium, "nvim-panel", "1290,550");
    eprintln!("the panel: {}", png.display());
}

/// The tmux screen with its colours as `$CARGO_TARGET_TMPDIR/<name>.png`, rendered by headless Chromium in a
/// window of `size` ("width,height" pixels).
pub(super) fn picture(tmux: &Tmux, chromium: &Path, name: &str, size: &str) -> std::path::PathBuf {
    let coloured = tmux.screen_coloured();
    assert!(coloured.contains("\u{1b}["), "the capture has no colours");
    let out = Path::new(env!("CARGO_TARGET_TMPDIR"));
    let page = out.join(format!("{name}.html"));
    std::fs::write(&page, ansi_to_html(&coloured, "#e0e2ea", "#14161b")).unwrap();
    let png = out.join(format!("{name}.png"));
    let _ = std::fs::remove_file(&png);
    let shot = Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
        ])
        .arg(format!("--screenshot={}", png.display()))
        .arg(format!("--window-size={size}"))
        .arg(format!("file://{}", page.display()))
        .output()
        .unwrap();
    let bytes = std::fs::read(&png).unwrap_or_else(|_| {
        panic!(
            "chromium wrote no screenshot: {}",
            String::from_utf8_lossy(&shot.stderr)
        )
    });
    assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n"), "not a PNG");
    assert!(
        bytes.len() > 20_000,
        "a nearly empty picture ({} bytes)",
        bytes.len()
    );
    png
}

#[test]
fn sgr_sequences_become_styles() {
    let html = ansi_to_html(
        "a\u{1b}[1;38;2;255;0;0mB\u{1b}[0m\u{1b}[48;5;21m<c>\u{1b}[m",
        "#fff",
        "#000",
    );
    assert!(
        html.contains("<span style=\"color:#fff;background:#000\">a</span>"),
        "{html}"
    );
    assert!(
        html.contains("<span style=\"color:#ff0000;background:#000;font-weight:bold\">B</span>"),
        "{html}"
    );
    assert!(
        html.contains("<span style=\"color:#fff;background:#0000ff\">&lt;c&gt;</span>"),
        "{html}"
    );
}
