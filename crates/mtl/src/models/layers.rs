//! The building blocks every model shares: the input layer, DNNs, a batched bank of experts,
//! softmax gates and task heads. Initialisers follow DeepCTR: embeddings N(0, 1e-4), DNN kernels
//! Glorot normal, output and gate kernels Glorot uniform, biases zero.
//!
//! Every parameter has a leading replica dimension `[R, …]`: R independent copies of the model
//! live in one set of tensors, and every layer applies each replica's weights to that replica's
//! rows with one batched operation (`[R, batch, in] @ [R, in, out]`), so R replicas cost one set
//! of kernels. A layer is always built with one replica; [`super::replicas`] stacks R of them,
//! each drawn from its own seed, so replica r starts exactly where a model of its seed alone
//! would.

use burn::module::{Module, Param};
use burn::nn::{Dropout, DropoutConfig, Initializer};
use burn::tensor::activation::{relu, softmax};
use burn::tensor::module::embedding;
use burn::tensor::{Device, Int, Tensor, TensorData};

/// Standard deviation of DeepCTR's embedding initialiser.
const EMBEDDING_INIT_STD: f64 = 1e-4;

fn glorot_normal() -> Initializer {
    Initializer::XavierNormal { gain: 1.0 }
}

fn glorot_uniform() -> Initializer {
    Initializer::XavierUniform { gain: 1.0 }
}

/// A dense layer per replica: `[R, in, out]` weights and, optionally, `[R, 1, out]` biases
/// (zero at first).
#[derive(Module, Debug)]
pub struct Dense {
    /// `[R, in, out]`
    pub weight: Param<Tensor<3>>,
    /// `[R, 1, out]`
    pub bias: Option<Param<Tensor<3>>>,
}

impl Dense {
    /// One replica, its kernel drawn by `init` with the fans of an `in × out` layer.
    fn new(d_in: usize, d_out: usize, bias: bool, init: Initializer, device: &Device) -> Self {
        Self {
            weight: init.init_with([1, d_in, d_out], Some(d_in), Some(d_out), device),
            bias: bias.then(|| Initializer::Zeros.init([1, 1, d_out], device)),
        }
    }

    /// # Shapes
    /// - input: `[R, batch, in]`, output: `[R, batch, out]`
    pub fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        let y = x.matmul(self.weight.val());
        match &self.bias {
            Some(b) => y + b.val(),
            None => y,
        }
    }
}

/// One embedding table per categorical field, stored as a single `[sum of vocabularies, dim]`
/// matrix per replica so the lookup is one gather; `offsets` maps a field's local index to its
/// rows.
#[derive(Module, Debug)]
pub struct InputLayer {
    /// All fields' embedding tables stacked, `[R, rows, dim]`; `None` without categorical
    /// fields (synthetic data with numeric inputs only).
    pub table: Option<Param<Tensor<3>>>,
    /// `[1, 1, fields]` first row of each field's table.
    offsets: Option<Tensor<3, Int>>,
    pub fields: usize,
    pub embedding_dim: usize,
    pub n_numeric: usize,
}

impl InputLayer {
    pub fn new(vocab_sizes: &[usize], dim: usize, n_numeric: usize, device: &Device) -> Self {
        let total: usize = vocab_sizes.iter().sum();
        let mut offsets = Vec::with_capacity(vocab_sizes.len());
        let mut next = 0i64;
        for &size in vocab_sizes {
            offsets.push(next);
            next += size as i64;
        }
        let init = Initializer::Normal {
            mean: 0.0,
            std: EMBEDDING_INIT_STD,
        };
        let fields = vocab_sizes.len();
        Self {
            table: (fields > 0).then(|| init.init([1, total, dim], device)),
            offsets: (fields > 0)
                .then(|| Tensor::from_data(TensorData::new(offsets, [1, 1, fields]), device)),
            fields,
            embedding_dim: dim,
            n_numeric,
        }
    }

    /// The width of the concatenated input.
    pub fn output_dim(&self) -> usize {
        self.fields * self.embedding_dim + self.n_numeric
    }

    /// # Shapes
    /// - categorical: `[R, batch, fields]`, numeric: `[R, batch, n_numeric]`
    /// - output: `[R, batch, fields * dim + n_numeric]`
    pub fn forward(&self, categorical: Tensor<3, Int>, numeric: Tensor<3>) -> Tensor<3> {
        let (Some(table), Some(offsets)) = (&self.table, &self.offsets) else {
            return numeric;
        };
        let [replicas, batch, fields] = categorical.dims();
        let [_, rows, dim] = table.dims();
        // Replica r's rows start at r · rows in the flattened tables.
        let replica_start = (Tensor::<1, Int>::arange(0..replicas as i64, &categorical.device())
            * rows as i64)
            .reshape([replicas, 1, 1]);
        let index =
            (categorical + offsets.clone() + replica_start).reshape([replicas * batch, fields]);
        let embedded = embedding(table.val().reshape([replicas * rows, dim]), index); // [R·batch, fields, dim]
        let flat = embedded.reshape([replicas, batch, fields * dim]);
        if self.n_numeric == 0 {
            return flat;
        }
        Tensor::cat(vec![flat, numeric], 2)
    }

