//! Reading results back from the device. Every tensor of one result goes into one
//! `Transaction` (one round trip, never one per tensor), and a function turns the data into the
//! result. Natively [`Readback::read`] blocks; in a browser, where a blocking read of a WebGPU
//! tensor panics, [`Readback::read_async`] awaits.

use std::borrow::Borrow;

use burn::tensor::{Tensor, TensorData, Transaction};

use super::error::TrainError;

/// Tensors on their way back from the device, and what to make of them once read.
#[must_use = "nothing is read until `read` or `read_async`"]
pub struct Readback<T, E = TrainError> {
    transaction: Transaction,
    finish: Box<dyn FnOnce(Vec<TensorData>) -> Result<T, E>>,
}

impl<T, E: From<TrainError>> Readback<T, E> {
    /// `finish` receives the data of `transaction`'s tensors, in the order they were registered.
    pub fn new(
        transaction: Transaction,
        finish: impl FnOnce(Vec<TensorData>) -> Result<T, E> + 'static,
    ) -> Self {
        Self {
            transaction,
            finish: Box::new(finish),
        }
    }

    /// A read that fails with `error` without reading anything.
    pub fn failed(error: TrainError) -> Self
    where
        T: 'static,
        E: 'static,
    {
        Self::new(Transaction::default(), move |_| Err(E::from(error)))
    }

    /// The same read, its result turned into another by `f`.
    pub fn map<U>(self, f: impl FnOnce(T) -> U + 'static) -> Readback<U, E>
    where
        T: 'static,
        E: 'static,
    {
        let finish = self.finish;
        Readback {
            transaction: self.transaction,
            finish: Box::new(move |data| finish(data).map(f)),
        }
    }

    /// Reads back, blocking. Natively only: a blocking read panics in a browser.
    pub fn read(self) -> Result<T, E> {
        let data = self
            .transaction
            .try_execute()
            .map_err(|e| TrainError::Read(format!("{e:?}")))?;
        (self.finish)(data)
    }

    /// Reads back without blocking (the browser's way).
    pub async fn read_async(self) -> Result<T, E> {
        let data = self
            .transaction
            .execute_async()
            .await
            .map_err(|e| TrainError::Read(format!("{e:?}")))?;
        (self.finish)(data)
    }
}

/// One transaction of these rank-1 tensors (owned or borrowed), in order.
pub fn transaction<T: Borrow<Tensor<1>>>(tensors: impl IntoIterator<Item = T>) -> Transaction {
    tensors.into_iter().fold(Transaction::default(), |tx, t| {
        tx.register(t.borrow().clone())
    })
}

/// Tensors read back, as `f32` vectors in the order they were registered.
pub fn f32_values(data: Vec<TensorData>) -> Result<Vec<Vec<f32>>, TrainError> {
    data.into_iter()
        .map(|d| {
            d.try_into_vec::<f32>()
                .map_err(|e| TrainError::Read(format!("{e:?}")))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::Device;

    #[test]
    fn readback_hands_the_data_over_in_registration_order() {
        let device = Device::flex();
        let a = Tensor::<1>::from_floats([1.0, 2.0], &device);
        let b = Tensor::<1>::from_floats([5.0], &device);
        let sums = Readback::<Vec<f32>>::new(transaction([&a, &b]), |data| {
            Ok(f32_values(data)?.iter().map(|v| v.iter().sum()).collect())
        });
        assert_eq!(sums.read().expect("reads"), vec![3.0, 5.0]);
        let total =
            Readback::<Vec<f32>>::new(transaction([&a, &b]), |data| Ok(f32_values(data)?.concat()))
                .map(|v| v.iter().sum::<f32>());
        assert_eq!(total.read().expect("reads"), 8.0);
        let refused = Readback::<()>::new(transaction([&a]), |_| {
            Err(TrainError::Read("refused".into()))
        });
        assert!(
            refused.read().is_err(),
            "the finish function's error comes through"
        );
    }
}
