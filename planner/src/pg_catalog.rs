//! The `pg_catalog` schema: the system tables drivers and tools read, built from PostgreSQL's
//! built-in types (`rusts_catalog::pg_type`) and the measurements of the session's database.
//!
//! Each table is built when a statement is planned, so it shows the database as it is then;
//! plans that read it are never reused (see [`crate::reuse`]). As in PostgreSQL, an unqualified
//! name such as `pg_type` means `pg_catalog.pg_type` even when `public` has a table of that
//! name ([`crate::catalog`]).
//!
//! Column types follow PostgreSQL's: `oid` columns are `UInt32`, which the wire reports as
//! `oid` (and lists of it as `oid[]`); `"char"` columns are one-character strings marked as
//! `"char"` for the wire; `name` and `regproc` columns are text (a `regproc` holds the
//! function's name, which is what `'array_in'::regproc` compares with; see
//! [`crate::pg_syntax`]). OIDs RusTs hands out stay below 2³¹, for clients that read them
//! into a signed 32-bit integer.
//!
//! Today: `pg_type`, `pg_range`, `pg_namespace`, `pg_class`, `pg_attribute`, `pg_database`
//! and `pg_views`, and PostgreSQL's `information_schema.views`.
//!
//! Relation OIDs are derived from the database and table names (a hash, probed past collisions
//! in name order), so they are the same across restarts and sessions while the set of tables
//! stays the same. They become allocated, persisted OIDs when the catalog keeps plain tables.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use async_trait::async_trait;
use datafusion::arrow::array::{
    ArrayRef, BooleanArray, Float32Array, Int16Array, Int32Array, RecordBatch, StringArray,
    UInt32Array,
};
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::catalog::SchemaProvider;
use datafusion::common::Result;
use datafusion::datasource::{MemTable, TableProvider};
use rusts_catalog::pg_type::{BUILTIN_RANGES, BUILTIN_TYPES, PG_CATALOG_NAMESPACE, builtin_type};

use crate::plain::CatalogHandle;
use crate::storage_name;

/// The schema's name.
pub(crate) const PG_CATALOG_SCHEMA: &str = "pg_catalog";

/// OID of the `public` namespace, as in PostgreSQL.
pub(crate) const PUBLIC_NAMESPACE: u32 = 2200;
/// OID of the `information_schema` namespace (PostgreSQL assigns it at initdb; this is
/// PostgreSQL 15's).
pub(crate) const INFORMATION_SCHEMA_NAMESPACE: u32 = 13_207;
/// The bootstrap superuser's OID, owner of everything.
const BOOTSTRAP_SUPERUSER: u32 = 10;
/// The first OID PostgreSQL gives objects created after initdb.
const FIRST_NORMAL_OID: u32 = 16_384;
/// `heap`, the access method of ordinary tables.
const HEAP_ACCESS_METHOD: u32 = 2;
/// The `default` collation, of text columns.
const DEFAULT_COLLATION: u32 = 100;

/// Field metadata the wire reads to report a string column as `"char"` (arrow-pg's contract).
const CHAR_KEY: &str = "pg.char";

/// The tables of `pg_catalog`, sorted.
const TABLES: &[&str] = &[
    "pg_attribute",
    "pg_class",
    "pg_database",
    "pg_namespace",
    "pg_range",
    "pg_type",
    "pg_views",
];

/// `information_schema.views` as PostgreSQL has it (DataFusion's own has other columns):
/// statements that name it read this table of `pg_catalog` instead ([`crate::pg_syntax`]).
pub(crate) const INFORMATION_SCHEMA_VIEWS: &str = "rusts_information_schema_views";

/// Whether `name` is a table of `pg_catalog`.
pub(crate) fn is_table(name: &str) -> bool {
    TABLES.binary_search(&name).is_ok()
}

/// `pg_catalog` of one database.
#[derive(Debug)]
pub(crate) struct PgCatalog {
    storage: Arc<rusts_storage::Engine>,
    catalog: Arc<CatalogHandle>,
    database: String,
}

