"""Reads `mtl train --json` final lines on stdin and prints the mean test AUC per model and task."""
import collections
import json
import sys

runs = collections.defaultdict(list)
for line in sys.stdin:
    record = json.loads(line)
    if record.get("event") == "final":
        runs[record["model"]].append(record)
print(f"{'model':<14} {'task':<14} {'mean AUC':>9}  per seed (epochs)")
for model, records in runs.items():
    for task in records[0]["test"]:
        aucs = [r["test"][task]["auc"] for r in records]
        per_seed = ", ".join(f"{a:.4f} ({r['epochs']})" for a, r in zip(aucs, records))
        print(f"{model:<14} {task:<14} {sum(aucs) / len(aucs):>9.4f}  {per_seed}")
