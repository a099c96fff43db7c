//! The `lightos-cc` command line: `lightos-cc MODEL` compiles, `lightos-cc run ART` runs,
//! `lightos-cc inspect ART` describes an artifact.

use std::ffi::OsString;
use std::io::Write;
use std::path::{Path, PathBuf};

use clap::Parser;
use lightos_codegen::NativeTarget;
use lightos_runtime::artifact::Artifact;
use lightos_runtime::backend::Backend;
use lightos_runtime::cpu::Mode;
use lightos_runtime::model::Model;
use lightos_runtime::npy::{read_npy, write_npy};

use crate::compile::{artifact_parts_for, compile, default_output, CompileOptions};
use crate::error::CliError;

/// Compile an ONNX model into a LightOS artifact (.lart).
///
/// Other commands: `lightos-cc run ART ...` runs an artifact, `lightos-cc inspect ART`
/// prints its manifest.
#[derive(Parser, Debug)]
#[command(name = "lightos-cc", version, about)]
pub struct CompileArgs {
    /// The model to compile (.onnx).
    pub model: PathBuf,
    /// Where to write the artifact (default: MODEL's stem plus .lart, next to it).
    #[arg(short = 'o', long = "output", value_name = "OUT.lart")]
    pub output: Option<PathBuf>,
    /// Print the final IR to stdout (the artifact is then written only with -o).
    #[arg(long = "emit", value_name = "WHAT", value_parser = ["ir"])]
    pub emit: Option<String>,
    /// Print the IR after this pass (repeatable).
    #[arg(long = "print-after", value_name = "PASS")]
    pub print_after: Vec<String>,
    /// Leave this pass out (repeatable).
    #[arg(long = "disable-pass", value_name = "PASS")]
    pub disable_pass: Vec<String>,
    /// Print each pass's time and changes to stderr.
    #[arg(long = "time-passes")]
    pub time_passes: bool,
    /// Numerics: `strict` is bit-identical to the reference backend, `fast` may use fma
    /// and other orders but is still the same from run to run and for any thread count.
    #[arg(long = "mode", value_name = "MODE", default_value = "fast", value_parser = ["strict", "fast"])]
    pub mode: String,
    /// Compile the native CPU kernels for this target triple (e.g.
    /// aarch64-unknown-linux-gnu) instead of this machine; other machines run those nodes
    /// on the reference kernels.
    #[arg(long = "cpu-target", value_name = "TRIPLE", conflicts_with = "no_native")]
    pub cpu_target: Option<String>,
    /// Leave native CPU code out of the artifact.
    #[arg(long = "no-native")]
    pub no_native: bool,
}

impl CompileArgs {
    /// The native code target these options select.
    pub fn native_target(&self) -> NativeTarget {
        match (&self.cpu_target, self.no_native) {
            (_, true) => NativeTarget::Off,
            (Some(t), false) => NativeTarget::Triple(t.clone()),
            (None, false) => NativeTarget::Host,
        }
    }
}

/// The backend options shared by `run` and `bench`.
#[derive(clap::Args, Debug)]
pub struct BackendArgs {
    /// `cpu` (native kernels, reference elsewhere) or `reference` (the numerical contract).
    #[arg(long = "backend", value_name = "BACKEND", default_value = "cpu", value_parser = ["cpu", "reference"])]
    pub backend: String,
    /// Worker threads of the CPU backend (the bits never depend on it).
    #[arg(long = "threads", value_name = "T", default_value_t = 1)]
    pub threads: usize,
}

impl BackendArgs {
    /// The backend these options select for `model`.
    pub fn backend(&self, model: &Model) -> Result<Backend, CliError> {
        if self.threads == 0 || self.threads > 256 {
            return Err(CliError::Inputs(format!(
                "--threads must be 1 to 256, got {}",
                self.threads
            )));
        }
        Ok(match self.backend.as_str() {
            "reference" => Backend::Reference,
            _ => model.cpu_backend(self.threads),
        })
    }
}

