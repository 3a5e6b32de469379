//! DataFusion errors to Postgres SQLSTATE codes.
//!
//! Drivers branch on the SQLSTATE, not on message text (psycopg raises `UndefinedTable` for
//! 42P01, pgjdbc maps 57014 to a cancel), so the code must be right even when DataFusion only
//! says what went wrong in prose. We match the error variant first and fall back to the
//! message text only inside a variant, where DataFusion gives us nothing more precise.
//! Internal errors never reach the client verbatim: it gets an id, the log gets the chain.

use std::sync::atomic::{AtomicU64, Ordering};

use datafusion::arrow::error::ArrowError;
use datafusion::common::SchemaError;
use datafusion::error::DataFusionError;
use datafusion::sql::sqlparser::parser::ParserError;

use crate::pg::error::Error;

/// SQLSTATE codes we answer with, named as in the Postgres errcodes appendix.
pub(crate) mod code {
    pub(crate) const SYNTAX_ERROR: &str = "42601";
    pub(crate) const SYNTAX_OR_ACCESS_RULE: &str = "42000";
    pub(crate) const UNDEFINED_TABLE: &str = "42P01";
    pub(crate) const UNDEFINED_COLUMN: &str = "42703";
    pub(crate) const UNDEFINED_FUNCTION: &str = "42883";
    pub(crate) const UNDEFINED_OBJECT: &str = "42704";
    pub(crate) const AMBIGUOUS_COLUMN: &str = "42702";
    pub(crate) const DUPLICATE_COLUMN: &str = "42701";
    pub(crate) const DUPLICATE_TABLE: &str = "42P07";
    pub(crate) const INVALID_TEXT_REPRESENTATION: &str = "22P02";
    pub(crate) const INVALID_PARAMETER_VALUE: &str = "22023";
    pub(crate) const NUMERIC_VALUE_OUT_OF_RANGE: &str = "22003";
    pub(crate) const DIVISION_BY_ZERO: &str = "22012";
    pub(crate) const FEATURE_NOT_SUPPORTED: &str = "0A000";
    pub(crate) const QUERY_CANCELED: &str = "57014";
    pub(crate) const OUT_OF_MEMORY: &str = "53200";
    pub(crate) const PROGRAM_LIMIT_EXCEEDED: &str = "54000";
    pub(crate) const STATEMENT_TOO_COMPLEX: &str = "54001";
    pub(crate) const CANT_CHANGE_RUNTIME_PARAM: &str = "55P02";
    pub(crate) const IN_FAILED_TRANSACTION: &str = "25P02";
    pub(crate) const INVALID_SQL_STATEMENT_NAME: &str = "26000";
    pub(crate) const INVALID_CURSOR_NAME: &str = "34000";
    pub(crate) const BAD_COPY_FILE_FORMAT: &str = "22P04";
    pub(crate) const DUPLICATE_PREPARED_STATEMENT: &str = "42P05";
    pub(crate) const PROTOCOL_VIOLATION: &str = "08P01";
    pub(crate) const INVALID_AUTHORIZATION_SPECIFICATION: &str = "28000";
    pub(crate) const INVALID_CATALOG_NAME: &str = "3D000";
    pub(crate) const IO_ERROR: &str = "58030";
    pub(crate) const INTERNAL_ERROR: &str = "XX000";
    pub(crate) const NOT_NULL_VIOLATION: &str = "23502";
}

/// Source of ids that tie an internal error's short client message to its log line.
static INTERNAL_ERROR_ID: AtomicU64 = AtomicU64::new(1);

