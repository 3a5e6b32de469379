//! A [`Version`]: the immutable set of live segments and tombstones a scan reads. Writers of
//! the manifest (flush, compaction, delete) build a new version and swap it in; readers hold
//! an `Arc` to the one they started with, so a compaction never pulls files from under them.

use std::collections::BTreeSet;
use std::sync::Arc;

use crate::binary::{ByteReader, ByteWriter, DecodeResult};
use crate::predicate::TimeRange;
use crate::run::Run;
use crate::segment::SegmentReader;
use crate::series::SeriesId;
use crate::wal::WalSequence;

/// A delete: rows of `series` within `range` written before `sequence` are gone.
///
/// It applies to any source (segment or frozen memtable) whose data is all older than the
/// delete (`max_sequence < sequence`). Sources made after the delete cannot hold those rows:
/// the delete removed them from the active memtable when it ran, and compaction applies
/// tombstones to its older inputs before merging.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Tombstone {
    pub(crate) sequence: WalSequence,
    pub(crate) measurement: String,
    /// Sorted, so membership is a binary search.
    pub(crate) series: Vec<SeriesId>,
    pub(crate) range: TimeRange,
}

impl Tombstone {
    pub(crate) fn applies_to(&self, source_max_sequence: u64) -> bool {
        source_max_sequence < self.sequence.0
    }

    pub(crate) fn covers_series(&self, id: SeriesId) -> bool {
        self.series.binary_search(&id).is_ok()
    }

    pub(crate) fn write(&self, writer: &mut ByteWriter) {
        writer.u64(self.sequence.0);
        writer.str(&self.measurement);
        writer.i64(self.range.min_ns);
        writer.i64(self.range.max_ns);
        writer.len_var(self.series.len());
        self.series.iter().for_each(|id| writer.u64(id.0));
    }

    pub(crate) fn read(reader: &mut ByteReader<'_>) -> DecodeResult<Self> {
        let sequence = WalSequence(reader.u64()?);
        let measurement = reader.string()?;
        let range = TimeRange::new(reader.i64()?, reader.i64()?);
        let count = reader.len_var(8)?;
        let mut series = (0..count)
            .map(|_| reader.u64().map(SeriesId))
            .collect::<DecodeResult<Vec<_>>>()?;
        series.sort_unstable();
        Ok(Self {
            sequence,
            measurement,
            series,
            range,
        })
    }
}

/// Removes from `run` the rows that tombstones newer than the source delete.
pub(crate) fn apply_tombstones(
    run: &mut Run,
    id: SeriesId,
    source_max_sequence: u64,
    tombstones: &[Arc<Tombstone>],
) {
    let relevant: Vec<&TimeRange> = tombstones
        .iter()
        .filter(|t| t.applies_to(source_max_sequence) && t.covers_series(id))
        .map(|t| &t.range)
        .collect();
    if !relevant.is_empty() {
        run.retain_rows(|ts| !relevant.iter().any(|range| range.contains(ts)));
    }
}

/// Live segments (oldest data first) and tombstones.
#[derive(Debug, Default)]
pub(crate) struct Version {
    /// Sorted by max sequence: among segments of one partition, later means newer data.
    pub(crate) segments: Vec<Arc<SegmentReader>>,
    pub(crate) tombstones: Vec<Arc<Tombstone>>,
}

impl Version {
    pub(crate) fn new(
        mut segments: Vec<Arc<SegmentReader>>,
        tombstones: Vec<Arc<Tombstone>>,
    ) -> Self {
        segments.sort_by_key(|segment| (segment.footer().header.max_sequence, segment.id()));
        Self {
            segments,
            tombstones,
        }
    }

    /// Distinct partition starts of the live segments.
    pub(crate) fn partitions(&self) -> BTreeSet<i64> {
        self.segments
            .iter()
            .map(|s| s.footer().header.partition_start_ns)
            .collect()
    }

    /// Segments of one partition, oldest first.
    pub(crate) fn partition_segments(&self, start_ns: i64) -> Vec<Arc<SegmentReader>> {
        self.segments
            .iter()
            .filter(|s| s.footer().header.partition_start_ns == start_ns)
            .map(Arc::clone)
            .collect()
    }

    /// Tombstones still needed: a tombstone can go once no source older than it remains, that
    /// is no frozen memtable (`frozen_max_sequences`) and no segment it applies to whose rows
    /// it could hide. (Unflushed WAL records older than it need no tombstone: on replay the
    /// delete record itself is replayed after them.)
    pub(crate) fn live_tombstones(&self, frozen_max_sequences: &[u64]) -> Vec<Arc<Tombstone>> {
        self.tombstones
            .iter()
            .filter(|tombstone| {
                frozen_max_sequences
                    .iter()
                    .any(|max| tombstone.applies_to(*max))
                    || self
                        .segments
                        .iter()
                        .any(|segment| tombstone_hits(tombstone, segment))
            })
            .map(Arc::clone)
            .collect()
    }

    /// Whether some tombstone may hide rows of `segment` (so rewriting it reclaims space).
    pub(crate) fn has_tombstoned_rows(&self, segment: &SegmentReader) -> bool {
        self.tombstones
            .iter()
            .any(|tombstone| tombstone_hits(tombstone, segment))
    }
}

fn tombstone_hits(tombstone: &Tombstone, segment: &SegmentReader) -> bool {
    let footer = segment.footer();
    tombstone.applies_to(footer.header.max_sequence)
        && tombstone.range.overlaps(footer.min_ns, footer.max_ns)
        && tombstone
            .series
            .iter()
            .any(|id| segment.contains_series(*id))
}

/// The partition holding `timestamp_ns` when partitions are `duration_ns` wide, aligned to
/// the Unix epoch (floor division, so times before 1970 land in the right partition).
pub(crate) fn partition_start(timestamp_ns: i64, duration_ns: i64) -> i64 {
    debug_assert!(duration_ns > 0);
    let start = i128::from(timestamp_ns.div_euclid(duration_ns)) * i128::from(duration_ns);
    i64::try_from(start).unwrap_or(i64::MIN)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partitions_floor_before_1970_and_clamp_at_the_extremes() {
        let day = 86_400_000_000_000;
        assert_eq!(partition_start(0, day), 0);
        assert_eq!(partition_start(day - 1, day), 0);
        assert_eq!(partition_start(-1, day), -day);
        assert_eq!(partition_start(-day, day), -day);
        assert_eq!(partition_start(i64::MAX, day), i64::MAX - i64::MAX % day);
        assert_eq!(partition_start(i64::MIN, day), i64::MIN);
    }

    #[test]
    fn tombstone_applies_only_to_older_sources() {
        let tombstone = Tombstone {
            sequence: WalSequence(10),
            measurement: "cpu".into(),
            series: vec![SeriesId(1), SeriesId(5)],
            range: TimeRange::new(0, 100),
        };
        assert!(tombstone.applies_to(9));
        assert!(!tombstone.applies_to(10));
        assert!(tombstone.covers_series(SeriesId(5)));
        assert!(!tombstone.covers_series(SeriesId(2)));
        let mut writer = ByteWriter::new();
        tombstone.write(&mut writer);
        let bytes = writer.into_bytes();
        assert_eq!(
            Tombstone::read(&mut ByteReader::new(&bytes)).unwrap(),
            tombstone
        );
    }
}
