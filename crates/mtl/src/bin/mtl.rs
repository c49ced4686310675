//! `mtl train`: trains one model on Adult natively, with early stopping, and reports test metrics
//! (`--save` writes the model file). `mtl eval FILE` scores a saved model file, the page's
//! downloads included. `mtl bench` times each model, as R replicas side by side for each R
//! asked, on the CPU or a wgpu device. `mtl experiment correlation|funnel` trains an
//! experiment's grid over seeds (several seeds as replicas of one computation) and prints each
//! cell, the mean ± sd per setting and the paired differences with their 95% intervals.
//! On a terminal it shows progress bars; with `--json` it prints one JSON object per line, the
//! last being the summary (`{"event":"final", …}`, `{"event":"experiment", …}`).

use std::io::IsTerminal;
use std::process::ExitCode;
use std::time::Instant;

use clap::{Parser, Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use mtl::burn::tensor::Device;
use mtl::data::{AdultData, DataOptions};
use mtl::models::{ModelConfig, ModelKind};
use mtl::train::{
    EvalReport, EvalSet, GRADIENT_COSINE_EVERY, ModelFile, Replicas, Selection, TaskMetrics,
    TrainConfig, Trainer, Verdict,
};
use mtl_vocab::DataKind;
use serde_json::{Value, json};

#[derive(Parser)]
#[command(name = "mtl", about = "Multi-task learning on UCI Adult with Burn")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Train a model and report its test AUC and log loss per task.
    Train(TrainArgs),
    /// Score a saved model file (from `train --save`, or the page's "Download the trained model")
    /// on the test split.
    Eval(EvalArgs),
    /// Measure training throughput (samples/s, every replica's samples counted) and the work per
    /// step (autodiff graph nodes; kernel launches on wgpu) of each model's tutorial config, as
    /// R replicas side by side.
    Bench(BenchArgs),
    /// Train every model of an experiment over a grid of data settings and seeds, and print the
    /// mean ± sd per cell (`correlation`: the MMoE paper's task-correlation experiment).
    Experiment(ExperimentArgs),
}

#[derive(Clone, Copy, ValueEnum)]
enum ExperimentName {
    /// The MMoE paper's correlated tasks: every variant over p and seeds.
    Correlation,
    /// The ESMM funnel: ESMM against a naive CVR model, over seeds.
    Funnel,
}

#[derive(clap::Args)]
struct ExperimentArgs {
    name: ExperimentName,
    /// Seeds per cell: the data draw and the model's initial weights. Thirty, because the
    /// effects this experiment shows are about the size of the seed noise at six.
    #[arg(long, default_value_t = 30)]
    seeds: u64,
    #[arg(long, default_value_t = 1)]
    first_seed: u64,
    /// Task correlations, comma-separated.
    #[arg(long, default_value = "1.0,0.9,0.5,0.0")]
    p: String,
    /// Training steps per model (default: 1,500 for correlation, 625 for the funnel: ten
    /// epochs of its 16,000 training impressions).
    #[arg(long)]
    steps: Option<usize>,
    /// Comma-separated variant names (default: all of them).
    #[arg(long)]
    models: Option<String>,
    /// The funnel only: the weight of the hidden factor of each impression that raises both
    /// its click and its conversion (0: none, the funnel as it always was).
    #[arg(long, default_value_t = 0.0)]
    confound: f64,
    /// Cells trained side by side as replicas of one computation (1: one at a time). Each cell
    /// is the same either way.
    #[arg(long, default_value_t = 16)]
    replicas: usize,
    /// Write `<name>.csv` and `<name>.svg` (the figure) into this folder.
    #[arg(long)]
    out: Option<std::path::PathBuf>,
    /// One JSON object per cell, and a last line `{"event":"experiment",…}` with the summary.
    #[arg(long)]
    json: bool,
}

#[derive(clap::Args)]
struct BenchArgs {
    /// Comma-separated model slugs (default: every model Adult offers).
    #[arg(long)]
    models: Option<String>,
    /// Comma-separated replica counts: each model is timed as this many replicas side by side.
    #[arg(long, default_value = "1")]
    replicas: String,
    #[arg(long, value_enum, default_value_t = DeviceArg::Cpu)]
    device: DeviceArg,
    /// Rows per step, per replica.
    #[arg(long, default_value_t = 256)]
    batch: usize,
    /// Seconds of timed training per model and replica count, after a warm-up.
    #[arg(long, default_value_t = 3.0)]
    seconds: f64,
    /// Time exactly this many steps instead of `--seconds` (for instruction counts under a
    /// profiler, which depend on the work and not on the machine's load).
    #[arg(long)]
    steps: Option<usize>,
    /// Steps between read-backs, as the browser worker does.
    #[arg(long, default_value_t = 16)]
    read_every: usize,
    /// One JSON object per line instead of a table.
    #[arg(long)]
    json: bool,
}

