//! Tests of the native code section and loader (running real code only where the host
//! can: a hand-assembled x86-64 kernel).

use lightos_ir::DType;

use super::*;

fn param(name: &str, dims: &[usize], writable: bool) -> ParamSpec {
    ParamSpec {
        name: name.into(),
        dtype: DType::F32,
        dims: dims.to_vec(),
        strides: lightos_ir::shape::strides(dims),
        writable,
    }
}

/// `buffers[1][0] = buffers[0][0]` (4 bytes), for x86-64 System V.
const COPY_X86: [u8; 13] = [
    0x48, 0x8b, 0x07, // mov rax, [rdi]
    0x8b, 0x08, // mov ecx, [rax]
    0x48, 0x8b, 0x57, 0x08, // mov rdx, [rdi + 8]
    0x89, 0x0a, // mov [rdx], ecx
    0xc3, // ret
    0xcc, // int3 (never reached)
];

fn copy_kernel(triple: &str) -> NativeKernelCode {
    NativeKernelCode {
        name: "copy".into(),
        triple: triple.into(),
        features: vec![],
        code: COPY_X86.to_vec(),
        entry: 0,
        params: vec![param("x", &[1], false), param("y", &[1], true)],
        callees: vec![],
    }
}

#[test]
fn section_round_trips() {
    let mut a = copy_kernel("x86_64-unknown-linux-gnu");
    a.callees.push(CalleeSpec {
        symbol: "exp_f32".into(),
        arity: 1,
    });
    a.features = vec!["sse4.1".into()];
    let mut b = copy_kernel("aarch64-unknown-linux-gnu");
    b.name = "other".into();
    b.code = vec![0xc0, 0x03, 0x5f, 0xd6];
    b.params[0].dims = vec![2, 3];
    b.params[0].strides = vec![1, 2];
    let bytes = encode_section(&[a.clone(), b.clone()]);
    assert_eq!(bytes[..8], SECTION_MAGIC);
    assert_eq!(decode_section(&bytes).unwrap(), vec![a, b]);
    assert_eq!(decode_section(&encode_section(&[])).unwrap(), vec![]);
}

#[test]
fn damaged_sections_are_refused() {
    let good = encode_section(&[copy_kernel("x86_64-unknown-linux-gnu")]);
    let malformed = |bytes: &[u8]| match decode_section(bytes) {
        Err(NativeError::Malformed(m)) => m,
        other => panic!("expected a malformed section, got {other:?}"),
    };
    assert!(malformed(&good[..10]).contains("fewer than"));
    let mut b = good.clone();
    b[0] = b'X';
    assert!(malformed(&b).contains("magic"));
    let mut b = good.clone();
    b[8] = 9;
    assert!(malformed(&b).contains("version 9"));
    let mut b = good.clone();
    b[16..24].copy_from_slice(&u64::MAX.to_le_bytes());
    assert!(malformed(&b).contains("runs past"));
    // Cut into the code.
    assert!(malformed(&good[..good.len() - 1]).contains("outside the payload"));
    // Every truncation fails cleanly, never panics.
    for n in 0..good.len() {
        assert!(decode_section(&good[..n]).is_err());
    }
    // Header edits (same length): bad entry, bad dtype, bad JSON.
    let mut small = copy_kernel("x86_64-unknown-linux-gnu");
    small.code = vec![0xc3, 0xcc, 0xcc, 0xcc];
    let good = encode_section(&[small]);
    let edit = |from: &str, to: &str| {
        assert_eq!(from.len(), to.len());
        let at = good.windows(from.len()).position(|w| w == from.as_bytes()).unwrap();
        let mut b = good.clone();
        b[at..at + to.len()].copy_from_slice(to.as_bytes());
        b
    };
    assert!(malformed(&edit("\"entry\":0", "\"entry\":7")).contains("entry"));
    assert!(malformed(&edit("\"f32\"", "\"q32\"")).contains("unknown dtype"));
    assert!(malformed(&edit("[{", "{{")).contains("bad header"));
}

