//! `rusts_planner`: the engine facade the wire crate calls. Today it owns ingestion (database
//! mapping, partial writes) and statistics; DataFusion sessions, table providers and the
//! time-series UDFs arrive with the Postgres wire issue.
//!
//! Databases: `rusts` always exists; any other name is created by its first write (InfluxDB
//! 2.x buckets behave the same way), so a writer pointed at RusTs needs no setup. In storage a
//! measurement is named `<database>\0<measurement>`; names may not contain NUL.
#![forbid(unsafe_code)]

mod catalog;
mod correlated;
mod database_ddl;
pub mod ddl;
mod dml;
mod error;
mod functions;
mod index_ddl;
mod latest;
pub mod output_names;
mod pg_catalog;
mod pg_functions;
pub mod pg_syntax;
mod plain;
mod plain_ddl;
pub mod plain_dml;
mod pushdown;
pub mod reuse;
mod scan_exec;
mod table;
mod time_order;
pub mod views;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use datafusion::prelude::{SessionConfig, SessionContext};

pub use catalog::PUBLIC_SCHEMA;
pub use error::{Error, Result};
pub use rusts_storage::{FieldRef, FieldValue, StorageOptions, WalDurability};

/// The database every server has.
pub const DEFAULT_DATABASE: &str = "rusts";

/// Separates database and measurement in storage measurement names.
pub(crate) const DATABASE_SEPARATOR: char = '\0';

/// One point to write, as a protocol decoded it.
pub type WritePoint = rusts_storage::Point;

/// A batch of points for one database.
#[derive(Debug, Clone)]
pub struct WriteRequest {
    /// Target database (`db` / `bucket`); created by its first write.
    pub database: String,
    /// The points.
    pub points: Vec<WritePoint>,
}

/// Points for one database, packed for the storage engine (names and strings in one buffer,
/// see [`rusts_storage::PointBatch`]): the ingest path fills it straight from parsed lines
/// without an allocation per point.
#[derive(Debug)]
pub struct WriteBatch {
    database: String,
    points: rusts_storage::PointBatch,
    /// For each packed point, its index among the points pushed.
    positions: Vec<usize>,
    /// Points refused while packing (their measurement name is invalid).
    rejected: Vec<(usize, Error)>,
    pushed: usize,
    /// Scratch for `<database>\0<measurement>`.
    name: String,
}

impl WriteBatch {
    /// An empty batch for `database` (refused if the name is invalid).
    pub fn new(database: &str) -> Result<Self> {
        check_database_name(database)?;
        Ok(Self {
            database: database.to_owned(),
            points: rusts_storage::PointBatch::new(),
            positions: Vec::new(),
            rejected: Vec::new(),
            pushed: 0,
            name: String::new(),
        })
    }

    /// Appends a point. A measurement name the storage cannot hold is recorded as a refused
    /// point, reported by [`Engine::ingest_batch`]; `Err` means the batch as a whole is too
    /// large.
    pub fn push<'a>(
        &mut self,
        measurement: &str,
        tags: impl IntoIterator<Item = (&'a str, &'a str)>,
        fields: impl IntoIterator<Item = (&'a str, FieldRef<'a>)>,
        timestamp_ns: i64,
    ) -> Result<()> {
        let index = self.pushed;
        self.pushed += 1;
        if measurement.contains(DATABASE_SEPARATOR) {
            self.rejected.push((
                index,
                Error::InvalidName {
                    what: "measurement",
                    name: measurement.to_owned(),
                },
            ));
            return Ok(());
        }
        self.name.clear();
        self.name.push_str(&self.database);
        self.name.push(DATABASE_SEPARATOR);
        self.name.push_str(measurement);
        self.points.push(&self.name, tags, fields, timestamp_ns)?;
        self.positions.push(index);
        Ok(())
    }

    /// Points pushed, refused ones included.
    pub fn len(&self) -> usize {
        self.pushed
    }

    /// Whether nothing was pushed.
    pub fn is_empty(&self) -> bool {
        self.pushed == 0
    }
}

/// What an ingest did: points written and each refused point (index in the request, reason).
#[derive(Debug)]
pub struct IngestSummary {
    /// Points written.
    pub points_written: u64,
    /// Refused points by index in the request.
    pub rejected: Vec<(usize, Error)>,
}

/// Counters for `/metrics` and `/stats`.
#[derive(Debug, Clone, Default)]
pub struct EngineStats {
    /// Points written since start.
    pub points_written: u64,
    /// Points refused since start.
    pub points_rejected: u64,
    /// The storage engine's counters.
    pub storage: rusts_storage::EngineStats,
    /// Databases.
    pub databases: Vec<String>,
}

