//! The WebGPU training worker: Burn's wgpu device. It is about 3 MB (gzip) larger than the CPU
//! worker, so the page loads it only when WebGPU is chosen or a hardware adapter is found. If
//! the device cannot start, it says so (`DeviceFailed`) and the page falls back to the CPU worker.

fn main() {
    mtl_playground::worker::driver::start(mtl_playground::protocol::Backend::Webgpu, async {
        mtl::burn::tensor::Device::wgpu_options()
            .init_async()
            .await
            .map_err(|e| format!("WebGPU could not start: {e}"))
    });
}