#[derive(clap::Args)]
struct EvalArgs {
    /// A `.bpk` model file.
    file: std::path::PathBuf,
    /// One JSON object instead of a table.
    #[arg(long)]
    json: bool,
}

#[derive(Clone, Copy, ValueEnum, PartialEq)]
enum DeviceArg {
    Cpu,
    Wgpu,
}

#[derive(clap::Args)]
struct TrainArgs {
    /// single_task, shared_bottom, omoe, mmoe, cgc, ple or esmm (the older `single` and
    /// `shared-bottom` work too).
    #[arg(long)]
    model: ModelKind,
    /// PLE extraction levels.
    #[arg(long)]
    levels: Option<usize>,
    /// MMoE/OMoE experts.
    #[arg(long)]
    experts: Option<usize>,
    /// CGC/PLE task-specific experts per task.
    #[arg(long)]
    specific: Option<usize>,
    /// CGC/PLE shared experts.
    #[arg(long)]
    shared: Option<usize>,
    /// Embedding width per categorical field.
    #[arg(long)]
    embedding_dim: Option<usize>,
    #[arg(long, default_value_t = 20)]
    epochs: usize,
    /// Stop after this many epochs without a better validation loss (0: train every epoch).
    #[arg(long, default_value_t = 3)]
    patience: usize,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    #[arg(long, default_value_t = 1e-3, allow_negative_numbers = true)]
    lr: f64,
    #[arg(long, default_value_t = 256)]
    batch: usize,
    #[arg(long, value_enum, default_value_t = DeviceArg::Cpu)]
    device: DeviceArg,
    /// Drop the `relationship` field, which leaks the never-married label.
    #[arg(long)]
    no_relationship: bool,
    /// One JSON object per line instead of progress bars.
    #[arg(long)]
    json: bool,
    /// Write the trained model (the best epoch's weights) to this `.bpk` file.
    #[arg(long)]
    save: Option<std::path::PathBuf>,
}

/// Keeps glibc's allocator from handing large blocks back to the kernel after each use.
///
/// By default glibc serves a block above its mmap threshold (128 KiB at first, raised to the
/// largest block freed, at most 32 MiB) with a fresh `mmap` and unmaps it on `free`, and it
/// trims the top of the heap once more than 128 KiB is free there. A training step allocates and
/// frees the same large activations and gradients every step, so each step paid for fresh pages:
/// page faults and the kernel zeroing them. With R replicas side by side every tensor is R times
/// larger, so this cost grew with R: CGC and PLE trained 16 replicas at a third of the rate of
/// one (BENCHMARKS.md, "Seeds side by side"). Raising both thresholds keeps freed blocks in the heap
/// for the next step. A process that trains holds its peak memory until it exits, which is what
/// it needs again at the next step anyway.
fn tune_allocator() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        // Blocks up to glibc's largest mmap threshold come from the heap; the heap is never
        // trimmed. mallopt only returns 0 on an out-of-range value, and these are in range; a
        // refusal would leave the defaults, which are correct, only slower.
        // SAFETY: mallopt takes two integers and changes the allocator's parameters; it is
        // called before any other thread exists.
        unsafe {
            libc::mallopt(libc::M_MMAP_THRESHOLD, 32 << 20);
            libc::mallopt(libc::M_TRIM_THRESHOLD, libc::c_int::MAX);
        }
    }
}