/// Run an artifact on input tensors and write its outputs as .npy files.
#[derive(Parser, Debug)]
#[command(name = "lightos-cc run")]
pub struct RunArgs {
    /// The artifact.
    pub artifact: PathBuf,
    /// An input: FILE.npy binds the next graph input in order, NAME=FILE.npy binds by name.
    #[arg(long = "input", value_name = "[NAME=]FILE.npy", required = true)]
    pub inputs: Vec<String>,
    /// Folder for output_K.npy, one per graph output (created if missing).
    #[arg(long = "output-dir", value_name = "DIR")]
    pub output_dir: PathBuf,
    /// Backend selection.
    #[command(flatten)]
    pub backend: BackendArgs,
}

/// Time an artifact: median and minimum latency, and peak memory.
#[derive(Parser, Debug)]
#[command(name = "lightos-cc bench")]
pub struct BenchArgs {
    /// The artifact.
    pub artifact: PathBuf,
    /// Inputs as for `run`; without them, inputs are made from a fixed seed (the model's
    /// inputs must then have fixed shapes).
    #[arg(long = "input", value_name = "[NAME=]FILE.npy")]
    pub inputs: Vec<String>,
    /// Timed runs (after one warm-up run).
    #[arg(long = "iters", value_name = "N", default_value_t = 10)]
    pub iters: usize,
    /// Print one JSON line: {"median_ms": .., "min_ms": .., "peak_bytes": ..}.
    #[arg(long = "json")]
    pub json: bool,
    /// Also time every step over as many more runs, and print the N slowest steps (by
    /// median) and the time per kernel kind.
    #[arg(long = "profile", value_name = "N")]
    pub profile: Option<usize>,
    /// Backend selection.
    #[command(flatten)]
    pub backend: BackendArgs,
}

/// Print an artifact's manifest: inputs, outputs, op counts and sizes.
#[derive(Parser, Debug)]
#[command(name = "lightos-cc inspect")]
pub struct InspectArgs {
    /// The artifact.
    pub artifact: PathBuf,
}

/// A parsed command line.
#[derive(Debug)]
pub enum Command {
    /// Compile a model.
    Compile(CompileArgs),
    /// Run an artifact.
    Run(RunArgs),
    /// Describe an artifact.
    Inspect(InspectArgs),
    /// Time an artifact.
    Bench(BenchArgs),
}

/// Parses the arguments (program name first). Clap's errors, `--help` and `--version`
/// come back as `Err` for the caller to print.
pub fn parse(args: Vec<OsString>) -> Result<Command, clap::Error> {
    let sub = args.get(1).and_then(|a| a.to_str());
    match sub {
        Some("run") => RunArgs::try_parse_from(args.into_iter().skip(1)).map(Command::Run),
        Some("inspect") => InspectArgs::try_parse_from(args.into_iter().skip(1)).map(Command::Inspect),
        Some("bench") => BenchArgs::try_parse_from(args.into_iter().skip(1)).map(Command::Bench),
        _ => CompileArgs::try_parse_from(args).map(Command::Compile),
    }
}

/// Runs a command, writing its normal output to `out`.
pub fn execute(command: Command, out: &mut dyn Write) -> Result<(), CliError> {
    match command {
        Command::Compile(a) => compile_command(a, out),
        Command::Run(a) => run_command(a),
        Command::Inspect(a) => inspect_command(a, out),
        Command::Bench(a) => crate::bench::bench_command(a, out),
    }
}

fn write_out(out: &mut dyn Write, text: &str) -> Result<(), CliError> {
    out.write_all(text.as_bytes()).map_err(|source| CliError::Io {
        action: "write to",
        path: PathBuf::from("<stdout>"),
        source,
    })
}

fn compile_command(a: CompileArgs, out: &mut dyn Write) -> Result<(), CliError> {
    let options = CompileOptions {
        print_after: a.print_after.clone(),
        disabled_passes: a.disable_pass.clone(),
    };
    let mut printed = Vec::new();
    let compiled = compile(&a.model, &options, &mut |pass, ir| {
        printed.push(format!("// IR after pass `{pass}`\n{ir}"));
    })?;
    for text in printed {
        write_out(out, &text)?;
    }
    if a.time_passes {
        eprintln!("frontend: {:.3} ms", compiled.frontend_time.as_secs_f64() * 1e3);
        for r in &compiled.reports {
            if r.disabled {
                eprintln!("{}: disabled", r.name);
            } else {
                eprintln!(
                    "{}: {:.3} ms, {} changes",
                    r.name,
                    r.duration.as_secs_f64() * 1e3,
                    r.stats.changed
                );
                for note in &r.stats.notes {
                    eprintln!("  {note}");
                }
            }
        }
    }
    let emit_ir = a.emit.as_deref() == Some("ir");
    if emit_ir {
        write_out(out, &lightos_ir::text::print_graph(&compiled.graph))?;
    }
    let mode = Mode::from_name(&a.mode).unwrap_or_default();
    let native = a.native_target();
    let output = match (a.output, emit_ir) {
        (Some(o), _) => Some(o),
        (None, false) => Some(default_output(&a.model)),
        (None, true) => None,
    };
    if let Some(path) = output {
        let mut parts = artifact_parts_for(&compiled.graph, mode, &native)?;
        parts.manifest.fusion = compiled.fusion_info();
        parts.write_to(&path)?;
    }
    Ok(())
}

