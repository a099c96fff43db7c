//! Work split across threads, run on a persistent pool of workers.
//!
//! Work is cut into units that own disjoint output tiles (row or column panels of one
//! GEMM, column panels of one image and group of a convolution, channel blocks of an
//! elementwise pass); [`split`] cuts them into contiguous runs, and [`run_parts`] runs
//! one run per thread: the first on the calling thread, the others on worker threads that
//! are started once and then kept (starting a thread per call would cost tens of
//! microseconds per kernel). The GEMM, convolution, Winograd, depthwise and pooling
//! kernels and the stride-2 input split cut their units into a few runs per thread
//! instead and hand them out with [`run_balanced`] as threads finish, since one of a
//! virtual machine's cores can run much slower than the other for a while, and a fixed
//! half of the work would then wait on it. Either way every output
//! element is computed whole by one thread, with the same K order whichever thread it is,
//! so neither the thread count nor which thread runs a unit changes a bit: K is never
//! split across threads.

use std::ops::Range;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{channel, Sender, TryRecvError};
use std::sync::{Condvar, Mutex, OnceLock};

/// The most threads one call uses; larger requests are capped (the split stays fixed for
/// a given request, and the thread count never changes a bit anyway).
pub const MAX_THREADS: usize = 64;

/// Splits `units` into at most `parts` (and at most [`MAX_THREADS`]) contiguous,
/// non-empty ranges whose sizes differ by at most one, in order. No units give no ranges.
pub fn split(units: usize, parts: usize) -> Vec<Range<usize>> {
    let parts = parts.clamp(1, units.clamp(1, MAX_THREADS));
    let (base, extra) = (units / parts, units % parts);
    let mut out = Vec::with_capacity(parts);
    let mut start = 0;
    for i in 0..parts {
        let len = base + usize::from(i < extra);
        if len > 0 {
            out.push(start..start + len);
        }
        start += len;
    }
    out
}

/// A job handed to a worker. Its borrows are only promised to live until the submitting
/// call's [`Latch`] opens, which that call waits for before returning.
type Job = Box<dyn FnOnce() + Send + 'static>;

/// The workers: one job channel per worker thread, started on first need.
static WORKERS: OnceLock<Mutex<Vec<Sender<Job>>>> = OnceLock::new();

thread_local! {
    /// Whether this thread is a pool worker (a worker never waits on the pool itself).
    static IS_WORKER: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// How long a waiting thread spins before it blocks: kernels follow one another within
/// microseconds, and waking a blocked thread costs tens of them on a virtual machine.
const SPIN: std::time::Duration = std::time::Duration::from_micros(200);

/// Spins until `done()` or [`SPIN`] has passed; returns whether `done()` held.
fn spin_until(done: impl Fn() -> bool) -> bool {
    let start = std::time::Instant::now();
    loop {
        for _ in 0..64 {
            if done() {
                return true;
            }
            std::hint::spin_loop();
        }
        if start.elapsed() > SPIN {
            return done();
        }
    }
}

/// Counts outstanding jobs of one call; the call waits until it reaches zero.
struct Latch {
    /// Jobs not yet finished, and whether one of them panicked.
    state: Mutex<(usize, bool)>,
    /// Signalled when the count reaches zero.
    zero: Condvar,
    /// Jobs not yet completely done with the latch (counted down last, after the lock is
    /// released, so a waiter that sees zero may drop the latch).
    left: AtomicUsize,
}

impl Latch {
    fn new(count: usize) -> Latch {
        Latch {
            state: Mutex::new((count, false)),
            zero: Condvar::new(),
            left: AtomicUsize::new(count),
        }
    }

    fn count_down(&self, panicked: bool) {
        {
            let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
            s.0 -= 1;
            s.1 |= panicked;
            if s.0 == 0 {
                self.zero.notify_all();
            }
        }
        // The last touch of the latch.
        self.left.fetch_sub(1, Ordering::Release);
    }

    /// Waits for every job (spinning a little first); returns whether one panicked.
    fn wait(&self) -> bool {
        let all_left = || self.left.load(Ordering::Acquire) == 0;
        if !spin_until(all_left) {
            let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
            while s.0 > 0 {
                s = self.zero.wait(s).unwrap_or_else(|e| e.into_inner());
            }
            drop(s);
            // Every job has counted down; the last ones are about to leave the latch.
            while !all_left() {
                std::hint::spin_loop();
            }
        }
        self.state.lock().unwrap_or_else(|e| e.into_inner()).1
    }
}

/// Waits for the latch when dropped, so the borrows lent to workers outlive their jobs
/// even if the calling thread's own part unwinds.
struct WaitOnDrop<'a>(&'a Latch);

