//! The attention kernel against the reference interpreter: graphs with one `Attention`
//! node run on the CPU executor in strict and fast mode at 1, 2 and 4 threads give the
//! interpreter's bits for all four results, on the attention kernel where the form fits
//! and as a node where it does not.

use lightos_ir::{verify, AttentionAttrs, DType, Graph, Op, QkOutput, Tensor, TensorType};

use crate::backend::{Backend, CpuConfig};
use crate::cpu::Mode;
use crate::exec::Executor;
use crate::reference::Interpreter;

use crate::test_values::values;

/// Attributes with everything off.
fn attrs(qk_output: QkOutput) -> AttentionAttrs {
    AttentionAttrs {
        is_causal: false,
        q_num_heads: None,
        kv_num_heads: None,
        qk_output,
        scale: None,
        softcap: 0.0,
        softmax_precision: None,
        left_window: None,
        right_window: None,
    }
}

/// The mask operand of a case.
#[derive(Clone)]
enum MaskKind {
    None,
    /// A float mask of these dims, some terms `-inf`, and row 0 of the first entry all
    /// `-inf` (a row that attends to nothing).
    Float(Vec<usize>),
    /// A bool mask of these dims.
    Bool(Vec<usize>),
}

/// One attention graph and its inputs.
struct Case {
    a: AttentionAttrs,
    q: [usize; 4],
    kv_heads: usize,
    kv_len: usize,
    v_size: usize,
    mask: MaskKind,
    /// Past key and value of this length.
    past: Option<usize>,
}

impl Case {
    fn new(a: AttentionAttrs, q: [usize; 4], kv_heads: usize, kv_len: usize, v_size: usize) -> Case {
        Case {
            a,
            q,
            kv_heads,
            kv_len,
            v_size,
            mask: MaskKind::None,
            past: None,
        }
    }

    fn graph_and_inputs(&self) -> (Graph, Vec<Tensor>) {
        let [b, hq, sq, hd] = self.q;
        let (hkv, skv, dv) = (self.kv_heads, self.kv_len, self.v_size);
        let total = skv + self.past.unwrap_or(0);
        let mut g = Graph::new("attention");
        let mut inputs = Vec::new();
        let mut seed = 1;
        let mut input = |g: &mut Graph, name: &str, dims: Vec<usize>, t: Tensor| {
            let v = g.add_input(name, TensorType::fixed(t.dtype(), &dims));
            inputs.push(t);
            v
        };
        let mut random = |dims: &[usize], scale: f32| {
            seed += 1;
            let n = dims.iter().product();
            let v = values(seed, n).into_iter().map(|x| x * scale).collect();
            Tensor::from_vec(dims.to_vec(), v).unwrap()
        };
        let qv = input(&mut g, "q", self.q.to_vec(), random(&self.q, 2.0));
        let kv = input(&mut g, "k", vec![b, hkv, skv, hd], random(&[b, hkv, skv, hd], 2.0));
        let vv = input(&mut g, "v", vec![b, hkv, skv, dv], random(&[b, hkv, skv, dv], 1.0));
        let mask = match &self.mask {
            MaskKind::None => None,
            MaskKind::Float(dims) => {
                let n: usize = dims.iter().product();
                let last = *dims.last().unwrap();
                let mut m = random(dims, 3.0).as_slice::<f32>().unwrap().to_vec();
                for (i, x) in m.iter_mut().enumerate() {
                    if i < last || i % 5 == 3 {
                        *x = f32::NEG_INFINITY;
                    }
                }
                assert_eq!(m.len(), n);
                let t = Tensor::from_vec(dims.clone(), m).unwrap();
                Some(input(&mut g, "mask", dims.clone(), t))
            }
            MaskKind::Bool(dims) => {
                let n: usize = dims.iter().product();
                let m: Vec<bool> = (0..n).map(|i| i % 3 != 1).collect();
                let t = Tensor::from_bools(dims.clone(), &m).unwrap();
                Some(input(&mut g, "mask", dims.clone(), t))
            }
        };
        let (pk, pv) = match self.past {
            Some(p) => (
                Some(input(
                    &mut g,
                    "past_key",
                    vec![b, hkv, p, hd],
                    random(&[b, hkv, p, hd], 2.0),
                )),
                Some(input(
                    &mut g,
                    "past_value",
                    vec![b, hkv, p, dv],
                    random(&[b, hkv, p, dv], 1.0),
                )),
            ),
            None => (None, None),
        };
        let types = vec![
            TensorType::fixed(DType::F32, &[b, hq, sq, dv]),
            TensorType::fixed(DType::F32, &[b, hkv, total, hd]),
            TensorType::fixed(DType::F32, &[b, hkv, total, dv]),
            TensorType::fixed(DType::F32, &[b, hq, sq, total]),
        ];
        let node = g.add_node(
            "attn",
            Op::Attention(self.a),
            vec![Some(qv), Some(kv), Some(vv), mask, pk, pv],
            types,
        );
        let results = g.node(node).results.clone();
        for (name, r) in ["y", "present_key", "present_value", "qk"].iter().zip(results) {
            g.add_output(*name, r);
        }
        verify(&g).expect("the attention graph verifies");
        (g, inputs)
    }