impl PgCatalog {
    pub(crate) fn new(
        storage: Arc<rusts_storage::Engine>,
        catalog: Arc<CatalogHandle>,
        database: &str,
    ) -> Self {
        Self {
            storage,
            catalog,
            database: database.to_owned(),
        }
    }

    /// The table `name` as it is now, if `pg_catalog` has it.
    pub(crate) fn build(&self, name: &str) -> Result<Option<Arc<dyn TableProvider>>> {
        let batch = match name {
            "pg_type" => pg_type()?,
            "pg_range" => pg_range()?,
            "pg_namespace" => pg_namespace()?,
            "pg_class" => pg_class(&self.relations()?)?,
            "pg_attribute" => pg_attribute(&self.relations()?)?,
            "pg_database" => pg_database(&self.databases()?)?,
            "pg_views" => pg_views(&self.views()?)?,
            INFORMATION_SCHEMA_VIEWS => information_schema_views(&self.database, &self.views()?)?,
            _ => return Ok(None),
        };
        let table = MemTable::try_new(batch.schema(), vec![vec![batch]])?;
        Ok(Some(Arc::new(table)))
    }

    /// Every database, in name order.
    fn databases(&self) -> Result<Vec<String>> {
        let catalog = self
            .catalog
            .current(&self.storage)
            .map_err(|error| datafusion::error::DataFusionError::External(Box::new(error)))?;
        Ok(crate::database_ddl::databases(&self.storage, &catalog))
    }

    /// The views of the database, in name order.
    fn views(&self) -> Result<Vec<rusts_catalog::tables::View>> {
        let catalog = self
            .catalog
            .current(&self.storage)
            .map_err(|error| datafusion::error::DataFusionError::External(Box::new(error)))?;
        let mut views: Vec<_> = catalog.views_of(&self.database).cloned().collect();
        views.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(views)
    }

    /// The plain tables, views and measurements of the database with their OIDs, in name
    /// order.
    fn relations(&self) -> Result<Vec<Relation>> {
        let catalog = self
            .catalog
            .current(&self.storage)
            .map_err(|error| datafusion::error::DataFusionError::External(Box::new(error)))?;
        let views = view_relations(&catalog, &self.database);
        let mut relations: Vec<Relation> = catalog
            .tables_of(&self.database)
            .map(|table| Relation {
                oid: table.oid,
                kind: 'r',
                name: table.name.clone(),
                columns: table
                    .columns
                    .iter()
                    .map(|column| RelationColumn {
                        name: column.name.clone(),
                        type_oid: column.type_oid,
                        type_modifier: column.type_modifier,
                        not_null: column.not_null,
                    })
                    .collect(),
                rows: self
                    .storage
                    .table(rusts_storage::TableId(u64::from(table.oid)))
                    .map_or(-1.0, |rows| rows.len() as f32),
            })
            .chain(views)
            .collect();
        let taken: BTreeSet<u32> = relations.iter().map(|relation| relation.oid).collect();
        let names = crate::catalog::measurements_of(&self.storage, &self.database);
        let oids = relation_oids(&self.database, &names, &taken);
        relations.extend(names.into_iter().zip(oids).filter_map(|(name, oid)| {
            let storage_name = storage_name(&self.database, &name);
            let schema = self.storage.schema(&storage_name)?;
            let rows = self
                .storage
                .estimate(&storage_name, &rusts_storage::Predicate::default())
                .map_or(-1.0, |estimate| estimate.rows as f32);
            let columns = schema
                .arrow_schema()
                .fields()
                .iter()
                .map(|field| RelationColumn {
                    name: field.name().clone(),
                    type_oid: type_oid(field.data_type()),
                    type_modifier: -1,
                    not_null: !field.is_nullable(),
                })
                .collect();
            Some(Relation {
                oid,
                name,
                kind: 'r',
                columns,
                rows,
            })
        }));
        relations.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(relations)
    }
}

