//! `lightos-cc bench`: latency and peak memory of an artifact.

use std::io::Write;
use std::time::{Duration, Instant};

use lightos_ir::{DType, Tensor};
use lightos_runtime::exec::Executor;
use lightos_runtime::model::Model;

use crate::cli::{read_inputs, BenchArgs};
use crate::error::CliError;

/// Runs the benchmark and prints its result.
pub fn bench_command(a: BenchArgs, out: &mut dyn Write) -> Result<(), CliError> {
    if a.iters == 0 {
        return Err(CliError::Inputs("--iters must be at least 1".into()));
    }
    let model = Model::load(&a.artifact)?;
    let backend = a.backend.backend(&model)?;
    let inputs = if a.inputs.is_empty() {
        seeded_inputs(&model)?
    } else {
        read_inputs(&model, &a.inputs)?
    };
    let executor = model.executor(backend)?;
    executor.run(&inputs)?;
    let mut times: Vec<Duration> = Vec::with_capacity(a.iters);
    for _ in 0..a.iters {
        let start = Instant::now();
        executor.run(&inputs)?;
        times.push(start.elapsed());
    }
    times.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let median = if times.len() % 2 == 1 {
        ms(times[times.len() / 2])
    } else {
        (ms(times[times.len() / 2 - 1]) + ms(times[times.len() / 2])) / 2.0
    };
    let min = ms(times[0]);
    let peak = peak_rss_bytes();
    let text = if a.json {
        format!("{{\"median_ms\": {median:.4}, \"min_ms\": {min:.4}, \"peak_bytes\": {peak}}}\n")
    } else {
        format!(
            "{}: median {median:.3} ms, min {min:.3} ms over {} runs; peak memory {peak} bytes\n",
            a.artifact.display(),
            a.iters
        )
    };
    let text = match a.profile {
        Some(top) => text + &profile(&executor, &inputs, a.iters, top)?,
        None => text,
    };
    out.write_all(text.as_bytes()).map_err(|source| CliError::Io {
        action: "write to",
        path: "<stdout>".into(),
        source,
    })
}

/// Times every step over `iters` runs and reports the `top` slowest steps by median, then
/// the medians summed per kernel kind.
fn profile(executor: &Executor, inputs: &[Tensor], iters: usize, top: usize) -> Result<String, CliError> {
    let labels = executor.step_labels();
    let mut runs = vec![vec![Duration::ZERO; labels.len()]; iters];
    for times in &mut runs {
        executor.run_profiled(inputs, times)?;
    }
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let medians: Vec<f64> = (0..labels.len())
        .map(|s| {
            let mut t: Vec<f64> = runs.iter().map(|r| ms(r[s])).collect();
            t.sort_by(f64::total_cmp);
            t[t.len() / 2]
        })
        .collect();
    let total: f64 = medians.iter().sum();
    let share = |t: f64| if total > 0.0 { 100.0 * t / total } else { 0.0 };
    let mut order: Vec<usize> = (0..labels.len()).collect();
    order.sort_by(|&x, &y| medians[y].total_cmp(&medians[x]));
    let mut text = format!(
        "steps by median time over {iters} runs (sum {total:.3} ms):\n{:>5} {:>9} {:>6}  {:<19} {:<24} {:<20} node\n",
        "step", "ms", "%", "kernel", "result", "ops"
    );
    for &s in order.iter().take(top) {
        let l = &labels[s];
        text += &format!(
            "{s:>5} {:>9.3} {:>5.1}%  {:<19} {:<24} {:<20} {}\n",
            medians[s],
            share(medians[s]),
            l.kernel,
            l.shape,
            l.ops,
            l.node
        );
    }
    let mut kinds: std::collections::BTreeMap<&str, (usize, f64)> = Default::default();
    for (l, &t) in labels.iter().zip(&medians) {
        let e = kinds.entry(l.kernel).or_default();
        e.0 += 1;
        e.1 += t;
    }
    let mut kinds: Vec<_> = kinds.into_iter().collect();
    kinds.sort_by(|x, y| y.1 .1.total_cmp(&x.1 .1));
    text += "per kernel kind:\n";
    for (kind, (steps, t)) in kinds {
        text += &format!("  {kind:<19} {steps:>4} steps {t:>9.3} ms {:>5.1}%\n", share(t));
    }
    Ok(text)
}

/// Inputs of the model's (fixed) input shapes, uniform in [0, 1) from a fixed-seed
/// generator (floats), or zeros (other dtypes).
fn seeded_inputs(model: &Model) -> Result<Vec<Tensor>, CliError> {
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 40) as f32 / (1u64 << 24) as f32
    };
    model
        .graph()
        .inputs()
        .iter()
        .map(|port| {
            let ty = model.graph().ty(port.value);
            let dims = ty.shape.as_fixed().ok_or_else(|| {
                CliError::Inputs(format!(
                    "input \"{}\" has shape {}: give it with --input",
                    port.name, ty.shape
                ))
            })?;
            let n: usize = dims.iter().product();
            let t = match ty.dtype {
                DType::F32 => Tensor::from_vec(dims, (0..n).map(|_| next()).collect::<Vec<f32>>()),
                d => Tensor::zeros(d, dims),
            };
            t.map_err(|e| CliError::Inputs(format!("input \"{}\": {e}", port.name)))
        })
        .collect()
}

/// The process's peak resident memory in bytes (Linux `VmHWM`), or 0 where unknown.
fn peak_rss_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<u64>().ok())
        })
        .map_or(0, |kb| kb * 1024)
}
