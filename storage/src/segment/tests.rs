use super::*;
use crate::predicate::TimeRange;
use crate::run::{Column, Run};
use crate::schema::{FieldType, FieldValue, MeasurementSchema};
use crate::segment::reader::{ChunkCounts, ChunkFilter};
use crate::series::{SeriesId, SeriesKey};

fn schema() -> MeasurementSchema {
    let mut schema = MeasurementSchema::new("cpu");
    schema.ensure_field("usage", FieldType::Float);
    schema.ensure_field("count", FieldType::Integer);
    schema.ensure_field("state", FieldType::String);
    schema.ensure_field("ok", FieldType::Boolean);
    schema.ensure_field("bytes", FieldType::Unsigned);
    schema
}

fn run(rows: usize, offset: i64) -> Run {
    let mut columns: Vec<Column> = [
        FieldType::Float,
        FieldType::Integer,
        FieldType::String,
        FieldType::Boolean,
        FieldType::Unsigned,
    ]
    .into_iter()
    .map(|t| Column::with_capacity(t, rows))
    .collect();
    for row in 0..rows {
        let i = row as i64;
        columns[0].push_value(&FieldValue::Float(i as f64 / 100.0));
        if row % 3 == 0 {
            columns[1].push_null();
        } else {
            columns[1].push_value(&FieldValue::Integer(-i));
        }
        columns[2].push_value(&FieldValue::String(format!("s{}", row % 4)));
        columns[3].push_value(&FieldValue::Boolean(row % 2 == 0));
        columns[4].push_null();
    }
    Run {
        timestamps: (0..rows as i64).map(|i| offset + i * 10).collect(),
        columns: columns.into_iter().map(Some).collect(),
    }
}

fn projection(schema: &MeasurementSchema) -> Vec<(u32, &str, FieldType)> {
    schema
        .fields
        .iter()
        .enumerate()
        .map(|(i, f)| (i as u32, f.name.as_str(), f.field_type))
        .collect()
}

fn write(dir: &std::path::Path, series: &[(SeriesId, Run)]) -> std::path::PathBuf {
    let path = dir.join(file_name(1));
    let header = SegmentHeader {
        partition_start_ns: 0,
        min_sequence: 1,
        max_sequence: 9,
    };
    let mut writer = SegmentWriter::create(&path, header).unwrap();
    let schema = schema();
    for (id, run) in series {
        let key = SeriesKey::new("cpu", &[("host".into(), format!("h{}", id.0))]);
        writer.add_series(&schema, *id, &key, run).unwrap();
    }
    writer.finish().unwrap();
    path
}

#[test]
fn round_trips_series_across_chunks_with_nulls() {
    let dir = tempfile::tempdir().unwrap();
    let big = run(crate::limits::BLOCK_ROWS_MAX * 2 + 5, -1_000);
    let small = run(7, 5);
    let path = write(
        dir.path(),
        &[(SeriesId(3), small.clone()), (SeriesId(10), big.clone())],
    );
    assert!(!dir.path().join("00000000000000000001.seg.tmp").exists());
    let reader = SegmentReader::open(&path, 1).unwrap();
    let schema = schema();
    let projection = projection(&schema);
    let mut counts = ChunkCounts::default();
    let read_big = reader
        .read_series(
            SeriesId(10),
            &TimeRange::ALL,
            &projection,
            5,
            ChunkFilter::default(),
            &mut counts,
        )
        .unwrap();
    let mut expected = big.clone();
    expected.columns[4] = None;
    assert_eq!(read_big.unwrap(), expected);
    assert_eq!(counts.read, 3);
    let read_small = reader
        .read_series(
            SeriesId(3),
            &TimeRange::ALL,
            &projection,
            5,
            ChunkFilter::default(),
            &mut counts,
        )
        .unwrap();
    assert_eq!(read_small.unwrap().timestamps, small.timestamps);
    assert!(
        reader
            .read_series(
                SeriesId(4),
                &TimeRange::ALL,
                &projection,
                5,
                ChunkFilter::default(),
                &mut counts
            )
            .unwrap()
            .is_none()
    );
    assert_eq!(reader.footer().rows, (big.len() + small.len()) as u64);
    assert!(reader.bloom_may_contain_series(SeriesId(10)));
    assert!(reader.bloom_may_contain_tag("cpu", "host", "h3"));
}

