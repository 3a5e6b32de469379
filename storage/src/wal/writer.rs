//! The append side of the WAL: the file being written, sequence assignment and rotation.
//! Everything here runs under the WAL's writer lock, so sequences reach the file in order.
//!
//! Any failure to write, fsync or rotate poisons the WAL: a partial write leaves bytes that
//! replay would stop at, hiding every record appended after them, so carrying on could
//! acknowledge writes a restart would not replay.

use std::collections::VecDeque;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use parking_lot::Mutex;

use super::WalSequence;
use super::format::{FileHeader, Frame, SEQUENCE_LIMIT, file_name};
use super::group_commit::GroupCommit;
use super::replay::RecoveredFile;
use crate::error::{Error, Result};
use crate::fs::sync_dir;

/// A file no record will be appended to again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct ClosedFile {
    /// The file.
    pub(super) path: PathBuf,
    /// Sequence after its last record: every record in it is below this.
    pub(super) end: u64,
}

impl From<RecoveredFile> for ClosedFile {
    fn from(file: RecoveredFile) -> Self {
        Self {
            path: file.path,
            end: file.end,
        }
    }
}

/// The file being appended to.
#[derive(Debug)]
struct CurrentFile {
    path: PathBuf,
    /// Sequence of its first record.
    first: u64,
    /// Shared so a group-commit leader can fsync it without holding the writer lock.
    file: Arc<File>,
    /// Its length.
    bytes: u64,
}

/// The writer state behind the WAL's writer lock.
#[derive(Debug)]
pub(super) struct Writer {
    dir: PathBuf,
    file_bytes_max: u64,
    /// `None` in `WalDurability::None` and after close.
    current: Option<CurrentFile>,
    /// The sequence the next append gets.
    next: u64,
    /// The last sequence handed to the operating system (0: none).
    written: u64,
    closed: bool,
}

/// What a group-commit leader fsyncs: the current file and the last sequence in it.
pub(super) type SyncTarget = (Option<(Arc<File>, PathBuf)>, u64);

impl Writer {
    /// Starts writing after recovery. With `append` (every mode that writes), continues the
    /// last recovered file when its sequences run straight into `next`, and otherwise starts
    /// a new file; returns the writer and the files it will not append to.
    pub(super) fn resume(
        dir: &Path,
        file_bytes_max: u64,
        mut files: Vec<RecoveredFile>,
        next: u64,
        append: bool,
    ) -> Result<(Self, VecDeque<ClosedFile>)> {
        let mut current = None;
        if append {
            current = Some(match files.pop() {
                Some(last) if last.end == next => open_current(last)?,
                last => {
                    let continues_from = last.as_ref().map_or(next, |file| file.end);
                    files.extend(last);
                    create_file(
                        dir,
                        FileHeader {
                            first: next,
                            continues_from,
                        },
                    )?
                }
            });
        }
        let closed = files.into_iter().map(ClosedFile::from).collect();
        let writer = Self {
            dir: dir.to_owned(),
            file_bytes_max,
            current,
            next,
            written: next - 1,
            closed: false,
        };
        Ok((writer, closed))
    }

    /// The sequence the next append gets.
    pub(super) fn next(&self) -> u64 {
        self.next
    }

    /// The last sequence handed to the operating system.
    pub(super) fn written(&self) -> u64 {
        self.written
    }

    /// Assigns the next sequence and, given a frame, writes it (rotating first when the
    /// current file is full). Without a frame (`WalDurability::None`) only the sequence moves.
    pub(super) fn append(
        &mut self,
        frame: Option<&mut Frame>,
        commits: &GroupCommit,
        closed: &Mutex<VecDeque<ClosedFile>>,
    ) -> Result<WalSequence> {
        if self.closed {
            return Err(Error::ShuttingDown);
        }
        commits.check_poison()?;
        let sequence = self.next;
        if sequence >= SEQUENCE_LIMIT {
            return Err(Error::LimitExceeded {
                what: "WAL sequence",
                value: sequence,
                limit: SEQUENCE_LIMIT - 1,
            });
        }
        if let Some(frame) = frame {
            if self
                .current
                .as_ref()
                .is_some_and(|current| self.is_full(current, frame.len()))
            {
                self.rotate(commits, closed)?;
            }
            if let Some(current) = self.current.as_mut() {
                (&*current.file)
                    .write_all(frame.seal(sequence))
                    .map_err(|source| commits.poison("writing WAL file", &current.path, source))?;
                current.bytes += frame.len();
                self.written = sequence;
            }
        }
        self.next = sequence + 1;
        Ok(WalSequence(sequence))
    }

