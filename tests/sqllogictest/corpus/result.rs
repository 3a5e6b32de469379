//! A query's rows turned into the values the corpus expects, as the original C harness did:
//! each value rendered by its column's type letter, sorted as the record says, and replaced by
//! `N values hashing to <md5>` when there are more values than the hash threshold.

use md5::{Digest, Md5};

use crate::script::Sort;

/// Renders one value (`None` is SQL NULL) as the column's type letter asks.
///
/// - `I`: a 32-bit integer. Integers print as they are; other numbers are truncated toward
///   zero (so `avg()`'s `12.5000` is `12`); booleans are 1 and 0; text that is not a number
///   is 0, as C's `atoi` makes it.
/// - `R`: a number with three decimals (`%.3f`).
/// - `T` (and anything else): the text, with each byte outside printable ASCII as `@`; the
///   empty string is `(empty)`.
pub(crate) fn render(value: Option<&str>, type_letter: char) -> String {
    let Some(text) = value else {
        return "NULL".to_owned();
    };
    match type_letter {
        'I' => integer(text).to_string(),
        'R' => format!("{:.3}", real(text)),
        _ if text.is_empty() => "(empty)".to_owned(),
        _ => text
            .bytes()
            .map(|byte| {
                if (b' '..=b'~').contains(&byte) {
                    char::from(byte)
                } else {
                    '@'
                }
            })
            .collect(),
    }
}

fn integer(text: &str) -> i64 {
    if let Ok(value) = text.parse::<i64>() {
        return value;
    }
    match text {
        "t" | "true" => 1,
        "f" | "false" => 0,
        // `as` saturates, and NaN becomes 0: both what a C cast of a parsed double gives on
        // the values the corpus holds.
        _ => text.parse::<f64>().map_or(0, |value| value.trunc() as i64),
    }
}

fn real(text: &str) -> f64 {
    match text {
        "t" | "true" => 1.0,
        "f" | "false" => 0.0,
        _ => text.parse::<f64>().unwrap_or(0.0),
    }
}

/// The rendered rows as the list of values the record compares, sorted and hashed.
pub(crate) fn values(mut rows: Vec<Vec<String>>, sort: Sort, hash_threshold: usize) -> Vec<String> {
    if sort == Sort::Rows {
        rows.sort();
    }
    let mut values: Vec<String> = rows.into_iter().flatten().collect();
    if sort == Sort::Values {
        values.sort();
    }
    if hash_threshold > 0 && values.len() > hash_threshold {
        let mut hasher = Md5::new();
        for value in &values {
            hasher.update(value.as_bytes());
            hasher.update(b"\n");
        }
        let digest = hasher.finalize();
        let hex: String = digest.iter().map(|byte| format!("{byte:02x}")).collect();
        return vec![format!("{} values hashing to {hex}", values.len())];
    }
    values
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_render_by_type_letter() {
        let cases = [
            (Some("42"), 'I', "42"),
            (Some("-12.5000"), 'I', "-12"),
            (Some("1e3"), 'I', "1000"),
            (Some("t"), 'I', "1"),
            (Some("abc"), 'I', "0"),
            (None, 'I', "NULL"),
            (Some("2"), 'R', "2.000"),
            (Some("-0.33333"), 'R', "-0.333"),
            (Some("12.3456"), 'R', "12.346"),
            (Some(""), 'T', "(empty)"),
            (Some("a\tb"), 'T', "a@b"),
            (Some("é"), 'T', "@@"),
            (Some(""), 'I', "0"),
        ];
        for (value, letter, expected) in cases {
            assert_eq!(render(value, letter), expected, "{value:?} as {letter}");
        }
    }

    #[test]
    fn sorting_and_hashing_follow_the_harness() {
        let rows = vec![
            vec!["2".to_owned(), "a".to_owned()],
            vec!["10".to_owned(), "b".to_owned()],
        ];
        // Rows sort as strings, as the C harness compares them with strcmp.
        assert_eq!(values(rows.clone(), Sort::Rows, 8), ["10", "b", "2", "a"]);
        assert_eq!(values(rows.clone(), Sort::Values, 8), ["10", "2", "a", "b"]);
        assert_eq!(values(rows.clone(), Sort::None, 8), ["2", "a", "10", "b"]);
        // md5("2\na\n10\nb\n"), as `printf '2\na\n10\nb\n' | md5sum` prints it.
        assert_eq!(
            values(rows, Sort::None, 3),
            ["4 values hashing to 312a9b9ebd8d104637476e8bf36a13d5"]
        );
    }
}
