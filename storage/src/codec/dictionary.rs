//! String column codec: a dictionary of the distinct values, then bit-packed indices.
//!
//! Layout: `count: varint`, `entries: varint`, each entry in first-seen order as
//! `length: varint` + UTF-8 bytes, then one bit section with each value's entry index in
//! `ceil(log2(entries))` bits (no bits at all when there is one entry). A column of 8
//! distinct host names costs 3 bits per value plus the dictionary.
//!
//! The decoder checks UTF-8 and index bounds. Decoded strings are copies of their entry, so
//! the output can be far larger than the input (`count` copies of the longest entry); the
//! caller bounds `count` per block.

use std::collections::HashMap;

use super::bits::{BitReader, BitWriter, ByteReader, bit_width, reserve_decoded};
use super::varint::write_varint;
use super::{CodecError, all_or_nothing};
use crate::limits::CODEC_VALUES_MAX;

/// Appends the encoding of `values`.
pub(crate) fn encode<S: AsRef<str>>(values: &[S], out: &mut Vec<u8>) {
    assert!(
        values.len() <= CODEC_VALUES_MAX,
        "a codec stream holds at most CODEC_VALUES_MAX"
    );
    let mut ids: HashMap<&str, u64> = HashMap::new();
    let mut entries: Vec<&str> = Vec::new();
    let indices: Vec<u64> = values
        .iter()
        .map(|value| {
            let value = value.as_ref();
            *ids.entry(value).or_insert_with(|| {
                entries.push(value);
                entries.len() as u64 - 1
            })
        })
        .collect();
    write_varint(out, values.len() as u64);
    write_varint(out, entries.len() as u64);
    for entry in &entries {
        write_varint(out, entry.len() as u64);
        out.extend_from_slice(entry.as_bytes());
    }
    let width = index_width(entries.len());
    let mut bits = BitWriter::new(out);
    for index in indices {
        bits.write_bits(index, width);
    }
    bits.finish();
}

/// Bits per index for a dictionary of `entries` values.
fn index_width(entries: usize) -> u32 {
    bit_width(entries.saturating_sub(1) as u64)
}

/// Decodes strings written by [`encode`] and appends them to `out`.
/// On error `out` is left as it was.
pub(crate) fn decode(input: &[u8], out: &mut Vec<String>) -> Result<(), CodecError> {
    all_or_nothing(out, |out| decode_appending(input, out))
}

fn decode_appending(input: &[u8], out: &mut Vec<String>) -> Result<(), CodecError> {
    let mut input = ByteReader::new(input);
    let count = input.read_count()?;
    let declared = input.read_varint()?;
    let entry_count = usize::try_from(declared)
        .ok()
        .filter(|&entries| entries <= count && (entries > 0 || count == 0))
        .ok_or_else(|| {
            CodecError::invalid(
                "dictionary size",
                format!("{declared} entries for {count} values"),
            )
        })?;
    let entries = read_entries(&mut input, entry_count)?;
    input.bit_section(|bits| read_indices(bits, &entries, count, out))?;
    input.finish()
}

fn read_entries<'a>(
    input: &mut ByteReader<'a>,
    entry_count: usize,
) -> Result<Vec<&'a str>, CodecError> {
    // Each entry takes at least its one-byte length, which bounds the reservation.
    let mut entries = Vec::with_capacity(entry_count.min(input.rest().len()));
    for number in 0..entry_count {
        let length = input.read_varint()?;
        let length = usize::try_from(length).map_err(|_| CodecError::Truncated {
            available: input.rest().len(),
            needed: usize::MAX,
        })?;
        let bytes = input.read_bytes(length)?;
        let entry = std::str::from_utf8(bytes).map_err(|error| {
            CodecError::invalid("dictionary entry", format!("entry {number}: {error}"))
        })?;
        entries.push(entry);
    }
    Ok(entries)
}

