//! Concatenation as a copy spread over threads.
//!
//! A concatenation of row-major pieces along an axis is, for each index of the axes before
//! it (`outer` of them), each piece's chunk for that index, one after another. The output
//! is cut into equal ranges, one per thread, and each thread copies the parts of the
//! chunks that fall in its range. A copy changes no bits, so neither does the split.

use super::gemm::expect_len;
use super::threads::{self, SharedOut};
use super::CpuError;

/// Outputs shorter than this many elements are copied on the calling thread: waking a
/// worker costs more than it saves.
const PARALLEL_ELEMENTS: usize = 1 << 16;

/// Writes the concatenation of `pieces` into `out`: for each of `outer` indices, each
/// piece's `len / outer` elements for it in turn, on up to `threads` threads.
pub fn concat_f32(threads: usize, outer: usize, pieces: &[&[f32]], out: &mut [f32]) -> Result<(), CpuError> {
    if threads == 0 {
        return Err(CpuError::Invalid("thread count must be at least 1".into()));
    }
    let outer = outer.max(1);
    if let Some(p) = pieces.iter().position(|p| !p.len().is_multiple_of(outer)) {
        return Err(CpuError::Invalid(format!(
            "concat piece {p} has {} elements, not a multiple of the {outer} outer indices",
            pieces[p].len()
        )));
    }
    expect_len("concat output", pieces.iter().map(|p| p.len()).sum(), out.len())?;
    // Each chunk as (start in `out`, source), in output order.
    let mut chunks = Vec::with_capacity(outer * pieces.len());
    let mut at = 0;
    for o in 0..outer {
        for p in pieces {
            let len = p.len() / outer;
            chunks.push((at, &p[o * len..(o + 1) * len]));
            at += len;
        }
    }
    let workers = threads.min(out.len().div_ceil(PARALLEL_ELEMENTS));
    let parts = threads::split(out.len(), workers);
    let dst = SharedOut(out.as_mut_ptr());
    let mut unit = vec![(); parts.len()];
    threads::run_parts(&parts, &mut unit, |range, _| {
        for &(start, src) in &chunks {
            let (lo, hi) = (start.max(range.start), (start + src.len()).min(range.end));
            if lo < hi {
                // SAFETY: `lo..hi` lies inside `out` (its length was checked) and inside
                // this part's range, which no other part writes.
                unsafe {
                    std::ptr::copy_nonoverlapping(src.as_ptr().add(lo - start), dst.get().add(lo), hi - lo);
                }
            }
        }
    });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The concatenation the plain way, for comparison.
    fn concat_plain(outer: usize, pieces: &[&[f32]]) -> Vec<f32> {
        let mut out = Vec::new();
        for o in 0..outer {
            for p in pieces {
                let len = p.len() / outer;
                out.extend_from_slice(&p[o * len..(o + 1) * len]);
            }
        }
        out
    }

    #[test]
    fn copies_every_chunk_in_order_at_any_thread_count() {
        // Large enough to be split; pieces of different lengths and several outer indices.
        let a: Vec<f32> = (0..3 * 40_000).map(|i| i as f32).collect();
        let b: Vec<f32> = (0..3 * 25_001).map(|i| -(i as f32)).collect();
        let c: Vec<f32> = (0..3).map(|i| 0.5 + i as f32).collect();
        for outer in [1, 3] {
            let pieces: [&[f32]; 3] = [&a, &b, &c];
            let want = concat_plain(outer, &pieces);
            for threads in [1, 2, 4] {
                let mut out = vec![f32::NAN; want.len()];
                concat_f32(threads, outer, &pieces, &mut out).unwrap();
                assert_eq!(out, want, "outer {outer}, {threads} threads");
            }
        }
    }

    #[test]
    fn rejects_wrong_sizes() {
        let a = [1.0f32; 4];
        let mut out = [0.0f32; 5];
        let e = concat_f32(1, 1, &[&a], &mut out).unwrap_err();
        assert!(e.to_string().contains("concat output"), "{e}");
        let mut out = [0.0f32; 4];
        let e = concat_f32(1, 3, &[&a], &mut out).unwrap_err();
        assert!(e.to_string().contains("not a multiple"), "{e}");
        assert!(concat_f32(0, 1, &[&a], &mut out).is_err());
    }
}
