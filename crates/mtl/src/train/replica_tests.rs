//! Replicas side by side are the same computation as each replica alone: the proof the
//! replica dimension rests on. Replica r of a batched run matches a run of its seed alone, step
//! by step, for every model kind; so do its gradients, its evaluation, its gate weights and its
//! conflict cosine.

use burn::module::{ModuleVisitor, Param};
use burn::optim::GradientsParams;
use burn::tensor::{Device, Tensor};

use super::*;
use crate::data::{CorrelatedConfig, Dataset, FunnelConfig, Split, correlated, funnel};
use crate::models::{ModelConfig, ModelKind, ModelSettings};
use mtl_vocab::DataKind;

/// The largest difference the issue allows between a replica and its seed alone.
const SAME: f32 = 1e-5;

fn small_funnel() -> Dataset {
    funnel(&FunnelConfig {
        train_rows: 2_000,
        valid_rows: 300,
        test_rows: 10,
        ..Default::default()
    })
    .expect("valid knobs")
}

fn small_correlated(p: f64, seed: u64) -> Dataset {
    correlated(&CorrelatedConfig {
        p,
        seed,
        train_rows: 1_500,
        valid_rows: 300,
        test_rows: 10,
        ..Default::default()
    })
    .expect("valid knobs")
    .0
}

fn make(kind: ModelKind, data_kind: DataKind, data: &[&Dataset], replicas: Replicas) -> Trainer {
    let train: Vec<&Split> = data.iter().map(|d| &d.train).collect();
    Trainer::new(
        ModelConfig::from_settings(kind, &ModelSettings::for_data(kind, data_kind)),
        TrainConfig::new()
            .with_learning_rate(3e-3)
            .with_batch_size(128),
        &data[0].input,
        data[0].tasks.clone(),
        &train,
        replicas,
        &Device::flex(),
    )
    .expect("valid trainer")
}

/// Every step's losses, `[step][replica][task]`.
fn losses(t: &mut Trainer, steps: usize) -> Vec<Vec<Vec<f32>>> {
    (0..steps)
        .map(|_| {
            t.step()
                .readback()
                .read()
                .expect("finite losses")
                .replicas
                .into_iter()
                .map(|r| r.losses)
                .collect()
        })
        .collect()
}

fn max_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(
            0.0,
            |m, d| if d.is_nan() { f32::INFINITY } else { m.max(d) },
        )
}

/// Trains `kind` as replicas of `seeds` (replica r on `data[r]`, or all on `data[0]`) and each
/// seed alone, and checks that they agree at every step, and in their validation reports.
fn check_replicas_match_alone(
    kind: ModelKind,
    data_kind: DataKind,
    data: &[&Dataset],
    seeds: &[u64],
) {
    const STEPS: usize = 100;
    let own_data = data.len() > 1;
    let replicas = if own_data {
        Replicas::each_on_its_data(seeds)
    } else {
        Replicas::seeds(seeds)
    };
    let mut together = make(kind, data_kind, data, replicas);
    let batched = losses(&mut together, STEPS);
    let valid: Vec<&Split> = data.iter().map(|d| &d.valid).collect();
    let valid_set = EvalSet::stack(&valid, &together.eval_device()).expect("one shape");
    let reports = together.evaluate(&valid_set).expect("scores");
    for (r, &seed) in seeds.iter().enumerate() {
        let mine = if own_data { data[r] } else { data[0] };
        let mut alone = make(kind, data_kind, &[mine], Replicas::one(seed));
        let single = losses(&mut alone, STEPS);
        for (step, (b, s)) in batched.iter().zip(&single).enumerate() {
            let diff = max_diff(&b[r], &s[0]);
            assert!(
                diff <= SAME,
                "{kind}, seed {seed} (replica {r}), step {}: {:?} together, {:?} alone",
                step + 1,
                b[r],
                s[0]
            );
        }
        let report = alone
            .evaluate(&EvalSet::new(&mine.valid, &alone.eval_device()))
            .expect("scores")
            .remove(0);
        let (a, b) = (&reports[r], &report);
        for (x, y) in a.tasks.iter().zip(&b.tasks) {
            assert!(
                (x.loss - y.loss).abs() <= SAME as f64,
                "{kind} seed {seed}: validation {} {} against {}",
                x.name,
                x.loss,
                y.loss
            );
        }
        for (x, y) in a.gates.iter().zip(&b.gates) {
            assert!(
                max_diff(&x.mean, &y.mean) <= SAME,
                "{kind} seed {seed}: gates"
            );
            assert!((x.row_entropy - y.row_entropy).abs() <= SAME);
        }
        assert_eq!(a.gates.len(), b.gates.len());
    }
}

#[test]
fn replicas_train_as_each_seed_alone_for_every_model() {
    let data = small_funnel();
    for kind in ModelKind::ALL {
        check_replicas_match_alone(kind, DataKind::Funnel, &[&data], &[3, 7, 11]);
    }
}

#[test]
fn replicas_on_their_own_data_train_as_alone() {
    // One p per replica, each drawn from its own seed: the correlation experiment's cells.
    let sets = [
        small_correlated(1.0, 4),
        small_correlated(0.5, 5),
        small_correlated(0.0, 6),
    ];
    let data: Vec<&Dataset> = sets.iter().collect();
    for kind in [ModelKind::SharedBottom, ModelKind::Mmoe, ModelKind::Ple] {
        check_replicas_match_alone(kind, DataKind::Correlated, &data, &[4, 5, 6]);
    }
}

