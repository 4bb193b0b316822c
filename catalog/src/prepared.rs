//! The catalog's programs pre-linked on one engine, kept for as long as the catalog is served.
//!
//! [`Prepared::prewarm`] compiles and pre-links every program once, spread over the cores, at
//! start-up: a catalog call then instantiates a program that is already linked, with no lookup
//! by its text and nothing to compile. A program not yet warm (a process that runs one program
//! and exits warms only that one) is prepared on its first call and kept. The engine's compile
//! cache is not where these live: it is bounded and evicts what is least recently used, and a
//! flood of new bodies must not evict the catalog.

use std::collections::HashMap;
use std::sync::{Arc, PoisonError, RwLock};

use watsmith_engine::{Engine, Outcome};

use crate::catalog::Catalog;
use crate::program::{CatalogError, Program};

/// A catalog and its programs pre-linked on an engine.
pub struct Prepared {
    catalog: Arc<Catalog>,
    engine: Arc<Engine>,
    programs: RwLock<HashMap<String, Arc<watsmith_engine::Program>>>,
}

impl std::fmt::Debug for Prepared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Prepared")
            .field("programs", &self.catalog.programs().len())
            .field("warm", &self.warm())
            .finish_non_exhaustive()
    }
}

impl Prepared {
    /// `catalog` on `engine`, nothing compiled yet.
    pub fn new(catalog: Arc<Catalog>, engine: Arc<Engine>) -> Self {
        Self {
            catalog,
            engine,
            programs: RwLock::default(),
        }
    }

    /// The catalog.
    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    /// The engine the programs are linked on.
    pub fn engine(&self) -> &Arc<Engine> {
        &self.engine
    }

    /// How many programs are pre-linked now.
    pub fn warm(&self) -> usize {
        self.programs
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    /// Compiles and pre-links every program not yet warm, spread over the machine's cores (a
    /// blocking call: from async code, run it on a blocking thread). Returns each program that
    /// does not compile, located at the line of its file (a body's lines are its file's lines).
    pub fn prewarm(&self) -> Vec<CatalogError> {
        let cold: Vec<&Program> = {
            let warm = self.programs.read().unwrap_or_else(PoisonError::into_inner);
            self.catalog
                .programs()
                .into_iter()
                .filter(|program| !warm.contains_key(&program.front.name))
                .collect()
        };
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        let chunk = cold.len().div_ceil(threads).max(1);
        std::thread::scope(|scope| {
            let workers: Vec<_> = cold
                .chunks(chunk)
                .map(|programs| {
                    scope.spawn(move || {
                        programs
                            .iter()
                            .filter_map(|program| self.prepare(program).err())
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            workers
                .into_iter()
                .flat_map(|worker| {
                    worker
                        .join()
                        .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
                })
                .collect()
        })
    }

    /// The pre-linked program of `program` if it is warm.
    pub fn get(&self, program: &Program) -> Option<Arc<watsmith_engine::Program>> {
        self.programs
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&program.front.name)
            .cloned()
    }

    /// The pre-linked program of `program`, compiled now if it is not warm (a blocking call
    /// then), or the outcome that says why it does not compile.
    pub fn program(
        &self,
        program: &Program,
    ) -> Result<Arc<watsmith_engine::Program>, Box<Outcome>> {
        if let Some(prepared) = self.get(program) {
            return Ok(prepared);
        }
        let (prepared, _) = self.engine.prepare(&program.body)?;
        self.programs
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(program.front.name.clone(), Arc::clone(&prepared));
        Ok(prepared)
    }

    /// As [`Prepared::program`], from async code without blocking the executor: a cold program
    /// is compiled by [`Engine::prepare_async`] (on the blocking pool) and kept.
    pub async fn program_async(
        &self,
        program: &Program,
    ) -> Result<Arc<watsmith_engine::Program>, Box<Outcome>> {
        if let Some(prepared) = self.get(program) {
            return Ok(prepared);
        }
        let (prepared, _) = self.engine.prepare_async(&program.body).await?;
        self.programs
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(program.front.name.clone(), Arc::clone(&prepared));
        Ok(prepared)
    }

    /// Prepares one program; its first diagnostic if it does not compile.
    fn prepare(&self, program: &Program) -> Result<(), CatalogError> {
        self.program(program).map(drop).map_err(|outcome| {
            let first = outcome.diagnostics.first();
            CatalogError {
                path: program.path.clone(),
                line: first.map_or(1, |d| d.line as usize),
                message: first.map_or_else(
                    || "the program does not compile".to_owned(),
                    |d| d.message.clone(),
                ),
            }
        })
    }
}
