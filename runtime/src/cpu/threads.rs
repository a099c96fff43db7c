//! A fixed split of work across threads.
//!
//! Work is cut into units that own disjoint output tiles (row or column panels of one
//! GEMM, column panels of one image and group of a convolution); [`split`] hands each
//! thread one contiguous run of units, and [`run_parts`] runs them under
//! [`std::thread::scope`]. Every output element is computed whole by one thread, with
//! the same K order whichever thread it is, so the thread count never changes a bit:
//! K is never split across threads.

use std::ops::Range;

/// Splits `units` into at most `parts` contiguous, non-empty ranges whose sizes differ by
/// at most one, in order. No units give no ranges.
pub fn split(units: usize, parts: usize) -> Vec<Range<usize>> {
    let parts = parts.clamp(1, units.max(1));
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

/// Runs `f` on every range of `parts`, each on its own thread (the first on the calling
/// thread), and returns when all are done.
pub fn run_parts<F>(parts: &[Range<usize>], f: F)
where
    F: Fn(Range<usize>) + Sync,
{
    match parts {
        [] => {}
        [only] => f(only.clone()),
        [first, rest @ ..] => std::thread::scope(|s| {
            let f = &f;
            for part in rest {
                let part = part.clone();
                s.spawn(move || f(part));
            }
            f(first.clone());
        }),
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
    }
}
