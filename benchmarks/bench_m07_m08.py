"""Modules 7 (NER) and 8 (extractive QA): train the reference on several seeds and score the
hidden split the way the graders do. Proves the thresholds' margin; never run by the test suite.

    .venv/bin/python benchmarks/bench_m07_m08.py ner 1234 7 99
    .venv/bin/python benchmarks/bench_m07_m08.py qa 1234 7 99
"""

from __future__ import annotations

import importlib.util
import json
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


def _load(path: Path, name: str):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _module(module: str, lab: str, grader: str) -> tuple:
    """The reference lab, the grader's own scoring functions (so the benchmark measures exactly what
    is graded) and the hidden split."""
    hidden = ROOT / "assignments" / module / "hidden"
    sys.path.insert(0, str(hidden))
    rows = [json.loads(line) for line in (hidden / "data" / "test.jsonl").read_text().splitlines()]
    return _load(ROOT / "reference" / module / lab, lab[:-3]), _load(hidden / grader, f"bench_{module}"), rows


def bench_ner(seed: int, store: AssetStore, work: Path) -> dict:
    lab, grader, rows = _module("m07-ner", "ner_lab.py", "test_ner.py")
    started = time.perf_counter()
    val = lab.train_ner(
        str(store.path("ner-data")), str(store.path("minilm")), str(work / "model"), seed=seed
    )
    seconds = time.perf_counter() - started
    f1 = grader.hidden_f1(work / "model", rows, store.path("minilm"))
    return {
        "seed": seed,
        "train_s": round(seconds, 1),
        "val_f1": round(val["eval_f1"], 4),
        "hidden": round(f1, 4),
        "threshold": grader.F1_THRESHOLD,
    }


def bench_qa(seed: int, store: AssetStore, work: Path) -> dict:
    lab, grader, rows = _module("m08-qa", "qa_lab.py", "test_qa.py")
    started = time.perf_counter()
    info = lab.train_qa(str(store.path("qa-data")), str(store.path("minilm")), str(work / "model"), seed=seed)
    seconds = time.perf_counter() - started
    em, f1 = grader.hidden_scores(work / "model", rows, store.path("minilm"), lab.best_span)
    return {
        "seed": seed,
        "train_s": round(seconds, 1),
        "windows": info["train_windows"],
        "hidden_em": round(100 * em, 2),
        "hidden_f1": round(100 * f1, 2),
        "threshold": 100 * grader.EM_THRESHOLD,
    }


BENCHES = {"ner": bench_ner, "qa": bench_qa}

if __name__ == "__main__":
    task, seeds = sys.argv[1], [int(s) for s in sys.argv[2:]] or [1234]
    layout = Layout(ROOT)
    store = AssetStore(layout.course, ROOT, layout.asset_cache)
    table = Table(title=f"{task}: reference on the hidden split")
    results = []
    for seed in seeds:
        with tempfile.TemporaryDirectory() as tmp:
            results.append(BENCHES[task](seed, store, Path(tmp)))
        Console().print(results[-1])
    for col in results[0]:
        table.add_column(col)
    for row in results:
        table.add_row(*map(str, row.values()))
    Console().print(table)
    Console().print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")
