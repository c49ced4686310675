#!/usr/bin/env python3
"""Puts scripts/bench.sh's figures side by side: `bench_report.py <dir with *.jsonl> <dist>`."""
import gzip
import json
import os
import platform
import sys


def read(path):
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip().startswith("{")]


def main():
    folder, dist = sys.argv[1], sys.argv[2]
    native = {r["model"]: r for r in read(os.path.join(folder, "native.jsonl")) if r.get("event") == "native"}
    torch = {r["model"]: r for r in read(os.path.join(folder, "torch.jsonl")) if "samples_per_sec" in r}
    browser = read(os.path.join(folder, "browser.jsonl"))
    cpu = {r["model"]: r for r in browser if r.get("event") == "wasm_cpu"}
    gpu = {r["model"]: r for r in browser if r.get("event") == "wasm_webgpu" and "model" in r}
    skipped = [r["skipped"] for r in browser if r.get("event") == "wasm_webgpu" and "skipped" in r]

    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, {platform.platform()}")
    print()
    print("| model | params | native samples/s | PyTorch samples/s | native / PyTorch | wasm CPU samples/s | native / wasm | WebGPU samples/s | longest main-thread task | interactive |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for model, n in native.items():
        t = torch.get(model, {})
        c = cpu.get(model, {})
        g = gpu.get(model, {})
        ns, ts, cs = n.get("samples_per_sec"), t.get("samples_per_sec"), c.get("samples_per_sec")
        ratio = f"{ns / ts:.2f}x" if ns and ts else "–"
        wasm_ratio = f"{ns / cs:.2f}x" if ns and cs else "–"
        if t and t.get("params") != n.get("params"):
            ratio += f" (params differ: {t.get('params')})"
        print(
            f"| {model} | {n.get('params')} | {ns:.0f} | {ts if ts else '–'} | {ratio} | {cs if cs else '–'} | {wasm_ratio} | "
            f"{g.get('samples_per_sec', '–')} | {c.get('longest_task_ms', '–')} ms ({c.get('long_tasks', '–')} over 50 ms) | {c.get('interactive_ms', '–')} ms |"
        )
    for s in skipped:
        print(f"\nWebGPU: {s}")
    for race in (r for r in browser if r.get("event") == "race"):
        print("\nRace mode (one CPU worker per lane; samples/s over wall time):\n")
        print("| model | its worker alone | beside the other lane | together / alone |")
        print("|---|---|---|---|")
        for lane in race["lanes"]:
            print(f"| {lane['model']} | {lane['alone']} | {lane['together']} | {lane['ratio']:.2f}x |")
    print("\n| file | raw | gzip -9 |")
    print("|---|---|---|")
    for name in sorted(os.listdir(dist)):
        if name.endswith(".wasm"):
            data = open(os.path.join(dist, name), "rb").read()
            print(f"| {name} | {len(data) / 1e6:.2f} MB | {len(gzip.compress(data, 9)) / 1e6:.2f} MB |")


if __name__ == "__main__":
    main()
