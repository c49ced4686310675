//! Data: the Adult files, their encoding into dense arrays, splits, and device-resident batches.
//!
//! Nothing here knows about models. A [`Split`] is plain host memory; a [`DeviceSplit`] is the
//! same data uploaded once to a Burn device, from which batches are sliced without a new upload.

pub mod adult;
mod rng;
pub mod synthetic;

use burn::tensor::{Device, Int, Tensor, TensorData};
use serde::{Deserialize, Serialize};

pub use adult::{AdultRecord, AdultSchema, CATEGORICAL_FIELDS, NUMERIC_FIELDS, RELATIONSHIP_FIELD};
pub use rng::SplitMix64;
pub use synthetic::{
    CorrelatedConfig, CorrelatedTruth, CvrTruth, Dataset, FunnelConfig, FunnelTruth, correlated,
    funnel,
};

/// Everything that can go wrong while reading data, in words a user can act on.
#[derive(Debug, thiserror::Error, Clone, PartialEq)]
pub enum DataError {
    #[error("malformed Adult line {line}: {reason}")]
    Malformed { line: usize, reason: String },
    #[error("category {value:?} of field {field} does not occur in adult.data")]
    UnknownCategory { field: String, value: String },
    #[error("could not decompress the data file: {0}")]
    Decompress(String),
    #[error("the data file is empty")]
    Empty,
    #[error("Adult has no label for a task named {0:?}")]
    UnknownTask(String),
    #[error("data sets trained side by side must have one shape: {0}")]
    Mismatch(String),
}

pub use mtl_vocab::TaskKind;

/// One prediction target.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskSpec {
    pub name: String,
    pub kind: TaskKind,
}

/// Encoded rows in host memory, row-major.
#[derive(Debug, Clone, PartialEq)]
pub struct Split {
    pub len: usize,
    /// `[len, n_categorical]` embedding-row indices, per field.
    pub categorical: Vec<u32>,
    pub n_categorical: usize,
    /// `[len, n_numeric]` values scaled to [0, 1] with training statistics.
    pub numeric: Vec<f32>,
    pub n_numeric: usize,
    /// `[len, n_tasks]` labels (0/1 for binary tasks).
    pub labels: Vec<f32>,
    pub n_tasks: usize,
}

impl Split {
    /// The rows at `indices`, in that order.
    pub fn subset(&self, indices: &[usize]) -> Split {
        let pick = |data: &[f32], width: usize| -> Vec<f32> {
            indices
                .iter()
                .flat_map(|&i| data[i * width..(i + 1) * width].iter().copied())
                .collect()
        };
        Split {
            len: indices.len(),
            categorical: indices
                .iter()
                .flat_map(|&i| {
                    self.categorical[i * self.n_categorical..(i + 1) * self.n_categorical]
                        .iter()
                        .copied()
                })
                .collect(),
            n_categorical: self.n_categorical,
            numeric: pick(&self.numeric, self.n_numeric),
            n_numeric: self.n_numeric,
            labels: pick(&self.labels, self.n_tasks),
            n_tasks: self.n_tasks,
        }
    }

    /// The labels of task `t`.
    pub fn task_labels(&self, t: usize) -> Vec<f32> {
        self.labels
            .iter()
            .skip(t)
            .step_by(self.n_tasks)
            .copied()
            .collect()
    }

    /// Uploads the split to `device` once.
    pub fn to_device(&self, device: &Device) -> DeviceSplit {
        DeviceSplit::stack(&[self], device).expect("one split always stacks")
    }
}

/// One batch of model inputs and labels: each replica's rows.
#[derive(Debug, Clone)]
pub struct Batch {
    /// `[R, batch, fields]` embedding-row indices.
    pub categorical: Tensor<3, Int>,
    /// `[R, batch, numeric]`
    pub numeric: Tensor<3>,
    /// `[R, batch, tasks]`
    pub labels: Tensor<3>,
}

/// One or more splits of one shape, resident on a device one after the other (replicas that
/// train on data of their own each read theirs). Batches are gathers of it, never re-uploads.
#[derive(Debug, Clone)]
pub struct DeviceSplit {
    /// Rows per data set.
    pub len: usize,
    /// Data sets stacked.
    pub datasets: usize,
    /// `[datasets · len, fields]`
    pub categorical: Tensor<2, Int>,
    /// `[datasets · len, numeric]`
    pub numeric: Tensor<2>,
    /// `[datasets · len, tasks]`
    pub labels: Tensor<2>,
}

