//! `Bind` parameter values to DataFusion scalars, text or binary per parameter.
//!
//! A value is first decoded as the Postgres type the statement declared (text when nothing
//! is known), then cast to the type DataFusion inferred for the placeholder, so `$1` compared
//! with an `int4` column arrives as `Int32` whatever the client sent.

use std::str::FromStr;

use datafusion::arrow::datatypes::{DataType, IntervalMonthDayNano, TimeUnit};
use datafusion::common::{ParamValues, ScalarValue};
use pgwire::api::Type;
use pgwire::api::portal::{Format, Portal};
use postgres_types::FromSql;
use postgres_types::Kind;
use rust_decimal::Decimal;

use crate::pg::error::{Error, Result};
use crate::pg::statement::PreparedStatement;

/// Days from 1970-01-01 (Arrow's epoch) to 2000-01-01 (Postgres's).
const POSTGRES_EPOCH_DAYS: i64 = 10_957;
/// The same distance in microseconds.
const POSTGRES_EPOCH_MICROSECONDS: i64 = POSTGRES_EPOCH_DAYS * 86_400 * 1_000_000;

/// The DataFusion type a parameter declared as `pg_type` decodes to, when it has one fixed
/// type (numeric has no fixed precision; unknown and unlisted types are left to inference).
pub(crate) fn declared_data_type(pg_type: &Type) -> Option<DataType> {
    if let Kind::Array(element) = pg_type.kind() {
        return Some(DataType::new_list(declared_data_type(element)?, true));
    }
    Some(match *pg_type {
        Type::BOOL => DataType::Boolean,
        Type::INT2 => DataType::Int16,
        Type::INT4 => DataType::Int32,
        Type::INT8 => DataType::Int64,
        Type::OID => DataType::UInt32,
        Type::FLOAT4 => DataType::Float32,
        Type::FLOAT8 => DataType::Float64,
        Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME => DataType::Utf8,
        Type::BYTEA => DataType::Binary,
        Type::DATE => DataType::Date32,
        Type::TIMESTAMP => DataType::Timestamp(TimeUnit::Microsecond, None),
        Type::TIMESTAMPTZ => DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
        _ => return None,
    })
}

/// Decodes every parameter of `portal` for `statement`.
pub(crate) fn decode_parameters(
    portal: &Portal<PreparedStatement>,
    statement: &PreparedStatement,
) -> Result<ParamValues> {
    let supplied = portal.parameters.len();
    let required = statement.parameter_types.len();
    if supplied != required {
        return Err(Error::ParameterCount { supplied, required });
    }
    if let Format::Individual(codes) = &portal.parameter_format
        && codes.len() != supplied
    {
        return Err(Error::NotSupported {
            what: format!(
                "{} parameter format codes for {supplied} parameters",
                codes.len()
            ),
        });
    }
    let mut values = Vec::with_capacity(supplied);
    for (index, (bytes, pg_type)) in portal
        .parameters
        .iter()
        .zip(&statement.parameter_types)
        .enumerate()
    {
        let target = statement.parameter_data_types.get(index).cloned().flatten();
        let binary = portal.parameter_format.is_binary(index);
        let value = decode_parameter(pg_type, binary, bytes.as_deref(), target.as_ref()).map_err(
            |reason| Error::InvalidParameter {
                position: index + 1,
                type_name: pg_type.name().to_owned(),
                reason,
            },
        )?;
        values.push(value);
    }
    Ok(ParamValues::from(values))
}

/// One value: `None` bytes are SQL NULL.
fn decode_parameter(
    pg_type: &Type,
    binary: bool,
    bytes: Option<&[u8]>,
    target: Option<&DataType>,
) -> Result<ScalarValue, String> {
    let Some(bytes) = bytes else {
        let null_type = target.cloned().unwrap_or(DataType::Utf8);
        return ScalarValue::try_from(&null_type).map_err(|error| error.to_string());
    };
    let value = if binary {
        decode_binary(pg_type, bytes)?
    } else {
        decode_text(pg_type, bytes)?
    };
    match target {
        Some(target) if *target != value.data_type() && *target != DataType::Null => {
            value.cast_to(target).map_err(|error| error.to_string())
        }
        _ => Ok(value),
    }
}