impl Drop for WaitOnDrop<'_> {
    fn drop(&mut self) {
        self.0.wait();
    }
}

/// Sends `jobs` to the first workers, one each, starting workers as needed. Returns the
/// jobs it could not hand out (a worker that could not be started).
fn submit(jobs: Vec<Job>) -> Vec<Job> {
    let workers = WORKERS.get_or_init(|| Mutex::new(Vec::new()));
    let mut workers = workers.lock().unwrap_or_else(|e| e.into_inner());
    let mut left = Vec::new();
    for (i, job) in jobs.into_iter().enumerate() {
        if workers.len() <= i {
            let (tx, rx) = channel::<Job>();
            let started = std::thread::Builder::new()
                .name(format!("lightos-worker-{i}"))
                .spawn(move || {
                    IS_WORKER.with(|w| w.set(true));
                    // Spin for the next job a little before blocking on the channel.
                    loop {
                        let next = std::cell::Cell::new(None);
                        let got = spin_until(|| match rx.try_recv() {
                            Ok(job) => {
                                next.set(Some(job));
                                true
                            }
                            Err(TryRecvError::Empty) => false,
                            Err(TryRecvError::Disconnected) => true,
                        });
                        let job = match next.take() {
                            Some(job) => job,
                            None if got => break,
                            None => match rx.recv() {
                                Ok(job) => job,
                                Err(_) => break,
                            },
                        };
                        job();
                    }
                });
            if started.is_err() {
                left.push(job);
                continue;
            }
            workers.push(tx);
        }
        if let Err(e) = workers[i].send(job) {
            left.push(e.0);
        }
    }
    left
}

/// Runs `f(range, state)` for every range of `parts` with its own element of `state`
/// (the two are zipped), the first on the calling thread and the others on pool workers,
/// and returns when all are done. A panic in any part is re-raised here.
pub fn run_parts<T, F>(parts: &[Range<usize>], state: &mut [T], f: F)
where
    T: Send,
    F: Fn(Range<usize>, &mut T) + Sync,
{
    let mut jobs = parts.iter().cloned().zip(state.iter_mut());
    let Some((first, first_state)) = jobs.next() else {
        return;
    };
    if parts.len() == 1 || IS_WORKER.with(|w| w.get()) {
        f(first, first_state);
        for (part, st) in jobs {
            f(part, st);
        }
        return;
    }
    let latch = Latch::new(parts.len() - 1);
    let guard = WaitOnDrop(&latch);
    let f = &f;
    let boxed: Vec<Job> = jobs
        .map(|(part, st)| {
            let latch = &latch;
            let job: Box<dyn FnOnce() + Send + '_> = Box::new(move || {
                let r = catch_unwind(AssertUnwindSafe(|| f(part, st)));
                latch.count_down(r.is_err());
            });
            // SAFETY: the job borrows `f`, `st` and `latch`, which live until this call
            // returns; `guard` makes the call wait for every job first (also on unwind).
            unsafe { std::mem::transmute::<Box<dyn FnOnce() + Send + '_>, Job>(job) }
        })
        .collect();
    for job in submit(boxed) {
        job();
    }
    f(first, first_state);
    drop(guard);
    if latch.wait() {
        resume_unwind(Box::new("a worker thread panicked in a CPU kernel"));
    }
}

