//! Series identity. A series is a measurement and its tag set; its [`SeriesId`] is a 64-bit
//! hash of the measurement and the tags **sorted by key**, so the id does not depend on the
//! order a writer lists tags in.
//!
//! Hashes can collide. The [`SeriesIndex`] is the authority on which key owns which id: when a
//! new key hashes onto an id that another key already owns, it re-hashes with the next seed
//! until it finds a free id, so two series never share an id and never merge. Ids are
//! persisted (the series log and WAL records carry the assignment), so a restart keeps them.
//!
//! Inside the process each series also gets a dense `u32` ordinal, used by the roaring bitmaps
//! of the tag index; ordinals are not persisted.

use hashbrown::HashMap;
use std::fmt;
use std::sync::Arc;

use crate::binary::{ByteReader, ByteWriter, DecodeResult};

/// The 64-bit identity of a series, stable across restarts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SeriesId(pub u64);

impl fmt::Display for SeriesId {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "{:016x}", self.0)
    }
}

/// Dense in-process number of a series, the bit position in tag-index bitmaps.
pub(crate) type SeriesOrdinal = u32;

/// A measurement and its tags, sorted by key.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SeriesKey {
    /// The measurement.
    pub measurement: String,
    /// Tag pairs sorted by key; keys are unique.
    pub tags: Vec<(String, String)>,
}

impl SeriesKey {
    /// Builds a key, sorting the tags by key.
    pub fn new(measurement: &str, tags: &[(String, String)]) -> Self {
        let mut tags = tags.to_vec();
        tags.sort_by(|left, right| left.0.cmp(&right.0));
        Self {
            measurement: measurement.to_owned(),
            tags,
        }
    }

    /// The value of tag `key`, if the series has it.
    pub fn tag(&self, key: &str) -> Option<&str> {
        let position = self
            .tags
            .binary_search_by(|(probe, _)| probe.as_str().cmp(key))
            .ok()?;
        self.tags.get(position).map(|(_, value)| value.as_str())
    }

    /// Canonical bytes: length-prefixed measurement, then each tag key and value, so no two
    /// keys share an encoding whatever bytes their names contain.
    pub(crate) fn canonical_bytes(&self) -> Vec<u8> {
        let mut writer = ByteWriter::new();
        self.write(&mut writer);
        writer.into_bytes()
    }

    pub(crate) fn write(&self, writer: &mut ByteWriter) {
        writer.str(&self.measurement);
        writer.len_var(self.tags.len());
        for (key, value) in &self.tags {
            writer.str(key);
            writer.str(value);
        }
    }

    pub(crate) fn read(reader: &mut ByteReader<'_>) -> DecodeResult<Self> {
        let measurement = reader.string()?;
        let count = reader.len_var(2)?;
        let mut tags = Vec::with_capacity(count);
        for _ in 0..count {
            tags.push((reader.string()?, reader.string()?));
        }
        Ok(Self { measurement, tags })
    }
}

/// The hash behind series ids: `seed` 0 gives the id, later seeds resolve collisions.
pub(crate) type SeriesHasher = fn(bytes: &[u8], seed: u64) -> u64;

fn xxh3_hasher(bytes: &[u8], seed: u64) -> u64 {
    xxhash_rust::xxh3::xxh3_64_with_seed(bytes, seed)
}

/// One known series.
#[derive(Debug, Clone)]
pub(crate) struct SeriesEntry {
    pub(crate) id: SeriesId,
    pub(crate) key: Arc<SeriesKey>,
}

/// A series key borrowed from a write, tags sorted by key. It hashes exactly as the
/// [`SeriesKey`] it equals (the derived `Hash` of `String`, `Vec` and tuples defers to
/// `str`, slices and tuples of `&str`), so the index finds a series without allocating.
#[derive(Debug, Hash)]
pub(crate) struct SeriesKeyRef<'a> {
    measurement: &'a str,
    tags: &'a [(&'a str, &'a str)],
}

impl<'a> SeriesKeyRef<'a> {
    /// `tags` must be sorted by key (the caller sorts them in a buffer it reuses).
    pub(crate) fn new(measurement: &'a str, tags: &'a [(&'a str, &'a str)]) -> Self {
        debug_assert!(tags.windows(2).all(|pair| pair.first() <= pair.get(1)));
        Self { measurement, tags }
    }

    pub(crate) fn to_owned_key(&self) -> SeriesKey {
        SeriesKey {
            measurement: self.measurement.to_owned(),
            tags: self
                .tags
                .iter()
                .map(|(key, value)| ((*key).to_owned(), (*value).to_owned()))
                .collect(),
        }
    }
}

impl hashbrown::Equivalent<Arc<SeriesKey>> for SeriesKeyRef<'_> {
    fn equivalent(&self, key: &Arc<SeriesKey>) -> bool {
        key.measurement == self.measurement
            && key.tags.len() == self.tags.len()
            && key
                .tags
                .iter()
                .zip(self.tags)
                .all(|((key, value), (other_key, other_value))| {
                    key == other_key && value == other_value
                })
    }
}

