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
    ModelInput::from(&split.range(&[0], 0, 32))
}

/// Parameters of a dense layer `d_in -> d_out`.
fn dense(d_in: usize, d_out: usize, bias: bool) -> usize {
    d_in * d_out + if bias { d_out } else { 0 }
}

/// Parameters of a ReLU DNN with biases, and its output width.
fn dnn(d_in: usize, units: &[usize]) -> (usize, usize) {
    let mut width = d_in;
    let mut params = 0;
    for &u in units {
        params += dense(width, u, true);
        width = u;
    }
    (params, width)
}

/// A task head: its tower, a 1-unit output without bias and a scalar bias (DeepCTR's
/// `Dense(1, use_bias=False)` + `PredictionLayer`).
fn head(d_in: usize, tower: &[usize]) -> usize {
    let (params, width) = dnn(d_in, tower);
    params + dense(width, 1, false) + 1
}

/// The parameter counts written out from the architectures, not read from the code: one
/// embedding table per field (dim 4), the numeric fields appended, gates `Dense(n)` without bias.
#[test]
fn models_match_parameter_counts_derived_by_hand() {
    let spec = adult_spec();
    let dim = 4;
    let embeddings = spec.vocab_sizes.iter().sum::<usize>() * dim; // 95 rows x 4
    let d = spec.vocab_sizes.len() * dim + spec.n_numeric; // 7 x 4 + 6 = 34 inputs
    let tasks = 2;

    // SingleTask: per task its own embeddings, bottom [128, 128] and tower [64, 32].
    let (bottom, b_out) = dnn(d, &[128, 128]);
    let single = tasks * (embeddings + bottom + head(b_out, &[64, 32]));
    // Shared-Bottom: one embedding and bottom, a tower per task.
    let shared_bottom = embeddings + bottom + tasks * head(b_out, &[64, 32]);
    // MMoE / OMoE: 4 experts [32, 32], one gate per task (MMoE) or one in all (OMoE).
    let (expert, e_out) = dnn(d, &[32, 32]);
    let moe = |gates: usize| {
        embeddings + 4 * expert + gates * dense(d, 4, false) + tasks * head(e_out, &[16, 8])
    };
    // CGC: 8 specific experts per task + 4 shared, [64, 64]; a gate per task over 8 + 4.
    let (expert0, p_out) = dnn(d, &[64, 64]);
    let n_experts = tasks * 8 + 4;
    let level0_task_gates = tasks * dense(d, 8 + 4, false);
    let towers = tasks * head(p_out, &[16, 16]);
    let cgc = embeddings + n_experts * expert0 + level0_task_gates + towers;
    // PLE, 2 levels: level 0 adds a shared gate over all 20 experts; level 1's experts and
    // gates read level 0's 64-wide outputs and it has no shared gate (it is the last).
    let (expert1, _) = dnn(p_out, &[64, 64]);
    let ple = embeddings
        + n_experts * expert0
        + level0_task_gates
        + dense(d, n_experts, false)
        + n_experts * expert1
        + tasks * dense(p_out, 8 + 4, false)
        + towers;
    // ESMM: shared embeddings, a CTR and a CVR tower [128, 128] on them.
    let (esmm_tower, t_out) = dnn(d, &[128, 128]);
    let esmm = embeddings + 2 * (esmm_tower + dense(t_out, 1, false) + 1);

    let expected = [
        (ModelKind::SingleTask, single),
        (ModelKind::SharedBottom, shared_bottom),
        (ModelKind::Mmoe, moe(tasks)),
        (ModelKind::Omoe, moe(1)),
        (ModelKind::Cgc, cgc),
        (ModelKind::Ple, ple),
        (ModelKind::Esmm, esmm),
    ];
    let device = Device::flex();
    for (kind, params) in expected {
        let model = ModelConfig::tutorial(kind)
            .init(&spec, tasks, &device)
            .expect("tutorial config is valid");
        assert_eq!(model.num_params(), params, "{kind}");
    }
    // The counts the README states.
    assert_eq!(
        [single, shared_bottom, moe(2), moe(1), cgc, ple, esmm],
        [63_482, 42_110, 10_702, 10_566, 131_854, 300_470, 42_622]
    );
}

/// The values of a `[1, batch, 1]` output, for exact comparisons.
fn values(t: Tensor<3>) -> Vec<f32> {
    t.into_data().try_to_vec::<f32>().expect("f32 values")
}

fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

