//! Cranelift's incremental compilation cache, kept in memory: compiled functions keyed by a hash
//! of their Cranelift IR and the compiler's settings.
//!
//! Every module Wasmtime compiles has, next to the body's own function, Cranelift trampolines
//! that depend only on function signatures and on the engine's settings: one from the host into
//! `run`, one per function type for calls out to the host, and one per Wasmtime builtin that fuel
//! and epoch checks call (`out_of_gas`, `new_epoch`). The fib body has six of them and one
//! function of its own, and each costs Cranelift about as much as a small function. The same
//! trampolines come back in almost every body, so keeping their compiled code here means a fresh
//! body compiles only its own function.
//!
//! The key is Cranelift's: a SHA-256 of the function's IR (external names abstracted, then
//! re-applied on reuse) and of the ISA and its flags, so two functions share an entry only when
//! Cranelift would have produced the same code for both. Entries are bounded by their total size;
//! past it, the least recently used half is dropped.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Mutex;

/// A bounded in-memory [`wasmtime::CacheStore`].
#[derive(Debug)]
pub(crate) struct CodeCache {
    max_bytes: usize,
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    entries: HashMap<Box<[u8]>, Entry>,
    bytes: usize,
    clock: u64,
}

#[derive(Debug)]
struct Entry {
    value: Box<[u8]>,
    last_used: u64,
}

impl CodeCache {
    /// A cache holding at most `max_bytes` of keys and compiled code.
    pub(crate) fn new(max_bytes: usize) -> Self {
        Self {
            max_bytes,
            inner: Mutex::new(Inner::default()),
        }
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.inner.lock().map_or(0, |inner| inner.entries.len())
    }
}

impl wasmtime::CacheStore for CodeCache {
    fn get(&self, key: &[u8]) -> Option<Cow<'_, [u8]>> {
        let mut inner = self.inner.lock().ok()?;
        inner.clock += 1;
        let now = inner.clock;
        let entry = inner.entries.get_mut(key)?;
        entry.last_used = now;
        Some(Cow::Owned(entry.value.to_vec()))
    }

    fn insert(&self, key: &[u8], value: Vec<u8>) -> bool {
        let size = key.len() + value.len();
        if size > self.max_bytes / 2 {
            return false;
        }
        let Ok(mut inner) = self.inner.lock() else {
            return false;
        };
        if inner.bytes + size > self.max_bytes {
            inner.evict_older_half();
        }
        inner.clock += 1;
        let entry = Entry {
            value: value.into_boxed_slice(),
            last_used: inner.clock,
        };
        if let Some(old) = inner.entries.insert(Box::from(key), entry) {
            inner.bytes -= key.len() + old.value.len();
        }
        inner.bytes += size;
        true
    }
}

impl Inner {
    /// Drops the least recently used half of the entries (rare: only when the budget is full).
    fn evict_older_half(&mut self) {
        let mut uses: Vec<u64> = self.entries.values().map(|e| e.last_used).collect();
        uses.sort_unstable();
        let Some(&median) = uses.get(uses.len() / 2) else {
            return;
        };
        let mut freed = 0;
        self.entries.retain(|key, entry| {
            let keep = entry.last_used > median;
            if !keep {
                freed += key.len() + entry.value.len();
            }
            keep
        });
        self.bytes -= freed;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasmtime::CacheStore as _;

    #[test]
    fn a_stored_entry_is_found_by_its_key_only() {
        let cache = CodeCache::new(1 << 20);
        assert!(cache.insert(b"key", vec![1, 2, 3]));
        assert_eq!(cache.get(b"key").as_deref(), Some(&[1u8, 2, 3][..]));
        assert_eq!(cache.get(b"other"), None);
        assert!(cache.insert(b"key", vec![4]));
        assert_eq!(cache.get(b"key").as_deref(), Some(&[4u8][..]));
        assert_eq!(cache.len(), 1);
    }

    #[test]
    fn past_its_budget_the_cache_keeps_the_recently_used_entries() {
        // Each entry is 1 + 99 bytes: ten fit in 1000.
        let cache = CodeCache::new(1000);
        for i in 0..10u8 {
            assert!(cache.insert(&[i], vec![0; 99]));
        }
        // Use entry 0 again, so that it is the most recent.
        assert!(cache.get(&[0]).is_some());
        assert!(cache.insert(&[10], vec![0; 99]));
        assert!(cache.len() <= 10);
        assert!(cache.get(&[0]).is_some(), "the recently used entry stays");
        assert!(cache.get(&[10]).is_some(), "the new entry is stored");
        assert!(cache.get(&[1]).is_none(), "the oldest entry went");
        // An entry larger than half the budget is refused.
        assert!(!cache.insert(b"big", vec![0; 600]));
    }
}
