//! PostgreSQL's built-in types: the rows of `pg_type` and `pg_range`, lookups by OID and
//! by name, and the names `format_type` and `regtype` output give them.

pub use crate::builtin_types::{BUILTIN_RANGES, BUILTIN_TYPES};

/// One built-in type, with the `pg_type` attributes drivers and tools read. The rest of
/// `pg_type`'s columns are the same for every built-in type (owner 10, namespace
/// `pg_catalog`, defined, no base type, no default) and are filled in by the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BuiltinType {
    /// `oid`.
    pub oid: u32,
    /// `typname`.
    pub name: &'static str,
    /// `typlen`: bytes, or -1 for varlena, -2 for C strings.
    pub len: i16,
    /// `typbyval`.
    pub by_value: bool,
    /// `typtype`: b(ase), p(seudo), r(ange), m(ultirange).
    pub kind: char,
    /// `typcategory`: A(rray), B(oolean), N(umeric), S(tring), D(ate/time), …
    pub category: char,
    /// `typispreferred`: preferred within its category for implicit casts.
    pub preferred: bool,
    /// `typdelim`: separates array elements in text form.
    pub delimiter: char,
    /// `typsubscript`: the subscripting handler, `-` for none.
    pub subscript: &'static str,
    /// `typelem`: the element of an array type, else 0.
    pub element: u32,
    /// `typarray`: the array type of this type, else 0.
    pub array: u32,
    /// `typinput`: the text input function.
    pub input: &'static str,
    /// `typoutput`: the text output function.
    pub output: &'static str,
    /// `typreceive`: the binary input function, `-` for none.
    pub receive: &'static str,
    /// `typsend`: the binary output function, `-` for none.
    pub send: &'static str,
    /// `typmodin`: the type-modifier input function, `-` for none.
    pub modifier_in: &'static str,
    /// `typmodout`: the type-modifier output function, `-` for none.
    pub modifier_out: &'static str,
    /// `typanalyze`: the statistics function, `-` for the default.
    pub analyze: &'static str,
    /// `typalign`: c(har), s(hort), i(nt) or d(ouble) alignment.
    pub align: char,
    /// `typstorage`: p(lain), e(xternal), m(ain) or x (extended).
    pub storage: char,
    /// `typcollation`: 100 (default) for collatable types, 950 (C) for `name`, else 0.
    pub collation: u32,
}

/// One built-in range type (`pg_range`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BuiltinRange {
    /// `rngtypid`: the range type.
    pub range: u32,
    /// `rngsubtype`: the type of its bounds.
    pub subtype: u32,
    /// `rngmultitypid`: its multirange type.
    pub multirange: u32,
    /// `rngcollation`.
    pub collation: u32,
    /// `rngsubopc`: the B-tree operator class ordering the bounds.
    pub operator_class: u32,
    /// `rngcanonical`: the canonicalization function, `-` for none.
    pub canonical: &'static str,
    /// `rngsubdiff`: the bound difference function, `-` for none.
    pub difference: &'static str,
}

/// The OID of the `pg_catalog` namespace, which holds every built-in type.
pub const PG_CATALOG_NAMESPACE: u32 = 11;

/// The built-in type with `oid`.
pub fn builtin_type(oid: u32) -> Option<&'static BuiltinType> {
    BUILTIN_TYPES
        .binary_search_by_key(&oid, |builtin| builtin.oid)
        .ok()
        .map(|index| &BUILTIN_TYPES[index])
}

/// The built-in type a type name denotes, as a `::regtype` cast reads it: the `pg_type`
/// name (`int4`, `_int4`), the SQL name (`integer`, `double precision`,
/// `timestamp with time zone`, `character varying`), common aliases (`int`, `float`,
/// `decimal`), an array with `[]`, and an optional `pg_catalog.` qualifier. Case and
/// surrounding blanks do not matter; a quoted name (`"char"`) must match exactly.
pub fn builtin_type_named(name: &str) -> Option<&'static BuiltinType> {
    let name = name.trim();
    if let Some(element) = name.strip_suffix("[]") {
        let element = builtin_type_named(element)?;
        return builtin_type(element.array).filter(|_| element.array != 0);
    }
    let name = name.strip_prefix("pg_catalog.").unwrap_or(name);
    if let Some(quoted) = name
        .strip_prefix('"')
        .and_then(|rest| rest.strip_suffix('"'))
    {
        return BUILTIN_TYPES.iter().find(|builtin| builtin.name == quoted);
    }
    let lower = name.to_ascii_lowercase();
    let words: Vec<&str> = lower.split_whitespace().collect();
    let canonical = match words.join(" ").as_str() {
        "boolean" => "bool",
        "smallint" => "int2",
        "integer" | "int" => "int4",
        "bigint" => "int8",
        "real" => "float4",
        "double precision" | "float" => "float8",
        "decimal" => "numeric",
        "character varying" | "char varying" => "varchar",
        "character" | "char" => "bpchar",
        "time without time zone" => "time",
        "time with time zone" => "timetz",
        "timestamp without time zone" => "timestamp",
        "timestamp with time zone" => "timestamptz",
        "bit varying" => "varbit",
        other => return BUILTIN_TYPES.iter().find(|builtin| builtin.name == other),
    };
    BUILTIN_TYPES
        .iter()
        .find(|builtin| builtin.name == canonical)
}

