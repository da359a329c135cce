"""Module 9 (seq2seq): train the reference date T5 on several seeds and score the 400 hidden dates
the way the grader does (greedy decoding of the saved model). Proves the threshold's margin;
never run by the test suite.

    .venv/bin/python benchmarks/bench_m09.py 1234 7 99

Prints, per seed: train() wall time (3 epochs on 20,000 pairs plus one generating evaluation), the
eval_exact_match train() reports on valid.jsonl, the hidden exact match, and the load average
(shared cores slow training down many times).
"""

from __future__ import annotations

import importlib.util
import json
import os
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

MODULE = "m09-seq2seq"


def _load(path: Path, name: str):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def bench(seed: int, store: AssetStore, work: Path) -> dict:
    from transformers import AutoTokenizer

    lab = _load(ROOT / "reference" / MODULE / "seq2seq_lab.py", "seq2seq_lab")
    graders = _load(ROOT / "assignments" / MODULE / "hidden" / "test_seq2seq.py", "m09_graders")
    tokenizer = AutoTokenizer.from_pretrained(store.path("dates-tokenizer"))
    out = work / f"seed-{seed}"
    started = time.perf_counter()
    metrics = lab.train(tokenizer, str(store.path("dates")), str(out), seed)
    seconds = time.perf_counter() - started
    hidden = [
        json.loads(line)
        for line in (ROOT / "assignments" / MODULE / "hidden" / "data" / "test.jsonl")
        .read_text()
        .splitlines()
    ]
    return {
        "seed": seed,
        "train_s": seconds,
        "valid_em": metrics["eval_exact_match"],
        "hidden_em": graders.trusted_exact_match(out, tokenizer, hidden),
        "load": os.getloadavg()[0],
    }


def main() -> None:
    seeds = [int(s) for s in sys.argv[1:]] or [1234, 7, 99]
    layout = Layout.discover(ROOT)
    store = AssetStore(layout.course, layout.root, layout.asset_cache)
    threshold = _load(ROOT / "assignments" / MODULE / "hidden" / "test_seq2seq.py", "m09_threshold").THRESHOLD
    table = Table(title=f"{MODULE}: reference train() per seed (threshold {threshold})")
    for col in ("seed", "train s", "valid EM (reported)", "hidden EM (grader)", "load avg"):
        table.add_column(col, justify="right")
    with tempfile.TemporaryDirectory() as tmp:
        for seed in seeds:
            r = bench(seed, store, Path(tmp))
            table.add_row(
                str(seed),
                f"{r['train_s']:.0f}",
                f"{r['valid_em']:.3f}",
                f"{r['hidden_em']:.3f}",
                f"{r['load']:.1f}",
            )
            Console().print(r)
    Console().print(table)


if __name__ == "__main__":
    main()
