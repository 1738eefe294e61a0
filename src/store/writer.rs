//! The group-commit writer: the one thread that owns every redb write transaction.
//!
//! Callers queue jobs (a write closure plus a reply channel) on a bounded channel. The writer
//! takes what is queued, runs every job of the batch in ONE transaction, commits it with
//! `Durability::Immediate` and only then answers each caller, so nothing is acknowledged before
//! it is on disk and one fsync is shared by the whole batch (DEFAULTS.md "durable writes",
//! QUALITY.md P4).
//!
//! Batching rules:
//! - A lone write is never delayed: the writer blocks on the queue, takes the first job and
//!   whatever else is already queued, and commits at once.
//! - While a commit is running, new jobs queue up; they form the next batch. When the last
//!   batch had several jobs, the writer waits a short, bounded time for the callers it has just
//!   answered to send their next job (see [`linger_budget`]): without that, a steady population
//!   of writers splits into two cohorts that commit on alternate fsyncs, halving the batch size.
//! - A batch holds at most `max_batch_rows` jobs and is never held open longer than
//!   `max_commit_window`: jobs not yet run when the window closes move to the next batch.
//! - A job whose closure fails (or panics) gets its own error; the transaction is aborted and
//!   the rest of the batch re-runs in a fresh one, so a failed job leaves no trace and does not
//!   see or spoil its batch-mates' writes.
//! - A failed commit answers every job of its batch with the error.

use std::any::Any;
use std::cell::Cell;
use std::collections::VecDeque;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, TryRecvError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::StoreOptions;
use super::error::StoreError;
use super::tx::WriteTx;

thread_local! {
    /// Set on the writer thread, so a write closure that calls `write_blocking` gets an error
    /// instead of waiting forever for the thread it is running on.
    static ON_WRITER_THREAD: Cell<bool> = const { Cell::new(false) };
}

/// Whether the current thread is the writer (that is, we are inside a write closure).
pub(crate) fn on_writer_thread() -> bool {
    ON_WRITER_THREAD.with(Cell::get)
}

/// What travels on the writer's queue.
pub(crate) enum Msg {
    /// A write to run in the next batch.
    Job(Box<dyn Pending>),
    /// Stop after everything queued before this message has been committed.
    Shutdown,
}

/// A queued write with its result type erased, so jobs of different types share a batch.
pub(crate) trait Pending: Send {
    /// Runs the closure in `tx`, keeping its outcome; answers whether it succeeded. A panic is
    /// caught and kept as the job's error.
    fn run(&mut self, tx: &mut WriteTx<'_>) -> bool;
    /// Sends the kept outcome to the caller (after a durable commit, or after the job failed).
    fn finish(self: Box<Self>);
    /// Sends `err` to the caller instead of the kept outcome (the commit failed).
    fn fail(self: Box<Self>, err: StoreError);
}

/// Where a job's answer goes: an async caller awaits a oneshot, a blocking caller waits on a
/// std channel (tokio's blocking receive panics inside a runtime, std's does not).
pub(crate) enum Reply<T> {
    /// From `Store::write`.
    Async(tokio::sync::oneshot::Sender<Result<T, StoreError>>),
    /// From `Store::write_blocking`.
    Blocking(std::sync::mpsc::SyncSender<Result<T, StoreError>>),
}

impl<T> Reply<T> {
    fn send(self, result: Result<T, StoreError>) {
        // A caller that went away (future dropped) no longer wants the answer; the write itself
        // stands, so there is nothing to undo.
        match self {
            Reply::Async(tx) => {
                let _ = tx.send(result);
            }
            Reply::Blocking(tx) => {
                let _ = tx.send(result);
            }
        }
    }
}

/// A write closure, its latest outcome and where to send it.
pub(crate) struct Job<T, F> {
    /// The caller's closure; `FnMut` because a batch may re-run it.
    f: F,
    /// The result of the latest run; only the run in the committed pass is ever sent.
    outcome: Option<Result<T, StoreError>>,
    /// Where the answer goes.
    reply: Reply<T>,
}

impl<T, F> Job<T, F> {
    pub(crate) fn new(f: F, reply: Reply<T>) -> Job<T, F> {
        Job {
            f,
            outcome: None,
            reply,
        }
    }
}

impl<T, F> Pending for Job<T, F>
where
    T: Send,
    F: FnMut(&mut WriteTx<'_>) -> Result<T, StoreError> + Send,
{
    fn run(&mut self, tx: &mut WriteTx<'_>) -> bool {
        let f = &mut self.f;
        // The transaction is aborted whenever a closure panics, so no half-done state of the
        // closure or of the transaction is ever observed: asserting unwind safety is sound.
        let result = match catch_unwind(AssertUnwindSafe(|| f(tx))) {
            Ok(result) => result,
            Err(payload) => {
                let message = panic_message(payload.as_ref());
                tracing::error!(panic = %message, "a write closure panicked; its job fails alone");
                Err(StoreError::Internal(format!(
                    "the write closure panicked: {message}"
                )))
            }
        };
        let ok = result.is_ok();
        self.outcome = Some(result);
        ok
    }

    fn finish(self: Box<Self>) {
        let result = self.outcome.unwrap_or_else(|| {
            Err(StoreError::Internal(
                "a write job was answered before it ran".to_string(),
            ))
        });
        self.reply.send(result);
    }

    fn fail(self: Box<Self>, err: StoreError) {
        self.reply.send(Err(err));
    }
}

fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "(no message)".to_string()
    }
}

