//! WAL records of plain tables ([`crate::table`]).
//!
//! ```text
//! tables:   [5][bytes catalog][n × change]
//! insert:   [6][u64 table][u64 first row][var width][n × width × value]
//! update:   [7][u64 table][var width][n × (u64 row, width × value)]
//! delete:   [8][u64 table][n × u64 row]
//! truncate: [9][u64 table]
//! change:   [1 create][u64 table][columns][keys] | [2 drop][u64 table]
//!         | [3 add column][u64 table][column][value fill] | [4 drop column][u64 table][var position]
//!         | [5 rename column][u64 table][var position][str name] | [6 add unique][u64 table][key]
//!         | [7 drop unique][u64 table][str name]
//! ```
//!
//! A `tables` record carries the catalog's new bytes with the table changes of one DDL
//! statement, so the two change together or not at all.

use crate::binary::{ByteReader, ByteWriter, DecodeError, DecodeResult};
use crate::table::{
    RowId, TableChange, TableColumn, TableId, UniqueKey, Value, read_columns, read_keys, read_row,
    read_value, write_columns, write_keys, write_value,
};

pub(crate) const TABLES: u8 = 5;
pub(crate) const INSERT: u8 = 6;
pub(crate) const UPDATE: u8 = 7;
pub(crate) const DELETE: u8 = 8;
pub(crate) const TRUNCATE: u8 = 9;

/// A decoded plain-table record.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum TableRecord {
    Tables {
        catalog: Vec<u8>,
        changes: Vec<TableChange>,
    },
    Insert {
        table: TableId,
        first: RowId,
        rows: Vec<Vec<Value>>,
    },
    Update {
        table: TableId,
        rows: Vec<(RowId, Vec<Value>)>,
    },
    Delete {
        table: TableId,
        rows: Vec<RowId>,
    },
    Truncate {
        table: TableId,
    },
}

pub(crate) fn encode_tables(catalog: &[u8], changes: &[TableChange]) -> Vec<u8> {
    let mut writer = ByteWriter::new();
    writer.u8(TABLES);
    writer.bytes(catalog);
    writer.len_var(changes.len());
    for change in changes {
        write_change(&mut writer, change);
    }
    writer.into_bytes()
}

pub(crate) fn encode_insert(
    table: TableId,
    first: RowId,
    width: usize,
    rows: &[Vec<Value>],
) -> Vec<u8> {
    let mut writer = ByteWriter::new();
    writer.u8(INSERT);
    writer.u64(table.0);
    writer.u64(first.0);
    writer.len_var(width);
    writer.len_var(rows.len());
    for row in rows {
        row.iter().for_each(|value| write_value(&mut writer, value));
    }
    writer.into_bytes()
}

pub(crate) fn encode_update(table: TableId, width: usize, rows: &[(RowId, Vec<Value>)]) -> Vec<u8> {
    let mut writer = ByteWriter::new();
    writer.u8(UPDATE);
    writer.u64(table.0);
    writer.len_var(width);
    writer.len_var(rows.len());
    for (id, row) in rows {
        writer.u64(id.0);
        row.iter().for_each(|value| write_value(&mut writer, value));
    }
    writer.into_bytes()
}

pub(crate) fn encode_delete(table: TableId, rows: &[RowId]) -> Vec<u8> {
    let mut writer = ByteWriter::new();
    writer.u8(DELETE);
    writer.u64(table.0);
    writer.len_var(rows.len());
    rows.iter().for_each(|id| writer.u64(id.0));
    writer.into_bytes()
}

pub(crate) fn encode_truncate(table: TableId) -> Vec<u8> {
    let mut writer = ByteWriter::new();
    writer.u8(TRUNCATE);
    writer.u64(table.0);
    writer.into_bytes()
}