    /// Sum of squared embedding weights over every replica, for the L2 penalty (the sum of each
    /// replica's own penalty); `None` without embeddings.
    pub fn squared_norm(&self) -> Option<Tensor<1>> {
        self.table.as_ref().map(|t| t.val().square().sum())
    }
}

/// A stack of dense layers, each followed by ReLU and dropout (DeepCTR's `DNN`).
#[derive(Module, Debug)]
pub struct Dnn {
    pub layers: Vec<Dense>,
    dropout: Dropout,
    pub output_dim: usize,
}

impl Dnn {
    pub fn new(d_in: usize, units: &[usize], dropout: f64, device: &Device) -> Self {
        let mut layers = Vec::with_capacity(units.len());
        let mut width = d_in;
        for &u in units {
            layers.push(Dense::new(width, u, true, glorot_normal(), device));
            width = u;
        }
        Self {
            layers,
            dropout: DropoutConfig::new(dropout).init(),
            output_dim: width,
        }
    }

    /// # Shapes
    /// - input: `[R, batch, d_in]`, output: `[R, batch, output_dim]`
    pub fn forward(&self, mut x: Tensor<3>) -> Tensor<3> {
        for layer in &self.layers {
            x = self.dropout.forward(relu(layer.forward(x)));
        }
        x
    }
}

/// All experts of one level as one batched weight tensor per layer, `[R, experts, in, out]`,
/// applied with one batched matmul: one dispatch instead of one per expert (and per replica).
#[derive(Module, Debug)]
pub struct ExpertBank {
    /// Per layer `[R, experts, in, out]`.
    pub weights: Vec<Param<Tensor<4>>>,
    /// Per layer `[R, experts, 1, out]`.
    pub biases: Vec<Param<Tensor<4>>>,
    dropout: Dropout,
    pub experts: usize,
    pub output_dim: usize,
}

impl ExpertBank {
    pub fn new(
        experts: usize,
        d_in: usize,
        units: &[usize],
        dropout: f64,
        device: &Device,
    ) -> Self {
        let mut weights = Vec::with_capacity(units.len());
        let mut biases = Vec::with_capacity(units.len());
        let mut width = d_in;
        for &u in units {
            weights.push(glorot_normal().init_with(
                [1, experts, width, u],
                Some(width),
                Some(u),
                device,
            ));
            biases.push(Initializer::Zeros.init([1, experts, 1, u], device));
            width = u;
        }
        Self {
            weights,
            biases,
            dropout: DropoutConfig::new(dropout).init(),
            experts,
            output_dim: width,
        }
    }

    /// Every expert on the same input.
    ///
    /// # Shapes
    /// - input: `[R, batch, in]`, output: `[R, experts, batch, out]`
    pub fn forward_shared(&self, x: Tensor<3>) -> Tensor<4> {
        let [replicas, batch, d_in] = x.dims();
        self.forward(
            x.unsqueeze_dim::<4>(1)
                .expand([replicas, self.experts, batch, d_in]),
        )
    }

    /// Each expert on its own input row-block.
    ///
    /// # Shapes
    /// - input: `[R, experts, batch, in]`, output: `[R, experts, batch, out]`
    pub fn forward(&self, mut x: Tensor<4>) -> Tensor<4> {
        for (w, b) in self.weights.iter().zip(&self.biases) {
            x = self.dropout.forward(relu(x.matmul(w.val()) + b.val()));
        }
        x
    }
}

/// A softmax gate over `n` experts: `Dense(n, softmax, no bias)`, optionally after a hidden DNN.
#[derive(Module, Debug)]
pub struct Gate {
    pub hidden: Option<Dnn>,
    pub logits: Dense,
}

impl Gate {
    pub fn new(
        d_in: usize,
        hidden: &[usize],
        experts: usize,
        dropout: f64,
        device: &Device,
    ) -> Self {
        let hidden = (!hidden.is_empty()).then(|| Dnn::new(d_in, hidden, dropout, device));
        let width = hidden.as_ref().map_or(d_in, |h| h.output_dim);
        Self {
            hidden,
            logits: Dense::new(width, experts, false, glorot_uniform(), device),
        }
    }

    /// # Shapes
    /// - input: `[R, batch, in]`, output: `[R, batch, experts]`, rows summing to 1
    pub fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        let x = match &self.hidden {
            Some(h) => h.forward(x),
            None => x,
        };
        softmax(self.logits.forward(x), 2)
    }
}

/// The gate-weighted sum of expert outputs.
///
/// # Shapes
/// - experts: `[R, n, batch, out]`, weights: `[R, batch, n]`, output: `[R, batch, out]`
pub fn mix(experts: Tensor<4>, weights: Tensor<3>) -> Tensor<3> {
    let w = weights.swap_dims(1, 2).unsqueeze_dim::<4>(3); // [R, n, batch, 1]
    (experts * w).sum_dim(1).squeeze_dim(1)
}