/// `w + 1` on experts `from..to` of a bank's every layer, the others as they were.
fn shift_experts(bank: &mut layers::ExpertBank, from: usize, to: usize) {
    for w in bank.weights.iter_mut() {
        let v = w.val(); // [1, experts, in, out]
        let n = v.dims()[1];
        let mut parts = Vec::new();
        if from > 0 {
            parts.push(v.clone().narrow(1, 0, from));
        }
        parts.push(v.clone().narrow(1, from, to - from) + 1.0);
        if to < n {
            parts.push(v.narrow(1, to, n - to));
        }
        *w = burn::module::Param::from_tensor(Tensor::cat(parts, 1));
    }
}

/// CGC written out from its definition (Tang et al., eq. 1-3), reading the weights of a built
/// model but none of its forward code: expert e is a loop over its own `[in, out]` slices; task
/// t's gate is softmax(x W_t) over its own experts then the shared ones; the tower reads the
/// weighted sum.
fn cgc_by_hand(ple: &Ple, x: &ModelInput, tasks: usize) -> Vec<Vec<f32>> {
    let input: Tensor<2> = ple
        .input
        .forward(x.categorical.clone(), x.numeric.clone())
        .squeeze_dim(0);
    let rows = input.dims()[0];
    let level = &ple.levels[0];
    let (s, h) = (level.specific, level.shared);
    // Expert e's `[in, out]` (or `[1, out]`) slice of a `[1, experts, in, out]` parameter.
    let slice = |p: &burn::module::Param<Tensor<4>>, e: usize| -> Tensor<2> {
        let [_, _, d_in, d_out] = p.dims();
        p.val().narrow(1, e, 1).reshape([d_in, d_out])
    };
    let expert = |e: usize| {
        let mut y = input.clone();
        for (w, b) in level.experts.weights.iter().zip(&level.experts.biases) {
            y = burn::tensor::activation::relu(y.matmul(slice(w, e)) + slice(b, e));
        }
        y // [batch, out]
    };
    (0..tasks)
        .map(|t| {
            let own: Vec<usize> = (t * s..(t + 1) * s)
                .chain(tasks * s..tasks * s + h)
                .collect();
            let gate = &level.task_gates[t];
            assert!(gate.hidden.is_none(), "the paper's gate is one Dense");
            let kernel: Tensor<2> = gate.logits.weight.val().squeeze_dim(0);
            let weights = burn::tensor::activation::softmax(input.clone().matmul(kernel), 1); // [batch, own experts]
            let mut mixed = expert(own[0]) * weights.clone().slice([0..rows, 0..1]);
            for (j, &e) in own.iter().enumerate().skip(1) {
                mixed = mixed + expert(e) * weights.clone().slice([0..rows, j..j + 1]);
            }
            values(ple.heads[t].forward(mixed.unsqueeze_dim(0)))
        })
        .collect()
}

#[test]
fn ple_with_one_level_equals_a_cgc_written_out_by_hand() {
    let device = Device::flex();
    let x = batch(&device);
    let spec = adult_spec();
    let config = ModelConfig::tutorial(ModelKind::Ple).with(|s| {
        s.levels = 1;
        s.specific_experts = 3;
        s.shared_experts = 2;
    });
    let MtlModel::Ple(ple) = config.init(&spec, 2, &device).expect("valid") else {
        panic!("PLE builds a Ple");
    };
    let by_hand = cgc_by_hand(&ple, &x, 2);
    let out = ple.forward(&x);
    for (t, expected) in by_hand.iter().enumerate() {
        let got = values(out.tasks[t].raw());
        assert!(max_abs_diff(&got, expected) < 1e-5, "task {t}");
    }
    // The CGC kind is the same model: one level, no shared gate.
    let cgc = ModelConfig::tutorial(ModelKind::Cgc)
        .with(|s| {
            s.specific_experts = 3;
            s.shared_experts = 2;
        })
        .init(&spec, 2, &device)
        .expect("valid");
    assert_eq!(cgc.num_params(), ple.num_params());
    let cgc = cgc.load_record(MtlModel::Ple(ple).into_record());
    let out = cgc.forward(&x);
    assert_eq!(out.gates.len(), 2, "one gate per task, no shared gate");
    for (t, expected) in by_hand.iter().enumerate() {
        assert!(max_abs_diff(&values(out.tasks[t].raw()), expected) < 1e-5);
    }
}

