//! Source links: servers built on mcp-runtime list each tool's, resource's and prompt's
//! `file:line` under `mcp-cli dev`; the page asks to open one in the developer's editor,
//! which `MCP_CLI_EDITOR` names as a command template (`code -g {file}:{line}`).

use std::path::{Path, PathBuf};

/// How many directories above the current one a relative source path is looked for in
/// (cargo gives paths relative to the workspace root).
const UP: usize = 6;

/// The existing `.rs` file `file` names, relative to the current directory or one above it.
fn resolve(cwd: &Path, file: &str) -> Option<PathBuf> {
    if Path::new(file).extension().is_none_or(|e| e != "rs") {
        return None;
    }
    let given = Path::new(file);
    if given.is_absolute() {
        return given.is_file().then(|| given.to_path_buf());
    }
    cwd.ancestors()
        .take(UP + 1)
        .map(|d| d.join(given))
        .find(|p| p.is_file())
}

/// The editor command for `file` at `line`, from the template `MCP_CLI_EDITOR`.
fn command(template: &str, file: &Path, line: u64) -> Option<(String, Vec<String>)> {
    let mut words = template.split_whitespace().map(|w| {
        w.replace("{file}", &file.to_string_lossy())
            .replace("{line}", &line.to_string())
    });
    let program = words.next()?;
    Some((program, words.collect()))
}

/// Opens `file` at `line` in the editor: `{path}` (absolute) or why not.
pub(super) fn open(file: &str, line: u64) -> Result<String, String> {
    let cwd = std::env::current_dir().map_err(|e| format!("no current directory: {e}"))?;
    let path = resolve(&cwd, file).ok_or_else(|| {
        format!(
            "`{file}` is not a Rust source file under {} or the directories above it",
            cwd.display()
        )
    })?;
    let shown = path.display().to_string();
    let template = std::env::var("MCP_CLI_EDITOR").map_err(|_| {
        format!(
            "{shown}:{line}: set MCP_CLI_EDITOR to open it, e.g. `code -g {{file}}:{{line}}` or `idea --line {{line}} {{file}}`"
        )
    })?;
    let (program, args) = command(&template, &path, line)
        .ok_or_else(|| "MCP_CLI_EDITOR is empty: give a command".to_string())?;
    std::process::Command::new(&program)
        .args(&args)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .map_err(|e| format!("could not run `{program}` (MCP_CLI_EDITOR): {e}"))?;
    Ok(shown)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_template_gets_the_file_and_line() {
        let (p, a) = command("code -g {file}:{line}", Path::new("/w/src/main.rs"), 12).unwrap();
        assert_eq!(p, "code");
        assert_eq!(a, ["-g", "/w/src/main.rs:12"]);
    }

    #[test]
    fn only_existing_rust_files_resolve() {
        let here = Path::new(env!("CARGO_MANIFEST_DIR"));
        assert!(resolve(&here.join("src"), "src/main.rs").is_some());
        assert!(resolve(here, "Cargo.toml").is_none());
        assert!(resolve(here, "src/nope.rs").is_none());
    }
}