    /// Whether `current` must be closed before a frame of `frame_bytes` is appended. A file
    /// always takes at least one record, so a record larger than the limit still fits.
    fn is_full(&self, current: &CurrentFile, frame_bytes: u64) -> bool {
        self.next > current.first && current.bytes + frame_bytes > self.file_bytes_max
    }

    /// Closes the current file and starts the next one, unless the current file holds no
    /// record yet (a new file would change nothing). Returns the last sequence written before.
    pub(super) fn rotate_if_written(
        &mut self,
        commits: &GroupCommit,
        closed: &Mutex<VecDeque<ClosedFile>>,
    ) -> Result<WalSequence> {
        if self.closed {
            return Err(Error::ShuttingDown);
        }
        commits.check_poison()?;
        if self
            .current
            .as_ref()
            .is_some_and(|current| self.next > current.first)
        {
            self.rotate(commits, closed)?;
        }
        Ok(WalSequence(self.next - 1))
    }

    fn rotate(
        &mut self,
        commits: &GroupCommit,
        closed: &Mutex<VecDeque<ClosedFile>>,
    ) -> Result<()> {
        let Some(current) = self.current.as_ref() else {
            return Ok(());
        };
        // The file is complete on disk before its successor exists, so a crash can only
        // ever tear the last file (which replay repairs); earlier files must be intact.
        commits.fsync(&current.file, &current.path)?;
        commits.mark_synced(self.written);
        let header = FileHeader {
            first: self.next,
            continues_from: self.next,
        };
        let next_file = create_file(&self.dir, header).map_err(|error| match error {
            Error::Io {
                operation,
                path,
                source,
            } => commits.poison(operation, &path, source),
            other => other,
        })?;
        if let Some(previous) = self.current.replace(next_file) {
            closed.lock().push_back(ClosedFile {
                path: previous.path,
                end: self.next,
            });
        }
        Ok(())
    }

    /// What a group-commit leader must fsync to cover everything written so far.
    pub(super) fn sync_target(&self) -> SyncTarget {
        let file = self
            .current
            .as_ref()
            .map(|current| (Arc::clone(&current.file), current.path.clone()));
        (file, self.written)
    }

    /// Fsyncs and closes the current file; later appends get `Error::ShuttingDown`.
    /// Closing twice does nothing.
    pub(super) fn close(&mut self, commits: &GroupCommit) -> Result<()> {
        if self.closed {
            return Ok(());
        }
        self.closed = true;
        commits.check_poison()?;
        if let Some(current) = self.current.take() {
            commits.fsync(&current.file, &current.path)?;
            commits.mark_synced(self.written);
        }
        Ok(())
    }
}

/// Creates a WAL file holding just its header, durably: the header is fsynced and so is the
/// directory entry, so after a crash the file either is absent or has a valid header.
fn create_file(dir: &Path, header: FileHeader) -> Result<CurrentFile> {
    let path = dir.join(file_name(header.first));
    let file = OpenOptions::new()
        .append(true)
        .create_new(true)
        .open(&path)
        .map_err(Error::io("creating WAL file", &path))?;
    let header_bytes = header.encode();
    (&file)
        .write_all(&header_bytes)
        .map_err(Error::io("writing WAL file", &path))?;
    file.sync_data()
        .map_err(Error::io("fsyncing WAL file", &path))?;
    sync_dir(dir)?;
    let bytes = u64::try_from(header_bytes.len()).expect("the header is 32 bytes");
    Ok(CurrentFile {
        path,
        first: header.first,
        file: Arc::new(file),
        bytes,
    })
}

/// Reopens the last recovered file to append to it.
fn open_current(file: RecoveredFile) -> Result<CurrentFile> {
    let handle = OpenOptions::new()
        .append(true)
        .open(&file.path)
        .map_err(Error::io("opening WAL file", &file.path))?;
    Ok(CurrentFile {
        path: file.path,
        first: file.first,
        file: Arc::new(handle),
        bytes: file.bytes,
    })
}