fn text(bytes: &[u8]) -> Result<&str, String> {
    std::str::from_utf8(bytes).map_err(|error| error.to_string())
}

fn parse<T: FromStr>(value: &str) -> Result<T, String>
where
    T::Err: std::fmt::Display,
{
    value
        .trim()
        .parse::<T>()
        .map_err(|error| format!("\"{value}\": {error}"))
}

/// Text format: the value as a client would type it in SQL, without quotes.
fn decode_text(pg_type: &Type, bytes: &[u8]) -> Result<ScalarValue, String> {
    let value = text(bytes)?;
    if let Kind::Array(element) = pg_type.kind() {
        let elements = rusts_planner::pg_syntax::array_elements(value)?
            .into_iter()
            .map(|item| match item {
                Some(item) => decode_text(element, item.as_bytes()).map(Some),
                None => Ok(None),
            })
            .collect::<Result<Vec<_>, String>>()?;
        return list(element, elements);
    }
    let scalar = match *pg_type {
        Type::BOOL => ScalarValue::Boolean(Some(parse_bool(value)?)),
        Type::INT2 => ScalarValue::Int16(Some(parse(value)?)),
        Type::INT4 => ScalarValue::Int32(Some(parse(value)?)),
        Type::INT8 => ScalarValue::Int64(Some(parse(value)?)),
        Type::OID => ScalarValue::UInt32(Some(parse(value)?)),
        Type::FLOAT4 => ScalarValue::Float32(Some(parse_float(value)? as f32)),
        Type::FLOAT8 => ScalarValue::Float64(Some(parse_float(value)?)),
        Type::NUMERIC => decimal(parse_decimal(value)?),
        Type::BYTEA => ScalarValue::Binary(Some(parse_bytea(value)?)),
        Type::DATE => cast_text(value, DataType::Date32)?,
        Type::TIMESTAMP => cast_text(value, DataType::Timestamp(TimeUnit::Microsecond, None))?,
        Type::TIMESTAMPTZ => cast_text(
            value,
            DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
        )?,
        Type::TIME => cast_text(value, DataType::Time64(TimeUnit::Microsecond))?,
        Type::INTERVAL => cast_text(
            value,
            DataType::Interval(datafusion::arrow::datatypes::IntervalUnit::MonthDayNano),
        )?,
        // text, varchar, bpchar, name, unknown, json, uuid and anything else: the text itself.
        _ => ScalarValue::Utf8(Some(value.to_owned())),
    };
    Ok(scalar)
}

