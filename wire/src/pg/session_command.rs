//! Statements answered by the session itself, before DataFusion sees them: `SET`, `SHOW`,
//! `RESET`, transaction control, `DISCARD`, `DEALLOCATE`, `CLOSE ALL`, `UNLISTEN`.
//!
//! DataFusion has no Postgres parameters and no transactions. Drivers send these on every
//! connect (`SET extra_float_digits = 3`, `SHOW transaction isolation level`, `BEGIN`), so
//! they must succeed here with the tags Postgres gives them.

use std::sync::Arc;

use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::sql::parser::{ResetStatement, Statement as DFStatement};
use datafusion::sql::sqlparser::ast::{
    CloseCursor, DiscardObject, Expr, ObjectName, Reset, Set, Statement, UnaryOperator, Value,
};

use crate::pg::error::{Error, Result};

/// A statement the session runs without DataFusion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum SessionCommand {
    /// `SET name = value`; `None` is `DEFAULT`.
    Set {
        name: String,
        value: Option<String>,
    },
    /// `SET TRANSACTION ...` / `SET SESSION CHARACTERISTICS ...`: accepted, nothing to change
    /// (every statement is its own atomic write; isolation is read committed at best).
    SetTransaction,
    Show {
        name: String,
    },
    ShowAll,
    Reset {
        name: String,
    },
    ResetAll,
    Begin,
    Commit,
    Rollback,
    /// `DISCARD ALL` (`all` true) or `DISCARD PLANS|SEQUENCES|TEMP`, which have nothing here.
    Discard {
        all: bool,
    },
    /// `DEALLOCATE [PREPARE] name`; `None` is `ALL`.
    Deallocate {
        name: Option<String>,
    },
    /// `CLOSE ALL` (connection pools send it on release). There are no SQL cursors, so it
    /// closes nothing; `CLOSE name` is refused as naming an unknown cursor.
    CloseAll,
    /// `UNLISTEN *` or `UNLISTEN channel`: there are no notification channels, so nothing
    /// to stop listening to (pools send `UNLISTEN *` on release).
    Unlisten,
}

impl SessionCommand {
    /// The session command `statement` is, or `None` when DataFusion should run it.
    pub(crate) fn from_statement(statement: &DFStatement) -> Result<Option<Self>> {
        let statement = match statement {
            DFStatement::Reset(ResetStatement::Variable(name)) => {
                return Ok(Some(reset_command(&object_name(name))));
            }
            DFStatement::Statement(statement) => statement.as_ref(),
            _ => return Ok(None),
        };
        let command = match statement {
            Statement::Set(set) => return set_command(set).map(Some),
            Statement::ShowVariable { variable } => {
                let name = variable
                    .iter()
                    .map(|ident| ident.value.as_str())
                    .collect::<Vec<_>>();
                let name = name.join(" ");
                if name.eq_ignore_ascii_case("all") {
                    Self::ShowAll
                } else {
                    Self::Show { name }
                }
            }
            Statement::Reset(reset) => match &reset.reset {
                Reset::ALL => Self::ResetAll,
                Reset::ConfigurationParameter(name) => reset_command(&object_name(name)),
            },
            Statement::StartTransaction { .. } => Self::Begin,
            Statement::Commit { .. } => Self::Commit,
            Statement::Rollback {
                savepoint: None, ..
            } => Self::Rollback,
            Statement::Rollback {
                savepoint: Some(_), ..
            } => {
                return Err(Error::NotSupported {
                    what: "ROLLBACK TO SAVEPOINT".to_owned(),
                });
            }
            Statement::Discard { object_type } => Self::Discard {
                all: matches!(object_type, DiscardObject::ALL),
            },
            Statement::Deallocate { name, .. } => {
                let all = name.quote_style.is_none() && name.value.eq_ignore_ascii_case("all");
                Self::Deallocate {
                    name: (!all).then(|| name.value.clone()),
                }
            }
            Statement::Close { cursor } => match cursor {
                CloseCursor::All => Self::CloseAll,
                CloseCursor::Specific { name } => {
                    return Err(Error::UnknownCursor {
                        name: name.value.clone(),
                    });
                }
            },
            Statement::UNLISTEN { .. } => Self::Unlisten,
            _ => return Ok(None),
        };
        Ok(Some(command))
    }