/// SQLSTATE and client-facing message for a DataFusion error.
pub(crate) fn datafusion_error_to_sqlstate(error: &DataFusionError) -> (&'static str, String) {
    let root = error.find_root();
    // Our own errors raised inside SQL functions (`set_config`) keep their code and text.
    if let DataFusionError::External(external) = root
        && let Some(own) = external.downcast_ref::<Error>()
    {
        return own.sqlstate_and_message();
    }
    let code = root_code(root);
    if code == code::INTERNAL_ERROR && matches!(root, DataFusionError::Internal(_)) {
        let error_id = INTERNAL_ERROR_ID.fetch_add(1, Ordering::Relaxed);
        tracing::error!(error_id, error = %error.strip_backtrace(), "internal query error");
        return (
            code,
            format!("internal error (error id {error_id}); see server log"),
        );
    }
    (code, postgres_message(root))
}

/// The root cause in Postgres's words where they are well known (a user searching for the
/// message finds Postgres's documentation), else DataFusion's text without its
/// "Error during planning: "-style prefixes.
fn postgres_message(root: &DataFusionError) -> String {
    match root {
        DataFusionError::ArrowError(error, _) => return arrow_message(error),
        DataFusionError::External(external) => {
            if let Some(error) = external.downcast_ref::<ArrowError>() {
                return arrow_message(error);
            }
            if let Some(error) = external.downcast_ref::<rusts_planner::Error>() {
                return error.to_string();
            }
        }
        DataFusionError::SchemaError(error, _) => {
            if let SchemaError::FieldNotFound { field, .. } = error.as_ref() {
                return format!("column \"{}\" does not exist", field.name());
            }
        }
        DataFusionError::Plan(message) => {
            if let Some(table) = message
                .strip_prefix("table '")
                .and_then(|rest| rest.strip_suffix("' not found"))
            {
                let name = table.rsplit('.').next().unwrap_or(table);
                return format!("relation \"{name}\" does not exist");
            }
            if let Some(rest) = message.strip_prefix("Invalid function '")
                && let Some((name, _)) = rest.split_once('\'')
            {
                return format!("function {name} does not exist");
            }
        }
        _ => {}
    }
    let text = root.strip_backtrace();
    let prefixes = [
        "Error during planning: ",
        "Execution error: ",
        "External error: ",
        "Schema error: ",
        "Arrow error: ",
        "Optimizer rule ",
    ];
    let mut text = text.as_str();
    while let Some(rest) = prefixes.iter().find_map(|prefix| text.strip_prefix(prefix)) {
        text = rest;
    }
    text.to_owned()
}

fn arrow_message(error: &ArrowError) -> String {
    match error {
        ArrowError::DivideByZero => "division by zero".to_owned(),
        other => {
            let text = other.to_string();
            let prefixes = ["Cast error: ", "Parser error: ", "Compute error: "];
            prefixes
                .iter()
                .find_map(|prefix| text.strip_prefix(prefix))
                .map_or(text.clone(), str::to_owned)
        }
    }
}

/// The code for the innermost DataFusion error, where the real cause sits.
fn root_code(root: &DataFusionError) -> &'static str {
    match root {
        DataFusionError::SQL(parser_error, _) => match parser_error.as_ref() {
            ParserError::RecursionLimitExceeded => code::STATEMENT_TOO_COMPLEX,
            ParserError::TokenizerError(_) | ParserError::ParserError(_) => code::SYNTAX_ERROR,
        },
        DataFusionError::SchemaError(schema_error, _) => schema_error_code(schema_error),
        DataFusionError::ArrowError(arrow_error, _) => arrow_error_code(arrow_error),
        DataFusionError::Plan(message) => plan_error_code(message),
        DataFusionError::Execution(message) => execution_error_code(message),
        DataFusionError::NotImplemented(_) => code::FEATURE_NOT_SUPPORTED,
        DataFusionError::ResourcesExhausted(_) => code::OUT_OF_MEMORY,
        DataFusionError::Configuration(_) => code::INVALID_PARAMETER_VALUE,
        DataFusionError::IoError(_) | DataFusionError::ObjectStore(_) => code::IO_ERROR,
        DataFusionError::Collection(errors) => errors
            .first()
            .map_or(code::INTERNAL_ERROR, |e| root_code(e.find_root())),
        DataFusionError::External(external) => {
            if let Some(arrow_error) = external.downcast_ref::<ArrowError>() {
                arrow_error_code(arrow_error)
            } else if let Some(engine_error) = external.downcast_ref::<rusts_planner::Error>() {
                crate::status::sqlstate(engine_error.kind())
            } else {
                code::INTERNAL_ERROR
            }
        }
        // `find_root` already stepped through the wrappers; what is left is a real bug or a
        // failure we cannot attribute to the query text.
        DataFusionError::Context(_, _)
        | DataFusionError::Diagnostic(_, _)
        | DataFusionError::Shared(_)
        | DataFusionError::Internal(_)
        | DataFusionError::ExecutionJoin(_)
        | DataFusionError::Substrait(_)
        | DataFusionError::Ffi(_) => code::INTERNAL_ERROR,
    }
}