/// The engine facade.
#[derive(Debug)]
pub struct Engine {
    /// Shared with the table providers of SQL sessions.
    storage: Arc<rusts_storage::Engine>,
    /// Plain tables' catalog, shared by every session.
    catalog: Arc<plain::CatalogHandle>,
    points_written: AtomicU64,
    points_rejected: AtomicU64,
}

impl Engine {
    /// Opens the storage engine (recovering from its WAL).
    pub fn open(options: StorageOptions) -> Result<Self> {
        let storage = Arc::new(rusts_storage::Engine::open(options).map_err(Error::from)?);
        Ok(Self {
            storage,
            catalog: Arc::default(),
            points_written: AtomicU64::new(0),
            points_rejected: AtomicU64::new(0),
        })
    }

    /// Writes the valid points of `request` and reports the others. Errors that concern
    /// the whole request (an invalid database name, a WAL failure, shutdown) are `Err`.
    pub fn ingest(&self, request: WriteRequest) -> Result<IngestSummary> {
        let mut batch = WriteBatch::new(&request.database)?;
        for point in &request.points {
            batch.push(
                &point.measurement,
                point.tags.iter().map(|(k, v)| (k.as_str(), v.as_str())),
                point.fields.iter().map(|(k, v)| (k.as_str(), v.as_ref())),
                point.timestamp_ns,
            )?;
        }
        self.ingest_batch(batch)
    }

    /// Writes the valid points of a packed batch and reports the others, by their index in
    /// the order they were pushed.
    pub fn ingest_batch(&self, batch: WriteBatch) -> Result<IngestSummary> {
        let WriteBatch {
            database,
            points,
            positions,
            mut rejected,
            ..
        } = batch;
        let (points, positions) =
            self.without_plain_tables(&database, points, positions, &mut rejected)?;
        let partial = self.storage.write_batch_partial(&points)?;
        for (position, error) in partial.rejected {
            let index = positions.get(position).copied().unwrap_or(position);
            rejected.push((
                index,
                Error::Storage { source: error }.unqualified(&database),
            ));
        }
        rejected.sort_by_key(|(index, _)| *index);
        self.points_written
            .fetch_add(partial.summary.points, Ordering::Relaxed);
        self.points_rejected
            .fetch_add(rejected.len() as u64, Ordering::Relaxed);
        Ok(IngestSummary {
            points_written: partial.summary.points,
            rejected,
        })
    }

    /// `points` less those whose measurement is a plain table of `database` (refused into
    /// `rejected`: line protocol writes measurements), with the positions of those kept.
    fn without_plain_tables(
        &self,
        database: &str,
        points: rusts_storage::PointBatch,
        positions: Vec<usize>,
        rejected: &mut Vec<(usize, Error)>,
    ) -> Result<(rusts_storage::PointBatch, Vec<usize>)> {
        let catalog = self.catalog.current(&self.storage)?;
        let plain: std::collections::HashSet<String> = catalog
            .tables_of(database)
            .map(|table| storage_name(database, &table.name))
            .collect();
        if plain.is_empty()
            || !points
                .iter()
                .any(|point| plain.contains(point.measurement()))
        {
            return Ok((points, positions));
        }
        let mut kept = rusts_storage::PointBatch::new();
        let mut kept_positions = Vec::with_capacity(positions.len());
        for (point, index) in points.iter().zip(positions) {
            if plain.contains(point.measurement()) {
                let name = point
                    .measurement()
                    .split_once(DATABASE_SEPARATOR)
                    .map_or(point.measurement(), |(_, name)| name);
                rejected.push((
                    index,
                    Error::NotSupported {
                        what: format!(
                            "writing line protocol to \"{name}\", a plain table (created \
                             without a time column); use INSERT"
                        ),
                    },
                ));
                continue;
            }
            kept.push(
                point.measurement(),
                point.tags(),
                point.fields(),
                point.timestamp_ns(),
            )?;
            kept_positions.push(index);
        }
        Ok((kept, kept_positions))
    }

    /// Every database, sorted: the default one, those `CREATE DATABASE` made, and those
    /// holding a measurement or a plain table.
    pub fn databases(&self) -> Vec<String> {
        match self.catalog.current(&self.storage) {
            Ok(catalog) => database_ddl::databases(&self.storage, &catalog),
            Err(_) => database_ddl::databases(&self.storage, &Default::default()),
        }
    }

    /// Counters for monitoring.
    pub fn stats(&self) -> EngineStats {
        EngineStats {
            points_written: self.points_written.load(Ordering::Relaxed),
            points_rejected: self.points_rejected.load(Ordering::Relaxed),
            storage: self.storage.stats(),
            databases: self.databases(),
        }
    }

