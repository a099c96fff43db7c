//! Native (Cranelift) elementwise kernels against the reference kernels they replace on
//! the CPU backend, on 1M `f32` elements.
//!
//! Run with `cargo bench -p lightos-codegen --bench native_elementwise`. Each group has
//! four functions: `reference` (`lightos_runtime::reference::eval_op`, output allocation
//! included), `native_scalar` (the kernel compiled without SIMD, preallocated buffers),
//! `native` (with SIMD, preallocated buffers) and `native_alloc` (the SIMD
//! kernel plus a fresh output tensor, which is what a node costs on the CPU backend). The
//! speed ratio is `reference / native_alloc`.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use lightos_codegen::cranelift::CpuTarget;
use lightos_codegen::kernel::{lower_op, OperandInfo};
use lightos_ir::{BinaryOp, DType, Op, Tensor, UnaryOp};
use lightos_runtime::native::{KernelArg, NativeKernel};
use lightos_runtime::reference::eval_op;

/// Elements per operand.
const N: usize = 1 << 20;

/// A deterministic tensor of `dims` with values in about [-1, 1).
fn tensor(dims: &[usize], seed: u32) -> Tensor {
    let len: usize = dims.iter().product();
    let mut s = seed.wrapping_mul(2_654_435_761).max(1);
    let data: Vec<f32> = (0..len)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 17;
            s ^= s << 5;
            (s as f32 / u32::MAX as f32) * 2.0 - 1.0
        })
        .collect();
    Tensor::from_vec(dims.to_vec(), data).expect("sizes agree")
}

/// Compiles `op` on `inputs` for this machine (with or without SIMD) and maps it.
fn native(op: &Op, inputs: &[&Tensor], simd: bool) -> NativeKernel {
    let infos: Vec<Option<OperandInfo<'_>>> = inputs
        .iter()
        .map(|t| {
            Some(OperandInfo {
                dtype: t.dtype(),
                dims: t.dims(),
                value: None,
            })
        })
        .collect();
    let lowered = lower_op("bench", op, &infos).expect("the op is lowered");
    let code = CpuTarget::host()
        .expect("this machine is supported")
        .with_simd(simd)
        .compile(&lowered.kernel)
        .expect("the kernel compiles");
    // SAFETY: the code was just produced by the LightOS writer for these parameters.
    unsafe { NativeKernel::load(&code) }.expect("the kernel loads on its own machine")
}

/// One group: `op` on `inputs`, reference against native.
fn compare(c: &mut Criterion, name: &str, op: Op, inputs: &[&Tensor], out_dims: &[usize]) {
    let kernel = native(&op, inputs, true);
    let scalar = native(&op, inputs, false);
    let operands: Vec<Option<&Tensor>> = inputs.iter().map(|&t| Some(t)).collect();
    // The native result must be the reference's bits.
    let want = eval_op(&op, &operands).expect("the reference runs");
    let mut out = vec![0f32; out_dims.iter().product()];
    let run = |k: &NativeKernel, out: &mut [f32]| {
        let mut args: Vec<KernelArg<'_>> = inputs.iter().map(|t| KernelArg::Read(t.bytes())).collect();
        args.push(KernelArg::write(out));
        k.run(&mut args).expect("the arguments fit");
    };
    for k in [&kernel, &scalar] {
        out.fill(0.0);
        run(k, &mut out);
        let got: &[u8] = bytemuck::cast_slice(&out);
        assert_eq!(got, want[0].bytes(), "{name}: native differs from the reference");
    }
    let mut g = c.benchmark_group(name);
    g.sample_size(30);
    g.bench_function("reference", |b| {
        b.iter(|| black_box(eval_op(&op, black_box(&operands))))
    });
    g.bench_function("native_scalar", |b| b.iter(|| run(&scalar, black_box(&mut out))));
    g.bench_function("native", |b| b.iter(|| run(&kernel, black_box(&mut out))));
    g.bench_function("native_alloc", |b| {
        b.iter(|| {
            let mut words = vec![0u64; (out_dims.iter().product::<usize>() * 4).div_ceil(8)];
            {
                let bytes: &mut [u8] = bytemuck::cast_slice_mut(&mut words);
                let len = out_dims.iter().product::<usize>() * 4;
                let mut args: Vec<KernelArg<'_>> = inputs.iter().map(|t| KernelArg::Read(t.bytes())).collect();
                args.push(KernelArg::Write(&mut bytes[..len]));
                kernel.run(&mut args).expect("the arguments fit");
            }
            black_box(Tensor::from_words(DType::F32, out_dims.to_vec(), words).expect("sizes agree"))
        })
    });
    g.finish();
}

fn benches(c: &mut Criterion) {
    let x = tensor(&[N], 1);
    let y = tensor(&[N], 2);
    let m = tensor(&[1024, 1024], 3);
    let bias = tensor(&[1024], 4);
    compare(c, "relu_1m", Op::Unary(UnaryOp::Relu), &[&x], &[N]);
    compare(c, "add_1m", Op::Binary(BinaryOp::Add), &[&x, &y], &[N]);
    compare(c, "max_1m", Op::Binary(BinaryOp::Max), &[&x, &y], &[N]);
    compare(
        c,
        "add_bias_1024x1024",
        Op::Binary(BinaryOp::Add),
        &[&m, &bias],
        &[1024, 1024],
    );
}

criterion_group!(native_elementwise, benches);
criterion_main!(native_elementwise);
