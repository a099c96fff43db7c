//! GFLOP/s of the CPU backend's GEMM and convolution kernels, fast and strict, on one and
//! two threads, against the reference interpreter and this core's measured peak.
//!
//! Run with `cargo bench -p lightos-runtime --bench gemm` (add `-- quick` for fewer
//! repetitions, and words such as `512` or `conv` to run only the matching cases; set
//! `BENCH_REPS=N` for N repetitions, e.g. to profile one case under `perf`). Each figure
//! is the best of several runs; the peak is a tight loop of
//! independent AVX2 FMAs (and of multiply + add pairs, the strict kernel's instruction
//! mix) in registers.

use std::hint::black_box;
use std::time::Instant;

use lightos_ir::op::{ConvAttrs, Padding};
use lightos_ir::{Op, Tensor};
use lightos_runtime::cpu::{
    conv2d_fused_f32, conv2d_packed_f32, gemm_f32, Conv2dParams, ConvFusion, Epilogue, Isa, MatRef, Mode,
    PackedConvWeights,
};
use lightos_runtime::reference::eval_op;

/// Nanoseconds this thread has run on a CPU (Linux `CLOCK_THREAD_CPUTIME_ID`), to see
/// through the load of other processes.
#[cfg(target_os = "linux")]
fn thread_cpu_ns() -> Option<u64> {
    #[repr(C)]
    struct Timespec {
        sec: i64,
        nsec: i64,
    }
    extern "C" {
        fn clock_gettime(clock: i32, ts: *mut Timespec) -> i32;
    }
    const CLOCK_THREAD_CPUTIME_ID: i32 = 3;
    let mut ts = Timespec { sec: 0, nsec: 0 };
    // SAFETY: `ts` is a valid `struct timespec` (64-bit Linux layout).
    let rc = unsafe { clock_gettime(CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    (rc == 0).then(|| ts.sec as u64 * 1_000_000_000 + ts.nsec as u64)
}

/// Not measured elsewhere.
#[cfg(not(target_os = "linux"))]
fn thread_cpu_ns() -> Option<u64> {
    None
}

/// Best wall time of `reps` runs of `f`, in seconds.
fn best(reps: usize, f: impl FnMut()) -> f64 {
    best_both(reps, f).0
}

/// Best wall time and best on-CPU time of this thread (meaningful when `f` runs on the
/// calling thread only) of `reps` runs of `f`, in seconds.
fn best_both(reps: usize, mut f: impl FnMut()) -> (f64, Option<f64>) {
    f();
    let (mut wall, mut cpu) = (f64::INFINITY, None::<f64>);
    for _ in 0..reps {
        let c0 = thread_cpu_ns();
        let t = Instant::now();
        f();
        wall = wall.min(t.elapsed().as_secs_f64());
        if let (Some(a), Some(b)) = (c0, thread_cpu_ns()) {
            let c = (b - a) as f64 * 1e-9;
            cpu = Some(cpu.map_or(c, |x: f64| x.min(c)));
        }
    }
    (wall, cpu)
}

/// Deterministic data in `[-1, 1)`.
fn data(n: usize, seed: u64) -> Vec<f32> {
    let mut s = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    (0..n)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            (s >> 40) as f32 / (1u64 << 23) as f32 - 1.0
        })
        .collect()
}

#[cfg(target_arch = "x86_64")]
mod peak {
    use std::arch::x86_64::*;

    /// `iters` rounds of 12 independent 8-lane FMAs (or multiply + add pairs) whose B
    /// operand comes from L1, as in the 6 x 16 microkernel.
    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn run(iters: usize, buf: &[f32], fma: bool) -> f32 {
        let mut acc = [_mm256_setzero_ps(); 12];
        let p = buf.as_ptr();
        for i in 0..iters {
            let o = (i & 63) * 16;
            let b0 = _mm256_loadu_ps(p.add(o));
            let b1 = _mm256_loadu_ps(p.add(o + 8));
            for r in 0..6 {
                let a = _mm256_broadcast_ss(&*p.add(o + r + 1024));
                if fma {
                    acc[2 * r] = _mm256_fmadd_ps(a, b0, acc[2 * r]);
                    acc[2 * r + 1] = _mm256_fmadd_ps(a, b1, acc[2 * r + 1]);
                } else {
                    acc[2 * r] = _mm256_add_ps(acc[2 * r], _mm256_mul_ps(a, b0));
                    acc[2 * r + 1] = _mm256_add_ps(acc[2 * r + 1], _mm256_mul_ps(a, b1));
                }
            }
        }
        let mut s = _mm256_setzero_ps();
        for v in acc {
            s = _mm256_add_ps(s, v);
        }
        let mut o = [0f32; 8];
        _mm256_storeu_ps(o.as_mut_ptr(), s);
        o.iter().sum()
    }
}

