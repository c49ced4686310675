//! The building blocks every model shares: the input layer, DNNs, a batched bank of experts,
//! softmax gates and task heads. Initialisers follow DeepCTR: embeddings N(0, 1e-4), DNN kernels
//! Glorot normal, output and gate kernels Glorot uniform, biases zero.

use burn::module::{Module, Param};
use burn::nn::{Dropout, DropoutConfig, Initializer, Linear};
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

/// A dense layer with an explicit initialiser and an optional zero bias.
fn dense(d_in: usize, d_out: usize, bias: bool, init: Initializer, device: &Device) -> Linear {
    Linear {
        weight: init.init_with([d_in, d_out], Some(d_in), Some(d_out), device),
        bias: bias.then(|| Initializer::Zeros.init([d_out], device)),
    }
}

/// One embedding table per categorical field, stored as a single `[sum of vocabularies, dim]`
/// matrix so the lookup is one gather; `offsets` maps a field's local index to its rows.
#[derive(Module, Debug)]
pub struct InputLayer {
    /// All fields' embedding tables stacked, `[rows, dim]`; `None` without categorical fields
    /// (synthetic data with numeric inputs only).
    pub table: Option<Param<Tensor<2>>>,
    /// `[1, fields]` first row of each field's table.
    offsets: Option<Tensor<2, Int>>,
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
            table: (fields > 0).then(|| init.init([total, dim], device)),
            offsets: (fields > 0)
                .then(|| Tensor::from_data(TensorData::new(offsets, [1, fields]), device)),
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
    /// - categorical: `[batch, fields]`, numeric: `[batch, n_numeric]`
    /// - output: `[batch, fields * dim + n_numeric]`
    pub fn forward(&self, categorical: Tensor<2, Int>, numeric: Tensor<2>) -> Tensor<2> {
        let (Some(table), Some(offsets)) = (&self.table, &self.offsets) else {
            return numeric;
        };
        let [batch, _] = categorical.dims();
        let rows = categorical + offsets.clone();
        let embedded = embedding(table.val(), rows); // [batch, fields, dim]
        let flat = embedded.reshape([batch, self.fields * self.embedding_dim]);
        if self.n_numeric == 0 {
            return flat;
        }
        Tensor::cat(vec![flat, numeric], 1)
    }

    /// Sum of squared embedding weights, for the L2 penalty; `None` without embeddings.
    pub fn squared_norm(&self) -> Option<Tensor<1>> {
        self.table.as_ref().map(|t| t.val().square().sum())
    }
}

/// A stack of dense layers, each followed by ReLU and dropout (DeepCTR's `DNN`).
#[derive(Module, Debug)]
pub struct Dnn {
    pub layers: Vec<Linear>,
    dropout: Dropout,
    pub output_dim: usize,
}

impl Dnn {
    pub fn new(d_in: usize, units: &[usize], dropout: f64, device: &Device) -> Self {
        let mut layers = Vec::with_capacity(units.len());
        let mut width = d_in;
        for &u in units {
            layers.push(dense(width, u, true, glorot_normal(), device));
            width = u;
        }
        Self {
            layers,
            dropout: DropoutConfig::new(dropout).init(),
            output_dim: width,
        }
    }

    /// # Shapes
    /// - input: `[batch, d_in]`, output: `[batch, output_dim]`
    pub fn forward(&self, mut x: Tensor<2>) -> Tensor<2> {
        for layer in &self.layers {
            x = self.dropout.forward(relu(layer.forward(x)));
        }
        x
    }
}

/// All experts of one level as one batched weight tensor per layer, `[experts, in, out]`, applied
/// with one batched matmul: one dispatch instead of one per expert.
#[derive(Module, Debug)]
pub struct ExpertBank {
    /// Per layer `[experts, in, out]`.
    pub weights: Vec<Param<Tensor<3>>>,
    /// Per layer `[experts, 1, out]`.
    pub biases: Vec<Param<Tensor<3>>>,
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
                [experts, width, u],
                Some(width),
                Some(u),
                device,
            ));
            biases.push(Initializer::Zeros.init([experts, 1, u], device));
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
    /// - input: `[batch, in]`, output: `[experts, batch, out]`
    pub fn forward_shared(&self, x: Tensor<2>) -> Tensor<3> {
        let [batch, d_in] = x.dims();
        self.forward(x.unsqueeze::<3>().expand([self.experts, batch, d_in]))
    }

    /// Each expert on its own input row-block.
    ///
    /// # Shapes
    /// - input: `[experts, batch, in]`, output: `[experts, batch, out]`
    pub fn forward(&self, mut x: Tensor<3>) -> Tensor<3> {
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
    pub logits: Linear,
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
            logits: dense(width, experts, false, glorot_uniform(), device),
        }
    }

    /// # Shapes
    /// - input: `[batch, in]`, output: `[batch, experts]`, rows summing to 1
    pub fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        let x = match &self.hidden {
            Some(h) => h.forward(x),
            None => x,
        };
        softmax(self.logits.forward(x), 1)
    }
}

