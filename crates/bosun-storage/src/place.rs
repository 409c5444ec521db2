//! Files that appear whole or not at all, and never over another: written under a
//! temporary dot name in the final directory, flushed to disk, then hard-linked to the
//! final name. Unlike a rename, the link fails when the name is taken, so two writers
//! racing for one name cannot both win and nothing is ever replaced. The temporary name
//! is removed in every case, also when the writer is dropped halfway.

use std::path::{Path, PathBuf};

use tokio::fs::{File, OpenOptions};

use crate::error::{Result, StorageError};

/// A file being written under a temporary name beside its final one.
pub(crate) struct Staged {
    temp: PathBuf,
    file: File,
}

/// How placing a staged file ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Placed {
    /// The file now has its final name.
    Done,
    /// Something already had that name; it is untouched and the staged file is gone.
    Taken,
}

impl Staged {
    /// Creates an empty temporary file beside `target` (whose directory must exist),
    /// with permission bits `mode` (less the umask).
    pub(crate) async fn create(target: &Path, mode: u32) -> Result<Self> {
        let dir = target.parent().unwrap_or(Path::new("."));
        let name = target
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("object");
        let temp = dir.join(format!(".{name}.{}.part", random_hex()?));
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .open(&temp)
            .await
            .map_err(|source| StorageError::Io {
                about: "create the temporary file",
                path: temp.clone(),
                source,
            })?;
        Ok(Self { temp, file })
    }

    /// The temporary file, to write the contents to.
    /// Appends `bytes` to the temporary file.
    pub(crate) async fn write(&mut self, bytes: &[u8]) -> Result<()> {
        use tokio::io::AsyncWriteExt;
        self.file
            .write_all(bytes)
            .await
            .map_err(|source| StorageError::Io {
                about: "write",
                path: self.temp.clone(),
                source,
            })
    }

    /// Flushes the contents to disk and gives the file the name `target`, unless that
    /// name is taken.
    pub(crate) async fn place(self, target: &Path) -> Result<Placed> {
        let io = |about, path: &Path| {
            let path = path.to_owned();
            move |source| StorageError::Io {
                about,
                path,
                source,
            }
        };
        self.file
            .sync_all()
            .await
            .map_err(io("flush", &self.temp))?;
        let placed = match tokio::fs::hard_link(&self.temp, target).await {
            Ok(()) => Placed::Done,
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Placed::Taken,
            Err(e) => return Err(io("link into place", target)(e)),
        };
        if placed == Placed::Done
            && let Some(dir) = target.parent()
        {
            // The new name survives a crash only once its directory is on disk too.
            let sync = async { File::open(dir).await?.sync_all().await };
            sync.await.map_err(io("flush the directory", dir))?;
        }
        Ok(placed)
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        // Placed or abandoned, the temporary name goes; the final name (a second link)
        // keeps the contents. A missing file is fine: there is nothing to clean.
        let _ = std::fs::remove_file(&self.temp);
    }
}

/// 16 random hex digits, for a temporary name nobody else picks.
pub(crate) fn random_hex() -> Result<String> {
    let mut bytes = [0u8; 8];
    getrandom::fill(&mut bytes).map_err(|source| StorageError::Random { source })?;
    Ok(hex::encode(bytes))
}
