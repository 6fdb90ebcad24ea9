//! Reading the catalogue (one file or a directory of files) and the environment files.

use crate::catalogue::model::{LintSpec, PhaseSpec};
use crate::catalogue::origin::{Origin, SourceDoc};
use crate::catalogue::schema::{InputSchema, CATALOGUE_SCHEMA, ENVIRONMENT_SCHEMA};
use crate::diagnostic::{Diagnostic, Failure, Location};
use crate::yaml::{input, parse_documents, Limits, SourceFile};
use indexmap::IndexMap;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Where a project's inputs live.
#[derive(Debug, Clone)]
pub struct ProjectPaths {
    /// `catalogue.yaml`, or a `catalogue/` directory of files.
    pub catalogue: PathBuf,
    /// Directory of `<env>.yaml` files.
    pub environments: PathBuf,
}

impl ProjectPaths {
    /// The conventional layout under `root`: `catalogue.yaml` (or `catalogue/`) and `environments/`.
    pub fn in_root(root: &Path) -> ProjectPaths {
        let file = root.join("catalogue.yaml");
        let dir = root.join("catalogue");
        let catalogue = if !file.exists() && dir.is_dir() {
            dir
        } else {
            file
        };
        ProjectPaths {
            catalogue,
            environments: root.join("environments"),
        }
    }
}

/// A service as the catalogue declares it, before any merging.
#[derive(Debug, Clone)]
pub struct DeclaredService {
    pub value: Value,
    pub origin: Origin,
    /// Its `patches`, read once for every environment.
    pub patches: Vec<std::sync::Arc<crate::patch::Patch>>,
}

#[derive(Debug, Clone)]
pub struct LoadedCatalogue {
    pub platform: String,
    pub namespace: String,
    pub defaults: Value,
    pub defaults_origin: Origin,
    pub phases: Vec<(PhaseSpec, Origin)>,
    pub lint: LintSpec,
    pub lint_origin: Origin,
    pub services: IndexMap<String, DeclaredService>,
    /// The file with the platform-level keys; whole-catalogue findings point here.
    pub main: SourceDoc,
    /// The project root: files the catalogue names (`configFiles`) are read from under it.
    pub root: PathBuf,
    pub limits: Limits,
}

#[derive(Debug, Clone)]
pub struct LoadedEnvironment {
    pub name: String,
    pub doc: SourceDoc,
}

impl LoadedEnvironment {
    pub fn origin(&self) -> Origin {
        self.doc.root()
    }
}

/// Reads one YAML file that must hold exactly one mapping, from inside the directory it sits in
/// (a link that leaves it is refused).
pub fn read_yaml_file(path: &Path, limits: &Limits) -> Result<SourceDoc, Diagnostic> {
    read_yaml_file_within(path, &input::boundary_around(path), limits)
}

/// Reads one YAML file that must hold exactly one mapping and resolve to a regular file inside
/// `boundary`.
pub fn read_yaml_file_within(
    path: &Path,
    boundary: &Path,
    limits: &Limits,
) -> Result<SourceDoc, Diagnostic> {
    let name = display_path(path);
    let bytes = input::read_input(path, &name, boundary, limits).map_err(Diagnostic::from_input)?;
    let text = String::from_utf8(bytes).map_err(|e| {
        let file = SourceFile::new(
            name.clone(),
            String::from_utf8_lossy(e.as_bytes()).into_owned(),
        );
        let at = e.utf8_error().valid_up_to();
        Diagnostic::error("input/encoding", format!("{name} is not UTF-8 text"))
            .at(
                Some(Location::new(&file, file.span_of(at, 1))),
                "first byte that is not UTF-8",
            )
            .with_help("save the file as UTF-8")
    })?;
    parse_single(SourceFile::new(name, text), limits)
}

