//! The SQL description of plain tables (relational tables without `time`), kept by the
//! storage engine as opaque bytes beside the rows (`rusts_storage::Engine::change_tables`),
//! so that a DDL statement changes the description and the rows' layout in one WAL record.
//!
//! Each table has a PostgreSQL OID, allocated here and never reused, which is also the
//! storage engine's table id. Columns keep their PostgreSQL type (OID and modifier, as
//! `pg_attribute` shows them), `NOT NULL` and `DEFAULT` (the expression's SQL text).

use serde::{Deserialize, Serialize};

/// The first OID PostgreSQL gives objects created after initdb.
pub const FIRST_USER_OID: u32 = 16_384;

/// Everything the catalog keeps, in one serialisable value.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Catalog {
    /// The next OID to try.
    pub next_oid: u32,
    /// Plain tables of every database.
    pub tables: Vec<PlainTable>,
    /// Databases made by `CREATE DATABASE` (others come into being with their first
    /// write or table).
    #[serde(default)]
    pub databases: Vec<String>,
    /// Views of every database.
    #[serde(default)]
    pub views: Vec<View>,
}

/// A view: a stored query that statements naming it read as a subquery.
///
/// Its columns are fixed when it is created, as in PostgreSQL: a `SELECT *` view keeps the
/// columns the tables had then (by name), whatever columns they gain later.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct View {
    /// Its OID (a relation OID, as a table's).
    pub oid: u32,
    /// The database it belongs to.
    pub database: String,
    /// Its name in schema `public`.
    pub name: String,
    /// The query's SQL text, each unnamed select item given its output name as an alias.
    pub query: String,
    /// Its columns, in order.
    pub columns: Vec<ViewColumn>,
    /// The relations of its database (tables, measurements, views) the query names.
    pub depends_on: Vec<String>,
}

/// A column of a view.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ViewColumn {
    /// Its name in the view.
    pub name: String,
    /// The name of the query's output column it shows.
    pub source: String,
    /// Its Arrow type when the view was created, as `DataType`'s display form.
    pub data_type: String,
}

/// A plain table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlainTable {
    /// Its OID (and storage table id).
    pub oid: u32,
    /// The database it belongs to.
    pub database: String,
    /// Its name in schema `public`.
    pub name: String,
    /// Its columns, in order.
    pub columns: Vec<Column>,
    /// Its primary key, if it has one.
    pub primary_key: Option<Key>,
    /// Its unique constraints.
    pub unique: Vec<Key>,
    /// Indexes made by `CREATE INDEX` (those of constraints are not listed here).
    #[serde(default)]
    pub indexes: Vec<Index>,
}

/// An index made by `CREATE [UNIQUE] INDEX`. A unique one is enforced as the storage
/// engine's unique key of the same name; the planner does not use indexes to read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Index {
    /// Its name, unique among the database's relations.
    pub name: String,
    /// Positions of its columns.
    pub columns: Vec<usize>,
    /// `UNIQUE`.
    pub unique: bool,
}

/// A column of a plain table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Column {
    /// Its name.
    pub name: String,
    /// Its PostgreSQL type's OID.
    pub type_oid: u32,
    /// Its type modifier (`atttypmod`): -1 for none, `n + 4` for `varchar(n)`, …
    pub type_modifier: i32,
    /// `NOT NULL` (primary key columns are).
    pub not_null: bool,
    /// The `DEFAULT` expression's SQL text.
    pub default: Option<String>,
}

/// A primary key or unique constraint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Key {
    /// The constraint's name (`t_pkey`, `t_a_key`).
    pub name: String,
    /// Positions of its columns.
    pub columns: Vec<usize>,
}

/// Catalog bytes that do not parse.
#[derive(Debug, thiserror::Error)]
#[error("the catalog does not parse: {0}")]
pub struct CatalogError(String);

