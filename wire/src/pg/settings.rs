//! Per-session run-time parameters (`SET`/`SHOW`/`RESET`), validated as Postgres does.
//!
//! DataFusion has no notion of `DateStyle` or `statement_timeout`, and drivers send these at
//! connect time, so we keep them here. Names match case-insensitively and are shown with the
//! spelling Postgres uses (`TimeZone`, `DateStyle`). Parameters Postgres marks `GUC_REPORT`
//! are announced with a `ParameterStatus` message whenever they change.

use std::collections::BTreeMap;
use std::str::FromStr;
use std::time::Duration;

use datafusion::arrow::array::timezone::Tz;
use pgwire::types::format::FormatOptions;

use crate::pg::error::{Error, Result};
use crate::pg::settings::spec::{SPECS, Spec, find_spec};
use crate::pg::settings::value::parse_milliseconds;

mod spec;
mod value;

/// Parameter status changes to send to the client: `(name, value)`.
pub(crate) type Reports = Vec<(String, String)>;

/// The values of one session's parameters.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    /// Current value by canonical name; holds every entry of `SPECS`.
    values: BTreeMap<&'static str, String>,
    /// Values `RESET` returns to: the spec default, or what the session computed at connect.
    defaults: BTreeMap<&'static str, String>,
}

impl Settings {
    /// Defaults for a session of `user` on a server announcing `server_version` ("15.0").
    pub(crate) fn new(server_version: &str, user: &str) -> Self {
        let mut defaults: BTreeMap<&'static str, String> = SPECS
            .iter()
            .map(|spec| (spec.name, spec.default.to_owned()))
            .collect();
        defaults.insert("server_version", server_version.to_owned());
        defaults.insert(
            "server_version_num",
            version_number(server_version).to_string(),
        );
        defaults.insert("session_authorization", user.to_owned());
        Self {
            values: defaults.clone(),
            defaults,
        }
    }

    /// Current value of `name`.
    pub(crate) fn get(&self, name: &str) -> Result<&str> {
        let spec = find_spec(name)?;
        Ok(self
            .values
            .get(spec.name)
            .map_or(spec.default, String::as_str))
    }

    /// The parameter's display name (`timezone` -> `TimeZone`), for `SHOW` column headers.
    pub(crate) fn display_name(name: &str) -> Result<&'static str> {
        find_spec(name).map(|spec| spec.name)
    }

    /// Validates and stores `value`; returns the change to report, if the client must hear it.
    pub(crate) fn set(&mut self, name: &str, value: &str) -> Result<Option<(String, String)>> {
        let spec = find_spec(name)?;
        let normalize = spec.normalize.ok_or_else(|| Error::ReadOnlySetting {
            name: spec.name.to_owned(),
        })?;
        let current = self.get(spec.name)?.to_owned();
        let normalized = normalize(value, &current)?;
        Ok(self.store(spec, normalized))
    }

    /// Puts `name` back to its session default.
    pub(crate) fn reset(&mut self, name: &str) -> Result<Option<(String, String)>> {
        let spec = find_spec(name)?;
        if spec.normalize.is_none() {
            return Err(Error::ReadOnlySetting {
                name: spec.name.to_owned(),
            });
        }
        let default = self.defaults.get(spec.name).cloned().unwrap_or_default();
        Ok(self.store(spec, default))
    }

    /// `RESET ALL`: every writable parameter back to its default.
    pub(crate) fn reset_all(&mut self) -> Reports {
        SPECS
            .iter()
            .filter(|spec| spec.normalize.is_some())
            .filter_map(|spec| {
                let default = self.defaults.get(spec.name).cloned().unwrap_or_default();
                self.store(spec, default)
            })
            .collect()
    }

    /// Makes the current values the ones `RESET` returns to (startup parameters do this).
    pub(crate) fn commit_as_defaults(&mut self) {
        self.defaults = self.values.clone();
    }

    fn store(&mut self, spec: &'static Spec, value: String) -> Option<(String, String)> {
        let changed = self.values.get(spec.name) != Some(&value);
        self.values.insert(spec.name, value.clone());
        (spec.reported && changed).then(|| (spec.name.to_owned(), value))
    }

    /// The `ParameterStatus` messages a client gets at startup.
    pub(crate) fn reported(&self) -> Reports {
        SPECS
            .iter()
            .filter(|spec| spec.reported)
            .map(|spec| (spec.name.to_owned(), self.values[spec.name].clone()))
            .collect()
    }

    /// Rows of `SHOW ALL`: name, setting, description.
    pub(crate) fn show_all(&self) -> Vec<[String; 3]> {
        SPECS
            .iter()
            .map(|spec| {
                let value = self.values[spec.name].clone();
                [spec.name.to_owned(), value, spec.description.to_owned()]
            })
            .collect()
    }

    /// Session time zone as DataFusion and the encoder take it (`UTC`, `+05:30`, IANA name).
    pub(crate) fn time_zone(&self) -> &str {
        &self.values["TimeZone"]
    }

    /// `statement_timeout`, or `None` when disabled (0).
    pub(crate) fn statement_timeout(&self) -> Option<Duration> {
        let milliseconds = parse_milliseconds(&self.values["statement_timeout"]).unwrap_or(0);
        (milliseconds > 0).then(|| Duration::from_millis(milliseconds))
    }

    /// First schema of `search_path` that is not `$user`: what `current_schema()` returns.
    pub(crate) fn current_schema(&self) -> String {
        self.values["search_path"]
            .split(',')
            .map(|part| part.trim().trim_matches('"'))
            .find(|part| !part.is_empty() && *part != "$user")
            .unwrap_or("public")
            .to_owned()
    }

    /// Text-format options for result encoding (DateStyle, IntervalStyle, TimeZone, ...).
    pub(crate) fn format_options(&self) -> FormatOptions {
        let mut options = FormatOptions::default();
        options.date_style = self.values["DateStyle"].clone();
        options.interval_style = self.values["IntervalStyle"].clone();
        options.bytea_output = self.values["bytea_output"].clone();
        options.time_zone = self.values["TimeZone"].clone();
        options.extra_float_digits = self.values["extra_float_digits"].parse().unwrap_or(1);
        options
    }
}

/// `15.4` -> 150004, as `server_version_num` encodes it (major * 10000 + minor).
fn version_number(server_version: &str) -> u32 {
    let mut parts = server_version
        .split(|c: char| !c.is_ascii_digit())
        .filter(|part| !part.is_empty())
        .map(|part| part.parse::<u32>().unwrap_or(0));
    let major = parts.next().unwrap_or(0);
    let minor = parts.next().unwrap_or(0);
    major.saturating_mul(10_000).saturating_add(minor)
}

/// Checks a time zone name the way the encoder and DataFusion will parse it.
pub(crate) fn is_valid_time_zone(name: &str) -> bool {
    Tz::from_str(name).is_ok()
}

#[cfg(test)]
mod tests;
