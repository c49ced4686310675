//! Browser tests of the worker side (wasm-bindgen-test in headless Chromium): what only a
//! browser has. The worker protocol through real JS values, a real training run on the CPU device
//! inside wasm, and a WebGPU smoke test on Chromium's software adapter.
//!
//! Built with the WebGPU worker's own profile and features, so it reuses that build:
//! `wasm-pack test --headless --chrome --chromedriver /usr/bin/chromedriver . --profile web
//! --no-default-features --features gpu,web --test browser_worker` (scripts/test.sh does).
#![cfg(target_arch = "wasm32")]

use std::cell::RefCell;
use std::rc::Rc;

use mtl::burn::module::{Module, ModuleVisitor, Param};
use mtl::burn::optim::GradientsParams;
use mtl::burn::tensor::{Device, Tensor};
use mtl::data::Dataset;
use mtl::models::ModelInput;
use mtl::train::loss::task_loss;
use mtl_playground::protocol::experiment::{Experiment, ModelKind};
use mtl_playground::protocol::{
    AdapterProbe, Backend, Command, Event, FigureCell, FigureJob, Progress, ReplicaTest,
    StopReason, TaskScore, TestReport,
};
use mtl_playground::web::{from_js, now, probe_webgpu, sleep, to_js};
use mtl_playground::worker::driver::{DataSource, Driver};
use mtl_playground::worker::runner::Training;
use wasm_bindgen::prelude::*;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen]
extern "C" {
    /// What `postMessage` does to a message: the structured clone algorithm.
    #[wasm_bindgen(js_name = structuredClone)]
    fn structured_clone(value: &JsValue) -> JsValue;
}

const TRAIN_GZ: &[u8] = include_bytes!("../assets/adult.data.gz");
const TEST_GZ: &[u8] = include_bytes!("../assets/adult.test.gz");

/// Crosses the worker boundary the way a real message does.
fn through_post_message<T: serde::Serialize + serde::de::DeserializeOwned>(message: &T) -> T {
    let value = to_js(message).expect("encodes");
    from_js(structured_clone(&value)).expect("decodes after a structured clone")
}

