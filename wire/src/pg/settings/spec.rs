//! The table of run-time parameters: names, defaults, validation, and which are reported.

use crate::pg::error::{Error, Result};
use crate::pg::settings::value::{
    any_text, application_name, normalize_bytea_output, normalize_client_encoding,
    normalize_date_style, normalize_extra_float_digits, normalize_interval_style, normalize_on,
    normalize_time_zone, statement_timeout,
};

/// How a parameter's new value is checked; `None` means read-only.
pub(super) type Normalizer = Option<fn(&str, &str) -> Result<String>>;

/// One run-time parameter.
pub(super) struct Spec {
    /// Spelling shown by `SHOW ALL` and in `ParameterStatus`.
    pub(super) name: &'static str,
    /// Default, unless the session computes one at connect time.
    pub(super) default: &'static str,
    pub(super) normalize: Normalizer,
    /// Postgres sends `ParameterStatus` for it (`GUC_REPORT`).
    pub(super) reported: bool,
    pub(super) description: &'static str,
}

const fn spec(
    name: &'static str,
    default: &'static str,
    normalize: Normalizer,
    reported: bool,
    description: &'static str,
) -> Spec {
    Spec {
        name,
        default,
        normalize,
        reported,
        description,
    }
}

/// Every parameter a session knows. Unknown names are an error (42704), as in Postgres.
/// Columns: name, default, validation (`None`: read-only), reported, description.
#[rustfmt::skip]
pub(super) const SPECS: &[Spec] = &[
    spec("application_name", "", Some(application_name), true, "Sets the application name."),
    spec("bytea_output", "hex", Some(normalize_bytea_output), false, "Output format for bytea."),
    spec("client_encoding", "UTF8", Some(normalize_client_encoding), true, "Client encoding."),
    spec("DateStyle", "ISO, MDY", Some(normalize_date_style), true, "Date display format."),
    spec("default_transaction_isolation", "read committed", None, false, "Isolation level."),
    spec("default_transaction_read_only", "off", None, true, "New transactions read-only."),
    spec("extra_float_digits", "1", Some(normalize_extra_float_digits), false, "Float digits."),
    spec("in_hot_standby", "off", None, true, "Whether hot standby is active."),
    spec("integer_datetimes", "on", None, true, "Datetimes are integer based."),
    spec("IntervalStyle", "postgres", Some(normalize_interval_style), true, "Interval format."),
    spec("is_superuser", "on", None, true, "Whether the user is a superuser."),
    spec("max_identifier_length", "63", None, false, "Longest identifier, in bytes."),
    spec("search_path", "\"$user\", public", Some(any_text), true, "Schema search order."),
    spec("server_encoding", "UTF8", None, true, "Server character set."),
    spec("server_version", "", None, true, "Server version."),
    spec("server_version_num", "", None, false, "Server version as an integer."),
    spec("session_authorization", "", None, true, "Session user name."),
    spec("standard_conforming_strings", "on", Some(normalize_on), true, "'...' is literal."),
    spec("statement_timeout", "0", Some(statement_timeout), false, "Statement time limit."),
    spec("TimeZone", "UTC", Some(normalize_time_zone), true, "Time zone for timestamps."),
    spec("transaction_isolation", "read committed", None, false, "Current isolation level."),
    spec("transaction_read_only", "off", None, false, "Current transaction read-only."),
];

/// Multi-word names `SHOW` accepts, mapped to the parameter they show.
const ALIASES: &[(&str, &str)] = &[
    ("time zone", "TimeZone"),
    ("transaction isolation level", "transaction_isolation"),
    ("session authorization", "session_authorization"),
];

pub(super) fn find_spec(name: &str) -> Result<&'static Spec> {
    let name = name.trim();
    let canonical = ALIASES
        .iter()
        .find(|(alias, _)| alias.eq_ignore_ascii_case(name))
        .map_or(name, |(_, target)| target);
    SPECS
        .iter()
        .find(|spec| spec.name.eq_ignore_ascii_case(canonical))
        .ok_or_else(|| Error::UnknownSetting {
            name: name.to_owned(),
        })
}