/// Parses text that must hold exactly one YAML mapping.
pub fn parse_single(file: Arc<SourceFile>, limits: &Limits) -> Result<SourceDoc, Diagnostic> {
    let docs = parse_documents(&file, limits).map_err(|e| Diagnostic::from_yaml(&file, e))?;
    let mut docs = docs.into_iter().filter(|d| !d.value.is_null());
    let Some(first) = docs.next() else {
        return Err(
            Diagnostic::error("input/empty", format!("{} is empty", file.name))
                .at(
                    Some(Location::new(&file, file.span_of(0, 0))),
                    "nothing here",
                )
                .with_help("write the definition as a YAML mapping; see docs/catalogue-format.md"),
        );
    };
    if let Some(second) = docs.next() {
        return Err(Diagnostic::error(
            "input/multiple-documents",
            format!("{} holds more than one YAML document", file.name),
        )
        .at(
            Some(Location::new(&file, second.start)),
            "a second document starts here",
        )
        .with_help("remove the `---` separator; one file holds one definition"));
    }
    if !first.value.is_object() {
        return Err(Diagnostic::error(
            "input/not-a-mapping",
            format!("{} must hold a YAML mapping (key: value pairs)", file.name),
        )
        .at(
            Some(Location::new(&file, first.start)),
            "this is not a mapping",
        )
        .with_help("see docs/catalogue-format.md for the expected shape"));
    }
    Ok(SourceDoc {
        file,
        value: first.value,
        spans: first.spans,
    })
}

/// Shows paths relative to the working directory, the way the user typed them, with `/`.
pub fn display_path(path: &Path) -> String {
    crate::paths::shown(path)
}

pub struct Loader {
    pub limits: Limits,
    catalogue_schema: LazySchema,
    partial_catalogue_schema: LazySchema,
    environment_schema: LazySchema,
}

/// An embedded input schema, compiled the first time a file is checked against it: the partial
/// catalogue schema serves split catalogues only, and a single-file catalogue no longer pays for
/// it (5 million instructions, 2 % of a `check` at N = 100, on the critical path).
struct LazySchema {
    text: &'static str,
    what: &'static str,
    partial: bool,
    compiled: std::sync::OnceLock<Result<InputSchema, Diagnostic>>,
}

impl LazySchema {
    fn new(text: &'static str, what: &'static str, partial: bool) -> LazySchema {
        LazySchema {
            text,
            what,
            partial,
            compiled: std::sync::OnceLock::new(),
        }
    }

    /// The problems of `doc`; a schema that does not compile (a bug in shipshape) is one.
    fn validate(&self, doc: &SourceDoc) -> Vec<Diagnostic> {
        let compiled = self
            .compiled
            .get_or_init(|| InputSchema::compile(self.text, self.what, self.partial));
        match compiled {
            Ok(schema) => schema.validate(doc),
            Err(bug) => vec![bug.clone()],
        }
    }
}

impl Loader {
    pub fn new(limits: Limits) -> Result<Loader, Failure> {
        Ok(Loader {
            limits,
            catalogue_schema: LazySchema::new(CATALOGUE_SCHEMA, "catalogue", false),
            partial_catalogue_schema: LazySchema::new(CATALOGUE_SCHEMA, "catalogue", true),
            environment_schema: LazySchema::new(ENVIRONMENT_SCHEMA, "environment", false),
        })
    }

