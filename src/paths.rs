//! How a path is shown to a user, in every output format: relative to the working directory
//! when it lies below it, with `/` between components whatever the platform, so a diagnostic, a
//! JSON or SARIF location and a test snapshot read the same on Windows as on Linux.

use std::path::Path;

pub fn shown(path: &Path) -> String {
    let relative = std::env::current_dir()
        .ok()
        .and_then(|cwd| path.strip_prefix(&cwd).ok().map(Path::to_path_buf))
        .unwrap_or_else(|| path.to_path_buf());
    let shown = with_slashes(&relative.to_string_lossy());
    if shown.is_empty() {
        // The working directory itself.
        ".".into()
    } else {
        shown
    }
}

/// `text` (a path as the platform spells it) with `/` separators and no leading `./`.
pub fn with_slashes(text: &str) -> String {
    let s = text.replace('\\', "/");
    s.strip_prefix("./").map(str::to_owned).unwrap_or(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_separators_become_slashes() {
        assert_eq!(
            with_slashes(r"rendered\prod\api.yaml"),
            "rendered/prod/api.yaml"
        );
        assert_eq!(
            with_slashes(r".\environments\dev.yaml"),
            "environments/dev.yaml"
        );
        assert_eq!(with_slashes("./catalogue.yaml"), "catalogue.yaml");
    }

    #[test]
    fn a_path_below_the_working_directory_is_shown_relative() {
        let cwd = std::env::current_dir().unwrap();
        assert_eq!(shown(&cwd.join("rendered").join("dev")), "rendered/dev");
        assert_eq!(shown(Path::new("./rendered")), "rendered");
        assert_eq!(shown(&cwd), ".");
    }
}