/// Why a series could not be registered with a given id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SeriesConflict {
    pub(crate) id: SeriesId,
    pub(crate) existing: SeriesKey,
    pub(crate) offered: SeriesKey,
}

/// Series key ↔ id ↔ ordinal.
#[derive(Debug)]
pub(crate) struct SeriesIndex {
    entries: Vec<SeriesEntry>,
    by_key: HashMap<Arc<SeriesKey>, SeriesOrdinal>,
    by_id: HashMap<SeriesId, SeriesOrdinal>,
    hasher: SeriesHasher,
    collisions_resolved: u64,
    /// Entries removed by `remove` (their slots stay, so ordinals never move).
    removed: usize,
}

impl Default for SeriesIndex {
    fn default() -> Self {
        Self::with_hasher(xxh3_hasher)
    }
}

impl SeriesIndex {
    /// An index whose ids come from `hasher` (tests force collisions with it).
    pub(crate) fn with_hasher(hasher: SeriesHasher) -> Self {
        Self {
            entries: Vec::new(),
            by_key: HashMap::new(),
            by_id: HashMap::new(),
            hasher,
            collisions_resolved: 0,
            removed: 0,
        }
    }

    /// Live series (removed ones not counted).
    pub(crate) fn len(&self) -> usize {
        self.entries.len() - self.removed
    }

    /// Forgets a series (its measurement was dropped): its key and id resolve no more, so
    /// writing the key again creates it anew. The ordinal is not reused. Returns the ordinal.
    pub(crate) fn remove(&mut self, id: SeriesId) -> Option<SeriesOrdinal> {
        let ordinal = self.by_id.remove(&id)?;
        let entry = self.entry(ordinal).expect("by_id points at an entry");
        let key = Arc::clone(&entry.key);
        self.by_key.remove(&key);
        self.removed += 1;
        Some(ordinal)
    }

    /// Every live series, in ordinal order.
    pub(crate) fn live(&self) -> Vec<(SeriesId, Arc<SeriesKey>)> {
        let mut ordinals: Vec<SeriesOrdinal> = self.by_id.values().copied().collect();
        ordinals.sort_unstable();
        ordinals
            .into_iter()
            .filter_map(|ordinal| self.entry(ordinal))
            .map(|entry| (entry.id, Arc::clone(&entry.key)))
            .collect()
    }

    pub(crate) fn collisions_resolved(&self) -> u64 {
        self.collisions_resolved
    }

    pub(crate) fn lookup(&self, key: &SeriesKey) -> Option<(SeriesOrdinal, SeriesId)> {
        let ordinal = *self.by_key.get(key)?;
        Some((ordinal, self.entry(ordinal)?.id))
    }

    /// Looks a series up by a borrowed key, without building an owned one (the write path's
    /// common case: the series exists already).
    pub(crate) fn lookup_ref(&self, key: &SeriesKeyRef<'_>) -> Option<(SeriesOrdinal, SeriesId)> {
        let ordinal = *self.by_key.get(key)?;
        Some((ordinal, self.entry(ordinal)?.id))
    }

    pub(crate) fn entry(&self, ordinal: SeriesOrdinal) -> Option<&SeriesEntry> {
        self.entries.get(usize::try_from(ordinal).ok()?)
    }

    pub(crate) fn ordinal_of(&self, id: SeriesId) -> Option<SeriesOrdinal> {
        self.by_id.get(&id).copied()
    }

    /// Returns the series of `key`, assigning a free id when it is new. The bool says whether
    /// the series is new.
    pub(crate) fn get_or_assign(&mut self, key: &SeriesKey) -> (SeriesOrdinal, SeriesId, bool) {
        if let Some((ordinal, id)) = self.lookup(key) {
            return (ordinal, id, false);
        }
        let bytes = key.canonical_bytes();
        let mut seed = 0;
        let id = loop {
            let candidate = SeriesId((self.hasher)(&bytes, seed));
            if !self.by_id.contains_key(&candidate) {
                break candidate;
            }
            // Another key owns this id: a genuine hash collision. Never share the id.
            self.collisions_resolved += 1;
            tracing::warn!(series = %candidate, seed, "series id collision resolved by re-hash");
            seed += 1;
        };
        let ordinal = self.push(id, Arc::new(key.clone()));
        (ordinal, id, true)
    }