/// Counters of the writer's work, for diagnostics and tests.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WriterStats {
    /// Durable commits made.
    pub commits: u64,
    /// Jobs acknowledged as committed.
    pub committed_jobs: u64,
    /// Jobs answered with their own error (closure failed or panicked) or a commit error.
    pub failed_jobs: u64,
    /// The largest number of jobs in one commit.
    pub largest_batch: u64,
    /// Jobs accepted onto the queue and not yet taken by the writer.
    pub queued: u64,
    /// Total time spent in durable commits (the fsyncs).
    pub commit_time: Duration,
    /// Total time spent waiting for more jobs after a concurrent batch (see `linger_budget`).
    pub linger_time: Duration,
}

/// The live counters behind [`WriterStats`], shared by the writer and the `Store` handles.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    /// See [`WriterStats::commits`].
    commits: AtomicU64,
    /// See [`WriterStats::committed_jobs`].
    committed_jobs: AtomicU64,
    /// See [`WriterStats::failed_jobs`].
    failed_jobs: AtomicU64,
    /// See [`WriterStats::largest_batch`].
    largest_batch: AtomicU64,
    /// Incremented by the sender before it queues a job, decremented by the writer on taking it.
    pub(crate) queued: AtomicU64,
    /// See [`WriterStats::commit_time`].
    commit_nanos: AtomicU64,
    /// See [`WriterStats::linger_time`].
    linger_nanos: AtomicU64,
    /// How many committed transactions opened each table (see [`Counters::generation`]).
    generations: std::sync::Mutex<std::collections::HashMap<&'static str, u64>>,
}

impl Counters {
    /// How many committed transactions have opened `table` so far: a change of the number
    /// means its contents may have changed, so a reader can key a decoded copy of a table on
    /// it. The writer counts a commit before it answers any of its callers, so a caller that
    /// wrote and then reads sees the new number; a reader must take the number *before* it
    /// begins its read transaction, so that a commit between the two leaves the copy stale
    /// under an old number rather than fresh-looking under the new one.
    pub(crate) fn generation(&self, table: &'static str) -> u64 {
        // As in `committed`: a poisoned lock still holds usable counts. Answering 0 instead
        // would hand every reader the same number forever, and a cache keyed on it would
        // never reload.
        self.generations
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(table)
            .copied()
            .unwrap_or(0)
    }

