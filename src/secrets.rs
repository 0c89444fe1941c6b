//! The user's named secrets (`[secrets]` in the config files, `OPENHANDS_SECRET_<NAME>` in the
//! environment): exported into the sandbox's shell under their names, masked everywhere else, and only
//! their names shown to the model.

use std::fmt;

/// The environment prefix that names a secret: `OPENHANDS_SECRET_DEPLOY_TOKEN` is `DEPLOY_TOKEN`.
pub const ENV_PREFIX: &str = "OPENHANDS_SECRET_";

/// Names a secret may not take: the shell and the runtime need them, or they are our own credentials'.
const RESERVED: &[&str] = &[
    "PATH",
    "HOME",
    "PWD",
    "OLDPWD",
    "SHELL",
    "USER",
    "IFS",
    "PS1",
    "PS2",
    "PROMPT_COMMAND",
    "BASH_ENV",
    "ENV",
    "LD_PRELOAD",
    "LD_LIBRARY_PATH",
    "SESSION_API_KEY",
];

/// One named secret.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret {
    pub name: String,
    pub value: String,
}

/// The named secrets of a task, in name order; `Debug` shows names only.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secrets(Vec<Secret>);

impl fmt::Debug for Secrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.names()).finish()
    }
}

/// Why a name cannot be a secret's, as a phrase for an error message.
pub fn check_name(name: &str) -> Result<(), String> {
    let mut chars = name.chars();
    let valid = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !valid {
        return Err(format!(
            "`{name}` is not a shell variable name (letters, digits and `_`, not starting with a digit)"
        ));
    }
    if RESERVED.contains(&name) || name.starts_with("LLM_") || name.starts_with("OPENHANDS_") {
        return Err(format!(
            "`{name}` is reserved (the shell, the runtime or our own credentials use it)"
        ));
    }
    Ok(())
}

impl Secrets {
    /// Adds or replaces a secret (a later layer wins); the error names the secret, never its value.
    pub fn set(&mut self, name: &str, value: &str) -> Result<(), String> {
        check_name(name)?;
        if value.is_empty() {
            return Err(format!("secret `{name}` is empty"));
        }
        if value.len() < 4 {
            // The event stream masks only values of 4 bytes or more: a shorter one would show.
            return Err(format!(
                "secret `{name}` is shorter than 4 bytes, too short to be masked reliably"
            ));
        }
        self.0.retain(|s| s.name != name);
        self.0.push(Secret {
            name: name.to_owned(),
            value: value.to_owned(),
        });
        self.0.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(())
    }

    /// Reads `OPENHANDS_SECRET_<NAME>` variables from `vars`.
    pub fn add_from_env(
        &mut self,
        vars: impl Iterator<Item = (String, String)>,
    ) -> Result<(), String> {
        for (key, value) in vars {
            if let Some(name) = key.strip_prefix(ENV_PREFIX) {
                self.set(name, &value).map_err(|e| format!("{key}: {e}"))?;
            }
        }
        Ok(())
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn names(&self) -> Vec<&str> {
        self.0.iter().map(|s| s.name.as_str()).collect()
    }

    pub fn values(&self) -> Vec<String> {
        self.0.iter().map(|s| s.value.clone()).collect()
    }

    /// `(name, value)` pairs for the sandbox's environment.
    pub fn env(&self) -> Vec<(String, String)> {
        self.0
            .iter()
            .map(|s| (s.name.clone(), s.value.clone()))
            .collect()
    }

    /// One shell command that exports every secret (for a runtime whose environment we do not start).
    pub fn export_command(&self) -> Option<String> {
        let parts: Vec<String> = self
            .0
            .iter()
            .map(|s| format!("export {}='{}'", s.name, s.value.replace('\'', "'\\''")))
            .collect();
        (!parts.is_empty()).then(|| parts.join("; "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_must_be_shell_names_and_not_ours() {
        assert!(check_name("DEPLOY_TOKEN").is_ok());
        assert!(check_name("_x1").is_ok());
        for bad in [
            "",
            "1X",
            "A-B",
            "A B",
            "É",
            "PATH",
            "LLM_API_KEY",
            "OPENHANDS_X",
        ] {
            assert!(check_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn values_are_checked_and_never_in_errors_or_debug() {
        let mut s = Secrets::default();
        assert_eq!(s.set("A", "").unwrap_err(), "secret `A` is empty");
        assert!(s.set("A", "abc").unwrap_err().contains("too short"));
        s.set("B", "value-b").unwrap();
        s.set("A", "it's-a").unwrap();
        s.set("B", "value-b2").unwrap();
        assert_eq!(format!("{s:?}"), r#"["A", "B"]"#);
        assert_eq!(
            s.export_command().unwrap(),
            r#"export A='it'\''s-a'; export B='value-b2'"#
        );
        let err = s
            .add_from_env(
                [(
                    "OPENHANDS_SECRET_BAD-NAME".to_owned(),
                    "zzzz-value".to_owned(),
                )]
                .into_iter(),
            )
            .unwrap_err();
        assert!(err.starts_with("OPENHANDS_SECRET_BAD-NAME: "), "{err}");
        assert!(!err.contains("zzzz-value"));
        s.add_from_env(
            [
                ("OPENHANDS_SECRET_C".to_owned(), "value-c".to_owned()),
                ("OTHER".to_owned(), "x".to_owned()),
            ]
            .into_iter(),
        )
        .unwrap();
        assert_eq!(s.names(), ["A", "B", "C"]);
    }
}
