//! One finding, printed once: the same diagnostic made in several environments (one catalogue
//! mistake renders into every environment) becomes one entry with the list of environments.
//! Grouping happens here, when a report is printed, so the pipeline and the lint rules keep
//! one diagnostic per environment and every format groups the same way.

use crate::diagnostic::{Diagnostic, Location, Severity};
use std::collections::HashMap;

/// A diagnostic as printed: the first of the identical ones, and every environment they came
/// from, by name (empty when the finding belongs to no environment).
#[derive(Debug)]
pub struct Finding<'a> {
    pub diagnostic: &'a Diagnostic,
    pub environments: Vec<&'a str>,
}

impl Finding<'_> {
    /// `dev, prod, staging`, or `None` when the finding belongs to no environment.
    pub fn environment_list(&self) -> Option<String> {
        (!self.environments.is_empty()).then(|| self.environments.join(", "))
    }
}

/// Everything that must be equal for two diagnostics to be one finding: all but the environment.
#[derive(PartialEq, Eq, Hash)]
struct Identity<'a> {
    code: &'a str,
    severity: Severity,
    message: &'a str,
    location: Option<Place<'a>>,
    label: Option<&'a str>,
    related: Vec<(Place<'a>, &'a str)>,
    help: Option<&'a str>,
    resource: Option<&'a str>,
    redacts_source: bool,
    /// Findings of no environment never merge with those of one.
    has_environment: bool,
}

#[derive(PartialEq, Eq, Hash)]
struct Place<'a> {
    file: &'a str,
    start: usize,
    end: usize,
}

fn place(l: &Location) -> Place<'_> {
    Place {
        file: &l.file.name,
        start: l.span.start,
        end: l.span.end,
    }
}

fn identity(d: &Diagnostic) -> Identity<'_> {
    Identity {
        code: &d.code,
        severity: d.severity,
        message: &d.message,
        location: d.location.as_ref().map(place),
        label: d.label.as_deref(),
        related: d
            .related
            .iter()
            .map(|(l, t)| (place(l), t.as_str()))
            .collect(),
        help: d.help.as_deref(),
        resource: d.resource.as_deref(),
        redacts_source: d.redacts_source,
        has_environment: d.environment.is_some(),
    }
}

/// The findings of `diagnostics`, each at the place of its first occurrence, with its
/// environments sorted by name (the order environments are rendered in) and without repeats.
pub fn group(diagnostics: &[Diagnostic]) -> Vec<Finding<'_>> {
    let mut out: Vec<Finding<'_>> = Vec::new();
    let mut seen: HashMap<Identity<'_>, usize> = HashMap::new();
    for d in diagnostics {
        let env = d.environment.as_deref();
        match seen.get(&identity(d)) {
            Some(&i) => out[i].environments.extend(env),
            None => {
                seen.insert(identity(d), out.len());
                out.push(Finding {
                    diagnostic: d,
                    environments: env.into_iter().collect(),
                });
            }
        }
    }
    for f in &mut out {
        f.environments.sort_unstable();
        f.environments.dedup();
    }
    out
}

/// How many findings of each severity a report prints: `(errors, warnings, infos)`.
pub fn counts(diagnostics: &[Diagnostic]) -> (usize, usize, usize) {
    let findings = group(diagnostics);
    let count = |s: Severity| {
        findings
            .iter()
            .filter(|f| f.diagnostic.severity == s)
            .count()
    };
    (
        count(Severity::Error),
        count(Severity::Warning),
        count(Severity::Info),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::yaml::SourceFile;

    fn finding(env: Option<&str>, message: &str) -> Diagnostic {
        let file = SourceFile::new("catalogue.yaml", "a: 1\nb: 2\n");
        let mut d = Diagnostic::error("port-conflict", message)
            .at(Some(Location::new(&file, file.span_of(5, 4))), "here");
        d.environment = env.map(str::to_owned);
        d
    }

    #[test]
    fn the_same_finding_in_several_environments_is_one() {
        let diags = vec![
            finding(Some("staging"), "clash"),
            finding(Some("dev"), "clash"),
            finding(Some("dev"), "other"),
            finding(Some("prod"), "clash"),
            finding(None, "clash"),
        ];
        let found: Vec<(String, Vec<&str>)> = group(&diags)
            .into_iter()
            .map(|f| (f.diagnostic.message.clone(), f.environments))
            .collect();
        assert_eq!(
            found,
            [
                ("clash".to_owned(), vec!["dev", "prod", "staging"]),
                ("other".to_owned(), vec!["dev"]),
                ("clash".to_owned(), vec![]),
            ]
        );
        assert_eq!(counts(&diags), (3, 0, 0));
    }
}
