//! The compile cache: compiled, pre-linked programs keyed by the body's exact text.
//!
//! Keying by the text itself (with the standard library's randomly keyed hasher) means a hit
//! needs no preprocessing and two different bodies can never share an entry, whatever a model
//! sends. The policy is checked on every run, hit or miss, against the capabilities the cached
//! program imports. Least recently used entries are evicted past the capacity.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use serde::Serialize;

use crate::engine::Program;

/// Hits, misses and size of the cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct CacheStats {
    /// Lookups that found a compiled program.
    pub hits: u64,
    /// Lookups that did not.
    pub misses: u64,
    /// Programs held now.
    pub len: usize,
    /// Programs held at most.
    pub capacity: usize,
    /// Compilations answered by the on-disk module cache (when one is configured).
    pub disk_hits: u64,
    /// Compilations the on-disk module cache could not answer.
    pub disk_misses: u64,
    /// Bodies found in the on-disk index, which skip preprocessing and assembly (their binary
    /// is then compiled by the on-disk module cache).
    pub disk_index_hits: u64,
}

#[derive(Debug)]
struct Entry {
    program: Arc<Program>,
    last_used: u64,
}

/// A bounded LRU map from body text to compiled program, safe to share across threads.
#[derive(Debug)]
pub(crate) struct Cache {
    entries: Mutex<HashMap<Box<str>, Entry>>,
    capacity: usize,
    clock: AtomicU64,
    hits: AtomicU64,
    misses: AtomicU64,
}

impl Cache {
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            entries: Mutex::new(HashMap::new()),
            capacity,
            clock: AtomicU64::new(0),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Box<str>, Entry>> {
        // A panic while holding the lock cannot leave the map inconsistent (every update is a
        // single insert or remove), so a poisoned lock is still usable.
        self.entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub(crate) fn get(&self, body: &str) -> Option<Arc<Program>> {
        let tick = self.clock.fetch_add(1, Ordering::Relaxed);
        let mut entries = self.lock();
        match entries.get_mut(body) {
            Some(entry) => {
                entry.last_used = tick;
                self.hits.fetch_add(1, Ordering::Relaxed);
                Some(Arc::clone(&entry.program))
            }
            None => {
                self.misses.fetch_add(1, Ordering::Relaxed);
                None
            }
        }
    }

    pub(crate) fn insert(&self, body: &str, program: Arc<Program>) {
        if self.capacity == 0 {
            return;
        }
        let tick = self.clock.fetch_add(1, Ordering::Relaxed);
        let mut entries = self.lock();
        if entries.len() >= self.capacity && !entries.contains_key(body) {
            let oldest = entries
                .iter()
                .min_by_key(|(_, e)| e.last_used)
                .map(|(k, _)| k.clone());
            if let Some(oldest) = oldest {
                entries.remove(&oldest);
            }
        }
        entries.insert(
            body.into(),
            Entry {
                program,
                last_used: tick,
            },
        );
    }

    pub(crate) fn stats(&self) -> CacheStats {
        CacheStats {
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
            len: self.lock().len(),
            capacity: self.capacity,
            disk_hits: 0,
            disk_misses: 0,
            disk_index_hits: 0,
        }
    }
}
