//! The inverted tag index: (measurement, tag key, tag value) → the series carrying it, as
//! roaring bitmaps of series ordinals. Tag predicates resolve to a bitmap here, so a query for
//! `host = 'a'` touches only that host's series. The index is rebuilt from the series log on
//! open (it is derived data; persisting it would add a second copy to keep consistent).

use hashbrown::HashMap;

use regex::Regex;
use roaring::RoaringBitmap;

use crate::error::{Error, Result};
use crate::predicate::TagPredicate;
use crate::series::{SeriesKey, SeriesOrdinal};

#[derive(Debug, Default)]
struct MeasurementTags {
    all: RoaringBitmap,
    values_by_key: HashMap<String, HashMap<String, RoaringBitmap>>,
}

impl MeasurementTags {
    fn with_key(&self, key: &str) -> RoaringBitmap {
        self.values_by_key
            .get(key)
            .map(|values| {
                values
                    .values()
                    .fold(RoaringBitmap::new(), |acc, bitmap| acc | bitmap)
            })
            .unwrap_or_default()
    }

    fn with_value(&self, key: &str, value: &str) -> RoaringBitmap {
        self.values_by_key
            .get(key)
            .and_then(|values| values.get(value))
            .cloned()
            .unwrap_or_default()
    }

    fn matching(&self, key: &str, keep: impl Fn(&str) -> bool) -> RoaringBitmap {
        let Some(values) = self.values_by_key.get(key) else {
            return RoaringBitmap::new();
        };
        values
            .iter()
            .filter(|(value, _)| keep(value))
            .fold(RoaringBitmap::new(), |acc, (_, bitmap)| acc | bitmap)
    }
}

/// Inverted index over every measurement's tags.
#[derive(Debug, Default)]
pub(crate) struct TagIndex {
    measurements: HashMap<String, MeasurementTags>,
}

impl TagIndex {
    /// Records a series under its measurement and each of its tag pairs.
    pub(crate) fn insert(&mut self, ordinal: SeriesOrdinal, key: &SeriesKey) {
        let tags = self
            .measurements
            .entry(key.measurement.clone())
            .or_default();
        tags.all.insert(ordinal);
        for (tag_key, tag_value) in &key.tags {
            tags.values_by_key
                .entry(tag_key.clone())
                .or_default()
                .entry(tag_value.clone())
                .or_default()
                .insert(ordinal);
        }
    }

    /// Forgets a measurement (dropped); returns the ordinals of its series.
    pub(crate) fn remove_measurement(&mut self, measurement: &str) -> RoaringBitmap {
        self.measurements
            .remove(measurement)
            .map(|tags| tags.all)
            .unwrap_or_default()
    }

    /// The series of `measurement` satisfying every predicate.
    pub(crate) fn select(
        &self,
        measurement: &str,
        predicates: &[TagPredicate],
    ) -> Result<RoaringBitmap> {
        let Some(tags) = self.measurements.get(measurement) else {
            return Ok(RoaringBitmap::new());
        };
        let mut selected = tags.all.clone();
        for predicate in predicates {
            if selected.is_empty() {
                break;
            }
            selected &= Self::resolve(tags, predicate)?;
        }
        Ok(selected)
    }

    fn resolve(tags: &MeasurementTags, predicate: &TagPredicate) -> Result<RoaringBitmap> {
        Ok(match predicate {
            TagPredicate::Eq { key, value } => tags.with_value(key, value),
            TagPredicate::NotEq { key, value } => tags.with_key(key) - tags.with_value(key, value),
            TagPredicate::In { key, values } => {
                tags.matching(key, |v| values.iter().any(|x| x == v))
            }
            TagPredicate::NotIn { key, values } => {
                tags.matching(key, |v| !values.iter().any(|x| x == v))
            }
            TagPredicate::Regex {
                key,
                pattern,
                negated,
            } => {
                let regex = Regex::new(pattern).map_err(|source| Error::InvalidRegex {
                    tag: key.clone(),
                    pattern: pattern.clone(),
                    source,
                })?;
                tags.matching(key, |value| regex.is_match(value) != *negated)
            }
            TagPredicate::IsNull { key } => &tags.all - tags.with_key(key),
            TagPredicate::IsNotNull { key } => tags.with_key(key),
        })
    }

