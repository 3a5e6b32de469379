//! The persisted series index: an append-only file of `(series id, series key)` records,
//! each framed as `[u32 length][u32 crc32][payload]`. New series are appended and fsynced
//! before the first segment that mentions them becomes visible in the manifest, so every id a
//! segment holds can be resolved after a restart. A torn tail (a crash mid-append) is
//! truncated on open: those series were not yet referenced by any segment and come back from
//! the WAL.

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use crate::binary::{ByteReader, ByteWriter};
use crate::error::{Error, Result};
use crate::series::{SeriesId, SeriesKey};

/// Largest series record accepted on read (a key is bounded by the point limits).
const RECORD_BYTES_MAX: usize = 64 << 20;

/// An open series log, positioned at its end.
#[derive(Debug)]
pub(crate) struct SeriesLog {
    path: PathBuf,
    file: File,
}

impl SeriesLog {
    /// Opens or creates the log and returns every intact record in order.
    pub(crate) fn open(path: &Path) -> Result<(Self, Vec<(SeriesId, SeriesKey)>)> {
        let mut file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(path)
            .map_err(Error::io("opening series log", path))?;
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes)
            .map_err(Error::io("reading series log", path))?;
        let (records, valid_bytes) = parse(&bytes, path)?;
        if valid_bytes < bytes.len() {
            tracing::warn!(
                path = %path.display(),
                offset = valid_bytes,
                dropped_bytes = bytes.len() - valid_bytes,
                "series log has a torn tail; truncating it"
            );
            file.set_len(valid_bytes as u64)
                .map_err(Error::io("truncating series log", path))?;
            file.sync_all()
                .map_err(Error::io("syncing series log", path))?;
        }
        Ok((
            Self {
                path: path.to_owned(),
                file,
            },
            records,
        ))
    }

    /// Appends records and fsyncs them.
    pub(crate) fn append(&mut self, series: &[(SeriesId, &SeriesKey)]) -> Result<()> {
        if series.is_empty() {
            return Ok(());
        }
        let out = frame(series);
        let path = &self.path;
        self.file
            .write_all(&out)
            .map_err(Error::io("appending to series log", path))?;
        self.file
            .sync_data()
            .map_err(Error::io("syncing series log", path))
    }

    /// Replaces the whole log with `series` (after a measurement was dropped): written to a
    /// temporary file, fsynced and renamed over the log, so a crash leaves the old log or the
    /// new one, never a mix.
    pub(crate) fn rewrite(&mut self, series: &[(SeriesId, &SeriesKey)]) -> Result<()> {
        crate::fs::write_atomically(&self.path, &frame(series))?;
        self.file = OpenOptions::new()
            .read(true)
            .append(true)
            .open(&self.path)
            .map_err(Error::io("opening series log", &self.path))?;
        Ok(())
    }
}

/// Records framed as `[u32 length][u32 crc32][payload]`.
fn frame(series: &[(SeriesId, &SeriesKey)]) -> Vec<u8> {
    let mut out = Vec::new();
    for (id, key) in series {
        let mut payload = ByteWriter::new();
        payload.u64(id.0);
        key.write(&mut payload);
        let payload = payload.into_bytes();
        let length = u32::try_from(payload.len()).expect("series key bounded by limits");
        out.extend_from_slice(&length.to_le_bytes());
        out.extend_from_slice(&crc32fast::hash(&payload).to_le_bytes());
        out.extend_from_slice(&payload);
    }
    out
}

/// What one framed record turned out to be.
enum Parsed {
    Record(SeriesId, SeriesKey),
    /// The file ends inside the record: a torn append.
    Incomplete,
    /// The record is complete but fails its checksum or does not decode; `end` is where the
    /// next record would start.
    Damaged {
        end: usize,
    },
}

