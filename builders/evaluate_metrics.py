"""evaluate's module cache, baked: `evaluate.load("accuracy")` (and precision, recall, f1, seqeval,
squad, exact_match, sacrebleu) works offline, from the same student code that online fetches the
canonical scripts from the Hub.

Offline, evaluate falls back to the newest cached copy of a canonical module, which it looks for in
HF_MODULES_CACHE/evaluate_modules/metrics/evaluate-metric--NAME/<64 hex digits>/NAME.py, a package
at every level. This builder writes the metric scripts of builders/evaluate_metrics/ there (the test
loads every one through evaluate itself). It never imports evaluate: a grading process that builds
the asset must still read the asset's env (HF_MODULES_CACHE) when its reference imports evaluate.
The asset's `env` in course.yaml points HF_MODULES_CACHE at it and turns HF_EVALUATE_OFFLINE on in
the worker and for the reference; the folder is only read.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

SCRIPTS = Path(__file__).with_name("evaluate_metrics")
METRICS = sorted(p.stem for p in SCRIPTS.glob("*.py"))
# The asset's build key hashes this file, not the scripts: pinning their hash here makes an edited
# script a new key (a rebuild). tests/framework/test_evaluate_metrics.py says when to update it.
SCRIPTS_SHA256 = "1911a3b1807b74bfc10bc07bfcb6a8b09200b2852f8ca12764bde9237be760f1"


def scripts_sha256() -> str:
    digest = hashlib.sha256()
    for name in METRICS:
        digest.update(f"{name}\0".encode() + (SCRIPTS / f"{name}.py").read_bytes() + b"\0")
    return digest.hexdigest()


def build(out: Path, needs: dict[str, Path]) -> None:
    if scripts_sha256() != SCRIPTS_SHA256:
        raise RuntimeError(f"builders/evaluate_metrics/ changed: set SCRIPTS_SHA256 = {scripts_sha256()!r}")
    metrics = out / "evaluate_modules" / "metrics"  # evaluate.config.MODULE_NAME_FOR_DYNAMIC_MODULES
    for name in METRICS:
        source = (SCRIPTS / f"{name}.py").read_bytes()
        version = metrics / f"evaluate-metric--{name}" / hashlib.sha256(source).hexdigest()
        version.mkdir(parents=True)
        (version / f"{name}.py").write_bytes(source)
    for package in (out, *(p for p in out.rglob("*") if p.is_dir())):
        (package / "__init__.py").touch()