impl DeviceSplit {
    /// Uploads `splits` once, one after the other. They must have the same rows and columns.
    pub fn stack(splits: &[&Split], device: &Device) -> Result<Self, DataError> {
        let first = splits.first().ok_or(DataError::Empty)?;
        if let Some(other) = splits.iter().find(|s| {
            (s.len, s.n_categorical, s.n_numeric, s.n_tasks)
                != (
                    first.len,
                    first.n_categorical,
                    first.n_numeric,
                    first.n_tasks,
                )
        }) {
            return Err(DataError::Mismatch(format!(
                "{} rows of {} + {} inputs and {} tasks against {} rows of {} + {} and {}",
                other.len,
                other.n_categorical,
                other.n_numeric,
                other.n_tasks,
                first.len,
                first.n_categorical,
                first.n_numeric,
                first.n_tasks
            )));
        }
        let rows = first.len * splits.len();
        let categorical: Vec<i64> = splits
            .iter()
            .flat_map(|s| s.categorical.iter().map(|&c| c as i64))
            .collect();
        let numeric: Vec<f32> = splits.iter().flat_map(|s| s.numeric.clone()).collect();
        let labels: Vec<f32> = splits.iter().flat_map(|s| s.labels.clone()).collect();
        Ok(Self {
            len: first.len,
            datasets: splits.len(),
            categorical: Tensor::from_data(
                TensorData::new(categorical, [rows, first.n_categorical]),
                device,
            ),
            numeric: Tensor::from_data(TensorData::new(numeric, [rows, first.n_numeric]), device),
            labels: Tensor::from_data(TensorData::new(labels, [rows, first.n_tasks]), device),
        })
    }

    /// Rows `start..end` of each replica's data set, in order (evaluation); `data[r]` is the
    /// data set replica r reads.
    pub fn range(&self, data: &[usize], start: usize, end: usize) -> Batch {
        let device = self.numeric.device();
        let rows = Tensor::<1, Int>::arange(start as i64..end as i64, &device).unsqueeze_dim(0);
        let first: Vec<i64> = data.iter().map(|&d| (d * self.len) as i64).collect();
        let first = Tensor::<2, Int>::from_data(TensorData::new(first, [data.len(), 1]), &device);
        self.gather(rows + first)
    }

    /// The rows named by `indices`, `[R, batch]` rows of the stacked data sets (each replica's
    /// already offset to its data set's first row), as each replica's batch.
    pub fn gather(&self, indices: Tensor<2, Int>) -> Batch {
        let [replicas, batch] = indices.dims();
        let flat = indices.reshape([replicas * batch]);
        let pick = |t: Tensor<2>| -> Tensor<3> {
            let width = t.dims()[1];
            t.select(0, flat.clone()).reshape([replicas, batch, width])
        };
        let width = self.categorical.dims()[1];
        // Without categorical fields (numeric inputs only) there is nothing to gather.
        let categorical = if width == 0 {
            Tensor::zeros([replicas, batch, 0], &self.categorical.device())
        } else {
            self.categorical
                .clone()
                .select(0, flat.clone())
                .reshape([replicas, batch, width])
        };
        Batch {
            categorical,
            numeric: pick(self.numeric.clone()),
            labels: pick(self.labels.clone()),
        }
    }
}

/// Which data the models see.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DataOptions {
    /// Keep `relationship` as an input. It leaks the never-married label (alone it scores about
    /// 0.91 AUC), which is a lesson in itself.
    pub relationship: bool,
    /// Seeds the 10% validation hold-out of adult.data.
    pub split_seed: u64,
}

impl Default for DataOptions {
    fn default() -> Self {
        Self {
            relationship: true,
            split_seed: 2024,
        }
    }
}

/// The Adult data, encoded: train and validation from adult.data, test from adult.test.
#[derive(Debug, Clone)]
pub struct AdultData {
    pub schema: AdultSchema,
    pub tasks: Vec<TaskSpec>,
    /// Indices into [`CATEGORICAL_FIELDS`] of the fields that are inputs.
    pub fields: Vec<usize>,
    pub train: Split,
    pub valid: Split,
    pub test: Split,
}

/// The fraction of adult.data held out for validation.
pub const VALIDATION_FRACTION: f64 = 0.1;

impl AdultData {
    /// Builds the splits from the two files' text.
    pub fn from_text(train: &str, test: &str, options: DataOptions) -> Result<Self, DataError> {
        let train_records = adult::parse_records(train)?;
        let test_records = adult::parse_records(test)?;
        if train_records.is_empty() || test_records.is_empty() {
            return Err(DataError::Empty);
        }
        let schema = AdultSchema::fit(&train_records);
        let tasks = adult::adult_tasks();
        let fields: Vec<usize> = (0..CATEGORICAL_FIELDS.len())
            .filter(|&f| options.relationship || f != RELATIONSHIP_FIELD)
            .collect();
        let full = schema.encode(&train_records, &fields, &tasks)?;
        let test = schema.encode(&test_records, &fields, &tasks)?;

        let mut order: Vec<usize> = (0..full.len).collect();
        SplitMix64::new(options.split_seed).shuffle(&mut order);
        let n_valid = (full.len as f64 * VALIDATION_FRACTION).round() as usize;
        let (valid_idx, train_idx) = order.split_at(n_valid);
        let mut valid_idx = valid_idx.to_vec();
        let mut train_idx = train_idx.to_vec();
        valid_idx.sort_unstable();
        train_idx.sort_unstable();
        Ok(Self {
            train: full.subset(&train_idx),
            valid: full.subset(&valid_idx),
            test,
            schema,
            tasks,
            fields,
        })
    }