/// Runs `f(range, state)` for every range of `parts`, handing the ranges out in order to
/// `state.len()` workers (the calling thread and pool workers, each with its own element
/// of `state`) as each finishes its last: a core that runs slower, or starts later, takes
/// fewer. Which worker runs a range must not matter to its result (every caller's ranges
/// compute their outputs the same way on any thread), so the bits stay fixed.
pub fn run_balanced<T, F>(parts: &[Range<usize>], state: &mut [T], f: F)
where
    T: Send,
    F: Fn(Range<usize>, &mut T) + Sync,
{
    let workers = state.len().min(parts.len());
    let next = AtomicUsize::new(0);
    let slots: Vec<Range<usize>> = (0..workers).map(|w| w..w + 1).collect();
    run_parts(&slots, &mut state[..workers], |_, st| {
        while let Some(part) = parts.get(next.fetch_add(1, Ordering::Relaxed)) {
            f(part.clone(), st);
        }
    });
}

/// Ranges per thread that [`run_balanced`] callers cut their work into: enough for a
/// faster core to take over a slower one's share, few enough that each stays large.
pub const BALANCE: usize = 4;

thread_local! {
    /// Scratch buffers kept between calls on this thread.
    static POOL: std::cell::RefCell<Vec<Vec<f32>>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Buffers larger than this (in elements) are freed after the call instead of kept.
const KEEP_MAX: usize = 8 << 20;

/// Runs `f` with `count` empty buffers, reusing the allocations of earlier calls on this
/// thread (so repeated calls do not page-fault fresh memory in).
pub(crate) fn with_buffers<R>(count: usize, f: impl FnOnce(&mut [Vec<f32>]) -> R) -> R {
    let mut bufs = POOL.with(|p| std::mem::take(&mut *p.borrow_mut()));
    if bufs.len() < count {
        bufs.resize_with(count, Vec::new);
    }
    for b in &mut bufs {
        b.clear();
    }
    let r = f(&mut bufs[..count]);
    bufs.retain(|b| b.capacity() <= KEEP_MAX);
    POOL.with(|p| *p.borrow_mut() = bufs);
    r
}

/// An output buffer's pointer, shared by the threads of one kernel call, each writing its
/// own disjoint part of it.
#[derive(Copy, Clone)]
pub(crate) struct SharedOut(pub(crate) *mut f32);

// SAFETY: the threads of a call write disjoint parts of the buffer, which outlives the
// call (`run_parts` returns only when every part is done).
unsafe impl Send for SharedOut {}
unsafe impl Sync for SharedOut {}

impl SharedOut {
    /// The pointer.
    pub(crate) fn get(self) -> *mut f32 {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_is_balanced_and_covers() {
        assert_eq!(split(10, 3), vec![0..4, 4..7, 7..10]);
        assert_eq!(split(2, 4), vec![0..1, 1..2]);
        assert!(split(0, 4).is_empty());
        assert_eq!(split(5, 0), vec![0..5]);
        assert_eq!(split(1000, 1000).len(), MAX_THREADS);
    }

    /// Every range runs exactly once, on one of the workers, each worker with its own
    /// state; more workers than ranges leave the extra states untouched.
    #[test]
    fn balanced_runs_each_range_once_on_some_worker() {
        for (units, ranges, workers) in [(100, 16, 3), (7, 7, 2), (5, 2, 4), (0, 4, 2)] {
            let parts = split(units, ranges);
            let mut state: Vec<Vec<Range<usize>>> = vec![Vec::new(); workers];
            run_balanced(&parts, &mut state, |part, seen| seen.push(part));
            let mut all: Vec<Range<usize>> = state.iter().flatten().cloned().collect();
            all.sort_by_key(|r| r.start);
            assert_eq!(all, parts, "{units} units in {ranges} ranges on {workers} workers");
            assert!(state.iter().skip(parts.len()).all(Vec::is_empty));
        }
    }
}
