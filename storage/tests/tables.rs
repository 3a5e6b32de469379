//! Plain tables through the engine's public API: changes, unique keys, and recovery from the
//! WAL alone, from a snapshot alone and from both, each checked against the rows written.

mod common;

use common::options;
use rusts_common::ErrorKind;
use rusts_storage::{
    ColumnType, Engine, RowId, TableChange, TableColumn, TableId, UniqueKey, Value, WalDurability,
};

const DEVICES: TableId = TableId(16_500);

fn column(name: &str, column_type: ColumnType) -> TableColumn {
    TableColumn {
        name: name.to_owned(),
        column_type,
    }
}

fn text(value: &str) -> Value {
    Value::Text(value.into())
}

fn create_devices(engine: &Engine) {
    engine
        .change_tables(
            b"catalog v1".to_vec(),
            vec![TableChange::Create {
                id: DEVICES,
                columns: vec![
                    column("id", ColumnType::Int32),
                    column("name", ColumnType::Text),
                    column(
                        "price",
                        ColumnType::Decimal {
                            precision: 10,
                            scale: 2,
                        },
                    ),
                ],
                unique: vec![UniqueKey {
                    name: "devices_pkey".to_owned(),
                    columns: vec![0],
                }],
            }],
        )
        .unwrap();
}

/// The rows of `id`, in insertion order.
fn rows_of(engine: &Engine, id: TableId) -> Vec<Vec<Value>> {
    engine
        .table(id)
        .expect("table exists")
        .rows()
        .map(|(_, row)| row.to_vec())
        .collect()
}

fn device(id: i64, name: &str, cents: Option<i128>) -> Vec<Value> {
    vec![
        Value::Int(id),
        text(name),
        cents.map_or(Value::Null, Value::Decimal),
    ]
}

#[test]
fn inserts_check_unique_keys_and_types() {
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::open(options(dir.path(), WalDurability::None)).unwrap();
    create_devices(&engine);
    let ids = engine
        .insert_rows(
            DEVICES,
            vec![device(1, "a", Some(1_999)), device(2, "b", None)],
        )
        .unwrap();
    assert_eq!(ids, vec![RowId(1), RowId(2)]);

    // A duplicate key, against the table or within the statement, inserts nothing.
    for rows in [
        vec![device(3, "c", None), device(1, "dup", None)],
        vec![device(4, "d", None), device(4, "d again", None)],
    ] {
        let error = engine.insert_rows(DEVICES, rows).unwrap_err();
        assert_eq!(error.kind(), ErrorKind::UniqueViolation);
    }
    let error = engine
        .insert_rows(DEVICES, vec![device(1, "dup", None)])
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        "duplicate key value violates unique constraint \"devices_pkey\": Key (id)=(1) already exists."
    );
    // A NULL key is never a duplicate; a value of the wrong type is refused.
    engine
        .insert_rows(
            DEVICES,
            vec![
                vec![Value::Null, text("x"), Value::Null],
                vec![Value::Null, text("y"), Value::Null],
            ],
        )
        .unwrap();
    let error = engine
        .insert_rows(DEVICES, vec![vec![text("1"), text("z"), Value::Null]])
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::InvalidValue);
    let error = engine
        .insert_rows(
            DEVICES,
            vec![vec![Value::Int(1 << 40), text("z"), Value::Null]],
        )
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::InvalidValue, "out of int4 range");
}

/// Devices 1 and 2 and two rows with NULL ids (row ids 1 to 4).
fn devices_with_null_ids(engine: &Engine) {
    create_devices(engine);
    engine
        .insert_rows(
            DEVICES,
            vec![
                device(1, "a", Some(1_999)),
                device(2, "b", None),
                vec![Value::Null, text("x"), Value::Null],
                vec![Value::Null, text("y"), Value::Null],
            ],
        )
        .unwrap();
}

