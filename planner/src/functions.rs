//! SQL functions RusTs registers over DataFusion's (and PostgreSQL's catalog functions, in
//! [`crate::pg_functions`]).
//!
//! `date_trunc`: DataFusion's, with integer arithmetic for `second`, `minute`, `hour` and
//! `day` on UTC timestamps. DataFusion takes that fast path only for timestamps without a time zone and
//! otherwise converts every value through chrono; our `time` column is
//! `Timestamp(Nanosecond, "UTC")`, where each of these units is a fixed length, so flooring to a
//! multiple of it gives the same result (before 1970 too). Everything else (planning,
//! ordering, other units and zones) is DataFusion's function.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, PrimitiveArray};
use datafusion::arrow::datatypes::{
    ArrowTimestampType, DataType, FieldRef, TimeUnit, TimestampMicrosecondType,
    TimestampMillisecondType, TimestampNanosecondType, TimestampSecondType,
};
use datafusion::common::{Result, ScalarValue};
use datafusion::logical_expr::sort_properties::{ExprProperties, SortProperties};
use datafusion::logical_expr::{
    ColumnarValue, Documentation, ReturnFieldArgs, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl,
    Signature,
};

/// The functions to register in every session.
pub(crate) fn all() -> Vec<ScalarUDF> {
    let mut functions = vec![ScalarUDF::new_from_impl(DateTrunc::new())];
    functions.extend(crate::pg_functions::all());
    functions
}

/// See the module documentation.
#[derive(Debug, PartialEq, Eq, Hash)]
struct DateTrunc {
    inner: Arc<ScalarUDF>,
}

impl DateTrunc {
    fn new() -> Self {
        Self {
            inner: datafusion::functions::datetime::date_trunc(),
        }
    }
}

impl ScalarUDFImpl for DateTrunc {
    fn name(&self) -> &str {
        self.inner.name()
    }

    fn aliases(&self) -> &[String] {
        self.inner.aliases()
    }

    fn signature(&self) -> &Signature {
        self.inner.signature()
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        self.inner.inner().return_type(arg_types)
    }

    fn return_field_from_args(&self, args: ReturnFieldArgs) -> Result<FieldRef> {
        self.inner.return_field_from_args(args)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        if let [
            ColumnarValue::Scalar(ScalarValue::Utf8(Some(unit))),
            ColumnarValue::Array(array),
        ] = args.args.as_slice()
            && let Some(truncated) = truncate_utc(unit, array)
        {
            return Ok(ColumnarValue::Array(truncated));
        }
        self.inner.invoke_with_args(args)
    }

    fn output_ordering(&self, input: &[ExprProperties]) -> Result<SortProperties> {
        self.inner.output_ordering(input)
    }

    fn documentation(&self) -> Option<&Documentation> {
        self.inner.documentation()
    }
}

/// `second`, `minute`, `hour` or `day` truncation of a UTC timestamp array by flooring, or `None` when another
/// unit, type or zone needs DataFusion's general path.
fn truncate_utc(unit: &str, array: &ArrayRef) -> Option<ArrayRef> {
    let seconds: i64 = match unit.to_ascii_lowercase().as_str() {
        "second" => 1,
        "minute" => 60,
        "hour" => 3_600,
        "day" => 86_400,
        _ => return None,
    };
    let DataType::Timestamp(time_unit, Some(zone)) = array.data_type() else {
        return None;
    };
    if !matches!(zone.as_ref(), "UTC" | "+00:00" | "Z") {
        return None;
    }
    Some(match time_unit {
        TimeUnit::Second => floor::<TimestampSecondType>(array, seconds),
        TimeUnit::Millisecond => floor::<TimestampMillisecondType>(array, seconds * 1_000),
        TimeUnit::Microsecond => floor::<TimestampMicrosecondType>(array, seconds * 1_000_000),
        TimeUnit::Nanosecond => floor::<TimestampNanosecondType>(array, seconds * 1_000_000_000),
    })
}

fn floor<T: ArrowTimestampType>(array: &ArrayRef, step: i64) -> ArrayRef {
    let values: &PrimitiveArray<T> = array.as_primitive();
    let floored: PrimitiveArray<T> = values.unary(|value| value - value.rem_euclid(step));
    Arc::new(floored.with_timezone_opt(values.timezone()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::TimestampNanosecondArray;
    use datafusion::arrow::datatypes::Field;
    use datafusion::common::config::ConfigOptions;

    /// Our fast path and DataFusion's general one agree, before and after 1970.
    #[test]
    fn utc_seconds_to_days_floor_like_datafusion() {
        let hour = 3_600_000_000_000_i64;
        let values = vec![
            Some(0),
            Some(1),
            Some(-1),
            None,
            Some(hour * 24 * 365 * 55 + 12_345),
            Some(-hour * 24 * 400 - 7),
            Some(1_795_585_127_000_000_000),
            Some(1_795_585_127_123_456_789),
            Some(-61_500_000_001),
        ];
        let array: ArrayRef =
            Arc::new(TimestampNanosecondArray::from(values.clone()).with_timezone("UTC"));
        for unit in ["second", "minute", "hour", "day", "HOUR", "Minute"] {
            let fast = truncate_utc(unit, &array).unwrap();
            let general = datafusion::functions::datetime::date_trunc()
                .invoke_with_args(ScalarFunctionArgs {
                    args: vec![
                        ColumnarValue::Scalar(ScalarValue::Utf8(Some(unit.to_lowercase()))),
                        ColumnarValue::Array(Arc::clone(&array)),
                    ],
                    arg_fields: vec![
                        Arc::new(Field::new("unit", DataType::Utf8, false)),
                        Arc::new(Field::new("t", array.data_type().clone(), true)),
                    ],
                    number_rows: values.len(),
                    return_field: Arc::new(Field::new("r", array.data_type().clone(), true)),
                    config_options: Arc::new(ConfigOptions::default()),
                })
                .unwrap();
            let ColumnarValue::Array(general) = general else {
                panic!("an array in, an array out");
            };
            assert_eq!(&fast, &general, "{unit}");
        }
        assert!(truncate_utc("month", &array).is_none());
        assert!(truncate_utc("week", &array).is_none());
        let local: ArrayRef =
            Arc::new(TimestampNanosecondArray::from(vec![Some(0)]).with_timezone("Asia/Kathmandu"));
        assert!(truncate_utc("hour", &local).is_none());
    }
}
