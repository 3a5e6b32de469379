//! The server's configuration: one typed [`Config`], read from `rusts.yml` (serde_yaml, unknown
//! keys refused), then overridden by the command line. Each section's `Default` is the only
//! place a default lives; `rusts.yml` at the repository root lists every key with its default,
//! and a test keeps the two equal.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};
use serde::Deserialize;

/// The whole configuration.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct Config {
    pub(crate) server: ServerConfig,
    pub(crate) storage: StorageConfig,
    pub(crate) memtable: MemtableConfig,
    pub(crate) log: LogConfig,
}

/// `server:` — the listeners. (The Postgres listener's keys arrive with it.)
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct ServerConfig {
    /// Address the listeners bind. Default `0.0.0.0` (all interfaces), as the seed says; a
    /// warning is logged while authentication does not exist yet.
    pub(crate) host: String,
    /// HTTP port (InfluxDB line protocol, health, metrics). Default 8086; 0 picks a free port.
    pub(crate) port: u16,
    /// Postgres wire protocol port (SQL). Default 5432; 0 picks a free port.
    pub(crate) pg_port: u16,
    /// Open Postgres connections at most. Default 100, as Postgres's `max_connections`.
    pub(crate) max_connections: usize,
    /// Largest HTTP request body in bytes, counted after gzip decoding. Default 10 MiB.
    pub(crate) max_body_size: usize,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            host: "0.0.0.0".into(),
            port: 8086,
            pg_port: 5432,
            max_connections: 100,
            max_body_size: 10 << 20,
        }
    }
}

/// WAL durability as written in the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum WalDurabilityName {
    EveryWrite,
    Periodic,
    OsDefault,
    None,
}

/// `storage:` — where data lives and how writes are made durable.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct StorageConfig {
    /// Data directory (WAL, segments, manifest, series index). Default `./data`.
    pub(crate) data_dir: PathBuf,
    /// `every_write`, `periodic`, `os_default` or `none`. Default `periodic`.
    pub(crate) wal_durability: WalDurabilityName,
    /// fsync interval of `periodic`, in milliseconds. Default 100.
    pub(crate) wal_sync_interval_ms: u64,
    /// A WAL file is closed past this size. Default 64 MiB.
    pub(crate) wal_file_bytes: u64,
    /// Width of a time partition (humantime: `24h`, `1h`, `7d`). Default 24 h.
    #[serde(with = "humantime_serde")]
    pub(crate) partition_duration: Duration,
    /// Compact a partition once it has this many segments. Default 4.
    pub(crate) compaction_segments_min: usize,
    /// Plain tables live in memory: inserts past this many bytes of values are refused.
    /// Default 1 GiB.
    pub(crate) table_bytes_max: u64,
}

impl Default for StorageConfig {
    fn default() -> Self {
        Self {
            data_dir: PathBuf::from("./data"),
            wal_durability: WalDurabilityName::Periodic,
            wal_sync_interval_ms: 100,
            wal_file_bytes: 64 << 20,
            partition_duration: Duration::from_secs(24 * 3600),
            compaction_segments_min: 4,
            table_bytes_max: 1 << 30,
        }
    }
}

/// `memtable:` — when buffered writes are flushed to a segment.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct MemtableConfig {
    /// Flush at the memtable's allocated size in bytes. Default 32 MiB (about 340,000
    /// points of ten float fields; a frozen memtable and the next one can coexist while
    /// the first is flushed).
    pub(crate) max_size: u64,
    /// Flush at this many points. Default 1,000,000.
    pub(crate) max_points: u64,
    /// Flush when the oldest buffered write is this old (humantime). Default 60 s.
    #[serde(with = "humantime_serde")]
    pub(crate) max_age: Duration,
}

impl Default for MemtableConfig {
    fn default() -> Self {
        Self {
            max_size: 32 << 20,
            max_points: 1_000_000,
            max_age: Duration::from_secs(60),
        }
    }
}

/// `log:` — what the server logs.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct LogConfig {
    /// A tracing filter (`info`, `rusts_storage=debug`); `RUST_LOG` overrides it. Default `info`.
    pub(crate) level: String,
}

impl Default for LogConfig {
    fn default() -> Self {
        Self {
            level: "info".into(),
        }
    }
}

impl Config {
    /// Parses YAML text; the one place serde_yaml is called, so replacing it stays local.
    pub(crate) fn from_yaml_str(text: &str) -> anyhow::Result<Self> {
        if text.trim().is_empty() {
            return Ok(Self::default());
        }
        Ok(serde_yaml::from_str(text)?)
    }

