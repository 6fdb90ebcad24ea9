//! shipshape: compile a service catalogue into per-environment Kubernetes manifests and lint them.

pub mod catalogue;
pub mod render;
pub mod yaml;