    fn committed(&self, tables: &[&'static str]) {
        // A poisoned lock only means a panic elsewhere mid-update of plain integers; the
        // counts stay usable.
        let mut g = self
            .generations
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        for t in tables {
            let n = g.entry(t).or_insert(0);
            *n = n.wrapping_add(1);
        }
    }
}

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

impl Counters {
    pub(crate) fn snapshot(&self) -> WriterStats {
        WriterStats {
            commits: self.commits.load(Ordering::Relaxed),
            committed_jobs: self.committed_jobs.load(Ordering::Relaxed),
            failed_jobs: self.failed_jobs.load(Ordering::Relaxed),
            largest_batch: self.largest_batch.load(Ordering::Relaxed),
            queued: self.queued.load(Ordering::Relaxed),
            commit_time: Duration::from_nanos(self.commit_nanos.load(Ordering::Relaxed)),
            linger_time: Duration::from_nanos(self.linger_nanos.load(Ordering::Relaxed)),
        }
    }
}

/// Starts a write transaction that commits durably.
///
/// Quick repair is set on every write transaction (redb 4 makes it a per-transaction setting):
/// each commit then also records the allocator state, so reopening after a crash or `kill -9`
/// loads it instead of walking every page of the file to rebuild it, which would make the cold
/// start time (P6) grow with the store size. It costs a second sync per commit, which group
/// commit shares across the batch.
pub(crate) fn begin_durable(db: &redb::Database) -> Result<redb::WriteTransaction, StoreError> {
    let mut txn = db.begin_write()?;
    txn.set_durability(redb::Durability::Immediate)?;
    txn.set_quick_repair(true);
    Ok(txn)
}

/// Starts the writer thread.
pub(crate) fn spawn(
    db: Arc<redb::Database>,
    rx: Receiver<Msg>,
    opts: &StoreOptions,
    counters: Arc<Counters>,
) -> Result<JoinHandle<()>, StoreError> {
    let writer = Writer {
        db,
        rx,
        max_batch: opts.max_batch_rows.max(1),
        window: opts.max_commit_window,
        counters,
        carry: VecDeque::new(),
        stopping: false,
        last: None,
    };
    let handle = std::thread::Builder::new()
        .name("lantern-store-writer".to_string())
        .spawn(move || {
            ON_WRITER_THREAD.with(|flag| flag.set(true));
            writer.run();
        })?;
    Ok(handle)
}

/// What the writer remembers of its previous commit, to decide whether to linger.
#[derive(Clone, Copy, Debug)]
pub(crate) struct LastBatch {
    /// Jobs committed.
    pub(crate) jobs: usize,
    /// Jobs already queued (or carried over) when those were answered: writes from other
    /// callers, which arrived while the commit ran.
    pub(crate) waiting: usize,
    /// How long the commit (the fsyncs) took.
    pub(crate) commit_took: Duration,
    /// When the callers were answered.
    pub(crate) answered_at: Instant,
}

/// How long a batch whose first job was taken at `first_taken` may wait for more jobs, and how
/// many jobs it waits for in all; `None` means commit at once.
///
/// The callers in flight are those just answered plus those that were already waiting; when
/// there are two or more, and this batch started right after the answers, the jobs about to
/// arrive are most likely the next writes of the callers just answered, and waiting for them
/// lets the whole population share one fsync. Counting the waiting jobs too matters: without
/// them, a population that once split into two cohorts committing on alternate fsyncs would
/// stay split, each batch waiting only for its own cohort. A lone writer, or a write arriving
/// after a quiet spell, never waits. The wait is bounded by a quarter of the last commit's
/// duration (so it adds at most 25% to a write's latency while it can double the batch) and by
/// half the commit window.
pub(crate) fn linger_budget(
    last: Option<&LastBatch>,
    first_taken: Instant,
    window: Duration,
) -> Option<(Duration, usize)> {
    let last = last?;
    let in_flight = last.jobs.saturating_add(last.waiting);
    if in_flight < 2 {
        return None;
    }
    let budget = (last.commit_took / 4).min(window / 2);
    if budget.is_zero() {
        return None;
    }
    let idle = first_taken.saturating_duration_since(last.answered_at);
    if idle > budget {
        return None;
    }
    Some((budget, in_flight))
}

/// The writer thread's state.
struct Writer {
    /// Shared with readers and backups; only this thread begins write transactions.
    db: Arc<redb::Database>,
    /// The bounded queue of jobs.
    rx: Receiver<Msg>,
    /// `StoreOptions::max_batch_rows`, at least 1.
    max_batch: usize,
    /// `StoreOptions::max_commit_window`.
    window: Duration,
    /// Shared with the `Store` handles, for `writer_stats`.
    counters: Arc<Counters>,
    /// Jobs taken from the queue but not yet committed because the previous batch's window
    /// closed; they go first into the next batch, in order.
    carry: VecDeque<Box<dyn Pending>>,
    /// A shutdown was seen (or every sender is gone): take nothing more from the queue.
    stopping: bool,
    /// The previous successful commit, for [`linger_budget`].
    last: Option<LastBatch>,
}

impl Writer {
    fn run(mut self) {
        while let Some((jobs, started)) = self.gather() {
            self.execute(jobs, started);
        }
        // Dropping the receiver here drops anything queued after the shutdown marker; those
        // callers see their reply channel close and get `Closed`.
    }