impl TableRecord {
    /// Decodes the body of a record of `kind` (one of the constants above).
    pub(crate) fn decode(kind: u8, reader: &mut ByteReader<'_>) -> DecodeResult<Self> {
        Ok(match kind {
            TABLES => {
                let catalog = reader.bytes()?.to_vec();
                let count = reader.len_var(9)?;
                let changes = (0..count)
                    .map(|_| read_change(reader))
                    .collect::<DecodeResult<_>>()?;
                Self::Tables { catalog, changes }
            }
            INSERT => {
                let table = TableId(reader.u64()?);
                let first = RowId(reader.u64()?);
                let width = reader.len_var(0)?;
                let count = reader.len_var(width.max(1))?;
                let rows = (0..count)
                    .map(|_| read_row(reader, width))
                    .collect::<DecodeResult<_>>()?;
                Self::Insert { table, first, rows }
            }
            UPDATE => {
                let table = TableId(reader.u64()?);
                let width = reader.len_var(0)?;
                let count = reader.len_var(8 + width)?;
                let rows = (0..count)
                    .map(|_| Ok((RowId(reader.u64()?), read_row(reader, width)?)))
                    .collect::<DecodeResult<_>>()?;
                Self::Update { table, rows }
            }
            DELETE => {
                let table = TableId(reader.u64()?);
                let count = reader.len_var(8)?;
                let rows = (0..count)
                    .map(|_| reader.u64().map(RowId))
                    .collect::<DecodeResult<_>>()?;
                Self::Delete { table, rows }
            }
            TRUNCATE => Self::Truncate {
                table: TableId(reader.u64()?),
            },
            other => return Err(DecodeError(format!("unknown table record kind {other}"))),
        })
    }
}

fn write_change(writer: &mut ByteWriter, change: &TableChange) {
    match change {
        TableChange::Create {
            id,
            columns,
            unique,
        } => {
            writer.u8(1);
            writer.u64(id.0);
            write_columns(writer, columns);
            write_keys(writer, unique);
        }
        TableChange::Drop { id } => {
            writer.u8(2);
            writer.u64(id.0);
        }
        TableChange::AddColumn { id, column, fill } => {
            writer.u8(3);
            writer.u64(id.0);
            write_columns(writer, std::slice::from_ref(column));
            write_value(writer, fill);
        }
        TableChange::DropColumn { id, position } => {
            writer.u8(4);
            writer.u64(id.0);
            writer.len_var(*position);
        }
        TableChange::RenameColumn { id, position, name } => {
            writer.u8(5);
            writer.u64(id.0);
            writer.len_var(*position);
            writer.str(name);
        }
        TableChange::AddUnique { id, key } => {
            writer.u8(6);
            writer.u64(id.0);
            write_keys(writer, std::slice::from_ref(key));
        }
        TableChange::DropUnique { id, name } => {
            writer.u8(7);
            writer.u64(id.0);
            writer.str(name);
        }
    }
}