    /// Reads and schema-checks the catalogue; every file's problems are reported, not just the first.
    pub fn load_catalogue(&self, path: &Path) -> Result<LoadedCatalogue, Failure> {
        let mut problems = Vec::new();
        // Links inside the project are followed; one that leaves it is refused, so a cloned
        // repository cannot make shipshape print a file of the machine it runs on.
        let root = input::boundary_around(path);
        let boundary = root.clone();
        let (main, service_docs) = if path.is_dir() {
            self.read_split_catalogue(path, &root, &mut problems)?
        } else {
            let t = std::time::Instant::now();
            let doc = read_yaml_file_within(path, &root, &self.limits)?;
            crate::profile::mark("  read catalogue", t);
            let t = std::time::Instant::now();
            problems.extend(self.catalogue_schema.validate(&doc));
            crate::profile::mark("  validate catalogue", t);
            (doc, Vec::new())
        };
        let mut services: IndexMap<String, DeclaredService> = IndexMap::new();
        let mut first_seen: IndexMap<String, Location> = IndexMap::new();
        for doc in std::iter::once(&main).chain(service_docs.iter()) {
            let Some(map) = doc.value.get("services").and_then(Value::as_object) else {
                continue;
            };
            let base = doc.root().child("services");
            for (name, value) in map {
                let origin = base.child(name);
                if let Some(first) = first_seen.get(name) {
                    problems.push(
                        Diagnostic::error(
                            "input/duplicate-service",
                            format!("service `{name}` is defined twice"),
                        )
                        .at(Some(origin.location()), "defined again here")
                        .with_related(Some(first.clone()), "first defined here")
                        .with_help("each service is defined in exactly one place"),
                    );
                    continue;
                }
                first_seen.insert(name.clone(), origin.location());
                let patches = crate::patch::read_patches(name, value, &origin, &mut problems);
                services.insert(
                    name.clone(),
                    DeclaredService {
                        value: value.clone(),
                        origin,
                        patches,
                    },
                );
            }
        }
        if !problems.is_empty() {
            return Err(problems.into());
        }
        let root = main.root();
        let text = |key: &str| {
            main.value
                .get(key)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned()
        };
        let phases = match main.value.get("phases").and_then(Value::as_array) {
            Some(list) => list
                .iter()
                .enumerate()
                .map(|(i, v)| {
                    let origin = root.child("phases").child(&i.to_string());
                    serde_json::from_value::<PhaseSpec>(v.clone())
                        .map(|p| (p, origin.clone()))
                        .map_err(|e| typed_error(&origin, &e))
                })
                .collect::<Result<Vec<_>, _>>()?,
            None => Vec::new(),
        };
        let lint = match main.value.get("lint") {
            Some(v) => serde_json::from_value::<LintSpec>(v.clone())
                .map_err(|e| typed_error(&root.child("lint"), &e))?,
            None => LintSpec::default(),
        };
        Ok(LoadedCatalogue {
            platform: text("platform"),
            namespace: text("namespace"),
            defaults: main.value.get("defaults").cloned().unwrap_or(Value::Null),
            defaults_origin: root.child("defaults"),
            phases,
            lint,
            lint_origin: root.child("lint"),
            services,
            main,
            root: boundary,
            limits: self.limits.clone(),
        })
    }

    fn read_split_catalogue(
        &self,
        dir: &Path,
        root: &Path,
        problems: &mut Vec<Diagnostic>,
    ) -> Result<(SourceDoc, Vec<SourceDoc>), Failure> {
        let platform_path = dir.join("_platform.yaml");
        let main = read_yaml_file_within(&platform_path, root, &self.limits)?;
        problems.extend(self.catalogue_schema_for_platform(&main));
        let mut files: Vec<PathBuf> = walkdir::WalkDir::new(dir)
            .follow_links(false)
            .into_iter()
            .filter_map(Result::ok)
            // Links and special files are kept, to be read or refused with a reason rather than
            // skipped without a word.
            .filter(|e| !e.file_type().is_dir())
            .map(walkdir::DirEntry::into_path)
            .filter(|p| {
                matches!(p.extension().and_then(|e| e.to_str()), Some("yaml" | "yml"))
                    && p.file_name().and_then(|n| n.to_str()) != Some("_platform.yaml")
                    && !p.is_dir()
            })
            .collect();
        files.sort();
        let mut docs = Vec::new();
        for path in files {
            match read_yaml_file_within(&path, root, &self.limits) {
                Ok(doc) => {
                    problems.extend(self.partial_catalogue_schema.validate(&doc));
                    if let Some(obj) = doc.value.as_object() {
                        for key in obj.keys().filter(|k| *k != "services") {
                            problems.push(
                                Diagnostic::error(
                                    "input/unknown-field",
                                    format!(
                                        "a service file may only hold `services`, found `{key}`"
                                    ),
                                )
                                .at(
                                    doc.root().child(key).key_at(""),
                                    "move this to _platform.yaml",
                                )
                                .with_help(
                                    "platform-wide settings live in catalogue/_platform.yaml",
                                ),
                            );
                        }
                    }
                    docs.push(doc);
                }
                Err(d) => problems.push(d),
            }
        }
        Ok((main, docs))
    }

