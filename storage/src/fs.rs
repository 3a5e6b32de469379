//! Small filesystem steps the engine's crash safety depends on.

use std::fs::File;
use std::path::Path;

use crate::error::{Error, Result};

/// Fsyncs the directory holding `path`, so a create, rename or remove in it is durable.
pub(crate) fn sync_parent(path: &Path) -> Result<()> {
    let parent = path.parent().unwrap_or(Path::new("."));
    sync_dir(parent)
}

/// Fsyncs a directory.
pub(crate) fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|handle| handle.sync_all())
        .map_err(Error::io("syncing directory", dir))
}

/// Writes `bytes` to `path` atomically: temporary file, fsync, rename, directory fsync.
pub(crate) fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let temporary = path.with_extension("tmp");
    std::fs::write(&temporary, bytes).map_err(Error::io("writing", &temporary))?;
    File::open(&temporary)
        .and_then(|file| file.sync_all())
        .map_err(Error::io("syncing", &temporary))?;
    std::fs::rename(&temporary, path).map_err(Error::io("renaming", &temporary))?;
    sync_parent(path)
}