fn main() -> ExitCode {
    tune_allocator();
    let args = match Cli::parse().command {
        Command::Train(args) => args,
        Command::Eval(args) => {
            return match eval(&args) {
                Ok(()) => ExitCode::SUCCESS,
                Err(message) => {
                    eprintln!("error: {message}");
                    ExitCode::FAILURE
                }
            };
        }
        Command::Experiment(args) => {
            return match experiment(&args) {
                Ok(()) => ExitCode::SUCCESS,
                Err(message) => {
                    eprintln!("error: {message}");
                    ExitCode::FAILURE
                }
            };
        }
        Command::Bench(args) => {
            return match bench(&args) {
                Ok(()) => ExitCode::SUCCESS,
                Err(message) => {
                    if args.json {
                        println!("{}", json!({"event": "error", "message": message}));
                    } else {
                        eprintln!("error: {message}");
                    }
                    ExitCode::FAILURE
                }
            };
        }
    };
    match train(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            if args.json {
                println!("{}", json!({"event": "error", "message": message}));
            } else {
                eprintln!("error: {message}");
            }
            ExitCode::FAILURE
        }
    }
}

fn device(arg: DeviceArg) -> Result<Device, String> {
    match arg {
        DeviceArg::Cpu => Ok(Device::flex()),
        #[cfg(feature = "wgpu")]
        DeviceArg::Wgpu => Device::wgpu_options()
            .init()
            .map_err(|e| format!("no wgpu adapter could be started: {e:?}")),
        #[cfg(not(feature = "wgpu"))]
        DeviceArg::Wgpu => Err("this build has no wgpu support; rebuild with `cargo build --release -p mtl --features wgpu`".into()),
    }
}

/// ESMM's tasks are CTR (income) and CTCVR (never-married); the others keep the Adult names.
fn task_label(kind: ModelKind, t: usize, name: &str) -> String {
    kind.task_name(t, name).to_string()
}

fn print_report(kind: ModelKind, report: &EvalReport) {
    println!("{:<14} {:>8} {:>9}", "test task", "AUC", "logloss");
    let cvr = report.cvr.iter().map(|m| ("cvr (clicked)".to_string(), m));
    for (name, m) in report
        .tasks
        .iter()
        .enumerate()
        .map(|(t, m)| (task_label(kind, t, &m.name), m))
        .chain(cvr)
    {
        println!(
            "{:<14} {:>8.4} {:>9.4}",
            name,
            m.auc.unwrap_or(f64::NAN),
            m.logloss.unwrap_or(f64::NAN)
        );
    }
}

/// Loads a model file, finds the Adult variant its input was built from, and scores the test
/// split.
fn eval(args: &EvalArgs) -> Result<(), String> {
    let bytes = std::fs::read(&args.file)
        .map_err(|e| format!("could not read {}: {e}", args.file.display()))?;
    let device = Device::flex();
    let (file, model) =
        ModelFile::load(bytes, &device.clone().autodiff()).map_err(|e| e.to_string())?;
    let mut data = None;
    for relationship in [true, false] {
        let candidate = AdultData::embedded(DataOptions {
            relationship,
            ..DataOptions::default()
        })
        .map_err(|e| e.to_string())?;
        if candidate.input_spec() == file.input {
            data = Some(candidate);
            break;
        }
    }
    let data = data.ok_or(
        "the model's input does not match the Adult fields, with or without `relationship`",
    )?;
    let kind = file.config.kind;
    let mut trainer = Trainer::new(
        file.config.clone(),
        TrainConfig::new(),
        &file.input,
        file.tasks.clone(),
        &[&data.train],
        Replicas::one(1),
        &device,
    )
    .map_err(|e| e.to_string())?;
    trainer.restore(model);
    let report = only(
        trainer
            .evaluate(&EvalSet::new(&data.test, &trainer.eval_device()))
            .map_err(|e| e.to_string())?,
    )?;
    if args.json {
        println!(
            "{}",
            json!({"event": "eval", "model": kind.slug(), "params": trainer.num_params(),
                   "steps": file.steps, "test": report_json(kind, &report)})
        );
    } else {
        println!(
            "{} ({} parameters, {} training steps)",
            kind.label(),
            trainer.num_params(),
            file.steps
        );
        print_report(kind, &report);
    }
    Ok(())
}

/// The report of a trainer of one replica.
fn only(reports: Vec<EvalReport>) -> Result<EvalReport, String> {
    reports
        .into_iter()
        .next()
        .ok_or_else(|| "the evaluation gave no report".to_string())
}

fn metrics_json(m: &TaskMetrics) -> Value {
    json!({"auc": m.auc, "logloss": m.logloss, "loss": m.loss})
}

