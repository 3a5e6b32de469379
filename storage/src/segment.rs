//! Segments: immutable columnar files, one per time partition per flush (or compaction).
//!
//! ```text
//! "RTSSEG01"                                   8-byte magic
//! block*                                       column blocks, each checksummed in the footer
//! footer                                       SegmentFooter (format.rs)
//! [u64 footer offset][u32 footer length][u32 footer crc32]["RTSSEGF1"]   24-byte trailer
//! ```
//!
//! Rows are ordered by (series id, time). A series' rows are cut into chunks of at most
//! `BLOCK_ROWS_MAX` rows; a chunk has one timestamp block (delta-of-delta) and one block per
//! field that has a value in the chunk (validity + values, codec by type). The footer keeps,
//! per chunk, min/max time and row count, and per column block its location, CRC32, value
//! count and min/max/sum, so scans skip chunks by time and later aggregates can use the
//! statistics without decoding. Files are written under a temporary name, fsynced and renamed,
//! so a segment either exists whole or not at all; the manifest decides which segments are
//! live.

mod format;
mod reader;
mod writer;

pub(crate) use format::{BlockStats, SegmentHeader};
pub(crate) use reader::{ChunkCounts, ChunkFilter, SegmentReader};
pub(crate) use writer::SegmentWriter;

/// First bytes of every segment file.
const MAGIC: &[u8; 8] = b"RTSSEG01";
/// Last bytes of every segment file.
const TRAILER_MAGIC: &[u8; 8] = b"RTSSEGF1";
/// Footer offset (8) + length (4) + crc (4) + magic (8).
const TRAILER_BYTES: u64 = 24;

/// The file name of segment `id`.
pub(crate) fn file_name(id: u64) -> String {
    format!("{id:020}.seg")
}

#[cfg(test)]
mod tests;
