use super::*;
use crate::data::{AdultData, DataOptions};
use burn::tensor::{Device, Tolerance};

fn adult_spec() -> InputSpec {
    InputSpec {
        vocab_sizes: vec![9, 16, 15, 6, 5, 2, 42],
        n_numeric: 6,
    }
}

fn batch(device: &Device) -> ModelInput {
    let data = AdultData::embedded(DataOptions::default()).expect("embedded data");
    let rows: Vec<usize> = (0..32).collect();
    let split = data.train.subset(&rows).to_device(device);
    ModelInput::from(&split.range(0, 32))
}

#[test]
fn models_match_deepctr_parameter_counts() {
    let device = Device::flex();
    let expected = [
        (ModelKind::SingleTask, 63_482),
        (ModelKind::SharedBottom, 42_110),
        (ModelKind::Mmoe, 10_702),
        (ModelKind::Omoe, 10_566),
        (ModelKind::Cgc, 131_854),
        (ModelKind::Ple, 300_470),
        (ModelKind::Esmm, 42_622),
    ];
    for (kind, params) in expected {
        let model = ModelConfig::tutorial(kind)
            .init(&adult_spec(), 2, &device)
            .expect("tutorial config is valid");
        assert_eq!(model.num_params(), params, "{kind}");
    }
}

#[test]
fn ple_with_one_level_equals_cgc() {
    let device = Device::flex();
    let x = batch(&device);
    let spec = adult_spec();
    let cgc = ModelConfig::tutorial(ModelKind::Cgc)
        .init(&spec, 2, &device)
        .unwrap();
    let ple = ModelConfig::tutorial(ModelKind::Ple)
        .with_levels(1)
        .init(&spec, 2, &device)
        .unwrap();
    assert_eq!(cgc.num_params(), ple.num_params());
    // Same weights (the RNG seed is process-wide and tests run in parallel, so copy them).
    let ple = ple.load_record(cgc.clone().into_record());
    let (a, b) = (cgc.forward(&x), ple.forward(&x));
    for t in 0..2 {
        a.tasks[t]
            .raw()
            .into_data()
            .assert_approx_eq::<f32>(&b.tasks[t].raw().into_data(), Tolerance::default());
    }
    assert_eq!(a.gates.len(), 2);
    assert_eq!(b.gates.len(), 2);
}

#[test]
fn esmm_ctcvr_is_ctr_times_cvr() {
    let device = Device::flex();
    let model = ModelConfig::tutorial(ModelKind::Esmm)
        .init(&adult_spec(), 2, &device)
        .unwrap();
    let out = model.forward(&batch(&device));
    let ctr = out.tasks[0].probability();
    let cvr = out.cvr.clone().expect("ESMM predicts CVR");
    let ctcvr = out.tasks[1].probability();
    (ctr * cvr)
        .into_data()
        .assert_approx_eq::<f32>(&ctcvr.into_data(), Tolerance::default());
}

#[test]
fn gate_outputs_follow_the_layout() {
    let device = Device::flex();
    let x = batch(&device);
    for kind in ModelKind::ALL {
        let config =
            ModelConfig::tutorial(kind).with_levels(if kind == ModelKind::Ple { 3 } else { 1 });
        let model = config.init(&adult_spec(), 2, &device).unwrap();
        let out = model.forward(&x);
        let layout = config.gate_layout(2);
        assert_eq!(out.gates.len(), layout.len(), "{kind}");
        for (g, info) in out.gates.iter().zip(&layout) {
            assert_eq!(g.dims(), [32, info.experts.len()], "{kind}");
        }
        assert_eq!(kind.has_gates(), !layout.is_empty());
    }
    // PLE, 3 levels: 2 task gates per level, plus a shared gate on the first two levels.
    assert_eq!(
        ModelConfig::tutorial(ModelKind::Ple)
            .with_levels(3)
            .gate_layout(2)
            .len(),
        8
    );
}

#[test]
fn config_validation_refuses_nonsense() {
    let ok = ModelConfig::tutorial(ModelKind::Ple);
    assert!(ok.validate().is_ok());
    assert!(ok.clone().with_levels(0).validate().is_err());
    assert!(ok.clone().with_levels(9).validate().is_err());
    assert!(
        ok.clone()
            .with_specific_experts(0)
            .with_shared_experts(0)
            .validate()
            .is_err()
    );
    assert!(ok.clone().with_expert_units(vec![]).validate().is_err());
    assert!(ok.clone().with_expert_units(vec![0]).validate().is_err());
    assert!(ok.clone().with_dropout(1.5).validate().is_err());
    assert!(
        ModelConfig::tutorial(ModelKind::Mmoe)
            .with_experts(0)
            .validate()
            .is_err()
    );
    assert!(
        ModelConfig::tutorial(ModelKind::Cgc)
            .with_levels(2)
            .validate()
            .is_err()
    );
    let message = ok.with_embedding_dim(0).validate().unwrap_err().to_string();
    assert!(message.contains("embedding_dim"), "{message}");
}

#[test]
fn model_kind_slugs_round_trip() {
    for kind in ModelKind::ALL {
        assert_eq!(ModelKind::from_slug(kind.slug()), Some(kind));
    }
    assert_eq!(ModelKind::from_slug("nope"), None);
}
