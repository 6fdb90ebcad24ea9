//! The pull-request plan (`shipshape diff --format markdown`): a summary first (objects added,
//! changed and removed per environment; sync waves moved; cumulative requests per phase against
//! capacity; calls the policies allow or stop allowing), then the line diffs, each change made
//! identically in several environments shown once, long diffs folded in `<details>`, and the
//! whole comment kept under a byte budget with a line saying what was left out.

use super::resources::{allowed_calls, requests_by_phase, wave_moves, Sides};
use crate::catalogue::quantity::{format_cpu, format_memory_human};
use crate::output::Drift;
use crate::plan::{EnvPlan, Usage};
use std::collections::BTreeMap;

/// A diff longer than this many lines is folded in `<details>`.
const OPEN_DIFF_LINES: usize = 20;
/// Most lines of one summary list (wave moves, calls); the rest is counted.
const LIST_LINES: usize = 25;
/// Room kept for the closing line that says what was left out.
const TRAILER_ROOM: usize = 400;

pub struct Input<'a> {
    pub drifts: &'a [Drift],
    /// The environments shown, in render order (those that render nothing and did not change
    /// are left out by the caller).
    pub environments: &'a [String],
    /// The rollout plan of each environment as the change makes it.
    pub plans: &'a [EnvPlan],
    pub max_bytes: usize,
}

pub fn render(input: &Input<'_>) -> String {
    let mut out = String::from("### shipshape: rendered changes\n\n");
    if input.drifts.is_empty() {
        out.push_str("No changes: the rendered tree matches the catalogue.\n");
        return out;
    }
    let sides: Vec<Sides<'_>> = input.drifts.iter().map(Sides::of).collect();
    out.push_str(&counts_table(&sides, input.environments));
    out.push_str(&line_changes(&sides));
    out.push_str(&waves(&sides));
    out.push_str(&requests(&sides, input.plans));
    out.push_str(&calls(&sides));
    let mut out = fit_summary(out, input.max_bytes);
    out.push_str("\n#### Line diffs\n\n");
    let namespaces: BTreeMap<&str, &str> = input
        .plans
        .iter()
        .map(|p| (p.name.as_str(), p.namespace.as_str()))
        .collect();
    let blocks = folded(&sides, &namespaces);
    let total = blocks.len();
    let mut left_out: Vec<&Block<'_>> = Vec::new();
    for block in &blocks {
        let text = block.render();
        if out.len() + text.len() + TRAILER_ROOM <= input.max_bytes {
            out.push_str(&text);
        } else {
            left_out.push(block);
        }
    }
    if !left_out.is_empty() {
        out.push_str(&left_out_line(&left_out, total, input.max_bytes, out.len()));
    }
    out
}