/// Binary format, as the Postgres `*send` functions write it (big-endian, 2000 epoch).
fn decode_binary(pg_type: &Type, bytes: &[u8]) -> Result<ScalarValue, String> {
    if let Kind::Array(element) = pg_type.kind() {
        let elements = array_binary_elements(bytes)?
            .into_iter()
            .map(|item| item.map(|item| decode_binary(element, item)).transpose())
            .collect::<Result<Vec<_>, String>>()?;
        return list(element, elements);
    }
    let scalar = match *pg_type {
        Type::BOOL => ScalarValue::Boolean(Some(from_sql(pg_type, bytes)?)),
        Type::INT2 => ScalarValue::Int16(Some(from_sql(pg_type, bytes)?)),
        Type::INT4 => ScalarValue::Int32(Some(from_sql(pg_type, bytes)?)),
        Type::INT8 => ScalarValue::Int64(Some(from_sql(pg_type, bytes)?)),
        Type::OID => ScalarValue::UInt32(Some(from_sql(pg_type, bytes)?)),
        Type::FLOAT4 => ScalarValue::Float32(Some(from_sql(pg_type, bytes)?)),
        Type::FLOAT8 => ScalarValue::Float64(Some(from_sql(pg_type, bytes)?)),
        Type::NUMERIC => decimal(from_sql::<Decimal>(pg_type, bytes)?),
        Type::BYTEA => ScalarValue::Binary(Some(bytes.to_vec())),
        Type::DATE => {
            let days = i64::from(i32::from_be_bytes(fixed::<4>(bytes)?)) + POSTGRES_EPOCH_DAYS;
            ScalarValue::Date32(Some(
                i32::try_from(days).map_err(|error| error.to_string())?,
            ))
        }
        Type::TIMESTAMP | Type::TIMESTAMPTZ => {
            let microseconds = i64::from_be_bytes(fixed::<8>(bytes)?)
                .checked_add(POSTGRES_EPOCH_MICROSECONDS)
                .ok_or("timestamp out of range")?;
            let zone = (*pg_type == Type::TIMESTAMPTZ).then(|| "UTC".into());
            ScalarValue::TimestampMicrosecond(Some(microseconds), zone)
        }
        Type::TIME => ScalarValue::Time64Microsecond(Some(i64::from_be_bytes(fixed::<8>(bytes)?))),
        Type::INTERVAL => ScalarValue::IntervalMonthDayNano(Some(interval(bytes)?)),
        Type::UUID => ScalarValue::Utf8(Some(uuid_text(&fixed::<16>(bytes)?))),
        // jsonb's binary form is a version byte (1) followed by the text.
        Type::JSONB => match bytes.split_first() {
            Some((1, json)) => ScalarValue::Utf8(Some(text(json)?.to_owned())),
            _ => return Err("unsupported jsonb version".to_owned()),
        },
        Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME | Type::UNKNOWN | Type::JSON => {
            ScalarValue::Utf8(Some(text(bytes)?.to_owned()))
        }
        ref other => return Err(format!("binary format for type {other} is not supported")),
    };
    Ok(scalar)
}

/// A one-dimensional array of `element` values (`None` for NULL elements).
fn list(element: &Type, values: Vec<Option<ScalarValue>>) -> Result<ScalarValue, String> {
    let data_type = values
        .iter()
        .flatten()
        .map(ScalarValue::data_type)
        .next()
        .or_else(|| declared_data_type(element))
        .unwrap_or(DataType::Utf8);
    let values = values
        .into_iter()
        .map(|value| match value {
            Some(value) => Ok(value),
            None => ScalarValue::try_from(&data_type).map_err(|error| error.to_string()),
        })
        .collect::<Result<Vec<_>, String>>()?;
    Ok(ScalarValue::List(ScalarValue::new_list_nullable(
        &values, &data_type,
    )))
}

/// The elements of a binary array (`array_send`): dimensions, then each element's length
/// (-1 for NULL) and bytes. One dimension at most.
fn array_binary_elements(bytes: &[u8]) -> Result<Vec<Option<&[u8]>>, String> {
    let mut rest = bytes;
    let mut take = |count: usize| -> Result<&[u8], String> {
        if rest.len() < count {
            return Err("array value ends early".to_owned());
        }
        let (taken, remaining) = rest.split_at(count);
        rest = remaining;
        Ok(taken)
    };
    let int = |bytes: &[u8]| i32::from_be_bytes(fixed::<4>(bytes).unwrap_or_default());
    let dimensions = int(take(4)?);
    let _has_nulls = take(4)?;
    let _element_oid = take(4)?;
    let count = match dimensions {
        0 => 0,
        1 => {
            let length = int(take(4)?);
            let _lower_bound = take(4)?;
            usize::try_from(length).map_err(|_| format!("invalid array length {length}"))?
        }
        _ => return Err(format!("{dimensions}-dimensional arrays are not supported")),
    };
    let mut elements = Vec::with_capacity(count.min(bytes.len() / 4));
    for _ in 0..count {
        let length = int(take(4)?);
        elements.push(if length < 0 {
            None
        } else {
            Some(take(
                usize::try_from(length).map_err(|error| error.to_string())?,
            )?)
        });
    }
    if !take(0)?.is_empty() || !rest.is_empty() {
        return Err("trailing bytes after the array".to_owned());
    }
    Ok(elements)
}