fn report_json(kind: ModelKind, report: &EvalReport) -> Value {
    let mut out = serde_json::Map::new();
    for (t, m) in report.tasks.iter().enumerate() {
        out.insert(task_label(kind, t, &m.name), metrics_json(m));
    }
    if let Some(cvr) = &report.cvr {
        out.insert("cvr".into(), metrics_json(cvr));
    }
    Value::Object(out)
}

/// A comma-separated list of numbers.
fn numbers<T: std::str::FromStr>(list: &str, what: &str) -> Result<Vec<T>, String> {
    list.split(',')
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(|v| {
            v.parse()
                .map_err(|_| format!("'{v}' is not a valid {what}"))
        })
        .collect()
}

/// Times training steps of each model's tutorial config as R replicas side by side (each with
/// its own seed, on the same data), for each R asked, on the chosen device (the CPU: flex, one
/// thread). Prints one line per model and R: the samples per second of every replica together,
/// the autodiff graph nodes each step records (and, on wgpu, the kernels it launches), which do
/// not grow with R, and the conflict meter's cost.
fn bench(args: &BenchArgs) -> Result<(), String> {
    let data = AdultData::embedded(DataOptions::default()).map_err(|e| e.to_string())?;
    let device = device(args.device)?;
    let device_name = match args.device {
        DeviceArg::Cpu => "cpu",
        DeviceArg::Wgpu => "wgpu",
    };
    let counts: Vec<usize> = numbers(&args.replicas, "replica count")?;
    let kinds: Vec<ModelKind> = match &args.models {
        Some(list) => list
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::parse)
            .collect::<Result<_, _>>()?,
        None => ModelKind::ALL
            .into_iter()
            .filter(|&k| DataKind::Adult.offers(k))
            .collect(),
    };
    if counts.is_empty() || kinds.is_empty() {
        return Err("nothing to time: no model or no replica count".into());
    }
    if !args.json {
        println!(
            "{:<14} {:>8} {:>9} {:>14} {:>12} {:>12} {:>9}",
            "model", "replicas", "params", "samples/s", "ms/step", "graph nodes", "launches"
        );
    }
    for kind in kinds {
        for &r in &counts {
            let seeds: Vec<u64> = (1..=r as u64).collect();
            let mut trainer = Trainer::new(
                ModelConfig::tutorial(kind),
                TrainConfig::new().with_batch_size(args.batch),
                &data.input_spec(),
                data.tasks.clone(),
                &[&data.train],
                Replicas::seeds(&seeds),
                &device,
            )
            .map_err(|e| e.to_string())?;
            let timing = time_steps(&mut trainer, args)?;
            let work =
                mtl::train::bench::step_work(&mut trainer, &device, args.device == DeviceArg::Wgpu)
                    .map_err(|e| e.to_string())?;
            let step_ms = timing.secs * 1000.0 / timing.steps.max(1) as f64;
            // The gradient conflict meter's cost, against the steps between two measurements.
            let measures = 5;
            let timed = Instant::now();
            for _ in 0..measures {
                if let Some(c) = trainer.gradient_cosine() {
                    c.into_data();
                }
            }
            let cosine_ms = timed.elapsed().as_secs_f64() * 1000.0 / measures as f64;
            let share = cosine_ms / (cosine_ms + step_ms * GRADIENT_COSINE_EVERY as f64);
            let samples_per_sec = (timing.samples as f64 / timing.secs).round();
            if args.json {
                println!(
                    "{}",
                    json!({"event": "bench", "model": kind.slug(), "device": device_name,
                           "replicas": r, "batch": args.batch, "params": trainer.num_params(),
                           "steps": timing.steps, "samples_per_sec": samples_per_sec,
                           "step_ms": (step_ms * 1000.0).round() / 1000.0, "threads": 1,
                           "graph_nodes_per_step": work.graph_nodes,
                           "kernel_launches_per_step": work.kernel_launches,
                           "grad_cosine_ms": (cosine_ms * 100.0).round() / 100.0,
                           "grad_cosine_share": (share * 10_000.0).round() / 10_000.0})
                );
            } else {
                println!(
                    "{:<14} {:>8} {:>9} {:>14} {:>12.3} {:>12} {:>9}",
                    kind.slug(),
                    r,
                    trainer.num_params(),
                    samples_per_sec,
                    step_ms,
                    work.graph_nodes,
                    work.kernel_launches
                        .map_or("-".to_string(), |n| n.to_string())
                );
            }
        }
    }
    Ok(())
}

