//! Postgres session functions drivers call on connect (`version()`, `current_schema()`,
//! `current_setting()`, ...), registered on every session's DataFusion context.
//!
//! They read the session's identity and parameters, so each session gets its own instances;
//! equality and hashing (which DataFusion requires of UDFs) go by session identity.

use std::sync::Arc;

use datafusion::arrow::datatypes::DataType;
use datafusion::common::ScalarValue;
use datafusion::logical_expr::{ColumnarValue, ScalarUDF, Volatility, create_udf};
use datafusion::prelude::SessionContext;

use crate::pg::functions::config::{ConfigFunc, ConfigKind};
use crate::pg::functions::identity::{IdentityFunc, IdentityKind};
use crate::pg::session::SessionVariables;

mod config;
mod identity;

/// Product and version strings `version()` reports.
#[derive(Debug, Clone)]
pub(crate) struct VersionInfo {
    /// Postgres version we speak, e.g. "15.0".
    pub(crate) server_version: String,
    /// Our product and version, e.g. "RusTs 0.1.0".
    pub(crate) product: String,
}

/// Registers the session functions on `context`, replacing DataFusion's own `version()`.
pub(crate) fn register_session_functions(
    context: &SessionContext,
    variables: &Arc<SessionVariables>,
    version: &VersionInfo,
) {
    let identities = [
        IdentityKind::Version(version.clone()),
        IdentityKind::CurrentDatabase,
        IdentityKind::CurrentSchema,
        IdentityKind::CurrentUser,
        IdentityKind::SessionUser,
        IdentityKind::BackendPid,
    ];
    for kind in identities {
        let function = IdentityFunc::new(kind, Arc::clone(variables));
        context.register_udf(ScalarUDF::new_from_impl(function));
    }
    for kind in [ConfigKind::CurrentSetting, ConfigKind::SetConfig] {
        let function = ConfigFunc::new(kind, Arc::clone(variables));
        context.register_udf(ScalarUDF::new_from_impl(function));
    }
    context.register_udf(advisory_unlock_all());
}

/// `pg_advisory_unlock_all()`: there are no advisory locks, so there is nothing to release.
/// Connection pools (asyncpg's among them) call it when a connection is returned.
fn advisory_unlock_all() -> ScalarUDF {
    create_udf(
        "pg_advisory_unlock_all",
        Vec::new(),
        DataType::Null,
        Volatility::Volatile,
        Arc::new(|_| Ok(ColumnarValue::Scalar(ScalarValue::Null))),
    )
}
