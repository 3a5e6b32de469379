//! How much a scan would read, estimated from metadata only (the tag index, segment footers
//! and memtable row counts), for the query planner: it sizes the scan's parallelism and
//! tells the optimizer whether repartitioning a small input is worth it.
//!
//! Rows are counted per chunk whose time span meets the range, scaled by the share of the
//! span inside it (rows are assumed evenly spread within a chunk), plus every memtable row of
//! the selected series. Overwrites and tombstones are not subtracted, so the estimate leans
//! high. Above [`DETAILED_SERIES_MAX`] selected series, segments are counted whole, scaled by
//! their time overlap and the selected share of series, so planning stays cheap however many
//! series a query selects.

use std::sync::Arc;

use crate::engine::{State, select_series};
use crate::error::Result;
use crate::predicate::{Predicate, TimeRange};
use crate::segment::SegmentReader;
use crate::series::SeriesId;

/// Selected series up to which chunks are counted one by one.
pub(crate) const DETAILED_SERIES_MAX: usize = 1024;

/// A scan's estimated size; see the module documentation.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ScanEstimate {
    /// Series the tag predicates select (exact at the time of the estimate).
    pub series: u64,
    /// Rows in the time range of those series, before overwrites and deletes are applied.
    pub rows: u64,
}

/// What the estimate needs, taken under the engine lock: the selected series, the segments
/// and the rows the memtables hold for those series.
pub(crate) struct EstimateInput {
    series: Vec<SeriesId>,
    series_total: u64,
    segments: Vec<Arc<SegmentReader>>,
    memtable_rows: u64,
}

impl EstimateInput {
    pub(crate) fn capture(state: &State, measurement: &str, predicate: &Predicate) -> Result<Self> {
        let series: Vec<SeriesId> = select_series(state, measurement, predicate)?
            .into_iter()
            .map(|(id, _)| id)
            .collect();
        let series_total = state.tags.select(measurement, &[])?.len();
        let memtables = std::iter::once(&state.active)
            .chain(state.frozen.iter().map(|frozen| frozen.memtable.as_ref()));
        let memtable_rows = if series.len() <= DETAILED_SERIES_MAX {
            memtables
                .flat_map(|memtable| series.iter().filter_map(|id| memtable.series(*id)))
                .map(|rows| rows.len() as u64)
                .sum()
        } else {
            let share = share(series.len(), series_total);
            memtables
                .map(|memtable| scale(memtable.points(), share))
                .sum()
        };
        Ok(Self {
            series,
            series_total,
            segments: state.version.segments.clone(),
            memtable_rows,
        })
    }

    /// The estimate, computed without the lock.
    pub(crate) fn estimate(&self, range: &TimeRange) -> ScanEstimate {
        let segments = self
            .segments
            .iter()
            .filter(|segment| range.overlaps(segment.footer().min_ns, segment.footer().max_ns));
        let segment_rows: u64 = if self.series.len() <= DETAILED_SERIES_MAX {
            segments
                .map(|segment| {
                    self.series
                        .iter()
                        .filter_map(|id| segment.series_chunks(*id))
                        .flatten()
                        .map(|chunk| {
                            let inside = overlap_share(chunk.min_ns, chunk.max_ns, range);
                            scale(u64::from(chunk.rows), inside)
                        })
                        .sum::<u64>()
                })
                .sum()
        } else {
            let share = share(self.series.len(), self.series_total);
            segments
                .map(|segment| {
                    let footer = segment.footer();
                    let inside = overlap_share(footer.min_ns, footer.max_ns, range);
                    scale(footer.rows, inside * share)
                })
                .sum()
        };
        ScanEstimate {
            series: self.series.len() as u64,
            rows: segment_rows.saturating_add(self.memtable_rows),
        }
    }
}

/// `part / whole`, 1 when `whole` is 0.
fn share(part: usize, whole: u64) -> f64 {
    if whole == 0 {
        1.0
    } else {
        part as f64 / whole as f64
    }
}

/// `rows × share`, rounded up so that a touched span never counts as empty.
#[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
fn scale(rows: u64, share: f64) -> u64 {
    if share >= 1.0 {
        rows
    } else if share <= 0.0 {
        0
    } else {
        (rows as f64 * share).ceil() as u64
    }
}

/// The share of `[min_ns, max_ns]` inside `range` (0 to 1).
fn overlap_share(min_ns: i64, max_ns: i64, range: &TimeRange) -> f64 {
    let low = min_ns.max(range.min_ns);
    let high = max_ns.min(range.max_ns);
    if low > high {
        return 0.0;
    }
    let span = i128::from(max_ns) - i128::from(min_ns) + 1;
    let inside = i128::from(high) - i128::from(low) + 1;
    inside as f64 / span as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overlap_share_counts_inclusive_spans() {
        let range = TimeRange::new(10, 19);
        assert!((overlap_share(0, 19, &range) - 0.5).abs() < 1e-12);
        assert!((overlap_share(10, 19, &range) - 1.0).abs() < 1e-12);
        assert!((overlap_share(5, 5, &range)).abs() < 1e-12);
        assert!((overlap_share(i64::MIN, i64::MAX, &TimeRange::ALL) - 1.0).abs() < 1e-12);
        assert!((overlap_share(15, 15, &range) - 1.0).abs() < 1e-12);
    }

    #[test]
    fn scale_rounds_touched_spans_up() {
        assert_eq!(scale(100, 0.5), 50);
        assert_eq!(scale(100, 0.001), 1);
        assert_eq!(scale(100, 0.0), 0);
        assert_eq!(scale(100, 2.0), 100);
    }
}