/// Steps, samples (every replica's) and seconds of a timed stretch of training.
struct Timing {
    steps: usize,
    samples: usize,
    secs: f64,
}

/// Trains in chunks of `read_every` steps, reading each chunk's last step back as the worker
/// does, for `seconds` after a warm-up.
fn time_steps(trainer: &mut Trainer, args: &BenchArgs) -> Result<Timing, String> {
    let chunk = args.read_every.max(1);
    let replicas = trainer.replicas().len();
    let mut run = |steps: usize| -> Result<usize, String> {
        let mut samples = 0;
        let mut last = None;
        for _ in 0..steps {
            let step = trainer.step();
            samples += step.batch_size * replicas;
            last = Some(step);
        }
        if let Some(step) = last {
            step.readback().read().map_err(|e| e.to_string())?;
        }
        Ok(samples)
    };
    // Warm-up: allocations, caches and (on a GPU) kernel compilation settle.
    run(2 * chunk)?;
    let start = Instant::now();
    let (mut samples, mut steps) = (0usize, 0usize);
    while match args.steps {
        Some(n) => steps < n,
        None => start.elapsed().as_secs_f64() < args.seconds,
    } {
        let n = args.steps.map_or(chunk, |n| chunk.min(n - steps));
        samples += run(n)?;
        steps += n;
    }
    Ok(Timing {
        steps,
        samples,
        secs: start.elapsed().as_secs_f64(),
    })
}