    /// Registers a series with an id decided earlier (series log, WAL replay). Registering
    /// the same pair twice is a no-op; an id owned by another key is a conflict.
    pub(crate) fn insert_known(
        &mut self,
        id: SeriesId,
        key: SeriesKey,
    ) -> Result<SeriesOrdinal, SeriesConflict> {
        if let Some(&ordinal) = self.by_id.get(&id) {
            let existing = self.entry(ordinal).expect("by_id points at an entry");
            if *existing.key == key {
                return Ok(ordinal);
            }
            return Err(SeriesConflict {
                id,
                existing: (*existing.key).clone(),
                offered: key,
            });
        }
        if let Some((_, other)) = self.lookup(&key) {
            return Err(SeriesConflict {
                id: other,
                existing: key.clone(),
                offered: key,
            });
        }
        Ok(self.push(id, Arc::new(key)))
    }

    fn push(&mut self, id: SeriesId, key: Arc<SeriesKey>) -> SeriesOrdinal {
        let ordinal = SeriesOrdinal::try_from(self.entries.len()).expect("fewer than 2^32 series");
        self.by_key.insert(Arc::clone(&key), ordinal);
        self.by_id.insert(id, ordinal);
        self.entries.push(SeriesEntry { id, key });
        ordinal
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn borrowed_key_finds_the_owned_one() {
        let mut index = SeriesIndex::default();
        let owned = SeriesKey::new(
            "cpu",
            &[("region".into(), "eu".into()), ("host".into(), "a".into())],
        );
        let (ordinal, id, _) = index.get_or_assign(&owned);
        let tags = [("host", "a"), ("region", "eu")];
        assert_eq!(
            index.lookup_ref(&SeriesKeyRef::new("cpu", &tags)),
            Some((ordinal, id))
        );
        assert_eq!(SeriesKeyRef::new("cpu", &tags).to_owned_key(), owned);
        // A prefix split differently, another value, a missing tag: all miss.
        assert_eq!(index.lookup_ref(&SeriesKeyRef::new("cp", &tags)), None);
        let other = [("host", "b"), ("region", "eu")];
        assert_eq!(index.lookup_ref(&SeriesKeyRef::new("cpu", &other)), None);
        assert_eq!(
            index.lookup_ref(&SeriesKeyRef::new("cpu", &[("host", "a")])),
            None
        );
    }

    use super::*;

    fn key(host: &str) -> SeriesKey {
        SeriesKey::new(
            "cpu",
            &[("region".into(), "eu".into()), ("host".into(), host.into())],
        )
    }

    #[test]
    fn id_does_not_depend_on_tag_order() {
        let forward = SeriesKey::new("cpu", &[("a".into(), "1".into()), ("b".into(), "2".into())]);
        let reverse = SeriesKey::new("cpu", &[("b".into(), "2".into()), ("a".into(), "1".into())]);
        assert_eq!(forward, reverse);
        let mut index = SeriesIndex::default();
        let (_, first, new_first) = index.get_or_assign(&forward);
        let (_, second, new_second) = index.get_or_assign(&reverse);
        assert_eq!(first, second);
        assert!(new_first && !new_second);
        assert_eq!(forward.tag("b"), Some("2"));
        assert_eq!(forward.tag("c"), None);
    }

    #[test]
    fn canonical_bytes_are_unambiguous() {
        let left = SeriesKey::new("ab", &[("c".into(), "d".into())]);
        let right = SeriesKey::new("a", &[("bc".into(), "d".into())]);
        assert_ne!(left.canonical_bytes(), right.canonical_bytes());
    }

    #[test]
    fn forced_collision_gives_distinct_ids() {
        // Every key hashes to 42 with seed 0: the second and third series must move.
        fn colliding(bytes: &[u8], seed: u64) -> u64 {
            if seed == 0 {
                42
            } else {
                xxh3_hasher(bytes, seed)
            }
        }
        let mut index = SeriesIndex::with_hasher(colliding);
        let (_, a, _) = index.get_or_assign(&key("a"));
        let (_, b, _) = index.get_or_assign(&key("b"));
        let (_, c, _) = index.get_or_assign(&key("c"));
        assert_eq!(a, SeriesId(42));
        assert_ne!(b, a);
        assert_ne!(c, a);
        assert_ne!(c, b);
        assert_eq!(index.collisions_resolved(), 2);
        assert_eq!(index.lookup(&key("b")).unwrap().1, b);
        assert_eq!(index.len(), 3);
    }

    #[test]
    fn insert_known_detects_conflicts() {
        let mut index = SeriesIndex::default();
        index.insert_known(SeriesId(7), key("a")).unwrap();
        index.insert_known(SeriesId(7), key("a")).unwrap();
        let conflict = index.insert_known(SeriesId(7), key("b")).unwrap_err();
        assert_eq!(conflict.existing, key("a"));
        assert!(index.insert_known(SeriesId(8), key("a")).is_err());
    }

    #[test]
    fn key_round_trips_through_bytes() {
        let original = key("a");
        let bytes = original.canonical_bytes();
        let decoded = SeriesKey::read(&mut ByteReader::new(&bytes)).unwrap();
        assert_eq!(decoded, original);
    }
}