#[wasm_bindgen_test]
fn protocol_messages_survive_post_message() {
    let build = Command::Build {
        session: 7,
        experiment: Experiment::tutorial(ModelKind::Ple),
    };
    let value = to_js(&build).expect("encodes");
    let tag = js_sys::Reflect::get(&value, &"type".into()).expect("has a type");
    assert_eq!(tag.as_string().as_deref(), Some("build"));
    assert_eq!(through_post_message(&build), build);
    // The paper figure's job: a model kind and a p that must arrive exact.
    let figure = Command::Figure {
        session: 3,
        job: FigureJob {
            model: ModelKind::Mmoe,
            p: 0.9,
            seeds: vec![1, 30],
        },
    };
    assert_eq!(through_post_message(&figure), figure);

    let events = [
        Event::FigureProgress {
            session: 3,
            done: 100,
            of: 1500,
        },
        Event::FigureCells {
            session: 3,
            cells: vec![FigureCell {
                model: ModelKind::SharedBottom,
                p: 0.0,
                seed: 2,
                test_loss: 0.052_3,
            }],
        },
        Event::Ready {
            backend: Backend::Webgpu,
        },
        Event::Progress {
            session: 2,
            progress: Progress {
                step: 123_456,
                epoch: 3,
                epoch_progress: 0.25,
                losses: vec![0.5, f32::MAX],
                gates: vec![vec![0.25; 4], vec![]],
                grad_cosine: vec![],
                samples_per_sec: 1e5,
                // Seeds side by side: each one's losses travel with their mean.
                replica_losses: vec![vec![0.5, 0.25], vec![0.75, f32::MIN_POSITIVE]],
            },
        },
        Event::Test {
            session: 2,
            report: TestReport {
                step: 9,
                trained_steps: 12,
                valid: vec![],
                tasks: vec![TaskScore {
                    name: "income".into(),
                    loss: 0.3,
                    auc: None,
                    logloss: Some(0.3),
                    r2: None,
                    mse_true: Some(0.01),
                }],
                cvr: None,
                cvr_all: None,
                replicas: vec![ReplicaTest {
                    seed: (1 << 53) - 1,
                    step: 9,
                    valid: vec![],
                    tasks: vec![],
                    cvr: None,
                    cvr_all: None,
                }],
            },
        },
        Event::Stopped {
            session: 2,
            reason: StopReason::NonFinite {
                message: "NaN".into(),
            },
        },
    ];
    for event in &events {
        assert_eq!(&through_post_message(event), event);
    }
    // Garbage is refused with an error, never a panic.
    assert!(from_js::<Command>(JsValue::from_str("hello")).is_err());
    assert!(
        from_js::<Command>(js_sys::JSON::parse(r#"{"type":"build","session":-1}"#).expect("json"))
            .is_err()
    );
}

/// Waits (yielding to the event loop) until `done` holds, or fails after `timeout_ms`.
async fn wait_until(what: &str, timeout_ms: f64, mut done: impl FnMut() -> bool) {
    let start = now();
    while !done() {
        assert!(now() - start < timeout_ms, "timed out waiting for {what}");
        sleep(10).await;
    }
}

/// A running driver on the CPU device with these data files, and every event it posts, as the
/// page would receive them (after a structured clone).
fn cpu_driver(train: Vec<u8>, test: Vec<u8>) -> (Rc<Driver>, Rc<RefCell<Vec<Event>>>) {
    let events: Rc<RefCell<Vec<Event>>> = Rc::default();
    let sink = events.clone();
    let driver = Driver::new(
        Backend::Cpu,
        Device::flex(),
        DataSource::Bytes { train, test },
        move |e| sink.borrow_mut().push(through_post_message(e)),
    );
    wasm_bindgen_futures::spawn_local(driver.clone().run());
    (driver, events)
}

#[wasm_bindgen_test]
async fn driver_trains_on_the_cpu_device_in_wasm() {
    let (driver, events) = cpu_driver(TRAIN_GZ.to_vec(), TEST_GZ.to_vec());
    let has = |f: &dyn Fn(&Event) -> bool| events.borrow().iter().any(f);
    let last_step = || {
        events
            .borrow()
            .iter()
            .filter_map(|e| match e {
                Event::Progress { progress, .. } => Some(progress.step),
                _ => None,
            })
            .max()
            .unwrap_or(0)
    };

    driver.push(Command::Build {
        session: 1,
        experiment: Experiment::tutorial(ModelKind::Mmoe),
    });
    wait_until("the model", 30_000.0, || {
        has(&|e| matches!(e, Event::Built { .. }))
    })
    .await;
    // A refused live setting is reported and leaves the model training.
    driver.push(Command::SetLearningRate {
        learning_rate: -1.0,
    });
    driver.push(Command::Step);
    wait_until("one step", 10_000.0, || last_step() == 1).await;
    assert!(has(
        &|e| matches!(e, Event::Error { message, .. } if message.contains("learning rate"))
    ));
    driver.push(Command::Play);
    wait_until("150 steps", 60_000.0, || last_step() >= 150).await;
    driver.push(Command::Pause);
    wait_until("the pause", 30_000.0, || {
        has(&|e| {
            matches!(
                e,
                Event::Stopped {
                    reason: StopReason::Paused,
                    ..
                }
            )
        })
    })
    .await;
    // Pause scores the validation split only; the test split waits for the end of the run.
    let paused_at = last_step();
    driver.push(Command::Step);
    wait_until("a step after the pause", 10_000.0, || {
        last_step() == paused_at + 1
    })
    .await;
    assert!(
        !has(&|e| matches!(e, Event::Test { .. })),
        "a pause scored the test set"
    );
    driver.push(Command::Finish);
    wait_until("the test scores", 30_000.0, || {
        has(&|e| matches!(e, Event::Test { .. }))
    })
    .await;
    // The run has ended: Play says so and trains nothing.
    driver.push(Command::Play);
    wait_until("the refusal", 10_000.0, || {
        has(&|e| matches!(e, Event::Error { message, .. } if message.contains("has ended")))
    })
    .await;
    driver.push(Command::ExportModel);
    wait_until("the model file", 30_000.0, || {
        has(&|e| matches!(e, Event::ModelExported { .. }))
    })
    .await;

    let events = events.borrow();
    let (step, bytes) = events
        .iter()
        .find_map(|e| match e {
            Event::ModelExported { step, bytes, .. } => Some((*step, bytes.clone().into_vec())),
            _ => None,
        })
        .expect("a model file");
    let (file, _) = mtl::train::ModelFile::load(bytes, &Device::flex())
        .expect("the file that crossed postMessage loads");
    assert_eq!(file.steps, step);
    assert!(matches!(
        events[0],
        Event::Ready {
            backend: Backend::Cpu
        }
    ));
    let validations: Vec<_> = events
        .iter()
        .filter_map(|e| match e {
            Event::Validation { point, .. } => Some(point.clone()),
            _ => None,
        })
        .collect();
    assert!(
        validations.len() >= 2,
        "validation at step 0 and during training"
    );
    assert_eq!(validations[0].step, 0);
    let auc = |p: &mtl_playground::protocol::EvalPoint| p.tasks[0].auc.unwrap_or(0.0);
    assert!(
        auc(validations.last().expect("a point")) > 0.8,
        "income AUC after 150 steps"
    );
    let progress: Vec<_> = events
        .iter()
        .filter_map(|e| match e {
            Event::Progress { progress, .. } => Some(progress.clone()),
            _ => None,
        })
        .collect();
    // The worker reports every k steps, not every step.
    assert!(
        progress.len() < 150,
        "{} reports for 150 steps",
        progress.len()
    );
    for p in &progress {
        assert_eq!(p.gates.len(), 2);
        assert!(p.losses.iter().all(|l| l.is_finite()));
        assert!((p.gates[0].iter().sum::<f32>() - 1.0).abs() < 1e-3);
    }
    assert!(events.iter().any(|e| matches!(
        e,
        Event::Stopped {
            reason: StopReason::Paused,
            ..
        }
    )));
    let test = events
        .iter()
        .find_map(|e| match e {
            Event::Test { report, .. } => Some(report.clone()),
            _ => None,
        })
        .expect("a test report");
    assert!(
        test.tasks.iter().all(|t| t.auc.is_some_and(|a| a > 0.75)),
        "{test:?}"
    );
    // The weights tested are a validation point's, and their validation scores come along.
    assert!(
        test.step <= test.trained_steps && test.trained_steps == step,
        "{test:?}"
    );
    assert!(
        validations
            .iter()
            .any(|v| v.step == test.step && v.tasks == test.valid)
    );
    assert_eq!(
        events
            .iter()
            .filter(|e| matches!(e, Event::Test { .. }))
            .count(),
        1,
        "one test per run"
    );
}

#[wasm_bindgen_test]
async fn driver_refuses_bad_commands_with_messages() {
    let (driver, events) = cpu_driver(b"not,a,csv".to_vec(), b"".to_vec());
    driver.push(Command::Play);
    driver.push(Command::ExportModel);
    driver.push(Command::Build {
        session: 4,
        experiment: Experiment::default(),
    });
    wait_until("three errors", 10_000.0, || {
        events
            .borrow()
            .iter()
            .filter(|e| matches!(e, Event::Error { .. }))
            .count()
            >= 3
    })
    .await;
    let messages: Vec<String> = events
        .borrow()
        .iter()
        .filter_map(|e| match e {
            Event::Error { message, .. } => Some(message.clone()),
            _ => None,
        })
        .collect();
    assert!(messages[0].contains("no model"), "{messages:?}");
    assert!(messages[1].contains("no model to save"), "{messages:?}");
    assert!(messages[2].contains("Adult data"), "{messages:?}");
}

#[wasm_bindgen_test]
async fn webgpu_smoke_test_on_the_software_adapter() {
    let probe = probe_webgpu().await;
    assert!(
        matches!(probe, AdapterProbe::Fallback(_) | AdapterProbe::Hardware(_)),
        "Chromium runs with --enable-unsafe-webgpu, so an adapter exists: {probe:?}"
    );
    let device = webgpu().await;
    let a = Tensor::<2>::from_data([[1.0f32, 2.0], [3.0, 4.0]], &device);
    let product = a
        .clone()
        .matmul(a)
        .into_data_async()
        .await
        .expect("reads back");
    assert_eq!(
        product.try_to_vec::<f32>().expect("f32"),
        vec![7.0, 10.0, 15.0, 22.0]
    );

    // One real training step of a tiny model through the runner, on WebGPU.
    let data = mtl_playground::worker::runner::load_data(TRAIN_GZ, TEST_GZ, true).expect("data");
    let mut e = Experiment::tutorial(ModelKind::Mmoe);
    e.arch.experts = 2;
    e.arch.expert_units = vec![8];
    e.arch.tower_units = vec![4];
    e.batch_size = 64;
    let mut session = Training::new(1, &e, &[&data], &device).expect("builds on WebGPU");
    let chunk = session.train_chunk(1).read_async().await.expect("one step");
    assert_eq!(chunk.step, 1);
    assert!(chunk.losses.iter().all(|l| l.is_finite() && *l > 0.0));

    // The model file is read off WebGPU without blocking and loads back on the CPU.
    let bytes = session
        .export()
        .read_async()
        .await
        .expect("exports from WebGPU");
    let (file, model) = mtl::train::ModelFile::load(bytes, &Device::flex()).expect("loads");
    assert_eq!(file.steps, 1);
    assert_eq!(
        mtl::burn::module::Module::num_params(&model),
        session.info().params
    );
}

thread_local! {
    /// Burn's WebGPU runtime starts once per page, and every test here shares the page.
    static WEBGPU: RefCell<Option<Device>> = const { RefCell::new(None) };
}

async fn webgpu() -> Device {
    if let Some(device) = WEBGPU.with(|w| w.borrow().clone()) {
        return device;
    }
    let device = Device::wgpu_options()
        .init_async()
        .await
        .expect("the WebGPU device starts");
    WEBGPU.with(|w| *w.borrow_mut() = Some(device.clone()));
    device
}

/// Every float parameter's gradient, flattened, in the module's visiting order.
struct Gradients<'a> {
    grads: &'a GradientsParams,
    flat: Vec<Tensor<1>>,
}

impl ModuleVisitor for Gradients<'_> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let grad = self
            .grads
            .get::<D>(param.id)
            .expect("every parameter has a gradient");
        let n = grad.shape().num_elements();
        self.flat.push(grad.reshape([n]));
    }
}

