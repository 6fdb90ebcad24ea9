//! What a workload's containers (`spec.containers` of its pod) declare: their ports, probes and
//! resources, read once. Several lint rules look at the same containers (`port-conflict`,
//! `unreachable-service`, `missing-probe`, `resource-overcommit`), and `plan` counts the same
//! resources from the rendered workloads; each walking the JSON again cost a hash per level per
//! reader, and each reading a port or a quantity its own way let them disagree on what a
//! container declares.

use crate::catalogue::quantity::{parse_cpu, parse_memory, QuantityError};
use crate::manifest::Field;
use serde_json::Value;

/// One container of a pod.
#[derive(Debug, Clone)]
pub struct Container<'m> {
    /// Position in `spec.containers`: the container's pointer is `<pod spec>/containers/<index>`.
    pub index: usize,
    pub value: &'m Value,
    /// `name`; `None` when missing or not a string (the schema check reports it).
    pub name: Option<&'m str>,
    pub ports: Vec<Port<'m>>,
    pub readiness: Option<&'m Value>,
    pub liveness: Option<&'m Value>,
    pub startup: Option<&'m Value>,
    pub resources: Resources,
}

/// One entry of a container's `ports`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Port<'m> {
    /// Position in the container's `ports`.
    pub index: usize,
    pub name: Option<&'m str>,
    /// `containerPort`, when it is an integer.
    pub number: Option<i64>,
    /// `protocol`, `TCP` when unset as Kubernetes defaults it.
    pub protocol: &'m str,
    pub host_port: Option<i64>,
}

/// A container's `resources`, each quantity parsed as Kubernetes reads it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Resources {
    pub requests: Amounts,
    pub limits: Amounts,
}

/// CPU (millicores) and memory (bytes) of `requests` or `limits`: `None` where the key is not
/// written, an error where it is written and is not a quantity.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Amounts {
    pub cpu: Option<Result<u64, QuantityError>>,
    pub memory: Option<Result<u64, QuantityError>>,
}

impl Amounts {
    /// `cpu` or `memory`.
    pub fn get(&self, key: &str) -> Option<&Result<u64, QuantityError>> {
        match key {
            "cpu" => self.cpu.as_ref(),
            _ => self.memory.as_ref(),
        }
    }
}

impl Resources {
    /// The `resources` of container `c`.
    pub fn read(c: &Value) -> Resources {
        let resources = c.field("resources");
        let amounts = |kind: &str| {
            let of = |key: &str| {
                let v = resources
                    .and_then(|r| r.field(kind))
                    .and_then(|r| r.field(key))?;
                let text = quantity_text(v);
                Some(if key == "cpu" {
                    parse_cpu(&text)
                } else {
                    parse_memory(&text)
                })
            };
            Amounts {
                cpu: of("cpu"),
                memory: of("memory"),
            }
        };
        Resources {
            requests: amounts("requests"),
            limits: amounts("limits"),
        }
    }

    /// `requests` or `limits`.
    pub fn of(&self, kind: &str) -> &Amounts {
        match kind {
            "requests" => &self.requests,
            _ => &self.limits,
        }
    }

    /// What the capacity ledger (`crate::plan::ledger`) counts of resource `key` (`cpu` or
    /// `memory`). Kubernetes takes a missing request to equal the limit, so a request is unknown
    /// only where neither is written. A written quantity that does not parse counts as zero,
    /// and is not taken from the limit: `resource-overcommit/bad-quantity` reports it.
    pub fn counted(&self, key: &str) -> Counted {
        let written = |a: Option<&Result<u64, QuantityError>>| a.map(|r| *r.as_ref().unwrap_or(&0));
        let limit = written(self.limits.get(key));
        Counted {
            request: written(self.requests.get(key)).or(limit),
            limit,
        }
    }
}

/// One resource of one container as the capacity ledger counts it ([`Resources::counted`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counted {
    /// The request, else the limit; `None` where neither is written.
    pub request: Option<u64>,
    /// `None` where no limit is written: counted as none, and reported as missing.
    pub limit: Option<u64>,
}

/// The containers of a pod spec, in order; empty without `containers`.
pub fn read(pod: &Value) -> Vec<Container<'_>> {
    listed(pod)
        .iter()
        .enumerate()
        .map(|(index, c)| Container::read(index, c))
        .collect()
}

/// Only the resources of a pod spec's containers, in order: what a reader of capacity needs,
/// without their ports and probes.
pub fn resources(pod: &Value) -> Vec<Resources> {
    listed(pod).iter().map(Resources::read).collect()
}