#[async_trait]
impl SchemaProvider for PgCatalog {
    fn table_names(&self) -> Vec<String> {
        TABLES.iter().map(|&name| name.to_owned()).collect()
    }

    async fn table(&self, name: &str) -> Result<Option<Arc<dyn TableProvider>>> {
        self.build(name)
    }

    fn table_exist(&self, name: &str) -> bool {
        is_table(name) || name == INFORMATION_SCHEMA_VIEWS
    }
}

/// The views of `database` as relations.
fn view_relations<'a>(
    catalog: &'a rusts_catalog::tables::Catalog,
    database: &'a str,
) -> impl Iterator<Item = Relation> + 'a {
    catalog.views_of(database).map(|view| Relation {
        oid: view.oid,
        name: view.name.clone(),
        kind: 'v',
        columns: view
            .columns
            .iter()
            .map(|column| RelationColumn {
                name: column.name.clone(),
                type_oid: column
                    .data_type
                    .parse::<DataType>()
                    .map_or(25, |data_type| type_oid(&data_type)),
                type_modifier: -1,
                not_null: false,
            })
            .collect(),
        rows: 0.0,
    })
}

/// A table as `pg_class` and `pg_attribute` describe it.
struct Relation {
    oid: u32,
    name: String,
    /// `relkind`: `r` for tables and measurements, `v` for views.
    kind: char,
    columns: Vec<RelationColumn>,
    /// Estimated rows (`reltuples`).
    rows: f32,
}

/// A column as `pg_attribute` describes it.
struct RelationColumn {
    name: String,
    type_oid: u32,
    type_modifier: i32,
    not_null: bool,
}

/// OIDs for the measurements `names` (sorted, distinct) of `database`: a hash of the two
/// names in `FIRST_NORMAL_OID..2³¹`, moved to the next free OID when an earlier name or a
/// plain table (`allocated`) has it.
fn relation_oids(database: &str, names: &[String], allocated: &BTreeSet<u32>) -> Vec<u32> {
    const SPAN: u64 = (i32::MAX as u64) - FIRST_NORMAL_OID as u64;
    let mut taken = BTreeSet::new();
    names
        .iter()
        .map(|name| {
            let mut offset = fnv1a(&[database.as_bytes(), &[0], name.as_bytes()]) % SPAN;
            loop {
                let oid = FIRST_NORMAL_OID + u32::try_from(offset).expect("offset is below 2^31");
                if !allocated.contains(&oid) && taken.insert(offset) {
                    break oid;
                }
                offset = (offset + 1) % SPAN;
            }
        })
        .collect()
}

