//! Field values and types, and the schema of a measurement: its tag keys and typed fields.
//! A field keeps the type of its first write; a later write offering another type is refused
//! with [`Error::FieldTypeConflict`], naming the measurement, field and both types.

use hashbrown::HashMap;
use std::fmt;

use crate::error::{Error, Result};

/// The type of a field column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FieldType {
    /// 64-bit IEEE float (`float8`).
    Float,
    /// Signed 64-bit integer (`int8`).
    Integer,
    /// Unsigned 64-bit integer.
    Unsigned,
    /// Boolean.
    Boolean,
    /// UTF-8 string.
    String,
}

impl FieldType {
    pub(crate) fn code(self) -> u8 {
        match self {
            Self::Float => 0,
            Self::Integer => 1,
            Self::Unsigned => 2,
            Self::Boolean => 3,
            Self::String => 4,
        }
    }

    pub(crate) fn from_code(code: u8) -> Option<Self> {
        Some(match code {
            0 => Self::Float,
            1 => Self::Integer,
            2 => Self::Unsigned,
            3 => Self::Boolean,
            4 => Self::String,
            _ => return None,
        })
    }
}

impl fmt::Display for FieldType {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(match self {
            Self::Float => "float",
            Self::Integer => "integer",
            Self::Unsigned => "unsigned",
            Self::Boolean => "boolean",
            Self::String => "string",
        })
    }
}

/// One field value of a point.
#[derive(Debug, Clone, PartialEq)]
pub enum FieldValue {
    /// A float.
    Float(f64),
    /// A signed integer.
    Integer(i64),
    /// An unsigned integer.
    Unsigned(u64),
    /// A boolean.
    Boolean(bool),
    /// A string.
    String(String),
}

impl FieldValue {
    /// The type of this value.
    pub fn field_type(&self) -> FieldType {
        match self {
            Self::Float(_) => FieldType::Float,
            Self::Integer(_) => FieldType::Integer,
            Self::Unsigned(_) => FieldType::Unsigned,
            Self::Boolean(_) => FieldType::Boolean,
            Self::String(_) => FieldType::String,
        }
    }

    /// Bit-exact equality (floats compare by bits, so NaN equals the same NaN).
    pub fn same_as(&self, other: &Self) -> bool {
        match (self, other) {
            (Self::Float(left), Self::Float(right)) => left.to_bits() == right.to_bits(),
            _ => self == other,
        }
    }
}

/// Position of a field within its measurement's schema; stable for the engine's lifetime
/// (fields are only ever appended).
pub(crate) type FieldIndex = u32;

/// A field column of a measurement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldSchema {
    /// The field's name.
    pub name: String,
    /// The field's type, fixed by its first write.
    pub field_type: FieldType,
}

/// The columns of a measurement besides `time`: tag keys (sorted) and fields (in order of
/// first appearance).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MeasurementSchema {
    /// The measurement's name.
    pub name: String,
    /// Tag keys ever written, sorted.
    pub tag_keys: Vec<String>,
    /// Fields ever written, in order of first appearance.
    pub fields: Vec<FieldSchema>,
    field_positions: HashMap<String, FieldIndex>,
}

impl MeasurementSchema {
    pub(crate) fn new(name: &str) -> Self {
        Self {
            name: name.to_owned(),
            ..Self::default()
        }
    }

    /// The Arrow schema of a scan of every column: `time`, the tags sorted, the fields in
    /// order of first write.
    pub fn arrow_schema(&self) -> arrow_schema::SchemaRef {
        let columns = crate::scan::all_columns(self);
        crate::scan_output::arrow_schema(self, &columns)
    }

    /// The index and type of a field, if the measurement has it.
    pub fn field(&self, name: &str) -> Option<(FieldIndex, FieldType)> {
        let index = *self.field_positions.get(name)?;
        let field = self.fields.get(usize::try_from(index).ok()?)?;
        Some((index, field.field_type))
    }

    /// Whether `name` is one of the measurement's tag keys.
    pub fn has_tag(&self, name: &str) -> bool {
        self.tag_keys
            .binary_search_by(|key| key.as_str().cmp(name))
            .is_ok()
    }

    /// Checks that a field may be written with `offered` type without changing anything.
    pub(crate) fn check_field(&self, name: &str, offered: FieldType) -> Result<()> {
        match self.field(name) {
            Some((_, existing)) if existing != offered => Err(Error::FieldTypeConflict {
                measurement: self.name.clone(),
                field: name.to_owned(),
                existing,
                offered,
            }),
            _ => Ok(()),
        }
    }

    /// Returns the index of a field, adding it when new. Call [`Self::check_field`] first.
    pub(crate) fn ensure_field(&mut self, name: &str, field_type: FieldType) -> FieldIndex {
        if let Some((index, existing)) = self.field(name) {
            debug_assert_eq!(existing, field_type, "caller checked the type");
            return index;
        }
        let index =
            FieldIndex::try_from(self.fields.len()).expect("fields per measurement fit u32");
        self.fields.push(FieldSchema {
            name: name.to_owned(),
            field_type,
        });
        self.field_positions.insert(name.to_owned(), index);
        index
    }

    /// Adds a tag key if new, keeping the keys sorted.
    pub(crate) fn ensure_tag(&mut self, key: &str) {
        if let Err(position) = self
            .tag_keys
            .binary_search_by(|probe| probe.as_str().cmp(key))
        {
            self.tag_keys.insert(position, key.to_owned());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conflicting_field_type_names_everything() {
        let mut schema = MeasurementSchema::new("cpu");
        schema.ensure_field("usage", FieldType::Float);
        let error = schema.check_field("usage", FieldType::Integer).unwrap_err();
        assert_eq!(
            error.to_string(),
            "field type conflict: measurement cpu, field usage is float, the write offers integer"
        );
        assert!(schema.check_field("usage", FieldType::Float).is_ok());
        assert!(schema.check_field("other", FieldType::String).is_ok());
    }

    #[test]
    fn fields_keep_their_index_and_tags_stay_sorted() {
        let mut schema = MeasurementSchema::new("cpu");
        assert_eq!(schema.ensure_field("b", FieldType::Float), 0);
        assert_eq!(schema.ensure_field("a", FieldType::Integer), 1);
        assert_eq!(schema.ensure_field("b", FieldType::Float), 0);
        schema.ensure_tag("region");
        schema.ensure_tag("host");
        schema.ensure_tag("region");
        assert_eq!(schema.tag_keys, vec!["host", "region"]);
        assert!(schema.has_tag("host"));
        assert!(!schema.has_tag("zone"));
    }

    #[test]
    fn type_codes_round_trip() {
        for field_type in [
            FieldType::Float,
            FieldType::Integer,
            FieldType::Unsigned,
            FieldType::Boolean,
            FieldType::String,
        ] {
            assert_eq!(FieldType::from_code(field_type.code()), Some(field_type));
        }
        assert_eq!(FieldType::from_code(9), None);
    }
}
