//! The subset of Python's call syntax that BrowserGym's action strings use: calls separated by newlines or
//! `;`, with string (any quoting, escapes, implicit concatenation), number, `True`/`False`/`None` and list
//! arguments, positional or by keyword. Errors are Python's `SyntaxError`s with the line and column.

use std::fmt;

/// A parsed argument value.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Arg {
    Str(String),
    Int(i64),
    Float(f64),
    Bool(bool),
    None,
    List(Vec<Arg>),
}

impl fmt::Display for Arg {
    /// Python's `repr`, for error messages.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Arg::Str(s) => f.write_str(&super::axtree::py_repr(s)),
            Arg::Int(i) => write!(f, "{i}"),
            Arg::Float(x) => write!(f, "{x:?}"),
            Arg::Bool(b) => f.write_str(if *b { "True" } else { "False" }),
            Arg::None => f.write_str("None"),
            Arg::List(items) => {
                f.write_str("[")?;
                for (i, a) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{a}")?;
                }
                f.write_str("]")
            }
        }
    }
}

/// One call as written: name, positional and keyword arguments.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Call {
    pub name: String,
    pub args: Vec<Arg>,
    pub kwargs: Vec<(String, Arg)>,
}

/// A recursive-descent parser over the action string.
struct Parser<'a> {
    src: &'a str,
    pos: usize,
}

impl<'a> Parser<'a> {
    fn new(src: &'a str) -> Self {
        Self { src, pos: 0 }
    }

