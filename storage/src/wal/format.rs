//! The WAL's on-disk format: file names, the file header and record frames (see `README.md`
//! beside this file). Pure encoding and decoding; the reader and writer do the I/O.
//!
//! All integers are little endian. A file is `[header][record]*`:
//!
//! - header (32 bytes): `[magic 8][format version u32][first sequence u64]
//!   [continues from u64][crc32 of the 28 bytes before it]`
//! - record (16 bytes + payload): `[payload_len u32][crc32 over (sequence ‖ payload)]
//!   [sequence u64][payload]`

use crate::error::{Error, Result};
use crate::limits::WAL_RECORD_BYTES_MAX;

/// First bytes of every WAL file.
pub(super) const FILE_MAGIC: [u8; 8] = *b"RUSTSWAL";

/// Version of the layout described above. A reader refuses any other version rather than
/// guessing.
pub(super) const FORMAT_VERSION: u32 = 1;

/// Bytes of the file header.
pub(super) const FILE_HEADER_BYTES: usize = 32;

/// Bytes of a record's frame before its payload.
pub(super) const RECORD_HEADER_BYTES: usize = 16;

/// Sequences stay below this. Names, headers and records carrying a larger one are corrupt,
/// so `sequence + 1` never overflows anywhere (2^63 appends at a billion per second
/// take 292 years).
pub(super) const SEQUENCE_LIMIT: u64 = 1 << 63;

// A record's length field is a u32.
const _: () = assert!(WAL_RECORD_BYTES_MAX <= u32::MAX as usize);

/// The name of the file whose first record has sequence `first`. Zero padding makes the
/// lexical order of names their sequence order, which helps an operator reading `ls`.
pub(super) fn file_name(first: u64) -> String {
    format!("wal-{first:020}.log")
}

/// What a directory entry's name says about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum FileName {
    /// A WAL file whose first record has this sequence.
    Wal(u64),
    /// Named like a WAL file (`wal-*.log`) but not a valid one: refused rather than ignored,
    /// because ignoring it could silently skip records.
    Malformed,
    /// Not ours.
    Other,
}

/// Classifies a directory entry's name.
pub(super) fn parse_file_name(name: &str) -> FileName {
    let Some(digits) = name
        .strip_prefix("wal-")
        .and_then(|rest| rest.strip_suffix(".log"))
    else {
        return FileName::Other;
    };
    if digits.len() != 20 || !digits.bytes().all(|byte| byte.is_ascii_digit()) {
        return FileName::Malformed;
    }
    match digits.parse::<u64>() {
        Ok(first) if first < SEQUENCE_LIMIT => FileName::Wal(first),
        _ => FileName::Malformed,
    }
}

/// The header opening every WAL file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct FileHeader {
    /// Sequence of the file's first record (or of the record it would hold first, if empty).
    pub(super) first: u64,
    /// The sequence that followed the previous file's last record when this file was created.
    /// Equal to `first` except when `WalOptions::next_sequence_min` made the sequence jump at
    /// open: the gap is then recorded here, so replay can tell it from a missing file.
    pub(super) continues_from: u64,
}

impl FileHeader {
    /// The header's bytes.
    pub(super) fn encode(&self) -> [u8; FILE_HEADER_BYTES] {
        let mut bytes = [0_u8; FILE_HEADER_BYTES];
        bytes[0..8].copy_from_slice(&FILE_MAGIC);
        bytes[8..12].copy_from_slice(&FORMAT_VERSION.to_le_bytes());
        bytes[12..20].copy_from_slice(&self.first.to_le_bytes());
        bytes[20..28].copy_from_slice(&self.continues_from.to_le_bytes());
        let crc = crc32fast::hash(&bytes[0..28]);
        bytes[28..32].copy_from_slice(&crc.to_le_bytes());
        bytes
    }

    /// Parses and checks a header; the error is the reason it is refused.
    pub(super) fn decode(bytes: &[u8; FILE_HEADER_BYTES]) -> Result<Self, String> {
        let mut rest = &bytes[..];
        let magic: [u8; 8] = take(&mut rest);
        let version = u32::from_le_bytes(take(&mut rest));
        let first = u64::from_le_bytes(take(&mut rest));
        let continues_from = u64::from_le_bytes(take(&mut rest));
        let crc = u32::from_le_bytes(take(&mut rest));
        if magic != FILE_MAGIC {
            return Err(format!("bad magic {magic:02x?}"));
        }
        let crc_computed = crc32fast::hash(&bytes[0..28]);
        if crc != crc_computed {
            return Err(format!(
                "checksum {crc:#010x}, computed {crc_computed:#010x}"
            ));
        }
        if version != FORMAT_VERSION {
            return Err(format!(
                "unsupported format version {version} (this build reads 1)"
            ));
        }
        if first >= SEQUENCE_LIMIT || continues_from > first {
            return Err(format!(
                "first sequence {first} continues from {continues_from}"
            ));
        }
        Ok(Self {
            first,
            continues_from,
        })
    }
}

