//! Fuzzes the line-protocol parser: any bytes must parse without panicking, every result is
//! consumed, and line numbers rise and stay within the body.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rusts_wire::line_protocol::{FieldValue, parse_lines};

fuzz_target!(|body: &[u8]| {
    let physical_lines = 1 + body.iter().filter(|&&byte| byte == b'\n').count();
    let mut last_line_number = 0;
    parse_lines(body, |line| {
        let line_number = match line {
            Ok(line) => {
                assert!(!line.measurement.is_empty());
                assert!(!line.fields.is_empty());
                for (_, value) in &line.fields {
                    if let FieldValue::Float(value) = value {
                        assert!(value.is_finite());
                    }
                }
                line.line_number
            }
            Err(error) => {
                assert!(error.line.len() <= 256 + "…".len());
                let _message = error.to_string();
                error.line_number
            }
        };
        assert!(line_number > last_line_number && line_number <= physical_lines);
        last_line_number = line_number;
    });
});