    fn rest(&self) -> &'a str {
        &self.src[self.pos..]
    }

    fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += c.len_utf8();
        Some(c)
    }

    fn error(&self, what: &str) -> String {
        let before = &self.src[..self.pos];
        let line = before.matches('\n').count() + 1;
        let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        format!("SyntaxError: {what} (line {line}, column {column})")
    }

    /// Skips spaces and tabs, and inside brackets also newlines and comments.
    fn skip_blank(&mut self, newlines: bool) {
        while let Some(c) = self.peek() {
            match c {
                ' ' | '\t' | '\r' => {}
                '\n' if newlines => {}
                '\\' if self.rest().starts_with("\\\n") => {
                    self.pos += 1;
                }
                '#' if newlines => {
                    while self.peek().is_some_and(|c| c != '\n') {
                        self.bump();
                    }
                    continue;
                }
                _ => return,
            }
            self.bump();
        }
    }

    fn calls(&mut self) -> Result<Vec<Call>, String> {
        let mut calls = Vec::new();
        loop {
            // Between statements: blank lines, `;` and comments.
            self.skip_blank(true);
            while self.peek() == Some(';') {
                self.bump();
                self.skip_blank(true);
            }
            if self.peek().is_none() {
                return Ok(calls);
            }
            calls.push(self.call()?);
            self.skip_blank(false);
            match self.peek() {
                None | Some('\n' | ';' | '#') => {}
                Some(c) => return Err(self.error(&format!("unexpected '{c}' after a call"))),
            }
        }
    }

    fn ident(&mut self) -> Option<String> {
        let start = self.pos;
        match self.peek() {
            Some(c) if c.is_alphabetic() || c == '_' => {}
            _ => return None,
        }
        while self.peek().is_some_and(|c| c.is_alphanumeric() || c == '_') {
            self.bump();
        }
        Some(self.src[start..self.pos].to_owned())
    }

    fn call(&mut self) -> Result<Call, String> {
        let name = self
            .ident()
            .ok_or_else(|| self.error("expected an action such as click(\"12\")"))?;
        self.skip_blank(false);
        if self.peek() != Some('(') {
            return Err(self.error(&format!("expected '(' after '{name}'")));
        }
        self.bump();
        let mut call = Call {
            name,
            args: Vec::new(),
            kwargs: Vec::new(),
        };
        loop {
            self.skip_blank(true);
            if self.peek() == Some(')') {
                self.bump();
                return Ok(call);
            }
            let start = self.pos;
            let keyword = self.ident().and_then(|k| {
                self.skip_blank(true);
                (self.peek() == Some('=') && !self.rest().starts_with("==")).then(|| {
                    self.bump();
                    k
                })
            });
            if keyword.is_none() {
                self.pos = start;
            }
            let value = self.value()?;
            match keyword {
                Some(k) => call.kwargs.push((k, value)),
                None if !call.kwargs.is_empty() => {
                    return Err(self.error("positional argument follows keyword argument"));
                }
                None => call.args.push(value),
            }
            self.skip_blank(true);
            match self.peek() {
                Some(',') => {}
                Some(')') => {
                    self.bump();
                    return Ok(call);
                }
                Some(c) => return Err(self.error(&format!("expected ',' or ')' but found '{c}'"))),
                None => return Err(self.error("'(' was never closed")),
            }
            self.bump();
        }
    }

    fn value(&mut self) -> Result<Arg, String> {
        self.skip_blank(true);
        let c = self.peek().ok_or_else(|| self.error("expected a value"))?;
        match c {
            '"' | '\'' => self.strings(false),
            'r' | 'R' | 'u' | 'U' if self.rest()[1..].starts_with(['"', '\'']) => {
                let raw = matches!(c, 'r' | 'R');
                self.bump();
                self.strings(raw)
            }
            '[' | '(' => {
                let close = if c == '[' { ']' } else { ')' };
                self.bump();
                let mut items = Vec::new();
                loop {
                    self.skip_blank(true);
                    if self.peek() == Some(close) {
                        self.bump();
                        return Ok(Arg::List(items));
                    }
                    items.push(self.value()?);
                    self.skip_blank(true);
                    match self.peek() {
                        Some(',') => {
                            self.bump();
                        }
                        Some(x) if x == close => {
                            self.bump();
                            return Ok(Arg::List(items));
                        }
                        _ => {
                            return Err(self.error(&format!("expected ',' or '{close}' in a list")));
                        }
                    }
                }
            }
            '-' | '+' | '.' | '0'..='9' => self.number(),
            _ => match self.ident().as_deref() {
                Some("True") => Ok(Arg::Bool(true)),
                Some("False") => Ok(Arg::Bool(false)),
                Some("None") => Ok(Arg::None),
                Some(other) => Err(self.error(&format!(
                    "'{other}' is not a value; quote strings, e.g. \"{other}\""
                ))),
                None => Err(self.error(&format!("unexpected '{c}'"))),
            },
        }
    }

    fn number(&mut self) -> Result<Arg, String> {
        let start = self.pos;
        if matches!(self.peek(), Some('-' | '+')) {
            self.bump();
        }
        while self
            .peek()
            .is_some_and(|c| c.is_ascii_digit() || matches!(c, '.' | '_' | 'e' | 'E'))
            || (self.rest().starts_with(['-', '+']) && self.src[..self.pos].ends_with(['e', 'E']))
        {
            self.bump();
        }
        let text = self.src[start..self.pos].replace('_', "");
        if let Ok(i) = text.parse::<i64>() {
            Ok(Arg::Int(i))
        } else if let Ok(x) = text.parse::<f64>() {
            Ok(Arg::Float(x))
        } else {
            self.pos = start;
            Err(self.error(&format!("invalid number '{text}'")))
        }
    }

    /// One or more adjacent string literals, concatenated as Python does.
    fn strings(&mut self, raw: bool) -> Result<Arg, String> {
        let mut out = self.string(raw)?;
        loop {
            let save = self.pos;
            self.skip_blank(true);
            let raw_next =
                matches!(self.peek(), Some('r' | 'R')) && self.rest()[1..].starts_with(['"', '\'']);
            match self.peek() {
                Some('"' | '\'') => out.push_str(&self.string(false)?),
                Some(_) if raw_next => {
                    self.bump();
                    out.push_str(&self.string(true)?);
                }
                _ => {
                    self.pos = save;
                    return Ok(Arg::Str(out));
                }
            }
        }
    }

    fn string(&mut self, raw: bool) -> Result<String, String> {
        let quote = self.bump().expect("called on a quote");
        let triple = self.rest().starts_with(&format!("{quote}{quote}"));
        if triple {
            self.pos += 2;
        }
        let mut out = String::new();
        loop {
            let Some(c) = self.bump() else {
                return Err(self.error("unterminated string literal"));
            };
            if c == quote {
                if !triple {
                    return Ok(out);
                }
                if self.rest().starts_with(&format!("{quote}{quote}")) {
                    self.pos += 2;
                    return Ok(out);
                }
                out.push(c);
            } else if c == '\n' && !triple {
                return Err(self.error("unterminated string literal"));
            } else if c == '\\' {
                let Some(e) = self.bump() else {
                    return Err(self.error("unterminated string literal"));
                };
                if raw {
                    out.push('\\');
                    out.push(e);
                    continue;
                }
                match e {
                    '\n' => {}
                    'n' => out.push('\n'),
                    't' => out.push('\t'),
                    'r' => out.push('\r'),
                    '0' => out.push('\0'),
                    'a' => out.push('\x07'),
                    'b' => out.push('\x08'),
                    'f' => out.push('\x0c'),
                    'v' => out.push('\x0b'),
                    '\\' | '\'' | '"' => out.push(e),
                    'x' | 'u' | 'U' => {
                        let len = match e {
                            'x' => 2,
                            'u' => 4,
                            _ => 8,
                        };
                        let hex: String = self.rest().chars().take(len).collect();
                        let ch = (hex.len() == len)
                            .then(|| u32::from_str_radix(&hex, 16).ok())
                            .flatten()
                            .and_then(char::from_u32)
                            .ok_or_else(|| self.error(&format!("invalid \\{e} escape")))?;
                        self.pos += hex.len();
                        out.push(ch);
                    }
                    other => {
                        out.push('\\');
                        out.push(other);
                    }
                }
            } else {
                out.push(c);
            }
        }
    }
}

/// Reads every call in the source, in order.
pub(crate) fn parse_calls(source: &str) -> Result<Vec<Call>, String> {
    Parser::new(source).calls()
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn values() {
        let calls = parse_calls(
            "f('a\\'b', \"\\x41\\u00e9\\n\", r'\\d+', -3, 2.5e1, 1_000, True, None, ['x', ('y',)], k=False)",
        )
        .unwrap();
        assert_eq!(
            calls,
            vec![Call {
                name: "f".into(),
                args: vec![
                    Arg::Str("a'b".into()),
                    Arg::Str("Aé\n".into()),
                    Arg::Str("\\d+".into()),
                    Arg::Int(-3),
                    Arg::Float(25.0),
                    Arg::Int(1000),
                    Arg::Bool(true),
                    Arg::None,
                    Arg::List(vec![
                        Arg::Str("x".into()),
                        Arg::List(vec![Arg::Str("y".into())])
                    ]),
                ],
                kwargs: vec![("k".into(), Arg::Bool(false))],
            }]
        );
        assert_eq!(calls[0].args[0].to_string(), "\"a'b\"");
        assert_eq!(calls[0].args[8].to_string(), "['x', ['y']]");
    }
}
