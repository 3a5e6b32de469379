//! The write-ahead log: every accepted write batch is appended here before it reaches the
//! memtable, and replayed at open to rebuild the memtables lost with the process.
//!
//! Owns the WAL directory and its files (`wal-<first sequence>.log`); does not know what a
//! payload means (the engine encodes batches) nor which records segments already hold (the
//! engine passes that to [`Wal::remove_through`] after a flush). See `wal/README.md` for the
//! whole write path and the file format.
//!
//! Invariants:
//! - sequences are assigned under one lock and written in that order, so within and across
//!   files they are strictly increasing and contiguous (a jump made at open by
//!   `next_sequence_min` is recorded in the new file's header);
//! - only the last file can be torn: a file is fsynced before its successor is created;
//! - files are removed oldest first, so the survivors always continue one another;
//! - after a failed write or fsync the WAL is poisoned and refuses appends and commits.

mod format;
mod group_commit;
mod periodic;
mod reader;
mod replay;
mod writer;

#[cfg(test)]
mod tests;

use std::cmp::max;
use std::collections::VecDeque;
use std::fs;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use parking_lot::Mutex;
use tracing::info;

use crate::error::{Error, Result};
use crate::fs::sync_dir;
use crate::options::WalDurability;
use format::{Frame, SEQUENCE_LIMIT, check_payload_len};
use group_commit::GroupCommit;
use periodic::PeriodicSyncer;
use writer::{ClosedFile, Writer};

/// Position of a record in the WAL; strictly increasing across files and restarts.
/// Appends start at 1, so `WalSequence(0)` (the default) means "before every record".
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct WalSequence(pub u64);

impl WalSequence {
    /// The sequence after this one.
    ///
    /// # Panics
    /// On `WalSequence(u64::MAX)`; the WAL itself hands out sequences below 2^63.
    pub fn next(self) -> Self {
        Self(
            self.0
                .checked_add(1)
                .expect("WAL sequences stay below 2^63"),
        )
    }
}

/// What [`Wal::open`] needs.
#[derive(Debug, Clone)]
pub(crate) struct WalOptions {
    /// Directory of the WAL files; created if missing. Holds nothing else of the WAL's.
    pub(crate) dir: PathBuf,
    /// When an append is durable (see `WalDurability`).
    pub(crate) durability: WalDurability,
    /// A file is closed and a new one started before an append would take it past this
    /// size; a file always takes at least one record, whatever its size.
    pub(crate) file_bytes_max: u64,
    /// The next sequence is at least this, even when the files end lower. The engine passes
    /// one past the highest sequence its segments hold, so sequences never repeat even when
    /// files were removed or never written (`WalDurability::None` leaves no trace of the
    /// sequences it assigned).
    pub(crate) next_sequence_min: WalSequence,
}

/// The write-ahead log. `Send + Sync`: writer threads share it.
#[derive(Debug)]
pub(crate) struct Wal {
    shared: Arc<Shared>,
    /// The periodic-mode syncer; taken and joined by close or drop.
    syncer: Mutex<Option<PeriodicSyncer>>,
}

/// The state shared with the syncer thread. Lock order: `writer`, then `closed_files`, then
/// the group commit's state.
#[derive(Debug)]
struct Shared {
    dir: PathBuf,
    durability: WalDurability,
    writer: Mutex<Writer>,
    /// Files no longer appended to, oldest first. Separate from `writer` so removing files
    /// does not stall appends.
    closed_files: Mutex<VecDeque<ClosedFile>>,
    commits: GroupCommit,
}