    /// Reads and validates a configuration file, naming the file in every error.
    pub(crate) fn load(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading configuration file {}", path.display()))?;
        let config = Self::from_yaml_str(&text)
            .with_context(|| format!("invalid configuration file {}", path.display()))?;
        config
            .validate()
            .with_context(|| format!("invalid configuration file {}", path.display()))?;
        Ok(config)
    }

    /// Checks values serde cannot: ranges and relations.
    pub(crate) fn validate(&self) -> anyhow::Result<()> {
        if self.server.host.parse::<std::net::IpAddr>().is_err() && self.server.host != "localhost"
        {
            bail!(
                "server.host must be an IP address or localhost, not {:?}",
                self.server.host
            );
        }
        if self.server.max_connections == 0 {
            bail!("server.max_connections must be at least 1");
        }
        if self.server.max_body_size < 1024 {
            bail!("server.max_body_size must be at least 1024 bytes");
        }
        if self.storage.wal_sync_interval_ms == 0 {
            bail!("storage.wal_sync_interval_ms must be at least 1");
        }
        if self.storage.partition_duration < Duration::from_secs(1) {
            bail!("storage.partition_duration must be at least 1s");
        }
        if self.storage.wal_file_bytes < 1 << 20 {
            bail!("storage.wal_file_bytes must be at least 1048576 (1 MiB)");
        }
        if self.storage.compaction_segments_min < 2 {
            bail!("storage.compaction_segments_min must be at least 2");
        }
        if self.memtable.max_size == 0 || self.memtable.max_points == 0 {
            bail!("memtable.max_size and memtable.max_points must be positive");
        }
        if self.memtable.max_age.is_zero() {
            bail!("memtable.max_age must be positive");
        }
        Ok(())
    }

    /// The storage engine's options.
    pub(crate) fn storage_options(&self) -> rusts_storage::StorageOptions {
        use rusts_storage::WalDurability;
        let durability = match self.storage.wal_durability {
            WalDurabilityName::EveryWrite => WalDurability::EveryWrite,
            WalDurabilityName::Periodic => WalDurability::Periodic {
                interval: Duration::from_millis(self.storage.wal_sync_interval_ms),
            },
            WalDurabilityName::OsDefault => WalDurability::OsDefault,
            WalDurabilityName::None => WalDurability::None,
        };
        rusts_storage::StorageOptions {
            data_dir: self.storage.data_dir.clone(),
            wal_durability: durability,
            wal_file_bytes_max: self.storage.wal_file_bytes,
            partition_duration: self.storage.partition_duration,
            memtable_bytes_max: self.memtable.max_size,
            memtable_points_max: self.memtable.max_points,
            memtable_age_max: self.memtable.max_age,
            compaction_segments_min: self.storage.compaction_segments_min,
            table_bytes_max: self.storage.table_bytes_max,
            ..rusts_storage::StorageOptions::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documented_defaults_equal_the_code_defaults() {
        let text = include_str!("../rusts.yml");
        let config = Config::from_yaml_str(text).unwrap();
        assert_eq!(config, Config::default());
        config.validate().unwrap();
    }

    #[test]
    fn unknown_keys_and_bad_values_name_the_key() {
        let unknown = Config::from_yaml_str("storage:\n  wal_durabilty: none\n").unwrap_err();
        assert!(
            unknown
                .to_string()
                .contains("unknown field `wal_durabilty`"),
            "{unknown}"
        );
        let bad = Config::from_yaml_str("storage:\n  wal_durability: sometimes\n").unwrap_err();
        assert!(
            bad.to_string().contains("unknown variant `sometimes`"),
            "{bad}"
        );
        let zero = Config::from_yaml_str("storage:\n  wal_sync_interval_ms: 0\n").unwrap();
        assert!(
            zero.validate()
                .unwrap_err()
                .to_string()
                .contains("wal_sync_interval_ms")
        );
    }

    #[test]
    fn storage_options_follow_the_file() {
        let text = "storage:\n  wal_durability: every_write\n  partition_duration: 1h\n";
        let options = Config::from_yaml_str(text).unwrap().storage_options();
        assert_eq!(
            options.wal_durability,
            rusts_storage::WalDurability::EveryWrite
        );
        assert_eq!(options.partition_duration, Duration::from_secs(3600));
    }
}
