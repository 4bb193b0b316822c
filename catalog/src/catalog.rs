//! A set of programs: the built-in ones and the user's directories, with the problems found
//! while loading them (a broken program is reported and the others still load).

use std::path::{Path, PathBuf};

use watsmith_engine::Registry;

use crate::program::{CatalogError, Program};

include!(concat!(env!("OUT_DIR"), "/builtin.rs"));

/// Where built-in programs say they come from, in errors.
const BUILTIN_DIR: &str = "catalog/programs";

/// Programs by name, and what could not be loaded.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    programs: Vec<Program>,
    problems: Vec<CatalogError>,
}

impl Catalog {
    /// The programs that ship with watsmith.
    pub fn builtin() -> Self {
        let mut catalog = Self::default();
        for (file, text) in BUILTIN {
            let path = Path::new(BUILTIN_DIR).join(file);
            catalog.admit(Program::parse(&path, (*text).to_owned()), false);
        }
        catalog
    }

    /// Adds every `.wat` program of a directory. A program with the name of one already in the
    /// catalog is refused unless `shadow` allows it to replace that one. Problems are recorded
    /// ([`Catalog::problems`]); only an unreadable directory is an error.
    pub fn add_dir(&mut self, dir: &Path, shadow: bool) -> Result<(), CatalogError> {
        let entries = std::fs::read_dir(dir).map_err(|e| CatalogError {
            path: dir.to_owned(),
            line: 1,
            message: format!("cannot read the catalog directory: {e}"),
        })?;
        let mut paths: Vec<PathBuf> = Vec::new();
        for entry in entries {
            match entry {
                Ok(entry) => paths.push(entry.path()),
                Err(error) => self.problems.push(CatalogError {
                    path: dir.to_owned(),
                    line: 1,
                    message: format!("cannot read an entry of the catalog directory: {error}"),
                }),
            }
        }
        paths.retain(|path| path.extension().is_some_and(|e| e == "wat"));
        paths.sort();
        for path in paths {
            self.admit(Program::load(&path), shadow);
        }
        Ok(())
    }

    fn admit(&mut self, program: Result<Program, CatalogError>, shadow: bool) {
        let program = match program {
            Ok(program) => program,
            Err(problem) => {
                self.problems.push(problem);
                return;
            }
        };
        match self
            .programs
            .iter()
            .position(|p| p.front.name == program.front.name)
        {
            Some(at) if shadow => self.programs[at] = program,
            Some(at) => self.problems.push(CatalogError {
                path: program.path.clone(),
                line: 2,
                message: format!(
                    "`{}` is already defined by {}; rename it, or allow shadowing",
                    program.front.name,
                    self.programs[at].path.display()
                ),
            }),
            None => self.programs.push(program),
        }
    }

    /// The programs, sorted by name.
    pub fn programs(&self) -> Vec<&Program> {
        let mut programs: Vec<&Program> = self.programs.iter().collect();
        programs.sort_by(|a, b| a.front.name.cmp(&b.front.name));
        programs
    }

    /// The program called `name`.
    pub fn get(&self, name: &str) -> Option<&Program> {
        self.programs.iter().find(|p| p.front.name == name)
    }

    /// A catalog of only the programs of `dir` (for `watsmith catalog check DIR`).
    pub fn from_dir(dir: &Path) -> Result<Self, CatalogError> {
        let mut catalog = Self::default();
        catalog.add_dir(dir, false)?;
        Ok(catalog)
    }

    /// The program files that could not be loaded, with where and why.
    pub fn problems(&self) -> &[CatalogError] {
        &self.problems
    }
}

impl Program {
    /// The capabilities the program declares that `registry` does not have.
    pub fn missing<'a>(&'a self, registry: &Registry) -> Vec<&'a str> {
        self.front
            .capabilities
            .iter()
            .map(String::as_str)
            .filter(|name| registry.get(name).is_none())
            .collect()
    }
}