/// Parses records until the first damaged one; returns them and the bytes they span.
/// Damage anywhere but in the last record is corruption, not a torn append.
fn parse(bytes: &[u8], path: &Path) -> Result<(Vec<(SeriesId, SeriesKey)>, usize)> {
    let mut reader = ByteReader::new(bytes);
    let mut records = Vec::new();
    let mut valid = 0;
    while !reader.is_empty() {
        match parse_one(&mut reader) {
            Parsed::Record(id, key) => records.push((id, key)),
            Parsed::Incomplete => break,
            Parsed::Damaged { end } if end >= bytes.len() => break,
            Parsed::Damaged { .. } => {
                return Err(Error::Corrupt {
                    what: "series log record",
                    path: path.to_owned(),
                    offset: valid as u64,
                    reason: "checksum mismatch before the end of the file".into(),
                });
            }
        }
        valid = reader.position();
    }
    Ok((records, valid))
}

fn parse_one(reader: &mut ByteReader<'_>) -> Parsed {
    let (Ok(length), Ok(checksum)) = (reader.u32(), reader.u32()) else {
        return Parsed::Incomplete;
    };
    let Ok(length) = usize::try_from(length) else {
        return Parsed::Incomplete;
    };
    if length > RECORD_BYTES_MAX {
        return Parsed::Damaged { end: usize::MAX };
    }
    let Ok(payload) = reader.take(length) else {
        return Parsed::Incomplete;
    };
    let end = reader.position();
    if crc32fast::hash(payload) != checksum {
        return Parsed::Damaged { end };
    }
    let mut payload = ByteReader::new(payload);
    let (Ok(id), Ok(key)) = (payload.u64(), SeriesKey::read(&mut payload)) else {
        return Parsed::Damaged { end };
    };
    if !payload.is_empty() {
        return Parsed::Damaged { end };
    }
    Parsed::Record(SeriesId(id), key)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(host: &str) -> SeriesKey {
        SeriesKey::new("cpu", &[("host".into(), host.into())])
    }

    #[test]
    fn records_survive_reopen_and_torn_tail_is_truncated() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("series.log");
        let (mut log, records) = SeriesLog::open(&path).unwrap();
        assert!(records.is_empty());
        let (a, b) = (key("a"), key("b"));
        log.append(&[(SeriesId(1), &a), (SeriesId(2), &b)]).unwrap();
        drop(log);
        let full = std::fs::read(&path).unwrap();
        for cut in 0..full.len() {
            std::fs::write(&path, &full[..cut]).unwrap();
            let (_, records) = SeriesLog::open(&path).unwrap();
            let first_len = full.len() / 2;
            let expected = usize::from(cut >= first_len);
            assert_eq!(records.len(), expected, "cut at {cut}");
            assert!(std::fs::metadata(&path).unwrap().len() <= cut as u64);
        }
        std::fs::write(&path, &full).unwrap();
        let (mut log, records) = SeriesLog::open(&path).unwrap();
        assert_eq!(records, vec![(SeriesId(1), a), (SeriesId(2), b)]);
        let c = key("c");
        log.append(&[(SeriesId(3), &c)]).unwrap();
        let (_, records) = SeriesLog::open(&path).unwrap();
        assert_eq!(records.len(), 3);
    }

    #[test]
    fn flipped_byte_stops_at_the_damaged_record() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("series.log");
        let (mut log, _) = SeriesLog::open(&path).unwrap();
        let (a, b) = (key("a"), key("b"));
        log.append(&[(SeriesId(1), &a), (SeriesId(2), &b)]).unwrap();
        let mut bytes = std::fs::read(&path).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 0xff;
        std::fs::write(&path, &bytes).unwrap();
        let (_, records) = SeriesLog::open(&path).unwrap();
        assert_eq!(records, vec![(SeriesId(1), a.clone())]);
    }

    #[test]
    fn damage_before_the_last_record_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("series.log");
        let (mut log, _) = SeriesLog::open(&path).unwrap();
        let (a, b) = (key("a"), key("b"));
        log.append(&[(SeriesId(1), &a), (SeriesId(2), &b)]).unwrap();
        let mut bytes = std::fs::read(&path).unwrap();
        bytes[10] ^= 0xff;
        std::fs::write(&path, &bytes).unwrap();
        let error = SeriesLog::open(&path).unwrap_err();
        assert_eq!(error.kind(), rusts_common::ErrorKind::DataCorrupted);
    }
}