    /// Takes the next job from the carry-over or the queue.
    fn take(&mut self, wait: Wait) -> Option<Box<dyn Pending>> {
        if let Some(job) = self.carry.pop_front() {
            return Some(job);
        }
        if self.stopping {
            return None;
        }
        let msg = match wait {
            Wait::Forever => self.rx.recv().ok(),
            Wait::No => match self.rx.try_recv() {
                Ok(msg) => Some(msg),
                Err(TryRecvError::Empty) => return None,
                Err(TryRecvError::Disconnected) => None,
            },
            Wait::Until(deadline) => {
                let timeout = deadline.saturating_duration_since(Instant::now());
                match self.rx.recv_timeout(timeout) {
                    Ok(msg) => Some(msg),
                    Err(RecvTimeoutError::Timeout) => return None,
                    Err(RecvTimeoutError::Disconnected) => None,
                }
            }
        };
        match msg {
            Some(Msg::Job(job)) => {
                self.counters.queued.fetch_sub(1, Ordering::Relaxed);
                Some(job)
            }
            // Shutdown, or every `Store` handle is gone: finish what was taken, then stop.
            Some(Msg::Shutdown) | None => {
                self.stopping = true;
                None
            }
        }
    }

    /// Collects the next batch; `None` once stopping and nothing is left.
    fn gather(&mut self) -> Option<(Vec<Box<dyn Pending>>, Instant)> {
        let first = self.take(Wait::Forever)?;
        let started = Instant::now();
        let mut jobs = vec![first];
        while jobs.len() < self.max_batch {
            match self.take(Wait::No) {
                Some(job) => jobs.push(job),
                None => break,
            }
        }
        let linger = linger_budget(self.last.as_ref(), started, self.window)
            .and_then(|(budget, want)| Some((started.checked_add(budget)?, want)));
        if let Some((deadline, want)) = linger {
            let lingering = Instant::now();
            while jobs.len() < want.min(self.max_batch) && !self.stopping {
                match self.take(Wait::Until(deadline)) {
                    Some(job) => jobs.push(job),
                    None => break,
                }
            }
            self.counters
                .linger_nanos
                .fetch_add(nanos(lingering.elapsed()), Ordering::Relaxed);
        }
        Some((jobs, started))
    }

