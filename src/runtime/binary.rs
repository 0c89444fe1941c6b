//! Finding the `openhands-runtime` executable: explicit path, `OPENHANDS_RUNTIME_BIN`, next to our own
//! executable (installed side by side, or `target/<profile>/` for tests in `deps/`), then PATH.

use std::path::{Path, PathBuf};

use super::RuntimeError;

/// The variable that names the runtime binary when no explicit path is given.
pub const RUNTIME_BIN_ENV: &str = "OPENHANDS_RUNTIME_BIN";

fn binary_name() -> String {
    format!("openhands-runtime{}", std::env::consts::EXE_SUFFIX)
}

/// Locates the runtime binary; the error names every place that was searched.
pub fn find_runtime_binary(explicit: Option<&Path>) -> Result<PathBuf, RuntimeError> {
    let env = std::env::var_os(RUNTIME_BIN_ENV).filter(|v| !v.is_empty());
    let exe_dir = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(Path::to_path_buf));
    let path = std::env::var_os("PATH").unwrap_or_default();
    find_in(
        explicit,
        env.as_deref().map(Path::new),
        exe_dir.as_deref(),
        &path,
    )
}

fn find_in(
    explicit: Option<&Path>,
    env: Option<&Path>,
    exe_dir: Option<&Path>,
    path_var: &std::ffi::OsStr,
) -> Result<PathBuf, RuntimeError> {
    if let Some(bin) = explicit {
        return existing(bin, "the runtime binary");
    }
    if let Some(bin) = env {
        return existing(
            bin,
            &format!("{RUNTIME_BIN_ENV} names a runtime binary, but"),
        );
    }
    let name = binary_name();
    let mut searched = Vec::new();
    if let Some(dir) = exe_dir {
        for d in std::iter::once(dir).chain(dir.parent()) {
            let candidate = d.join(&name);
            if is_executable(&candidate) {
                return Ok(candidate);
            }
            searched.push(d.display().to_string());
        }
    }
    for d in std::env::split_paths(path_var) {
        let candidate = d.join(&name);
        if is_executable(&candidate) {
            return Ok(candidate);
        }
    }
    searched.push("the directories on PATH".to_owned());
    Err(RuntimeError::Start(format!(
        "cannot find the `{name}` binary (searched {}); build it with `cargo build --release -p openhands-runtime`, \
         put it on PATH, set {RUNTIME_BIN_ENV}, or configure its path",
        searched.join(", ")
    )))
}

fn existing(bin: &Path, what: &str) -> Result<PathBuf, RuntimeError> {
    if bin.is_file() {
        Ok(bin.to_path_buf())
    } else {
        Err(RuntimeError::Start(format!(
            "{what} {} does not exist or is not a file",
            bin.display()
        )))
    }
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.metadata()
        .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn search_order_and_errors() {
        let tmp = tempfile::tempdir().unwrap();
        let deps = tmp.path().join("debug/deps");
        let path_dir = tmp.path().join("bin");
        std::fs::create_dir_all(&deps).unwrap();
        std::fs::create_dir_all(&path_dir).unwrap();
        let path_var = std::env::join_paths([&path_dir]).unwrap();

        let err = find_in(None, None, Some(&deps), &path_var).unwrap_err();
        let text = err.to_string();
        assert!(text.contains(&deps.display().to_string()), "{text}");
        assert!(text.contains("PATH"), "{text}");

        let on_path = path_dir.join(binary_name());
        std::fs::write(&on_path, "#!/bin/sh\n").unwrap();
        std::fs::set_permissions(&on_path, std::fs::Permissions::from_mode(0o755)).unwrap();
        assert_eq!(
            find_in(None, None, Some(&deps), &path_var).unwrap(),
            on_path
        );

        // Next to the executable's directory (tests run from target/<profile>/deps/) wins over PATH.
        let beside = tmp.path().join("debug").join(binary_name());
        std::fs::write(&beside, "#!/bin/sh\n").unwrap();
        std::fs::set_permissions(&beside, std::fs::Permissions::from_mode(0o755)).unwrap();
        assert_eq!(find_in(None, None, Some(&deps), &path_var).unwrap(), beside);

        // The variable and an explicit path win, and a missing one is an error that names it.
        let missing = tmp.path().join("nope");
        let err = find_in(None, Some(&missing), Some(&deps), &path_var).unwrap_err();
        assert!(err.to_string().contains(RUNTIME_BIN_ENV), "{err}");
        assert_eq!(
            find_in(Some(&on_path), Some(&missing), None, &path_var).unwrap(),
            on_path
        );
        let err = find_in(Some(&missing), None, None, &path_var).unwrap_err();
        assert!(err.to_string().contains("nope"), "{err}");
    }
}
