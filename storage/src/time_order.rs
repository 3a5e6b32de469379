//! Scans in time order across series ([`ScanOrder::TimeAscending`] and
//! [`ScanOrder::TimeDescending`]), for `ORDER BY time … LIMIT n` and aggregates over time
//! buckets ordered the same way: the query stops reading once it has its rows.
//!
//! The data span (the stored rows' first and last time, within the requested range) is read
//! in consecutive time windows, newest first for a descending scan. Each window reads every
//! selected series over the window only (segment chunks outside it are skipped), merges as
//! the series-ordered scan does (overwrites, tombstones, filters), and sorts the window's
//! rows by time (ties in series order). The first window is a small share of the span, so a
//! query that needs only the newest rows reads little; later windows are sized from the rows
//! the previous ones held, aiming at [`WINDOW_ROWS_TARGET`], and a window holding more than
//! [`WINDOW_ROWS_MAX`] rows is read again at half the width, so memory stays bounded unless
//! more than that many rows share one timestamp.
//!
//! [`ScanOrder::TimeAscending`]: crate::ScanOrder::TimeAscending
//! [`ScanOrder::TimeDescending`]: crate::ScanOrder::TimeDescending

use crate::predicate::TimeRange;

/// Rows a window aims at once the data's density is known.
pub(crate) const WINDOW_ROWS_TARGET: usize = 65_536;
/// Rows above which a window is read again at half its width.
pub(crate) const WINDOW_ROWS_MAX: usize = 1 << 20;
/// The first window's share of the data span.
const FIRST_WINDOW_DIVISOR: i128 = 256;
/// How much a window may grow or shrink from one to the next.
const GROWTH_MAX: f64 = 4.0;
const SHRINK_MAX: f64 = 0.25;

/// The sequence of time windows covering a span, in either direction.
#[derive(Debug, Clone)]
pub(crate) struct TimeWindows {
    span: TimeRange,
    descending: bool,
    /// The next window's edge nearest the start of the walk (its `max_ns` when descending,
    /// its `min_ns` when ascending); `None` once the span is covered.
    cursor: Option<i64>,
    /// The next window's width in nanoseconds, at least 1.
    width: i128,
}

impl TimeWindows {
    /// Windows over `span` (empty: none), newest first when `descending`.
    pub(crate) fn new(span: TimeRange, descending: bool) -> Self {
        let length = i128::from(span.max_ns) - i128::from(span.min_ns) + 1;
        let cursor = if span.is_empty() {
            None
        } else if descending {
            Some(span.max_ns)
        } else {
            Some(span.min_ns)
        };
        Self {
            span,
            descending,
            cursor,
            width: (length / FIRST_WINDOW_DIVISOR).max(1),
        }
    }

    /// The next window, without moving past it.
    pub(crate) fn peek(&self) -> Option<TimeRange> {
        let cursor = i128::from(self.cursor?);
        let (min, max) = if self.descending {
            (
                (cursor - self.width + 1).max(i128::from(self.span.min_ns)),
                cursor,
            )
        } else {
            (
                cursor,
                (cursor + self.width - 1).min(i128::from(self.span.max_ns)),
            )
        };
        Some(TimeRange::new(narrow(min), narrow(max)))
    }

    /// Whether the walk goes from the newest time to the oldest.
    pub(crate) fn is_descending(&self) -> bool {
        self.descending
    }

    /// Ends the walk (after an error).
    pub(crate) fn finish(&mut self) {
        self.cursor = None;
    }

    /// Whether `window` could be cut in two.
    pub(crate) fn can_split(window: &TimeRange) -> bool {
        window.max_ns > window.min_ns
    }

    /// `window` held too many rows: the next one is half as wide (and starts at the same
    /// edge).
    pub(crate) fn narrow(&mut self, window: &TimeRange) {
        let width = i128::from(window.max_ns) - i128::from(window.min_ns) + 1;
        self.width = (width / 2).max(1);
    }