/// Loads the model file on `device` (with autodiff), runs one batch forward and backward, and
/// reads back the task outputs and every parameter's gradient.
async fn outputs_and_gradients(bytes: Vec<u8>, device: &Device, data: &Dataset) -> [Vec<f32>; 2] {
    let device = device.clone().autodiff();
    let (file, model) = mtl::train::ModelFile::load(bytes, &device).expect("loads");
    let rows = 64;
    let batch = data
        .train
        .subset(&(0..rows).collect::<Vec<_>>())
        .to_device(&device)
        .range(&[0], 0, rows);
    let out = model.forward(&ModelInput::from(&batch));
    let mut total: Option<Tensor<1>> = None;
    // Labels are [replicas, rows, tasks]: one replica here.
    let first = batch.labels.clone().slice([0..1, 0..rows, 0..1]);
    for (t, task) in file.tasks.iter().enumerate() {
        let labels = batch.labels.clone().slice([0..1, 0..rows, t..t + 1]);
        let loss = task_loss(&out.tasks[t], labels, first.clone(), task.kind);
        total = Some(match total {
            Some(sum) => sum + loss,
            None => loss,
        });
    }
    let outputs = Tensor::cat(out.tasks.iter().map(|p| p.raw().detach()).collect(), 2);
    let grads = GradientsParams::from_grads(total.expect("two tasks").backward(), &model);
    let mut visitor = Gradients {
        grads: &grads,
        flat: Vec::new(),
    };
    model.visit(&mut visitor);
    let read = |t: mtl::burn::tensor::TensorData| t.try_to_vec::<f32>().expect("f32");
    [
        read(outputs.into_data_async().await.expect("outputs read back")),
        read(
            Tensor::cat(visitor.flat, 0)
                .into_data_async()
                .await
                .expect("gradients read back"),
        ),
    ]
}