fn read_change(reader: &mut ByteReader<'_>) -> DecodeResult<TableChange> {
    let kind = reader.u8()?;
    let id = TableId(reader.u64()?);
    Ok(match kind {
        1 => {
            let columns = read_columns(reader)?;
            let unique = read_keys(reader, columns.len())?;
            TableChange::Create {
                id,
                columns,
                unique,
            }
        }
        2 => TableChange::Drop { id },
        3 => {
            let column: TableColumn = read_columns(reader)?
                .pop()
                .ok_or_else(|| DecodeError("add column without a column".to_owned()))?;
            let fill = read_value(reader)?;
            TableChange::AddColumn { id, column, fill }
        }
        4 => TableChange::DropColumn {
            id,
            position: reader.len_var(0)?,
        },
        5 => TableChange::RenameColumn {
            id,
            position: reader.len_var(0)?,
            name: reader.string()?,
        },
        6 => {
            let key: UniqueKey = read_keys(reader, usize::MAX)?
                .pop()
                .ok_or_else(|| DecodeError("add unique without a key".to_owned()))?;
            TableChange::AddUnique { id, key }
        }
        7 => TableChange::DropUnique {
            id,
            name: reader.string()?,
        },
        other => return Err(DecodeError(format!("unknown table change {other}"))),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::table::ColumnType;

    fn round_trip(bytes: &[u8]) -> TableRecord {
        let mut reader = ByteReader::new(bytes);
        let kind = reader.u8().expect("kind");
        let record = TableRecord::decode(kind, &mut reader).expect("decodes");
        assert!(reader.is_empty(), "trailing bytes");
        record
    }

    #[test]
    fn records_round_trip() {
        let table = TableId(16_400);
        let columns = vec![
            TableColumn {
                name: "id".to_owned(),
                column_type: ColumnType::Int32,
            },
            TableColumn {
                name: "price".to_owned(),
                column_type: ColumnType::Decimal {
                    precision: 10,
                    scale: -2,
                },
            },
        ];
        let changes = vec![
            TableChange::Create {
                id: table,
                columns: columns.clone(),
                unique: vec![UniqueKey {
                    name: "t_pkey".to_owned(),
                    columns: vec![0],
                }],
            },
            TableChange::AddColumn {
                id: table,
                column: TableColumn {
                    name: "note".to_owned(),
                    column_type: ColumnType::Text,
                },
                fill: Value::Text("n/a".into()),
            },
            TableChange::DropColumn {
                id: table,
                position: 1,
            },
            TableChange::RenameColumn {
                id: table,
                position: 0,
                name: "key".to_owned(),
            },
            TableChange::AddUnique {
                id: table,
                key: UniqueKey {
                    name: "u".to_owned(),
                    columns: vec![1],
                },
            },
            TableChange::DropUnique {
                id: table,
                name: "u".to_owned(),
            },
            TableChange::Drop { id: table },
        ];
        assert_eq!(
            round_trip(&encode_tables(b"catalog", &changes)),
            TableRecord::Tables {
                catalog: b"catalog".to_vec(),
                changes
            }
        );
        let rows = vec![
            vec![Value::Int(1), Value::Decimal(-12_345)],
            vec![Value::Null, Value::Text("x".into())],
            vec![
                Value::Float(f64::NAN.abs()),
                Value::Binary(vec![0, 255].into()),
            ],
            vec![Value::Boolean(true), Value::Int(i64::MIN)],
        ];
        let TableRecord::Insert {
            table: decoded_table,
            first,
            rows: decoded,
        } = round_trip(&encode_insert(table, RowId(7), 2, &rows))
        else {
            panic!("not an insert");
        };
        assert_eq!((decoded_table, first), (table, RowId(7)));
        assert_eq!(decoded.len(), rows.len());
        assert!(matches!(decoded[2][0], Value::Float(value) if value.is_nan()));
        assert_eq!(decoded[3], rows[3]);
        let updates = vec![(RowId(3), vec![Value::Int(2), Value::Null])];
        assert_eq!(
            round_trip(&encode_update(table, 2, &updates)),
            TableRecord::Update {
                table,
                rows: updates
            }
        );
        assert_eq!(
            round_trip(&encode_delete(table, &[RowId(1), RowId(9)])),
            TableRecord::Delete {
                table,
                rows: vec![RowId(1), RowId(9)]
            }
        );
        assert_eq!(
            round_trip(&encode_truncate(table)),
            TableRecord::Truncate { table }
        );
    }

    #[test]
    fn truncated_records_are_errors() {
        let bytes = encode_insert(TableId(1), RowId(1), 1, &[vec![Value::Text("abc".into())]]);
        for cut in 1..bytes.len() {
            let mut reader = ByteReader::new(&bytes[..cut]);
            let kind = reader.u8().expect("kind");
            assert!(
                TableRecord::decode(kind, &mut reader).is_err(),
                "cut at {cut}"
            );
        }
    }
}
