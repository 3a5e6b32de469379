//! The background thread of `WalDurability::Periodic`: fsyncs the WAL every interval when
//! something was written since the last fsync. Owned by the WAL, which stops and joins it on
//! close and on drop, so no thread outlives the WAL.

use std::path::Path;
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::Duration;

use parking_lot::{Condvar, Mutex};
use tracing::error;

use crate::error::{Error, Result};

/// A running syncer thread.
#[derive(Debug)]
pub(super) struct PeriodicSyncer {
    stop: Arc<StopSignal>,
    handle: JoinHandle<()>,
}

/// Wakes the thread at once on stop instead of after up to one interval.
#[derive(Debug, Default)]
struct StopSignal {
    stopped: Mutex<bool>,
    wake: Condvar,
}

impl PeriodicSyncer {
    /// Starts a thread calling `tick` every `interval` until stopped. A failing tick (the
    /// WAL is then poisoned) ends the thread: there is nothing left for it to do.
    pub(super) fn start(
        dir: &Path,
        interval: Duration,
        mut tick: impl FnMut() -> Result<()> + Send + 'static,
    ) -> Result<Self> {
        let stop = Arc::new(StopSignal::default());
        let thread_stop = Arc::clone(&stop);
        let handle = thread::Builder::new()
            .name("wal-syncer".to_owned())
            .spawn(move || {
                while thread_stop.sleep(interval) {
                    if let Err(error) = tick() {
                        error!(%error, "periodic WAL fsync failed; the syncer stops");
                        return;
                    }
                }
            })
            .map_err(Error::io("spawning the WAL syncer thread for", dir))?;
        Ok(Self { stop, handle })
    }

    /// Stops the thread and waits for it (at most one tick in progress).
    pub(super) fn stop(self) {
        *self.stop.stopped.lock() = true;
        self.stop.wake.notify_all();
        if self.handle.join().is_err() {
            error!("the WAL syncer thread panicked");
        }
    }
}

impl StopSignal {
    /// Sleeps `interval` or until stopped; returns whether to keep going.
    fn sleep(&self, interval: Duration) -> bool {
        let mut stopped = self.stopped.lock();
        if !*stopped {
            // A spurious or early wake only costs one extra check of the synced sequence.
            let _timed_out = self.wake.wait_for(&mut stopped, interval);
        }
        !*stopped
    }
}
