//! PostgreSQL's catalog functions over our `pg_catalog` ([`crate::pg_catalog`]):
//! - `format_type(type_oid, typmod)`: a type's SQL name with its modifier
//!   (`character varying(16)`, `numeric(10,2)`, `integer[]`), `-` for OID 0, `???` for an
//!   OID that is no type;
//! - `rusts_regtype_text(oid)`: `oid::regtype::text`, which [`crate::pg_syntax`] rewrites to
//!   it: the name, `-` for 0, the number itself for an OID that is no type;
//! - `rusts_domain_base_type(oid)`: the root of the chain of `typbasetype` starting at the
//!   type's own, as the recursive subquery drivers send computes it (see `pg_syntax`): 0 for
//!   a type that is not a domain, NULL for an OID that is no type. RusTs has no domains, so
//!   every built-in type gives 0.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, StringArray, UInt32Array};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Int64Type};
use datafusion::common::Result;
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};
use rusts_catalog::pg_type::{builtin_type, builtin_type_display_name};

/// The functions to register in every session.
pub(crate) fn all() -> Vec<ScalarUDF> {
    let mut functions: Vec<ScalarUDF> = [
        CatalogFunction::FormatType,
        CatalogFunction::RegtypeText,
        CatalogFunction::DomainBaseType,
    ]
    .into_iter()
    .map(|function| {
        ScalarUDF::new_from_impl(Function {
            signature: Signature::uniform(
                function.arity(),
                vec![DataType::Int64],
                Volatility::Immutable,
            ),
            function,
        })
    })
    .collect();
    functions.push(ScalarUDF::new_from_impl(SingleRow {
        signature: Signature::any(2, Volatility::Immutable),
    }));
    functions
}

/// `rusts_single_row(count, value)`: `value`, or an error when `count` is above one. A
/// scalar subquery that returns a column as it is becomes
/// `rusts_single_row((SELECT count(1) …), (SELECT max(column) …))` (see `pg_syntax`), so
/// that DataFusion can decorrelate it while more than one row is still PostgreSQL's error
/// (21000).
#[derive(Debug, PartialEq, Eq, Hash)]
struct SingleRow {
    signature: Signature,
}

