//! Recovery at open: finds the WAL files in the directory, replays their records in sequence
//! order, repairs the last file and refuses damage anywhere else.
//!
//! Why only the last file may be repaired: a file is fsynced before the next one is created
//! (rotation and open both guarantee it), so a crash or power loss can tear only the file
//! that was being appended to. Damage in an earlier file means the disk or someone else
//! changed it; dropping its tail would silently lose acknowledged writes that later files
//! depend on, so recovery stops with [`Error::Corrupt`] and leaves the files for an operator.

use std::cmp::max;
use std::fs::{self, OpenOptions};
use std::path::{Path, PathBuf};

use tracing::warn;

use super::WalSequence;
use super::format::{FILE_HEADER_BYTES, FileHeader, FileName, parse_file_name};
use super::reader::{Damage, FileReader};
use crate::error::{Error, Result};
use crate::fs::sync_dir;

/// A WAL file that survived recovery, with its exact range.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct RecoveredFile {
    /// The file.
    pub(super) path: PathBuf,
    /// Sequence of its first record (from its name and header).
    pub(super) first: u64,
    /// Sequence after its last record; `first` when it holds none.
    pub(super) end: u64,
    /// Its length after any repair.
    pub(super) bytes: u64,
}

/// What recovery found.
#[derive(Debug, Default)]
pub(super) struct Recovered {
    /// Surviving files in sequence order.
    pub(super) files: Vec<RecoveredFile>,
    /// The lowest sequence no file has used (at least 1: sequence 0 means "none").
    pub(super) next: u64,
    /// Records replayed.
    pub(super) records: u64,
}

/// Replays every WAL file in `dir` through `replay` (see the module documentation).
pub(super) fn recover(
    dir: &Path,
    replay: &mut dyn FnMut(WalSequence, &[u8]) -> Result<()>,
) -> Result<Recovered> {
    let listed = list_files(dir)?;
    let mut recovered = Recovered {
        next: 1,
        ..Recovered::default()
    };
    let count = listed.len();
    for (index, (first, path)) in listed.into_iter().enumerate() {
        let is_last = index + 1 == count;
        // The name alone says no record before `first` will ever be written again, even
        // when the file is dropped below as torn.
        recovered.next = max(recovered.next, first);
        let reader = FileReader::open(&path)?;
        let header = match reader.header.clone() {
            Ok(header) => header,
            Err(damage) if is_last && reader.file_bytes <= FILE_HEADER_BYTES as u64 => {
                remove_torn_file(dir, &path, &damage)?;
                continue;
            }
            Err(damage) => return Err(damage.into_error(&path)),
        };
        check_header(&path, first, header, recovered.files.last())?;
        let read = reader.read_records(header, replay)?;
        let mut bytes = read.valid_bytes;
        if let Some(damage) = read.damage {
            if !is_last {
                return Err(damage.into_error(&path));
            }
            bytes = truncate_torn_tail(&path, damage)?;
        }
        recovered.records += read.records;
        recovered.next = max(recovered.next, read.end);
        recovered.files.push(RecoveredFile {
            path,
            first,
            end: read.end,
            bytes,
        });
    }
    if let Some(last) = recovered.files.last() {
        sync_last_file(&last.path)?;
    }
    Ok(recovered)
}

/// The WAL files in `dir`, by first sequence. Other files are left alone; a file named like
/// a WAL file but not parseable is refused, since skipping it could skip records.
fn list_files(dir: &Path) -> Result<Vec<(u64, PathBuf)>> {
    let mut files = Vec::new();
    for entry in fs::read_dir(dir).map_err(Error::io("listing WAL directory", dir))? {
        let entry = entry.map_err(Error::io("listing WAL directory", dir))?;
        let path = entry.path();
        let name = entry.file_name();
        match parse_file_name(&name.to_string_lossy()) {
            FileName::Wal(first) => files.push((first, path)),
            FileName::Malformed => {
                return Err(Error::Corrupt {
                    what: "WAL file name",
                    path,
                    offset: 0,
                    reason: "expected wal-<20 digits below 2^63>.log".to_owned(),
                });
            }
            FileName::Other => {}
        }
    }
    files.sort_unstable();
    Ok(files)
}

/// Checks that a file's header agrees with its name and continues the previous file.
fn check_header(
    path: &Path,
    first: u64,
    header: FileHeader,
    previous: Option<&RecoveredFile>,
) -> Result<()> {
    let corrupt = |reason: String| Error::Corrupt {
        what: "WAL file header",
        path: path.to_owned(),
        offset: 0,
        reason,
    };
    if header.first != first {
        return Err(corrupt(format!(
            "header says the first sequence is {}, the name says {first}",
            header.first
        )));
    }
    // A file missing between two others (or one restored from elsewhere) shows up here: the
    // header records where the previous file ended when this one was created.
    match previous {
        Some(previous) if previous.end != header.continues_from => Err(corrupt(format!(
            "file continues from sequence {}, but the previous file {} ends before {}",
            header.continues_from,
            previous.path.display(),
            previous.end
        ))),
        _ => Ok(()),
    }
}

/// Drops the damaged tail of the last file; returns the file's new length.
fn truncate_torn_tail(path: &Path, damage: Damage) -> Result<u64> {
    let file = OpenOptions::new()
        .write(true)
        .open(path)
        .map_err(Error::io("opening WAL file", path))?;
    let bytes = file
        .metadata()
        .map_err(Error::io("reading WAL file metadata", path))?
        .len();
    warn!(
        path = %path.display(),
        offset = damage.offset,
        bytes_dropped = bytes - damage.offset,
        reason = %damage.reason,
        "truncating torn or corrupt tail of the last WAL file"
    );
    file.set_len(damage.offset)
        .map_err(Error::io("truncating WAL file", path))?;
    file.sync_all()
        .map_err(Error::io("fsyncing WAL file", path))?;
    Ok(damage.offset)
}

/// Removes a last file whose header never fully reached the disk (a crash while creating
/// it); it holds no record.
fn remove_torn_file(dir: &Path, path: &Path, damage: &Damage) -> Result<()> {
    warn!(
        path = %path.display(),
        offset = damage.offset,
        reason = %damage.reason,
        "removing last WAL file with a torn header"
    );
    fs::remove_file(path).map_err(Error::io("removing WAL file", path))?;
    sync_dir(dir)
}

/// Fsyncs the last file: the previous process may have been killed with records still in
/// the page cache, and the records replayed now count as synced.
fn sync_last_file(path: &Path) -> Result<()> {
    let file = fs::File::open(path).map_err(Error::io("opening WAL file", path))?;
    file.sync_all()
        .map_err(Error::io("fsyncing WAL file", path))
}