/// Single-core peak GFLOP/s of (FMA, multiply + add), when AVX2 is here.
fn peak(reps: usize) -> Option<(f64, f64)> {
    #[cfg(target_arch = "x86_64")]
    if Isa::Avx2.is_available() {
        let buf = data(4096, 1);
        let iters = 20_000_000;
        let flops = iters as f64 * 12.0 * 16.0;
        let mut g = [0.0; 2];
        for (slot, fma) in g.iter_mut().zip([true, false]) {
            // SAFETY: AVX2 and FMA were detected.
            let t = best(reps, || {
                black_box(unsafe { peak::run(iters, black_box(&buf), fma) });
            });
            *slot = flops / t / 1e9;
        }
        return Some((g[0], g[1]));
    }
    let _ = reps;
    None
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with("--")).collect();
    let quick = args.iter().any(|a| a == "quick");
    let filters: Vec<&String> = args.iter().filter(|a| *a != "quick").collect();
    let wanted = |name: &str| filters.is_empty() || filters.iter().any(|f| name.contains(f.as_str()));
    let reps = std::env::var("BENCH_REPS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if quick { 3 } else { 10 });
    let isa = Isa::detect();
    println!("isa: {isa:?}");
    let pk = if wanted("peak") || filters.is_empty() {
        peak(reps)
    } else {
        None
    };
    if let Some((fma, muladd)) = pk {
        println!("single-core peak: fma {fma:.1} GFLOP/s, mul+add {muladd:.1} GFLOP/s");
    }
    let frac = |g: f64, threads: usize| match pk {
        Some((p, _)) => format!(" ({:.0}% of {threads} x fma peak)", 100.0 * g / (p * threads as f64)),
        None => String::new(),
    };

    let on_cpu = |flops: f64, cpu: Option<f64>, threads: usize| match (cpu, threads, pk) {
        (Some(c), 1, Some((p, _))) => {
            format!(
                "; on-CPU {:.1} GFLOP/s ({:.0}%)",
                flops / c / 1e9,
                100.0 * flops / c / 1e9 / p
            )
        }
        _ => String::new(),
    };
    for s in [256usize, 512, 1024] {
        let (a, b) = (data(s * s, 2), data(s * s, 3));
        let flops = 2.0 * (s * s * s) as f64;
        let mut out = vec![0.0f32; s * s];
        for mode in [Mode::Fast, Mode::Strict] {
            for threads in [1, 2] {
                if !wanted(&format!("gemm {s}x{s}x{s} {mode:?} t{threads}")) {
                    continue;
                }
                let (t, cpu) = best_both(reps, || {
                    gemm_f32(
                        isa,
                        mode,
                        threads,
                        MatRef::row_major(&a, s, s),
                        MatRef::row_major(&b, s, s),
                        &Epilogue::none(),
                        &mut out,
                    )
                    .unwrap();
                });
                let g = flops / t / 1e9;
                println!(
                    "gemm {s}x{s}x{s} {mode:?} t{threads}: {:.3} ms, {g:.1} GFLOP/s{}{}",
                    t * 1e3,
                    frac(g, threads),
                    on_cpu(flops, cpu, threads)
                );
            }
        }
        if s <= 512 && wanted(&format!("gemm {s}x{s}x{s} reference")) {
            let (at, bt) = (
                Tensor::from_vec(vec![s, s], a.clone()).unwrap(),
                Tensor::from_vec(vec![s, s], b.clone()).unwrap(),
            );
            let t = best(1, || {
                black_box(eval_op(&Op::MatMul, &[Some(&at), Some(&bt)]).unwrap());
            });
            println!(
                "gemm {s}x{s}x{s} reference: {:.3} ms, {:.2} GFLOP/s",
                t * 1e3,
                flops / t / 1e9
            );
        }
    }

    // 3x3 convolutions of ResNet and VGG stages with weights packed ahead of time, as the
    // executor runs them (fast mode takes the Winograd path there); GFLOP/s counts the
    // direct convolution's flops.
    // 3x3 stride-1 shapes of ResNet and VGG, and the small-K 1x1 and first-layer shapes of
    // ResNet, SqueezeNet and ShuffleNet: (cin, cout, kernel, stride, pad, input size).
    let shapes: [(usize, usize, usize, usize, usize, usize); 20] = [
        (128, 32, 3, 1, 1, 56),
        (128, 32, 3, 1, 1, 14),
        (128, 32, 3, 1, 1, 28),
        (64, 256, 3, 1, 1, 13),
        (64, 64, 3, 1, 1, 56),
        (16, 64, 3, 1, 1, 55),
        (32, 128, 3, 1, 1, 27),
        (128, 128, 3, 1, 1, 28),
        (256, 256, 3, 1, 1, 14),
        (512, 512, 3, 1, 1, 14),
        (512, 512, 3, 1, 1, 7),
        (16, 64, 1, 1, 0, 55),
        (64, 16, 1, 1, 0, 55),
        (64, 64, 1, 1, 0, 56),
        (64, 256, 1, 1, 0, 56),
        (512, 2048, 1, 1, 0, 7),
        (512, 1000, 1, 1, 0, 13),
        (3, 64, 3, 2, 0, 224),
        (3, 24, 3, 2, 1, 224),
        (3, 64, 7, 2, 3, 224),
    ];
    for (cin, cout, k, stride, pad, hw) in shapes {
        let name = format!("packed conv {k}x{k} s{stride} {cin}->{cout} {hw}x{hw}");
        let mut p = Conv2dParams::new(1, cin, [hw, hw], cout, [k, k]);
        p.padding = Padding::Explicit(vec![pad; 4]);
        p.strides = [stride, stride];
        let ohw = (hw + 2 * pad - k) / stride + 1;
        let (x, w, bias) = (data(cin * hw * hw, 4), data(cout * cin * k * k, 5), data(cout, 6));
        let flops = 2.0 * (cout * ohw * ohw * cin * k * k) as f64;
        let mut out = vec![0.0f32; cout * ohw * ohw];
        let fusion = ConvFusion {
            activation: lightos_runtime::cpu::Activation::Relu,
            ..ConvFusion::default()
        };
        for mode in [Mode::Fast, Mode::Strict] {
            if ![1, 2].iter().any(|t| wanted(&format!("{name} {mode:?} t{t}"))) {
                continue;
            }
            let packed = PackedConvWeights::new(isa, mode, &p, &w).unwrap();
            for threads in [1, 2] {
                if !wanted(&format!("{name} {mode:?} t{threads}")) {
                    continue;
                }
                let (t, cpu) = best_both(reps, || {
                    conv2d_packed_f32(isa, mode, threads, &p, &x, &w, &packed, Some(&bias), &fusion, &mut out).unwrap();
                });
                let g = flops / t / 1e9;
                println!(
                    "{name} {mode:?} t{threads}: {:.3} ms, {g:.1} GFLOP/s{}{}",
                    t * 1e3,
                    frac(g, threads),
                    on_cpu(flops, cpu, threads)
                );
            }
        }
    }

    // ResNet-like 3x3 convolution, 64 -> 64 channels on 56 x 56, padding 1.
    let mut p = Conv2dParams::new(1, 64, [56, 56], 64, [3, 3]);
    p.padding = Padding::Explicit(vec![1, 1, 1, 1]);
    let (x, w, bias) = (data(64 * 56 * 56, 4), data(64 * 64 * 9, 5), data(64, 6));
    let flops = 2.0 * (64 * 56 * 56 * 64 * 9) as f64;
    let mut out = vec![0.0f32; 64 * 56 * 56];
    let fusion = ConvFusion::default();
    for mode in [Mode::Fast, Mode::Strict] {
        for threads in [1, 2] {
            if !wanted(&format!("conv 3x3 64->64 56x56 {mode:?} t{threads}")) {
                continue;
            }
            let (t, cpu) = best_both(reps, || {
                conv2d_fused_f32(isa, mode, threads, &p, &x, &w, Some(&bias), &fusion, &mut out).unwrap();
            });
            let g = flops / t / 1e9;
            println!(
                "conv 3x3 64->64 56x56 {mode:?} t{threads}: {:.3} ms, {g:.1} GFLOP/s{}{}",
                t * 1e3,
                frac(g, threads),
                on_cpu(flops, cpu, threads)
            );
        }
    }
    if !wanted("conv 3x3 64->64 56x56 reference") {
        return;
    }
    let attrs = ConvAttrs {
        kernel: vec![3, 3],
        strides: vec![1, 1],
        dilations: vec![1, 1],
        padding: Padding::Explicit(vec![1, 1, 1, 1]),
        group: 1,
    };
    let xt = Tensor::from_vec(vec![1, 64, 56, 56], x).unwrap();
    let wt = Tensor::from_vec(vec![64, 64, 3, 3], w).unwrap();
    let bt = Tensor::from_vec(vec![64], bias).unwrap();
    let t = best(1, || {
        black_box(eval_op(&Op::Conv(attrs.clone()), &[Some(&xt), Some(&wt), Some(&bt)]).unwrap());
    });
    println!(
        "conv 3x3 64->64 56x56 reference: {:.3} ms, {:.2} GFLOP/s",
        t * 1e3,
        flops / t / 1e9
    );
}