#[test]
fn mmoe_task_reads_only_its_own_gate() {
    let device = Device::flex();
    let x = batch(&device);
    let model = ModelConfig::tutorial(ModelKind::Mmoe)
        .init(&adult_spec(), 2, &device)
        .expect("valid");
    let MtlModel::Moe(mut moe) = model else {
        panic!("MMoE builds a Moe");
    };
    let before = moe.forward(&x);
    let gate = &mut moe.gates[1].logits.weight;
    *gate = burn::module::Param::from_tensor(gate.val() * 5.0 + 0.3);
    let after = moe.forward(&x);
    let task = |out: &ModelOutput, t: usize| values(out.tasks[t].raw());
    assert_eq!(task(&before, 0), task(&after, 0), "task 0 ignores gate 1");
    assert!(
        max_abs_diff(&task(&before, 1), &task(&after, 1)) > 1e-6,
        "task 1 reads gate 1"
    );
}

#[test]
fn ple_task_experts_stay_private_without_shared_experts() {
    let device = Device::flex();
    let x = batch(&device);
    let spec = adult_spec();
    let s = 2;
    // Perturbs task 0's specific experts at every level and reports how far each task moved.
    let moved = |shared: usize| -> [f32; 2] {
        let config = ModelConfig::tutorial(ModelKind::Ple).with(|c| {
            c.levels = 3;
            c.specific_experts = s;
            c.shared_experts = shared;
            c.expert_units = vec![8];
        });
        let MtlModel::Ple(mut ple) = config.init(&spec, 2, &device).expect("valid") else {
            panic!("PLE builds a Ple");
        };
        let before = ple.forward(&x);
        for level in ple.levels.iter_mut() {
            shift_experts(&mut level.experts, 0, s);
        }
        let after = ple.forward(&x);
        [0, 1].map(|t| {
            max_abs_diff(
                &values(before.tasks[t].raw()),
                &values(after.tasks[t].raw()),
            )
        })
    };
    // Without shared experts nothing carries task 0's experts to task 1: the shared gates'
    // outputs feed only shared experts, and there are none.
    let [own, other] = moved(0);
    assert!(own > 1e-6, "task 0 reads its own experts");
    assert_eq!(other, 0.0, "task 1 never reads task 0's experts");
    // With shared experts they do reach task 1, through level 0's shared gate (which mixes every
    // expert) and level 1's shared experts: the wiring the isolation above depends on.
    let [_, other] = moved(2);
    assert!(
        other > 1e-6,
        "shared experts carry task 0's experts to task 1"
    );
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
        let config = ModelConfig::tutorial(kind)
            .with(|s| s.levels = if kind == ModelKind::Ple { 3 } else { 1 });
        let model = config.init(&adult_spec(), 2, &device).unwrap();
        let out = model.forward(&x);
        let layout = config.gate_layout(2);
        assert_eq!(out.gates.len(), layout.len(), "{kind}");
        for (g, info) in out.gates.iter().zip(&layout.gates) {
            assert_eq!(g.dims(), [1, 32, info.experts.len()], "{kind}");
        }
        assert_eq!(kind.has_gates(), !layout.is_empty());
    }
    // PLE, 3 levels: 2 task gates per level, plus a shared gate on the first two levels.
    assert_eq!(
        ModelConfig::tutorial(ModelKind::Ple)
            .with(|s| s.levels = 3)
            .gate_layout(2)
            .len(),
        8
    );
}

#[test]
fn config_validation_refuses_nonsense() {
    let ok = ModelConfig::tutorial(ModelKind::Ple);
    assert!(ok.validate().is_ok());
    assert!(ok.clone().with(|s| s.levels = 0).validate().is_err());
    assert!(ok.clone().with(|s| s.levels = 9).validate().is_err());
    assert!(
        ok.clone()
            .with(|s| {
                s.specific_experts = 0;
                s.shared_experts = 0;
            })
            .validate()
            .is_err()
    );
    assert!(
        ok.clone()
            .with(|s| s.expert_units = vec![])
            .validate()
            .is_err()
    );
    assert!(
        ok.clone()
            .with(|s| s.expert_units = vec![0])
            .validate()
            .is_err()
    );
    assert!(ok.clone().with(|s| s.dropout = 1.5).validate().is_err());
    assert!(
        ModelConfig::tutorial(ModelKind::Mmoe)
            .with(|s| s.experts = 0)
            .validate()
            .is_err()
    );
    assert!(
        ModelConfig::tutorial(ModelKind::Cgc)
            .with(|s| s.levels = 2)
            .validate()
            .is_err()
    );
    let message = ok
        .with(|s| s.embedding_dim = 0)
        .validate()
        .unwrap_err()
        .to_string();
    assert!(message.contains("embedding_dim"), "{message}");
}

#[test]
fn model_kind_slugs_round_trip() {
    for kind in ModelKind::ALL {
        assert_eq!(ModelKind::from_slug(kind.slug()), Some(kind));
    }
    assert_eq!(ModelKind::from_slug("nope"), None);
}
