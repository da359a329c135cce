"""Module 3 (fine-tuning): train the reference on several seeds and score the hidden test split the
way the grader does. Proves the 0.85 threshold's margin; never run by the test suite.

    .venv/bin/python benchmarks/bench_m03.py 1234 7 99

Prints, per seed: train() wall time (two epochs on 1,080 tweets, with its 4 evaluations), the
validation accuracy train() reports, the hidden-test accuracy, and the machine's load average
(shared cores slow training down several times).
"""

from __future__ import annotations

import importlib.util
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from autograder.assets import AssetStore  # noqa: E402
from autograder.layout import Layout  # noqa: E402

HIDDEN = ROOT / "assignments" / "m03-finetuning" / "hidden"


def _load(path: Path, name: str):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def bench(seed: int, store: AssetStore, work: Path) -> dict:
    lab = _load(ROOT / "reference" / "m03-finetuning" / "finetune_lab.py", "finetune_lab")
    grader = _load(HIDDEN / "test_finetuning.py", "bench_m03_grader")  # the grader's own scoring
    conftest = _load(HIDDEN / "conftest.py", "bench_m03_conftest")
    started = time.perf_counter()
    result = lab.train(str(store.path("minilm")), str(store.path("tweets")), str(work / "model"), seed)
    seconds = time.perf_counter() - started
    model, tokenizer = (
        grader.load_saved_model(work / "model"),
        grader.AutoTokenizer.from_pretrained(work / "model"),
    )
    rows = list(conftest.read_labelled(store.path("tweets-test") / "test.csv").values())
    predicted = grader._predict(model, tokenizer, [text for text, _ in rows])
    hidden = sum(p == y for p, (_, y) in zip(predicted, rows, strict=True)) / len(rows)
    return {
        "seed": seed,
        "train_s": round(seconds, 1),
        "val_acc": round(result["metrics"]["accuracy"], 4),
        "hidden_acc": round(hidden, 4),
        "threshold": grader.THRESHOLD,
        "load": round(os.getloadavg()[0], 1),
    }


if __name__ == "__main__":
    seeds = [int(s) for s in sys.argv[1:]] or [1234, 7, 99]
    layout = Layout(ROOT)
    store = AssetStore(layout.course, ROOT, layout.asset_cache)
    results = []
    for seed in seeds:
        with tempfile.TemporaryDirectory() as tmp:
            results.append(bench(seed, store, Path(tmp)))
        Console().print(results[-1])
    table = Table(*results[0], title="m03-finetuning: reference train() and the hidden test split")
    for row in results:
        table.add_row(*(str(row[col]) for col in results[0]))
    Console().print(table)
    Console().print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")