    /// Distinct values of one tag of a measurement, sorted (for `SHOW TAG VALUES`-style
    /// queries and the planner's statistics).
    pub(crate) fn tag_values(&self, measurement: &str, key: &str) -> Vec<String> {
        let mut values: Vec<String> = self
            .measurements
            .get(measurement)
            .and_then(|tags| tags.values_by_key.get(key))
            .map(|values| values.keys().cloned().collect())
            .unwrap_or_default();
        values.sort_unstable();
        values
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn index() -> TagIndex {
        let mut index = TagIndex::default();
        let series: [&[(&str, &str)]; 4] = [
            &[("host", "a"), ("region", "eu")],
            &[("host", "b"), ("region", "eu")],
            &[("host", "c"), ("region", "us")],
            &[("region", "us")],
        ];
        for (ordinal, tags) in series.iter().enumerate() {
            let tags: Vec<(String, String)> = tags
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            index.insert(ordinal as u32, &SeriesKey::new("cpu", &tags));
        }
        index.insert(9, &SeriesKey::new("mem", &[("host".into(), "a".into())]));
        index
    }

    fn select(predicates: Vec<TagPredicate>) -> Vec<u32> {
        index().select("cpu", &predicates).unwrap().iter().collect()
    }

    fn s(value: &str) -> String {
        value.to_owned()
    }

    #[test]
    fn every_predicate_kind_follows_sql_null_logic() {
        let key = || s("host");
        let cases: Vec<(Vec<TagPredicate>, Vec<u32>)> = vec![
            (vec![], vec![0, 1, 2, 3]),
            (
                vec![TagPredicate::Eq {
                    key: key(),
                    value: s("a"),
                }],
                vec![0],
            ),
            (
                vec![TagPredicate::NotEq {
                    key: key(),
                    value: s("a"),
                }],
                vec![1, 2],
            ),
            (
                vec![TagPredicate::In {
                    key: key(),
                    values: vec![s("a"), s("c")],
                }],
                vec![0, 2],
            ),
            (
                vec![TagPredicate::NotIn {
                    key: key(),
                    values: vec![s("a")],
                }],
                vec![1, 2],
            ),
            (
                vec![TagPredicate::Regex {
                    key: key(),
                    pattern: s("^[ab]$"),
                    negated: false,
                }],
                vec![0, 1],
            ),
            (
                vec![TagPredicate::Regex {
                    key: key(),
                    pattern: s("a"),
                    negated: true,
                }],
                vec![1, 2],
            ),
            (vec![TagPredicate::IsNull { key: key() }], vec![3]),
            (vec![TagPredicate::IsNotNull { key: key() }], vec![0, 1, 2]),
            (
                vec![TagPredicate::Eq {
                    key: s("zone"),
                    value: s("x"),
                }],
                vec![],
            ),
            (
                vec![
                    TagPredicate::Eq {
                        key: s("region"),
                        value: s("us"),
                    },
                    TagPredicate::IsNotNull { key: key() },
                ],
                vec![2],
            ),
        ];
        for (predicates, expected) in cases {
            let description = format!("{predicates:?}");
            assert_eq!(select(predicates), expected, "{description}");
        }
    }

    #[test]
    fn measurements_are_separate_and_bad_regex_is_an_error() {
        let index = index();
        let mem: Vec<u32> = index.select("mem", &[]).unwrap().iter().collect();
        assert_eq!(mem, vec![9]);
        assert!(index.select("disk", &[]).unwrap().is_empty());
        let bad = TagPredicate::Regex {
            key: s("host"),
            pattern: s("("),
            negated: false,
        };
        let error = index.select("cpu", &[bad]).unwrap_err();
        assert!(
            error
                .to_string()
                .contains("invalid regular expression for tag host")
        );
        assert_eq!(index.tag_values("cpu", "host"), vec!["a", "b", "c"]);
    }
}