fn read_indices(
    bits: &mut BitReader<'_>,
    entries: &[&str],
    count: usize,
    out: &mut Vec<String>,
) -> Result<(), CodecError> {
    let width = index_width(entries.len());
    let width_usize = usize::try_from(width).expect("at most 64");
    reserve_decoded(out, count, bits.remaining_bits(), width_usize);
    for _ in 0..count {
        let index = bits.read_bits(width)?;
        let entry = usize::try_from(index)
            .ok()
            .and_then(|index| entries.get(index));
        let entry = entry.ok_or_else(|| {
            CodecError::invalid("dictionary index", format!("{index} of {}", entries.len()))
        })?;
        out.push((*entry).to_owned());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::test_support::{TestRng, assert_appends, assert_exactly_framed, corrupted};
    use proptest::prelude::*;

    fn encoded(values: &[String]) -> Vec<u8> {
        let mut out = Vec::new();
        encode(values, &mut out);
        assert_exactly_framed(&out, decode, |a, b| a == b, values);
        out
    }

    fn strings(values: &[&str]) -> Vec<String> {
        values.iter().map(|value| (*value).to_owned()).collect()
    }

    #[test]
    fn exact_sizes() {
        // (values, encoded bytes)
        let cases: [(&[&str], usize); 5] = [
            (&[], 2),
            (&[""], 3),
            (&["a", "a", "a"], 2 + 2),
            (&["a", "b", "a", "b"], 2 + 4 + 1),
            (&["é", "x", "é", "y", "z"], 2 + 3 + 2 + 2 + 2 + 2),
        ];
        for (values, len) in cases {
            assert_eq!(encoded(&strings(values)).len(), len, "{values:?}");
        }
    }

    #[test]
    fn repetitive_column_compresses() {
        let hosts: Vec<String> = (0..8).map(|i| format!("server-{i:02}.eu-west-1")).collect();
        let mut rng = TestRng::new(11);
        let values: Vec<String> = (0..4096)
            .map(|_| hosts[usize::try_from(rng.next_u64() % 8).unwrap()].clone())
            .collect();
        let raw: usize = values.iter().map(String::len).sum();
        let bytes = encoded(&values).len();
        println!(
            "dictionary, 8 hosts: {:.3} bytes/value, {:.1}x vs raw",
            bytes as f64 / 4096.0,
            raw as f64 / bytes as f64
        );
        assert!(raw / bytes >= 10, "{raw} raw, {bytes} encoded");
    }

    #[test]
    fn rejects_bad_input() {
        let cases: [(&[u8], &str); 4] = [
            (&[1, 0], "invalid dictionary size: 0 entries for 1 values"),
            (&[1, 2], "invalid dictionary size: 2 entries for 1 values"),
            (
                &[1, 1, 2, 0xc3, 0x28],
                "invalid dictionary entry: entry 0: invalid utf-8 sequence of 1 bytes from index 0",
            ),
            (&[2, 2, 1], "input ends after 3 bytes, 1 more needed"),
        ];
        for (input, message) in cases {
            let err = decode(input, &mut Vec::new()).unwrap_err();
            assert_eq!(err.to_string(), message, "{input:?}");
        }
        // Two-bit indices 2 (valid) then 3 (past the three entries).
        let input = [3, 3, 1, b'a', 1, b'b', 1, b'c', 0b1011_0000];
        assert_eq!(
            decode(&input, &mut Vec::new()).unwrap_err().to_string(),
            "invalid dictionary index: 3 of 3"
        );
        assert_appends(&encoded(&strings(&["x"])), decode, String::from("kept"));
    }

    proptest! {
        #[test]
        fn round_trips_exactly_framed(
            values in prop::collection::vec(prop_oneof!["[a-c]{0,2}", any::<String>()], 0..40)
        ) {
            encoded(&values);
        }

        #[test]
        fn corrupted_encodings_never_panic(
            values in prop::collection::vec("[a-c]{0,2}", 0..40),
            position in any::<usize>(),
            byte in any::<u8>(),
        ) {
            let mut encoded = Vec::new();
            encode(&values, &mut encoded);
            let _ = decode(&corrupted(&encoded, position, byte), &mut Vec::new());
        }

        #[test]
        fn garbage_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..64)) {
            let _ = decode(&bytes, &mut Vec::new());
        }
    }
}