impl Wal {
    /// Opens (creating `dir` if missing), replays every valid record in sequence order through
    /// `replay`, truncates a torn or corrupt tail of the last file (with a warning naming the
    /// path, offset and bytes dropped) and refuses (`Error::Corrupt`) damage in any earlier
    /// file. The next sequence is max(last replayed + 1, `next_sequence_min`, 1).
    ///
    /// Files are replayed in every mode, `None` included, so switching to `None` does not
    /// drop records not yet flushed. If open fails, records already passed to `replay` must
    /// be discarded. Writing modes continue the last file when sequences run on into it,
    /// and start a new file otherwise; `None` creates no file.
    pub(crate) fn open(
        options: WalOptions,
        replay: &mut dyn FnMut(WalSequence, &[u8]) -> Result<()>,
    ) -> Result<Wal> {
        check_options(&options)?;
        let WalOptions {
            dir,
            durability,
            file_bytes_max,
            next_sequence_min,
        } = options;
        create_dir(&dir)?;
        let recovered = replay::recover(&dir, replay)?;
        let next = max(recovered.next, next_sequence_min.0);
        let files = recovered.files.len();
        let writes = durability != WalDurability::None;
        let (writer, closed) = Writer::resume(&dir, file_bytes_max, recovered.files, next, writes)?;
        // Recovery fsynced the last file, so everything below `next` is on disk.
        let commits = GroupCommit::new(next - 1);
        let shared = Arc::new(Shared {
            dir,
            durability,
            writer: Mutex::new(writer),
            closed_files: Mutex::new(closed),
            commits,
        });
        let syncer = match durability {
            WalDurability::Periodic { interval } => {
                let ticking = Arc::clone(&shared);
                let tick = move || ticking.sync_if_behind();
                Some(PeriodicSyncer::start(&shared.dir, interval, tick)?)
            }
            WalDurability::EveryWrite | WalDurability::OsDefault | WalDurability::None => None,
        };
        info!(
            dir = %shared.dir.display(),
            files,
            records = recovered.records,
            next_sequence = next,
            "WAL opened"
        );
        Ok(Wal {
            shared,
            syncer: Mutex::new(syncer),
        })
    }

    /// Appends one record and returns its sequence. In every mode except `None` the bytes are
    /// handed to the operating system (a write syscall) before this returns, so a process
    /// kill cannot lose them; `None` writes nothing but still assigns the sequence. Rotates to
    /// a new file first when the record would take the current one past `file_bytes_max`.
    ///
    /// Errors: `LimitExceeded` for a payload over `WAL_RECORD_BYTES_MAX`, `ShuttingDown`
    /// after close, `Poisoned` after a failed write or fsync.
    pub(crate) fn append(&self, payload: &[u8]) -> Result<WalSequence> {
        let mut frame = match self.shared.durability {
            WalDurability::None => {
                check_payload_len(payload.len())?;
                None
            }
            WalDurability::EveryWrite
            | WalDurability::Periodic { .. }
            | WalDurability::OsDefault => Some(Frame::new(payload)?),
        };
        let shared = &*self.shared;
        shared
            .writer
            .lock()
            .append(frame.as_mut(), &shared.commits, &shared.closed_files)
    }

    /// Blocks until `sequence` (returned by [`Wal::append`]) meets the mode's guarantee for
    /// an acknowledgement. `EveryWrite`: fsynced, with group commit (concurrent callers share
    /// one fsync, see `group_commit.rs`). The other modes return at once: `append` already
    /// did what they promise. Every mode returns `Poisoned` after a failed write or fsync.
    pub(crate) fn commit(&self, sequence: WalSequence) -> Result<()> {
        let shared = &*self.shared;
        shared.commits.check_poison()?;
        match shared.durability {
            WalDurability::EveryWrite => shared
                .commits
                .wait_synced(sequence.0, &|| shared.sync_written()),
            WalDurability::Periodic { .. } | WalDurability::OsDefault | WalDurability::None => {
                Ok(())
            }
        }
    }

    /// Closes the current file (fsyncing it) and starts a new one. Returns the last sequence
    /// written before the new file: every record at or below it lives in files that will
    /// never be written again. A current file holding no record is kept (closing it would
    /// change nothing), and `None` has no file: both just return the last sequence.
    pub(crate) fn rotate(&self) -> Result<WalSequence> {
        let shared = &*self.shared;
        shared
            .writer
            .lock()
            .rotate_if_written(&shared.commits, &shared.closed_files)
    }

