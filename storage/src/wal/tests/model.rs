//! Model-based property test: random appends, rotations, removals and reopens (clean or
//! after a kill) against a list of every record appended and the removed-through boundary.

use std::path::Path;

use proptest::prelude::*;
use tempfile::TempDir;

use super::*;

/// One step of the model test.
#[derive(Debug, Clone)]
enum Step {
    Append(usize),
    Rotate,
    /// Removes through the record at this fraction (of 255) of those appended so far.
    RemoveThrough(u8),
    /// Reopens after `close` or, with `kill`, after a drop (as a process kill would).
    Reopen {
        kill: bool,
    },
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        8 => (0..150_usize).prop_map(Step::Append),
        1 => Just(Step::Rotate),
        2 => any::<u8>().prop_map(Step::RemoveThrough),
        2 => any::<bool>().prop_map(|kill| Step::Reopen { kill }),
    ]
}

/// The model: every record ever appended, and the highest removed-through boundary.
#[derive(Debug, Default)]
struct Model {
    appended: Records,
    removed_through: u64,
}

impl Model {
    /// Checks a replay against the files left on disk: exactly the records from the oldest
    /// surviving file on, which must include every record past the boundary.
    fn check_replay(&self, dir: &Path, replayed: &Records) {
        let files = wal_files(dir);
        let oldest = files.first().map_or(u64::MAX, |file| first_sequence(file));
        let expected: Records = self
            .appended
            .iter()
            .filter(|(sequence, _)| *sequence >= oldest)
            .cloned()
            .collect();
        assert_eq!(replayed, &expected);
        assert!(
            oldest <= self.removed_through + 1,
            "records after the boundary were removed"
        );
    }

    /// Checks that every closed file left on disk after `remove_through(through)` still
    /// holds a record past `through`.
    fn check_files(dir: &Path, through: u64) {
        let firsts: Vec<u64> = wal_files(dir)
            .iter()
            .map(|file| first_sequence(file))
            .collect();
        for pair in firsts.windows(2) {
            assert!(pair[1] - 1 > through, "{firsts:?} through {through}");
        }
    }
}

fn run_steps(steps: &[Step]) {
    let temp = TempDir::new().unwrap();
    let options = options_in(temp.path(), WalDurability::OsDefault, 256);
    let (mut wal, _) = open(&options).unwrap();
    let mut model = Model::default();
    for (index, step) in steps.iter().enumerate() {
        match step {
            Step::Append(bytes) => {
                let record = vec![u8::try_from(index % 251).unwrap(); *bytes];
                let sequence = wal.append(&record).unwrap();
                assert_eq!(
                    sequence.0,
                    model.appended.last().map_or(1, |(last, _)| last + 1)
                );
                model.appended.push((sequence.0, record));
            }
            Step::Rotate => {
                let last = wal.rotate().unwrap();
                assert_eq!(last.0, model.appended.last().map_or(0, |(last, _)| *last));
            }
            Step::RemoveThrough(fraction) => {
                let position = model.appended.len() * usize::from(*fraction) / 255;
                let through = position.checked_sub(1).map_or(0, |at| model.appended[at].0);
                wal.remove_through(WalSequence(through)).unwrap();
                model.removed_through = model.removed_through.max(through);
                Model::check_files(&options.dir, through);
            }
            Step::Reopen { kill } => {
                if !kill {
                    wal.close().unwrap();
                }
                drop(wal);
                let (reopened, replayed) = open(&options).unwrap();
                model.check_replay(&options.dir, &replayed);
                let next = model.appended.last().map_or(1, |(last, _)| last + 1);
                assert_eq!(reopened.next_sequence(), WalSequence(next));
                wal = reopened;
            }
        }
    }
    drop(wal);
    let (_wal, replayed) = open(&options).unwrap();
    model.check_replay(&options.dir, &replayed);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn replay_matches_the_model(steps in prop::collection::vec(step(), 1..60)) {
        run_steps(&steps);
    }
}
