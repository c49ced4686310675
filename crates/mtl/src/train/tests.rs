use super::*;
use crate::data::{AdultData, DataOptions, Split};
use crate::models::{ModelConfig, ModelKind, MtlModel};
use burn::module::{Module, ModuleVisitor, Param};
use burn::optim::GradientsParams;
use burn::tensor::{Device, Tensor};

fn small_data() -> AdultData {
    let mut data = AdultData::embedded(DataOptions::default()).expect("embedded data");
    let take = |s: &Split, n: usize| s.subset(&(0..n).collect::<Vec<_>>());
    data.train = take(&data.train, 2048);
    data.valid = take(&data.valid, 512);
    data
}

fn trainer(kind: ModelKind, data: &AdultData, config: TrainConfig) -> Trainer {
    seeded(kind, data, config, 1)
}

fn seeded(kind: ModelKind, data: &AdultData, config: TrainConfig, seed: u64) -> Trainer {
    Trainer::new(
        ModelConfig::tutorial(kind),
        config,
        &data.input_spec(),
        data.tasks.clone(),
        &[&data.train],
        Replicas::one(seed),
        &Device::flex(),
    )
    .expect("valid trainer")
}

/// The report of a trainer of one replica.
fn eval(t: &Trainer, set: &EvalSet) -> EvalReport {
    t.evaluate(set).expect("scores").remove(0)
}

/// Collects, for every float parameter, whether its gradient has a non-zero entry.
struct GradientCheck<'a> {
    grads: &'a GradientsParams,
    dead: Vec<String>,
    path: Vec<String>,
}

impl ModuleVisitor for GradientCheck<'_> {
    fn enter_module(&mut self, name: &str, _container: &str) {
        self.path.push(name.to_string());
    }
    fn exit_module(&mut self, _name: &str, _container: &str) {
        self.path.pop();
    }
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let alive = self
            .grads
            .get::<D>(param.id)
            .map(|g| g.abs().max().into_scalar::<f32>() > 0.0)
            .unwrap_or(false);
        if !alive {
            self.dead.push(self.path.join("."));
        }
    }
}

/// The parameters that get no gradient from the trainer's own objective on its first batch.
fn dead_parameters(t: &Trainer) -> Vec<String> {
    let (_, total, _) = t.objective(&t.train_batch_for_test());
    let grads = GradientsParams::from_grads(total.backward(), t.model());
    let mut check = GradientCheck {
        grads: &grads,
        dead: Vec::new(),
        path: Vec::new(),
    };
    t.model().visit(&mut check);
    check.dead
}

#[test]
fn trainer_step_gives_every_parameter_a_gradient() {
    let data = small_data();
    for kind in ModelKind::ALL {
        let t = trainer(kind, &data, TrainConfig::new());
        assert!(
            t.model().embedding_penalty().is_some(),
            "{kind}: Adult has embeddings"
        );
        let dead = dead_parameters(&t);
        assert!(
            dead.is_empty(),
            "{kind}: parameters without gradient: {dead:?}"
        );
    }
}