/// The fixed part of a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct RecordHeader {
    /// Bytes of payload following the header.
    pub(super) payload_len: u32,
    /// CRC-32 over the sequence's bytes followed by the payload.
    pub(super) crc: u32,
    /// The record's sequence.
    pub(super) sequence: u64,
}

impl RecordHeader {
    /// The header's bytes.
    pub(super) fn encode(&self) -> [u8; RECORD_HEADER_BYTES] {
        let mut bytes = [0_u8; RECORD_HEADER_BYTES];
        bytes[0..4].copy_from_slice(&self.payload_len.to_le_bytes());
        bytes[4..8].copy_from_slice(&self.crc.to_le_bytes());
        bytes[8..16].copy_from_slice(&self.sequence.to_le_bytes());
        bytes
    }

    /// Parses a header; every bit pattern is a header, the reader judges the values.
    pub(super) fn decode(bytes: &[u8; RECORD_HEADER_BYTES]) -> Self {
        let mut rest = &bytes[..];
        let payload_len = u32::from_le_bytes(take(&mut rest));
        let crc = u32::from_le_bytes(take(&mut rest));
        let sequence = u64::from_le_bytes(take(&mut rest));
        Self {
            payload_len,
            crc,
            sequence,
        }
    }
}

/// The CRC a record with this sequence and payload must carry. The sequence is covered so a
/// record copied to the wrong place (or a stale block) cannot pass as the expected one.
pub(super) fn record_crc(sequence: u64, payload: &[u8]) -> u32 {
    let mut hasher = crc32fast::Hasher::new();
    hasher.update(&sequence.to_le_bytes());
    hasher.update(payload);
    hasher.finalize()
}

/// A record being written. It is built (payload copied, payload CRC computed) before the
/// writer lock is taken; only the sequence and the final CRC are filled in under it, so
/// concurrent writers serialise on the write syscall alone.
#[derive(Debug)]
pub(super) struct Frame {
    bytes: Vec<u8>,
    payload_len: u32,
    payload_crc: crc32fast::Hasher,
}

impl Frame {
    /// Frames `payload`, refusing one longer than [`WAL_RECORD_BYTES_MAX`].
    pub(super) fn new(payload: &[u8]) -> Result<Self> {
        let payload_len = check_payload_len(payload.len())?;
        let mut bytes = Vec::with_capacity(RECORD_HEADER_BYTES + payload.len());
        bytes.extend_from_slice(&[0; RECORD_HEADER_BYTES]);
        bytes.extend_from_slice(payload);
        let mut payload_crc = crc32fast::Hasher::new();
        payload_crc.update(payload);
        Ok(Self {
            bytes,
            payload_len,
            payload_crc,
        })
    }

    /// Bytes the frame occupies in the file.
    pub(super) fn len(&self) -> u64 {
        u64::try_from(self.bytes.len()).expect("a frame is at most 256 MiB")
    }

    /// Fills in the sequence and the CRC; returns the bytes to write.
    pub(super) fn seal(&mut self, sequence: u64) -> &[u8] {
        let mut crc = crc32fast::Hasher::new();
        crc.update(&sequence.to_le_bytes());
        // CRC-32 combination avoids hashing the payload again under the lock.
        crc.combine(&self.payload_crc);
        let header = RecordHeader {
            payload_len: self.payload_len,
            crc: crc.finalize(),
            sequence,
        };
        if let Some((slot, _payload)) = self.bytes.split_first_chunk_mut::<RECORD_HEADER_BYTES>() {
            *slot = header.encode();
        }
        &self.bytes
    }
}

/// The payload length as stored, or `LimitExceeded` past [`WAL_RECORD_BYTES_MAX`].
pub(super) fn check_payload_len(bytes: usize) -> Result<u32> {
    let limit_exceeded = || Error::LimitExceeded {
        what: "WAL record bytes",
        value: u64::try_from(bytes).unwrap_or(u64::MAX),
        limit: WAL_RECORD_BYTES_MAX as u64,
    };
    if bytes > WAL_RECORD_BYTES_MAX {
        return Err(limit_exceeded());
    }
    u32::try_from(bytes).map_err(|_| limit_exceeded())
}