/// WebGPU (Chromium's software adapter) and the CPU device compute the same thing: one batch's
/// outputs and gradients of a small MMoE with the same weights agree to within 1e-4 + 1e-3·|x|
/// (f32, with sums taken in another order on each side).
#[wasm_bindgen_test]
async fn webgpu_and_cpu_agree_on_outputs_and_gradients() {
    let data = mtl_playground::worker::runner::load_data(TRAIN_GZ, TEST_GZ, true).expect("data");
    let mut e = Experiment::tutorial(ModelKind::Mmoe);
    e.arch.experts = 3;
    e.arch.expert_units = vec![8];
    e.arch.tower_units = vec![4];
    // The weights come from one CPU-built model, written as a model file and loaded on each side.
    let session = Training::new(1, &e, &[&data], &Device::flex()).expect("builds on the CPU");
    let bytes = session.export().read_async().await.expect("exports");
    let gpu = webgpu().await;
    let [cpu_out, cpu_grads] = outputs_and_gradients(bytes.clone(), &Device::flex(), &data).await;
    let [gpu_out, gpu_grads] = outputs_and_gradients(bytes, &gpu, &data).await;

    for (what, cpu, gpu) in [
        ("outputs", &cpu_out, &gpu_out),
        ("gradients", &cpu_grads, &gpu_grads),
    ] {
        assert_eq!(cpu.len(), gpu.len(), "{what}");
        assert!(cpu.iter().any(|v| *v != 0.0), "{what} are not all zero");
        let worst = worst_over_tolerance(cpu, gpu);
        assert!(
            worst <= 1.0,
            "{what}: the worst entry is {worst:.2} times the tolerance"
        );
    }
}