/// Binds `--input` arguments to graph inputs: named ones by name, plain ones to the
/// remaining inputs in order.
pub(crate) fn bind_inputs(model: &Model, args: &[String]) -> Result<Vec<PathBuf>, CliError> {
    let names: Vec<&str> = model.graph().inputs().iter().map(|p| p.name.as_str()).collect();
    let mut bound: Vec<Option<PathBuf>> = vec![None; names.len()];
    let mut plain = Vec::new();
    for arg in args {
        match arg.split_once('=') {
            Some((name, file)) if names.contains(&name) => {
                let i = names.iter().position(|n| *n == name).unwrap_or(0);
                if bound[i].replace(PathBuf::from(file)).is_some() {
                    return Err(CliError::Inputs(format!("input \"{name}\" is given twice")));
                }
            }
            _ => plain.push(PathBuf::from(arg)),
        }
    }
    let mut plain = plain.into_iter();
    for slot in bound.iter_mut().filter(|s| s.is_none()) {
        *slot = plain.next();
    }
    if plain.next().is_some() {
        return Err(CliError::Inputs(format!(
            "{} inputs given, the model takes {} ({})",
            args.len(),
            names.len(),
            names.join(", ")
        )));
    }
    bound
        .into_iter()
        .zip(&names)
        .map(|(b, n)| b.ok_or_else(|| CliError::Inputs(format!("no file given for input \"{n}\""))))
        .collect()
}

/// Reads the `--input` files bound to the model's inputs, in graph-input order.
pub(crate) fn read_inputs(model: &Model, args: &[String]) -> Result<Vec<lightos_ir::Tensor>, CliError> {
    bind_inputs(model, args)?
        .iter()
        .map(|f| {
            read_npy(f).map_err(|source| CliError::Npy {
                path: f.clone(),
                source,
            })
        })
        .collect()
}

fn run_command(a: RunArgs) -> Result<(), CliError> {
    let model = Model::load(&a.artifact)?;
    let inputs = read_inputs(&model, &a.inputs)?;
    let outputs = model.run_on(a.backend.backend(&model)?, &inputs)?;
    std::fs::create_dir_all(&a.output_dir).map_err(|source| CliError::Io {
        action: "create",
        path: a.output_dir.clone(),
        source,
    })?;
    for (k, t) in outputs.iter().enumerate() {
        let path = a.output_dir.join(format!("output_{k}.npy"));
        write_npy(&path, t).map_err(|source| CliError::Npy { path, source })?;
    }
    Ok(())
}

fn inspect_command(a: InspectArgs, out: &mut dyn Write) -> Result<(), CliError> {
    let artifact = Artifact::open(&a.artifact).map_err(lightos_runtime::model::LoadError::from)?;
    let model = Model::from_artifact(&artifact)?;
    write_out(out, &describe(&a.artifact, &artifact, &model))
}

fn port_line(p: &lightos_runtime::model::PortInfo) -> String {
    format!("  {}: {}[{}]\n", p.name, p.dtype, p.shape.join(", "))
}

