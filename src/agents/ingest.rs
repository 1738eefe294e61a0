//! What agents have sent since the appliance started, counted with relaxed atomics on the
//! gateway's receive path (one add per message: cheap enough to always be on). System
//! Diagnostics turns the totals into rates.

use std::sync::atomic::{AtomicU64, Ordering};

/// The live counters, shared by every connection of the gateway.
#[derive(Debug, Default)]
pub struct IngestCounters {
    messages: AtomicU64,
    bytes: AtomicU64,
    class_load_frames: AtomicU64,
    snapshots: AtomicU64,
    log_lines: AtomicU64,
    metrics: AtomicU64,
}

/// What an agent message was, for [`IngestCounters::stored`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A `class_loads` frame taken into the reachability index.
    ClassLoads,
    /// A snapshot kept for its action.
    Snapshot,
    /// A log line kept for its action.
    LogLine,
    /// A metric sample.
    Metric,
}

/// The counters at one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct IngestTotals {
    /// Text messages received after `hello`.
    pub messages: u64,
    /// Their bytes.
    pub bytes: u64,
    /// `class_loads` frames taken.
    pub class_load_frames: u64,
    /// Snapshots kept.
    pub snapshots: u64,
    /// Log lines kept.
    pub log_lines: u64,
    /// Metric samples taken.
    pub metrics: u64,
}

impl IngestCounters {
    /// One text message of `bytes` bytes arrived.
    pub fn received(&self, bytes: usize) {
        self.messages.fetch_add(1, Ordering::Relaxed);
        self.bytes
            .fetch_add(u64::try_from(bytes).unwrap_or(u64::MAX), Ordering::Relaxed);
    }

    /// One message of `kind` was taken.
    pub fn stored(&self, kind: Kind) {
        let counter = match kind {
            Kind::ClassLoads => &self.class_load_frames,
            Kind::Snapshot => &self.snapshots,
            Kind::LogLine => &self.log_lines,
            Kind::Metric => &self.metrics,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// The totals now.
    pub fn totals(&self) -> IngestTotals {
        IngestTotals {
            messages: self.messages.load(Ordering::Relaxed),
            bytes: self.bytes.load(Ordering::Relaxed),
            class_load_frames: self.class_load_frames.load(Ordering::Relaxed),
            snapshots: self.snapshots.load(Ordering::Relaxed),
            log_lines: self.log_lines.load(Ordering::Relaxed),
            metrics: self.metrics.load(Ordering::Relaxed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_what_it_is_told() {
        let c = IngestCounters::default();
        c.received(100);
        c.received(20);
        c.stored(Kind::Snapshot);
        c.stored(Kind::ClassLoads);
        c.stored(Kind::ClassLoads);
        let t = c.totals();
        assert_eq!((t.messages, t.bytes), (2, 120));
        assert_eq!((t.snapshots, t.class_load_frames), (1, 2));
        assert_eq!((t.log_lines, t.metrics), (0, 0));
    }
}
