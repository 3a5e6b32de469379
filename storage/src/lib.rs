//! `rusts_storage`: the storage engine of RusTs.
#![forbid(unsafe_code)]
#![deny(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::cast_possible_truncation
)]
#![cfg_attr(
    test,
    allow(
        clippy::cast_possible_truncation,
        clippy::type_complexity,
        clippy::too_many_lines
    )
)]

mod batch;
mod binary;
mod bloom;
mod codec;
mod disk_usage;
mod engine;
mod error;
mod estimate;
mod filter;
mod fs;
pub mod limits;
mod manifest;
mod memtable;
mod options;
mod point;
mod predicate;
mod run;
mod scan;
mod scan_output;
mod schema;
mod segment;
mod series;
mod series_log;
mod table;
mod table_record;
mod tag_index;
mod time_order;
mod version;
mod wal;
mod wal_record;

pub use batch::{FieldRef, PointBatch, PointView};
pub use codec::CodecError;
#[doc(hidden)]
pub use codec::bench_api;
pub use disk_usage::{ColumnUsage, DiskUsage};
pub use engine::{
    CompactionSummary, DeleteSummary, Engine, EngineStats, PartialWrite, WriteSummary,
};
pub use error::{Error, Result};
pub use estimate::ScanEstimate;
pub use filter::{Comparison, FieldFilter};
pub use options::{StorageOptions, WalDurability};
pub use point::Point;
pub use predicate::{Predicate, TagPredicate, TimeRange};
pub use scan::{SCAN_BATCH_ROWS_DEFAULT, Scan, ScanOrder, ScanRequest, ScanStats, Shard};
pub use scan_output::{field_data_type, time_data_type};
pub use schema::{FieldSchema, FieldType, FieldValue, MeasurementSchema};
pub use series::{SeriesId, SeriesKey};
pub use table::{
    ColumnType, ROW_ID_COLUMN, RowId, TableChange, TableColumn, TableId, TableRows, Tables,
    UniqueKey, Value,
};
pub use wal::WalSequence;
