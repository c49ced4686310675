//! R models as one: each parameter of a model holds R replicas along its first dimension
//! (the precedent is `torch.func.stack_module_state` with `vmap`; Burn has no vmap, so the
//! dimension is explicit in every layer). Replica r is drawn from its own seed exactly as a
//! model of that seed alone would be, then the replicas are stacked; one can be taken out again
//! (a model file holds one), and the best weights of some replicas written over others' (each
//! replica's selection is its own).

use burn::module::{Module, ModuleMapper, ModuleVisitor, Param};
use burn::tensor::{Device, Tensor};

use super::{ConfigError, ModelConfig, MtlModel};
use crate::data::InputSpec;

/// Touches every parameter, so lazily initialised ones are drawn now.
pub(crate) struct ForceInit;

impl ModuleVisitor for ForceInit {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let _ = param.val();
    }
}

/// Serialises seeding and weight initialisation across threads: the seed may be process-wide.
static SEED_LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Holds the device's random numbers for the caller: seeding and drawing from them (weights,
/// random tensors) between taking it and dropping the guard is not interleaved with another
/// thread's, so a seed always gives the same numbers (tests run in parallel threads).
pub(crate) fn seed_lock() -> std::sync::MutexGuard<'static, ()> {
    SEED_LOCK
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Every float parameter of a model, flattened, with its shape, in the module's visiting order
/// (the same for any two models of one config).
#[derive(Default)]
struct Flat {
    tensors: Vec<(Vec<usize>, Tensor<1>)>,
}

impl ModuleVisitor for Flat {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let value = param.val();
        let dims = value.dims().to_vec();
        let n: usize = dims.iter().product();
        self.tensors.push((dims, value.reshape([n])));
    }
}

fn flat(model: &MtlModel) -> Vec<(Vec<usize>, Tensor<1>)> {
    let mut flat = Flat::default();
    model.visit(&mut flat);
    flat.tensors
}

/// Replaces every float parameter, in visiting order, by what `make` builds from its index,
/// its value (flattened) and its shape; the parameter keeps its id and whether it is trained.
struct Replace<F> {
    index: usize,
    make: F,
}

impl<F: FnMut(usize, Tensor<1>, &[usize]) -> Tensor<1>> ModuleMapper for Replace<F> {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        let index = self.index;
        self.index += 1;
        param.map(|old| {
            let trained = old.is_require_grad();
            let dims = old.dims();
            let n: usize = dims.iter().product();
            let mut new_dims = dims;
            let flat = (self.make)(index, old.reshape([n]), &dims);
            new_dims[0] = flat.dims()[0] / dims[1..].iter().product::<usize>().max(1);
            let new: Tensor<D> = flat.reshape(new_dims);
            new.detach().set_require_grad(trained)
        })
    }
}

fn replace(model: MtlModel, make: impl FnMut(usize, Tensor<1>, &[usize]) -> Tensor<1>) -> MtlModel {
    model.map(&mut Replace { index: 0, make })
}

impl ModelConfig {
    /// Builds R replicas of the model on `device` in one set of tensors, replica r drawn from
    /// `seeds[r]` exactly as [`ModelConfig::init`] draws a model after `device.seed(seeds[r])`.
    pub fn init_replicas(
        &self,
        spec: &InputSpec,
        tasks: usize,
        seeds: &[u64],
        device: &Device,
    ) -> Result<MtlModel, ConfigError> {
        if seeds.is_empty() || seeds.len() > super::limits::MAX_REPLICAS {
            return Err(ConfigError::OutOfRange {
                field: "replicas",
                value: seeds.len() as f64,
                min: 1.0,
                max: super::limits::MAX_REPLICAS as f64,
            });
        }
        let mut models = Vec::with_capacity(seeds.len());
        for &seed in seeds {
            // Hold the lock until the weights are drawn: Burn draws parameters lazily, at first
            // use, and a model built on another thread in between would take this seed's
            // numbers.
            let _guard = seed_lock();
            device.seed(seed);
            models.push(self.init_drawn(spec, tasks, device)?);
        }
        Ok(MtlModel::stack(models))
    }
}

impl MtlModel {
    /// The number of replicas: every parameter's first dimension.
    pub fn replicas(&self) -> usize {
        flat(self).first().map_or(1, |(dims, _)| dims[0])
    }

    /// The parameters of one replica (of any one: they are alike).
    pub fn params_per_replica(&self) -> usize {
        self.num_params() / self.replicas().max(1)
    }

    /// The models' replicas side by side, in order, as one model (the first one's parameter
    /// ids). The models must share one config.
    ///
    /// # Panics
    /// On an empty list.
    pub fn stack(mut models: Vec<MtlModel>) -> MtlModel {
        assert!(!models.is_empty(), "stacking needs at least one model");
        if models.len() == 1 {
            return models.remove(0);
        }
        let parts: Vec<Vec<(Vec<usize>, Tensor<1>)>> = models.iter().map(flat).collect();
        replace(models.remove(0), |i, _, _| {
            Tensor::cat(parts.iter().map(|p| p[i].1.clone()).collect(), 0)
        })
    }

    /// Replica `r` alone, as a model of one replica.
    pub fn replica(&self, r: usize) -> MtlModel {
        replace(self.clone(), |_, old, dims| {
            let per_replica: usize = dims[1..].iter().product();
            old.narrow(0, r * per_replica, per_replica)
        })
    }

    /// This model with replicas `which` taken from `other` (a model of the same config and
    /// replica count), the others as they are: how each replica keeps its own best weights.
    pub fn with_replicas_from(self, other: &MtlModel, which: &[usize]) -> MtlModel {
        if which.is_empty() {
            return self;
        }
        let parts = flat(other);
        replace(self, |i, mut old, dims| {
            let per_replica: usize = dims[1..].iter().product();
            for &r in which {
                let span = r * per_replica..(r + 1) * per_replica;
                let new = parts[i].1.clone().slice(span.clone());
                old = old.slice_assign(span, new);
            }
            old
        })
    }
}
