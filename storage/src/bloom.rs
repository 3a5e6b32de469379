//! Bloom filter with double hashing, `h(i) = h1 + i·h2` (Kirsch and Mitzenmacher), at about
//! 10 bits per item and 7 probes, which gives about 1 % false positives. Every segment carries
//! one over its series ids and its `measurement, tag key, tag value` triples, so a scan can
//! skip a partition's segments that cannot hold the series or tag values it asks for.

use crate::binary::{ByteReader, ByteWriter, DecodeError, DecodeResult};

/// Bits per item: 10 bits give ~0.8 % false positives with 7 probes.
const BITS_PER_ITEM: u64 = 10;
/// Probes per item: round(BITS_PER_ITEM · ln 2).
const PROBES: u32 = 7;
/// Largest filter a reader accepts (in 64-bit words): 1 GiB of bits.
const WORDS_MAX: usize = 1 << 27;

/// A fixed-size bloom filter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BloomFilter {
    words: Vec<u64>,
    probes: u32,
}

impl BloomFilter {
    /// A filter sized for `items` items.
    pub(crate) fn with_capacity(items: usize) -> Self {
        let bits = (items.max(1) as u64).saturating_mul(BITS_PER_ITEM);
        let words = usize::try_from(bits.div_ceil(64)).expect("filter size fits memory");
        Self {
            words: vec![0; words.min(WORDS_MAX)],
            probes: PROBES,
        }
    }

    fn positions(&self, item: &[u8]) -> impl Iterator<Item = (usize, u64)> + use<> {
        let hash = xxhash_rust::xxh3::xxh3_128(item);
        let bytes = hash.to_le_bytes();
        let (low, high) = bytes.split_at(8);
        let first = u64::from_le_bytes(low.try_into().expect("8 bytes"));
        // An odd step visits distinct positions modulo a power of two and never stalls at 0.
        let step = u64::from_le_bytes(high.try_into().expect("8 bytes")) | 1;
        let bits = self.words.len() as u64 * 64;
        (0..u64::from(self.probes)).map(move |i| {
            let bit = first.wrapping_add(i.wrapping_mul(step)) % bits;
            let word = usize::try_from(bit / 64).expect("bit index below words.len() * 64");
            (word, 1u64 << (bit % 64))
        })
    }

    pub(crate) fn insert(&mut self, item: &[u8]) {
        for (word, mask) in self.positions(item) {
            if let Some(slot) = self.words.get_mut(word) {
                *slot |= mask;
            }
        }
    }

    /// False means `item` was certainly never inserted.
    pub(crate) fn may_contain(&self, item: &[u8]) -> bool {
        self.positions(item)
            .all(|(word, mask)| self.words.get(word).is_some_and(|slot| slot & mask != 0))
    }

    pub(crate) fn write(&self, writer: &mut ByteWriter) {
        writer.u32(self.probes);
        writer.len_var(self.words.len());
        for word in &self.words {
            writer.u64(*word);
        }
    }

    pub(crate) fn read(reader: &mut ByteReader<'_>) -> DecodeResult<Self> {
        let probes = reader.u32()?;
        if probes == 0 || probes > 32 {
            return Err(DecodeError(format!("bloom filter with {probes} probes")));
        }
        let count = reader.len_var(8)?;
        if count == 0 || count > WORDS_MAX {
            return Err(DecodeError(format!("bloom filter with {count} words")));
        }
        let words = (0..count)
            .map(|_| reader.u64())
            .collect::<DecodeResult<Vec<_>>>()?;
        Ok(Self { words, probes })
    }
}

/// The bytes a series id is inserted as.
pub(crate) fn series_item(id: u64) -> [u8; 9] {
    let mut item = [0u8; 9];
    item[0] = b's';
    item[1..].copy_from_slice(&id.to_le_bytes());
    item
}

/// The bytes a measurement's tag pair is inserted as (length-prefixed, so unambiguous).
pub(crate) fn tag_item(measurement: &str, key: &str, value: &str) -> Vec<u8> {
    let mut writer = ByteWriter::new();
    writer.u8(b't');
    writer.str(measurement);
    writer.str(key);
    writer.str(value);
    writer.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_false_negatives_and_about_one_percent_false_positives() {
        let items = 100_000u64;
        let mut filter = BloomFilter::with_capacity(items as usize);
        for id in 0..items {
            filter.insert(&series_item(id));
        }
        assert!((0..items).all(|id| filter.may_contain(&series_item(id))));
        let probes = 200_000u64;
        let false_positives = (items..items + probes)
            .filter(|id| filter.may_contain(&series_item(*id)))
            .count();
        let rate = false_positives as f64 / probes as f64;
        println!(
            "bloom false-positive rate at 10 bits/item: {:.3}%",
            rate * 100.0
        );
        assert!(rate < 0.015, "false-positive rate {rate}");
        assert!(
            rate > 0.002,
            "suspiciously low rate {rate}: is the filter oversized?"
        );
    }

    #[test]
    fn round_trips_and_refuses_garbage() {
        let mut filter = BloomFilter::with_capacity(10);
        filter.insert(&tag_item("cpu", "host", "a"));
        let mut writer = ByteWriter::new();
        filter.write(&mut writer);
        let bytes = writer.into_bytes();
        let decoded = BloomFilter::read(&mut ByteReader::new(&bytes)).unwrap();
        assert_eq!(decoded, filter);
        assert!(decoded.may_contain(&tag_item("cpu", "host", "a")));
        for cut in 0..bytes.len() {
            assert!(BloomFilter::read(&mut ByteReader::new(&bytes[..cut])).is_err());
        }
        assert!(BloomFilter::read(&mut ByteReader::new(&[0, 0, 0, 0, 1])).is_err());
    }
}
