// Starts the CPU worker: Trunk's loader shim would call wasm-bindgen's init the deprecated
// way (a bare path), which logs a warning on every load.
importScripts("./worker.js");
wasm_bindgen({ module_or_path: "./worker_bg.wasm" });