/// The name `format_type(oid, NULL)` and `oid::regtype::text` give a built-in type: the SQL
/// name where the standard has one (`integer`, `timestamp with time zone`), `[]` after the
/// element for arrays, the `pg_type` name otherwise (quoted where it needs quotes, as
/// `"char"`). `None` for an OID that is not a built-in type.
pub fn builtin_type_display_name(oid: u32) -> Option<String> {
    let builtin = builtin_type(oid)?;
    // PostgreSQL's IsTrueArrayType, less the plain-storage vectors (`int2vector`,
    // `oidvector`), which format_type names as themselves.
    if builtin.element != 0
        && builtin.subscript == "array_subscript_handler"
        && builtin.storage != 'p'
    {
        return Some(format!("{}[]", builtin_type_display_name(builtin.element)?));
    }
    let name = match builtin.name {
        "bool" => "boolean",
        "int2" => "smallint",
        "int4" => "integer",
        "int8" => "bigint",
        "float4" => "real",
        "float8" => "double precision",
        "varchar" => "character varying",
        "bpchar" => "character",
        "time" => "time without time zone",
        "timetz" => "time with time zone",
        "timestamp" => "timestamp without time zone",
        "timestamptz" => "timestamp with time zone",
        "varbit" => "bit varying",
        "char" => "\"char\"",
        other => other,
    };
    Some(name.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_are_sorted_unique_and_arrays_point_both_ways() {
        assert!(
            BUILTIN_TYPES
                .windows(2)
                .all(|pair| pair[0].oid < pair[1].oid)
        );
        for builtin in BUILTIN_TYPES {
            if builtin.array != 0 {
                let array = builtin_type(builtin.array)
                    .unwrap_or_else(|| panic!("array of {} missing", builtin.name));
                assert_eq!(array.element, builtin.oid, "{}", array.name);
                assert_eq!(array.name, format!("_{}", builtin.name));
            }
        }
        for range in BUILTIN_RANGES {
            assert_eq!(builtin_type(range.range).map(|t| t.kind), Some('r'));
            assert_eq!(builtin_type(range.multirange).map(|t| t.kind), Some('m'));
            assert!(builtin_type(range.subtype).is_some());
        }
    }

    #[test]
    fn well_known_oids_match_postgres() {
        for (oid, name) in [
            (16, "bool"),
            (17, "bytea"),
            (18, "char"),
            (19, "name"),
            (20, "int8"),
            (21, "int2"),
            (23, "int4"),
            (25, "text"),
            (26, "oid"),
            (114, "json"),
            (700, "float4"),
            (701, "float8"),
            (1007, "_int4"),
            (1016, "_int8"),
            (1028, "_oid"),
            (1043, "varchar"),
            (1082, "date"),
            (1114, "timestamp"),
            (1184, "timestamptz"),
            (1186, "interval"),
            (1700, "numeric"),
            (2950, "uuid"),
            (3802, "jsonb"),
        ] {
            assert_eq!(builtin_type(oid).map(|t| t.name), Some(name), "{oid}");
        }
    }

    #[test]
    fn names_resolve_as_regtype_reads_them() {
        let oid_of = |name| builtin_type_named(name).map(|t| t.oid);
        assert_eq!(oid_of("int4"), Some(23));
        assert_eq!(oid_of("INTEGER"), Some(23));
        assert_eq!(oid_of("pg_catalog.int8"), Some(20));
        assert_eq!(oid_of("double   precision"), Some(701));
        assert_eq!(oid_of("timestamp with time zone"), Some(1184));
        assert_eq!(oid_of("integer[]"), Some(1007));
        assert_eq!(oid_of("_int4"), Some(1007));
        assert_eq!(oid_of("\"char\""), Some(18));
        assert_eq!(oid_of("char"), Some(1042));
        assert_eq!(oid_of("no_such_type"), None);
        assert_eq!(oid_of("no_such_type[]"), None);
    }

    #[test]
    fn display_names_follow_format_type() {
        let name = |oid| builtin_type_display_name(oid);
        assert_eq!(name(23).as_deref(), Some("integer"));
        assert_eq!(name(1016).as_deref(), Some("bigint[]"));
        assert_eq!(name(1184).as_deref(), Some("timestamp with time zone"));
        assert_eq!(name(18).as_deref(), Some("\"char\""));
        assert_eq!(name(25).as_deref(), Some("text"));
        assert_eq!(name(3904).as_deref(), Some("int4range"));
        assert_eq!(name(1002).as_deref(), Some("\"char\"[]"));
        assert_eq!(name(22).as_deref(), Some("int2vector"));
        assert_eq!(name(600).as_deref(), Some("point"));
        assert_eq!(name(0), None);
    }
}
