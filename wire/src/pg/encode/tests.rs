use std::sync::Arc;

use datafusion::arrow::array::{
    Int8Array, IntervalMonthDayNanoArray, NullArray, RecordBatch, TimestampMicrosecondArray,
};
use datafusion::arrow::datatypes::{DataType, Field, IntervalMonthDayNano, Schema, TimeUnit};
use pgwire::api::Type;
use pgwire::api::portal::Format;
use pgwire::types::format::FormatOptions;

use super::*;

fn schema(fields: Vec<Field>) -> Schema {
    Schema::new(fields)
}

#[test]
fn wire_types_have_postgres_twins() {
    let utc = DataType::Timestamp(TimeUnit::Nanosecond, Some("+00:00".into()));
    let input = schema(vec![
        Field::new("null", DataType::Null, true),
        Field::new("tiny", DataType::Int8, false),
        Field::new("zoned", utc, true),
        Field::new(
            "naive",
            DataType::Timestamp(TimeUnit::Microsecond, None),
            true,
        ),
        Field::new("text", DataType::Utf8View, true),
    ]);
    let wire = wire_schema(&input, "Europe/Berlin");
    let types: Vec<_> = wire
        .fields()
        .iter()
        .map(|field| field.data_type().clone())
        .collect();
    assert_eq!(
        types,
        vec![
            DataType::Utf8,
            DataType::Int16,
            DataType::Timestamp(TimeUnit::Microsecond, Some("Europe/Berlin".into())),
            DataType::Timestamp(TimeUnit::Microsecond, None),
            DataType::Utf8View,
        ]
    );
    let fields = field_infos(&wire, &Format::UnifiedBinary, FormatOptions::default()).unwrap();
    let pg_types: Vec<_> = fields
        .iter()
        .map(|field| field.datatype().clone())
        .collect();
    assert_eq!(
        pg_types,
        vec![
            Type::TEXT,
            Type::INT2,
            Type::TIMESTAMPTZ,
            Type::TIMESTAMP,
            Type::TEXT
        ]
    );
}

/// The text of one encoded single-column row (`data` is length, then bytes).
fn text_of(row: &DataRow) -> Option<String> {
    let length = i32::from_be_bytes(row.data[0..4].try_into().unwrap());
    (length >= 0).then(|| String::from_utf8(row.data[4..].to_vec()).unwrap())
}

fn encode_all(batch: RecordBatch, time_zone: &str) -> Vec<Option<String>> {
    let wire = wire_schema(&batch.schema(), time_zone);
    let mut options = FormatOptions::default();
    options.time_zone = time_zone.to_owned();
    let fields = field_infos(&wire, &Format::UnifiedText, options).unwrap();
    let mut rows = BatchRows::new(conform_batch(&batch, &wire).unwrap(), fields);
    std::iter::from_fn(|| rows.next_row())
        .map(|row| text_of(&row.unwrap()))
        .collect()
}

#[test]
fn null_intervals_are_sent_as_null() {
    let interval = IntervalMonthDayNano::new(0, 1, 3_600_000_000_000);
    let array = IntervalMonthDayNanoArray::from(vec![Some(interval), None]);
    let field = Field::new("i", array.data_type().clone(), true);
    let batch = RecordBatch::try_new(Arc::new(schema(vec![field])), vec![Arc::new(array)]).unwrap();
    let texts = encode_all(batch, "UTC");
    assert_eq!(texts.len(), 2);
    assert!(
        texts[0]
            .as_deref()
            .is_some_and(|text| text.contains("1 day")),
        "{texts:?}"
    );
    assert_eq!(texts[1], None);
}

#[test]
fn timestamptz_text_follows_the_session_time_zone() {
    // 2024-01-01 00:00:00 UTC, and one instant before 1970.
    let array = TimestampMicrosecondArray::from(vec![Some(1_704_067_200_000_000), Some(-1)])
        .with_timezone("UTC");
    let field = Field::new("t", array.data_type().clone(), true);
    let batch = RecordBatch::try_new(Arc::new(schema(vec![field])), vec![Arc::new(array)]).unwrap();
    let texts = encode_all(batch.clone(), "America/New_York");
    assert_eq!(texts[0].as_deref(), Some("2023-12-31 19:00:00-05"));
    let texts = encode_all(batch, "UTC");
    assert_eq!(texts[1].as_deref(), Some("1969-12-31 23:59:59.999999+00"));
}

