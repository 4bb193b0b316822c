//! The recorded sessions of `watsmith demo`: four tasks (a computation, a compile error fixed on
//! retry, a catalog call, a trap observed and recovered from) that run through the real pipeline
//! (prompt, parsing, engine, catalog, observations) with the [`Replay`] provider, so the demo
//! needs no model endpoint.
//!
//! The model's answers were scripted by hand (`agent/demo/*.toml`) and recorded through this
//! pipeline into transcripts (`agent/demo/*.jsonl`) by the agent's `demo` test; they are not the
//! answers of a real model. A change to anything the requests hold (the system prompt, the
//! catalog, the capabilities) changes their hashes, and the test then asks for them to be recorded
//! again: `BLESS=1 cargo test -p watsmith-agent --test all demo`.

use std::sync::Arc;

use serde::Deserialize;
use watsmith_catalog::Prepared;
use watsmith_engine::{Limits, Policy};

use crate::limits::AgentLimits;
use crate::prompt::Protocol;
use crate::provider::Provider;
use crate::react::{AgentParts, ModelSettings};

/// The model named in the demo's requests.
pub const MODEL: &str = "scripted-by-hand";

/// One recorded session.
#[derive(Debug, Clone)]
pub struct Recording {
    /// Its file name, without extension.
    pub name: &'static str,
    /// The script: the task and the answers, as written by hand.
    pub script: &'static str,
    /// The transcript recorded from the script.
    pub transcript: &'static str,
}

/// A script: the task and the model's answers in order.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Script {
    /// What the demo says it shows.
    pub title: String,
    /// The task.
    pub task: String,
    /// The model's answers, in order; the last is the final answer.
    pub answers: Vec<String>,
}

impl Recording {
    /// Its script.
    pub fn script(&self) -> Result<Script, toml::de::Error> {
        toml::from_str(self.script)
    }
}

/// The recordings, in the order the demo shows them.
pub const RECORDINGS: [Recording; 4] = [
    Recording {
        name: "compute",
        script: include_str!("../demo/compute.toml"),
        transcript: include_str!("../demo/compute.jsonl"),
    },
    Recording {
        name: "retry",
        script: include_str!("../demo/retry.toml"),
        transcript: include_str!("../demo/retry.jsonl"),
    },
    Recording {
        name: "use",
        script: include_str!("../demo/use.toml"),
        transcript: include_str!("../demo/use.jsonl"),
    },
    Recording {
        name: "trap",
        script: include_str!("../demo/trap.toml"),
        transcript: include_str!("../demo/trap.jsonl"),
    },
];

/// The agent the sessions were recorded with, asking `provider`, on `catalog` (which must be
/// the built-in catalog, on an engine with the built-in capabilities: the requests hold them):
/// the compute-only capabilities, the default limits, the text protocol, the full prompt.
pub fn parts(provider: Arc<dyn Provider>, catalog: Arc<Prepared>) -> AgentParts {
    AgentParts {
        provider,
        catalog,
        policy: Policy::standard(),
        limits: Limits::default(),
        agent_limits: AgentLimits::default(),
        settings: ModelSettings {
            // Recorded with the full prompt, before the compact one was the default: the
            // requests' hashes hold it.
            prompt: crate::prompt::PromptStyle::Full,
            ..ModelSettings::new(MODEL, Protocol::Text)
        },
    }
}