    /// Builds the splits from the gzipped files (as shipped in `assets/`).
    pub fn from_gz(
        train_gz: &[u8],
        test_gz: &[u8],
        options: DataOptions,
    ) -> Result<Self, DataError> {
        Self::from_text(&adult::gunzip(train_gz)?, &adult::gunzip(test_gz)?, options)
    }

    /// The copy of Adult baked into the binary.
    #[cfg(feature = "embedded-data")]
    pub fn embedded(options: DataOptions) -> Result<Self, DataError> {
        Self::from_gz(EMBEDDED_TRAIN_GZ, EMBEDDED_TEST_GZ, options)
    }

    /// Vocabulary sizes of the input fields, in input order.
    pub fn vocab_sizes(&self) -> Vec<usize> {
        let all = self.schema.vocab_sizes();
        self.fields.iter().map(|&f| all[f]).collect()
    }

    /// What a model needs to know about the inputs.
    pub fn input_spec(&self) -> InputSpec {
        InputSpec {
            vocab_sizes: self.vocab_sizes(),
            n_numeric: self.train.n_numeric,
        }
    }
}

/// Adult in the form every data set shares; the input fields are named, categorical first.
impl From<AdultData> for Dataset {
    fn from(data: AdultData) -> Self {
        Dataset {
            input: data.input_spec(),
            fields: data
                .fields
                .iter()
                .map(|&f| CATEGORICAL_FIELDS[f].to_string())
                .chain(NUMERIC_FIELDS.iter().map(|f| f.to_string()))
                .collect(),
            tasks: data.tasks,
            train: data.train,
            valid: data.valid,
            test: data.test,
            cvr_truth: None,
        }
    }
}

/// The shape of the model input: one embedding table per categorical field, plus numeric fields.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InputSpec {
    pub vocab_sizes: Vec<usize>,
    pub n_numeric: usize,
}

#[cfg(feature = "embedded-data")]
pub const EMBEDDED_TRAIN_GZ: &[u8] = include_bytes!("../../../../assets/adult.data.gz");
#[cfg(feature = "embedded-data")]
pub const EMBEDDED_TEST_GZ: &[u8] = include_bytes!("../../../../assets/adult.test.gz");

#[cfg(all(test, feature = "embedded-data"))]
mod tests {
    use super::*;

    #[test]
    fn adult_assets_have_the_official_row_counts() {
        let train = adult::parse_records(&adult::gunzip(EMBEDDED_TRAIN_GZ).unwrap()).unwrap();
        let test = adult::parse_records(&adult::gunzip(EMBEDDED_TEST_GZ).unwrap()).unwrap();
        assert_eq!(train.len(), 32_561);
        assert_eq!(test.len(), 16_281);
    }

    #[test]
    fn adult_parsing_is_lossless() {
        for (gz, is_test) in [(EMBEDDED_TRAIN_GZ, false), (EMBEDDED_TEST_GZ, true)] {
            let text = adult::gunzip(gz).unwrap();
            let records = adult::parse_records(&text).unwrap();
            let original: Vec<&str> = text
                .lines()
                .filter(|l| !l.trim().is_empty() && !l.starts_with('|'))
                .collect();
            assert_eq!(original.len(), records.len());
            for (line, record) in original.iter().zip(&records) {
                assert_eq!(*line, record.to_line(is_test));
            }
        }
    }

    #[test]
    fn adult_vocabularies_have_the_documented_sizes() {
        let data = AdultData::embedded(DataOptions::default()).unwrap();
        assert_eq!(data.vocab_sizes(), vec![9, 16, 15, 6, 5, 2, 42]);
        let no_rel = AdultData::embedded(DataOptions {
            relationship: false,
            ..DataOptions::default()
        })
        .unwrap();
        assert_eq!(no_rel.vocab_sizes(), vec![9, 16, 15, 5, 2, 42]);
    }

    #[test]
    fn adult_split_holds_out_ten_percent_reproducibly() {
        let a = AdultData::embedded(DataOptions::default()).unwrap();
        let b = AdultData::embedded(DataOptions::default()).unwrap();
        assert_eq!(a.valid.len, 3_256);
        assert_eq!(a.train.len, 32_561 - 3_256);
        assert_eq!(a.test.len, 16_281);
        assert_eq!(a.valid, b.valid);
        let c = AdultData::embedded(DataOptions {
            split_seed: 7,
            ..DataOptions::default()
        })
        .unwrap();
        assert_ne!(a.valid, c.valid);
    }

    #[test]
    fn adult_features_are_scaled_and_labelled() {
        let data = AdultData::embedded(DataOptions::default()).unwrap();
        assert!(data.train.numeric.iter().all(|x| (0.0..=1.0).contains(x)));
        let income_rate = data.test.task_labels(0).iter().sum::<f32>() / data.test.len as f32;
        assert!((income_rate - 3_846.0 / 16_281.0).abs() < 1e-4);
        let never_married = data.train.task_labels(1).iter().sum::<f32>();
        assert!(never_married > 9_000.0 && never_married < 10_000.0);
    }
}