#[test]
fn int8_and_null_columns_are_cast_before_encoding() {
    let fields = vec![
        Field::new("a", DataType::Int8, true),
        Field::new("n", DataType::Null, true),
    ];
    let columns: Vec<ArrayRef> = vec![
        Arc::new(Int8Array::from(vec![Some(-128), None])),
        Arc::new(NullArray::new(2)),
    ];
    let batch = RecordBatch::try_new(Arc::new(schema(fields)), columns).unwrap();
    let wire = wire_schema(&batch.schema(), "UTC");
    let conformed = conform_batch(&batch, &wire).unwrap();
    assert_eq!(conformed.column(0).data_type(), &DataType::Int16);
    assert_eq!(conformed.column(1).data_type(), &DataType::Utf8);
    assert_eq!(conformed.column(1).null_count(), 2);
}

#[test]
fn conform_rejects_a_column_count_mismatch() {
    let batch = RecordBatch::try_new(
        Arc::new(schema(vec![Field::new("a", DataType::Int8, true)])),
        vec![Arc::new(Int8Array::from(vec![1]))],
    )
    .unwrap();
    let wire = Arc::new(schema(vec![]));
    assert!(conform_batch(&batch, &wire).is_err());
}

/// `UInt32` is `oid`, lists of it `oid[]`: described so, and sent in PostgreSQL's forms
/// (binary `oid` is 4 unsigned bytes; `oid[]` is `array_send` with element type 26).
#[test]
fn oid_columns_are_described_and_encoded_as_oid() {
    use datafusion::arrow::array::{ListArray, UInt32Array};
    use datafusion::arrow::datatypes::UInt32Type;

    let oids = UInt32Array::from(vec![Some(3_000_000_000), None]);
    let lists =
        ListArray::from_iter_primitive::<UInt32Type, _, _>(vec![Some(vec![Some(23), None]), None]);
    let batch = RecordBatch::try_new(
        Arc::new(schema(vec![
            Field::new("oid", DataType::UInt32, true),
            Field::new("oids", lists.data_type().clone(), true),
        ])),
        vec![Arc::new(oids), Arc::new(lists)],
    )
    .unwrap();
    let wire = wire_schema(&batch.schema(), "UTC");
    for (format, text) in [(Format::UnifiedText, true), (Format::UnifiedBinary, false)] {
        let fields = field_infos(&wire, &format, FormatOptions::default()).unwrap();
        let types: Vec<_> = fields
            .iter()
            .map(|field| field.datatype().clone())
            .collect();
        assert_eq!(types, vec![Type::OID, Type::OID_ARRAY]);
        let sizes: Vec<_> = fields.iter().map(FieldInfo::type_size).collect();
        assert_eq!(sizes, vec![4, -1]);
        let mut rows = BatchRows::new(conform_batch(&batch, &wire).unwrap(), fields);
        let first = rows.next_row().unwrap().unwrap();
        let second = rows.next_row().unwrap().unwrap();
        assert!(rows.next_row().is_none());
        // Both NULLs are -1 lengths.
        assert_eq!(second.data.as_ref(), [255; 8].as_slice());
        let data = first.data.as_ref();
        if text {
            let mut expected = Vec::new();
            for text in ["3000000000", "{23,NULL}"] {
                expected.extend_from_slice(&i32::try_from(text.len()).unwrap().to_be_bytes());
                expected.extend_from_slice(text.as_bytes());
            }
            assert_eq!(data, expected.as_slice());
        } else {
            let mut expected = vec![0, 0, 0, 4];
            expected.extend_from_slice(&3_000_000_000u32.to_be_bytes());
            let array: Vec<u8> = [
                1i32.to_be_bytes(),  // dimensions
                1i32.to_be_bytes(),  // has NULLs
                26i32.to_be_bytes(), // element type: oid
                2i32.to_be_bytes(),  // length
                1i32.to_be_bytes(),  // lower bound
                4i32.to_be_bytes(),  // first element: 4 bytes
                23i32.to_be_bytes(),
                (-1i32).to_be_bytes(), // second element: NULL
            ]
            .concat();
            expected.extend_from_slice(&i32::try_from(array.len()).unwrap().to_be_bytes());
            expected.extend_from_slice(&array);
            assert_eq!(data, expected.as_slice());
        }
    }
}