fn train(args: &TrainArgs) -> Result<(), String> {
    let kind = args.model;
    if !DataKind::Adult.offers(kind) {
        return Err(format!(
            "{kind} does not train on Adult: it needs a click and a conversion after it, which \
             only the funnel has (the page offers it there; `mtl experiment funnel` trains it)"
        ));
    }
    let mut model_config = ModelConfig::tutorial(kind);
    let settings = &mut model_config.settings;
    if let Some(v) = args.levels {
        settings.levels = v;
    }
    if let Some(v) = args.experts {
        settings.experts = v;
    }
    if let Some(v) = args.specific {
        settings.specific_experts = v;
    }
    if let Some(v) = args.shared {
        settings.shared_experts = v;
    }
    if let Some(v) = args.embedding_dim {
        settings.embedding_dim = v;
    }
    if args.epochs == 0 {
        return Err("--epochs must be at least 1".into());
    }
    let train_config = TrainConfig::new()
        .with_learning_rate(args.lr)
        .with_batch_size(args.batch);

    let data = AdultData::embedded(DataOptions {
        relationship: !args.no_relationship,
        ..DataOptions::default()
    })
    .map_err(|e| e.to_string())?;
    let device = device(args.device)?;
    let mut trainer = Trainer::new(
        model_config,
        train_config,
        &data.input_spec(),
        data.tasks.clone(),
        &[&data.train],
        Replicas::one(args.seed),
        &device,
    )
    .map_err(|e| e.to_string())?;
    let valid = EvalSet::new(&data.valid, &trainer.eval_device());
    let test = EvalSet::new(&data.test, &trainer.eval_device());
    let terminal = !args.json && std::io::stderr().is_terminal();

    if args.json {
        println!(
            "{}",
            json!({"event": "start", "model": kind.slug(), "params": trainer.num_params(),
                   "train": data.train.len, "valid": data.valid.len, "test": data.test.len})
        );
    } else {
        eprintln!(
            "{}: {} parameters; {} train / {} validation / {} test rows",
            kind.label(),
            trainer.num_params(),
            data.train.len,
            data.valid.len,
            data.test.len
        );
    }

    // The page's policy: the best validation point is kept, and patience is counted in epochs
    // (0: never stop early). Here the validation split is scored once an epoch.
    let mut selection = Selection::new(args.patience, trainer.steps_per_epoch() as u64);
    let mut best: Option<(usize, mtl::models::MtlModel)> = None;
    let mut train_time = 0.0f64;
    let mut samples = 0usize;
    let mut epochs_run = 0;
    for epoch in 1..=args.epochs {
        let bar = if terminal {
            let bar = ProgressBar::new(trainer.steps_per_epoch() as u64);
            bar.set_style(
                ProgressStyle::with_template("epoch {prefix:>2} [{bar:30}] {pos}/{len} {msg}")
                    .map_err(|e| e.to_string())?
                    .progress_chars("=> "),
            );
            bar.set_prefix(epoch.to_string());
            bar
        } else {
            ProgressBar::hidden()
        };
        let started = Instant::now();
        let mut loss_sum = vec![0.0f64; data.tasks.len()];
        let mut steps = 0usize;
        loop {
            let report = trainer
                .step()
                .readback()
                .read()
                .map_err(|e| e.to_string())?;
            samples += report.batch_size;
            steps += 1;
            for (s, l) in loss_sum.iter_mut().zip(&report.replicas[0].losses) {
                *s += *l as f64;
            }
            bar.inc(1);
            if steps.is_multiple_of(10) {
                bar.set_message(format!(
                    "loss {:.4}",
                    loss_sum.iter().sum::<f64>() / steps as f64
                ));
            }
            if report.epoch_done {
                break;
            }
        }
        train_time += started.elapsed().as_secs_f64();
        bar.finish_and_clear();
        epochs_run = epoch;

        let eval = only(trainer.evaluate(&valid).map_err(|e| e.to_string())?)?;
        let valid_loss = eval.weighted_loss(&trainer.config().loss_weights);
        let verdict = selection.observe(trainer.steps(), valid_loss);
        if verdict == Verdict::Improved {
            best = Some((epoch, trainer.model().clone()));
        }
        let train_loss: Vec<f64> = loss_sum.iter().map(|s| s / steps as f64).collect();
        if args.json {
            println!(
                "{}",
                json!({"event": "epoch", "epoch": epoch, "train_loss": train_loss,
                       "valid_loss": valid_loss, "valid": report_json(kind, &eval)})
            );
        } else {
            let aucs: Vec<String> = eval
                .tasks
                .iter()
                .enumerate()
                .map(|(t, m)| {
                    format!(
                        "{} AUC {:.4}",
                        task_label(kind, t, &m.name),
                        m.auc.unwrap_or(f64::NAN)
                    )
                })
                .collect();
            eprintln!(
                "epoch {epoch:>2}: train loss {:.4}, valid loss {valid_loss:.4}, {}",
                train_loss.iter().sum::<f64>(),
                aucs.join(", ")
            );
        }
        if verdict == Verdict::Stop {
            break;
        }
    }
    let best_epoch = best.as_ref().map_or(epochs_run, |(epoch, _)| *epoch);
    if let Some((_, model)) = best {
        trainer.restore(model);
    }
    let report = only(trainer.evaluate(&test).map_err(|e| e.to_string())?)?;
    let samples_per_sec = samples as f64 / train_time.max(1e-9);
    if args.json {
        println!(
            "{}",
            json!({"event": "final", "model": kind.slug(), "params": trainer.num_params(),
                   "epochs": epochs_run, "best_epoch": best_epoch,
                   "train_samples_per_sec": samples_per_sec, "test": report_json(kind, &report)})
        );
    } else {
        println!(
            "{} after {epochs_run} epochs (best epoch {}), {samples_per_sec:.0} train samples/s",
            kind.label(),
            best_epoch
        );
        print_report(kind, &report);
    }
    if let Some(path) = &args.save {
        let bytes = trainer
            .export_pending(0)
            .read()
            .map_err(|e| e.to_string())?;
        std::fs::write(path, bytes)
            .map_err(|e| format!("could not write {}: {e}", path.display()))?;
        eprintln!("saved the model to {}", path.display());
    }
    Ok(())
}