fn schema_error_code(error: &SchemaError) -> &'static str {
    match error {
        SchemaError::FieldNotFound { .. } => code::UNDEFINED_COLUMN,
        SchemaError::AmbiguousReference { .. } => code::AMBIGUOUS_COLUMN,
        SchemaError::DuplicateQualifiedField { .. }
        | SchemaError::DuplicateUnqualifiedField { .. } => code::DUPLICATE_COLUMN,
    }
}

fn arrow_error_code(error: &ArrowError) -> &'static str {
    match error {
        ArrowError::DivideByZero => code::DIVISION_BY_ZERO,
        ArrowError::CastError(_) | ArrowError::ParseError(_) => code::INVALID_TEXT_REPRESENTATION,
        ArrowError::ArithmeticOverflow(_) => code::NUMERIC_VALUE_OUT_OF_RANGE,
        ArrowError::ComputeError(message) if message.contains("Overflow") => {
            code::NUMERIC_VALUE_OUT_OF_RANGE
        }
        ArrowError::NotYetImplemented(_) => code::FEATURE_NOT_SUPPORTED,
        ArrowError::MemoryError(_) => code::OUT_OF_MEMORY,
        ArrowError::InvalidArgumentError(_) => code::INVALID_PARAMETER_VALUE,
        _ => code::INTERNAL_ERROR,
    }
}

/// Planning errors are user errors in the query; DataFusion names the kind only in prose.
fn plan_error_code(message: &str) -> &'static str {
    let lower = message.to_ascii_lowercase();
    if lower.contains("table '") && lower.contains("not found") {
        code::UNDEFINED_TABLE
    } else if lower.contains("invalid function")
        || lower.contains("unknown function")
        || lower.contains("no function matches")
        || lower.contains("failed to coerce arguments")
        || lower.contains("does not support zero arguments")
    {
        code::UNDEFINED_FUNCTION
    } else if lower.contains("no field named") {
        code::UNDEFINED_COLUMN
    } else if lower.contains("already exists") {
        code::DUPLICATE_TABLE
    } else if lower.contains("divide by zero") || lower.contains("division by zero") {
        code::DIVISION_BY_ZERO
    } else if lower.contains("cannot cast") || lower.contains("cast error") {
        code::INVALID_TEXT_REPRESENTATION
    } else {
        code::SYNTAX_OR_ACCESS_RULE
    }
}

fn execution_error_code(message: &str) -> &'static str {
    let lower = message.to_ascii_lowercase();
    if lower.contains("divide by zero") || lower.contains("division by zero") {
        code::DIVISION_BY_ZERO
    } else if lower.contains("violates not-null constraint") {
        code::NOT_NULL_VIOLATION
    } else if lower.contains("already exists") {
        code::DUPLICATE_TABLE
    } else if (lower.contains("table") || lower.contains("view")) && lower.contains("doesn't exist")
    {
        code::UNDEFINED_TABLE
    } else if lower.contains("cannot cast") || lower.contains("cast error") {
        code::INVALID_TEXT_REPRESENTATION
    } else if lower.contains("overflow") {
        code::NUMERIC_VALUE_OUT_OF_RANGE
    } else {
        code::INTERNAL_ERROR
    }
}

