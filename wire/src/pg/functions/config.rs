//! `current_setting(name [, missing_ok])` and `set_config(name, value, is_local)`: the
//! function forms of `SHOW` and `SET`, which pgjdbc and Npgsql call on connect.
//!
//! `set_config` with `is_local = true` applies for the rest of the session, not only the
//! transaction: transactions here do not roll back, so there is no end to scope it to.

use std::hash::{Hash, Hasher};
use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, StringBuilder};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::DataType;
use datafusion::common::{DataFusionError, Result as DataFusionResult};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDFImpl, Signature, TypeSignature, Volatility,
};

use crate::pg::session::SessionVariables;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) enum ConfigKind {
    CurrentSetting,
    SetConfig,
}

/// `current_setting` or `set_config`, bound to a session's parameters.
#[derive(Debug)]
pub(super) struct ConfigFunc {
    kind: ConfigKind,
    signature: Signature,
    variables: Arc<SessionVariables>,
}

impl ConfigFunc {
    pub(super) fn new(kind: ConfigKind, variables: Arc<SessionVariables>) -> Self {
        // Arguments are cast to text/bool inside, so any argument types are accepted here.
        let signature = match kind {
            ConfigKind::CurrentSetting => Signature::one_of(
                vec![TypeSignature::Any(1), TypeSignature::Any(2)],
                Volatility::Stable,
            ),
            ConfigKind::SetConfig => Signature::any(3, Volatility::Volatile),
        };
        Self {
            kind,
            signature,
            variables,
        }
    }

    /// One row: `current_setting` returns `None` for an unknown name when `missing_ok`.
    fn row(
        &self,
        name: &str,
        second: Option<&str>,
        missing_ok: bool,
    ) -> crate::pg::error::Result<Option<String>> {
        match self.kind {
            ConfigKind::CurrentSetting => match self.variables.settings().get(name) {
                Ok(value) => Ok(Some(value.to_owned())),
                Err(_) if missing_ok => Ok(None),
                Err(error) => Err(error),
            },
            ConfigKind::SetConfig => {
                self.variables.set(name, second.unwrap_or_default())?;
                Ok(Some(self.variables.settings().get(name)?.to_owned()))
            }
        }
    }
}

impl PartialEq for ConfigFunc {
    fn eq(&self, other: &Self) -> bool {
        self.kind == other.kind && Arc::ptr_eq(&self.variables, &other.variables)
    }
}

impl Eq for ConfigFunc {}

impl Hash for ConfigFunc {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.kind.hash(state);
        Arc::as_ptr(&self.variables).hash(state);
    }
}

/// Argument `index` as an array of `rows` values of `data_type`.
fn argument(
    args: &ScalarFunctionArgs,
    index: usize,
    data_type: &DataType,
) -> DataFusionResult<Option<ArrayRef>> {
    args.args
        .get(index)
        .map(|value| -> DataFusionResult<ArrayRef> {
            Ok(cast(&value.to_array(args.number_rows)?, data_type)?)
        })
        .transpose()
}

impl ScalarUDFImpl for ConfigFunc {
    fn name(&self) -> &str {
        match self.kind {
            ConfigKind::CurrentSetting => "current_setting",
            ConfigKind::SetConfig => "set_config",
        }
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> DataFusionResult<DataType> {
        Ok(DataType::Utf8)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> DataFusionResult<ColumnarValue> {
        let names = argument(&args, 0, &DataType::Utf8)?;
        let names = names.as_ref().map(|array| array.as_string::<i32>());
        let (values, flags) = match self.kind {
            ConfigKind::CurrentSetting => (None, argument(&args, 1, &DataType::Boolean)?),
            ConfigKind::SetConfig => (argument(&args, 1, &DataType::Utf8)?, None),
        };
        let values = values.as_ref().map(|array| array.as_string::<i32>());
        let flags = flags.as_ref().map(|array| array.as_boolean());
        let mut output = StringBuilder::with_capacity(args.number_rows, 16 * args.number_rows);
        for row in 0..args.number_rows {
            let name = names
                .filter(|array| array.is_valid(row))
                .map(|array| array.value(row));
            let Some(name) = name else {
                output.append_null();
                continue;
            };
            let second = values
                .filter(|array| array.is_valid(row))
                .map(|array| array.value(row));
            let missing_ok = flags.is_some_and(|array| array.is_valid(row) && array.value(row));
            let value = self
                .row(name, second, missing_ok)
                .map_err(|error| DataFusionError::External(Box::new(error)))?;
            output.append_option(value);
        }
        Ok(ColumnarValue::Array(Arc::new(output.finish())))
    }
}
