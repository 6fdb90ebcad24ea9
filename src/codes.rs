//! Every code shipshape reports that is not a lint condition: bad input (`input/*`), command-line
//! misuse (`usage/*`), the output directory (`output/*`), schema validation, drift. One registry,
//! so `shipshape explain` answers for every code a report can show; a test keeps it complete
//! against the codes the source writes.
//!
//! Lint codes live with their rules (`crate::lint::rules`), each with examples.

/// A code outside the lint rules: always an error unless it says otherwise.
#[derive(Debug)]
pub struct OtherCode {
    pub id: &'static str,
    /// What is wrong, in one line.
    pub summary: &'static str,
    /// How to put it right.
    pub fix: &'static str,
    /// Whether the code is information rather than a failure (`schema/not-validated`).
    pub informational: bool,
}

const fn code(id: &'static str, summary: &'static str, fix: &'static str) -> OtherCode {
    OtherCode {
        id,
        summary,
        fix,
        informational: false,
    }
}

const fn note(id: &'static str, summary: &'static str, fix: &'static str) -> OtherCode {
    OtherCode {
        id,
        summary,
        fix,
        informational: true,
    }
}

pub static CODES: &[OtherCode] = &[
    // Reading files.
    code("input/yaml", "A file is not valid YAML (or uses a YAML feature shipshape refuses, such as a tag or a duplicate key)", "fix the syntax at the line and column shown; quote values that YAML would read as something else"),
    code("input/encoding", "A file is not UTF-8", "save the file as UTF-8"),
    code("input/empty", "A catalogue or environment file holds no document", "write the document, or remove the file"),
    code("input/multiple-documents", "A catalogue or environment file holds more than one YAML document", "keep one document per file: split the catalogue with `include`, one file per environment"),
    code("input/not-a-mapping", "A catalogue or environment document is not a mapping", "start the file with its keys (`services:`, `cluster:`)"),
    code("input/not-a-file", "A path that must be a regular file is a directory, device or other special file", "point at a regular file"),
    code("input/outside-root", "A file the catalogue reads (directly or through a symbolic link) lies outside the project root", "keep every input inside the project directory; copy the file in instead of linking to it"),
    code("input/limit", "A file exceeds an input budget (size, nodes, depth, scalar length)", "split the file, or raise the limit with the environment variable the message names (README, \"Input limits\")"),
    code("input/io", "A file could not be read", "check that it exists and is readable"),
    code("input/no-environments", "The project has no environment files", "add environments/<name>.yaml, e.g. environments/dev.yaml"),
    // Shape of the catalogue and environments.
    code("input/schema", "A value has the wrong type or shape for its field", "see docs/catalogue-format.md for the field's shape"),
    code("input/unknown-field", "A key that the catalogue or environment format does not have (often a typo)", "use the suggested field, or remove the key"),
    code("input/missing-field", "A required field is missing", "add the field the message names"),
    code("input/bad-name", "A name that Kubernetes would refuse (service, phase, environment, volume, key)", "use lower-case letters, digits and `-`, starting with a letter, at most 63 characters"),
    code("input/bad-quantity", "A CPU or memory amount or a percentage that is not a quantity", "write CPU like `500m` or `2`, memory like `256Mi` or `8Gi`, percentages like `80%`"),
    code("input/bad-severity", "A lint level that is not error, warning, info or off", "use one of: error, warning, info, off"),
    code("input/unknown-rule", "A lint level names a rule or code that does not exist", "`shipshape rules` lists every rule and code"),
    code("input/duplicate-service", "Two services of the catalogue have the same name", "rename one of them"),
    code("input/duplicate-phase", "Two phases have the same name", "rename or merge them"),
    code("input/unknown-phase", "A service names a phase the catalogue does not declare", "declare the phase under `phases`, or fix the name"),
    code("input/unknown-batch", "A service names a batch its phase does not have", "use one of the phase's batches"),
    code("input/missing-batch", "A service of a phase with batches names no batch", "give the service `batch: N`"),
    code("input/batches-in-sequential-phase", "A service names a batch in a phase that has none", "remove `batch`, or give the phase batches"),
    code("input/unknown-dependency", "`dependsOn` names a service the catalogue does not declare", "fix the name, or declare the service"),
    code("input/self-dependency", "A service depends on itself", "remove the entry"),
    code("input/unknown-callee", "`calls` names a service the catalogue does not declare", "fix the name, or declare the service"),
    code("input/self-call", "A service lists itself in `calls`", "remove the entry: a service may always reach itself"),
    code("input/unknown-service", "An environment overrides a service the catalogue does not declare", "fix the name, or remove the override"),
    code("input/replicas", "Replicas out of order (min above max), or an autoscaled range (`max` set) starting at 0, which an HPA cannot have", "make `replicas.min` at least 1 and at most `replicas.max`"),
    code("input/image-tag", "A service's image has no tag and the environment sets no `imageTag`", "tag the image, or set `imageTag` in the environment"),
    code("input/canary-weights", "A service's canary weights add up to more than 100%", "lower the weights so the stable version keeps the rest"),
    code("input/request-above-limit", "A service requests more CPU or memory than its limit", "lower the request to at most the limit, or raise the limit"),
    code("input/storage-needs-statefulset", "Storage is declared on a service that is not a StatefulSet", "set `kind: StatefulSet`, or remove `storage`"),
    code("input/security-without-reason", "A service relaxes its security context without saying why", "add `security.reason` explaining why the relaxation is needed"),
    code("input/reserved-label", "A label shipshape sets itself is set in the catalogue", "choose another label name"),
    code("input/reserved-annotation", "An annotation shipshape sets itself is set in the catalogue", "choose another annotation name"),
    code("input/env-reference", "An env value uses `$(VAR)` that nothing declares before it", "declare the variable earlier in `env` (references from Secrets come first)"),
    code("input/env-source", "An env or envFrom entry names neither or both of `secret` and `configMap`", "name exactly one source"),
    code("input/volume", "A volume is malformed, reuses a name, or mounts over another", "give each volume a unique name and mount path"),
    code("input/config-files", "`configFiles` is malformed: no mount path, a bad key, or an unreadable file", "give `mountPath` and keys that are file names; keep the files inside the project"),
    code("input/egress", "An egress host is not a host name, or its port is out of range", "write `host: api.example.com` with a port from 1 to 65535"),
    code("input/quota-without-proxy", "`enforce.quota` in an Istio namespace without `istio.proxy` resources", "set `istio.proxy: { requests, limits }` so the quota counts the sidecar every pod gets"),
    code("input/argocd-repo-path", "`argocd.repoPath` is not a plain relative path inside the repository", "write a relative path without `..`, e.g. `platform/gitops`"),
    code("input/argocd-destination", "`argocd.destination` sets both `server` and `name`", "keep one: `server` (the API server URL) or `name` (the cluster's name in Argo CD)"),
    code("input/argocd-disagreement", "Environments disagree on an `argocd` setting that Argo CD holds once", "set it once, in the catalogue's `argocd`"),
    // Patches.
    code("input/patch", "A patch is malformed (not a mapping, no target, a bad operation)", "see docs/patches.md for the forms"),
    code("input/patch-target-missing", "A patch targets no rendered object", "name a kind and name the service renders; `shipshape build --out -` shows them"),
    code("input/patch-path", "A JSON Patch path does not exist for `replace`, `remove`, `move` or `copy`", "point at a field that exists, or use `add`"),
    code("input/patch-test", "A JSON Patch `test` operation failed", "the object differs from what the patch expects: update the patch"),
    code("input/patch-type", "A patch sets a value of another type than the field holds (a list onto a mapping)", "give the field's own type"),
    code("input/patch-merge-key", "A strategic-merge list entry lacks the key its list merges by (`name` for containers, `containerPort` for ports)", "add the merge key to the entry"),
    code("input/patch-directive", "An unknown or misplaced `$patch` directive", "use `$patch: delete` or `$patch: replace` where the list or map allows it"),
    // Command line.
    code("usage/path", "A path given on the command line does not exist", "check the path"),
    code("usage/lint", "A `shipshape lint` capacity or share flag is not a quantity", "CPU like `16` or `500m`, memory like `8Gi`, percentages like `80%`"),
    code("usage/templates", "The templates directory cannot be read, or a template file is named wrongly", "see docs/templates.md for the naming"),
    code("usage/unknown-environment", "`--env` names an environment that has no file", "use one of the files under environments/"),
    code("usage/one-environment", "`shipshape graph` was given more than one `--env`", "draw one environment at a time"),
    code("usage/no-environment", "A command needs an environment and the project has none", "add an environment file under environments/"),
    code("usage/out-stdout", "`--out -` given to a command that compares with a directory", "name the directory, e.g. --out rendered"),
    code("usage/stdout-taken", "`build --out -` and a machine `--format` both want standard output", "drop --format, or run `shipshape check --format ...`"),
    // The output directory.
    code("output/io", "Writing the output failed", "check free space and permissions; the previous tree is left as it was"),
    code("output/stdout", "Standard output could not be written", "check where standard output goes; nothing was written to disk"),
    code("output/locked", "Another shipshape run is writing the same output directory", "wait for it, or remove the stale lock file the message names if no run is active"),
    code("output/bad-path", "The output directory cannot be used (it has no name of its own, or it is the project itself)", "name a directory below the project, e.g. rendered"),
    code("output/link", "The output directory or a file in it is a symbolic link", "replace the link by a real directory: shipshape does not write through links"),
    code("output/not-a-directory", "A path the output needs as a directory is a file", "move the file away"),
    code("output/not-a-file", "A path the output writes as a file is a directory or special file", "move it away"),
    code("output/not-generated", "A file in the output directory was not written by shipshape, where shipshape would write", "move the file out of the generated tree; shipshape never deletes or overwrites what it did not generate"),
    // Validation and drift.
    code("output-schema", "A rendered manifest fails its Kubernetes, Istio or Argo CD schema (after patches and extra templates)", "fix the patch or template that produced the field; the finding points at it"),
    note("output-schema/not-validated", "A rendered kind has no schema shipshape knows, so it was not validated", "add the kind's JSON Schema under schemas/ (see docs/templates.md), or accept it unvalidated"),
    code("schema", "A linted manifest fails its schema", "fix the field the message names"),
    note("schema/not-validated", "A linted kind has no schema shipshape knows, so it was not validated (counted per kind)", "nothing to fix: the summary lists what was not validated"),
    code("drift", "The rendered tree on disk differs from what the catalogue renders", "run `shipshape build` and commit the result"),
    code("suppression", "A suppression annotation names no rule or code, or gives no reason", "name a rule (`shipshape.dev/suppress.port-conflict`) or a code (`shipshape.dev/suppress.port-conflict.duplicate-host-port`) and say why as its value"),
];

pub fn find(id: &str) -> Option<&'static OtherCode> {
    CODES.iter().find(|c| c.id == id)
}