/// The CPU backend's execution plan for the artifact's mode: steps per kernel kind and
/// the graph nodes each covers, and the nodes evaluated once when the model loads.
fn describe_cpu_plan(model: &Model) -> String {
    let backend = model.cpu_backend(1);
    match model.executor(backend) {
        Ok(e) => {
            let p = e.summary();
            let mut s = format!(
                "cpu plan ({} mode): {} steps per run, {} nodes evaluated once at load; \
                 arena of {} bytes holding {} native results\n",
                model.manifest().mode,
                p.steps,
                p.nodes_ahead_of_time,
                p.arena_bytes,
                p.arena_values
            );
            for (kind, steps, nodes) in &p.kernels {
                s.push_str(&format!("  {kind}: {steps} steps covering {nodes} nodes\n"));
            }
            s
        }
        Err(e) => format!("cpu plan: cannot be prepared: {e}\n"),
    }
}

/// The native code lines of `inspect`: node and kernel counts, targets, code bytes, and
/// one line per kernel.
fn describe_native(model: &Model) -> String {
    let Some(p) = model.native_program() else {
        return "native code: none\n".into();
    };
    let mut targets: Vec<String> = Vec::new();
    for k in p.kernels() {
        let t = if k.features.is_empty() {
            k.triple.clone()
        } else {
            format!("{} (+{})", k.triple, k.features.join(",+"))
        };
        if !targets.contains(&t) {
            targets.push(t);
        }
    }
    let bytes: usize = p.kernels().iter().map(|k| k.code_bytes).sum();
    let mut uses = vec![0usize; p.kernel_count()];
    for n in &model.manifest().native {
        if let Some(u) = uses.get_mut(n.kernel) {
            *u += 1;
        }
    }
    let mut s = format!(
        "native code: {} nodes on {} distinct kernels, {bytes} bytes of code, target {}; {} of {} kernels run on this machine\n",
        p.node_count(),
        p.kernel_count(),
        targets.join(", "),
        p.loaded_count(),
        p.kernel_count()
    );
    for (i, (k, n)) in p.kernels().iter().zip(&uses).enumerate() {
        let status = match &k.status {
            lightos_runtime::native::KernelStatus::Loaded => String::new(),
            lightos_runtime::native::KernelStatus::Skipped(_) => ", not loaded here".into(),
        };
        s.push_str(&format!(
            "  kernel {i} `{}`: {} bytes, {n} nodes{status}\n",
            k.name, k.code_bytes
        ));
    }
    s
}

/// The text `inspect` prints.
fn describe(path: &Path, artifact: &Artifact, model: &Model) -> String {
    let m = model.manifest();
    let mut s = format!(
        "artifact: {} ({} bytes, checksum {:016x})\ngraph: {}\nproducer: {}\ntargets: {}\nmode: {}\n",
        path.display(),
        artifact.as_bytes().len(),
        artifact.checksum(),
        m.graph,
        m.producer,
        m.targets.join(", "),
        m.mode
    );
    s.push_str("inputs:\n");
    m.inputs.iter().for_each(|p| s.push_str(&port_line(p)));
    s.push_str("outputs:\n");
    m.outputs.iter().for_each(|p| s.push_str(&port_line(p)));
    let nodes: usize = m.op_counts.iter().map(|(_, n)| n).sum();
    s.push_str(&format!("ops: {nodes} nodes\n"));
    for (op, n) in &m.op_counts {
        s.push_str(&format!("  {op}: {n}\n"));
    }
    s.push_str(&format!(
        "weights: {} tensors, {} bytes\n",
        m.weights.len(),
        m.weight_bytes()
    ));
    match &m.fusion {
        Some(f) => s.push_str(&format!(
            "fusion: {} kernels before, {} after; {} bytes moved per run before, {} after\n",
            f.kernels_before, f.kernels_after, f.bytes_before, f.bytes_after
        )),
        None => s.push_str("fusion: off\n"),
    }
    match lightos_runtime::plan::MemoryPlan::new(model.graph()) {
        Ok(plan) => s.push_str(&format!(
            "memory plan: peak {} bytes in one arena ({} buffers, {} bytes without reuse)\n",
            plan.arena_bytes,
            plan.slots.len(),
            plan.unshared_bytes()
        )),
        Err(e) => s.push_str(&format!("memory plan: made at run time ({e})\n")),
    }
    s.push_str(&describe_native(model));
    s.push_str(&describe_cpu_plan(model));
    s.push_str("sections:\n");
    for sec in artifact.sections() {
        s.push_str(&format!(
            "  {} ({}): {} bytes at offset {}\n",
            sec.name, sec.kind, sec.len, sec.offset
        ));
    }
    s
}
