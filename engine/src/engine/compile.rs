//! From a body to a pre-linked [`Program`]: the compile cache, the on-disk index, preprocessing,
//! assembly, encoding, Wasmtime's compilation and pre-linking.

use std::sync::Arc;

use tokio_util::sync::CancellationToken;
use wasmtime::Module;
use watsmith_preprocessor::{Diagnostic, Span};

use super::bounds;
use super::relocate::{encode, validation_diagnostic};
use super::{Engine, Program};
use crate::index;
use crate::outcome::{CacheState, Outcome};
use crate::template;

impl Engine {
    /// The compiled program of `body`, from the cache or compiled now, or the outcome that
    /// explains why it does not compile. The policy is checked when it runs.
    pub fn prepare(&self, body: &str) -> Result<(Arc<Program>, CacheState), Box<Outcome>> {
        match self.cache.get(body) {
            Some(program) => Ok((program, CacheState::Hit)),
            None => self.compile_and_keep(body),
        }
    }

    /// As [`Engine::prepare`], from async code without blocking the executor: a body in the
    /// compile cache is answered at once; any other is preprocessed and compiled on tokio's
    /// blocking pool, at most one per core at a time, so that a flood of new bodies queues
    /// instead of taking a thread each, and the tasks that run programs meanwhile keep their
    /// executor threads.
    pub async fn prepare_async(
        self: &Arc<Self>,
        body: &str,
    ) -> Result<(Arc<Program>, CacheState), Box<Outcome>> {
        self.prepare_until(body, None).await
    }

    /// [`Engine::prepare_async`], answered `busy` when every compiler stays taken for the
    /// queue's wait, or `cancelled` when `cancel` is while it waits.
    pub(super) async fn prepare_until(
        self: &Arc<Self>,
        body: &str,
        cancel: Option<&CancellationToken>,
    ) -> Result<(Arc<Program>, CacheState), Box<Outcome>> {
        if let Some(program) = self.cache.get(body) {
            return Ok((program, CacheState::Hit));
        }
        let _compiler = self
            .admission
            .permit(&self.compiling, cancel)
            .await
            .map_err(|refusal| Box::new(refusal.outcome()))?;
        // Callers of one new body (a catalog program's first calls, all at once) queue for the
        // compiler together; the first compiles it, the others find it here.
        if let Some(program) = self.cache.get(body) {
            return Ok((program, CacheState::Hit));
        }
        let (engine, body) = (Arc::clone(self), body.to_owned());
        match tokio::task::spawn_blocking(move || engine.compile_and_keep(&body)).await {
            Ok(prepared) => prepared,
            Err(error) if error.is_panic() => std::panic::resume_unwind(error.into_panic()),
            Err(error) => Err(Box::new(Outcome::stopped(crate::outcome::TrapInfo {
                kind: crate::outcome::TrapKind::Host,
                message: format!("the compilation was stopped: {error}"),
            }))),
        }
    }

    /// Compiles `body` and keeps it in the cache.
    fn compile_and_keep(&self, body: &str) -> Result<(Arc<Program>, CacheState), Box<Outcome>> {
        let (program, state) = match self.load_indexed(body) {
            Some(loaded) => loaded,
            None => (
                self.compile_now(body)
                    .map_err(|diagnostics| Box::new(Outcome::invalid(diagnostics)))?,
                CacheState::Miss,
            ),
        };
        let program = Arc::new(program);
        self.cache.insert(body, Arc::clone(&program));
        Ok((program, state))
    }

