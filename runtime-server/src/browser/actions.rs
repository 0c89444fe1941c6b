//! BrowserGym's high-level action strings (`click("12")`, `fill('5', "text")`, one or more per call) turned
//! into typed actions: the calls (`call_syntax`) bound to BrowserGym's action set. Errors read as Python's
//! would (`SyntaxError`, `TypeError`, `NameError`), since models are trained on BrowserGym's messages.

use super::call_syntax::{Arg, Call, parse_calls};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum MouseButton {
    Left,
    Middle,
    Right,
}

/// A BrowserGym action with its arguments checked.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum BrowserAction {
    Goto(String),
    GoBack,
    GoForward,
    Noop {
        wait_ms: f64,
    },
    Scroll {
        dx: f64,
        dy: f64,
    },
    Click {
        bid: String,
        button: MouseButton,
        modifiers: Vec<String>,
        double: bool,
    },
    Hover(String),
    Fill {
        bid: String,
        value: String,
    },
    SelectOption {
        bid: String,
        options: Vec<String>,
    },
    Press {
        bid: String,
        keys: String,
    },
    Focus(String),
    Clear(String),
    DragAndDrop {
        from: String,
        to: String,
    },
    UploadFile {
        bid: String,
        files: Vec<String>,
    },
    /// `send_msg_to_user` and `report_infeasible` talk to the user, not the page: nothing to do here.
    Message,
}

/// Parses a whole action string into checked actions, or the error BrowserGym would report.
pub(crate) fn parse(source: &str) -> Result<Vec<BrowserAction>, String> {
    let calls = parse_calls(source)?;
    if calls.is_empty() {
        return Err("SyntaxError: no browser action found; expected calls such as click(\"12\") or goto(\"http://...\")".into());
    }
    calls.iter().map(bind).collect()
}

/// Parameters of the actions BrowserGym's action set knows; `true` marks a required one.
fn signature(name: &str) -> Option<&'static [(&'static str, bool)]> {
    const BID: &[(&str, bool)] = &[("bid", true)];
    Some(match name {
        "goto" => &[("url", true)],
        "go_back" | "go_forward" => &[],
        "noop" => &[("wait_ms", false)],
        "scroll" => &[("delta_x", true), ("delta_y", true)],
        "click" | "dblclick" => &[("bid", true), ("button", false), ("modifiers", false)],
        "hover" | "focus" | "clear" => BID,
        "fill" => &[("bid", true), ("value", true)],
        "select_option" => &[("bid", true), ("options", true)],
        "press" => &[("bid", true), ("key_comb", true)],
        "drag_and_drop" => &[("from_bid", true), ("to_bid", true)],
        "upload_file" => &[("bid", true), ("file", true)],
        "send_msg_to_user" => &[("text", true)],
        "report_infeasible" => &[("reason", true)],
        _ => return None,
    })
}

