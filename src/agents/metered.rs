//! A byte stream that counts what it reads, so the gateway can tell a silent agent from one
//! whose frames are still arriving. Counting whole messages is not enough: under load the
//! appliance may take longer than the idle timeout to read a large start-up state, and an agent
//! in the middle of sending it must not be closed as idle.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// Wraps a stream; [`Metered::counter`] answers the bytes read so far.
#[derive(Debug)]
pub struct Metered<S> {
    inner: S,
    read: Arc<AtomicU64>,
}

impl<S> Metered<S> {
    /// Wraps `inner` with a fresh counter.
    pub fn new(inner: S) -> Metered<S> {
        Metered {
            inner,
            read: Arc::new(AtomicU64::new(0)),
        }
    }

    /// The counter of bytes read, shared with whoever watches the connection.
    pub fn counter(&self) -> Arc<AtomicU64> {
        Arc::clone(&self.read)
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Metered<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        let got = buf.filled().len().saturating_sub(before);
        if got > 0 {
            self.read.fetch_add(got as u64, Ordering::Relaxed);
        }
        polled
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Metered<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[tokio::test]
    async fn counts_bytes_read_not_written() {
        let (a, mut b) = tokio::io::duplex(64);
        let mut metered = Metered::new(a);
        let counter = metered.counter();
        b.write_all(b"hello").await.unwrap();
        metered.write_all(b"ignored").await.unwrap();
        let mut buf = [0u8; 5];
        metered.read_exact(&mut buf).await.unwrap();
        assert_eq!(counter.load(Ordering::Relaxed), 5);
    }
}