    /// Preprocesses, assembles, compiles and pre-links `body`, indexing it on disk.
    fn compile_now(&self, body: &str) -> Result<Program, Vec<Diagnostic>> {
        let (expanded, assembled) = self.assemble(body)?;
        let binary = encode(body, &expanded, &assembled)?;
        bounds::check(body, &expanded, &assembled, &binary)?;
        let compiled = {
            // Poisoned only by a panic in another compile, which leaves nothing to repair.
            let _counters = self
                .disk_counters
                .read()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            Module::from_binary(&self.wasm, &binary)
        };
        let module = compiled.map_err(|error| {
            vec![validation_diagnostic(
                body,
                &expanded,
                &assembled,
                &binary,
                &format!("{error:#}"),
            )]
        })?;
        let pre = self.linker.instantiate_pre(&module).map_err(|error| {
            vec![template::diagnostic_at(
                body,
                &expanded,
                &assembled,
                None,
                &format!("cannot link the program: {error:#}"),
            )]
        })?;
        let mut first_calls: Vec<(&'static str, String, Span)> = Vec::new();
        for call in &expanded.calls {
            let Some((capability, _)) = call.capability_and_function() else {
                continue;
            };
            let Some(&known) = assembled.capabilities.iter().find(|c| **c == capability) else {
                continue;
            };
            if !first_calls.iter().any(|(c, ..)| *c == known) {
                first_calls.push((known, call.name.clone(), call.span));
            }
        }
        if let Some(index) = &self.index
            && expanded.warnings.is_empty()
        {
            let meta = index::Meta {
                initial_top: expanded.initial_top,
                first_calls: first_calls
                    .iter()
                    .map(|(c, call, span)| ((*c).to_owned(), call.clone(), span.start, span.end))
                    .collect(),
            };
            index.store(body, &binary, &meta);
        }
        Ok(Program {
            pre,
            source: Arc::from(body),
            module_hash: sha256_hex(&binary),
            initial_top: expanded.initial_top,
            is_async: self.is_async(&assembled.capabilities),
            capabilities: assembled.capabilities,
            warnings: expanded.warnings,
            first_calls,
        })
    }

    /// Whether any of `capabilities` has async host functions.
    fn is_async(&self, capabilities: &[&'static str]) -> bool {
        capabilities
            .iter()
            .any(|name| self.registry.get(name).is_some_and(|c| c.is_async()))
    }

    /// The program of `body` from the on-disk index, without preprocessing it: its binary is
    /// compiled (by Wasmtime's cache, normally) and linked, and the capabilities it needs are
    /// read from the binary's imports. `None` if the index has no usable entry.
    ///
    /// [`CacheState::Disk`] only if Wasmtime's cache served the machine code too: if its file
    /// was missing or damaged, Wasmtime compiled the binary again, so the body was compiled
    /// after all ([`CacheState::Miss`]). Wasmtime counts its hits for the whole engine, not per
    /// module, so this load holds `disk_counters` exclusively (compiles hold it shared) while it
    /// looks.
    fn load_indexed(&self, body: &str) -> Option<(Program, CacheState)> {
        let index = self.index.as_ref()?;
        let entry = index.load(body)?;
        let (module, state) = {
            let _counters = self
                .disk_counters
                .write()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let hits = self.disk_cache.as_ref().map(wasmtime::Cache::cache_hits);
            let module = Module::from_binary(&self.wasm, &entry.binary).ok()?;
            let served = self.disk_cache.as_ref().map(wasmtime::Cache::cache_hits) != hits;
            (
                module,
                if served {
                    CacheState::Disk
                } else {
                    CacheState::Miss
                },
            )
        };
        let pre = self.linker.instantiate_pre(&module).ok()?;
        let mut capabilities: Vec<&'static str> = Vec::new();
        for import in module.imports() {
            let name = self.registry.get(import.module())?.name();
            if !capabilities.contains(&name) {
                capabilities.push(name);
            }
        }
        capabilities.sort_unstable();
        let first_calls = entry
            .meta
            .first_calls
            .into_iter()
            .map(|(capability, call, start, end)| {
                let known = capabilities.iter().find(|c| **c == capability)?;
                Some((*known, call, Span::new(start, end)))
            })
            .collect::<Option<Vec<_>>>()?;
        index.served();
        let program = Program {
            pre,
            source: Arc::from(body),
            module_hash: sha256_hex(&entry.binary),
            initial_top: entry.meta.initial_top,
            is_async: self.is_async(&capabilities),
            capabilities,
            warnings: Vec::new(),
            first_calls,
        };
        Some((program, state))
    }
}

/// SHA-256 of `bytes`, in lowercase hex.
pub(super) fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest as _;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