/// Takes the next `N` bytes of a fixed-size header.
fn take<const N: usize>(rest: &mut &[u8]) -> [u8; N] {
    let (head, tail) = rest
        .split_first_chunk::<N>()
        .expect("fixed-size headers hold every field they parse");
    *rest = tail;
    *head
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_round_trip_and_sort_by_sequence() {
        assert_eq!(file_name(42), "wal-00000000000000000042.log");
        assert_eq!(parse_file_name(&file_name(42)), FileName::Wal(42));
        assert!(file_name(9) < file_name(10));
        let cases = [
            ("wal-00000000000000000000.log", FileName::Wal(0)),
            (
                "wal-09223372036854775807.log",
                FileName::Wal(SEQUENCE_LIMIT - 1),
            ),
            ("wal-09223372036854775808.log", FileName::Malformed),
            ("wal-99999999999999999999.log", FileName::Malformed),
            ("wal-42.log", FileName::Malformed),
            ("wal-0000000000000000004x.log", FileName::Malformed),
            ("wal-+0000000000000000042.log", FileName::Malformed),
            ("segment-1.seg", FileName::Other),
            ("wal-00000000000000000042.log.tmp", FileName::Other),
            ("LOCK", FileName::Other),
        ];
        for (name, expected) in cases {
            assert_eq!(parse_file_name(name), expected, "{name}");
        }
    }

    #[test]
    fn file_header_round_trips() {
        let header = FileHeader {
            first: 1000,
            continues_from: 17,
        };
        assert_eq!(FileHeader::decode(&header.encode()), Ok(header));
    }

    #[test]
    fn file_header_refuses_damage() {
        let good = FileHeader {
            first: 5,
            continues_from: 5,
        }
        .encode();
        for index in 0..FILE_HEADER_BYTES {
            let mut bad = good;
            bad[index] ^= 0x40;
            assert!(FileHeader::decode(&bad).is_err(), "flipped byte {index}");
        }
        let backwards = FileHeader {
            first: 5,
            continues_from: 6,
        }
        .encode();
        assert_eq!(
            FileHeader::decode(&backwards),
            Err("first sequence 5 continues from 6".to_owned())
        );
        let mut future = FileHeader {
            first: 5,
            continues_from: 5,
        }
        .encode();
        future[8..12].copy_from_slice(&2_u32.to_le_bytes());
        let crc = crc32fast::hash(&future[0..28]);
        future[28..32].copy_from_slice(&crc.to_le_bytes());
        assert_eq!(
            FileHeader::decode(&future),
            Err("unsupported format version 2 (this build reads 1)".to_owned())
        );
    }

    #[test]
    fn sealed_frame_matches_the_record_layout() {
        let payload = b"cpu,host=a usage=0.5 1";
        let mut frame = Frame::new(payload).unwrap();
        assert_eq!(frame.len(), 16 + payload.len() as u64);
        let bytes = frame.seal(7).to_vec();
        let header = RecordHeader::decode(bytes[..16].try_into().unwrap());
        assert_eq!(
            header,
            RecordHeader {
                payload_len: u32::try_from(payload.len()).unwrap(),
                crc: record_crc(7, payload),
                sequence: 7
            }
        );
        assert_eq!(&bytes[16..], payload);
        // Sealing again with another sequence rewrites the header only.
        let resealed = frame.seal(8).to_vec();
        assert_eq!(
            RecordHeader::decode(resealed[..16].try_into().unwrap()).sequence,
            8
        );
        assert_eq!(&resealed[16..], payload);
    }

    #[test]
    fn empty_payload_is_a_record() {
        let mut frame = Frame::new(&[]).unwrap();
        let bytes = frame.seal(1).to_vec();
        assert_eq!(bytes.len(), RECORD_HEADER_BYTES);
        assert_eq!(
            RecordHeader::decode(bytes[..].try_into().unwrap()).crc,
            record_crc(1, &[])
        );
    }

    #[test]
    fn payload_limit_is_inclusive() {
        assert_eq!(
            check_payload_len(WAL_RECORD_BYTES_MAX).unwrap() as usize,
            WAL_RECORD_BYTES_MAX
        );
        let error = check_payload_len(WAL_RECORD_BYTES_MAX + 1).unwrap_err();
        assert_eq!(
            error.to_string(),
            "WAL record bytes limit reached: 268435457 exceeds 268435456"
        );
    }
}