impl ScalarUDFImpl for SingleRow {
    fn name(&self) -> &str {
        "rusts_single_row"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        Ok(arg_types.get(1).cloned().unwrap_or(DataType::Null))
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let [count, value] = args.args.as_slice() else {
            return Err(datafusion::common::DataFusionError::Internal(
                "rusts_single_row takes two arguments".to_owned(),
            ));
        };
        let counts = count.to_array(args.number_rows)?;
        let counts = cast(&counts, &DataType::Int64)?;
        if counts
            .as_primitive::<Int64Type>()
            .iter()
            .any(|count| count.is_some_and(|count| count > 1))
        {
            return Err(datafusion::common::DataFusionError::External(Box::new(
                crate::Error::CardinalityViolation,
            )));
        }
        Ok(value.clone())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum CatalogFunction {
    FormatType,
    RegtypeText,
    DomainBaseType,
}

impl CatalogFunction {
    fn arity(self) -> usize {
        match self {
            Self::FormatType => 2,
            Self::RegtypeText | Self::DomainBaseType => 1,
        }
    }
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct Function {
    function: CatalogFunction,
    signature: Signature,
}

impl ScalarUDFImpl for Function {
    fn name(&self) -> &str {
        match self.function {
            CatalogFunction::FormatType => "format_type",
            CatalogFunction::RegtypeText => "rusts_regtype_text",
            CatalogFunction::DomainBaseType => "rusts_domain_base_type",
        }
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(match self.function {
            CatalogFunction::FormatType | CatalogFunction::RegtypeText => DataType::Utf8,
            CatalogFunction::DomainBaseType => DataType::UInt32,
        })
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let arrays = ColumnarValue::values_to_arrays(&args.args)?;
        let arrays = arrays
            .iter()
            .map(|array| cast(array, &DataType::Int64))
            .collect::<Result<Vec<ArrayRef>, _>>()?;
        let oids = arrays[0].as_primitive::<Int64Type>();
        let value = |array: &dyn Array, row: usize| {
            let array = array.as_primitive::<Int64Type>();
            (!array.is_null(row)).then(|| array.value(row))
        };
        let result: ArrayRef = match self.function {
            CatalogFunction::FormatType => {
                let typmods = &arrays[1];
                Arc::new(
                    (0..oids.len())
                        .map(|row| {
                            value(oids, row).map(|oid| format_type(oid, value(typmods, row)))
                        })
                        .collect::<StringArray>(),
                )
            }
            CatalogFunction::RegtypeText => Arc::new(
                (0..oids.len())
                    .map(|row| value(oids, row).map(regtype_text))
                    .collect::<StringArray>(),
            ),
            CatalogFunction::DomainBaseType => Arc::new(
                (0..oids.len())
                    .map(|row| value(oids, row).and_then(domain_base_type))
                    .collect::<UInt32Array>(),
            ),
        };
        if args
            .args
            .iter()
            .all(|arg| matches!(arg, ColumnarValue::Scalar(_)))
        {
            return Ok(ColumnarValue::Scalar(
                datafusion::common::ScalarValue::try_from_array(&result, 0)?,
            ));
        }
        Ok(ColumnarValue::Array(result))
    }
}

fn as_oid(oid: i64) -> Option<u32> {
    u32::try_from(oid).ok()
}

/// `oid::regtype::text`.
fn regtype_text(oid: i64) -> String {
    if oid == 0 {
        return "-".to_owned();
    }
    as_oid(oid)
        .and_then(builtin_type_display_name)
        .unwrap_or_else(|| oid.to_string())
}

fn domain_base_type(oid: i64) -> Option<u32> {
    as_oid(oid).and_then(builtin_type).map(|_| 0)
}

/// PostgreSQL's `format_type`.
fn format_type(oid: i64, typmod: Option<i64>) -> String {
    if oid == 0 {
        return "-".to_owned();
    }
    let Some(builtin) = as_oid(oid).and_then(builtin_type) else {
        return "???".to_owned();
    };
    let Some(name) = builtin_type_display_name(builtin.oid) else {
        return "???".to_owned();
    };
    let Some(modifier) = typmod.filter(|&typmod| typmod >= 0) else {
        return name;
    };
    if let Some(element) = name.strip_suffix("[]") {
        let element_oid = i64::from(builtin.element);
        let formatted = format_type(element_oid, Some(modifier));
        return if formatted == element {
            name
        } else {
            format!("{formatted}[]")
        };
    }
    match builtin.name {
        "bpchar" | "varchar" | "bit" | "varbit" => format!("{name}({})", modifier - 4),
        "numeric" => {
            let packed = modifier - 4;
            format!("numeric({},{})", (packed >> 16) & 0xffff, packed & 0xffff)
        }
        "timestamp" | "timestamptz" | "time" | "timetz" => {
            let (base, zone) = name.split_once(' ').unwrap_or((&name, ""));
            format!("{base}({modifier}) {zone}").trim_end().to_owned()
        }
        "interval" => match modifier & 0xffff {
            0xffff => name,
            precision => format!("interval({precision})"),
        },
        _ => name,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Expected values are PostgreSQL 15's output for the same calls.
    #[test]
    fn format_type_matches_postgres() {
        assert_eq!(format_type(23, None), "integer");
        assert_eq!(format_type(1043, Some(20)), "character varying(16)");
        assert_eq!(format_type(1042, Some(5)), "character(1)");
        assert_eq!(format_type(1700, Some((10 << 16 | 2) + 4)), "numeric(10,2)");
        assert_eq!(format_type(1184, Some(3)), "timestamp(3) with time zone");
        assert_eq!(format_type(1114, Some(6)), "timestamp(6) without time zone");
        assert_eq!(format_type(1015, Some(36)), "character varying(32)[]");
        assert_eq!(format_type(1016, Some(-1)), "bigint[]");
        assert_eq!(format_type(0, None), "-");
        assert_eq!(format_type(99_999, None), "???");
    }

    #[test]
    fn regtype_text_and_domain_base_type() {
        assert_eq!(regtype_text(1007), "integer[]");
        assert_eq!(regtype_text(0), "-");
        assert_eq!(regtype_text(99_999), "99999");
        assert_eq!(domain_base_type(23), Some(0));
        assert_eq!(domain_base_type(99_999), None);
    }
}