/// The gate-weighted sum of expert outputs.
///
/// # Shapes
/// - experts: `[n, batch, out]`, weights: `[batch, n]`, output: `[batch, out]`
pub fn mix(experts: Tensor<3>, weights: Tensor<2>) -> Tensor<2> {
    let w = weights.transpose().unsqueeze_dim::<3>(2); // [n, batch, 1]
    (experts * w).sum_dim(0).squeeze_dim(0)
}

/// A task tower followed by a 1-unit output without bias and a scalar bias (DeepCTR's
/// `Dense(1, use_bias=False)` + `PredictionLayer`).
#[derive(Module, Debug)]
pub struct TaskHead {
    pub tower: Dnn,
    pub output: Linear,
    pub bias: Param<Tensor<1>>,
}

impl TaskHead {
    pub fn new(d_in: usize, tower: &[usize], dropout: f64, device: &Device) -> Self {
        let tower = Dnn::new(d_in, tower, dropout, device);
        let output = dense(tower.output_dim, 1, false, glorot_uniform(), device);
        Self {
            tower,
            output,
            bias: Initializer::Zeros.init([1], device),
        }
    }

    /// # Shapes
    /// - input: `[batch, in]`, output: `[batch, 1]` (a logit, or a value for regression)
    pub fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        self.output.forward(self.tower.forward(x)) + self.bias.val().unsqueeze::<2>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expert_bank_equals_per_expert_loop() {
        let device = Device::flex();
        device.seed(3);
        let bank = ExpertBank::new(5, 7, &[6, 4], 0.0, &device);
        let x = Tensor::<2>::random([9, 7], burn::tensor::Distribution::Default, &device);
        let batched = bank.forward_shared(x.clone()); // [5, 9, 4]
        for e in 0..5 {
            let mut h = x.clone();
            for (w, b) in bank.weights.iter().zip(&bank.biases) {
                let w_e: Tensor<2> = w.val().slice(e..e + 1).squeeze_dim(0);
                let b_e: Tensor<2> = b.val().slice(e..e + 1).squeeze_dim(0);
                h = relu(h.matmul(w_e) + b_e);
            }
            let got: Tensor<2> = batched.clone().slice(e..e + 1).squeeze_dim(0);
            got.into_data()
                .assert_approx_eq::<f32>(&h.into_data(), burn::tensor::Tolerance::default());
        }
    }

    #[test]
    fn gate_rows_sum_to_one_and_mix_weights_experts() {
        let device = Device::flex();
        device.seed(1);
        let gate = Gate::new(3, &[], 2, 0.0, &device);
        let x = Tensor::<2>::random([4, 3], burn::tensor::Distribution::Default, &device);
        let w = gate.forward(x);
        let sums: Vec<f32> = w.clone().sum_dim(1).into_data().try_to_vec().unwrap();
        assert!(sums.iter().all(|s| (s - 1.0).abs() < 1e-5), "{sums:?}");

        let experts = Tensor::<3>::from_floats([[[1.0, 1.0]], [[3.0, 5.0]]], &device); // [2, 1, 2]
        let weights = Tensor::<2>::from_floats([[0.25, 0.75]], &device);
        let mixed: Vec<f32> = mix(experts, weights).into_data().try_to_vec().unwrap();
        assert_eq!(mixed, vec![2.5, 4.0]);
    }

    #[test]
    fn input_layer_offsets_select_each_fields_rows() {
        let device = Device::flex();
        let layer = InputLayer::new(&[2, 3], 1, 1, &device);
        let table: Vec<f32> = (0..5).map(|i| i as f32).collect();
        let layer = InputLayer {
            table: Some(Param::from_tensor(Tensor::from_data(
                TensorData::new(table, [5, 1]),
                &device,
            ))),
            ..layer
        };
        let cat = Tensor::<2, Int>::from_data(TensorData::new(vec![1i64, 2], [1, 2]), &device);
        let num = Tensor::<2>::from_floats([[0.5]], &device);
        let out: Vec<f32> = layer.forward(cat, num).into_data().try_to_vec().unwrap();
        // Field 0 row 1 -> 1.0; field 1 row 2 -> global row 4 -> 4.0; then the numeric value.
        assert_eq!(out, vec![1.0, 4.0, 0.5]);
    }
}