#[test]
fn field_filters_skip_chunks_no_other_source_overlaps() {
    use crate::filter::{Comparison, FieldFilter, resolve};
    let dir = tempfile::tempdir().unwrap();
    let block = crate::limits::BLOCK_ROWS_MAX;
    // usage is row / 100: chunk k holds [k * block / 100, (k + 1) * block / 100).
    let path = write(dir.path(), &[(SeriesId(1), run(block * 3, 0))]);
    let reader = SegmentReader::open(&path, 1).unwrap();
    let schema = schema();
    let projection = projection(&schema);
    let filter = |op, value: f64| {
        let filter = FieldFilter {
            field: "usage".into(),
            op,
            value: FieldValue::Float(value),
        };
        resolve(&schema, &[filter]).unwrap()
    };
    let read = |filters: &[crate::filter::ResolvedFilter], other_spans: &[(i64, i64)]| {
        let mut counts = ChunkCounts::default();
        let filter = ChunkFilter {
            filters,
            other_spans,
        };
        let run = reader
            .read_series(
                SeriesId(1),
                &TimeRange::ALL,
                &projection,
                5,
                filter,
                &mut counts,
            )
            .unwrap();
        (run.map_or(0, |run| run.len()), counts)
    };
    let last_chunk = (block * 2) as f64 / 100.0;
    // Statistics rule out the first two chunks; the last is read whole.
    let (rows, counts) = read(&filter(Comparison::GtEq, last_chunk), &[]);
    assert_eq!((rows, counts.read, counts.filtered), (block, 1, 2));
    // Another source overlapping the first chunk keeps it: its rows may merge with newer ones.
    let first_chunk_time = (0, 10);
    let (rows, counts) = read(&filter(Comparison::GtEq, last_chunk), &[first_chunk_time]);
    assert_eq!((rows, counts.read, counts.filtered), (block * 2, 2, 1));
    // Within the first chunk's bounds but equal to no value: decoded, then dropped whole.
    let (rows, counts) = read(&filter(Comparison::Eq, 0.005), &[]);
    assert_eq!((rows, counts.read, counts.filtered), (0, 1, 3));
}

#[test]
fn time_range_skips_chunks_and_trims_rows() {
    let dir = tempfile::tempdir().unwrap();
    let rows = crate::limits::BLOCK_ROWS_MAX * 3;
    let path = write(dir.path(), &[(SeriesId(1), run(rows, 0))]);
    let reader = SegmentReader::open(&path, 1).unwrap();
    let schema = schema();
    let only_usage = &projection(&schema)[..1];
    let mut counts = ChunkCounts::default();
    let range = TimeRange::new(100, 195);
    let read = reader
        .read_series(
            SeriesId(1),
            &range,
            only_usage,
            5,
            ChunkFilter::default(),
            &mut counts,
        )
        .unwrap()
        .unwrap();
    assert_eq!(
        read.timestamps,
        (10..20).map(|i| i * 10).collect::<Vec<i64>>()
    );
    assert!(read.columns[1].is_none() && read.columns[0].is_some());
    assert_eq!(
        counts,
        ChunkCounts {
            read: 1,
            skipped: 2,
            filtered: 0
        }
    );
}

#[test]
fn every_flipped_byte_or_truncation_is_detected() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), &[(SeriesId(1), run(50, 0))]);
    let original = std::fs::read(&path).unwrap();
    let schema = schema();
    let projection = projection(&schema);
    let damaged = dir.path().join("damaged.seg");
    for position in (0..original.len()).step_by(7) {
        let mut bytes = original.clone();
        bytes[position] ^= 0x5a;
        std::fs::write(&damaged, &bytes).unwrap();
        let outcome = SegmentReader::open(&damaged, 2).and_then(|reader| {
            let mut counts = ChunkCounts::default();
            reader.read_series(
                SeriesId(1),
                &TimeRange::ALL,
                &projection,
                5,
                ChunkFilter::default(),
                &mut counts,
            )
        });
        assert!(outcome.is_err(), "flipped byte {position} went unnoticed");
    }
    for cut in [0, 8, original.len() / 2, original.len() - 1] {
        std::fs::write(&damaged, &original[..cut]).unwrap();
        assert!(
            SegmentReader::open(&damaged, 2).is_err(),
            "truncation at {cut}"
        );
    }
}