fn from_sql<'a, T: FromSql<'a>>(pg_type: &Type, bytes: &'a [u8]) -> Result<T, String> {
    T::from_sql(pg_type, bytes).map_err(|error| error.to_string())
}

fn fixed<const N: usize>(bytes: &[u8]) -> Result<[u8; N], String> {
    <[u8; N]>::try_from(bytes).map_err(|_| format!("expected {N} bytes, got {}", bytes.len()))
}

fn interval(bytes: &[u8]) -> Result<IntervalMonthDayNano, String> {
    let bytes = fixed::<16>(bytes)?;
    let (microseconds, rest) = bytes.split_at(8);
    let (days, months) = rest.split_at(4);
    let microseconds = i64::from_be_bytes(fixed::<8>(microseconds)?);
    let nanoseconds = microseconds
        .checked_mul(1_000)
        .ok_or("interval out of range")?;
    Ok(IntervalMonthDayNano::new(
        i32::from_be_bytes(fixed::<4>(months)?),
        i32::from_be_bytes(fixed::<4>(days)?),
        nanoseconds,
    ))
}

fn uuid_text(bytes: &[u8; 16]) -> String {
    let hex: String = bytes.iter().map(|byte| format!("{byte:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

/// Postgres boolean input: `t`, `true`, `yes`, `on`, `1` and their negations, any case.
fn parse_bool(value: &str) -> Result<bool, String> {
    match value.trim().to_ascii_lowercase().as_str() {
        "t" | "true" | "y" | "yes" | "on" | "1" => Ok(true),
        "f" | "false" | "n" | "no" | "off" | "0" => Ok(false),
        _ => Err(format!("\"{value}\" is not a boolean")),
    }
}

/// Floats, including the spellings Postgres prints: `NaN`, `Infinity`, `-Infinity`.
fn parse_float(value: &str) -> Result<f64, String> {
    match value.trim().to_ascii_lowercase().as_str() {
        "nan" => Ok(f64::NAN),
        "infinity" | "inf" | "+infinity" => Ok(f64::INFINITY),
        "-infinity" | "-inf" => Ok(f64::NEG_INFINITY),
        _ => parse(value),
    }
}

fn parse_decimal(value: &str) -> Result<Decimal, String> {
    let value = value.trim();
    Decimal::from_str(value)
        .or_else(|_| Decimal::from_scientific(value))
        .map_err(|error| format!("\"{value}\": {error}"))
}

/// A decimal as `Decimal128(38, scale)`, the widest precision DataFusion coerces from.
fn decimal(value: Decimal) -> ScalarValue {
    let scale = i8::try_from(value.scale()).expect("rust_decimal scale is at most 28");
    ScalarValue::Decimal128(Some(value.mantissa()), 38, scale)
}

/// `bytea` text input: `\x` hex, else the bytes as written.
fn parse_bytea(value: &str) -> Result<Vec<u8>, String> {
    let Some(hex) = value.strip_prefix("\\x") else {
        return Ok(value.as_bytes().to_vec());
    };
    if hex.len() % 2 != 0 {
        return Err("odd number of hex digits".to_owned());
    }
    (0..hex.len())
        .step_by(2)
        .map(|start| {
            hex.get(start..start + 2)
                .and_then(|pair| u8::from_str_radix(pair, 16).ok())
                .ok_or_else(|| format!("invalid hex digits in \"{value}\""))
        })
        .collect()
}

fn cast_text(value: &str, target: DataType) -> Result<ScalarValue, String> {
    ScalarValue::try_from_string(value.trim().to_owned(), &target)
        .map_err(|error| error.to_string())
}

#[cfg(test)]
mod tests;
