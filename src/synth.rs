//! Synthetic platforms for benchmarks and scale tests: N services over five phases with batches,
//! about three dependencies each on earlier services, unique ports, resources, HPA ranges, canary
//! routes, and three environments with Istio on. The same N and seed give the same bytes.

use std::fmt::Write as _;

/// splitmix64: tiny, fast and good enough to vary a synthetic catalogue deterministically.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            0
        } else {
            self.next() % n
        }
    }
}

const PHASES: [(&str, &str, &[&str]); 5] = [
    ("infrastructure", "sequential", &[]),
    ("core", "parallel", &["data", "logic", "security"]),
    ("operations", "parallel", &["monitoring", "intelligence"]),
    ("interfaces", "parallel", &[]),
    ("utilities", "parallel", &[]),
];

/// Share of services per phase, in percent; the infrastructure phase stays small because it
/// rolls out one service per wave.
const SHARE: [u64; 5] = [2, 38, 25, 20, 15];

pub struct SyntheticPlatform {
    pub catalogue: String,
    /// (environment name, file contents)
    pub environments: Vec<(String, String)>,
}

fn service_name(i: usize) -> String {
    format!("svc-{i:05}")
}

pub fn generate(services: usize, seed: u64) -> SyntheticPlatform {
    let mut rng = Rng(seed);
    let services = services.max(1);
    // Phase of each service, in catalogue order.
    let mut phase_of = Vec::with_capacity(services);
    for (p, share) in SHARE.iter().enumerate() {
        let count = if p == SHARE.len() - 1 {
            services.saturating_sub(phase_of.len())
        } else {
            ((services as u64 * share).div_ceil(100) as usize).min(services - phase_of.len())
        };
        phase_of.extend(std::iter::repeat_n(p, count));
    }
    let mut out = String::with_capacity(services * 400);
    out.push_str("# yaml-language-server: $schema=./schemas/catalogue.schema.json\n");
    let _ = writeln!(
        out,
        "# Synthetic platform: {services} services, seed {seed}."
    );
    out.push_str("platform: synthetic\nnamespace: synthetic\n");
    out.push_str("defaults:\n  imageRegistry: registry.example.com/synthetic\n  health: { path: /healthz }\n");
    out.push_str("  resources:\n    requests: { cpu: 10m, memory: 16Mi }\n    limits: { cpu: 50m, memory: 64Mi }\n");
    out.push_str("  mesh: { timeout: 5s, retries: 2 }\nphases:\n");
    for (name, rollout, batches) in PHASES {
        let _ = write!(out, "  - {{ name: {name}, rollout: {rollout}");
        if !batches.is_empty() {
            let _ = write!(out, ", batches: [{}]", batches.join(", "));
        }
        out.push_str(" }\n");
    }
    out.push_str("services:\n");
    // First pass: placement and dependencies, so the second knows who calls whom.
    let mut batch_of = vec![0usize; services];
    let mut deps_of: Vec<Vec<usize>> = vec![Vec::new(); services];
    let mut called = vec![false; services];
    for i in 0..services {
        let p = phase_of[i];
        let batches = PHASES[p].2;
        if !batches.is_empty() {
            batch_of[i] = rng.below(batches.len() as u64) as usize;
        }
        // Up to three services of earlier phases, or of earlier batches of this phase.
        let earlier: Vec<usize> = (0..i)
            .filter(|&j| {
                phase_of[j] < p
                    || (phase_of[j] == p && !batches.is_empty() && batch_of[j] < batch_of[i])
            })
            .collect();
        if !earlier.is_empty() {
            let mut deps = Vec::new();
            for _ in 0..3 {
                let pick = earlier[rng.below(earlier.len() as u64) as usize];
                if !deps.contains(&pick) {
                    deps.push(pick);
                }
            }
            deps.sort_unstable();
            for &d in &deps {
                called[d] = true;
            }
            deps_of[i] = deps;
        }
    }
    for i in 0..services {
        let p = phase_of[i];
        let (phase, _, batches) = PHASES[p];
        let name = service_name(i);
        let _ = writeln!(out, "  {name}:");
        let _ = writeln!(out, "    phase: {phase}");
        if !batches.is_empty() {
            let _ = writeln!(out, "    batch: {}", batches[batch_of[i]]);
        }
        let infra = p == 0;
        if infra {
            out.push_str("    workload: statefulset\n    protocol: tcp\n    probe: tcp\n    storage: { size: 1Gi }\n");
        }
        let _ = writeln!(out, "    image: {name}");
        let _ = writeln!(out, "    port: {}", 10_000 + i);
        if !deps_of[i].is_empty() {
            let names: Vec<String> = deps_of[i].iter().copied().map(service_name).collect();
            let _ = writeln!(out, "    dependsOn: [{}]", names.join(", "));
        }
        if !infra && rng.below(4) == 0 {
            // Some ranges start above one replica, so PodDisruptionBudgets are rendered too.
            let min = 1 + rng.below(2);
            let max = min + 1 + rng.below(4);
            let _ = writeln!(
                out,
                "    replicas: {{ min: {min}, max: {max}, cpuTarget: 75% }}"
            );
        }
        if !infra && rng.below(10) == 0 {
            // The v2 pods of a canary come from the release pipeline, not from the catalogue.
            out.push_str("    mesh: { canary: { v2: 10 } }\n");
            out.push_str("    suppress: { mesh-routing: \"v2 canary pods are deployed by the release pipeline\" }\n");
        }
        // Whatever no service calls is an entry point: it takes traffic from the ingress.
        if !called[i] {
            out.push_str("    ingress: { fromNamespaces: [ingress-nginx] }\n");
        }
        if rng.below(3) == 0 {
            let _ = writeln!(
                out,
                "    env: {{ LOG_LEVEL: info, SERVICE_INDEX: \"{i}\" }}"
            );
        }
    }
    // Capacity grows with N so the synthetic platform lints clean: the benchmark measures the
    // normal path, not the error path.
    let cpu_cores = services as u64 / 2 + 8;
    let memory_gi = services as u64 / 8 + 8;
    let environments = ["dev", "prod", "staging"]
        .iter()
        .map(|env| {
            let text = format!(
                "# yaml-language-server: $schema=../schemas/environment.schema.json\n\
                 namespace: synthetic-{env}\nimageTag: \"1.0.0\"\n\
                 cluster:\n  capacity: {{ cpu: \"{cpu_cores}\", memory: {memory_gi}Gi }}\n  maxUtilisation: 80%\n\
                 istio: {{ enabled: true, mtls: STRICT }}\n\
                 argocd:\n  project: synthetic\n  repoURL: https://git.example.com/synthetic/gitops.git\n  targetRevision: main\n"
            );
            ((*env).to_owned(), text)
        })
        .collect();
    SyntheticPlatform {
        catalogue: out,
        environments,
    }
}

