//! A fixed split of work across threads.
//!
//! Work is cut into units that own disjoint output tiles (row or column panels of one
//! GEMM, column panels of one image and group of a convolution); [`split`] hands each
//! thread one contiguous run of units, and [`run_parts`] runs them under
//! [`std::thread::scope`]. Every output element is computed whole by one thread, with
//! the same K order whichever thread it is, so the thread count never changes a bit:
//! K is never split across threads.

use std::ops::Range;

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

/// Runs `f(range, state)` for every range of `parts` with its own element of `state`
/// (the two are zipped), each on its own thread (the first on the calling thread), and
/// returns when all are done.
pub fn run_parts<T, F>(parts: &[Range<usize>], state: &mut [T], f: F)
where
    T: Send,
    F: Fn(Range<usize>, &mut T) + Sync,
{
    let mut jobs = parts.iter().cloned().zip(state.iter_mut());
    let Some((first, first_state)) = jobs.next() else {
        return;
    };
    if parts.len() == 1 {
        f(first, first_state);
        return;
    }
    std::thread::scope(|s| {
        let f = &f;
        for (part, st) in jobs {
            s.spawn(move || f(part, st));
        }
        f(first, first_state);
    });
}

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
}
