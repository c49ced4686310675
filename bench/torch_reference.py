#!/usr/bin/env python3
"""PyTorch CPU reference for the playground's seven models: training throughput in samples/s.

A re-implementation of crates/mtl/src/models (SingleTask, Shared-Bottom, OMoE, MMoE, CGC, PLE,
ESMM) with exactly the Rust parameter counts, trained the way crates/mtl/src/train/trainer.rs
trains them (Adam lr 1e-3, betas 0.9/0.999, eps 1e-7, batch 256, summed per-task BCE plus
1e-5 * sum of squared embedding weights), on random data of the Adult data set's shape held in
memory. It gives a yardstick for the Burn backends' samples/s on the same CPU.

Install (PyPI only; what bench/setup_venv.sh does, idempotently):

    python3 -m venv "$HOME/.cache/mtl-playground/bench-venv"
    "$HOME/.cache/mtl-playground/bench-venv/bin/pip" install -r bench/requirements.txt

requirements.txt pins torch 2.15.0 and everything it pulls in. PyPI's Linux x86_64 torch
wheel is a CUDA build: its libtorch_python.so / libtorch_cuda.so link against cudart, cublas,
cudnn, nccl, nvshmem, cusparseLt, ... at load time, so `pip install torch --no-deps` does not
import without the nvidia-* wheels (torch/__init__.py fails with "libcublasLt.so.*[0-9] not
found"). The plain install (about 3.0 GB downloaded, 5.4 GB installed, ~85 s on the 2-core dev
box) is what works from PyPI alone; the CUDA libraries are loaded but never used.

Run:

    "$HOME/.cache/mtl-playground/bench-venv/bin/python" bench/torch_reference.py --threads 1
    ... --threads 2 --models mmoe,ple --steps 200 --warmup 20

One JSON line per model on stdout, then {"event": "done"}. Exits non-zero if any model's
parameter count differs from the Rust one (checked for all seven before anything is timed).
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import sys
import time

import torch
import torch.nn.functional as F
from torch import nn

# The Adult data set as the playground encodes it: 7 categorical fields (with `relationship`)
# and 6 numeric ones scaled to [0, 1]; 29,305 training rows (adult.data less the 10% hold-out).
VOCAB_SIZES = [9, 16, 15, 6, 5, 2, 42]
N_NUMERIC = 6
TRAIN_ROWS = 29_305
N_TASKS = 2

EMBEDDING_DIM = 4
EMBEDDING_INIT_STD = 1e-4
L2_EMBEDDING = 1e-5
PROBABILITY_EPSILON = 1e-7  # Keras's clipping epsilon, for ESMM's CTCVR probability

# The Rust models' `num_params()` with ModelConfig::tutorial(kind); this script must match.
EXPECTED_PARAMS = {
    "single_task": 63_482,
    "shared_bottom": 42_110,
    "omoe": 10_566,
    "mmoe": 10_702,
    "cgc": 131_854,
    "ple": 300_470,
    "esmm": 42_622,
}
LABELS = {
    "single_task": "SingleTask",
    "shared_bottom": "Shared-Bottom",
    "omoe": "OMoE",
    "mmoe": "MMoE",
    "cgc": "CGC",
    "ple": "PLE",
    "esmm": "ESMM",
}


# --- building blocks (crates/mtl/src/models/layers.rs) ----------------------------------------


def glorot_normal_(w: torch.Tensor, fan_in: int, fan_out: int) -> None:
    with torch.no_grad():
        w.normal_(0.0, math.sqrt(2.0 / (fan_in + fan_out)))


def glorot_uniform_(w: torch.Tensor, fan_in: int, fan_out: int) -> None:
    a = math.sqrt(6.0 / (fan_in + fan_out))
    with torch.no_grad():
        w.uniform_(-a, a)


def dense(d_in: int, d_out: int, bias: bool, init) -> nn.Linear:
    layer = nn.Linear(d_in, d_out, bias=bias)
    init(layer.weight, d_in, d_out)
    if bias:
        nn.init.zeros_(layer.bias)
    return layer


class InputLayer(nn.Module):
    """One embedding table per field, stored as one [sum of vocabularies, dim] matrix (one
    gather with per-field row offsets), concatenated with the numeric features."""

    def __init__(self, vocab_sizes=VOCAB_SIZES, dim=EMBEDDING_DIM, n_numeric=N_NUMERIC):
        super().__init__()
        self.table = nn.Parameter(torch.empty(sum(vocab_sizes), dim))
        with torch.no_grad():
            self.table.normal_(0.0, EMBEDDING_INIT_STD)
        offsets, nxt = [], 0
        for size in vocab_sizes:
            offsets.append(nxt)
            nxt += size
        self.register_buffer("offsets", torch.tensor([offsets], dtype=torch.long))
        self.output_dim = len(vocab_sizes) * dim + n_numeric

    def forward(self, categorical: torch.Tensor, numeric: torch.Tensor) -> torch.Tensor:
        embedded = F.embedding(categorical + self.offsets, self.table)  # [batch, fields, dim]
        return torch.cat([embedded.flatten(1), numeric], dim=1)

    def squared_norm(self) -> torch.Tensor:
        return self.table.square().sum()


class Dnn(nn.Module):
    """Dense + ReLU per layer, biases on (DeepCTR's DNN; dropout is 0 in every tutorial model,
    and Burn's Dropout with p = 0 is the identity, so none is applied)."""

    def __init__(self, d_in: int, units):
        super().__init__()
        layers, width = [], d_in
        for u in units:
            layers.append(dense(width, u, True, glorot_normal_))
            width = u
        self.layers = nn.ModuleList(layers)
        self.output_dim = width

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for layer in self.layers:
            x = torch.relu(layer(x))
        return x


class ExpertBank(nn.Module):
    """All experts of a level as one [experts, in, out] weight per layer, applied with one
    baddbmm per layer, exactly like the Rust bank. (On the 2-core dev box this measured the same,
    within noise, as folding the experts into one GEMM per input group for the first layer.)"""

    def __init__(self, experts: int, d_in: int, units):
        super().__init__()
        self.experts = experts
        self.weights = nn.ParameterList()
        self.biases = nn.ParameterList()
        width = d_in
        for u in units:
            w = nn.Parameter(torch.empty(experts, width, u))
            glorot_normal_(w, width, u)
            self.weights.append(w)
            self.biases.append(nn.Parameter(torch.zeros(experts, 1, u)))
            width = u
        self.output_dim = width

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """[experts, batch, in] (each expert its own rows) -> [experts, batch, out]."""
        for w, b in zip(self.weights, self.biases):
            x = torch.relu(torch.baddbmm(b, x, w))
        return x

    def forward_groups(self, inputs, sizes) -> torch.Tensor:
        """Expert group g (sizes[g] consecutive experts) reads inputs[g] ([batch, in])."""
        blocks = [x.unsqueeze(0).expand(n, *x.shape) for x, n in zip(inputs, sizes) if n > 0]
        return self.forward(blocks[0] if len(blocks) == 1 else torch.cat(blocks, 0))

    def forward_shared(self, x: torch.Tensor) -> torch.Tensor:
        """Every expert on the same [batch, in] input."""
        return self.forward(x.unsqueeze(0).expand(self.experts, *x.shape))


class Gate(nn.Module):
    """softmax(Dense(n, no bias)): the paper's gate (the Rust optional hidden DNN is unused)."""

    def __init__(self, d_in: int, experts: int):
        super().__init__()
        self.logits = dense(d_in, experts, False, glorot_uniform_)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.softmax(self.logits(x), dim=1)


def mix(experts: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """[n, batch, out] experts, [batch, n] weights -> [batch, out] gate-weighted sum, as a
    batched [1, n] x [n, out] product per row (faster on CPU than einsum or multiply-and-sum)."""
    return torch.bmm(weights.unsqueeze(1), experts.transpose(0, 1)).squeeze(1)


class TaskHead(nn.Module):
    """Tower DNN, Dense(1) without bias, plus a scalar bias (DeepCTR's PredictionLayer)."""

    def __init__(self, d_in: int, tower):
        super().__init__()
        self.tower = Dnn(d_in, tower)
        self.output = dense(self.tower.output_dim, 1, False, glorot_uniform_)
        self.bias = nn.Parameter(torch.zeros(1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.output(self.tower(x)) + self.bias


# --- the models (bottom.rs, moe.rs, ple.rs, esmm.rs) -----------------------------------------
# Every forward returns (per-task predictions, gate weights); a prediction is ("logit", x) or
# ("prob", p) like the Rust `Prediction`.


class SingleTask(nn.Module):
    """One network per task, nothing shared, not even the embeddings."""

    def __init__(self, bottom=(128, 128), tower=(64, 32), tasks=N_TASKS):
        super().__init__()
        self.inputs = nn.ModuleList(InputLayer() for _ in range(tasks))
        self.bottoms = nn.ModuleList(Dnn(i.output_dim, bottom) for i in self.inputs)
        self.heads = nn.ModuleList(TaskHead(b.output_dim, tower) for b in self.bottoms)

    def forward(self, cat, num):
        preds = [
            ("logit", head(bottom(inp(cat, num))))
            for inp, bottom, head in zip(self.inputs, self.bottoms, self.heads)
        ]
        return preds, []

    def embedding_penalty(self):
        return sum(i.squared_norm() for i in self.inputs)


class SharedBottom(nn.Module):
    def __init__(self, bottom=(128, 128), tower=(64, 32), tasks=N_TASKS):
        super().__init__()
        self.input = InputLayer()
        self.bottom = Dnn(self.input.output_dim, bottom)
        self.heads = nn.ModuleList(TaskHead(self.bottom.output_dim, tower) for _ in range(tasks))

    def forward(self, cat, num):
        shared = self.bottom(self.input(cat, num))
        return [("logit", head(shared)) for head in self.heads], []

    def embedding_penalty(self):
        return self.input.squared_norm()


class Moe(nn.Module):
    """MMoE (a gate per task) or OMoE (one gate shared by all tasks)."""

    def __init__(self, one_gate: bool, experts=4, expert_units=(32, 32), tower=(16, 8),
                 tasks=N_TASKS):
        super().__init__()
        self.input = InputLayer()
        width = self.input.output_dim
        self.experts = ExpertBank(experts, width, expert_units)
        self.gates = nn.ModuleList(Gate(width, experts) for _ in range(1 if one_gate else tasks))
        self.heads = nn.ModuleList(
            TaskHead(self.experts.output_dim, tower) for _ in range(tasks))

    def forward(self, cat, num):
        h = self.input(cat, num)
        experts = self.experts.forward_shared(h)
        gates = [g(h) for g in self.gates]
        preds = [
            ("logit", head(mix(experts, gates[min(t, len(gates) - 1)])))
            for t, head in enumerate(self.heads)
        ]
        return preds, gates

    def embedding_penalty(self):
        return self.input.squared_norm()


class ExtractionLevel(nn.Module):
    """One CGC level: experts ordered task 0's specific, task 1's, ..., then the shared ones."""

    def __init__(self, d_in, tasks, specific, shared, expert_units, last):
        super().__init__()
        self.tasks, self.specific, self.shared = tasks, specific, shared
        total = tasks * specific + shared
        self.experts = ExpertBank(total, d_in, expert_units)
        self.task_gates = nn.ModuleList(Gate(d_in, specific + shared) for _ in range(tasks))
        self.shared_gate = None if last else Gate(d_in, total)

    def forward(self, task_inputs, shared_input, same_input):
        t_n, s, h = self.tasks, self.specific, self.shared
        if same_input:
            experts = self.experts.forward_shared(shared_input)
        else:
            experts = self.experts.forward_groups(
                list(task_inputs) + [shared_input], [s] * t_n + [h])
        outputs, gates = [], []
        for t, (gate, x) in enumerate(zip(self.task_gates, task_inputs)):
            own = []
            if s > 0:
                own.append(experts[t * s:(t + 1) * s])
            if h > 0:
                own.append(experts[t_n * s:t_n * s + h])
            own = own[0] if len(own) == 1 else torch.cat(own, 0)
            w = gate(x)
            outputs.append(mix(own, w))
            gates.append(w)
        shared_out = None
        if self.shared_gate is not None:
            w = self.shared_gate(shared_input)
            gates.append(w)
            shared_out = mix(experts, w)
        return outputs, shared_out, gates


class Ple(nn.Module):
    """PLE; CGC is PLE with one level. Level k's task-i experts and gate read task i's output of
    level k-1, its shared experts and shared gate read the previous shared gate's output."""

    def __init__(self, levels, specific=8, shared=4, expert_units=(64, 64), tower=(16, 16),
                 tasks=N_TASKS):
        super().__init__()
        self.input = InputLayer()
        width = self.input.output_dim
        lv = []
        for k in range(levels):
            level = ExtractionLevel(width, tasks, specific, shared, expert_units,
                                    last=(k + 1 == levels))
            width = level.experts.output_dim
            lv.append(level)
        self.levels = nn.ModuleList(lv)
        self.heads = nn.ModuleList(TaskHead(width, tower) for _ in range(tasks))

    def forward(self, cat, num):
        h = self.input(cat, num)
        task_inputs = [h] * len(self.heads)
        shared_input = h
        all_gates = []
        for k, level in enumerate(self.levels):
            outputs, shared_out, gates = level(task_inputs, shared_input, k == 0)
            all_gates.extend(gates)
            task_inputs = outputs
            if shared_out is not None:
                shared_input = shared_out
        preds = [("logit", head(x)) for head, x in zip(self.heads, task_inputs)]
        return preds, all_gates

    def embedding_penalty(self):
        return self.input.squared_norm()


class Esmm(nn.Module):
    """CTR and CVR towers on shared embeddings; task 0 = CTR logit, task 1 = pCTR * pCVR."""

    def __init__(self, tower=(128, 128)):
        super().__init__()
        self.input = InputLayer()
        width = self.input.output_dim
        self.ctr = TaskHead(width, tower)
        self.cvr = TaskHead(width, tower)

    def forward(self, cat, num):
        h = self.input(cat, num)
        ctr_logit = self.ctr(h)
        p_cvr = torch.sigmoid(self.cvr(h))
        p_ctcvr = torch.sigmoid(ctr_logit) * p_cvr
        return [("logit", ctr_logit), ("prob", p_ctcvr)], []

    def embedding_penalty(self):
        return self.input.squared_norm()


def build(slug: str) -> nn.Module:
    """ModelConfig::tutorial(kind) for each kind."""
    return {
        "single_task": lambda: SingleTask(),
        "shared_bottom": lambda: SharedBottom(),
        "omoe": lambda: Moe(one_gate=True),
        "mmoe": lambda: Moe(one_gate=False),
        "cgc": lambda: Ple(levels=1),
        "ple": lambda: Ple(levels=2),
        "esmm": lambda: Esmm(),
    }[slug]()


def num_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


# --- training (train/trainer.rs, train/loss.rs) -----------------------------------------------


def task_loss(pred, labels: torch.Tensor) -> torch.Tensor:
    kind, x = pred
    if kind == "logit":
        return F.binary_cross_entropy_with_logits(x, labels)
    p = x.clamp(PROBABILITY_EPSILON, 1.0 - PROBABILITY_EPSILON)
    return F.binary_cross_entropy(p, labels)


def make_data(rows: int, esmm: bool, gen: torch.Generator):
    cat = torch.stack(
        [torch.randint(0, v, (rows,), generator=gen) for v in VOCAB_SIZES], dim=1)  # int64
    num = torch.rand(rows, N_NUMERIC, generator=gen)
    labels = (torch.rand(rows, N_TASKS, generator=gen) < 0.3).float()
    if esmm:  # CTCVR implies CTR
        labels[:, 1] *= labels[:, 0]
    return cat, num, labels


def make_optimizer(params, kind: str) -> torch.optim.Optimizer:
    common = dict(lr=1e-3, betas=(0.9, 0.999), eps=1e-7)
    if kind == "fused":
        return torch.optim.Adam(params, fused=True, **common)
    if kind == "foreach":
        return torch.optim.Adam(params, foreach=True, **common)
    return torch.optim.Adam(params, foreach=False, **common)


class Trainer:
    """One batch per step(), drawn from a per-epoch shuffle of data held in memory; each step
    also returns the detached per-task losses and per-gate mean weights, read back to Python,
    as the Rust trainer's step().read() does."""

    def __init__(self, slug, batch_size, rows, seed, optimizer):
        gen = torch.Generator().manual_seed(seed)
        torch.manual_seed(seed)
        self.model = build(slug)
        self.optim = make_optimizer(self.model.parameters(), optimizer)
        self.cat, self.num, self.labels = make_data(rows, slug == "esmm", gen)
        self.rows, self.batch_size, self.gen = rows, batch_size, gen
        self.order = torch.randperm(rows, generator=gen)
        self.cursor = 0
        self.loss_weights = [1.0] * N_TASKS

    def step(self):
        end = min(self.cursor + self.batch_size, self.rows)
        idx = self.order[self.cursor:end]
        cat, num, labels = self.cat[idx], self.num[idx], self.labels[idx]
        preds, gates = self.model(cat, num)
        total = self.model.embedding_penalty() * L2_EMBEDDING
        losses = []
        for t, pred in enumerate(preds):
            loss = task_loss(pred, labels[:, t:t + 1])
            total = total + loss * self.loss_weights[t]
            losses.append(loss.detach())
        gate_means = [g.detach().mean(0) for g in gates]
        self.optim.zero_grad(set_to_none=True)
        total.backward()
        self.optim.step()
        n = end - self.cursor
        self.cursor = end
        if self.cursor >= self.rows:
            self.cursor = 0
            self.order = torch.randperm(self.rows, generator=self.gen)
        report = (torch.stack(losses).tolist(), [g.tolist() for g in gate_means])
        return n, report


# --- CLI ---------------------------------------------------------------------------------------


def check_params() -> dict:
    counts, bad = {}, []
    for slug, expected in EXPECTED_PARAMS.items():
        counts[slug] = n = num_params(build(slug))
        if n != expected:
            bad.append(f"{LABELS[slug]} ({slug}): {n:,} parameters, Rust has {expected:,}")
    if bad:
        print("PARAMETER COUNT MISMATCH:\n  " + "\n  ".join(bad), file=sys.stderr)
        sys.exit(2)
    return counts


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--threads", type=int, default=1, help="torch.set_num_threads (default 1)")
    ap.add_argument("--models", default=",".join(EXPECTED_PARAMS),
                    help="comma-separated slugs: " + ",".join(EXPECTED_PARAMS))
    ap.add_argument("--steps", type=int, default=None,
                    help="timed steps per model (default: enough for --seconds)")
    ap.add_argument("--seconds", type=float, default=3.0,
                    help="target timed seconds per model when --steps is not given (default 3)")
    ap.add_argument("--warmup", type=int, default=20, help="untimed steps first (default 20)")
    ap.add_argument("--batch-size", type=int, default=256)
    ap.add_argument("--rows", type=int, default=TRAIN_ROWS, help="rows of random training data")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--optimizer", choices=["fused", "foreach", "loop"], default="fused",
                    help="torch Adam implementation (default fused, the fastest on CPU)")
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    torch.set_num_interop_threads(1)
    slugs = [s.strip() for s in args.models.split(",") if s.strip()]
    unknown = [s for s in slugs if s not in EXPECTED_PARAMS]
    if unknown:
        ap.error(f"unknown model(s) {unknown}; known: {','.join(EXPECTED_PARAMS)}")
    if args.threads < 1 or args.batch_size < 1 or args.warmup < 0 or args.rows < 1:
        ap.error("--threads, --batch-size, --rows must be >= 1 and --warmup >= 0")

    counts = check_params()
    for slug in slugs:
        trainer = Trainer(slug, args.batch_size, args.rows, args.seed, args.optimizer)
        for _ in range(args.warmup):
            trainer.step()
        steps = args.steps
        if steps is None:  # calibrate: time a few steps, then size the run to ~args.seconds
            t0, probe = time.perf_counter(), 0
            while probe < 5 or time.perf_counter() - t0 < 0.3:
                trainer.step()
                probe += 1
            per_step = (time.perf_counter() - t0) / probe
            steps = max(10, math.ceil(args.seconds / per_step))
        samples = 0
        t0 = time.perf_counter()
        for _ in range(steps):
            n, report = trainer.step()
            samples += n
        elapsed = time.perf_counter() - t0
        print(json.dumps({
            "model": slug,
            "label": LABELS[slug],
            "params": counts[slug],
            "samples_per_sec": round(samples / elapsed, 1),
            "ms_per_step": round(1e3 * elapsed / steps, 4),
            "threads": args.threads,
            "steps": steps,
            "warmup": args.warmup,
            "batch_size": args.batch_size,
            "seconds": round(elapsed, 3),
            "last_losses": [round(x, 5) for x in report[0]],
            "optimizer": args.optimizer,
            "torch": torch.__version__,
        }), flush=True)
    print(json.dumps({"event": "done", "torch": torch.__version__, "threads": args.threads,
                      "python": platform.python_version(), "machine": platform.machine()}),
          flush=True)


if __name__ == "__main__":
    main()