/// 64-bit FNV-1a over the concatenation of `parts`: stable across builds and platforms.
fn fnv1a(parts: &[&[u8]]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in parts.iter().flat_map(|part| part.iter()) {
        hash ^= u64::from(*byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash
}

/// The OID of the PostgreSQL type the wire reports for `data_type`, as it encodes it.
pub(crate) fn type_oid(data_type: &DataType) -> u32 {
    match data_type {
        DataType::Boolean => 16,
        DataType::Int8 | DataType::Int16 | DataType::UInt8 => 21,
        DataType::Int32 | DataType::UInt16 => 23,
        DataType::Int64 => 20,
        DataType::UInt32 => 26,
        DataType::Float16 | DataType::Float32 => 700,
        DataType::Float64 => 701,
        DataType::UInt64 | DataType::Decimal128(..) | DataType::Decimal256(..) => 1700,
        DataType::Binary | DataType::LargeBinary | DataType::BinaryView => 17,
        DataType::FixedSizeBinary(_) => 17,
        DataType::Date32 | DataType::Date64 => 1082,
        DataType::Time32(_) | DataType::Time64(_) => 1083,
        DataType::Timestamp(_, None) => 1114,
        DataType::Timestamp(_, Some(_)) => 1184,
        DataType::Interval(_) | DataType::Duration(_) => 1186,
        DataType::Dictionary(_, value) => type_oid(value),
        DataType::List(element) | DataType::LargeList(element) => {
            builtin_type(type_oid(element.data_type())).map_or(25, |builtin| builtin.array)
        }
        _ => 25,
    }
}

/// Columns of a table under construction, each with its PostgreSQL type.
#[derive(Default)]
struct Columns {
    fields: Vec<Field>,
    arrays: Vec<ArrayRef>,
}

impl Columns {
    fn push(mut self, field: Field, array: ArrayRef) -> Self {
        self.fields.push(field);
        self.arrays.push(array);
        self
    }

    fn oid(self, name: &str, values: impl IntoIterator<Item = u32>) -> Self {
        let values: UInt32Array = values.into_iter().map(Some).collect();
        self.push(Field::new(name, DataType::UInt32, false), Arc::new(values))
    }

    fn text<S: AsRef<str>>(self, name: &str, values: impl IntoIterator<Item = S>) -> Self {
        let values: StringArray = values.into_iter().map(Some).collect();
        self.push(Field::new(name, DataType::Utf8, false), Arc::new(values))
    }

    fn char(self, name: &str, values: impl IntoIterator<Item = char>) -> Self {
        let values: StringArray = values
            .into_iter()
            .map(|value| Some(value.to_string()))
            .collect();
        let field = Field::new(name, DataType::Utf8, false)
            .with_metadata(HashMap::from([(CHAR_KEY.to_owned(), "char".to_owned())]));
        self.push(field, Arc::new(values))
    }

    fn bool(self, name: &str, values: impl IntoIterator<Item = bool>) -> Self {
        let values: BooleanArray = values.into_iter().map(Some).collect();
        self.push(Field::new(name, DataType::Boolean, false), Arc::new(values))
    }

    fn int2(self, name: &str, values: impl IntoIterator<Item = i16>) -> Self {
        let values: Int16Array = values.into_iter().map(Some).collect();
        self.push(Field::new(name, DataType::Int16, false), Arc::new(values))
    }

    fn int4(self, name: &str, values: impl IntoIterator<Item = i32>) -> Self {
        let values: Int32Array = values.into_iter().map(Some).collect();
        self.push(Field::new(name, DataType::Int32, false), Arc::new(values))
    }

    fn float4(self, name: &str, values: impl IntoIterator<Item = f32>) -> Self {
        let values: Float32Array = values.into_iter().map(Some).collect();
        self.push(Field::new(name, DataType::Float32, false), Arc::new(values))
    }

    /// A column that is NULL in every row (ACLs, options, defaults RusTs does not have).
    fn null_text(self, name: &str, rows: usize) -> Self {
        let values: StringArray = std::iter::repeat_n(None::<&str>, rows).collect();
        self.push(Field::new(name, DataType::Utf8, true), Arc::new(values))
    }

    fn finish(self) -> Result<RecordBatch> {
        let schema = Arc::new(Schema::new(self.fields));
        Ok(RecordBatch::try_new(schema, self.arrays)?)
    }
}

fn pg_type() -> Result<RecordBatch> {
    let types = BUILTIN_TYPES;
    let rows = types.len();
    Columns::default()
        .oid("oid", types.iter().map(|t| t.oid))
        .text("typname", types.iter().map(|t| t.name))
        .oid("typnamespace", types.iter().map(|_| PG_CATALOG_NAMESPACE))
        .oid("typowner", types.iter().map(|_| BOOTSTRAP_SUPERUSER))
        .int2("typlen", types.iter().map(|t| t.len))
        .bool("typbyval", types.iter().map(|t| t.by_value))
        .char("typtype", types.iter().map(|t| t.kind))
        .char("typcategory", types.iter().map(|t| t.category))
        .bool("typispreferred", types.iter().map(|t| t.preferred))
        .bool("typisdefined", types.iter().map(|_| true))
        .char("typdelim", types.iter().map(|t| t.delimiter))
        .oid("typrelid", types.iter().map(|_| 0))
        .text("typsubscript", types.iter().map(|t| t.subscript))
        .oid("typelem", types.iter().map(|t| t.element))
        .oid("typarray", types.iter().map(|t| t.array))
        .text("typinput", types.iter().map(|t| t.input))
        .text("typoutput", types.iter().map(|t| t.output))
        .text("typreceive", types.iter().map(|t| t.receive))
        .text("typsend", types.iter().map(|t| t.send))
        .text("typmodin", types.iter().map(|t| t.modifier_in))
        .text("typmodout", types.iter().map(|t| t.modifier_out))
        .text("typanalyze", types.iter().map(|t| t.analyze))
        .char("typalign", types.iter().map(|t| t.align))
        .char("typstorage", types.iter().map(|t| t.storage))
        .bool("typnotnull", types.iter().map(|_| false))
        .oid("typbasetype", types.iter().map(|_| 0))
        .int4("typtypmod", types.iter().map(|_| -1))
        .int4("typndims", types.iter().map(|_| 0))
        .oid("typcollation", types.iter().map(|t| t.collation))
        .null_text("typdefaultbin", rows)
        .null_text("typdefault", rows)
        .null_text("typacl", rows)
        .finish()
}

fn pg_range() -> Result<RecordBatch> {
    let ranges = BUILTIN_RANGES;
    Columns::default()
        .oid("rngtypid", ranges.iter().map(|r| r.range))
        .oid("rngsubtype", ranges.iter().map(|r| r.subtype))
        .oid("rngmultitypid", ranges.iter().map(|r| r.multirange))
        .oid("rngcollation", ranges.iter().map(|r| r.collation))
        .oid("rngsubopc", ranges.iter().map(|r| r.operator_class))
        .text("rngcanonical", ranges.iter().map(|r| r.canonical))
        .text("rngsubdiff", ranges.iter().map(|r| r.difference))
        .finish()
}

fn pg_namespace() -> Result<RecordBatch> {
    let namespaces = [
        (PG_CATALOG_NAMESPACE, "pg_catalog"),
        (PUBLIC_NAMESPACE, crate::PUBLIC_SCHEMA),
        (INFORMATION_SCHEMA_NAMESPACE, "information_schema"),
    ];
    Columns::default()
        .oid("oid", namespaces.iter().map(|(oid, _)| *oid))
        .text("nspname", namespaces.iter().map(|(_, name)| *name))
        .oid("nspowner", namespaces.iter().map(|_| BOOTSTRAP_SUPERUSER))
        .null_text("nspacl", namespaces.len())
        .finish()
}

/// `pg_database`: every database, UTF8 with the C locale (RusTs compares text bytewise).
/// OIDs are a hash of the name, as measurements' are, so they are stable across restarts.
fn pg_database(databases: &[String]) -> Result<RecordBatch> {
    let oids = relation_oids("", databases, &BTreeSet::new());
    let rows = databases.len();
    /// `pg_encoding_to_char(6)` is `UTF8`.
    const UTF8_ENCODING: i32 = 6;
    /// `pg_default`, the default tablespace.
    const DEFAULT_TABLESPACE: u32 = 1663;
    Columns::default()
        .oid("oid", oids)
        .text("datname", databases)
        .oid("datdba", databases.iter().map(|_| BOOTSTRAP_SUPERUSER))
        .int4("encoding", databases.iter().map(|_| UTF8_ENCODING))
        .char("datlocprovider", databases.iter().map(|_| 'c'))
        .bool("datistemplate", databases.iter().map(|_| false))
        .bool("datallowconn", databases.iter().map(|_| true))
        .int4("datconnlimit", databases.iter().map(|_| -1))
        .int4("datfrozenxid", databases.iter().map(|_| 0))
        .int4("datminmxid", databases.iter().map(|_| 1))
        .oid(
            "dattablespace",
            databases.iter().map(|_| DEFAULT_TABLESPACE),
        )
        .text("datcollate", databases.iter().map(|_| "C"))
        .text("datctype", databases.iter().map(|_| "C"))
        .null_text("daticulocale", rows)
        .null_text("datcollversion", rows)
        .null_text("datacl", rows)
        .finish()
}

fn pg_class(relations: &[Relation]) -> Result<RecordBatch> {
    let rows = relations.len();
    let count = |relation: &Relation| i16::try_from(relation.columns.len()).unwrap_or(i16::MAX);
    Columns::default()
        .oid("oid", relations.iter().map(|r| r.oid))
        .text("relname", relations.iter().map(|r| r.name.as_str()))
        .oid("relnamespace", relations.iter().map(|_| PUBLIC_NAMESPACE))
        .oid("reltype", relations.iter().map(|_| 0))
        .oid("reloftype", relations.iter().map(|_| 0))
        .oid("relowner", relations.iter().map(|_| BOOTSTRAP_SUPERUSER))
        .oid(
            "relam",
            relations
                .iter()
                .map(|r| if r.kind == 'v' { 0 } else { HEAP_ACCESS_METHOD }),
        )
        .oid(
            "relfilenode",
            relations
                .iter()
                .map(|r| if r.kind == 'v' { 0 } else { r.oid }),
        )
        .oid("reltablespace", relations.iter().map(|_| 0))
        .int4("relpages", relations.iter().map(|_| 0))
        .float4("reltuples", relations.iter().map(|r| r.rows))
        .int4("relallvisible", relations.iter().map(|_| 0))
        .oid("reltoastrelid", relations.iter().map(|_| 0))
        .bool("relhasindex", relations.iter().map(|_| false))
        .bool("relisshared", relations.iter().map(|_| false))
        .char("relpersistence", relations.iter().map(|_| 'p'))
        .char("relkind", relations.iter().map(|r| r.kind))
        .int2("relnatts", relations.iter().map(count))
        .int2("relchecks", relations.iter().map(|_| 0))
        .bool("relhasrules", relations.iter().map(|r| r.kind == 'v'))
        .bool("relhastriggers", relations.iter().map(|_| false))
        .bool("relhassubclass", relations.iter().map(|_| false))
        .bool("relrowsecurity", relations.iter().map(|_| false))
        .bool("relforcerowsecurity", relations.iter().map(|_| false))
        .bool("relispopulated", relations.iter().map(|_| true))
        .char("relreplident", relations.iter().map(|_| 'd'))
        .bool("relispartition", relations.iter().map(|_| false))
        .oid("relrewrite", relations.iter().map(|_| 0))
        .int4("relfrozenxid", relations.iter().map(|_| 0))
        .int4("relminmxid", relations.iter().map(|_| 0))
        .null_text("relacl", rows)
        .null_text("reloptions", rows)
        .null_text("relpartbound", rows)
        .finish()
}

/// The owner views show: RusTs has one role.
const VIEW_OWNER: &str = "rusts";

fn pg_views(views: &[rusts_catalog::tables::View]) -> Result<RecordBatch> {
    Columns::default()
        .text("schemaname", views.iter().map(|_| crate::PUBLIC_SCHEMA))
        .text("viewname", views.iter().map(|view| view.name.as_str()))
        .text("viewowner", views.iter().map(|_| VIEW_OWNER))
        .text("definition", views.iter().map(|view| view.query.as_str()))
        .finish()
}

fn information_schema_views(
    database: &str,
    views: &[rusts_catalog::tables::View],
) -> Result<RecordBatch> {
    let no = || views.iter().map(|_| "NO");
    Columns::default()
        .text("table_catalog", views.iter().map(|_| database))
        .text("table_schema", views.iter().map(|_| crate::PUBLIC_SCHEMA))
        .text("table_name", views.iter().map(|view| view.name.as_str()))
        .text(
            "view_definition",
            views.iter().map(|view| view.query.as_str()),
        )
        .text("check_option", views.iter().map(|_| "NONE"))
        .text("is_updatable", no())
        .text("is_insertable_into", no())
        .text("is_trigger_updatable", no())
        .text("is_trigger_deletable", no())
        .text("is_trigger_insertable_into", no())
        .finish()
}

/// One row of `pg_attribute`.
struct Attribute<'a> {
    relation: u32,
    number: i16,
    column: &'a RelationColumn,
    builtin: Option<&'static rusts_catalog::pg_type::BuiltinType>,
}

fn pg_attribute(relations: &[Relation]) -> Result<RecordBatch> {
    let attributes: Vec<Attribute<'_>> = relations
        .iter()
        .flat_map(|relation| {
            relation
                .columns
                .iter()
                .zip(1_i16..)
                .map(|(column, number)| Attribute {
                    relation: relation.oid,
                    number,
                    column,
                    builtin: builtin_type(column.type_oid),
                })
        })
        .collect();
    let rows = attributes.len();
    let attrs = || attributes.iter();
    let type_of = |a: &Attribute<'_>| a.builtin.map_or(25, |builtin| builtin.oid);
    let collation = |a: &Attribute<'_>| match a.builtin {
        Some(builtin) if builtin.collation != 0 => DEFAULT_COLLATION,
        _ => 0,
    };
    Columns::default()
        .oid("attrelid", attrs().map(|a| a.relation))
        .text("attname", attrs().map(|a| a.column.name.as_str()))
        .oid("atttypid", attrs().map(type_of))
        .int4("attstattarget", attrs().map(|_| -1))
        .int2("attlen", attrs().map(|a| a.builtin.map_or(-1, |b| b.len)))
        .int2("attnum", attrs().map(|a| a.number))
        .int4("attndims", attrs().map(|a| i32::from(is_array(a.builtin))))
        .int4("attcacheoff", attrs().map(|_| -1))
        .int4("atttypmod", attrs().map(|a| a.column.type_modifier))
        .bool(
            "attbyval",
            attrs().map(|a| a.builtin.is_some_and(|b| b.by_value)),
        )
        .char(
            "attalign",
            attrs().map(|a| a.builtin.map_or('i', |b| b.align)),
        )
        .char(
            "attstorage",
            attrs().map(|a| a.builtin.map_or('x', |b| b.storage)),
        )
        .text("attcompression", attrs().map(|_| ""))
        .bool("attnotnull", attrs().map(|a| a.column.not_null))
        .bool("atthasdef", attrs().map(|_| false))
        .bool("atthasmissing", attrs().map(|_| false))
        .text("attidentity", attrs().map(|_| ""))
        .text("attgenerated", attrs().map(|_| ""))
        .bool("attisdropped", attrs().map(|_| false))
        .bool("attislocal", attrs().map(|_| true))
        .int4("attinhcount", attrs().map(|_| 0))
        .oid("attcollation", attrs().map(collation))
        .null_text("attacl", rows)
        .null_text("attoptions", rows)
        .null_text("attfdwoptions", rows)
        .null_text("attmissingval", rows)
        .finish()
}