#[test]
fn trainer_is_bit_reproducible_for_a_seed() {
    let data = small_data();
    let run = |seed| {
        let mut t = seeded(ModelKind::Mmoe, &data, TrainConfig::new(), seed);
        (0..5)
            .map(|_| {
                t.step().readback().read().unwrap().replicas[0]
                    .losses
                    .clone()
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(run(3), run(3));
    assert_ne!(run(3), run(4));
}

#[test]
fn trainer_learns_and_evaluates() {
    let data = small_data();
    let mut t = trainer(
        ModelKind::SharedBottom,
        &data,
        TrainConfig::new().with_learning_rate(3e-3),
    );
    let valid = EvalSet::new(&data.valid, &t.eval_device());
    let before = eval(&t, &valid);
    let mut epoch_done = 0;
    for _ in 0..3 * t.steps_per_epoch() {
        if t.step().readback().read().unwrap().epoch_done {
            epoch_done += 1;
        }
    }
    assert_eq!(epoch_done, 3);
    assert_eq!(t.epoch(), 3);
    let after = eval(&t, &valid);
    assert!(after.weighted_loss(&[1.0, 1.0]) < before.weighted_loss(&[1.0, 1.0]));
    assert!(
        after.task("never_married").unwrap().auc.unwrap() > 0.85,
        "{after:?}"
    );
}

#[test]
fn trainer_reports_gate_means_that_sum_to_one() {
    let data = small_data();
    let mut t = trainer(ModelKind::Ple, &data, TrainConfig::new());
    let report = t.step().readback().read().unwrap();
    assert_eq!(report.replicas[0].gates.len(), 5);
    for g in &report.replicas[0].gates {
        assert!((g.iter().sum::<f32>() - 1.0).abs() < 1e-4);
    }
    let valid = EvalSet::new(&data.valid, &t.eval_device());
    let report = eval(&t, &valid);
    assert_eq!(report.gates.len(), 5);
    // Level 0: task 0, task 1, then the shared gate over all 20 experts; level 1: two task gates.
    assert_eq!(report.gates[2].gate.task, None);
    assert_eq!(report.gates[2].mean.len(), 20);
    assert_eq!(report.gates[4].gate.level, 1);
    assert_eq!(report.gates[4].mean.len(), 12);
    for g in &report.gates {
        assert!(
            g.row_entropy > 0.0 && g.row_entropy <= 1.0 + 1e-4,
            "{}",
            g.row_entropy
        );
    }
}

#[test]
fn trained_gates_route_rows_more_sharply_than_fresh_ones() {
    // The per-row entropy, not the mean weights, tells a gate that routes rows apart from one
    // that weighs every expert alike for every row.
    let data = small_data();
    let mut t = seeded(
        ModelKind::Mmoe,
        &data,
        TrainConfig::new().with_learning_rate(0.01),
        2,
    );
    let valid = EvalSet::new(&data.valid, &t.eval_device());
    let fresh: Vec<f32> = eval(&t, &valid)
        .gates
        .iter()
        .map(|g| g.row_entropy)
        .collect();
    for _ in 0..300 {
        t.step().readback().read().unwrap();
    }
    let trained: Vec<f32> = eval(&t, &valid)
        .gates
        .iter()
        .map(|g| g.row_entropy)
        .collect();
    println!("row entropy fresh {fresh:?}, trained {trained:?}");
    assert!(
        fresh.iter().all(|&h| h > 0.95),
        "fresh gates are near uniform per row: {fresh:?}"
    );
    assert!(
        trained.iter().zip(&fresh).all(|(a, b)| a < b),
        "trained {trained:?} against fresh {fresh:?}"
    );
}

#[test]
fn trainer_esmm_reports_cvr_on_clicked_rows() {
    let data = small_data();
    let t = trainer(ModelKind::Esmm, &data, TrainConfig::new());
    let report = eval(&t, &EvalSet::new(&data.valid, &t.eval_device()));
    let cvr = report.cvr.expect("ESMM reports CVR");
    let clicked = data
        .valid
        .task_labels(0)
        .iter()
        .filter(|&&y| y > 0.5)
        .count();
    assert_eq!(cvr.samples, clicked);
}

#[test]
fn trainer_stops_on_a_non_finite_loss_with_a_hint() {
    let mut data = small_data();
    // A corrupt value in the inputs poisons the loss, as a diverged model would.
    data.train.numeric[3] = f32::NAN;
    let mut t = trainer(
        ModelKind::SharedBottom,
        &data,
        TrainConfig::new().with_learning_rate(0.5),
    );
    let err = (0..t.steps_per_epoch())
        .find_map(|_| t.step().readback().read().err())
        .expect("a NaN input gives a NaN loss");
    assert!(matches!(err, TrainError::NonFinite { .. }), "{err:?}");
    let message = err.to_string();
    assert!(message.contains("learning rate"), "{message}");
}

#[test]
fn trainer_refuses_invalid_settings() {
    let data = small_data();
    let make = |c: TrainConfig| {
        Trainer::new(
            ModelConfig::tutorial(ModelKind::Mmoe),
            c,
            &data.input_spec(),
            data.tasks.clone(),
            &[&data.train],
            Replicas::one(1),
            &Device::flex(),
        )
    };
    assert!(make(TrainConfig::new().with_learning_rate(-1.0)).is_err());
    assert!(make(TrainConfig::new().with_learning_rate(f64::NAN)).is_err());
    assert!(make(TrainConfig::new().with_batch_size(0)).is_err());
    assert!(make(TrainConfig::new().with_loss_weights(vec![0.0, 0.0])).is_err());
    assert!(make(TrainConfig::new().with_loss_weights(vec![1.0])).is_err());
    let mut ok = make(TrainConfig::new()).unwrap();
    assert!(ok.set_learning_rate(0.0).is_err());
    assert!(ok.set_learning_rate(0.01).is_ok());
    assert_eq!(ok.config().learning_rate, 0.01);
}

#[test]
fn selection_restores_each_replicas_best_weights_not_the_last() {
    let data = small_data();
    let mut t = Trainer::new(
        ModelConfig::tutorial(ModelKind::Mmoe),
        TrainConfig::new(),
        &data.input_spec(),
        data.tasks.clone(),
        &[&data.train],
        Replicas::seeds(&[3, 4]),
        &Device::flex(),
    )
    .expect("valid trainer");
    let batch = data.valid.to_device(&Device::flex()).range(&[0, 0], 0, 64);
    let input = crate::models::ModelInput::from(&batch);
    // Each replica's predictions, [R][rows].
    let predict = |m: &MtlModel| -> Vec<Vec<f32>> {
        let p: Vec<f32> = m.valid().forward(&input).tasks[0]
            .probability()
            .into_data()
            .try_to_vec()
            .expect("f32");
        per_replica(p, 2)
    };
    // Validation losses with a clear best in the middle: at point 2 for replica 0, at point 4
    // for replica 1; 5 steps an "epoch", patience 2.
    let losses = [
        [0.60, 0.70],
        [0.40, 0.60],
        [0.45, 0.50],
        [0.50, 0.30],
        [0.55, 0.35],
    ];
    let mut selection = ReplicaSelection::new(2, 2, 5);
    let mut best: Option<MtlModel> = None;
    let mut predictions = Vec::new();
    let mut stopped = Vec::new();
    for (i, point) in losses.iter().enumerate() {
        for _ in 0..5 {
            t.step().readback().read().expect("finite step");
        }
        predictions.push(predict(t.model()));
        let verdict = selection.observe(5 * (i as u64 + 1), point);
        best = Some(match best.take() {
            None => t.model().clone(),
            Some(kept) => kept.with_replicas_from(t.model(), &verdict.improved),
        });
        stopped.extend(verdict.stopped);
    }
    assert_eq!(
        stopped,
        vec![0],
        "replica 0 waited 2 epochs for better; replica 1 did not"
    );
    assert_eq!(selection.best(0), Some((10, 0.40)));
    assert_eq!(selection.best(1), Some((20, 0.30)));
    let kept = predict(&best.expect("kept weights"));
    assert_ne!(
        predictions[1][0], predictions[4][0],
        "training moved the weights"
    );
    assert_eq!(kept[0], predictions[1][0], "replica 0: point 2's weights");
    assert_eq!(kept[1], predictions[3][1], "replica 1: point 4's weights");
}

#[test]
fn model_file_loads_back_to_the_same_predictions() {
    let data = small_data();
    for kind in [ModelKind::Ple, ModelKind::Esmm, ModelKind::NaiveCvr] {
        let mut t = seeded(kind, &data, TrainConfig::new(), 5);
        for _ in 0..3 {
            t.step().readback().read().expect("finite step");
        }
        let bytes = t.export_pending(0).read().expect("exports");
        assert_eq!(
            &bytes[..4],
            b"NRUB",
            "{kind:?}: a burnpack file starts with its magic"
        );

        let (file, model) = ModelFile::load(bytes, &Device::flex()).expect("loads back");
        assert_eq!(file.steps, 3);
        assert_eq!(&file.config, t.model_config());
        assert_eq!(file.tasks, data.tasks);
        assert_eq!(file.input, data.input_spec());
        assert_eq!(model.num_params(), t.num_params());

        let batch = data.valid.to_device(&Device::flex()).range(&[0], 0, 64);
        let input = crate::models::ModelInput::from(&batch);
        let before = t.model().valid().forward(&input);
        let after = model.forward(&input);
        for (a, b) in before.tasks.iter().zip(&after.tasks) {
            let a = a
                .probability()
                .into_data()
                .try_to_vec::<f32>()
                .expect("f32");
            let b = b
                .probability()
                .into_data()
                .try_to_vec::<f32>()
                .expect("f32");
            assert_eq!(
                a, b,
                "{kind:?}: the loaded model predicts what the trained one did"
            );
        }
    }
}

#[test]
fn model_file_refuses_what_it_cannot_use() {
    let data = small_data();
    let t = trainer(ModelKind::Mmoe, &data, TrainConfig::new());
    let bytes = t.export_pending(0).read().expect("exports");
    let refuse = |bytes: Vec<u8>| match ModelFile::load(bytes, &Device::flex()) {
        Err(TrainError::ModelFile(why)) => why,
        Err(other) => panic!("wrong error: {other}"),
        Ok(_) => panic!("a broken file loaded"),
    };
    assert!(refuse(b"not a model".to_vec()).contains("not a Burn record"));
    assert!(refuse(bytes[..bytes.len() / 2].to_vec()).contains("not a Burn record"));
    // A plain Burn record, without the playground's description.
    let plain = t
        .model()
        .valid()
        .into_record()
        .into_bytes()
        .expect("record")
        .to_vec();
    assert!(refuse(plain).contains("mtl.format"));
}

/// Every model the correlated data offers (not ESMM, whose product of probabilities needs binary
/// tasks, nor the naive CVR model, which needs a click) on the correlated
/// regression tasks, numeric inputs only: every parameter gets a gradient, and the test MSE
/// falls well below the labels' variance (1, as they are standardised).
#[test]
fn trainer_trains_every_model_on_correlated_regression_tasks() {
    let (data, _) = crate::data::correlated(&crate::data::CorrelatedConfig {
        p: 0.5,
        train_rows: 2_000,
        valid_rows: 200,
        test_rows: 500,
        ..Default::default()
    })
    .expect("valid knobs");
    for kind in ModelKind::ALL
        .into_iter()
        .filter(|&k| mtl_vocab::DataKind::Correlated.offers(k))
    {
        let config = TrainConfig::new()
            .with_learning_rate(3e-3)
            .with_batch_size(128);
        let mut t = Trainer::new(
            ModelConfig::tutorial(kind),
            config,
            &data.input,
            data.tasks.clone(),
            &[&data.train],
            Replicas::one(1),
            &Device::flex(),
        )
        .expect("valid trainer");
        assert!(
            t.model().embedding_penalty().is_none(),
            "{kind}: no embeddings"
        );
        let dead = dead_parameters(&t);
        assert!(dead.is_empty(), "{kind}: no gradient for {dead:?}");
        let test = EvalSet::new(&data.test, &t.eval_device());
        let before = eval(&t, &test);
        for _ in 0..300 {
            t.step();
        }
        let after = eval(&t, &test);
        for (b, a) in before.tasks.iter().zip(&after.tasks) {
            assert!(
                a.loss < 0.6 * b.loss && a.loss < 0.6,
                "{kind} {}: {} → {}",
                a.name,
                b.loss,
                a.loss
            );
            assert!(
                a.r2.is_some_and(|r2| r2 > 0.4),
                "{kind} {}: R² {:?}",
                a.name,
                a.r2
            );
            assert_eq!((a.auc, a.logloss), (None, None));
        }
    }
}

fn small_funnel() -> crate::data::Dataset {
    crate::data::funnel(&crate::data::FunnelConfig {
        train_rows: 3_000,
        valid_rows: 100,
        test_rows: 1_000,
        ..Default::default()
    })
    .expect("valid knobs")
}

fn funnel_trainer(kind: ModelKind, data: &crate::data::Dataset, train: &Split) -> Trainer {
    let settings = crate::models::ModelSettings::for_data(kind, mtl_vocab::DataKind::Funnel);
    funnel_trainer_with(kind, settings, data, train)
}

fn funnel_trainer_with(
    kind: ModelKind,
    settings: crate::models::ModelSettings,
    data: &crate::data::Dataset,
    train: &Split,
) -> Trainer {
    Trainer::new(
        ModelConfig::from_settings(kind, &settings),
        TrainConfig::new().with_learning_rate(3e-3),
        &data.input,
        data.tasks.clone(),
        &[train],
        Replicas::one(1),
        &Device::flex(),
    )
    .expect("valid trainer")
}

/// Every model on the funnel (one item id, four numeric context features, two binary tasks):
/// every parameter gets a gradient, and both tasks' test log loss falls.
#[test]
fn trainer_trains_every_model_on_the_funnel() {
    let data = small_funnel();
    for kind in ModelKind::ALL {
        let mut t = funnel_trainer(kind, &data, &data.train);
        let dead = dead_parameters(&t);
        assert!(dead.is_empty(), "{kind}: no gradient for {dead:?}");
        let test = EvalSet::new(&data.test, &t.eval_device())
            .with_cvr_truth(vec![data.cvr_truth.as_ref().map(|t| t.test.clone())]);
        let before = eval(&t, &test);
        for _ in 0..120 {
            t.step();
        }
        let after = eval(&t, &test);
        for (b, a) in before.tasks.iter().zip(&after.tasks) {
            assert!(
                a.loss < b.loss,
                "{kind} {}: {} → {}",
                a.name,
                b.loss,
                a.loss
            );
        }
        assert_eq!(after.cvr.is_some(), kind.predicts_cvr(), "{kind}");
        // A CVR head is scored over every test impression against the counterfactual labels.
        if let Some(all) = &after.cvr_all {
            assert_eq!(all.samples, data.test.len);
            assert!(all.auc.is_some_and(|a| a > 0.5), "{kind}: {all:?}");
            assert!(all.mse_true.is_some_and(|m| m < 0.1), "{kind}: {all:?}");
        }
        assert_eq!(after.cvr_all.is_some(), kind.predicts_cvr(), "{kind}");
    }
}

/// The naive CVR model learns conversion from the clicked impressions only: on a batch without
/// a click its CVR side (embeddings and tower) gets no gradient while its CTR side does; with
/// clicks, every parameter does.
#[test]
fn trainer_naive_cvr_learns_conversion_from_clicked_rows_only() {
    let data = small_funnel();
    let rows = |clicked: bool| -> Vec<usize> {
        (0..data.train.len)
            .filter(|&r| (data.train.labels[r * 2] > 0.5) == clicked)
            .collect()
    };
    let unclicked = data.train.subset(&rows(false));
    let dead = dead_parameters(&funnel_trainer(ModelKind::NaiveCvr, &data, &unclicked));
    assert!(
        dead.iter().any(|p| p.starts_with("NaiveCvr.cvr_input."))
            && dead.iter().any(|p| p.starts_with("NaiveCvr.cvr."))
            && dead.iter().all(|p| p.starts_with("NaiveCvr.cvr")),
        "{dead:?}"
    );
    let clicked = data.train.subset(&rows(true));
    let dead = dead_parameters(&funnel_trainer(ModelKind::NaiveCvr, &data, &clicked));
    assert!(dead.is_empty(), "{dead:?}");
    // ESMM's CVR tower learns from every impression, clicked or not.
    let dead = dead_parameters(&funnel_trainer(ModelKind::Esmm, &data, &unclicked));
    assert!(dead.is_empty(), "{dead:?}");
    // Sharing the embedding table, the naive CVR tower still learns from clicks only, while the
    // table it reads learns from every impression through the CTR tower.
    let mut shared =
        crate::models::ModelSettings::for_data(ModelKind::NaiveCvr, mtl_vocab::DataKind::Funnel);
    shared.shared_embedding = true;
    let t = funnel_trainer_with(ModelKind::NaiveCvr, shared, &data, &unclicked);
    let dead = dead_parameters(&t);
    assert!(
        !dead.is_empty() && dead.iter().all(|p| p.starts_with("NaiveCvr.cvr.")),
        "{dead:?}"
    );
}

/// Sharing the embedding table is ESMM's design; not sharing (ESMM-NS) gives the CVR tower a
/// table of its own, which is all the parameters the two differ by. The naive baseline shares
/// nothing by default.
#[test]
fn trainer_esmm_shares_the_embedding_unless_told_not_to() {
    let data = small_funnel();
    let params = |kind, shared: bool| {
        let mut s = crate::models::ModelSettings::for_data(kind, mtl_vocab::DataKind::Funnel);
        s.shared_embedding = shared;
        funnel_trainer_with(kind, s, &data, &data.train).num_params()
    };
    let table = 400 * 4;
    assert_eq!(
        params(ModelKind::Esmm, false),
        params(ModelKind::Esmm, true) + table
    );
    assert_eq!(
        params(ModelKind::NaiveCvr, false),
        params(ModelKind::Esmm, false)
    );
    assert_eq!(
        params(ModelKind::NaiveCvr, true),
        params(ModelKind::Esmm, true)
    );
    assert_eq!(
        funnel_trainer(ModelKind::NaiveCvr, &data, &data.train).num_params(),
        params(ModelKind::NaiveCvr, false)
    );
}
