// Starts the WebGPU worker (see worker_loader.js).
importScripts("./worker_gpu.js");
wasm_bindgen({ module_or_path: "./worker_gpu_bg.wasm" });
