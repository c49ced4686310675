//! The task-gradient conflict meter: the cosine between the two tasks' loss gradients over the
//! parameters both losses reach, the shared ones (embeddings, a shared bottom, shared experts
//! and what mixes them). Near 1 the tasks pull the shared parameters the same way; near 0 they
//! ignore each other; below 0 they pull against each other, which is what negative transfer
//! looks like from inside (Yu et al., Gradient Surgery for Multi-Task Learning, NeurIPS 2020).

use burn::module::{Module, ModuleVisitor, Param};
use burn::optim::GradientsParams;
use burn::tensor::Tensor;

use super::trainer::Trainer;

/// Steps between two measurements on the page: at two forward and two backward passes each,
/// a few percent of training time (`mtl bench` prints the share per model).
pub const GRADIENT_COSINE_EVERY: u64 = 25;

/// Sums, per replica, over the parameters with a gradient from both tasks, the dot product of
/// the two gradients and each one's squared norm (`[R]` each).
struct SharedDot<'a> {
    a: &'a GradientsParams,
    b: &'a GradientsParams,
    dot: Option<Tensor<1>>,
    norm_a: Option<Tensor<1>>,
    norm_b: Option<Tensor<1>>,
}

fn add(acc: &mut Option<Tensor<1>>, value: Tensor<1>) {
    *acc = Some(match acc.take() {
        Some(sum) => sum + value,
        None => value,
    });
}

impl ModuleVisitor for SharedDot<'_> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        if let (Some(x), Some(y)) = (self.a.get::<D>(param.id), self.b.get::<D>(param.id)) {
            let replicas = x.dims()[0];
            // [R, …] to [R]: each replica's own sum.
            let per_replica = |t: Tensor<D>| -> Tensor<1> {
                t.reshape([replicas as i32, -1])
                    .sum_dim(1)
                    .reshape([replicas])
            };
            add(&mut self.dot, per_replica(x.clone() * y.clone()));
            add(&mut self.norm_a, per_replica(x.square()));
            add(&mut self.norm_b, per_replica(y.square()));
        }
    }
}

impl Trainer {
    /// The cosine of the two tasks' loss gradients over the parameters both reach, per replica,
    /// on the batch the next step will train on (nothing is trained), still on the device as
    /// `[R]`. The replicas' gradients are apart (the losses are summed over replicas), so each
    /// replica's cosine is its own.
    /// Each task's loss is its own term of the objective, unweighted and without the L2
    /// penalty. `None` without two tasks or without a parameter both reach (single-task, the
    /// naive CVR model with a table per tower). It costs two forward and two backward passes.
    /// The result is on the trainer's (autodiff) device, like a step's losses.
    pub fn gradient_cosine(&self) -> Option<Tensor<1>> {
        if self.tasks().len() != 2 {
            return None;
        }
        let batch = self.next_batch();
        let grads = |t: usize| {
            GradientsParams::from_grads(self.task_loss_on(&batch, t).sum().backward(), self.model())
        };
        let (a, b) = (grads(0), grads(1));
        let mut shared = SharedDot {
            a: &a,
            b: &b,
            dot: None,
            norm_a: None,
            norm_b: None,
        };
        self.model().visit(&mut shared);
        let (dot, norm_a, norm_b) = (shared.dot?, shared.norm_a?, shared.norm_b?);
        // Gradients live on the inner device; back on the trainer's, the cosine can join a
        // transaction with the step's other numbers.
        Some((dot / (norm_a * norm_b).sqrt().clamp_min(1e-30)).autodiff())
    }
}

#[cfg(test)]
mod tests {
    use burn::tensor::Device;

    use crate::data::{CorrelatedConfig, correlated};
    use crate::models::{ModelConfig, ModelKind, ModelSettings};
    use crate::train::{Replicas, TrainConfig, Trainer};
    use mtl_vocab::DataKind;

    fn trainer(kind: ModelKind, p: f64, seed: u64) -> Trainer {
        let (data, _) = correlated(&CorrelatedConfig {
            p,
            train_rows: 2_000,
            valid_rows: 10,
            test_rows: 10,
            seed,
            ..Default::default()
        })
        .expect("valid knobs");
        Trainer::new(
            ModelConfig::from_settings(kind, &ModelSettings::for_data(kind, DataKind::Correlated)),
            TrainConfig::new()
                .with_learning_rate(3e-3)
                .with_batch_size(128),
            &data.input,
            data.tasks.clone(),
            &[&data.train],
            Replicas::one(seed),
            &Device::flex(),
        )
        .expect("valid trainer")
    }

    fn cosine(t: &Trainer) -> Option<f32> {
        t.gradient_cosine()
            .map(|c| c.into_data().try_to_vec::<f32>().expect("f32")[0])
    }

    /// The mean cosine over a short run of Shared-Bottom (whose bottom both tasks share).
    fn mean_cosine(p: f64, seed: u64) -> f32 {
        let mut t = trainer(ModelKind::SharedBottom, p, seed);
        let mut sum = 0.0;
        for _ in 0..8 {
            for _ in 0..25 {
                t.step();
            }
            sum += cosine(&t).expect("a shared bottom");
        }
        sum / 8.0
    }

    #[test]
    fn conflict_cosine_is_defined_where_tasks_share_and_falls_with_p() {
        let c = cosine(&trainer(ModelKind::Mmoe, 1.0, 1)).expect("MMoE's experts are shared");
        assert!((-1.0..=1.0).contains(&c), "{c}");
        assert_eq!(cosine(&trainer(ModelKind::SingleTask, 1.0, 1)), None);
        // The same task twice pulls the shared bottom one way; unrelated tasks much less so.
        let (one, apart) = (mean_cosine(1.0, 3), mean_cosine(0.0, 3));
        assert!(one > 0.5, "p = 1: {one}");
        assert!(apart < one - 0.3, "p = 0: {apart} against p = 1: {one}");
    }
}