#[test]
fn updates_deletes_truncate_and_scans() {
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::open(options(dir.path(), WalDurability::None)).unwrap();
    devices_with_null_ids(&engine);
    // Swapping two keys in one statement is fine; taking a key another row keeps is not.
    engine
        .update_rows(
            DEVICES,
            vec![
                (RowId(1), device(2, "a", Some(1_999))),
                (RowId(2), device(1, "b", None)),
            ],
        )
        .unwrap();
    let error = engine
        .update_rows(DEVICES, vec![(RowId(3), device(1, "x", None))])
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::UniqueViolation);
    assert!(
        engine
            .update_rows(DEVICES, vec![(RowId(99), device(9, "gone", None))])
            .is_err()
    );

    assert_eq!(
        engine.delete_rows(DEVICES, &[RowId(3), RowId(77)]).unwrap(),
        1
    );
    assert_eq!(
        rows_of(&engine, DEVICES),
        vec![
            device(2, "a", Some(1_999)),
            device(1, "b", None),
            vec![Value::Null, text("y"), Value::Null],
        ]
    );
    // The freed key can be taken again; row ids are never reused.
    let ids = engine
        .insert_rows(DEVICES, vec![device(3, "c", None)])
        .unwrap();
    assert_eq!(ids, vec![RowId(5)]);

    let batch = engine
        .table(DEVICES)
        .unwrap()
        .record_batch(Some(&[2, 0]), true)
        .unwrap();
    assert_eq!(batch.num_rows(), 4);
    let names: Vec<&str> = batch
        .schema_ref()
        .fields()
        .iter()
        .map(|field| field.name().as_str())
        .collect();
    assert_eq!(names, ["price", "id", rusts_storage::ROW_ID_COLUMN]);
    assert_eq!(
        batch.column(0).data_type(),
        &arrow_schema::DataType::Decimal128(10, 2)
    );

    engine.truncate_table(DEVICES).unwrap();
    assert!(engine.table(DEVICES).unwrap().is_empty());
    engine
        .insert_rows(DEVICES, vec![device(1, "again", None)])
        .unwrap();
}

#[test]
fn a_unique_key_over_duplicates_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::open(options(dir.path(), WalDurability::None)).unwrap();
    create_devices(&engine);
    engine
        .insert_rows(DEVICES, vec![device(1, "a", None), device(2, "a", None)])
        .unwrap();
    // A unique key over duplicates fails and changes nothing, catalog included.
    let error = engine
        .change_tables(
            b"catalog v2".to_vec(),
            vec![TableChange::AddUnique {
                id: DEVICES,
                key: UniqueKey {
                    name: "name_key".to_owned(),
                    columns: vec![1],
                },
            }],
        )
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::UniqueViolation);
    assert_eq!(&**engine.tables().catalog(), b"catalog v1");
}

#[test]
fn columns_are_added_dropped_and_renamed() {
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::open(options(dir.path(), WalDurability::None)).unwrap();
    create_devices(&engine);
    engine
        .insert_rows(DEVICES, vec![device(1, "a", None), device(2, "a", None)])
        .unwrap();
    engine
        .change_tables(
            b"catalog v3".to_vec(),
            vec![
                TableChange::AddColumn {
                    id: DEVICES,
                    column: column("active", ColumnType::Boolean),
                    fill: Value::Boolean(true),
                },
                TableChange::DropColumn {
                    id: DEVICES,
                    position: 2,
                },
                TableChange::RenameColumn {
                    id: DEVICES,
                    position: 1,
                    name: "label".to_owned(),
                },
            ],
        )
        .unwrap();
    let table = engine.table(DEVICES).unwrap();
    let names: Vec<&str> = table.columns().iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["id", "label", "active"]);
    assert_eq!(
        rows_of(&engine, DEVICES)[0],
        vec![Value::Int(1), text("a"), Value::Boolean(true)]
    );
    // The primary key still holds on the column that did not move.
    assert_eq!(
        engine
            .insert_rows(DEVICES, vec![vec![Value::Int(2), text("b"), Value::Null]])
            .unwrap_err()
            .kind(),
        ErrorKind::UniqueViolation
    );
    // Dropping a key column while its key exists is refused.
    assert!(
        engine
            .change_tables(
                b"x".to_vec(),
                vec![TableChange::DropColumn {
                    id: DEVICES,
                    position: 0
                }]
            )
            .is_err()
    );
    engine
        .change_tables(
            b"catalog v4".to_vec(),
            vec![TableChange::Drop { id: DEVICES }],
        )
        .unwrap();
    assert!(engine.table(DEVICES).is_none());
    assert_eq!(
        engine.insert_rows(DEVICES, vec![]).unwrap_err().kind(),
        ErrorKind::UndefinedTable
    );
}

/// Applies the same steps to an engine, so each recovery path can be compared with it.
fn history(engine: &Engine, step: usize) {
    match step {
        0 => create_devices(engine),
        1 => {
            engine
                .insert_rows(
                    DEVICES,
                    (0..100)
                        .map(|i| device(i, &format!("d{i}"), Some(i128::from(i))))
                        .collect(),
                )
                .unwrap();
        }
        2 => {
            engine
                .update_rows(DEVICES, vec![(RowId(5), device(1_000, "moved", None))])
                .unwrap();
        }
        3 => {
            let ids: Vec<RowId> = (10..20).map(RowId).collect();
            engine.delete_rows(DEVICES, &ids).unwrap();
        }
        4 => {
            engine
                .change_tables(
                    b"catalog v2".to_vec(),
                    vec![TableChange::AddColumn {
                        id: DEVICES,
                        column: column("seen", ColumnType::TimestampTz),
                        fill: Value::Int(1_700_000_000_000_000),
                    }],
                )
                .unwrap();
        }
        5 => {
            engine
                .insert_rows(
                    DEVICES,
                    vec![vec![
                        Value::Int(500),
                        text("late"),
                        Value::Null,
                        Value::Null,
                    ]],
                )
                .unwrap();
        }
        _ => unreachable!(),
    }
}

