//! The CPU training worker: Burn's flex device, built with wasm SIMD. The page loads it first.

fn main() {
    mtl_playground::worker::driver::start(mtl_playground::protocol::Backend::Cpu, async {
        Ok(mtl::burn::tensor::Device::flex())
    });
}