fn bind(call: &Call) -> Result<BrowserAction, String> {
    let name = call.name.as_str();
    let params =
        signature(name).ok_or_else(|| format!("NameError: Invalid action type '{name}'."))?;
    let mut slots: Vec<Option<Arg>> = vec![None; params.len()];
    if call.args.len() > params.len() {
        return Err(format!(
            "TypeError: {name}() takes {} positional argument{} but {} were given",
            params.len(),
            if params.len() == 1 { "" } else { "s" },
            call.args.len()
        ));
    }
    for (slot, arg) in slots.iter_mut().zip(&call.args) {
        *slot = Some(arg.clone());
    }
    for (key, value) in &call.kwargs {
        let Some(i) = params.iter().position(|(p, _)| p == key) else {
            return Err(format!(
                "TypeError: {name}() got an unexpected keyword argument '{key}'"
            ));
        };
        if slots[i].is_some() {
            return Err(format!(
                "TypeError: {name}() got multiple values for argument '{key}'"
            ));
        }
        slots[i] = Some(value.clone());
    }
    let missing: Vec<String> = params
        .iter()
        .zip(&slots)
        .filter(|((_, required), slot)| *required && slot.is_none())
        .map(|((p, _), _)| format!("'{p}'"))
        .collect();
    if !missing.is_empty() {
        return Err(format!(
            "TypeError: {name}() missing {} required positional argument{}: {}",
            missing.len(),
            if missing.len() == 1 { "" } else { "s" },
            missing.join(" and ")
        ));
    }
    let a = Args {
        name,
        params,
        slots,
    };
    Ok(match name {
        "goto" => BrowserAction::Goto(a.string(0)?),
        "go_back" => BrowserAction::GoBack,
        "go_forward" => BrowserAction::GoForward,
        "noop" => BrowserAction::Noop {
            wait_ms: a.number(0)?.unwrap_or(1000.0).max(0.0),
        },
        "scroll" => BrowserAction::Scroll {
            dx: a.number(0)?.unwrap_or_default(),
            dy: a.number(1)?.unwrap_or_default(),
        },
        "click" | "dblclick" => BrowserAction::Click {
            bid: a.bid(0)?,
            button: a.button(1)?,
            modifiers: a.modifiers(2)?,
            double: name == "dblclick",
        },
        "hover" => BrowserAction::Hover(a.bid(0)?),
        "focus" => BrowserAction::Focus(a.bid(0)?),
        "clear" => BrowserAction::Clear(a.bid(0)?),
        "fill" => BrowserAction::Fill {
            bid: a.bid(0)?,
            value: a.string(1)?,
        },
        "select_option" => BrowserAction::SelectOption {
            bid: a.bid(0)?,
            options: a.strings(1)?,
        },
        "press" => BrowserAction::Press {
            bid: a.bid(0)?,
            keys: a.string(1)?,
        },
        "drag_and_drop" => BrowserAction::DragAndDrop {
            from: a.bid(0)?,
            to: a.bid(1)?,
        },
        "upload_file" => BrowserAction::UploadFile {
            bid: a.bid(0)?,
            files: a.strings(1)?,
        },
        _ => BrowserAction::Message,
    })
}

/// Bound arguments of one call, read with the types the action needs.
struct Args<'a> {
    name: &'a str,
    params: &'static [(&'static str, bool)],
    slots: Vec<Option<Arg>>,
}

