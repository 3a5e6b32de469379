//! Reads one WAL file: its header, then its records in order, handing each valid one to the
//! replay callback. The reader only *describes* damage (where the valid prefix ends and why);
//! whether damage is a torn tail to drop or corruption to refuse is the replay's decision,
//! because it depends on whether the file is the last one.

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};

use super::WalSequence;
use super::format::{
    FILE_HEADER_BYTES, FileHeader, RECORD_HEADER_BYTES, RecordHeader, SEQUENCE_LIMIT, record_crc,
};
use crate::error::{Error, Result};
use crate::limits::WAL_RECORD_BYTES_MAX;

/// Read buffer: large enough that small records cost no syscall each.
const READ_BUFFER_BYTES: usize = 256 << 10;

/// Where a file stops being valid, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Damage {
    /// Byte offset of the first invalid byte: everything before it is valid.
    pub(super) offset: u64,
    /// The damaged structure ("WAL file header", "WAL record").
    pub(super) what: &'static str,
    /// What failed.
    pub(super) reason: String,
}

impl Damage {
    /// The damage as an error naming `path`.
    pub(super) fn into_error(self, path: &Path) -> Error {
        Error::Corrupt {
            what: self.what,
            path: path.to_owned(),
            offset: self.offset,
            reason: self.reason,
        }
    }
}

/// An opened WAL file whose header has been read.
#[derive(Debug)]
pub(super) struct FileReader {
    path: PathBuf,
    input: BufReader<File>,
    /// The file's length when opened.
    pub(super) file_bytes: u64,
    /// The header, or why it is refused.
    pub(super) header: Result<FileHeader, Damage>,
}

/// What reading a file's records found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct RecordsRead {
    /// Valid records read (and replayed).
    pub(super) records: u64,
    /// Sequence after the last valid record; the header's first sequence when there is none.
    pub(super) end: u64,
    /// Bytes of the valid prefix (header and valid records).
    pub(super) valid_bytes: u64,
    /// Why the bytes after the valid prefix are not records; `None` when the file is clean.
    pub(super) damage: Option<Damage>,
}

impl FileReader {
    /// Opens `path` and reads its header.
    pub(super) fn open(path: &Path) -> Result<Self> {
        let file = File::open(path).map_err(Error::io("opening WAL file", path))?;
        let file_bytes = file
            .metadata()
            .map_err(Error::io("reading WAL file metadata", path))?
            .len();
        let mut input = BufReader::with_capacity(READ_BUFFER_BYTES, file);
        let header = if file_bytes < FILE_HEADER_BYTES as u64 {
            Err(Damage {
                offset: 0,
                what: "WAL file header",
                reason: format!("file is {file_bytes} bytes, shorter than its header (torn)"),
            })
        } else {
            let mut bytes = [0; FILE_HEADER_BYTES];
            input
                .read_exact(&mut bytes)
                .map_err(Error::io("reading WAL file", path))?;
            FileHeader::decode(&bytes).map_err(|reason| Damage {
                offset: 0,
                what: "WAL file header",
                reason,
            })
        };
        Ok(Self {
            path: path.to_owned(),
            input,
            file_bytes,
            header,
        })
    }

    /// Reads the records after a valid `header`, calling `replay` for each valid one in order,
    /// and stops at the end of the file or at the first invalid byte.
    ///
    /// Lengths are checked against the file's size before anything is allocated, so a
    /// damaged length field cannot make replay reserve memory it will not fill.
    pub(super) fn read_records(
        mut self,
        header: FileHeader,
        replay: &mut dyn FnMut(WalSequence, &[u8]) -> Result<()>,
    ) -> Result<RecordsRead> {
        let mut offset = FILE_HEADER_BYTES as u64;
        let mut expected = header.first;
        let mut records = 0;
        let mut payload = Vec::new();
        let damage = loop {
            let remaining = self.file_bytes - offset;
            if remaining == 0 {
                break None;
            }
            if remaining < RECORD_HEADER_BYTES as u64 {
                break Some(format!(
                    "{remaining} bytes left, a record header needs 16 (torn)"
                ));
            }
            let mut header_bytes = [0; RECORD_HEADER_BYTES];
            self.read_exact(&mut header_bytes)?;
            let record = RecordHeader::decode(&header_bytes);
            if let Some(reason) = check_record_len(&record, remaining) {
                break Some(reason);
            }
            payload.resize(record.payload_len as usize, 0);
            self.read_exact(&mut payload)?;
            if let Some(reason) = check_record(&record, &payload, expected) {
                break Some(reason);
            }
            replay(WalSequence(record.sequence), &payload)?;
            records += 1;
            offset += RECORD_HEADER_BYTES as u64 + u64::from(record.payload_len);
            expected += 1;
        };
        let damage = damage.map(|reason| Damage {
            offset,
            what: "WAL record",
            reason,
        });
        Ok(RecordsRead {
            records,
            end: expected,
            valid_bytes: offset,
            damage,
        })
    }

    fn read_exact(&mut self, buffer: &mut [u8]) -> Result<()> {
        self.input
            .read_exact(buffer)
            .map_err(Error::io("reading WAL file", &self.path))
    }
}

/// Why a record's declared length is impossible, if it is.
fn check_record_len(record: &RecordHeader, remaining: u64) -> Option<String> {
    let payload_len = u64::from(record.payload_len);
    if payload_len > WAL_RECORD_BYTES_MAX as u64 {
        return Some(format!(
            "declared length {payload_len} exceeds the record limit {WAL_RECORD_BYTES_MAX}"
        ));
    }
    let record_bytes = RECORD_HEADER_BYTES as u64 + payload_len;
    if record_bytes > remaining {
        return Some(format!(
            "record of {record_bytes} bytes, only {remaining} left (torn)"
        ));
    }
    None
}

/// Why a complete record is invalid, if it is.
fn check_record(record: &RecordHeader, payload: &[u8], expected: u64) -> Option<String> {
    let crc = record_crc(record.sequence, payload);
    if crc != record.crc {
        return Some(format!(
            "checksum {:#010x}, computed {crc:#010x}",
            record.crc
        ));
    }
    if record.sequence != expected {
        return Some(format!(
            "sequence {} where {expected} was expected",
            record.sequence
        ));
    }
    if record.sequence >= SEQUENCE_LIMIT {
        return Some(format!(
            "sequence {} is past the sequence limit",
            record.sequence
        ));
    }
    None
}
