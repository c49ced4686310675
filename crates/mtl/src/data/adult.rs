//! UCI Adult (Census Income): parsing, vocabularies, scaling and the two tasks.
//!
//! The files are the original UCI ones. `adult.test` starts with a header line
//! (`|1x3 Cross validator`), and its labels end in '.'; every field follows a
//! comma and a space. '?' (a missing value) is kept as a category of its own.

use std::io::Read;

use flate2::read::GzDecoder;

use mtl_vocab::DataKind;

use super::{DataError, Split, TaskSpec};

/// The 15 columns of one Adult line, as they are in the file.
#[derive(Debug, Clone, PartialEq)]
pub struct AdultRecord {
    pub age: u32,
    pub workclass: String,
    pub fnlwgt: u32,
    pub education: String,
    pub education_num: u32,
    pub marital_status: String,
    pub occupation: String,
    pub relationship: String,
    pub race: String,
    pub sex: String,
    pub capital_gain: u32,
    pub capital_loss: u32,
    pub hours_per_week: u32,
    pub native_country: String,
    /// `<=50K` or `>50K`, with the test file's trailing '.' removed.
    pub income: String,
}

/// The categorical input fields, in the order of the embedding tables.
/// marital-status is never an input: it is the second task's label.
pub const CATEGORICAL_FIELDS: [&str; 7] = [
    "workclass",
    "education",
    "occupation",
    "relationship",
    "race",
    "sex",
    "native-country",
];

/// The numeric input fields, min-max scaled with the statistics of adult.data.
pub const NUMERIC_FIELDS: [&str; 6] = [
    "age",
    "fnlwgt",
    "education-num",
    "capital-gain",
    "capital-loss",
    "hours-per-week",
];

/// The index of `relationship` in [`CATEGORICAL_FIELDS`].
pub const RELATIONSHIP_FIELD: usize = 3;

/// The test file's first line, which is not a record.
const TEST_HEADER: &str = "|1x3 Cross validator";

impl AdultRecord {
    /// Parses one line. `line_no` (1-based) only makes the error readable.
    pub fn parse(line: &str, line_no: usize) -> Result<Self, DataError> {
        let fields: Vec<&str> = line.split(", ").collect();
        if fields.len() != 15 {
            return Err(DataError::Malformed {
                line: line_no,
                reason: format!("expected 15 comma-separated fields, found {}", fields.len()),
            });
        }
        let number = |i: usize, name: &str| -> Result<u32, DataError> {
            fields[i].parse::<u32>().map_err(|_| DataError::Malformed {
                line: line_no,
                reason: format!("{name} is not a whole number: {:?}", fields[i]),
            })
        };
        let income = fields[14].strip_suffix('.').unwrap_or(fields[14]);
        if income != "<=50K" && income != ">50K" {
            return Err(DataError::Malformed {
                line: line_no,
                reason: format!("income label must be <=50K or >50K, found {:?}", fields[14]),
            });
        }
        Ok(Self {
            age: number(0, "age")?,
            workclass: fields[1].to_string(),
            fnlwgt: number(2, "fnlwgt")?,
            education: fields[3].to_string(),
            education_num: number(4, "education-num")?,
            marital_status: fields[5].to_string(),
            occupation: fields[6].to_string(),
            relationship: fields[7].to_string(),
            race: fields[8].to_string(),
            sex: fields[9].to_string(),
            capital_gain: number(10, "capital-gain")?,
            capital_loss: number(11, "capital-loss")?,
            hours_per_week: number(12, "hours-per-week")?,
            native_country: fields[13].to_string(),
            income: income.to_string(),
        })
    }

    /// Writes the record back in the file's format; `test_suffix` adds the test file's '.'.
    pub fn to_line(&self, test_suffix: bool) -> String {
        format!(
            "{}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}{}",
            self.age,
            self.workclass,
            self.fnlwgt,
            self.education,
            self.education_num,
            self.marital_status,
            self.occupation,
            self.relationship,
            self.race,
            self.sex,
            self.capital_gain,
            self.capital_loss,
            self.hours_per_week,
            self.native_country,
            self.income,
            if test_suffix { "." } else { "" }
        )
    }

