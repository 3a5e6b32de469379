use super::*;
use crate::pg::statement::parse_statements;

fn command(sql: &str) -> Option<SessionCommand> {
    let statements = parse_statements(sql).unwrap();
    assert_eq!(statements.len(), 1, "{sql}");
    SessionCommand::from_statement(&statements[0]).unwrap()
}

fn set(name: &str, value: Option<&str>) -> Option<SessionCommand> {
    Some(SessionCommand::Set {
        name: name.to_owned(),
        value: value.map(str::to_owned),
    })
}

#[test]
fn set_forms_drivers_send() {
    let cases = [
        (
            "SET extra_float_digits = 3",
            set("extra_float_digits", Some("3")),
        ),
        ("SET TimeZone TO 'UTC'", set("TIMEZONE", Some("UTC"))),
        (
            "SET TIME ZONE 'Europe/Berlin'",
            set("TimeZone", Some("Europe/Berlin")),
        ),
        ("SET TIME ZONE -7", set("TimeZone", Some("-7"))),
        (
            "set application_name = 'psql'",
            set("application_name", Some("psql")),
        ),
        (
            "SET search_path TO metrics, public",
            set("search_path", Some("metrics, public")),
        ),
        (
            "SET statement_timeout = DEFAULT",
            set("statement_timeout", None),
        ),
        (
            "SET SESSION statement_timeout = '5s'",
            set("statement_timeout", Some("5s")),
        ),
        ("SET NAMES 'UTF8'", set("client_encoding", Some("UTF8"))),
    ];
    for (sql, expected) in cases {
        assert_eq!(command(sql), expected, "{sql}");
    }
}

#[test]
fn show_reset_and_transaction_control() {
    let show = |name: &str| {
        Some(SessionCommand::Show {
            name: name.to_owned(),
        })
    };
    let cases = [
        ("SHOW TimeZone", show("TimeZone")),
        ("SHOW TIME ZONE", show("TIME ZONE")),
        (
            "SHOW transaction isolation level",
            show("transaction isolation level"),
        ),
        ("SHOW ALL", Some(SessionCommand::ShowAll)),
        (
            "RESET statement_timeout",
            Some(SessionCommand::Reset {
                name: "statement_timeout".to_owned(),
            }),
        ),
        ("RESET ALL", Some(SessionCommand::ResetAll)),
        ("BEGIN", Some(SessionCommand::Begin)),
        ("START TRANSACTION", Some(SessionCommand::Begin)),
        ("COMMIT", Some(SessionCommand::Commit)),
        ("ROLLBACK", Some(SessionCommand::Rollback)),
        ("DISCARD ALL", Some(SessionCommand::Discard { all: true })),
        (
            "DEALLOCATE PREPARE s1",
            Some(SessionCommand::Deallocate {
                name: Some("s1".to_owned()),
            }),
        ),
        (
            "DEALLOCATE ALL",
            Some(SessionCommand::Deallocate { name: None }),
        ),
        ("SELECT 1", None),
        ("CREATE TABLE t (a INT)", None),
    ];
    for (sql, expected) in cases {
        assert_eq!(command(sql), expected, "{sql}");
    }
}

#[test]
fn savepoints_are_not_supported() {
    let statements = parse_statements("ROLLBACK TO SAVEPOINT a").unwrap();
    let error = SessionCommand::from_statement(&statements[0]).unwrap_err();
    assert!(matches!(error, Error::NotSupported { .. }), "{error}");
}

#[test]
fn show_columns_are_named_after_the_parameter() {
    let columns = SessionCommand::Show {
        name: "timezone".to_owned(),
    }
    .columns()
    .unwrap()
    .unwrap();
    assert_eq!(columns.field(0).name(), "timezone");
    let unknown = SessionCommand::Show {
        name: "nope".to_owned(),
    }
    .columns();
    assert!(matches!(unknown, Err(Error::UnknownSetting { .. })));
    assert_eq!(
        SessionCommand::ShowAll
            .columns()
            .unwrap()
            .unwrap()
            .fields()
            .len(),
        3
    );
    assert!(SessionCommand::Begin.columns().unwrap().is_none());
}
