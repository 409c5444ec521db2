//! A stored object being read: its size up front (a response's `Content-Length`) and
//! its bytes as they come from the file or the bucket, never gathered in memory.

use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, ReadBuf};

/// An object's bytes, read as a stream.
pub struct Blob {
    size: u64,
    reader: Pin<Box<dyn AsyncRead + Send>>,
}

impl Blob {
    pub(crate) fn new(size: u64, reader: impl AsyncRead + Send + 'static) -> Self {
        Self {
            size,
            reader: Box::pin(reader),
        }
    }

    /// The object's length in bytes.
    pub fn size(&self) -> u64 {
        self.size
    }
}

impl AsyncRead for Blob {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        self.reader.as_mut().poll_read(cx, buf)
    }
}

impl fmt::Debug for Blob {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Blob").field("size", &self.size).finish()
    }
}