impl Catalog {
    /// The catalog `bytes` hold; no bytes is an empty catalog.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, CatalogError> {
        if bytes.is_empty() {
            return Ok(Self::default());
        }
        serde_json::from_slice(bytes).map_err(|error| CatalogError(error.to_string()))
    }

    /// The catalog as bytes for the storage engine.
    pub fn to_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("the catalog serialises")
    }

    /// A new OID: never one handed out before, nor one `taken` reports in use elsewhere.
    pub fn allocate_oid(&mut self, taken: impl Fn(u32) -> bool) -> u32 {
        let mut oid = self.next_oid.max(FIRST_USER_OID);
        while taken(oid)
            || self.tables.iter().any(|table| table.oid == oid)
            || self.views.iter().any(|view| view.oid == oid)
        {
            oid = oid.checked_add(1).unwrap_or(FIRST_USER_OID);
        }
        self.next_oid = oid + 1;
        oid
    }

    /// The plain table `name` of `database`.
    pub fn table(&self, database: &str, name: &str) -> Option<&PlainTable> {
        self.tables
            .iter()
            .find(|table| table.database == database && table.name == name)
    }

    /// The position in `tables` of the plain table `name` of `database`.
    pub fn table_position(&self, database: &str, name: &str) -> Option<usize> {
        self.tables
            .iter()
            .position(|table| table.database == database && table.name == name)
    }

    /// The table of `database` with index `name`, and the index's position in it.
    pub fn index(&self, database: &str, name: &str) -> Option<(usize, usize)> {
        self.tables
            .iter()
            .enumerate()
            .find_map(|(table, definition)| {
                let index = definition
                    .indexes
                    .iter()
                    .position(|index| index.name == name)?;
                (definition.database == database).then_some((table, index))
            })
    }

    /// The view `name` of `database`.
    pub fn view(&self, database: &str, name: &str) -> Option<&View> {
        self.views
            .iter()
            .find(|view| view.database == database && view.name == name)
    }

    /// The views of `database`.
    pub fn views_of<'a>(&'a self, database: &'a str) -> impl Iterator<Item = &'a View> {
        self.views
            .iter()
            .filter(move |view| view.database == database)
    }

    /// The views of `database` that depend on any of `names`, directly or through other
    /// views, each once (not those among `names`).
    pub fn dependent_views(&self, database: &str, names: &[String]) -> Vec<String> {
        let mut found: Vec<String> = Vec::new();
        let mut frontier: Vec<String> = names.to_vec();
        while let Some(name) = frontier.pop() {
            for view in self.views_of(database) {
                if view.depends_on.contains(&name)
                    && !found.contains(&view.name)
                    && !names.contains(&view.name)
                {
                    found.push(view.name.clone());
                    frontier.push(view.name.clone());
                }
            }
        }
        found
    }

    /// The plain tables of `database`.
    pub fn tables_of<'a>(&'a self, database: &'a str) -> impl Iterator<Item = &'a PlainTable> {
        self.tables
            .iter()
            .filter(move |table| table.database == database)
    }
}

impl PlainTable {
    /// The position of column `name`.
    pub fn column(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|column| column.name == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_allocates_fresh_oids() {
        let mut catalog = Catalog::default();
        assert_eq!(Catalog::from_bytes(&[]).unwrap(), catalog);
        let first = catalog.allocate_oid(|_| false);
        assert_eq!(first, FIRST_USER_OID);
        let second = catalog.allocate_oid(|oid| oid == FIRST_USER_OID + 1);
        assert_eq!(second, FIRST_USER_OID + 2, "skips an OID taken elsewhere");
        catalog.tables.push(PlainTable {
            oid: second,
            database: "rusts".to_owned(),
            name: "devices".to_owned(),
            columns: vec![Column {
                name: "id".to_owned(),
                type_oid: 23,
                type_modifier: -1,
                not_null: true,
                default: Some("0".to_owned()),
            }],
            primary_key: Some(Key {
                name: "devices_pkey".to_owned(),
                columns: vec![0],
            }),
            unique: Vec::new(),
            indexes: vec![Index {
                name: "devices_id_idx".to_owned(),
                columns: vec![0],
                unique: false,
            }],
        });
        let restored = Catalog::from_bytes(&catalog.to_bytes()).unwrap();
        assert_eq!(restored, catalog);
        assert_eq!(restored.index("rusts", "devices_id_idx"), Some((0, 0)));
        assert_eq!(restored.index("other", "devices_id_idx"), None);
        assert_eq!(
            restored.table("rusts", "devices").map(|t| t.oid),
            Some(second)
        );
        assert!(restored.table("other", "devices").is_none());
        assert!(Catalog::from_bytes(b"{not json").is_err());
    }

    fn view(name: &str, depends_on: &[&str]) -> View {
        View {
            oid: 0,
            database: "rusts".to_owned(),
            name: name.to_owned(),
            query: "SELECT 1".to_owned(),
            columns: Vec::new(),
            depends_on: depends_on.iter().map(|&name| name.to_owned()).collect(),
        }
    }

    #[test]
    fn dependent_views_are_found_through_other_views_once() {
        let mut catalog = Catalog {
            views: vec![
                view("a", &["t"]),
                view("b", &["a", "t"]),
                view("c", &["b"]),
                view("d", &["u"]),
            ],
            ..Catalog::default()
        };
        let mut other = view("a2", &["t"]);
        other.database = "other".to_owned();
        catalog.views.push(other);
        let mut found = catalog.dependent_views("rusts", &["t".to_owned()]);
        found.sort();
        assert_eq!(found, ["a", "b", "c"]);
        assert_eq!(catalog.dependent_views("rusts", &["b".to_owned()]), ["c"]);
        let found = catalog.dependent_views("rusts", &["a".to_owned(), "b".to_owned()]);
        assert_eq!(
            found,
            ["c"],
            "views being dropped together are not dependents"
        );
        assert!(
            catalog
                .dependent_views("rusts", &["c".to_owned()])
                .is_empty()
        );
        let oid = catalog.allocate_oid(|_| false);
        catalog.views[0].oid = oid;
        catalog.next_oid = oid;
        assert_ne!(
            catalog.allocate_oid(|_| false),
            oid,
            "views' OIDs are taken"
        );
        assert_eq!(
            Catalog::from_bytes(br#"{"next_oid":1,"tables":[]}"#)
                .unwrap()
                .views,
            []
        );
    }
}
