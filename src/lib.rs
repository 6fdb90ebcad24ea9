//! shipshape: compile a service catalogue into per-environment Kubernetes manifests and lint them.
//!
//! The pipeline runs one way: load (with spans) -> validate -> resolve per environment ->
//! render -> check schemas and lint rules -> hand each finished environment to the command's
//! sink ([`pipeline::Sink`]), which compares it with the output tree, stages it, or keeps it.

// Diagnostics are large and live on the error path only; boxing them everywhere would add noise
// for no measurable gain.
#![allow(clippy::result_large_err)]

pub mod app;
pub mod catalogue;
pub mod cli;
pub mod codes;
pub mod commands;
pub mod diagnostic;
pub mod diff;
pub mod enforce;
pub mod fsio;
pub mod graph;
pub mod lint;
pub mod manifest;
pub mod output;
pub mod parallel;
pub mod patch;
pub mod paths;
pub mod pipeline;
pub mod plan;
pub mod profile;
pub mod render;
pub mod report;
pub mod synth;
pub mod vocabulary;
pub mod yaml;
