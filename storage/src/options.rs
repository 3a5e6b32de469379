//! Options of the storage engine. Only the root binary reads configuration files; it fills
//! these plain structs, whose `Default` is the one place storage defaults live.

use std::path::PathBuf;
use std::time::Duration;

/// When a write is made durable before it is acknowledged (see DESIGN.md, "Write path and
/// durability").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WalDurability {
    /// The WAL is fsynced before the acknowledgement; concurrent writers share one fsync
    /// (group commit). Survives power loss.
    EveryWrite,
    /// The WAL is written to the operating system before the acknowledgement and fsynced every
    /// `interval`. Survives a process kill; power loss loses at most the last interval.
    Periodic {
        /// Time between fsyncs. Default 100 ms.
        interval: Duration,
    },
    /// The WAL is written to the operating system; the operating system decides when it
    /// reaches the disk. Survives a process kill.
    OsDefault,
    /// No WAL: data lives only in the memtable until it is flushed to a segment.
    None,
}

impl Default for WalDurability {
    fn default() -> Self {
        Self::Periodic {
            interval: Duration::from_millis(100),
        }
    }
}

/// Everything [`crate::Engine::open`] needs.
#[derive(Debug, Clone)]
pub struct StorageOptions {
    /// Directory holding the WAL, segments, manifest and series index. Created if missing.
    pub data_dir: PathBuf,
    /// WAL durability mode. Default `Periodic { 100 ms }`.
    pub wal_durability: WalDurability,
    /// A WAL file is closed and a new one started past this size. Default 64 MiB.
    pub wal_file_bytes_max: u64,
    /// Width of a time partition. Default 24 h.
    pub partition_duration: Duration,
    /// Flush the memtable when the memory it has allocated reaches this. Default 32 MiB.
    pub memtable_bytes_max: u64,
    /// Flush the memtable when it holds this many points. Default 1,000,000.
    pub memtable_points_max: u64,
    /// Flush the memtable when its oldest write is this old. Default 60 s.
    pub memtable_age_max: Duration,
    /// Compact a partition when it has at least this many segments. Default 4.
    pub compaction_segments_min: usize,
    /// How often the background task checks for age-triggered flushes and compaction.
    /// Default 1 s.
    pub maintenance_interval: Duration,
    /// Plain tables are held in memory: an insert that would take the values they hold
    /// past this many bytes is refused. Default 1 GiB.
    pub table_bytes_max: u64,
}

impl Default for StorageOptions {
    fn default() -> Self {
        Self {
            data_dir: PathBuf::from("data"),
            wal_durability: WalDurability::default(),
            wal_file_bytes_max: 64 << 20,
            partition_duration: Duration::from_secs(24 * 3600),
            memtable_bytes_max: 32 << 20,
            memtable_points_max: 1_000_000,
            memtable_age_max: Duration::from_secs(60),
            compaction_segments_min: 4,
            maintenance_interval: Duration::from_secs(1),
            table_bytes_max: 1 << 30,
        }
    }
}