    /// Runs on the CPU executor in both modes at 1, 2 and 4 threads, expects the
    /// interpreter's bits for every result and the step `kernel`.
    fn check(&self, kernel: &str) {
        let (g, inputs) = self.graph_and_inputs();
        let want = Interpreter::new(&g).run(&inputs).unwrap();
        assert_eq!(want.len(), 4);
        for mode in [Mode::Strict, Mode::Fast] {
            for threads in [1, 2, 4] {
                let e = Executor::new(&g, Backend::Cpu(CpuConfig { mode, threads })).unwrap();
                let kinds = e.summary().kernels;
                assert_eq!(kinds, vec![(kernel.to_string(), 1, 1)], "{mode:?}");
                let got = e.run(&inputs).unwrap();
                for (r, (w, o)) in want.iter().zip(&got).enumerate() {
                    assert_eq!(w.dims(), o.dims(), "result {r}");
                    let (w, o) = (w.as_slice::<f32>().unwrap(), o.as_slice::<f32>().unwrap());
                    let same = w.iter().zip(o).all(|(a, b)| a.to_bits() == b.to_bits());
                    assert!(same, "result {r} differs ({mode:?}, {threads} threads): {w:?} vs {o:?}");
                }
            }
        }
    }
}

const MODES: [QkOutput; 4] = [QkOutput::Raw, QkOutput::Softcapped, QkOutput::Biased, QkOutput::Softmax];

#[test]
fn attention_kernel_without_mask_matches_the_reference() {
    for qk in MODES {
        // Odd sizes: 5 queries, 7 keys, head size 3.
        Case::new(attrs(qk), [2, 2, 5, 3], 2, 7, 3).check("attention");
    }
    // Sizes past the vector tiles (16 keys, 16 value columns) with tails, an explicit scale.
    let a = AttentionAttrs {
        scale: Some(0.3),
        ..attrs(QkOutput::Softmax)
    };
    Case::new(a, [1, 2, 37, 24], 1, 40, 20).check("attention");
}

#[test]
fn attention_kernel_with_float_masks_matches_the_reference() {
    for qk in MODES {
        for dims in [vec![1, 1, 5, 7], vec![2, 2, 5, 7], vec![5, 7], vec![2, 1, 1, 5]] {
            let c = Case {
                mask: MaskKind::Float(dims),
                ..Case::new(attrs(qk), [2, 2, 5, 3], 2, 7, 3)
            };
            c.check("attention");
        }
    }
    let c = Case {
        mask: MaskKind::Float(vec![1, 1, 33, 35]),
        ..Case::new(attrs(QkOutput::Biased), [2, 3, 33, 17], 3, 35, 18)
    };
    c.check("attention");
}