    /// Deletes closed files whose records are all at or below `sequence`, oldest first, never
    /// the current file; fsyncs the directory after each removal, so a crash midway leaves
    /// the surviving files still continuing one another. Returns how many were removed.
    pub(crate) fn remove_through(&self, sequence: WalSequence) -> Result<usize> {
        let mut closed = self.shared.closed_files.lock();
        let mut removed = 0;
        while let Some(file) = closed.front() {
            if file.end.saturating_sub(1) > sequence.0 {
                break;
            }
            match fs::remove_file(&file.path) {
                Ok(()) => sync_dir(&self.shared.dir)?,
                Err(error) if error.kind() == ErrorKind::NotFound => {}
                Err(error) => return Err(Error::io("removing WAL file", &file.path)(error)),
            }
            closed.pop_front();
            removed += 1;
        }
        if removed > 0 {
            info!(removed, through = sequence.0, "removed WAL files");
        }
        Ok(removed)
    }

    /// Highest sequence known to be fsynced.
    pub(crate) fn synced_sequence(&self) -> WalSequence {
        WalSequence(self.shared.commits.synced())
    }

    /// The sequence the next append will get.
    pub(crate) fn next_sequence(&self) -> WalSequence {
        WalSequence(self.shared.writer.lock().next())
    }

    /// Stops the periodic syncer and fsyncs the current file. Afterwards appends and rotations
    /// return `ShuttingDown`. Closing again does nothing. Dropping without closing stops the
    /// syncer too, but leaves the last writes to the operating system.
    pub(crate) fn close(&self) -> Result<()> {
        if let Some(syncer) = self.syncer.lock().take() {
            syncer.stop();
        }
        self.shared.writer.lock().close(&self.shared.commits)
    }

    /// WAL file fsyncs since open.
    pub(crate) fn fsyncs(&self) -> u64 {
        self.shared
            .commits
            .fsyncs
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The directory of the WAL files.
    #[cfg(test)]
    fn dir(&self) -> &Path {
        &self.shared.dir
    }
}

impl Drop for Wal {
    fn drop(&mut self) {
        if let Some(syncer) = self.syncer.get_mut().take() {
            syncer.stop();
        }
    }
}

impl Shared {
    /// Fsyncs everything written so far; returns the last sequence that covers. Only the
    /// current file needs it: rotation fsynced the closed ones.
    fn sync_written(&self) -> Result<u64> {
        let (file, written) = self.writer.lock().sync_target();
        if let Some((file, path)) = file {
            self.commits.fsync(&file, &path)?;
        }
        Ok(written)
    }

    /// The periodic syncer's tick: an fsync when something was written since the last one.
    fn sync_if_behind(&self) -> Result<()> {
        let written = self.writer.lock().written();
        if written <= self.commits.synced() {
            return Ok(());
        }
        self.commits.wait_synced(written, &|| self.sync_written())
    }
}

/// Refuses options the WAL cannot honour.
fn check_options(options: &WalOptions) -> Result<()> {
    if let WalDurability::Periodic { interval } = options.durability
        && interval.is_zero()
    {
        return Err(Error::InvalidOption {
            option: "wal_durability",
            reason: "the periodic fsync interval must be positive".to_owned(),
        });
    }
    if options.next_sequence_min.0 >= SEQUENCE_LIMIT {
        return Err(Error::InvalidOption {
            option: "next_sequence_min",
            reason: format!("{} is not below 2^63", options.next_sequence_min.0),
        });
    }
    Ok(())
}

/// Creates the WAL directory if missing, durably: its entry lives in its parent.
fn create_dir(dir: &Path) -> Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    fs::create_dir_all(dir).map_err(Error::io("creating WAL directory", dir))?;
    match dir.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => sync_dir(parent),
        _ => Ok(()),
    }
}