/// Objects added, changed and removed, and files touched, per environment.
fn counts_table(sides: &[Sides<'_>], environments: &[String]) -> String {
    let mut out = String::from(
        "| Environment | Added | Changed | Removed | Files |\n| --- | ---: | ---: | ---: | ---: |\n",
    );
    for env in environments {
        let mine: Vec<&Sides<'_>> = sides
            .iter()
            .filter(|s| &s.drift.environment == env)
            .collect();
        let mut counts = [0usize; 3];
        for s in &mine {
            for (_, c) in s.changes() {
                counts[c as usize] += 1;
            }
        }
        out.push_str(&format!(
            "| `{env}` | {} | {} | {} | {} |\n",
            counts[0],
            counts[1],
            counts[2],
            mine.len()
        ));
    }
    out
}

/// Lines that are the same in several environments, once, with the environments named.
fn fold_lines(lines: impl IntoIterator<Item = (String, String)>) -> Vec<String> {
    let mut by_line: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (env, line) in lines {
        let envs = by_line.entry(line).or_default();
        if !envs.contains(&env) {
            envs.push(env);
        }
    }
    by_line
        .into_iter()
        .map(|(line, envs)| format!("- {line} in {}\n", names(&envs)))
        .collect()
}

fn names(envs: &[String]) -> String {
    envs.iter()
        .map(|e| format!("`{e}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// At most [`LIST_LINES`] lines, then how many more there are.
fn capped(lines: Vec<String>) -> String {
    let more = lines.len().saturating_sub(LIST_LINES);
    let mut out: String = lines.into_iter().take(LIST_LINES).collect();
    if more > 0 {
        out.push_str(&format!("- … and {more} more\n"));
    }
    out
}

/// Most line replacements listed in the summary.
const COMMON_CHANGES: usize = 8;
/// Longest line quoted in the summary, in characters.
const QUOTED_LINE: usize = 100;

/// The line replacements made most often (an image tag bump is one line changed in hundreds of
/// places): each `old → new` pair with how many times and in how many files it was made. A
/// reviewer sees the whole change in one line even when the diffs do not fit.
fn line_changes(sides: &[Sides<'_>]) -> String {
    let mut pairs: BTreeMap<(String, String), (usize, usize, Vec<String>)> = BTreeMap::new();
    for s in sides {
        let d = s.drift;
        let diff = similar::TextDiff::from_lines(d.old.as_str(), d.new.as_str());
        let mut in_file: BTreeMap<(String, String), usize> = BTreeMap::new();
        for op in diff.ops() {
            if let similar::DiffOp::Replace {
                old_index,
                old_len,
                new_index,
                new_len,
            } = *op
            {
                if old_len != new_len {
                    continue;
                }
                for i in 0..old_len {
                    let (Some(old), Some(new)) =
                        (diff.old_slice(old_index + i), diff.new_slice(new_index + i))
                    else {
                        continue;
                    };
                    let key = (old.trim().to_owned(), new.trim().to_owned());
                    *in_file.entry(key).or_default() += 1;
                }
            }
        }
        for (key, n) in in_file {
            let e = pairs.entry(key).or_default();
            e.0 += n;
            e.1 += 1;
            if !e.2.contains(&d.environment) {
                e.2.push(d.environment.clone());
            }
        }
    }
    if pairs.is_empty() {
        return String::new();
    }
    let mut ranked: Vec<_> = pairs.into_iter().collect();
    // Most frequent first; ties in line order, so the list is stable.
    ranked.sort_by(|a, b| b.1 .0.cmp(&a.1 .0).then_with(|| a.0.cmp(&b.0)));
    let more = ranked.len().saturating_sub(COMMON_CHANGES);
    let mut out = String::from("\n**Lines replaced**\n\n");
    for ((old, new), (times, files, envs)) in ranked.into_iter().take(COMMON_CHANGES) {
        out.push_str(&format!(
            "- {} → {}: {times} time{} in {files} file{} ({})\n",
            inline(&old),
            inline(&new),
            if times == 1 { "" } else { "s" },
            if files == 1 { "" } else { "s" },
            names(&envs),
        ));
    }
    if more > 0 {
        out.push_str(&format!("- … and {more} other replacements\n"));
    }
    out
}

/// `text` as inline Markdown code, cut to [`QUOTED_LINE`] characters, with a delimiter no
/// backtick run inside it can close.
fn inline(text: &str) -> String {
    let mut shown: String = text.chars().take(QUOTED_LINE).collect();
    if shown.len() < text.len() {
        shown.push('…');
    }
    if shown.is_empty() {
        return "(empty line)".to_owned();
    }
    let ticks = "`".repeat(longest_backtick_run(&shown) + 1);
    let pad = if shown.starts_with('`') || shown.ends_with('`') {
        " "
    } else {
        ""
    };
    format!("{ticks}{pad}{shown}{pad}{ticks}")
}

fn waves(sides: &[Sides<'_>]) -> String {
    let lines = fold_lines(sides.iter().flat_map(|s| {
        wave_moves(s).into_iter().map(move |(id, before, after)| {
            let line = match (before, after) {
                (Some(b), Some(a)) => format!("`{id}` moves from wave {b} to wave {a}"),
                (None, Some(a)) => format!("`{id}` joins wave {a}"),
                (Some(b), None) => format!("`{id}` leaves wave {b}"),
                (None, None) => format!("`{id}` changes wave"),
            };
            (s.drift.environment.clone(), line)
        })
    }));
    if lines.is_empty() {
        return "\n**Sync waves**: no workload changes wave.\n".to_owned();
    }
    format!("\n**Sync waves**\n\n{}", capped(lines))
}

fn requests(sides: &[Sides<'_>], plans: &[EnvPlan]) -> String {
    let mut rows = String::new();
    for plan in plans {
        // What the change adds to each phase's own requests: the new side minus the old one,
        // over the files that changed (the others are the same on both sides).
        let mut added: BTreeMap<String, (Usage, Usage)> = BTreeMap::new();
        for s in sides.iter().filter(|s| s.drift.environment == plan.name) {
            for (phase, u) in requests_by_phase(&s.old) {
                let e = added.entry(phase).or_default();
                e.0 = e.0.plus(u);
            }
            for (phase, u) in requests_by_phase(&s.new) {
                let e = added.entry(phase).or_default();
                e.1 = e.1.plus(u);
            }
        }
        let mut before_offset = (0i128, 0i128);
        for phase in &plan.phases {
            if let Some((old, new)) = added.get(&phase.name) {
                before_offset.0 += i128::from(new.cpu) - i128::from(old.cpu);
                before_offset.1 += i128::from(new.memory) - i128::from(old.memory);
            }
            if before_offset == (0, 0) {
                continue;
            }
            let after = phase.cumulative;
            let before = Usage {
                cpu: (i128::from(after.cpu) - before_offset.0).max(0) as u64,
                memory: (i128::from(after.memory) - before_offset.1).max(0) as u64,
            };
            let capacity = plan.policy.capacity;
            rows.push_str(&format!(
                "| `{}` | {} | {} | {} | {} |\n",
                plan.name,
                phase.name,
                moved(
                    format_cpu(before.cpu),
                    format_cpu(after.cpu),
                    capacity.cpu.map(format_cpu)
                ),
                moved(
                    format_memory_human(before.memory),
                    format_memory_human(after.memory),
                    capacity.memory.map(format_memory_human)
                ),
                if phase.budget.ok() {
                    "within budget"
                } else {
                    "**over budget**"
                },
            ));
        }
    }
    if rows.is_empty() {
        return "\n**Requests per phase**: unchanged.\n".to_owned();
    }
    format!(
        "\n**Requests per phase** (cumulative, at minimum replicas, against capacity)\n\n\
         | Environment | Phase | CPU | Memory | Phase budget |\n| --- | --- | --- | --- | --- |\n{rows}"
    )
}

fn moved(before: String, after: String, capacity: Option<String>) -> String {
    let of = capacity.map_or(String::new(), |c| format!(" of {c}"));
    if before == after {
        format!("{after}{of}")
    } else {
        format!("{before} → {after}{of}")
    }
}

fn calls(sides: &[Sides<'_>]) -> String {
    let lines = fold_lines(sides.iter().flat_map(|s| {
        let before = allowed_calls(&s.old);
        let after = allowed_calls(&s.new);
        let added: Vec<(String, String)> = after
            .difference(&before)
            .map(|c| (s.drift.environment.clone(), format!("allowed: {c}")))
            .collect();
        let removed: Vec<(String, String)> = before
            .difference(&after)
            .map(|c| {
                (
                    s.drift.environment.clone(),
                    format!("no longer allowed: {c}"),
                )
            })
            .collect();
        added.into_iter().chain(removed)
    }));
    if lines.is_empty() {
        return "\n**Who may call whom** (NetworkPolicy, Istio): unchanged.\n".to_owned();
    }
    format!(
        "\n**Who may call whom** (NetworkPolicy, Istio)\n\n{}",
        capped(lines)
    )
}

/// The summary, cut at a line when it alone would not leave room for the closing line.
fn fit_summary(summary: String, max_bytes: usize) -> String {
    let room = max_bytes.saturating_sub(TRAILER_ROOM);
    if summary.len() <= room {
        return summary;
    }
    let mut out = String::new();
    for line in summary.split_inclusive('\n') {
        if out.len() + line.len() > room {
            break;
        }
        out.push_str(line);
    }
    out.push_str(
        "\n_The summary was cut to fit the comment; run `shipshape diff` for all of it._\n",
    );
    out
}

/// One file's change as shown: made identically in `environments`.
struct Block<'a> {
    sides: &'a Sides<'a>,
    /// Path inside the environment's directory.
    path: &'a str,
    environments: Vec<&'a str>,
    diff: String,
    /// Whether the environments' diffs differ in their namespaces (shown: the first one's).
    namespaced: bool,
}

impl Block<'_> {
    fn render(&self) -> String {
        let changes = self
            .sides
            .changes()
            .into_iter()
            .map(|(id, c)| format!("{} {}", c.as_str(), code(&id)))
            .collect::<Vec<_>>()
            .join(", ");
        let (added, removed) = self.sides.drift.stats();
        let envs = self
            .environments
            .iter()
            .map(|e| code(e))
            .collect::<Vec<_>>()
            .join(", ");
        // HTML, not Markdown, inside the line: GitHub shows a `<summary>` without Markdown.
        let head = format!(
            "{} in {envs}{}: {} (+{added} −{removed} lines)",
            code(self.path),
            if self.namespaced && self.environments.len() > 1 {
                format!(
                    " (each in its namespace; shown: {})",
                    code(self.environments[0])
                )
            } else {
                String::new()
            },
            if changes.is_empty() {
                "text only".to_owned()
            } else {
                changes
            },
        );
        // A fence longer than any backtick run in the diff keeps the block intact.
        let fence = "`".repeat(longest_backtick_run(&self.diff).max(2) + 1);
        let body = format!("{fence}diff\n{}{fence}\n", self.diff);
        if self.diff.lines().count() > OPEN_DIFF_LINES {
            format!("<details><summary>{head}</summary>\n\n{body}\n</details>\n\n")
        } else {
            format!("{head}\n\n{body}\n")
        }
    }
}

/// The diffs, one block per change: files whose diff is the same in several environments
/// (same path inside the environment's directory, same lines changed and around, up to the
/// environment's own namespace) are one block. Ordered by path, then by the first environment.
fn folded<'a>(sides: &'a [Sides<'a>], namespaces: &BTreeMap<&str, &str>) -> Vec<Block<'a>> {
    let mut blocks: Vec<Block<'a>> = Vec::new();
    let mut by_key: BTreeMap<(String, String), usize> = BTreeMap::new();
    for s in sides {
        let d = s.drift;
        let path = d.path_in_environment();
        let diff = d.unified();
        let namespace = namespaces.get(d.environment.as_str()).copied();
        let key = d.change_key(&diff, namespace);
        match by_key.get(&key) {
            Some(&i) => blocks[i].environments.push(&d.environment),
            None => {
                by_key.insert(key, blocks.len());
                blocks.push(Block {
                    sides: s,
                    path,
                    environments: vec![&d.environment],
                    namespaced: namespace.is_some_and(|ns| !ns.is_empty() && diff.contains(ns)),
                    diff,
                });
            }
        }
    }
    blocks.sort_by(|a, b| (a.path, &a.environments).cmp(&(b.path, &b.environments)));
    blocks
}

fn left_out_line(left_out: &[&Block<'_>], total: usize, max_bytes: usize, used: usize) -> String {
    let mut line = format!(
        "\n_{} of {total} diffs left out to keep this comment under {max_bytes} bytes; \
         `shipshape diff` shows them all._",
        left_out.len()
    );
    // Name them while the names fit.
    let mut names = String::new();
    for (i, b) in left_out.iter().enumerate() {
        let name = format!("{}`{}`", if i == 0 { " Left out: " } else { ", " }, b.path);
        if used + line.len() + names.len() + name.len() + 20 > max_bytes {
            names.push_str(&format!(", … {} more", left_out.len() - i));
            break;
        }
        names.push_str(&name);
    }
    line.push_str(&names);
    line.push('\n');
    line
}

/// `text` as inline code in HTML.
fn code(text: &str) -> String {
    let escaped = text
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;");
    format!("<code>{escaped}</code>")
}

fn longest_backtick_run(s: &str) -> usize {
    let mut best = 0;
    let mut cur = 0;
    for c in s.chars() {
        if c == '`' {
            cur += 1;
            best = best.max(cur);
        } else {
            cur = 0;
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::DriftKind;

    fn deployment(env: &str, name: &str, image: &str, padding: usize) -> String {
        let mut text = format!(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {name}\n  namespace: ns-{env}\n\
             spec:\n  replicas: 1\n  template:\n    spec:\n      containers:\n      - name: app\n        image: {image}\n"
        );
        for i in 0..padding {
            text.push_str(&format!("# line {i} of {name}\n"));
        }
        text
    }

    fn bump(env: &str, name: &str, padding: usize) -> Drift {
        Drift {
            environment: env.to_owned(),
            path: format!("{env}/{name}.yaml"),
            kind: DriftKind::Changed,
            old: deployment(env, name, "app:1.0", padding),
            new: deployment(env, name, "app:1.1", padding),
        }
    }

    fn render_with(drifts: &[Drift], max_bytes: usize) -> String {
        let envs: Vec<String> = ["dev", "prod"].map(String::from).to_vec();
        render(&Input {
            drifts,
            environments: &envs,
            plans: &[],
            max_bytes,
        })
    }

    #[test]
    fn the_whole_comment_stays_within_any_budget() {
        let drifts: Vec<Drift> = (0..200)
            .map(|i| bump("prod", &format!("svc-{i:03}"), i % 40))
            .collect();
        for max in [2_000, 3_333, 10_000, 60_000] {
            let md = render_with(&drifts, max);
            assert!(md.len() <= max, "{} bytes for a budget of {max}", md.len());
            assert!(md.contains("diffs left out"), "{max}: {md}");
            assert!(md.starts_with("### shipshape: rendered changes\n\n| Environment |"));
        }
    }

    #[test]
    fn the_same_change_in_two_environments_is_one_block() {
        let drifts = vec![bump("dev", "api", 0), bump("prod", "api", 0)];
        let md = render_with(&drifts, 60_000);
        assert_eq!(md.matches("```diff").count(), 1, "{md}");
        assert!(
            md.contains("<code>api.yaml</code> in <code>dev</code>, <code>prod</code>:"),
            "{md}"
        );
        assert!(
            md.contains(
                "- `image: app:1.0` → `image: app:1.1`: 2 times in 2 files (`dev`, `prod`)"
            ),
            "{md}"
        );
    }

    #[test]
    fn inline_code_survives_backticks() {
        assert_eq!(inline("a`b"), "``a`b``");
        assert_eq!(inline("`x"), "`` `x ``");
        assert_eq!(inline(""), "(empty line)");
    }
}