fn is_array(builtin: Option<&rusts_catalog::pg_type::BuiltinType>) -> bool {
    builtin.is_some_and(|builtin| builtin.category == 'A' && builtin.element != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relation_oids_are_stable_distinct_and_in_the_normal_range() {
        let names: Vec<String> = (0..2_000).map(|i| format!("table_{i}")).collect();
        let none = BTreeSet::new();
        let oids = relation_oids("rusts", &names, &none);
        assert_eq!(oids, relation_oids("rusts", &names, &none));
        let distinct: BTreeSet<u32> = oids.iter().copied().collect();
        assert_eq!(distinct.len(), names.len());
        assert!(
            oids.iter()
                .all(|&oid| (FIRST_NORMAL_OID..i32::MAX as u32).contains(&oid))
        );
        assert_ne!(
            relation_oids("rusts", &names[..1], &none),
            relation_oids("other", &names[..1], &none)
        );
        // The same table keeps its OID when others come and go (barring a collision).
        assert_eq!(relation_oids("rusts", &names[5..6], &none)[0], oids[5]);
        // An OID a plain table holds is skipped.
        let allocated = BTreeSet::from([oids[5]]);
        assert_ne!(relation_oids("rusts", &names[5..6], &allocated)[0], oids[5]);
    }

    #[test]
    fn type_oids_name_builtin_types() {
        for data_type in [
            DataType::Boolean,
            DataType::Int16,
            DataType::Int32,
            DataType::Int64,
            DataType::Float32,
            DataType::Float64,
            DataType::Utf8,
            DataType::Binary,
            DataType::Date32,
            DataType::Timestamp(datafusion::arrow::datatypes::TimeUnit::Nanosecond, None),
            DataType::UInt64,
            DataType::new_list(DataType::Int64, true),
        ] {
            assert!(builtin_type(type_oid(&data_type)).is_some(), "{data_type}");
        }
        assert_eq!(type_oid(&DataType::new_list(DataType::Int64, true)), 1016);
        assert_eq!(type_oid(&DataType::new_list(DataType::UInt32, true)), 1028);
    }

    /// Column names in PostgreSQL 15's order (`attnum > 0` of each catalog's `pg_attribute`).
    #[test]
    fn tables_have_postgres_columns_in_order() {
        let expected = [
            (
                pg_type(),
                "oid,typname,typnamespace,typowner,typlen,typbyval,typtype,typcategory,typispreferred,typisdefined,typdelim,typrelid,typsubscript,typelem,typarray,typinput,typoutput,typreceive,typsend,typmodin,typmodout,typanalyze,typalign,typstorage,typnotnull,typbasetype,typtypmod,typndims,typcollation,typdefaultbin,typdefault,typacl",
            ),
            (
                pg_range(),
                "rngtypid,rngsubtype,rngmultitypid,rngcollation,rngsubopc,rngcanonical,rngsubdiff",
            ),
            (pg_namespace(), "oid,nspname,nspowner,nspacl"),
            (
                pg_database(&[]),
                "oid,datname,datdba,encoding,datlocprovider,datistemplate,datallowconn,datconnlimit,datfrozenxid,datminmxid,dattablespace,datcollate,datctype,daticulocale,datcollversion,datacl",
            ),
            (
                pg_class(&[]),
                "oid,relname,relnamespace,reltype,reloftype,relowner,relam,relfilenode,reltablespace,relpages,reltuples,relallvisible,reltoastrelid,relhasindex,relisshared,relpersistence,relkind,relnatts,relchecks,relhasrules,relhastriggers,relhassubclass,relrowsecurity,relforcerowsecurity,relispopulated,relreplident,relispartition,relrewrite,relfrozenxid,relminmxid,relacl,reloptions,relpartbound",
            ),
            (
                pg_attribute(&[]),
                "attrelid,attname,atttypid,attstattarget,attlen,attnum,attndims,attcacheoff,atttypmod,attbyval,attalign,attstorage,attcompression,attnotnull,atthasdef,atthasmissing,attidentity,attgenerated,attisdropped,attislocal,attinhcount,attcollation,attacl,attoptions,attfdwoptions,attmissingval",
            ),
        ];
        for (batch, columns) in expected {
            let batch = batch.expect("table builds");
            let names: Vec<&str> = batch
                .schema_ref()
                .fields()
                .iter()
                .map(|field| field.name().as_str())
                .collect();
            assert_eq!(names.join(","), columns);
        }
        assert!(TABLES.windows(2).all(|pair| pair[0] < pair[1]));
    }
}