/// Seeds side by side on WebGPU (the software adapter here): each replica of one build trains
/// as its seed trains alone on the same device. After 10 steps, every replica's mean training
/// loss per task and its validation losses agree with its own run within 1e-4 + 1e-3·|x| (f32
/// on a GPU sums in its own order; the native test holds the CPU device to 1e-4 over whole runs).
#[wasm_bindgen_test]
async fn webgpu_replicas_are_each_seeds_own_run() {
    // A slice of Adult: the software adapter is slow, and agreement needs no more rows.
    let mut data =
        mtl_playground::worker::runner::load_data(TRAIN_GZ, TEST_GZ, true).expect("data");
    data.train = data.train.subset(&(0..1024).collect::<Vec<_>>());
    data.valid = data.valid.subset(&(0..512).collect::<Vec<_>>());
    let gpu = webgpu().await;
    let mut e = Experiment::tutorial(ModelKind::Mmoe);
    e.arch.experts = 3;
    e.arch.expert_units = vec![8];
    e.arch.tower_units = vec![4];
    e.batch_size = 64;
    e.seed = 4;
    e.replicas = 2;
    let steps = 10;
    let mut together = Training::new(1, &e, &[&data], &gpu).expect("builds on WebGPU");
    let chunk = together
        .train_chunk(steps)
        .read_async()
        .await
        .expect("finite losses");
    assert_eq!(chunk.step, steps as u64);
    assert_eq!(chunk.replica_losses.len(), 2);
    let valid = together.validation().read_async().await.expect("reads");
    assert_eq!(valid.len(), 2);
    let mut seen = Vec::new();
    for (r, seed) in e.seeds().into_iter().enumerate() {
        let alone = e.reseeded(seed);
        let mut own = Training::new(1, &alone, &[&data], &gpu).expect("builds on WebGPU");
        let own_chunk = own.train_chunk(steps).read_async().await.expect("finite");
        let own_valid = own.validation().read_async().await.expect("reads");
        let own_valid: Vec<f32> = own_valid[0].tasks.iter().map(|t| t.loss as f32).collect();
        let side_valid: Vec<f32> = valid[r].tasks.iter().map(|t| t.loss as f32).collect();
        for (what, side, alone) in [
            ("training loss", &chunk.replica_losses[r], &own_chunk.losses),
            ("validation loss", &side_valid, &own_valid),
        ] {
            let worst = worst_over_tolerance(alone, side);
            assert!(
                worst <= 1.0,
                "seed {seed}, {what}: side by side {side:?}, alone {alone:?} ({worst:.2}× the tolerance)"
            );
        }
        seen.push(own_chunk.losses[0]);
    }
    // The premise: the seeds train differently, so agreeing with each is not agreeing with one.
    assert!(
        seen.iter().any(|l| (l - seen[0]).abs() > 1e-3),
        "the seeds' losses: {seen:?}"
    );
}

/// The largest |cpu − gpu| / (1e-4 + 1e-3·|cpu|) over the entries: at most 1 when the two
/// devices agree. A NaN or an infinity on either side gives NaN, which no bound passes
/// (`f32::max` would have dropped it and let the worst finite entry speak for it).
fn worst_over_tolerance(cpu: &[f32], gpu: &[f32]) -> f32 {
    cpu.iter()
        .zip(gpu)
        .map(|(c, g)| (c - g).abs() / (1e-4 + 1e-3 * c.abs()))
        .fold(0.0, |worst, r| {
            if worst.is_nan() || !r.is_finite() {
                f32::NAN
            } else {
                worst.max(r)
            }
        })
}

#[wasm_bindgen_test]
fn parity_check_fails_on_a_nan() {
    assert!(worst_over_tolerance(&[1.0, 2.0], &[1.0, 2.0]) <= 1.0);
    assert!(worst_over_tolerance(&[1.0, 2.0], &[1.0, 2.1]) > 1.0);
    // A NaN or an infinity anywhere, before finite entries or after them, is NaN: the
    // parity test's `worst <= 1.0` then fails.
    for bad in [f32::NAN, f32::INFINITY] {
        for (cpu, gpu) in [
            ([1.0, 2.0], [bad, 2.0]),
            ([bad, 2.0], [1.0, 2.0]),
            ([1.0, 2.0], [1.0, bad]),
        ] {
            let worst = worst_over_tolerance(&cpu, &gpu);
            assert!(worst.is_nan(), "{cpu:?} against {gpu:?} passed as {worst}");
        }
    }
}
