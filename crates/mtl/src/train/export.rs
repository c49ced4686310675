//! The trained model as a file: a Burn record (the burnpack format of
//! [`Module::into_record`]) whose metadata also carries what rebuilding the model takes: its
//! config, its tasks and the shape of its input. A file can then be loaded back without the
//! settings it was trained with ([`ModelFile::load`]).
//!
//! The weights are read off the device in one `Transaction`, without blocking where the device
//! cannot block (WebGPU in a browser), and serialised on the host (flex) device.

use std::collections::HashMap;

use burn::config::{Config, config_to_json};
use burn::module::{Module, ModuleMapper, ModuleVisitor, Param, ParamId};
use burn::store::ModuleRecord;
use burn::tensor::{Bytes, Device, Tensor, TensorData, Transaction};
use burn_pack::{Reader, Writer};

use super::error::TrainError;
use super::readback::Readback;
use crate::data::{InputSpec, TaskSpec};
use crate::models::{ModelConfig, MtlModel};

/// The file's format name, checked on load. Version 2 gave every parameter its leading replica
/// dimension (a file holds one replica: `[1, …]`).
pub const FORMAT: &str = "mtl-playground model v2";
/// The usual extension of a burnpack file.
pub const EXTENSION: &str = "bpk";

const KEY_FORMAT: &str = "mtl.format";
const KEY_CONFIG: &str = "mtl.model_config";
const KEY_TASKS: &str = "mtl.tasks";
const KEY_INPUT: &str = "mtl.input_spec";
const KEY_STEPS: &str = "mtl.steps";

/// What a model file says about its model, besides the weights.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelFile {
    pub config: ModelConfig,
    pub tasks: Vec<TaskSpec>,
    pub input: InputSpec,
    /// Training steps the weights had taken.
    pub steps: u64,
}

impl ModelFile {
    /// Reads a file's description and rebuilds its model on `device` with the saved weights.
    pub fn load(bytes: Vec<u8>, device: &Device) -> Result<(ModelFile, MtlModel), TrainError> {
        let reader = Reader::from_bytes(Bytes::from_bytes_vec(bytes.clone()))
            .map_err(|e| bad_file(format!("it is not a Burn record ({e})")))?;
        let meta = reader.metadata();
        let field = |key: &str| {
            meta.get(key)
                .ok_or_else(|| bad_file(format!("it has no `{key}` entry")))
        };
        match field(KEY_FORMAT)?.as_str() {
            FORMAT => {}
            "mtl-playground model v1" => {
                return Err(bad_file(
                    "it was written by an earlier version of the playground, whose weights have \
                     another shape; train the model again and download it anew"
                        .into(),
                ));
            }
            other => return Err(bad_file(format!("its format is `{other}`, not `{FORMAT}`"))),
        }
        let json_error = |key: &str, e: serde_json::Error| bad_file(format!("bad `{key}`: {e}"));
        let file = ModelFile {
            config: ModelConfig::load_binary(field(KEY_CONFIG)?.as_bytes())
                .map_err(|e| bad_file(format!("bad `{KEY_CONFIG}`: {e}")))?,
            tasks: serde_json::from_str(field(KEY_TASKS)?).map_err(|e| json_error(KEY_TASKS, e))?,
            input: serde_json::from_str(field(KEY_INPUT)?).map_err(|e| json_error(KEY_INPUT, e))?,
            steps: field(KEY_STEPS)?
                .parse()
                .map_err(|e| bad_file(format!("bad `{KEY_STEPS}`: {e}")))?,
        };
        let model = file.config.init(&file.input, file.tasks.len(), device)?;
        let record = ModuleRecord::from_bytes(Bytes::from_bytes_vec(bytes))
            .map_err(|e| bad_file(e.to_string()))?;
        let model = model
            .try_load_record(record)
            .map_err(|e| bad_file(e.to_string()))?;
        Ok((file, model))
    }
}

fn bad_file(why: String) -> TrainError {
    TrainError::ModelFile(why)
}

/// Registers every float parameter in one transaction, remembering whose it is.
struct Collect {
    ids: Vec<ParamId>,
    transaction: Option<Transaction>,
}

impl ModuleVisitor for Collect {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        self.ids.push(param.id);
        self.transaction = self.transaction.take().map(|tx| tx.register(param.val()));
    }
}

/// Swaps every float parameter for a host tensor holding the data read for it.
struct ToHost {
    data: HashMap<ParamId, TensorData>,
    device: Device,
    missing: usize,
}

impl ModuleMapper for ToHost {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        match self.data.remove(&param.id) {
            Some(data) => {
                let device = self.device.clone();
                param.map(|_| Tensor::from_data(data, &device))
            }
            None => {
                self.missing += 1;
                param
            }
        }
    }
}

/// Reads every weight of `model` in one transaction, then writes the model file on the host.
pub(super) fn export_readback(model: MtlModel, file: ModelFile) -> Readback<Vec<u8>> {
    let mut collect = Collect {
        ids: Vec::new(),
        transaction: Some(Transaction::default()),
    };
    model.visit(&mut collect);
    let (ids, tx) = (collect.ids, collect.transaction.unwrap_or_default());
    Readback::new(tx, move |data| finish(model, ids, data, &file))
}

fn finish(
    model: MtlModel,
    ids: Vec<ParamId>,
    data: Vec<TensorData>,
    file: &ModelFile,
) -> Result<Vec<u8>, TrainError> {
    if data.len() != ids.len() {
        return Err(TrainError::Read(format!(
            "{} of {} parameters came back",
            data.len(),
            ids.len()
        )));
    }
    // The record is taken on the host device, where reading a tensor is a copy.
    let mut to_host = ToHost {
        data: ids.into_iter().zip(data).collect(),
        device: Device::flex(),
        missing: 0,
    };
    let model = model.map(&mut to_host);
    if to_host.missing > 0 || !to_host.data.is_empty() {
        return Err(TrainError::Read(
            "the parameters read back do not match the model".into(),
        ));
    }
    let record_error = |e: String| TrainError::ModelFile(format!("could not write it: {e}"));
    let bytes = model
        .into_record()
        .into_bytes()
        .map_err(|e| record_error(e.to_string()))?;
    let reader = Reader::from_bytes(bytes).map_err(|e| record_error(e.to_string()))?;
    let tensors = reader
        .into_tensors()
        .map_err(|e| record_error(e.to_string()))?;
    let tasks = serde_json::to_string(&file.tasks).map_err(|e| record_error(e.to_string()))?;
    let input = serde_json::to_string(&file.input).map_err(|e| record_error(e.to_string()))?;
    let bytes = Writer::new(tensors)
        .with_metadata(KEY_FORMAT, FORMAT)
        .with_metadata(KEY_CONFIG, &config_to_json(&file.config))
        .with_metadata(KEY_TASKS, &tasks)
        .with_metadata(KEY_INPUT, &input)
        .with_metadata(KEY_STEPS, &file.steps.to_string())
        .into_bytes()
        .map_err(|e| record_error(e.to_string()))?;
    Ok(bytes.to_vec())
}