const STEPS: usize = 6;

#[test]
fn tables_survive_restart_from_the_wal_from_a_snapshot_and_from_both() {
    let reference_dir = tempfile::tempdir().unwrap();
    let reference = Engine::open(options(reference_dir.path(), WalDurability::None)).unwrap();
    (0..STEPS).for_each(|step| history(&reference, step));
    let want = rows_of(&reference, DEVICES);
    assert_eq!(want.len(), 91);

    // Flush after step `flush_after` (never, when it is STEPS), then crash (no close).
    for flush_after in 0..=STEPS {
        let dir = tempfile::tempdir().unwrap();
        {
            let engine = Engine::open(options(dir.path(), WalDurability::EveryWrite)).unwrap();
            for step in 0..STEPS {
                history(&engine, step);
                if step == flush_after {
                    engine.flush().unwrap();
                }
            }
            // Dropped without close: the WAL holds what the last flush did not.
        }
        let engine = Engine::open(options(dir.path(), WalDurability::EveryWrite)).unwrap();
        assert_eq!(
            rows_of(&engine, DEVICES),
            want,
            "flush after step {flush_after}"
        );
        assert_eq!(&**engine.tables().catalog(), b"catalog v2");
        // The unique key was rebuilt: a recovered key is still taken.
        assert_eq!(
            engine
                .insert_rows(
                    DEVICES,
                    vec![vec![Value::Int(1_000), text("x"), Value::Null, Value::Null]]
                )
                .unwrap_err()
                .kind(),
            ErrorKind::UniqueViolation
        );
        // Row ids continue after the recovered ones.
        let ids = engine
            .insert_rows(
                DEVICES,
                vec![vec![Value::Int(9_999), text("x"), Value::Null, Value::Null]],
            )
            .unwrap();
        assert_eq!(ids, vec![RowId(102)]);
        engine.close().unwrap();
    }
}

#[test]
fn a_clean_close_leaves_one_snapshot_and_an_empty_wal() {
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::open(options(dir.path(), WalDurability::EveryWrite)).unwrap();
    (0..STEPS).for_each(|step| history(&engine, step));
    engine.flush().unwrap();
    engine
        .insert_rows(
            DEVICES,
            vec![vec![Value::Int(7_000), text("x"), Value::Null, Value::Null]],
        )
        .unwrap();
    engine.close().unwrap();
    let snapshots: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(|entry| {
            let name = entry.unwrap().file_name().into_string().unwrap();
            name.starts_with("tables-").then_some(name)
        })
        .collect();
    assert_eq!(snapshots.len(), 1, "{snapshots:?}");
    let engine = Engine::open(options(dir.path(), WalDurability::EveryWrite)).unwrap();
    assert_eq!(engine.table(DEVICES).unwrap().len(), 92);
    // Nothing was replayed: a replayed table record would leave the memtable non-empty.
    assert_eq!(engine.stats().memtable_bytes, 0);
}

#[test]
fn inserts_past_the_memory_limit_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut options = options(dir.path(), WalDurability::None);
    options.table_bytes_max = 10_000;
    let engine = Engine::open(options).unwrap();
    create_devices(&engine);
    let big = "x".repeat(4_000);
    engine
        .insert_rows(DEVICES, vec![device(1, &big, None)])
        .unwrap();
    let error = engine
        .insert_rows(DEVICES, vec![device(2, &big, None), device(3, &big, None)])
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::LimitExceeded);
    assert_eq!(engine.table(DEVICES).unwrap().len(), 1);
}

#[test]
fn background_flushes_snapshot_the_tables_at_their_wal_boundary() {
    let reference_dir = tempfile::tempdir().unwrap();
    let reference = Engine::open(options(reference_dir.path(), WalDurability::None)).unwrap();
    (0..STEPS).for_each(|step| history(&reference, step));
    let want = rows_of(&reference, DEVICES);

    let dir = tempfile::tempdir().unwrap();
    let mut small = options(dir.path(), WalDurability::EveryWrite);
    // Every table record fills the memtable: each change freezes it and the flusher
    // persists the tables as of that change, while later changes go on.
    small.memtable_bytes_max = 1;
    {
        let engine = Engine::open(small.clone()).unwrap();
        (0..STEPS).for_each(|step| history(&engine, step));
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while engine.stats().frozen_memtables > 0 {
            assert!(
                std::time::Instant::now() < deadline,
                "flushes did not finish"
            );
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        assert!(engine.stats().flushes >= 1);
        // Crash: no close, no explicit flush.
    }
    let engine = Engine::open(small).unwrap();
    assert_eq!(rows_of(&engine, DEVICES), want);
    assert_eq!(&**engine.tables().catalog(), b"catalog v2");
}
