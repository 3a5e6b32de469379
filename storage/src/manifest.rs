//! The manifest: the one file that says which segments are live, how far the WAL has been
//! flushed, the measurement schemas and the tombstones. It is rewritten whole and replaced
//! atomically (temporary file, fsync, rename, directory fsync) after every flush, compaction
//! and close, so after a crash it names exactly the segments of the last completed change.
//! Segment files it does not name are leftovers of an interrupted flush and are removed.

use std::path::Path;
use std::sync::Arc;

use crate::binary::{ByteReader, ByteWriter, DecodeError, DecodeResult};
use crate::error::{Error, Result};
use crate::schema::{FieldType, MeasurementSchema};
use crate::version::Tombstone;
use crate::wal::WalSequence;

const MAGIC: &[u8; 8] = b"RTSMAN01";

/// A live segment as the manifest records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SegmentEntry {
    pub(crate) id: u64,
    pub(crate) partition_start_ns: i64,
}

/// The manifest's contents.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Manifest {
    pub(crate) next_segment_id: u64,
    /// Every WAL record up to this sequence is in segments.
    pub(crate) flushed_sequence: WalSequence,
    pub(crate) schemas: Vec<MeasurementSchema>,
    pub(crate) segments: Vec<SegmentEntry>,
    pub(crate) tombstones: Vec<Arc<Tombstone>>,
}

impl Manifest {
    /// Reads the manifest; a missing file is an empty store.
    pub(crate) fn load(path: &Path) -> Result<Self> {
        let bytes = match std::fs::read(path) {
            Ok(bytes) => bytes,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                return Ok(Self {
                    next_segment_id: 1,
                    ..Self::default()
                });
            }
            Err(error) => return Err(Error::io("reading manifest", path)(error)),
        };
        Self::decode(&bytes).map_err(|error| Error::Corrupt {
            what: "manifest",
            path: path.to_owned(),
            offset: 0,
            reason: error.0,
        })
    }

    pub(crate) fn store(&self, path: &Path) -> Result<()> {
        crate::fs::write_atomically(path, &self.encode())
    }

    fn encode(&self) -> Vec<u8> {
        let mut body = ByteWriter::new();
        body.u64(self.next_segment_id);
        body.u64(self.flushed_sequence.0);
        body.len_var(self.schemas.len());
        for schema in &self.schemas {
            body.str(&schema.name);
            body.len_var(schema.tag_keys.len());
            schema.tag_keys.iter().for_each(|key| body.str(key));
            body.len_var(schema.fields.len());
            for field in &schema.fields {
                body.str(&field.name);
                body.u8(field.field_type.code());
            }
        }
        body.len_var(self.segments.len());
        for segment in &self.segments {
            body.u64(segment.id);
            body.i64(segment.partition_start_ns);
        }
        body.len_var(self.tombstones.len());
        self.tombstones
            .iter()
            .for_each(|tombstone| tombstone.write(&mut body));
        let body = body.into_bytes();
        let mut out = ByteWriter::new();
        out.raw(MAGIC);
        out.u32(crc32fast::hash(&body));
        out.raw(&body);
        out.into_bytes()
    }

    fn decode(bytes: &[u8]) -> DecodeResult<Self> {
        let mut reader = ByteReader::new(bytes);
        if reader.take(8)? != MAGIC {
            return Err(DecodeError("bad magic".into()));
        }
        let checksum = reader.u32()?;
        let body = reader.take(reader.remaining())?;
        if crc32fast::hash(body) != checksum {
            return Err(DecodeError("checksum mismatch".into()));
        }
        let mut reader = ByteReader::new(body);
        let next_segment_id = reader.u64()?;
        let flushed_sequence = WalSequence(reader.u64()?);
        let schema_count = reader.len_var(3)?;
        let schemas = (0..schema_count)
            .map(|_| read_schema(&mut reader))
            .collect::<DecodeResult<_>>()?;
        let segment_count = reader.len_var(16)?;
        let mut segments = Vec::with_capacity(segment_count);
        for _ in 0..segment_count {
            segments.push(SegmentEntry {
                id: reader.u64()?,
                partition_start_ns: reader.i64()?,
            });
        }
        let tombstone_count = reader.len_var(25)?;
        let tombstones = (0..tombstone_count)
            .map(|_| Tombstone::read(&mut reader).map(Arc::new))
            .collect::<DecodeResult<_>>()?;
        if !reader.is_empty() {
            return Err(DecodeError("trailing bytes".into()));
        }
        Ok(Self {
            next_segment_id,
            flushed_sequence,
            schemas,
            segments,
            tombstones,
        })
    }
}

fn read_schema(reader: &mut ByteReader<'_>) -> DecodeResult<MeasurementSchema> {
    let mut schema = MeasurementSchema::new(reader.str()?);
    let tag_count = reader.len_var(1)?;
    for _ in 0..tag_count {
        schema.ensure_tag(reader.str()?);
    }
    let field_count = reader.len_var(2)?;
    for _ in 0..field_count {
        let name = reader.string()?;
        let code = reader.u8()?;
        let field_type = FieldType::from_code(code)
            .ok_or_else(|| DecodeError(format!("unknown field type code {code}")))?;
        schema.ensure_field(&name, field_type);
    }
    Ok(schema)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::predicate::TimeRange;
    use crate::series::SeriesId;

    #[test]
    fn round_trips_and_detects_damage() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("MANIFEST");
        assert_eq!(Manifest::load(&path).unwrap().next_segment_id, 1);
        let mut schema = MeasurementSchema::new("cpu");
        schema.ensure_tag("host");
        schema.ensure_field("usage", FieldType::Float);
        let manifest = Manifest {
            next_segment_id: 7,
            flushed_sequence: WalSequence(42),
            schemas: vec![schema],
            segments: vec![SegmentEntry {
                id: 3,
                partition_start_ns: -86_400,
            }],
            tombstones: vec![Arc::new(Tombstone {
                sequence: WalSequence(40),
                measurement: "cpu".into(),
                series: vec![SeriesId(9)],
                range: TimeRange::new(1, 2),
            })],
        };
        manifest.store(&path).unwrap();
        assert_eq!(Manifest::load(&path).unwrap(), manifest);
        let mut bytes = std::fs::read(&path).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        std::fs::write(&path, &bytes).unwrap();
        let error = Manifest::load(&path).unwrap_err();
        assert_eq!(error.kind(), rusts_common::ErrorKind::DataCorrupted);
    }
}
