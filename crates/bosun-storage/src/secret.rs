//! The disk store's link secret: 32 random bytes in `.link-secret` in the store's
//! directory, readable by its owner only. Made on first use, whole or not at all and
//! never over an existing one (two stores opening one directory at once agree on the
//! winner's), and read on every later open, so links outlive restarts. Its dot name is
//! out of every key's reach.

use std::path::Path;

use crate::error::{Result, StorageError};
use crate::link::LinkSecret;
use crate::place::{Placed, Staged};

/// The secret's file name in the store's directory.
pub(crate) const SECRET_FILE: &str = ".link-secret";

/// Reads the secret in `dir`, making it first if there is none.
pub(crate) async fn load_or_create(dir: &Path) -> Result<LinkSecret> {
    let path = dir.join(SECRET_FILE);
    if let Some(secret) = read(&path).await? {
        return Ok(secret);
    }
    let mut secret = [0u8; 32];
    getrandom::fill(&mut secret).map_err(|source| StorageError::Random { source })?;
    let mut staged = Staged::create(&path, 0o600).await?;
    staged.write(&secret).await?;
    match staged.place(&path).await? {
        Placed::Done => Ok(LinkSecret(secret)),
        // Another store made it between our read and our link: use theirs.
        Placed::Taken => read(&path).await?.ok_or(StorageError::BadSecret { path }),
    }
}

/// The secret at `path`; `None` if there is no file.
async fn read(path: &Path) -> Result<Option<LinkSecret>> {
    match tokio::fs::read(path).await {
        Ok(bytes) => {
            let secret =
                <[u8; 32]>::try_from(bytes.as_slice()).map_err(|_| StorageError::BadSecret {
                    path: path.to_owned(),
                })?;
            Ok(Some(LinkSecret(secret)))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(StorageError::Io {
            about: "read",
            path: path.to_owned(),
            source,
        }),
    }
}
