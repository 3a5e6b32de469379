//! What a SQL session sees: its database as the DataFusion catalog, with schema `public`
//! holding one table per measurement. Tables are looked up in the storage engine on every
//! query, so a measurement created by line protocol is queryable at once, with the columns
//! it has now. Views are listed too (for `information_schema`); statements read them
//! through `crate::views::expand`.

use std::sync::Arc;

use async_trait::async_trait;
use datafusion::catalog::{CatalogProvider, SchemaProvider};
use datafusion::common::{DataFusionError, Result};
use datafusion::datasource::TableProvider;

use crate::pg_catalog::{PG_CATALOG_SCHEMA, PgCatalog};
use crate::plain::CatalogHandle;
use crate::table::MeasurementTable;
use crate::views::ViewEntry;
use crate::{DATABASE_SEPARATOR, storage_name};

/// The schema every database has.
pub const PUBLIC_SCHEMA: &str = "public";

/// One database as a catalog with its `public` and `pg_catalog` schemas.
#[derive(Debug)]
pub(crate) struct DatabaseCatalog {
    public: Arc<MeasurementSchema>,
    pg_catalog: Arc<PgCatalog>,
    row_ids: Arc<MeasurementSchema>,
}

impl DatabaseCatalog {
    pub(crate) fn new(
        storage: Arc<rusts_storage::Engine>,
        catalog: Arc<CatalogHandle>,
        database: &str,
    ) -> Self {
        Self {
            pg_catalog: Arc::new(PgCatalog::new(
                Arc::clone(&storage),
                Arc::clone(&catalog),
                database,
            )),
            row_ids: Arc::new(MeasurementSchema {
                storage: Arc::clone(&storage),
                catalog: Arc::clone(&catalog),
                database: database.to_owned(),
                row_ids: true,
            }),
            public: Arc::new(MeasurementSchema {
                storage,
                catalog,
                database: database.to_owned(),
                row_ids: false,
            }),
        }
    }
}

impl CatalogProvider for DatabaseCatalog {
    fn schema_names(&self) -> Vec<String> {
        vec![PUBLIC_SCHEMA.to_owned(), PG_CATALOG_SCHEMA.to_owned()]
    }

    fn schema(&self, name: &str) -> Option<Arc<dyn SchemaProvider>> {
        match name {
            PUBLIC_SCHEMA => Some(Arc::clone(&self.public) as Arc<dyn SchemaProvider>),
            PG_CATALOG_SCHEMA => Some(Arc::clone(&self.pg_catalog) as Arc<dyn SchemaProvider>),
            // Not listed by `schema_names`: only `plain_dml`'s rewritten queries use it.
            crate::plain_dml::ROW_ID_SCHEMA => {
                Some(Arc::clone(&self.row_ids) as Arc<dyn SchemaProvider>)
            }
            _ => None,
        }
    }
}

/// The measurements and plain tables of one database.
#[derive(Debug)]
pub(crate) struct MeasurementSchema {
    storage: Arc<rusts_storage::Engine>,
    catalog: Arc<CatalogHandle>,
    database: String,
    /// Plain tables with their row ids: the hidden schema of `plain_dml`'s queries.
    row_ids: bool,
}

#[async_trait]
impl SchemaProvider for MeasurementSchema {
    fn table_names(&self) -> Vec<String> {
        let mut names = measurements_of(&self.storage, &self.database);
        if let Ok(catalog) = self.catalog.current(&self.storage) {
            names.extend(catalog.tables_of(&self.database).map(|t| t.name.clone()));
            if !self.row_ids {
                names.extend(catalog.views_of(&self.database).map(|v| v.name.clone()));
            }
        }
        names.sort_unstable();
        names
    }

    async fn table(&self, name: &str) -> Result<Option<Arc<dyn TableProvider>>> {
        if let Some(table) =
            self.catalog
                .open_table(&self.storage, &self.database, name, self.row_ids)?
        {
            return Ok(Some(Arc::new(table)));
        }
        if self.row_ids {
            return Ok(None);
        }
        let catalog = self
            .catalog
            .current(&self.storage)
            .map_err(|error| DataFusionError::External(Box::new(error)))?;
        if let Some(view) = catalog.view(&self.database, name) {
            return Ok(Some(Arc::new(ViewEntry::new(view))));
        }
        let storage_name = storage_name(&self.database, name);
        Ok(
            MeasurementTable::open(Arc::clone(&self.storage), storage_name)
                .map(|table| Arc::new(table) as Arc<dyn TableProvider>),
        )
    }

    fn table_exist(&self, name: &str) -> bool {
        self.storage
            .schema(&storage_name(&self.database, name))
            .is_some()
            || self.catalog.current(&self.storage).is_ok_and(|catalog| {
                catalog.table(&self.database, name).is_some()
                    || (!self.row_ids && catalog.view(&self.database, name).is_some())
            })
    }

    fn register_table(
        &self,
        name: String,
        _table: Arc<dyn TableProvider>,
    ) -> Result<Option<Arc<dyn TableProvider>>> {
        Err(DataFusionError::NotImplemented(format!(
            "cannot register table {name}: tables are created by writing to them"
        )))
    }
}

/// The names of the measurements of `database`, sorted.
pub(crate) fn measurements_of(storage: &rusts_storage::Engine, database: &str) -> Vec<String> {
    storage
        .measurements()
        .into_iter()
        .filter_map(|name| {
            let (owner, measurement) = name.split_once(DATABASE_SEPARATOR)?;
            (owner == database).then(|| measurement.to_owned())
        })
        .collect()
}