    /// The categorical fields in [`CATEGORICAL_FIELDS`] order.
    pub fn categorical(&self) -> [&str; 7] {
        [
            &self.workclass,
            &self.education,
            &self.occupation,
            &self.relationship,
            &self.race,
            &self.sex,
            &self.native_country,
        ]
    }

    /// The numeric fields in [`NUMERIC_FIELDS`] order.
    pub fn numeric(&self) -> [f32; 6] {
        [
            self.age as f32,
            self.fnlwgt as f32,
            self.education_num as f32,
            self.capital_gain as f32,
            self.capital_loss as f32,
            self.hours_per_week as f32,
        ]
    }

    /// Task 1: income > 50K.
    pub fn income_over_50k(&self) -> bool {
        self.income == ">50K"
    }

    /// Task 2: marital-status == Never-married.
    pub fn never_married(&self) -> bool {
        self.marital_status == "Never-married"
    }
}

/// Parses a whole file. Blank lines (the files end with one) and the test header are skipped.
pub fn parse_records(text: &str) -> Result<Vec<AdultRecord>, DataError> {
    text.lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty() && line.trim() != TEST_HEADER)
        .map(|(i, line)| AdultRecord::parse(line.trim_end_matches('\r'), i + 1))
        .collect()
}

/// Inflates a gzip stream into text.
pub fn gunzip(bytes: &[u8]) -> Result<String, DataError> {
    let mut text = String::new();
    GzDecoder::new(bytes)
        .read_to_string(&mut text)
        .map_err(|e| DataError::Decompress(e.to_string()))?;
    Ok(text)
}

/// A sorted category list for one field; the index of a value is its embedding row.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Vocabulary {
    pub field: String,
    pub values: Vec<String>,
}

impl Vocabulary {
    fn index(&self, value: &str) -> Result<u32, DataError> {
        self.values
            .binary_search_by(|v| v.as_str().cmp(value))
            .map(|i| i as u32)
            .map_err(|_| DataError::UnknownCategory {
                field: self.field.clone(),
                value: value.to_string(),
            })
    }
}

/// Everything learned from adult.data that the features need: vocabularies and min/max.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct AdultSchema {
    pub vocabularies: Vec<Vocabulary>,
    pub numeric_min: [f32; 6],
    pub numeric_max: [f32; 6],
}

impl AdultSchema {
    /// Builds vocabularies and scaling statistics from the training file only.
    pub fn fit(train: &[AdultRecord]) -> Self {
        let vocabularies = CATEGORICAL_FIELDS
            .iter()
            .enumerate()
            .map(|(f, name)| {
                let mut values: Vec<String> = train
                    .iter()
                    .map(|r| r.categorical()[f].to_string())
                    .collect();
                values.sort();
                values.dedup();
                Vocabulary {
                    field: name.to_string(),
                    values,
                }
            })
            .collect();
        let mut numeric_min = [f32::INFINITY; 6];
        let mut numeric_max = [f32::NEG_INFINITY; 6];
        for record in train {
            for (j, x) in record.numeric().into_iter().enumerate() {
                numeric_min[j] = numeric_min[j].min(x);
                numeric_max[j] = numeric_max[j].max(x);
            }
        }
        Self {
            vocabularies,
            numeric_min,
            numeric_max,
        }
    }

    /// The number of categories per field, in [`CATEGORICAL_FIELDS`] order.
    pub fn vocab_sizes(&self) -> Vec<usize> {
        self.vocabularies.iter().map(|v| v.values.len()).collect()
    }

    /// Encodes records into a split. `fields` picks which categorical fields stay inputs
    /// (by index into [`CATEGORICAL_FIELDS`]).
    pub fn encode(
        &self,
        records: &[AdultRecord],
        fields: &[usize],
        tasks: &[TaskSpec],
    ) -> Result<Split, DataError> {
        let mut categorical = Vec::with_capacity(records.len() * fields.len());
        let mut numeric = Vec::with_capacity(records.len() * 6);
        let mut labels = Vec::with_capacity(records.len() * tasks.len());
        for record in records {
            let values = record.categorical();
            for &f in fields {
                categorical.push(self.vocabularies[f].index(values[f])?);
            }
            for (j, x) in record.numeric().into_iter().enumerate() {
                let range = self.numeric_max[j] - self.numeric_min[j];
                let scaled = if range > 0.0 {
                    (x - self.numeric_min[j]) / range
                } else {
                    0.0
                };
                numeric.push(scaled);
            }
            for task in tasks {
                let label = match task.name.as_str() {
                    INCOME => record.income_over_50k(),
                    NEVER_MARRIED => record.never_married(),
                    other => return Err(DataError::UnknownTask(other.to_string())),
                };
                labels.push(if label { 1.0 } else { 0.0 });
            }
        }
        Ok(Split {
            len: records.len(),
            categorical,
            n_categorical: fields.len(),
            numeric,
            n_numeric: 6,
            labels,
            n_tasks: tasks.len(),
        })
    }
}

