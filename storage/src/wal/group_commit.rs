//! Group commit: writers that need their records fsynced share one fsync.
//!
//! Leader/follower on one condition variable. A committer whose sequence is not yet synced
//! becomes the leader if nobody is syncing: it fsyncs everything written so far (not just
//! its own record) with the state lock released, records the new synced sequence and wakes
//! everyone. Committers arriving meanwhile wait; when woken, those now covered return, and
//! one of the rest becomes the next leader. So while one fsync runs, the next batch gathers,
//! and the number of fsyncs adapts to the disk's speed without any timer.
//!
//! This type also owns the WAL's poison. After a failed fsync the kernel may already have
//! dropped the dirty pages and marked them clean, so a later fsync can succeed without the
//! data ever reaching the disk (PostgreSQL's "fsyncgate", 2018). Retrying would acknowledge
//! lost writes; the only safe answer is to refuse everything until a restart replays the WAL.

use std::cmp::max;
use std::fs::File;
use std::path::Path;
use std::sync::OnceLock;

use parking_lot::{Condvar, Mutex, MutexGuard};
use tracing::error;

use crate::error::{Error, Result};

/// The synced sequence and the leader slot, shared by committers.
#[derive(Debug)]
pub(super) struct GroupCommit {
    state: Mutex<SyncState>,
    released: Condvar,
    poison: OnceLock<String>,
    /// File fsyncs performed (monitoring, and tests of the batching).
    pub(super) fsyncs: std::sync::atomic::AtomicU64,
    /// Makes the next fsync fail, for tests of the poison.
    #[cfg(test)]
    pub(super) fail_next_fsync: std::sync::atomic::AtomicBool,
}

#[derive(Debug)]
struct SyncState {
    /// Every record with a sequence at or below this is fsynced (0: none).
    synced: u64,
    /// Whether a leader is fsyncing right now.
    leader: bool,
}

impl GroupCommit {
    /// A group commit where everything up to `synced` is already on disk.
    pub(super) fn new(synced: u64) -> Self {
        Self {
            state: Mutex::new(SyncState {
                synced,
                leader: false,
            }),
            released: Condvar::new(),
            poison: OnceLock::new(),
            fsyncs: std::sync::atomic::AtomicU64::new(0),
            #[cfg(test)]
            fail_next_fsync: std::sync::atomic::AtomicBool::new(false),
        }
    }

    /// The highest sequence known to be fsynced.
    pub(super) fn synced(&self) -> u64 {
        self.state.lock().synced
    }

    /// `Error::Poisoned` once an fsync or write has failed.
    pub(super) fn check_poison(&self) -> Result<()> {
        match self.poison.get() {
            Some(reason) => Err(Error::Poisoned {
                reason: reason.clone(),
            }),
            None => Ok(()),
        }
    }

    /// Records that everything up to `sequence` is fsynced (by a rotation or close).
    pub(super) fn mark_synced(&self, sequence: u64) {
        let mut state = self.state.lock();
        state.synced = max(state.synced, sequence);
        self.released.notify_all();
    }

    /// Blocks until `target` is fsynced. `sync` fsyncs everything written so far and returns
    /// the last sequence that covers; it runs in whichever caller is the leader.
    pub(super) fn wait_synced(&self, target: u64, sync: &dyn Fn() -> Result<u64>) -> Result<()> {
        let mut state = self.state.lock();
        loop {
            if state.synced >= target {
                return Ok(());
            }
            self.check_poison()?;
            if state.leader {
                self.released.wait(&mut state);
                continue;
            }
            let synced = self.lead(&mut state, sync)?;
            if synced < target {
                // `target` was never appended (a caller bug): everything that exists is synced,
                // and waiting for more would never end.
                debug_assert!(
                    synced >= target,
                    "commit of sequence {target}, never appended"
                );
                return Ok(());
            }
        }
    }

    /// Runs one fsync as the leader with the state unlocked, then releases the waiters.
    fn lead(
        &self,
        state: &mut MutexGuard<'_, SyncState>,
        sync: &dyn Fn() -> Result<u64>,
    ) -> Result<u64> {
        state.leader = true;
        let outcome = MutexGuard::unlocked(state, sync);
        state.leader = false;
        if let Ok(synced) = outcome {
            state.synced = max(state.synced, synced);
        }
        // Woken followers see the poison if the sync failed; one of them would otherwise
        // become the next leader.
        self.released.notify_all();
        outcome
    }

    /// Fsyncs a WAL file's data (fdatasync: the file's size is data, its timestamps are not
    /// needed to read it back). A failure poisons the WAL (see the module documentation).
    pub(super) fn fsync(&self, file: &File, path: &Path) -> Result<()> {
        self.fsyncs
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let outcome = file.sync_data();
        #[cfg(test)]
        let outcome = match self
            .fail_next_fsync
            .swap(false, std::sync::atomic::Ordering::Relaxed)
        {
            true => Err(std::io::Error::other("injected fsync failure")),
            false => outcome,
        };
        outcome.map_err(|source| self.poison("fsyncing WAL file", path, source))
    }

    /// Poisons the WAL after a failed write-path operation on `path`; returns the I/O error
    /// for the caller that saw it (later callers get `Error::Poisoned`).
    pub(super) fn poison(
        &self,
        operation: &'static str,
        path: &Path,
        source: std::io::Error,
    ) -> Error {
        error!(
            operation,
            path = %path.display(),
            error = %source,
            "WAL write path failed; refusing further writes until restart"
        );
        // The first failure is the one worth reporting; later ones are its consequences.
        let _first_failure_kept = self
            .poison
            .set(format!("{operation} {}: {source}", path.display()));
        // Taking the lock orders the poison before any waiter's next check.
        drop(self.state.lock());
        self.released.notify_all();
        Error::Io {
            operation,
            path: path.to_owned(),
            source,
        }
    }
}