    fn catalogue_schema_for_platform(&self, doc: &SourceDoc) -> Vec<Diagnostic> {
        // The platform file lacks `services` by design; validate it as if it had an empty map.
        let mut value = doc.value.clone();
        if let Some(obj) = value.as_object_mut() {
            obj.entry("services")
                .or_insert_with(|| Value::Object(Default::default()));
        }
        let probe = SourceDoc {
            value,
            ..doc.clone()
        };
        self.catalogue_schema.validate(&probe)
    }

    /// Reads every `<env>.yaml` in `dir`, sorted by name.
    pub fn load_environments(&self, dir: &Path) -> Result<Vec<LoadedEnvironment>, Failure> {
        let entries = std::fs::read_dir(dir).map_err(|e| {
            Diagnostic::error(
                "input/io",
                format!(
                    "cannot read environments directory {}: {e}",
                    display_path(dir)
                ),
            )
            .with_help(
                "create environments/<name>.yaml for each environment, or pass --environments DIR",
            )
        })?;
        let root = input::boundary_around(dir);
        let mut paths: Vec<PathBuf> = entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| {
                // Not `is_file`: a FIFO or a link to a device named `<env>.yaml` is refused with
                // a reason, not skipped without a word.
                !p.is_dir()
                    && matches!(p.extension().and_then(|e| e.to_str()), Some("yaml" | "yml"))
            })
            .collect();
        paths.sort();
        let mut problems = Vec::new();
        let mut envs = Vec::new();
        for path in paths {
            let stem = path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            let doc = match read_yaml_file_within(&path, &root, &self.limits) {
                Ok(doc) => doc,
                Err(d) => {
                    problems.push(d);
                    continue;
                }
            };
            if !crate::catalogue::names::is_dns_label(&stem) {
                problems.push(
                    Diagnostic::error(
                        "input/bad-name",
                        format!("environment name `{stem}` (from the file name) is not a DNS-1123 label"),
                    )
                    .at(Some(Location::new(&doc.file, doc.file.span_of(0, 0))), "this file")
                    .with_help(format!(
                        "rename the file to {}.yaml",
                        crate::catalogue::names::suggest_dns_label(&stem)
                    )),
                );
            }
            problems.extend(self.environment_schema.validate(&doc));
            envs.push(LoadedEnvironment { name: stem, doc });
        }
        if !problems.is_empty() {
            return Err(problems.into());
        }
        if envs.is_empty() {
            return Err(Diagnostic::error(
                "input/no-environments",
                format!("no environment files in {}", display_path(dir)),
            )
            .with_help("add environments/<name>.yaml, e.g. environments/dev.yaml")
            .into());
        }
        Ok(envs)
    }
}

impl Loader {
    /// Schema-checks one environment file read on its own (as `lint --environment-file` does).
    pub fn environment_from_doc(&self, doc: SourceDoc) -> Result<LoadedEnvironment, Failure> {
        let problems = self.environment_schema.validate(&doc);
        if !problems.is_empty() {
            return Err(problems.into());
        }
        let name = doc
            .file
            .name
            .rsplit('/')
            .next()
            .and_then(|n| n.split('.').next())
            .unwrap_or("environment")
            .to_owned();
        Ok(LoadedEnvironment { name, doc })
    }
}

/// A value the schema accepted but the typed model could not read.
pub fn typed_error(origin: &Origin, e: &serde_json::Error) -> Diagnostic {
    Diagnostic::error("input/schema", format!("cannot read this value: {e}"))
        .at(Some(origin.location()), "here")
        .with_help("see docs/catalogue-format.md for the expected shape")
}
