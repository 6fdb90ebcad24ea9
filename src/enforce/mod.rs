//! What the cluster enforces at run time, rendered from the same figures the build-time checks
//! judge by: a namespace ResourceQuota and LimitRange (`quota`) and ValidatingAdmissionPolicies
//! for the rules one object can be judged by (`admission`). Each is opt-in per environment
//! (`enforce:` in the environment file); docs/enforcement.md says what each holds and why.

pub mod admission;
pub mod quota;

use crate::catalogue::ResolvedEnvironment;
use crate::vocabulary::{annotation, label};
use serde_json::{Map, Value};

/// The file of an environment's directory that holds these documents.
pub const FILE: &str = "enforcement.yaml";

/// Every enforcement document the environment asks for, in a fixed order; empty when it asks
/// for none (and then no file is rendered). `rendered` is every other document of the
/// environment, patched: the quota counts the pods and claims they hold, the limit range takes
/// the largest limits of their containers (read only by the documents asked for).
pub fn documents<'a, I>(env: &ResolvedEnvironment, rendered: I) -> Vec<Value>
where
    I: IntoIterator<Item = &'a Value>,
    I::IntoIter: Clone,
{
    let rendered = rendered.into_iter();
    let mut docs = Vec::new();
    if env.settings.enforce.quota {
        docs.push(quota::resource_quota(env, rendered.clone()));
    }
    if env.settings.enforce.limit_range {
        docs.push(quota::limit_range(env, rendered));
    }
    if let Some(action) = env.settings.enforce.admission {
        docs.push(admission::policy(env));
        docs.push(admission::binding(env, action));
    }
    docs
}

/// `metadata` of a namespaced enforcement object: the platform's labels, applied before the
/// workloads (sync wave -1, with the namespace's own policies).
fn metadata(env: &ResolvedEnvironment, name: &str, namespaced: bool) -> Value {
    let mut meta = Map::new();
    meta.insert("name".into(), Value::from(name));
    if namespaced {
        meta.insert("namespace".into(), Value::from(env.namespace.as_str()));
    }
    meta.insert(
        "labels".into(),
        object([
            (label::PART_OF, Value::from(env.platform.as_str())),
            (label::MANAGED_BY, Value::from(label::MANAGED_BY_SHIPSHAPE)),
        ]),
    );
    meta.insert(
        "annotations".into(),
        object([(annotation::SYNC_WAVE, Value::from("-1"))]),
    );
    Value::Object(meta)
}

fn object<const N: usize>(pairs: [(&str, Value); N]) -> Value {
    let mut map = Map::with_capacity(N);
    for (k, v) in pairs {
        map.insert(k.to_owned(), v);
    }
    Value::Object(map)
}
