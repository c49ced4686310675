//! The autodiff graph of a training step does not grow with the replicas. In a process of its
//! own: node ids come from one process-wide counter, which tests running beside it would advance.

use mtl::burn::tensor::Device;
use mtl::data::{CorrelatedConfig, correlated};
use mtl::models::{ModelConfig, ModelKind, ModelSettings};
use mtl::train::bench::step_work;
use mtl::train::{Replicas, TrainConfig, Trainer};
use mtl_vocab::DataKind;

#[test]
fn bench_graph_nodes_per_step_do_not_grow_with_replicas() {
    let (data, _) = correlated(&CorrelatedConfig {
        train_rows: 1_000,
        valid_rows: 10,
        test_rows: 10,
        ..Default::default()
    })
    .expect("valid knobs");
    for kind in [ModelKind::SharedBottom, ModelKind::Mmoe, ModelKind::Ple] {
        let nodes = |replicas: usize| {
            let seeds: Vec<u64> = (1..=replicas as u64).collect();
            let mut t = Trainer::new(
                ModelConfig::from_settings(
                    kind,
                    &ModelSettings::for_data(kind, DataKind::Correlated),
                ),
                TrainConfig::new().with_batch_size(64),
                &data.input,
                data.tasks.clone(),
                &[&data.train],
                Replicas::seeds(&seeds),
                &Device::flex(),
            )
            .expect("valid trainer");
            // Node ids come from one process-wide counter, which tests running beside this
            // one also advance: the least of a few steps is this step's own count.
            (0..5)
                .map(|_| {
                    step_work(&mut t, &Device::flex(), false)
                        .expect("a finite step")
                        .graph_nodes
                })
                .min()
                .unwrap_or(0)
        };
        let one = nodes(1);
        assert!(one > 20, "{kind}: {one} nodes");
        assert_eq!(nodes(8), one, "{kind}");
    }
}