/// `mtl experiment correlation`: every variant × p × seed, trained on the CPU device, summarised.
fn experiment(args: &ExperimentArgs) -> Result<(), String> {
    use mtl::experiments::{
        Protocol, correlation_cells, correlation_variants, deltas_from, pairs, rows_csv, rows_svg,
        summarize,
    };
    if let ExperimentName::Funnel = args.name {
        return funnel_experiment(args);
    }
    let steps = args.steps.unwrap_or(1_500);
    let ps: Vec<f64> = args
        .p
        .split(',')
        .map(|v| {
            v.trim()
                .parse::<f64>()
                .map_err(|_| format!("'{v}' is not a number"))
        })
        .collect::<Result<_, _>>()?;
    let variants: Vec<_> = correlation_variants()
        .into_iter()
        .filter(|v| {
            args.models
                .as_deref()
                .is_none_or(|m| m.split(',').any(|n| n.trim() == v.name))
        })
        .collect();
    if variants.is_empty() || ps.is_empty() || args.seeds == 0 {
        return Err("nothing to run: no model, no p or no seed".into());
    }
    let replicas = check_replicas(args.replicas)?;
    let protocol = Protocol {
        steps,
        ..Protocol::default()
    };
    let total = variants.len() * ps.len() * args.seeds as usize;
    let bar = (!args.json && std::io::stderr().is_terminal()).then(|| {
        let bar = ProgressBar::new(total as u64);
        bar.set_style(
            ProgressStyle::with_template(
                "{bar:40} {pos}/{len} cells, {elapsed} ({eta} left) {msg}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        bar
    });
    let device = Device::flex();
    let mut cells = Vec::with_capacity(total);
    let draws: Vec<(f64, u64)> = ps
        .iter()
        .flat_map(|&p| (args.first_seed..args.first_seed + args.seeds).map(move |s| (p, s)))
        .collect();
    for v in &variants {
        // A variant's draws, `replicas` at a time as one computation.
        for batch in draws.chunks(replicas) {
            for cell in correlation_cells(v, batch, protocol, &device)? {
                if args.json {
                    println!(
                        "{}",
                        json!({"event": "cell", "model": cell.model, "p": cell.p,
                            "seed": cell.seed, "params": cell.params, "test_loss": cell.test_loss,
                            "label_correlation": cell.label_correlation})
                    );
                }
                if let Some(bar) = &bar {
                    bar.set_message(format!("{} p={}", v.name, cell.p));
                    bar.inc(1);
                }
                cells.push(cell);
            }
        }
    }
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    let rows = summarize(&cells);
    let pairs = pairs(&cells, "mmoe");
    let deltas = deltas_from(&cells, 1.0);
    if let Some(dir) = &args.out {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let title = format!(
            "Correlated tasks: test MSE against p ({} seeds, {} steps)",
            args.seeds, steps
        );
        for (file, text) in [
            ("correlation.csv", rows_csv(&rows)),
            ("correlation.svg", rows_svg(&rows, &title)),
        ] {
            let path = dir.join(file);
            std::fs::write(&path, text).map_err(|e| format!("{}: {e}", path.display()))?;
        }
    }
    if args.json {
        println!(
            "{}",
            json!({"event": "experiment", "name": "correlation", "steps": steps,
                   "seeds": args.seeds, "rows": rows, "pairs": pairs, "delta_from_p1": deltas})
        );
    } else {
        println!(
            "{:<18} {:>5} {:>6} {:>7} {:>16} {:>10}",
            "model", "p", "seeds", "params", "test MSE", "label corr"
        );
        for r in &rows {
            println!(
                "{:<18} {:>5} {:>6} {:>7} {:>9.4} ± {:<5.4} {:>10.3}",
                r.model,
                r.p,
                r.seeds,
                r.params,
                r.test_loss_mean,
                r.test_loss_sd,
                r.label_correlation_mean
            );
        }
        print_pairs("against MMoE, seed by seed (model − MMoE)", &pairs);
        print_pairs("against the same model at p = 1 (p − p = 1)", &deltas);
    }
    Ok(())
}

/// A replica count the trainer accepts.
fn check_replicas(replicas: usize) -> Result<usize, String> {
    let max = mtl::models::limits::MAX_REPLICAS;
    if (1..=max).contains(&replicas) {
        Ok(replicas)
    } else {
        Err(format!(
            "--replicas must be between 1 and {max}, got {replicas}"
        ))
    }
}

/// Paired differences as a table: the mean, its 95% interval, and "within noise" when the
/// interval contains 0.
fn print_pairs(title: &str, pairs: &[mtl::experiments::Pair]) {
    if pairs.is_empty() {
        return;
    }
    println!("\nTest MSE {title}:");
    println!(
        "{:<18} {:>5} {:>6} {:>10} {:>22}",
        "model", "p", "seeds", "diff", "95% interval"
    );
    for p in pairs {
        println!(
            "{:<18} {:>5} {:>6} {:>+10.4} [{:+.4}, {:+.4}] {}",
            p.model,
            p.p,
            p.seeds,
            p.diff_mean,
            p.ci95[0],
            p.ci95[1],
            if p.within_noise { "within noise" } else { "" }
        );
    }
}

/// `mtl experiment funnel`: ESMM and the naive CVR model over seeds, scored on every impression.
fn funnel_experiment(args: &ExperimentArgs) -> Result<(), String> {
    use mtl::experiments::{
        FunnelProtocol, funnel_cells, funnel_csv, funnel_pairs, funnel_svg, funnel_variants,
        summarize_funnel,
    };
    let protocol = FunnelProtocol {
        steps: args.steps.unwrap_or(FunnelProtocol::default().steps),
        confound: args.confound,
    };
    let steps = protocol.steps;
    let models: Vec<_> = funnel_variants()
        .into_iter()
        .filter(|v| {
            args.models
                .as_deref()
                .is_none_or(|list| list.split(',').any(|n| n.trim() == v.name))
        })
        .collect();
    if models.is_empty() || args.seeds == 0 {
        return Err("nothing to run: no model or no seed".into());
    }
    let replicas = check_replicas(args.replicas)?;
    let device = Device::flex();
    let mut cells = Vec::new();
    let seeds: Vec<u64> = (args.first_seed..args.first_seed + args.seeds).collect();
    for model in &models {
        for cell in seeds
            .chunks(replicas)
            .map(|batch| funnel_cells(model, batch, protocol, &device))
            .collect::<Result<Vec<_>, _>>()?
            .into_iter()
            .flatten()
        {
            let seed = cell.seed;
            if args.json {
                println!(
                    "{}",
                    json!({"event": "cell", "model": cell.model, "seed": seed, "params": cell.params,
                        "cvr_auc_all": cell.cvr_auc_all, "cvr_mse_true": cell.cvr_mse_true})
                );
            }
            cells.push(cell);
        }
    }
    let rows = summarize_funnel(&cells);
    let pairs = funnel_pairs(&cells, "esmm");
    // A confounded funnel's files sit beside the plain one's.
    let stem = if protocol.confound > 0.0 {
        format!("funnel-confound{}", protocol.confound)
    } else {
        "funnel".to_string()
    };
    if let Some(dir) = &args.out {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let path = dir.join(format!("{stem}.csv"));
        std::fs::write(&path, funnel_csv(&rows)).map_err(|e| format!("{}: {e}", path.display()))?;
        let title = format!(
            // Short enough for the chart's width.
            "Funnel{}: CVR AUC ({} seeds, {steps} steps)",
            if protocol.confound > 0.0 {
                format!(", hidden factor {}", protocol.confound)
            } else {
                String::new()
            },
            args.seeds
        );
        let path = dir.join(format!("{stem}.svg"));
        std::fs::write(&path, funnel_svg(&rows, &title))
            .map_err(|e| format!("{}: {e}", path.display()))?;
    }
    if args.json {
        println!(
            "{}",
            json!({"event": "experiment", "name": "funnel", "steps": steps,
                   "confound": protocol.confound, "seeds": args.seeds, "rows": rows,
                   "pairs": pairs})
        );
    } else {
        println!(
            "{:<17} {:>6} {:>7} {:>22} {:>24}",
            "model", "seeds", "params", "CVR AUC, all impressions", "MSE against true pCVR"
        );
        for r in &rows {
            println!(
                "{:<17} {:>6} {:>7} {:>14.4} ± {:<7.4} {:>15.5} ± {:<7.5}",
                r.model,
                r.seeds,
                r.params,
                r.cvr_auc_all_mean,
                r.cvr_auc_all_sd,
                r.cvr_mse_true_mean,
                r.cvr_mse_true_sd
            );
        }
        if !pairs.is_empty() {
            println!("\nAgainst ESMM, seed by seed (model − ESMM), 95% intervals:");
            println!(
                "{:<17} {:>6} {:>32} {:>34}",
                "model", "seeds", "CVR AUC, all impressions", "MSE against true pCVR"
            );
            let show = |s: &mtl::experiments::PairedScore| {
                format!(
                    "{:+.4} [{:+.4}, {:+.4}]{}",
                    s.diff_mean,
                    s.ci95[0],
                    s.ci95[1],
                    if s.within_noise { " ~0" } else { "" }
                )
            };
            for p in &pairs {
                println!(
                    "{:<17} {:>6} {:>32} {:>34}",
                    p.model,
                    p.seeds,
                    show(&p.cvr_auc_all),
                    show(&p.cvr_mse_true)
                );
            }
            println!("(~0: within noise, the interval holds 0)");
        }
    }
    Ok(())
}