/// A task tower followed by a 1-unit output without bias and a scalar bias (DeepCTR's
/// `Dense(1, use_bias=False)` + `PredictionLayer`).
#[derive(Module, Debug)]
pub struct TaskHead {
    pub tower: Dnn,
    pub output: Dense,
    /// `[R, 1, 1]`
    pub bias: Param<Tensor<3>>,
}

impl TaskHead {
    pub fn new(d_in: usize, tower: &[usize], dropout: f64, device: &Device) -> Self {
        let tower = Dnn::new(d_in, tower, dropout, device);
        let output = Dense::new(tower.output_dim, 1, false, glorot_uniform(), device);
        Self {
            tower,
            output,
            bias: Initializer::Zeros.init([1, 1, 1], device),
        }
    }

    /// # Shapes
    /// - input: `[R, batch, in]`, output: `[R, batch, 1]` (a logit, or a value for regression)
    pub fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        self.output.forward(self.tower.forward(x)) + self.bias.val()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Replica 0's `[in, out]` slice of a `[1, experts, in, out]` parameter, for expert `e`.
    fn expert_slice(p: &Param<Tensor<4>>, e: usize) -> Tensor<2> {
        p.val()
            .slice([0..1, e..e + 1])
            .reshape([p.dims()[2], p.dims()[3]])
    }

    #[test]
    fn expert_bank_equals_per_expert_loop() {
        let device = Device::flex();
        let _guard = crate::models::replicas::seed_lock();
        device.seed(3);
        let bank = ExpertBank::new(5, 7, &[6, 4], 0.0, &device);
        let x = Tensor::<3>::random([1, 9, 7], burn::tensor::Distribution::Default, &device);
        let batched = bank.forward_shared(x.clone()); // [1, 5, 9, 4]
        for e in 0..5 {
            let mut h: Tensor<2> = x.clone().squeeze_dim(0);
            for (w, b) in bank.weights.iter().zip(&bank.biases) {
                h = relu(h.matmul(expert_slice(w, e)) + expert_slice(b, e));
            }
            let got: Tensor<2> = batched.clone().slice([0..1, e..e + 1]).reshape([9, 4]);
            got.into_data()
                .assert_approx_eq::<f32>(&h.into_data(), burn::tensor::Tolerance::default());
        }
    }

    #[test]
    fn gate_rows_sum_to_one_and_mix_weights_experts() {
        let device = Device::flex();
        let _guard = crate::models::replicas::seed_lock();
        device.seed(1);
        let gate = Gate::new(3, &[], 2, 0.0, &device);
        let x = Tensor::<3>::random([1, 4, 3], burn::tensor::Distribution::Default, &device);
        let w = gate.forward(x);
        let sums: Vec<f32> = w.clone().sum_dim(2).into_data().try_to_vec().unwrap();
        assert!(sums.iter().all(|s| (s - 1.0).abs() < 1e-5), "{sums:?}");

        // Two replicas, two experts, one row: replica 1 weighs the experts the other way round.
        let experts = Tensor::<4>::from_floats(
            [[[[1.0, 1.0]], [[3.0, 5.0]]], [[[1.0, 1.0]], [[3.0, 5.0]]]],
            &device,
        ); // [2, 2, 1, 2]
        let weights = Tensor::<3>::from_floats([[[0.25, 0.75]], [[0.75, 0.25]]], &device);
        let mixed: Vec<f32> = mix(experts, weights).into_data().try_to_vec().unwrap();
        assert_eq!(mixed, vec![2.5, 4.0, 1.5, 2.0]);
    }

    #[test]
    fn input_layer_offsets_select_each_fields_rows_of_each_replicas_table() {
        let device = Device::flex();
        let layer = InputLayer::new(&[2, 3], 1, 1, &device);
        // Two replicas' tables: replica 0 holds 0..5, replica 1 holds 10..15.
        let table: Vec<f32> = (0..5).chain(10..15).map(|i| i as f32).collect();
        let layer = InputLayer {
            table: Some(Param::from_tensor(Tensor::from_data(
                TensorData::new(table, [2, 5, 1]),
                &device,
            ))),
            ..layer
        };
        let cat =
            Tensor::<3, Int>::from_data(TensorData::new(vec![1i64, 2, 0, 1], [2, 1, 2]), &device);
        let num = Tensor::<3>::from_floats([[[0.5]], [[0.25]]], &device);
        let out: Vec<f32> = layer.forward(cat, num).into_data().try_to_vec().unwrap();
        // Replica 0: field 0 row 1 -> 1.0; field 1 row 2 -> table row 4 -> 4.0; then 0.5.
        // Replica 1: field 0 row 0 -> 10.0; field 1 row 1 -> table row 3 -> 13.0; then 0.25.
        assert_eq!(out, vec![1.0, 4.0, 0.5, 10.0, 13.0, 0.25]);
    }
}