    /// Columns the command returns: one text column for `SHOW`, none for the rest.
    pub(crate) fn columns(&self) -> Result<Option<SchemaRef>> {
        let names: Vec<&str> = match self {
            Self::Show { name } => {
                vec![crate::pg::settings::Settings::display_name(name)?]
            }
            Self::ShowAll => vec!["name", "setting", "description"],
            _ => return Ok(None),
        };
        // `SHOW` names its column after the parameter in lower case, as Postgres does.
        let fields = names
            .into_iter()
            .map(|name| Field::new(name.to_ascii_lowercase(), DataType::Utf8, true))
            .collect::<Vec<_>>();
        Ok(Some(Arc::new(Schema::new(fields))))
    }

    /// The `CommandComplete` tag for commands that return no rows.
    pub(crate) fn tag(&self) -> &'static str {
        match self {
            Self::Set { .. } | Self::SetTransaction => "SET",
            Self::Show { .. } | Self::ShowAll => "SHOW",
            Self::Reset { .. } | Self::ResetAll => "RESET",
            Self::Begin => "BEGIN",
            Self::Commit => "COMMIT",
            Self::Rollback => "ROLLBACK",
            Self::Discard { all: true } => "DISCARD ALL",
            Self::Discard { all: false } => "DISCARD",
            Self::Deallocate { name: Some(_) } => "DEALLOCATE",
            Self::Deallocate { name: None } => "DEALLOCATE ALL",
            Self::CloseAll => "CLOSE CURSOR ALL",
            Self::Unlisten => "UNLISTEN",
        }
    }
}

fn reset_command(name: &str) -> SessionCommand {
    if name.eq_ignore_ascii_case("all") {
        SessionCommand::ResetAll
    } else {
        SessionCommand::Reset {
            name: name.to_owned(),
        }
    }
}

fn object_name(name: &ObjectName) -> String {
    name.0
        .iter()
        .filter_map(|part| part.as_ident().map(|ident| ident.value.clone()))
        .collect::<Vec<_>>()
        .join(".")
}

fn set_command(set: &Set) -> Result<SessionCommand> {
    match set {
        Set::SingleAssignment {
            variable, values, ..
        } => {
            let value = set_value(values)?;
            Ok(SessionCommand::Set {
                name: object_name(variable),
                value,
            })
        }
        Set::SetTimeZone { value, .. } => Ok(SessionCommand::Set {
            name: "TimeZone".to_owned(),
            value: set_value(std::slice::from_ref(value))?,
        }),
        Set::SetNames { charset_name, .. } => Ok(SessionCommand::Set {
            name: "client_encoding".to_owned(),
            value: Some(charset_name.value.clone()),
        }),
        Set::SetTransaction { .. } => Ok(SessionCommand::SetTransaction),
        other => Err(Error::NotSupported {
            what: format!("{other}"),
        }),
    }
}

/// The text of a `SET` right-hand side: `'UTC'`, `UTC`, `5`, `-7`, `a, b` (lists, as in
/// `search_path`), or `None` for `DEFAULT`.
fn set_value(values: &[Expr]) -> Result<Option<String>> {
    let mut parts = Vec::with_capacity(values.len());
    for value in values {
        let text = match value {
            Expr::Identifier(ident) if ident.quote_style.is_none() => {
                if values.len() == 1 && ident.value.eq_ignore_ascii_case("default") {
                    return Ok(None);
                }
                ident.value.clone()
            }
            Expr::Identifier(ident) => ident.value.clone(),
            Expr::Value(value) => literal_text(&value.value)?,
            Expr::UnaryOp {
                op: UnaryOperator::Minus,
                expr,
            } => match expr.as_ref() {
                Expr::Value(value) => format!("-{}", literal_text(&value.value)?),
                other => return Err(unsupported_value(other)),
            },
            Expr::CompoundIdentifier(parts) => parts
                .iter()
                .map(|ident| ident.value.as_str())
                .collect::<Vec<_>>()
                .join("."),
            other => return Err(unsupported_value(other)),
        };
        parts.push(text);
    }
    Ok(Some(parts.join(", ")))
}

fn literal_text(value: &Value) -> Result<String> {
    match value {
        Value::SingleQuotedString(text)
        | Value::DoubleQuotedString(text)
        | Value::EscapedStringLiteral(text) => Ok(text.clone()),
        Value::Number(number, _) => Ok(number.clone()),
        Value::Boolean(flag) => Ok(if *flag { "on" } else { "off" }.to_owned()),
        other => Err(Error::NotSupported {
            what: format!("SET value {other}"),
        }),
    }
}

fn unsupported_value(expr: &Expr) -> Error {
    Error::NotSupported {
        what: format!("SET value {expr}"),
    }
}

mod run;

pub(crate) use run::{PreparedStore, run_session_command};

#[cfg(test)]
mod tests;