impl Args<'_> {
    fn wrong(&self, i: usize, expected: &str) -> String {
        let given = self.slots[i]
            .as_ref()
            .map(Arg::to_string)
            .unwrap_or_default();
        format!(
            "TypeError: {}() argument '{}' must be {expected}, not {given}",
            self.name, self.params[i].0
        )
    }

    fn string(&self, i: usize) -> Result<String, String> {
        match &self.slots[i] {
            Some(Arg::Str(s)) => Ok(s.clone()),
            _ => Err(self.wrong(i, "a string")),
        }
    }

    /// A bid; an integer is accepted too, since models often write `click(12)`.
    fn bid(&self, i: usize) -> Result<String, String> {
        match &self.slots[i] {
            Some(Arg::Str(s)) => Ok(s.clone()),
            Some(Arg::Int(n)) => Ok(n.to_string()),
            _ => Err(self.wrong(i, "a string bid such as \"12\"")),
        }
    }

    fn number(&self, i: usize) -> Result<Option<f64>, String> {
        match &self.slots[i] {
            None | Some(Arg::None) => Ok(None),
            Some(Arg::Int(n)) => Ok(Some(*n as f64)),
            Some(Arg::Float(x)) => Ok(Some(*x)),
            _ => Err(self.wrong(i, "a number")),
        }
    }

    /// One string or a list of strings.
    fn strings(&self, i: usize) -> Result<Vec<String>, String> {
        match &self.slots[i] {
            Some(Arg::Str(s)) => Ok(vec![s.clone()]),
            Some(Arg::List(items)) => items
                .iter()
                .map(|a| match a {
                    Arg::Str(s) => Ok(s.clone()),
                    _ => Err(self.wrong(i, "a string or a list of strings")),
                })
                .collect(),
            _ => Err(self.wrong(i, "a string or a list of strings")),
        }
    }

    fn button(&self, i: usize) -> Result<MouseButton, String> {
        match &self.slots[i] {
            None | Some(Arg::None) => Ok(MouseButton::Left),
            Some(Arg::Str(s)) if s == "left" => Ok(MouseButton::Left),
            Some(Arg::Str(s)) if s == "middle" => Ok(MouseButton::Middle),
            Some(Arg::Str(s)) if s == "right" => Ok(MouseButton::Right),
            _ => Err(self.wrong(i, "one of \"left\", \"middle\", \"right\"")),
        }
    }

    fn modifiers(&self, i: usize) -> Result<Vec<String>, String> {
        const KNOWN: &[&str] = &["Alt", "Control", "ControlOrMeta", "Meta", "Shift"];
        if matches!(self.slots[i], None | Some(Arg::None)) {
            return Ok(Vec::new());
        }
        let mods = self.strings(i)?;
        match mods.iter().find(|m| !KNOWN.contains(&m.as_str())) {
            Some(_) => Err(self.wrong(
                i,
                "a list of \"Alt\", \"Control\", \"ControlOrMeta\", \"Meta\", \"Shift\"",
            )),
            None => Ok(mods),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn parses_browsergym_calls() {
        let actions = parse(
            "# log in\nfill('12', \"user\\n\" 'name')\nclick(\"13\", button='right', modifiers=[\"Shift\"]); noop()\n\
             select_option(\"7\", [\"a\", 'b'])\nscroll(0, -200.5)\npress(\"5\", key_comb=\"Control+a\")\n\
             dblclick(14)\nupload_file('3', r'C:\\x')\n",
        )
        .unwrap();
        assert_eq!(
            actions,
            vec![
                BrowserAction::Fill {
                    bid: "12".into(),
                    value: "user\nname".into()
                },
                BrowserAction::Click {
                    bid: "13".into(),
                    button: MouseButton::Right,
                    modifiers: vec!["Shift".into()],
                    double: false,
                },
                BrowserAction::Noop { wait_ms: 1000.0 },
                BrowserAction::SelectOption {
                    bid: "7".into(),
                    options: vec!["a".into(), "b".into()]
                },
                BrowserAction::Scroll {
                    dx: 0.0,
                    dy: -200.5
                },
                BrowserAction::Press {
                    bid: "5".into(),
                    keys: "Control+a".into()
                },
                BrowserAction::Click {
                    bid: "14".into(),
                    button: MouseButton::Left,
                    modifiers: vec![],
                    double: true,
                },
                BrowserAction::UploadFile {
                    bid: "3".into(),
                    files: vec!["C:\\x".into()]
                },
            ]
        );
        assert_eq!(
            parse("goto(\"\"\"http://a/\"\"\")").unwrap(),
            vec![BrowserAction::Goto("http://a/".into())]
        );
    }

    #[test]
    fn reports_errors_as_python_would() {
        let cases = [
            (
                "",
                "SyntaxError: no browser action found; expected calls such as click(\"12\") or goto(\"http://...\")",
            ),
            (
                "click(\"12\"",
                "SyntaxError: '(' was never closed (line 1, column 11)",
            ),
            (
                "click(\"12)",
                "SyntaxError: unterminated string literal (line 1, column 11)",
            ),
            (
                "click 12",
                "SyntaxError: expected '(' after 'click' (line 1, column 7)",
            ),
            (
                "click(12) x",
                "SyntaxError: unexpected 'x' after a call (line 1, column 11)",
            ),
            (
                "click(bid)",
                "SyntaxError: 'bid' is not a value; quote strings, e.g. \"bid\" (line 1, column 10)",
            ),
            (
                "explode(\"1\")",
                "NameError: Invalid action type 'explode'.",
            ),
            (
                "fill(\"1\")",
                "TypeError: fill() missing 1 required positional argument: 'value'",
            ),
            (
                "drag_and_drop()",
                "TypeError: drag_and_drop() missing 2 required positional arguments: 'from_bid' and 'to_bid'",
            ),
            (
                "hover(\"1\", \"2\")",
                "TypeError: hover() takes 1 positional argument but 2 were given",
            ),
            (
                "click(\"1\", color=\"red\")",
                "TypeError: click() got an unexpected keyword argument 'color'",
            ),
            (
                "click(\"1\", bid=\"2\")",
                "TypeError: click() got multiple values for argument 'bid'",
            ),
            (
                "click(\"1\", button=\"up\")",
                "TypeError: click() argument 'button' must be one of \"left\", \"middle\", \"right\", not 'up'",
            ),
            (
                "fill(\"1\", 5)",
                "TypeError: fill() argument 'value' must be a string, not 5",
            ),
            (
                "scroll(\"a\", 1)",
                "TypeError: scroll() argument 'delta_x' must be a number, not 'a'",
            ),
        ];
        for (source, expected) in cases {
            assert_eq!(parse(source), Err(expected.to_owned()), "{source}");
        }
    }
}