    /// Moves past `window`, which held `rows` rows; the next window is sized so that, at the
    /// same density, it holds about [`WINDOW_ROWS_TARGET`] rows.
    pub(crate) fn advance(&mut self, window: &TimeRange, rows: usize) {
        self.cursor = if self.descending {
            window
                .min_ns
                .checked_sub(1)
                .filter(|_| window.min_ns > self.span.min_ns)
        } else {
            window
                .max_ns
                .checked_add(1)
                .filter(|_| window.max_ns < self.span.max_ns)
        };
        let width = i128::from(window.max_ns) - i128::from(window.min_ns) + 1;
        let factor = if rows == 0 {
            GROWTH_MAX
        } else {
            (WINDOW_ROWS_TARGET as f64 / rows as f64).clamp(SHRINK_MAX, GROWTH_MAX)
        };
        #[allow(clippy::cast_possible_truncation)]
        let next = (width as f64 * factor) as i128;
        self.width = next.max(1);
    }
}

/// `value` within `i64` (window edges always are: they lie inside the span).
fn narrow(value: i128) -> i64 {
    i64::try_from(value).unwrap_or(if value < 0 { i64::MIN } else { i64::MAX })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Walks `windows` to the end, reporting every window as holding `rows(window)` rows.
    fn walk(mut windows: TimeWindows, rows: impl Fn(&TimeRange) -> usize) -> Vec<TimeRange> {
        let mut seen = Vec::new();
        while let Some(window) = windows.peek() {
            assert!(seen.len() < 100_000, "the walk ends");
            windows.advance(&window, rows(&window));
            seen.push(window);
        }
        seen
    }

    #[test]
    fn windows_tile_the_span_in_order_without_gaps() {
        for (min, max) in [(0, 999_999), (-5, 5), (7, 7), (i64::MIN, i64::MAX)] {
            let span = TimeRange::new(min, max);
            let down = walk(TimeWindows::new(span, true), |_| 10);
            assert_eq!(down.first().map(|w| w.max_ns), Some(max));
            assert_eq!(down.last().map(|w| w.min_ns), Some(min));
            for pair in down.windows(2) {
                assert_eq!(pair[1].max_ns, pair[0].min_ns - 1, "{pair:?}");
            }
            let up = walk(TimeWindows::new(span, false), |_| 10);
            assert_eq!(up.first().map(|w| w.min_ns), Some(min));
            assert_eq!(up.last().map(|w| w.max_ns), Some(max));
            for pair in up.windows(2) {
                assert_eq!(pair[1].min_ns, pair[0].max_ns + 1, "{pair:?}");
            }
        }
        assert!(
            TimeWindows::new(TimeRange::new(1, 0), true)
                .peek()
                .is_none()
        );
    }

    #[test]
    fn windows_start_small_and_size_themselves_by_density() {
        let span = TimeRange::new(0, 2_560_000 - 1);
        let mut windows = TimeWindows::new(span, true);
        let first = windows.peek().unwrap();
        assert_eq!(first, TimeRange::new(2_550_000, 2_559_999));
        // One row per nanosecond: the next window aims at the target.
        windows.advance(&first, 10_000);
        let second = windows.peek().unwrap();
        assert_eq!(second.max_ns, 2_549_999);
        assert_eq!(
            second.max_ns - second.min_ns + 1,
            40_000,
            "growth is capped"
        );
        windows.advance(&second, 40_000);
        let third = windows.peek().unwrap();
        assert_eq!(third.max_ns - third.min_ns + 1, WINDOW_ROWS_TARGET as i64);
        // Too many rows: the same edge, half the width.
        windows.narrow(&third);
        let retry = windows.peek().unwrap();
        assert_eq!(retry.max_ns, third.max_ns);
        assert_eq!(
            retry.max_ns - retry.min_ns + 1,
            WINDOW_ROWS_TARGET as i64 / 2
        );
        assert!(TimeWindows::can_split(&retry));
        assert!(!TimeWindows::can_split(&TimeRange::new(3, 3)));
    }
}