/// Writes a generated platform as a project directory (catalogue.yaml and environments/).
pub fn write_project(dir: &std::path::Path, platform: &SyntheticPlatform) -> std::io::Result<()> {
    std::fs::create_dir_all(dir.join("environments"))?;
    std::fs::write(dir.join("catalogue.yaml"), &platform.catalogue)?;
    for (name, text) in &platform.environments {
        std::fs::write(dir.join("environments").join(format!("{name}.yaml")), text)?;
    }
    Ok(())
}

/// Gives every service of a generated platform one patch, as a platform that uses patches for
/// the last mile would: a strategic merge adding an environment variable to the service's
/// container in its Deployment (StatefulSet for the stateful ones). The benchmark compares this
/// with the plain platform; see docs/patches.md.
pub fn add_patches(platform: &mut SyntheticPlatform) {
    let mut out = String::with_capacity(platform.catalogue.len() * 2);
    let mut current: Option<(String, &str)> = None;
    let mut in_services = false;
    for line in platform.catalogue.lines() {
        let header = in_services
            && line.len() > 3
            && line.starts_with("  ")
            && !line.starts_with("   ")
            && line.ends_with(':');
        if header {
            if let Some((name, kind)) = current.take() {
                push_patch(&mut out, &name, kind);
            }
            current = Some((line.trim().trim_end_matches(':').to_owned(), "Deployment"));
        } else if line == "    workload: statefulset" {
            if let Some((_, kind)) = current.as_mut() {
                *kind = "StatefulSet";
            }
        }
        if line == "services:" {
            in_services = true;
        }
        out.push_str(line);
        out.push('\n');
    }
    if let Some((name, kind)) = current {
        push_patch(&mut out, &name, kind);
    }
    platform.catalogue = out;
}

fn push_patch(out: &mut String, name: &str, kind: &str) {
    let _ = write!(
        out,
        "    patches:\n      - target: {{ kind: {kind} }}\n        merge:\n          spec:\n            template:\n              spec:\n                containers:\n                  - name: {name}\n                    env:\n                      - name: OTEL_SERVICE_NAME\n                        value: {name}\n"
    );
}