#[test]
fn foreign_code_is_refused() {
    let other = if cfg!(target_arch = "aarch64") {
        "x86_64-unknown-linux-gnu"
    } else {
        "aarch64-unknown-linux-gnu"
    };
    // SAFETY: refused before anything is mapped or run.
    let err = unsafe { NativeKernel::load(&copy_kernel(other)) }.unwrap_err();
    assert!(matches!(err, NativeError::ForeignTarget { .. }), "{err}");
    let msg = err.to_string();
    assert!(msg.contains(other) && msg.contains(&host_triple()), "{msg}");
}

#[test]
fn missing_features_and_callees_are_refused() {
    let mut k = copy_kernel(&host_triple());
    k.features = vec!["no-such-feature".into()];
    // SAFETY: refused before anything is mapped or run.
    let err = unsafe { NativeKernel::load(&k) }.unwrap_err();
    assert!(matches!(err, NativeError::MissingFeature { ref feature, .. } if feature == "no-such-feature"));
    let mut k = copy_kernel(&host_triple());
    k.callees = vec![CalleeSpec {
        symbol: "exp_f32".into(),
        arity: 2,
    }];
    // SAFETY: as above.
    let err = unsafe { NativeKernel::load(&k) }.unwrap_err();
    assert!(matches!(err, NativeError::UnknownCallee { .. }), "{err}");
    let mut k = copy_kernel(&host_triple());
    k.entry = k.code.len();
    // SAFETY: as above.
    let err = unsafe { NativeKernel::load(&k) }.unwrap_err();
    assert!(matches!(err, NativeError::InvalidKernel { .. }), "{err}");
}

#[test]
fn math_symbols_resolve() {
    assert_eq!(math_symbol("exp_f32").map(|f| f.arity), Some(1));
    assert_eq!(math_symbol("pow_f64").map(|f| f.arity), Some(2));
    assert!(math_symbol("exp").is_none());
    let f = math_symbol("exp_f64").unwrap();
    // SAFETY: the table holds `extern "C" fn(f64) -> f64` for `_f64` unary symbols.
    let exp: extern "C" fn(f64) -> f64 = unsafe { std::mem::transmute(f.address) };
    assert_eq!(exp(1.0).to_bits(), crate::math::exp_f64(1.0).to_bits());
}

#[cfg(all(target_arch = "x86_64", not(windows)))]
#[test]
fn runs_x86_code_and_checks_arguments() {
    // SAFETY: COPY_X86 reads 4 bytes of buffer 0 and writes 4 bytes of buffer 1.
    let k = unsafe { NativeKernel::load(&copy_kernel(&host_triple())) }.unwrap();
    let x = [2.5f32];
    let mut y = [0.0f32];
    k.run(&mut [KernelArg::read(&x), KernelArg::write(&mut y)]).unwrap();
    assert_eq!(y, [2.5]);

    let t = lightos_ir::Tensor::from_vec(vec![1], vec![-7.0f32]).unwrap();
    let out = k.run_tensors(&[&t]).unwrap();
    assert_eq!(out[0].as_slice::<f32>().unwrap(), &[-7.0]);

    let err = k.run(&mut [KernelArg::read(&x)]).unwrap_err();
    assert!(matches!(
        err,
        NativeError::ArgCount {
            expected: 2,
            given: 1,
            ..
        }
    ));
    let big = [0.0f32; 2];
    let err = k
        .run(&mut [KernelArg::read(&big), KernelArg::write(&mut y)])
        .unwrap_err();
    assert!(err.to_string().contains("buffer `x`: expected 4 bytes"), "{err}");
    let err = k.run(&mut [KernelArg::read(&x), KernelArg::read(&x)]).unwrap_err();
    assert!(err.to_string().contains("needs a writable argument"), "{err}");
    let bytes = [0u8; 8];
    let off = if bytes.as_ptr().align_offset(4) == 0 { 1 } else { 0 };
    let err = k
        .run(&mut [KernelArg::Read(&bytes[off..off + 4]), KernelArg::write(&mut y)])
        .unwrap_err();
    assert!(err.to_string().contains("aligned"), "{err}");
    let wrong = lightos_ir::Tensor::from_vec(vec![1, 1], vec![1.0f32]).unwrap();
    assert!(k.run_tensors(&[&wrong]).is_err());
}
