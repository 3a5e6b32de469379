//! What a scan or delete selects: a time range and tag predicates, all of which must hold.
//! The query layer translates SQL filters into this; storage never sees SQL.

/// An inclusive range of nanosecond timestamps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeRange {
    /// Smallest timestamp included.
    pub min_ns: i64,
    /// Largest timestamp included.
    pub max_ns: i64,
}

impl TimeRange {
    /// Every representable time.
    pub const ALL: Self = Self {
        min_ns: i64::MIN,
        max_ns: i64::MAX,
    };

    /// The range `[min_ns, max_ns]`.
    pub fn new(min_ns: i64, max_ns: i64) -> Self {
        Self { min_ns, max_ns }
    }

    /// True when no timestamp satisfies the range.
    pub fn is_empty(&self) -> bool {
        self.min_ns > self.max_ns
    }

    /// Whether `timestamp_ns` lies in the range.
    pub fn contains(&self, timestamp_ns: i64) -> bool {
        self.min_ns <= timestamp_ns && timestamp_ns <= self.max_ns
    }

    /// Whether `[min_ns, max_ns]` shares at least one timestamp with this range.
    pub fn overlaps(&self, min_ns: i64, max_ns: i64) -> bool {
        self.min_ns <= max_ns && min_ns <= self.max_ns
    }

    /// The part of this range inside `other`.
    pub fn intersect(&self, other: &Self) -> Self {
        Self {
            min_ns: self.min_ns.max(other.min_ns),
            max_ns: self.max_ns.min(other.max_ns),
        }
    }
}

/// A predicate on one tag. Absent tags follow SQL's three-valued logic: a series without the
/// tag matches only [`TagPredicate::IsNull`] (for example `host != 'a'` does not match a
/// series that has no `host`).
#[derive(Debug, Clone)]
pub enum TagPredicate {
    /// `key = value`.
    Eq {
        /// Tag key.
        key: String,
        /// Tag value.
        value: String,
    },
    /// `key != value` (the series has the tag, with another value).
    NotEq {
        /// Tag key.
        key: String,
        /// Tag value.
        value: String,
    },
    /// `key IN (values)`.
    In {
        /// Tag key.
        key: String,
        /// Accepted values.
        values: Vec<String>,
    },
    /// `key NOT IN (values)` (the series has the tag, with none of the values).
    NotIn {
        /// Tag key.
        key: String,
        /// Refused values.
        values: Vec<String>,
    },
    /// `key ~ pattern` (or `!~` when `negated`); the series must have the tag either way.
    Regex {
        /// Tag key.
        key: String,
        /// Regular expression (Rust `regex` syntax, unanchored as Postgres `~`).
        pattern: String,
        /// True for `!~`.
        negated: bool,
    },
    /// `key IS NULL`: the series lacks the tag.
    IsNull {
        /// Tag key.
        key: String,
    },
    /// `key IS NOT NULL`: the series has the tag.
    IsNotNull {
        /// Tag key.
        key: String,
    },
}

impl TagPredicate {
    /// The tag key the predicate tests.
    pub fn key(&self) -> &str {
        match self {
            Self::Eq { key, .. }
            | Self::NotEq { key, .. }
            | Self::In { key, .. }
            | Self::NotIn { key, .. }
            | Self::Regex { key, .. }
            | Self::IsNull { key }
            | Self::IsNotNull { key } => key,
        }
    }
}

/// A time range plus tag predicates, all of which must hold.
#[derive(Debug, Clone)]
pub struct Predicate {
    /// Rows outside the range are not selected.
    pub time_range: TimeRange,
    /// Every predicate must hold for a series to be selected.
    pub tags: Vec<TagPredicate>,
}

impl Default for Predicate {
    fn default() -> Self {
        Self {
            time_range: TimeRange::ALL,
            tags: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_are_inclusive() {
        let range = TimeRange::new(-10, 10);
        assert!(range.contains(-10) && range.contains(10) && !range.contains(11));
        assert!(range.overlaps(10, 20) && !range.overlaps(11, 20));
        assert!(range.intersect(&TimeRange::new(5, 50)) == TimeRange::new(5, 10));
        assert!(TimeRange::new(1, 0).is_empty());
        assert!(TimeRange::ALL.contains(i64::MIN) && TimeRange::ALL.contains(i64::MAX));
    }
}
