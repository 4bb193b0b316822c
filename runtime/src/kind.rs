//! What kind of failure a [`RuntimeError`] is: the one table from which every front end derives
//! its answer (the CLI's exit status now; an HTTP status and MCP's `isError` later), so that no
//! front end classifies errors with a catch-all of its own.

use watsmith_catalog::CallError;
use watsmith_engine::EngineErrorKind;

use crate::model::ModelError;
use crate::runtime::RuntimeError;
use crate::store::StoreError;

/// The kind of a [`RuntimeError`], by whose side it is on and whether trying again may help.
///
/// | kind | example | CLI exit | HTTP (the server issue) |
/// |---|---|---|---|
/// | `Invalid` | a policy that makes no sense, a bad argument | 64 | 400 |
/// | `NotFound` | no catalog program of that name | 64 | 404 |
/// | `Conflict` | a session changed by another process since it was loaded | 75 | 409 |
/// | `Busy` | no capacity now (admission), a session running another task | 75 | 503 with `Retry-After` (409 for a session) |
/// | `Environment(Files)` | a catalog directory or transcript that cannot be read | 66 | 500 |
/// | `Environment(Store)` | a store file that is not a watsmith store, a write that failed | 66 | 503 |
/// | `Environment(Model)` | no API key, a provider that refuses | 78 (77 for refused credentials) | 502 |
/// | `Internal` | the engine cannot be built (the host refused memory or a thread) | 70 | 500 |
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The caller's mistake: the request or the settings are wrong; the message says how.
    Invalid,
    /// What the request names does not exist.
    NotFound,
    /// The request conflicts with what another writer did meanwhile; reload and try again.
    Conflict,
    /// No capacity now; trying again later may succeed.
    Busy,
    /// Something outside the runtime failed: a file, the store or the model provider.
    Environment(Resource),
    /// The runtime itself failed.
    Internal,
}

/// What outside the runtime failed ([`ErrorKind::Environment`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Resource {
    /// A file the settings name (a catalog directory, a transcript).
    Files,
    /// The store.
    Store,
    /// The model provider, or its settings (a missing key, a bad URL).
    Model,
}

impl RuntimeError {
    /// The kind of this error (see [`ErrorKind`]'s table).
    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::Engine(error) => match error.kind() {
                EngineErrorKind::ModuleCache => ErrorKind::Invalid,
                _ => ErrorKind::Internal,
            },
            Self::Catalog(_) => ErrorKind::Environment(Resource::Files),
            Self::Checker(_) => ErrorKind::Internal,
            Self::Store(StoreError::Changed { .. } | StoreError::EventGap { .. }) => {
                ErrorKind::Conflict
            }
            Self::Store(StoreError::Leased { .. }) => ErrorKind::Busy,
            Self::Store(_) => ErrorKind::Environment(Resource::Store),
            Self::Model(error) => match error {
                ModelError::NoProvider
                | ModelError::NoModelName { .. }
                | ModelError::NoTranscript
                | ModelError::TranscriptModel { .. } => ErrorKind::Invalid,
                ModelError::Transcript { .. } => ErrorKind::Environment(Resource::Files),
                _ => ErrorKind::Environment(Resource::Model),
            },
            Self::Call(CallError::UnknownProgram { .. }) => ErrorKind::NotFound,
            Self::Busy { .. } | Self::SessionBusy { .. } => ErrorKind::Busy,
            Self::NoSession { .. } | Self::UnknownModel { .. } => ErrorKind::NotFound,
            Self::SessionExists { .. } => ErrorKind::Conflict,
            Self::Policy(_)
            | Self::Limits(_)
            | Self::Call(_)
            | Self::SessionName { .. }
            | Self::ResumedNamespace { .. }
            | Self::SessionNamespace { .. }
            | Self::Argument { .. } => ErrorKind::Invalid,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_side_of_a_failure_has_its_kind() {
        let changed = RuntimeError::Store(StoreError::Changed {
            session: "s".into(),
            loaded: 1,
            now: Some(2),
        });
        assert_eq!(changed.kind(), ErrorKind::Conflict);
        let foreign = RuntimeError::Store(StoreError::Foreign {
            location: "x.db".into(),
            reason: "not SQLite".into(),
        });
        assert_eq!(foreign.kind(), ErrorKind::Environment(Resource::Store));
        assert_eq!(
            RuntimeError::Model(ModelError::NoProvider).kind(),
            ErrorKind::Invalid
        );
        let no_key = RuntimeError::Model(ModelError::NoApiKey {
            provider: "openai",
            base_url: "https://api.openai.com/v1".into(),
            variable: "OPENAI_API_KEY",
        });
        assert_eq!(no_key.kind(), ErrorKind::Environment(Resource::Model));
        let unknown = watsmith_catalog::Catalog::builtin()
            .bind(
                watsmith_catalog::Invocation::Text("no_such_program(1)"),
                &watsmith_engine::Registry::builtin(),
            )
            .expect_err("no such program");
        assert_eq!(RuntimeError::Call(unknown).kind(), ErrorKind::NotFound);
        let arity = watsmith_catalog::Catalog::builtin()
            .bind(
                watsmith_catalog::Invocation::Text("fib(1, 2)"),
                &watsmith_engine::Registry::builtin(),
            )
            .expect_err("fib takes one argument");
        assert_eq!(RuntimeError::Call(arity).kind(), ErrorKind::Invalid);
    }
}
