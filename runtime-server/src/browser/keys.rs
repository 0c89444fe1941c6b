//! Key combinations as Playwright names them (`Enter`, `Control+a`, `Shift+Tab`) turned into the key
//! events `Input.dispatchKeyEvent` needs.

/// One key: what `Input.dispatchKeyEvent` calls `key`, `code`, `windowsVirtualKeyCode` and `text`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Key {
    pub key: String,
    pub code: String,
    pub key_code: u32,
    pub text: Option<String>,
    /// The CDP modifier bit this key sets while held (Alt 1, Control 2, Meta 4, Shift 8).
    pub modifier: u32,
}

/// Named keys: (name, code, virtual key code, text).
const NAMED: &[(&str, &str, u32, Option<&str>)] = &[
    ("Enter", "Enter", 13, Some("\r")),
    ("Tab", "Tab", 9, None),
    ("Backspace", "Backspace", 8, None),
    ("Delete", "Delete", 46, None),
    ("Escape", "Escape", 27, None),
    ("ArrowLeft", "ArrowLeft", 37, None),
    ("ArrowUp", "ArrowUp", 38, None),
    ("ArrowRight", "ArrowRight", 39, None),
    ("ArrowDown", "ArrowDown", 40, None),
    ("Home", "Home", 36, None),
    ("End", "End", 35, None),
    ("PageUp", "PageUp", 33, None),
    ("PageDown", "PageDown", 34, None),
    ("Insert", "Insert", 45, None),
    ("Space", "Space", 32, Some(" ")),
    ("Shift", "ShiftLeft", 16, None),
    ("Control", "ControlLeft", 17, None),
    ("Alt", "AltLeft", 18, None),
    ("Meta", "MetaLeft", 91, None),
];

/// Splits `Control+Shift+a` into its keys, last one pressed last; `+` alone and `Control++` work too.
pub(crate) fn parse_combination(combo: &str) -> Result<Vec<Key>, String> {
    let mut parts: Vec<&str> = Vec::new();
    let mut rest = combo;
    while let Some(i) = rest.get(1..).and_then(|r| r.find('+')).map(|i| i + 1) {
        parts.push(&rest[..i]);
        rest = &rest[i + 1..];
    }
    parts.push(rest);
    parts.iter().map(|p| key(p)).collect()
}

fn key(name: &str) -> Result<Key, String> {
    // Playwright's ControlOrMeta is Control on Linux.
    let name = if name == "ControlOrMeta" {
        "Control"
    } else {
        name
    };
    if let Some(&(key, code, key_code, text)) = NAMED.iter().find(|k| k.0 == name) {
        let modifier = match key {
            "Alt" => 1,
            "Control" => 2,
            "Meta" => 4,
            "Shift" => 8,
            _ => 0,
        };
        let key = if key == "Space" { " " } else { key };
        return Ok(Key {
            key: key.to_owned(),
            code: code.to_owned(),
            key_code,
            text: text.map(str::to_owned),
            modifier,
        });
    }
    if let Some(n) = name.strip_prefix('F').and_then(|n| n.parse::<u32>().ok())
        && (1..=12).contains(&n)
    {
        return Ok(Key {
            key: name.to_owned(),
            code: name.to_owned(),
            key_code: 111 + n,
            text: None,
            modifier: 0,
        });
    }
    let mut chars = name.chars();
    let (Some(c), None) = (chars.next(), chars.next()) else {
        return Err(format!("Error: Unknown key: \"{name}\""));
    };
    let (code, key_code) = match c {
        'a'..='z' | 'A'..='Z' => (
            format!("Key{}", c.to_ascii_uppercase()),
            c.to_ascii_uppercase() as u32,
        ),
        '0'..='9' => (format!("Digit{c}"), c as u32),
        _ => (String::new(), 0),
    };
    Ok(Key {
        key: c.to_string(),
        code,
        key_code,
        text: Some(c.to_string()),
        modifier: 0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn combinations() {
        let names = |c: &str| -> Vec<String> {
            parse_combination(c)
                .unwrap()
                .into_iter()
                .map(|k| format!("{}/{}/{}", k.key, k.code, k.key_code))
                .collect()
        };
        assert_eq!(names("Enter"), ["Enter/Enter/13"]);
        assert_eq!(
            names("Control+Shift+a"),
            ["Control/ControlLeft/17", "Shift/ShiftLeft/16", "a/KeyA/65"]
        );
        assert_eq!(names("Control++"), ["Control/ControlLeft/17", "+//0"]);
        assert_eq!(names("F5"), ["F5/F5/116"]);
        assert_eq!(
            parse_combination("Control+Hyper"),
            Err("Error: Unknown key: \"Hyper\"".to_owned())
        );
    }
}
