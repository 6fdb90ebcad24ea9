//! Which repository "this repository" is, so an Argo CD Application's source in another one is
//! not looked for on the local disk.
//!
//! Known from `SHIPSHAPE_REPO_URL` (one or more URLs, separated by spaces or commas) when set,
//! else from the `url` of every remote in the git configuration of the repository root. When
//! neither says anything, every source is taken to be this repository, as before.

use std::path::{Path, PathBuf};

/// Names the URLs of the repository being linted (a mirror may have several).
pub const REPO_URL_VAR: &str = "SHIPSHAPE_REPO_URL";

/// The URLs this repository is known by, normalised (see [`normalise`]); empty when unknown.
pub fn this_repository(root: &Path) -> Vec<String> {
    if let Some(urls) = std::env::var_os(REPO_URL_VAR) {
        return urls
            .to_string_lossy()
            .split(|c: char| c.is_whitespace() || c == ',')
            .filter(|u| !u.is_empty())
            .map(normalise)
            .collect();
    }
    git_config(root)
        .and_then(|p| std::fs::read_to_string(p).ok())
        .map(|text| remote_urls(&text).iter().map(|u| normalise(u)).collect())
        .unwrap_or_default()
}

/// Whether `repo_url` names another repository than the one known by `ours` (never, when
/// `ours` is unknown).
pub fn is_elsewhere(ours: &[String], repo_url: &str) -> bool {
    !ours.is_empty() && !ours.contains(&normalise(repo_url))
}

/// The git configuration of the repository at `root`: `.git/config`, or for a worktree or
/// submodule (a `.git` file naming the git directory) the configuration that directory shares.
fn git_config(root: &Path) -> Option<PathBuf> {
    let dot_git = root.join(".git");
    if dot_git.is_dir() {
        return Some(dot_git.join("config"));
    }
    let text = std::fs::read_to_string(&dot_git).ok()?;
    let gitdir = root.join(text.trim().strip_prefix("gitdir:")?.trim());
    let common = std::fs::read_to_string(gitdir.join("commondir"))
        .map(|c| gitdir.join(c.trim()))
        .unwrap_or(gitdir);
    Some(common.join("config"))
}

/// The `url` of every `[remote "…"]` section of a git configuration.
fn remote_urls(config: &str) -> Vec<String> {
    let mut in_remote = false;
    let mut urls = Vec::new();
    for line in config.lines().map(str::trim) {
        if line.starts_with('[') {
            in_remote = line.starts_with("[remote ");
            continue;
        }
        if !in_remote {
            continue;
        }
        if let Some((key, value)) = line.split_once('=') {
            if key.trim() == "url" {
                urls.push(value.trim().trim_matches('"').to_owned());
            }
        }
    }
    urls
}

/// A repository URL as a comparable `host/path`: without scheme, user, `.git` or trailing `/`,
/// the scp-like `git@host:owner/repo` as `host/owner/repo`, the host in lower case.
pub fn normalise(url: &str) -> String {
    let url = url.trim();
    let (rest, scp_like) = match url.split_once("://") {
        Some((_, rest)) => (rest, false),
        None => (url, true),
    };
    let rest = rest.split_once('@').map_or(rest, |(_, r)| r);
    let (host, path) = if scp_like {
        rest.split_once(':').unwrap_or((rest, ""))
    } else {
        rest.split_once('/').unwrap_or((rest, ""))
    };
    // A port belongs to how the host is reached, not to which repository it is.
    let host = host.split_once(':').map_or(host, |(h, _)| h);
    let path = path.trim_end_matches('/');
    let path = path.strip_suffix(".git").unwrap_or(path);
    format!(
        "{}/{}",
        host.to_ascii_lowercase(),
        path.trim_start_matches('/')
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_repository_under_its_many_spellings() {
        let want = "github.com/acme/gitops";
        for url in [
            "https://github.com/acme/gitops.git",
            "https://github.com/acme/gitops",
            "https://github.com/acme/gitops/",
            "http://user@GitHub.com/acme/gitops.git",
            "ssh://git@github.com:22/acme/gitops.git",
            "git@github.com:acme/gitops.git",
        ] {
            assert_eq!(normalise(url), want, "{url}");
        }
        assert_ne!(normalise("https://github.com/acme/other.git"), want);
    }

    #[test]
    fn remotes_come_from_the_git_configuration() {
        let config = "[core]\n\turl = not-a-remote\n[remote \"origin\"]\n\turl = git@github.com:acme/gitops.git\n\tfetch = +refs/heads/*:refs/remotes/origin/*\n[remote \"mirror\"]\n\turl = https://gitlab.com/acme/gitops\n[branch \"main\"]\n\tremote = origin\n";
        assert_eq!(
            remote_urls(config),
            vec![
                "git@github.com:acme/gitops.git",
                "https://gitlab.com/acme/gitops"
            ]
        );
    }

    #[test]
    fn unknown_means_here() {
        assert!(!is_elsewhere(&[], "https://github.com/acme/other.git"));
        let ours = vec![normalise("https://github.com/acme/gitops.git")];
        assert!(is_elsewhere(&ours, "https://github.com/acme/other.git"));
        assert!(!is_elsewhere(&ours, "git@github.com:acme/gitops.git"));
    }
}
