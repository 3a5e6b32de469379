//! Zero-argument functions answering who and where the session is: `version()`,
//! `current_database()`, `current_schema()`, `current_user`, `session_user`,
//! `pg_backend_pid()`.

use std::hash::{Hash, Hasher};
use std::sync::Arc;

use datafusion::arrow::datatypes::DataType;
use datafusion::common::{Result as DataFusionResult, ScalarValue};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility,
};

use crate::pg::functions::VersionInfo;
use crate::pg::session::SessionVariables;

/// Which identity value the function returns.
#[derive(Debug, Clone)]
pub(super) enum IdentityKind {
    Version(VersionInfo),
    CurrentDatabase,
    CurrentSchema,
    CurrentUser,
    SessionUser,
    BackendPid,
}

/// One of the identity functions, bound to a session.
#[derive(Debug)]
pub(super) struct IdentityFunc {
    kind: IdentityKind,
    aliases: Vec<String>,
    signature: Signature,
    variables: Arc<SessionVariables>,
}

impl IdentityFunc {
    pub(super) fn new(kind: IdentityKind, variables: Arc<SessionVariables>) -> Self {
        // `current_catalog` is the SQL-standard spelling of `current_database()`.
        let aliases = match kind {
            IdentityKind::CurrentDatabase => vec!["current_catalog".to_owned()],
            _ => Vec::new(),
        };
        // Stable, not immutable: the value belongs to the session (current_schema follows
        // `SET search_path`), so it must not be folded into a cached plan.
        let signature = Signature::nullary(Volatility::Stable);
        Self {
            kind,
            aliases,
            signature,
            variables,
        }
    }

    fn value(&self) -> ScalarValue {
        let identity = &self.variables.identity;
        let text = match &self.kind {
            IdentityKind::Version(version) => format!(
                "PostgreSQL {} ({}) on {}-{}, 64-bit",
                version.server_version,
                version.product,
                std::env::consts::ARCH,
                std::env::consts::OS
            ),
            IdentityKind::CurrentDatabase => identity.database.clone(),
            IdentityKind::CurrentSchema => self.variables.settings().current_schema(),
            IdentityKind::CurrentUser | IdentityKind::SessionUser => identity.user.clone(),
            IdentityKind::BackendPid => return ScalarValue::Int32(Some(identity.pid)),
        };
        ScalarValue::Utf8(Some(text))
    }
}

impl PartialEq for IdentityFunc {
    fn eq(&self, other: &Self) -> bool {
        self.name() == other.name() && Arc::ptr_eq(&self.variables, &other.variables)
    }
}

impl Eq for IdentityFunc {}

impl Hash for IdentityFunc {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.name().hash(state);
        Arc::as_ptr(&self.variables).hash(state);
    }
}

impl ScalarUDFImpl for IdentityFunc {
    fn name(&self) -> &str {
        match self.kind {
            IdentityKind::Version(_) => "version",
            IdentityKind::CurrentDatabase => "current_database",
            IdentityKind::CurrentSchema => "current_schema",
            IdentityKind::CurrentUser => "current_user",
            IdentityKind::SessionUser => "session_user",
            IdentityKind::BackendPid => "pg_backend_pid",
        }
    }

    fn aliases(&self) -> &[String] {
        &self.aliases
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> DataFusionResult<DataType> {
        Ok(match self.kind {
            IdentityKind::BackendPid => DataType::Int32,
            _ => DataType::Utf8,
        })
    }

    fn invoke_with_args(&self, _args: ScalarFunctionArgs) -> DataFusionResult<ColumnarValue> {
        Ok(ColumnarValue::Scalar(self.value()))
    }
}