/// Every float parameter's gradient, flattened, in visiting order.
struct Grads<'a> {
    grads: &'a GradientsParams,
    out: Vec<Vec<f32>>,
}

impl ModuleVisitor for Grads<'_> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let g = self
            .grads
            .get::<D>(param.id)
            .map(|g| g.into_data().try_to_vec::<f32>().expect("f32"))
            .unwrap_or_default();
        self.out.push(g);
    }
}

fn first_gradients(t: &Trainer) -> Vec<Vec<f32>> {
    let (_, total, _) = t.objective(&t.train_batch_for_test());
    let grads = GradientsParams::from_grads(total.backward(), t.model());
    let mut visit = Grads {
        grads: &grads,
        out: Vec::new(),
    };
    burn::module::Module::visit(t.model(), &mut visit);
    visit.out
}

/// The objective is the sum of the replicas' objectives, not their mean: each replica's gradient
/// is exactly its own (a mean would scale it by 1/R, which Adam's epsilon does not hide).
#[test]
fn replicas_gradients_are_each_replicas_own() {
    let data = small_funnel();
    let seeds = [2, 9];
    for kind in [ModelKind::Mmoe, ModelKind::Esmm] {
        let together = first_gradients(&make(
            kind,
            DataKind::Funnel,
            &[&data],
            Replicas::seeds(&seeds),
        ));
        for (r, &seed) in seeds.iter().enumerate() {
            let alone =
                first_gradients(&make(kind, DataKind::Funnel, &[&data], Replicas::one(seed)));
            assert_eq!(together.len(), alone.len());
            for (i, (g, a)) in together.iter().zip(&alone).enumerate() {
                let n = a.len();
                let mine = &g[r * n..(r + 1) * n];
                let scale = a.iter().fold(0.0f32, |m, v| m.max(v.abs())).max(1e-12);
                assert!(
                    max_diff(mine, a) <= 1e-4 * scale,
                    "{kind} seed {seed}, parameter {i}: gradients differ (scale {scale})"
                );
            }
        }
    }
}

#[test]
fn replicas_in_a_shared_order_read_the_same_rows() {
    let data = small_funnel();
    let rows = |shared_order: bool| {
        let t = make(
            ModelKind::SharedBottom,
            DataKind::Funnel,
            &[&data],
            Replicas {
                shared_order,
                ..Replicas::seeds(&[5, 6])
            },
        );
        let labels: Vec<f32> = t
            .next_batch()
            .numeric
            .into_data()
            .try_to_vec()
            .expect("f32");
        let half = labels.len() / 2;
        (labels[..half].to_vec(), labels[half..].to_vec())
    };
    let (a, b) = rows(true);
    assert_eq!(a, b, "a paired design: both replicas read the same rows");
    let (a, b) = rows(false);
    assert_ne!(a, b, "each replica in its own seed's order");
}

#[test]
fn replica_exports_as_its_seed_alone_would() {
    let data = small_funnel();
    let mut together = make(
        ModelKind::Ple,
        DataKind::Funnel,
        &[&data],
        Replicas::seeds(&[1, 8]),
    );
    let mut alone = make(ModelKind::Ple, DataKind::Funnel, &[&data], Replicas::one(8));
    for _ in 0..5 {
        together.step();
        alone.step();
    }
    let device = Device::flex();
    let (_, from_batch) =
        ModelFile::load(together.export_pending(1).read().expect("exports"), &device)
            .expect("loads");
    let (_, from_alone) =
        ModelFile::load(alone.export_pending(0).read().expect("exports"), &device).expect("loads");
    assert_eq!(from_batch.replicas(), 1);
    assert_eq!(from_batch.params_per_replica(), alone.num_params());
    let batch = data.valid.to_device(&device).range(&[0], 0, 64);
    let input = crate::models::ModelInput::from(&batch);
    let p = |m: &crate::models::MtlModel| -> Vec<f32> {
        m.forward(&input).tasks[1]
            .probability()
            .into_data()
            .try_to_vec()
            .expect("f32")
    };
    assert!(max_diff(&p(&from_batch), &p(&from_alone)) <= SAME);
}

#[test]
fn replicas_conflict_cosines_are_each_replicas_own() {
    let sets = [small_correlated(1.0, 3), small_correlated(0.0, 4)];
    let data: Vec<&Dataset> = sets.iter().collect();
    let mut together = make(
        ModelKind::SharedBottom,
        DataKind::Correlated,
        &data,
        Replicas::each_on_its_data(&[3, 4]),
    );
    for _ in 0..30 {
        together.step();
    }
    let cos: Vec<f32> = together
        .gradient_cosine()
        .expect("a shared bottom")
        .into_data()
        .try_to_vec()
        .expect("f32");
    for (r, (&seed, set)) in [3, 4].iter().zip(&sets).enumerate() {
        let mut alone = make(
            ModelKind::SharedBottom,
            DataKind::Correlated,
            &[set],
            Replicas::one(seed),
        );
        for _ in 0..30 {
            alone.step();
        }
        let c: Vec<f32> = alone
            .gradient_cosine()
            .expect("a shared bottom")
            .into_data()
            .try_to_vec()
            .expect("f32");
        assert!(
            (cos[r] - c[0]).abs() <= 1e-4,
            "seed {seed}: {} against {}",
            cos[r],
            c[0]
        );
    }
}