/// The Adult tasks' names, as the vocabulary gives them: income > 50K, and never-married.
const INCOME: &str = DataKind::Adult.task_names()[0];
const NEVER_MARRIED: &str = DataKind::Adult.task_names()[1];

/// The two Adult tasks: task 1 is income > 50K, task 2 is never-married.
pub fn adult_tasks() -> Vec<TaskSpec> {
    DataKind::Adult
        .task_names()
        .map(|name| TaskSpec {
            name: name.into(),
            kind: DataKind::Adult.task_kind(),
        })
        .to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_parses_test_line_with_trailing_dot() {
        let line = "25, Private, 226802, 11th, 7, Never-married, Machine-op-inspct, Own-child, Black, Male, 0, 0, 40, United-States, <=50K.";
        let record = AdultRecord::parse(line, 2).expect("valid line");
        assert_eq!(record.age, 25);
        assert_eq!(record.income, "<=50K");
        assert!(record.never_married());
        assert!(!record.income_over_50k());
        assert_eq!(record.to_line(true), line);
    }

    #[test]
    fn record_keeps_question_mark_as_category() {
        let line = "18, ?, 103497, Some-college, 10, Never-married, ?, Own-child, White, Female, 0, 0, 30, United-States, <=50K";
        let record = AdultRecord::parse(line, 1).expect("valid line");
        assert_eq!(record.workclass, "?");
        assert_eq!(record.occupation, "?");
    }

    #[test]
    fn record_rejects_malformed_lines_with_a_message() {
        let err = AdultRecord::parse("39, State-gov, 77516", 7).unwrap_err();
        assert!(err.to_string().contains("line 7"), "{err}");
        let bad_age = "x, Private, 1, HS-grad, 9, Divorced, Sales, Unmarried, White, Male, 0, 0, 40, Cuba, >50K";
        let err = AdultRecord::parse(bad_age, 3).unwrap_err();
        assert!(err.to_string().contains("age"), "{err}");
        let bad_label = "39, Private, 1, HS-grad, 9, Divorced, Sales, Unmarried, White, Male, 0, 0, 40, Cuba, maybe";
        assert!(AdultRecord::parse(bad_label, 3).is_err());
    }

    #[test]
    fn schema_refuses_a_task_it_has_no_label_for() {
        let line = "39, Private, 1, HS-grad, 9, Divorced, Sales, Unmarried, White, Male, 0, 0, 40, Cuba, >50K";
        let train = vec![AdultRecord::parse(line, 1).expect("valid")];
        let schema = AdultSchema::fit(&train);
        let task = TaskSpec {
            name: "divorced".into(),
            kind: DataKind::Adult.task_kind(),
        };
        let err = schema.encode(&train, &[0], &[task]).unwrap_err();
        assert!(err.to_string().contains("divorced"), "{err}");
        let labels = schema
            .encode(&train, &[0], &adult_tasks())
            .expect("known tasks");
        assert_eq!(
            labels.labels,
            vec![1.0, 0.0],
            "income > 50K, not never married"
        );
    }

    #[test]
    fn schema_rejects_unknown_category() {
        let line = "39, Private, 1, HS-grad, 9, Divorced, Sales, Unmarried, White, Male, 0, 0, 40, Cuba, >50K";
        let train = vec![AdultRecord::parse(line, 1).expect("valid")];
        let schema = AdultSchema::fit(&train);
        let mut other = train[0].clone();
        other.native_country = "Atlantis".into();
        let err = schema
            .encode(&[other], &[0, 1, 2, 3, 4, 5, 6], &adult_tasks())
            .unwrap_err();
        assert!(err.to_string().contains("Atlantis"), "{err}");
    }
}