    /// Runs `jobs` in one transaction, dropping failed jobs and re-running the rest until a
    /// pass succeeds, then commits durably and answers everyone.
    fn execute(&mut self, mut jobs: Vec<Box<dyn Pending>>, started: Instant) {
        // A window too large to represent is no window at all.
        let deadline = started.checked_add(self.window);
        loop {
            if jobs.is_empty() {
                return;
            }
            let txn = match begin_durable(&self.db) {
                Ok(txn) => txn,
                Err(e) => {
                    tracing::error!(error = %e, "cannot start a write transaction");
                    self.fail_all(jobs, &e);
                    return;
                }
            };
            let mut failed = None;
            let mut ran = 0;
            let touched;
            {
                let mut wtx = WriteTx::new(&txn);
                for (i, job) in jobs.iter_mut().enumerate() {
                    // At least one job per pass, so the writer always makes progress.
                    if i > 0 && deadline.is_some_and(|d| Instant::now() >= d) {
                        break;
                    }
                    ran = i + 1;
                    if !job.run(&mut wtx) {
                        // Stop at once: later jobs must not run on top of a failed job's
                        // partial writes, or their outcome would depend on it.
                        failed = Some(i);
                        break;
                    }
                }
                touched = wtx.into_opened_tables();
            }
            match failed {
                None => {
                    for job in jobs.split_off(ran).into_iter().rev() {
                        self.carry.push_front(job);
                    }
                    self.commit(txn, jobs, &touched);
                    return;
                }
                Some(index) => {
                    if let Err(e) = txn.abort() {
                        tracing::warn!(error = %e, "aborting a write transaction failed");
                    }
                    if index < jobs.len() {
                        let job = jobs.remove(index);
                        self.counters.failed_jobs.fetch_add(1, Ordering::Relaxed);
                        job.finish();
                    }
                }
            }
        }
    }

    fn commit(
        &mut self,
        txn: redb::WriteTransaction,
        jobs: Vec<Box<dyn Pending>>,
        touched: &[&'static str],
    ) {
        let began = Instant::now();
        match txn.commit() {
            Ok(()) => {
                let commit_took = began.elapsed();
                self.counters
                    .commit_nanos
                    .fetch_add(nanos(commit_took), Ordering::Relaxed);
                let n = jobs.len();
                let n64 = u64::try_from(n).unwrap_or(u64::MAX);
                self.counters.commits.fetch_add(1, Ordering::Relaxed);
                self.counters
                    .committed_jobs
                    .fetch_add(n64, Ordering::Relaxed);
                self.counters
                    .largest_batch
                    .fetch_max(n64, Ordering::Relaxed);
                // Before answering: a caller that reads after its write must see the change.
                self.counters.committed(touched);
                // Read before answering: none of the callers answered below can have queued
                // a new job yet, so these are all other callers' writes.
                let queued = usize::try_from(self.counters.queued.load(Ordering::Relaxed))
                    .unwrap_or(usize::MAX);
                let waiting = queued.saturating_add(self.carry.len());
                for job in jobs {
                    job.finish();
                }
                self.last = Some(LastBatch {
                    jobs: n,
                    waiting,
                    commit_took,
                    answered_at: Instant::now(),
                });
            }
            Err(e) => {
                let e = StoreError::from(e);
                tracing::error!(error = %e, jobs = jobs.len(), "a durable commit failed");
                self.fail_all(jobs, &e);
            }
        }
    }

    fn fail_all(&mut self, jobs: Vec<Box<dyn Pending>>, err: &StoreError) {
        let n = u64::try_from(jobs.len()).unwrap_or(u64::MAX);
        self.counters.failed_jobs.fetch_add(n, Ordering::Relaxed);
        for job in jobs {
            job.fail(err.duplicate());
        }
        self.last = None;
    }
}

/// How [`Writer::take`] waits for the queue.
#[derive(Clone, Copy)]
enum Wait {
    Forever,
    No,
    Until(Instant),
}
