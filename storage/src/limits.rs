//! Format-defining ceilings of the storage engine. Each is a named constant with the reason
//! for its size; relations between them are checked at compile time.

/// Rows in one encoded block of a series run. Bigger blocks compress slightly better (block
/// headers amortise) but make point and narrow-range reads decode more. At a 10 s interval a
/// block covers about 11 hours, so a day of one series is two or three blocks.
pub const BLOCK_ROWS_MAX: usize = 4096;
const _: () = assert!(BLOCK_ROWS_MAX.is_power_of_two());

/// Values one encoded codec stream may declare. Decoders refuse larger counts before
/// allocating, so garbage input cannot make them reserve unbounded memory.
pub const CODEC_VALUES_MAX: usize = 1 << 24;
const _: () = assert!(BLOCK_ROWS_MAX <= CODEC_VALUES_MAX);

/// Bytes of one WAL record's payload. A larger batch must be split by the caller; replay
/// treats a larger declared length as corruption rather than allocating it.
pub const WAL_RECORD_BYTES_MAX: usize = 256 << 20;

/// Tags on one point (and so on one series key).
pub const TAGS_PER_POINT_MAX: usize = 256;

/// Fields on one point.
pub const FIELDS_PER_POINT_MAX: usize = 1024;

/// Bytes of a measurement, tag or field name.
pub const NAME_BYTES_MAX: usize = 1024;

/// Bytes of one tag value.
pub const TAG_VALUE_BYTES_MAX: usize = 64 << 10;

/// Bytes of one string field value.
pub const STRING_FIELD_BYTES_MAX: usize = 1 << 20;

/// Frozen memtables waiting for their flush. A writer that would freeze one more waits for
/// a flush to finish: this bounds memory when the disk is slower than ingest.
pub const FROZEN_MEMTABLES_MAX: usize = 2;

/// Bytes of a segment footer (the block index). Readers refuse larger footers as corrupt.
pub const SEGMENT_FOOTER_BYTES_MAX: u64 = 1 << 30;