#[test]
fn attention_kernel_bool_mask_matches_the_reference() {
    let c = Case {
        mask: MaskKind::Bool(vec![2, 1, 5, 7]),
        ..Case::new(attrs(QkOutput::Softmax), [2, 2, 5, 3], 2, 7, 3)
    };
    c.check("attention");
}

#[test]
fn attention_kernel_causal_matches_the_reference() {
    for qk in MODES {
        let a = AttentionAttrs {
            is_causal: true,
            ..attrs(qk)
        };
        Case::new(a, [2, 2, 5, 3], 2, 7, 3).check("attention");
        let masked = Case {
            mask: MaskKind::Float(vec![1, 1, 5, 7]),
            ..Case::new(a, [1, 2, 5, 3], 2, 7, 3)
        };
        masked.check("attention");
    }
    // More queries than keys: the last queries see every key; rows split across tiles.
    let a = AttentionAttrs {
        is_causal: true,
        softmax_precision: Some(DType::F32),
        ..attrs(QkOutput::Softmax)
    };
    Case::new(a, [1, 1, 19, 8], 1, 17, 16).check("attention");
}

#[test]
fn attention_kernel_grouped_heads_match_the_reference() {
    for qk in MODES {
        // Four query heads on two key/value heads.
        Case::new(attrs(qk), [2, 4, 5, 3], 2, 7, 3).check("attention");
    }
    let a = AttentionAttrs {
        is_causal: true,
        ..attrs(QkOutput::Biased)
    };
    let c = Case {
        mask: MaskKind::Float(vec![2, 4, 6, 9]),
        ..Case::new(a, [2, 4, 6, 5], 1, 9, 2)
    };
    c.check("attention");
}

#[test]
fn unsupported_attention_falls_back_to_the_node() {
    // A key/value cache.
    let c = Case {
        past: Some(2),
        ..Case::new(attrs(QkOutput::Softmax), [1, 2, 5, 3], 2, 7, 3)
    };
    c.check("node");
    // A soft cap.
    let a = AttentionAttrs {
        softcap: 2.0,
        ..attrs(QkOutput::Softcapped)
    };
    Case::new(a, [1, 2, 5, 3], 2, 7, 3).check("node");
    // A window, and the softmax in f64.
    let a = AttentionAttrs {
        left_window: Some(1),
        ..attrs(QkOutput::Raw)
    };
    Case::new(a, [1, 2, 5, 3], 2, 7, 3).check("node");
    let a = AttentionAttrs {
        softmax_precision: Some(DType::F64),
        ..attrs(QkOutput::Softmax)
    };
    Case::new(a, [1, 2, 5, 3], 2, 7, 3).check("node");
}

/// Timing of a `[1, 8, 128, 64]` attention, reference interpreter against the kernel at
/// 1 and 2 threads (best of 5 runs each); run with `--ignored --nocapture` in release.
#[test]
#[ignore]
fn attention_kernel_timing() {
    let c = Case::new(attrs(QkOutput::Raw), [1, 8, 128, 64], 8, 128, 64);
    let (g, inputs) = c.graph_and_inputs();
    let best = |f: &dyn Fn()| {
        (0..5)
            .map(|_| {
                let t = std::time::Instant::now();
                f();
                t.elapsed()
            })
            .min()
            .unwrap_or_default()
    };
    let interp = Interpreter::new(&g);
    let reference = best(&|| drop(interp.run(&inputs).unwrap()));
    println!("reference: {reference:?}");
    for threads in [1, 2] {
        let e = Executor::new(
            &g,
            Backend::Cpu(CpuConfig {
                mode: Mode::Fast,
                threads,
            }),
        )
        .unwrap();
        let t = best(&|| drop(e.run(&inputs).unwrap()));
        println!("kernel, {threads} threads: {t:?}");
    }
}