fn listed(pod: &Value) -> &[Value] {
    pod.field("containers")
        .and_then(Value::as_array)
        .map_or(&[][..], Vec::as_slice)
}

impl<'m> Container<'m> {
    fn read(index: usize, c: &'m Value) -> Container<'m> {
        let ports = c
            .field("ports")
            .and_then(Value::as_array)
            .map_or(&[][..], Vec::as_slice)
            .iter()
            .enumerate()
            .map(|(index, p)| Port {
                index,
                name: p.field("name").and_then(Value::as_str),
                number: p.field("containerPort").and_then(Value::as_i64),
                protocol: p.field("protocol").and_then(Value::as_str).unwrap_or("TCP"),
                host_port: p.field("hostPort").and_then(Value::as_i64),
            })
            .collect();
        Container {
            index,
            value: c,
            name: c.field("name").and_then(Value::as_str),
            ports,
            readiness: c.field("readinessProbe"),
            liveness: c.field("livenessProbe"),
            startup: c.field("startupProbe"),
            resources: Resources::read(c),
        }
    }

    /// The probe named as in the manifest: `readinessProbe`, `livenessProbe` or `startupProbe`.
    pub fn probe(&self, field: &str) -> Option<&'m Value> {
        match field {
            "readinessProbe" => self.readiness,
            "livenessProbe" => self.liveness,
            "startupProbe" => self.startup,
            _ => None,
        }
    }
}

/// A quantity's text: a YAML number (`cpu: 2`) reads as it was written; anything else that is
/// not a string reads as empty, which no parser accepts.
fn quantity_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn ports_probes_and_resources_are_read_as_kubernetes_reads_them() {
        let pod = json!({ "containers": [
            {
                "name": "api",
                "ports": [
                    { "name": "http", "containerPort": 8080 },
                    { "containerPort": 53, "protocol": "UDP", "hostPort": 5353 },
                    { "containerPort": "8080" },
                ],
                "readinessProbe": { "httpGet": { "path": "/ready", "port": "http" } },
                "resources": {
                    "requests": { "cpu": 0.5, "memory": "128Mi" },
                    "limits": { "memory": "lots" },
                },
            },
            { "image": "sidecar" },
        ]});
        let containers = read(&pod);
        assert_eq!(containers.len(), 2);
        let api = &containers[0];
        assert_eq!(api.name, Some("api"));
        assert_eq!(
            api.ports,
            vec![
                Port {
                    index: 0,
                    name: Some("http"),
                    number: Some(8080),
                    protocol: "TCP",
                    host_port: None
                },
                Port {
                    index: 1,
                    name: None,
                    number: Some(53),
                    protocol: "UDP",
                    host_port: Some(5353)
                },
                Port {
                    index: 2,
                    name: None,
                    number: None,
                    protocol: "TCP",
                    host_port: None
                },
            ]
        );
        assert!(api.probe("readinessProbe").is_some());
        assert_eq!(api.liveness, None);
        assert_eq!(api.resources.requests.cpu, Some(Ok(500)));
        assert_eq!(api.resources.requests.memory, Some(Ok(128 << 20)));
        assert_eq!(api.resources.limits.cpu, None);
        assert!(matches!(api.resources.limits.get("memory"), Some(Err(_))));
        let sidecar = &containers[1];
        assert_eq!((sidecar.index, sidecar.name), (1, None));
        assert!(sidecar.ports.is_empty());
        assert_eq!(sidecar.resources, Resources::default());
    }

    #[test]
    fn a_request_is_counted_from_the_limit_where_only_the_limit_is_written() {
        let pod = json!({ "containers": [{
            "resources": {
                "requests": { "cpu": "lots" },
                "limits": { "cpu": "2", "memory": "1Gi" },
            },
        }]});
        let resources = &read(&pod)[0].resources;
        assert_eq!(
            resources.counted("memory"),
            Counted {
                request: Some(1 << 30),
                limit: Some(1 << 30)
            }
        );
        // A request written wrong is reported, not replaced by the limit.
        assert_eq!(
            resources.counted("cpu"),
            Counted {
                request: Some(0),
                limit: Some(2000)
            }
        );
        assert_eq!(Resources::default().counted("cpu"), Counted::default());
    }

    #[test]
    fn a_pod_without_containers_has_none() {
        assert!(read(&json!({})).is_empty());
        assert!(read(&json!({ "containers": "no" })).is_empty());
    }
}