    /// A SQL session on `database`: DataFusion with the PostgreSQL dialect, the database as
    /// its catalog and `public` as its schema (one table per measurement), and
    /// `information_schema`. A database without data yet is an empty catalog: databases
    /// come into being with their first write.
    pub fn sql_session(&self, database: &str) -> Result<SessionContext> {
        check_database_name(database)?;
        let config = SessionConfig::new()
            .with_default_catalog_and_schema(database, PUBLIC_SCHEMA)
            .with_create_default_catalog_and_schema(false)
            .with_information_schema(true)
            .set_str("datafusion.sql_parser.dialect", "PostgreSQL")
            // Our scans report estimated row counts (see `ScanEstimate`): let a small input
            // skip round-robin repartitioning, which costs more than it saves below a batch.
            .set_bool(
                "datafusion.execution.use_row_number_estimates_to_optimize_partitioning",
                true,
            )
            .with_extension(Arc::new(ddl::SessionTarget {
                storage: Arc::clone(&self.storage),
                database: database.to_owned(),
                catalog: Arc::clone(&self.catalog),
            }));
        let state = datafusion::execution::SessionStateBuilder::new()
            .with_config(config)
            .with_default_features()
            .with_physical_optimizer_rule(Arc::new(latest::LatestRowPerSeries))
            .with_physical_optimizer_rule(Arc::new(time_order::TopKInTimeOrder))
            .with_optimizer_rules(optimizer_rules())
            .with_query_planner(Arc::new(correlated::RustsQueryPlanner))
            .build();
        let context = SessionContext::new_with_state(state);
        for function in functions::all() {
            context.register_udf(function);
        }
        context.register_catalog(
            database,
            Arc::new(catalog::DatabaseCatalog::new(
                Arc::clone(&self.storage),
                Arc::clone(&self.catalog),
                database,
            )),
        );
        Ok(context)
    }

    /// Flushes memory to segments and closes the WAL. Every SQL session must be gone (their
    /// tables hold the storage engine); otherwise nothing is flushed and the WAL, which holds
    /// everything acknowledged, is replayed at the next start.
    pub fn close(self) -> Result<()> {
        match Arc::try_unwrap(self.storage) {
            Ok(storage) => storage.close().map_err(Error::from),
            Err(_) => Err(Error::InUse),
        }
    }
}

/// DataFusion's optimizer rules, then [`correlated::EvaluateSubqueries`] for the subqueries
/// they could not turn into joins.
fn optimizer_rules() -> Vec<Arc<dyn datafusion::optimizer::OptimizerRule + Send + Sync>> {
    let mut rules = datafusion::optimizer::Optimizer::new().rules;
    rules.push(Arc::new(correlated::EvaluateSubqueries));
    rules
}

/// The storage name of `measurement` in `database`.
pub fn storage_name(database: &str, measurement: &str) -> String {
    let mut name = String::with_capacity(database.len() + measurement.len() + 1);
    name.push_str(database);
    name.push(DATABASE_SEPARATOR);
    name.push_str(measurement);
    name
}

pub(crate) fn check_database_name(database: &str) -> Result<()> {
    if database.is_empty() || database.contains(DATABASE_SEPARATOR) || database.len() > 255 {
        return Err(Error::InvalidName {
            what: "database",
            name: database.to_owned(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(measurement: &str, value: FieldValue) -> WritePoint {
        WritePoint {
            measurement: measurement.into(),
            tags: vec![("host".into(), "a".into())],
            fields: vec![("x".into(), value)],
            timestamp_ns: 1,
        }
    }

    #[test]
    fn databases_are_created_by_writes_and_errors_name_the_measurement_not_the_key() {
        let dir = tempfile::tempdir().unwrap();
        let options = StorageOptions {
            data_dir: dir.path().to_owned(),
            ..StorageOptions::default()
        };
        let engine = Engine::open(options).unwrap();
        assert_eq!(engine.databases(), vec!["rusts"]);
        let request = WriteRequest {
            database: "telegraf".into(),
            points: vec![
                point("cpu", FieldValue::Float(1.0)),
                point("cpu", FieldValue::Integer(1)),
            ],
        };
        let summary = engine.ingest(request).unwrap();
        assert_eq!(summary.points_written, 1);
        assert_eq!(summary.rejected.len(), 1);
        assert_eq!(
            summary.rejected[0].1.to_string(),
            "field type conflict: measurement cpu, field x is float, the write offers integer"
        );
        assert_eq!(engine.databases(), vec!["rusts", "telegraf"]);
        let bad = WriteRequest {
            database: String::new(),
            points: vec![],
        };
        assert!(
            engine
                .ingest(bad)
                .unwrap_err()
                .to_string()
                .contains("invalid database name")
        );
        assert_eq!(engine.stats().points_written, 1);
    }
}
