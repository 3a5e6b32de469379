//! A point as writers hand it to the engine, and the checks every point passes before
//! anything of its batch is written.

use crate::batch::{FieldRef, PointView};
use crate::error::{Error, Result};
use crate::limits::{
    FIELDS_PER_POINT_MAX, NAME_BYTES_MAX, STRING_FIELD_BYTES_MAX, TAG_VALUE_BYTES_MAX,
    TAGS_PER_POINT_MAX,
};
use crate::schema::FieldValue;

/// One point: a measurement, its tags (any order; the engine sorts them), at least one field,
/// and a time in nanoseconds since the Unix epoch (negative before 1970).
#[derive(Debug, Clone, PartialEq)]
pub struct Point {
    /// Measurement (table) name.
    pub measurement: String,
    /// Tag key/value pairs identifying the series.
    pub tags: Vec<(String, String)>,
    /// Field name/value pairs.
    pub fields: Vec<(String, FieldValue)>,
    /// Nanoseconds since 1970-01-01T00:00:00Z.
    pub timestamp_ns: i64,
}

/// Column names a tag or field may not take: they would collide with the time column.
const RESERVED_NAMES: [&str; 1] = ["time"];

impl Point {
    /// Checks names, sizes and duplicates. Errors name the measurement and the offending key.
    #[cfg(test)]
    pub(crate) fn validate(&self) -> Result<()> {
        let batch = crate::batch::PointBatch::from_points(std::slice::from_ref(self))?;
        let view = batch.get(0).expect("one point");
        validate(&view, &mut Vec::new())
    }
}

/// Checks a point's names, sizes and duplicates. Errors name the measurement and the
/// offending key. `names` is scratch space, reused across points.
pub(crate) fn validate<'a>(point: &PointView<'a>, names: &mut Vec<&'a str>) -> Result<()> {
    let measurement = point.measurement();
    check_name("measurement", measurement, measurement)?;
    check_count("tags per point", point.tags().len(), TAGS_PER_POINT_MAX)?;
    check_count(
        "fields per point",
        point.fields().len(),
        FIELDS_PER_POINT_MAX,
    )?;
    if point.fields().len() == 0 {
        return Err(invalid(format!("point of {measurement} has no fields")));
    }
    for (key, value) in point.tags() {
        check_name("tag key", key, measurement)?;
        check_count("tag value bytes", value.len(), TAG_VALUE_BYTES_MAX)?;
    }
    for (key, value) in point.fields() {
        check_name("field key", key, measurement)?;
        if let FieldRef::String(text) = value {
            check_count("string field bytes", text.len(), STRING_FIELD_BYTES_MAX)?;
        }
    }
    names.clear();
    names.extend(point.tags().map(|(key, _)| key));
    names.extend(point.fields().map(|(key, _)| key));
    names.sort_unstable();
    if let Some(pair) = names.windows(2).find(|pair| pair.first() == pair.get(1)) {
        let name = pair.first().copied().unwrap_or_default();
        return Err(invalid(format!(
            "measurement {measurement}: column {name} appears more than once among tags and fields"
        )));
    }
    Ok(())
}

fn invalid(reason: String) -> Error {
    Error::InvalidWrite { reason }
}

fn check_name(what: &str, name: &str, measurement: &str) -> Result<()> {
    if name.is_empty() {
        return Err(invalid(format!(
            "measurement {measurement:?}: empty {what}"
        )));
    }
    check_count("name bytes", name.len(), NAME_BYTES_MAX)?;
    if what != "measurement" && RESERVED_NAMES.contains(&name) {
        return Err(invalid(format!(
            "measurement {measurement}: {what} {name:?} is reserved for the time column"
        )));
    }
    Ok(())
}

fn check_count(what: &'static str, value: usize, limit: usize) -> Result<()> {
    if value > limit {
        return Err(Error::LimitExceeded {
            what,
            value: value as u64,
            limit: limit as u64,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point() -> Point {
        Point {
            measurement: "cpu".into(),
            tags: vec![("host".into(), "a".into())],
            fields: vec![("usage".into(), FieldValue::Float(1.0))],
            timestamp_ns: 0,
        }
    }

    #[test]
    fn accepts_a_plain_point() {
        point().validate().unwrap();
    }

    #[test]
    fn refuses_bad_points_with_a_reason() {
        let cases: Vec<(Box<dyn Fn(&mut Point)>, &str)> = vec![
            (Box::new(|p| p.fields.clear()), "point of cpu has no fields"),
            (Box::new(|p| p.measurement.clear()), "empty measurement"),
            (
                Box::new(|p| p.tags.push(("".into(), "x".into()))),
                "empty tag key",
            ),
            (
                Box::new(|p| p.tags.push(("time".into(), "x".into()))),
                "reserved",
            ),
            (
                Box::new(|p| p.tags.push(("usage".into(), "x".into()))),
                "more than once",
            ),
            (
                Box::new(|p| p.tags.push(("host".into(), "b".into()))),
                "more than once",
            ),
        ];
        for (mutate, expected) in cases {
            let mut bad = point();
            mutate(&mut bad);
            let message = bad.validate().unwrap_err().to_string();
            assert!(message.contains(expected), "{message:?} lacks {expected:?}");
        }
    }

    #[test]
    fn limits_hold_at_the_limit_and_fail_one_past_it() {
        let mut at_limit = point();
        at_limit.tags = (0..TAGS_PER_POINT_MAX)
            .map(|i| (format!("t{i}"), "v".into()))
            .collect();
        at_limit.validate().unwrap();
        at_limit.tags.push(("one_more".into(), "v".into()));
        let error = at_limit.validate().unwrap_err();
        assert_eq!(error.kind(), rusts_common::ErrorKind::LimitExceeded);
    }
}