#[cfg(test)]
mod tests {
    use datafusion::common::Column;

    use super::*;

    fn code_of(error: DataFusionError) -> &'static str {
        datafusion_error_to_sqlstate(&error).0
    }

    #[test]
    fn variants_map_to_their_sqlstate() {
        let parser = ParserError::ParserError("Expected: an SQL statement".to_owned());
        let cases = [
            (
                DataFusionError::SQL(Box::new(parser), None),
                code::SYNTAX_ERROR,
            ),
            (
                DataFusionError::SQL(Box::new(ParserError::RecursionLimitExceeded), None),
                code::STATEMENT_TOO_COMPLEX,
            ),
            (
                DataFusionError::SchemaError(
                    Box::new(SchemaError::FieldNotFound {
                        field: Box::new(Column::from_name("nope")),
                        valid_fields: vec![],
                    }),
                    Box::new(None),
                ),
                code::UNDEFINED_COLUMN,
            ),
            (
                DataFusionError::ArrowError(Box::new(ArrowError::DivideByZero), None),
                code::DIVISION_BY_ZERO,
            ),
            (
                DataFusionError::ArrowError(
                    Box::new(ArrowError::CastError("Cannot cast string 'x'".to_owned())),
                    None,
                ),
                code::INVALID_TEXT_REPRESENTATION,
            ),
            (
                DataFusionError::NotImplemented("x".to_owned()),
                code::FEATURE_NOT_SUPPORTED,
            ),
            (
                DataFusionError::ResourcesExhausted("x".to_owned()),
                code::OUT_OF_MEMORY,
            ),
            (
                DataFusionError::Internal("bug".to_owned()),
                code::INTERNAL_ERROR,
            ),
        ];
        for (error, expected) in cases {
            let shown = error.to_string();
            assert_eq!(code_of(error), expected, "{shown}");
        }
    }

    #[test]
    fn plan_and_execution_messages_map_by_text() {
        let cases = [
            (
                "table 'datafusion.public.nope' not found",
                code::UNDEFINED_TABLE,
            ),
            (
                "Invalid function 'nope'.\nDid you mean 'now'?",
                code::UNDEFINED_FUNCTION,
            ),
            ("Table 't' already exists", code::DUPLICATE_TABLE),
            (
                "Projections require unique expression names",
                code::SYNTAX_OR_ACCESS_RULE,
            ),
        ];
        for (message, expected) in cases {
            assert_eq!(code_of(DataFusionError::Plan(message.to_owned())), expected);
        }
        let cases = [
            ("Divide by zero error", code::DIVISION_BY_ZERO),
            ("Table 't' doesn't exist.", code::UNDEFINED_TABLE),
            ("something unexpected", code::INTERNAL_ERROR),
        ];
        for (message, expected) in cases {
            assert_eq!(
                code_of(DataFusionError::Execution(message.to_owned())),
                expected
            );
        }
    }

    #[test]
    fn wrapped_errors_use_the_root_cause() {
        let wrapped = DataFusionError::Context(
            "while planning".to_owned(),
            Box::new(DataFusionError::ArrowError(
                Box::new(ArrowError::DivideByZero),
                None,
            )),
        );
        assert_eq!(code_of(wrapped), code::DIVISION_BY_ZERO);
        let shared = DataFusionError::Shared(std::sync::Arc::new(DataFusionError::Plan(
            "table 'x' not found".to_owned(),
        )));
        assert_eq!(code_of(shared), code::UNDEFINED_TABLE);
    }

    #[test]
    fn internal_errors_hide_their_text() {
        let (code, message) =
            datafusion_error_to_sqlstate(&DataFusionError::Internal("secret detail".to_owned()));
        assert_eq!(code, code::INTERNAL_ERROR);
        assert!(!message.contains("secret detail"), "{message}");
        assert!(message.contains("error id"), "{message}");
    }
}
