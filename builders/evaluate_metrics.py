"""evaluate's module cache, baked: `evaluate.load("accuracy")` (and precision, recall, f1, seqeval,
squad, exact_match, sacrebleu) works offline, from the same student code that online fetches the
canonical scripts from the Hub.

Offline, evaluate falls back to the newest cached copy of a canonical module, which it looks for in
HF_MODULES_CACHE/evaluate_modules/metrics/evaluate-metric--NAME/HASH/NAME.py. This builder lays the
metric scripts of builders/evaluate_metrics/ out there with evaluate's own function, so the layout
is evaluate's. The asset's `env` in course.yaml points HF_MODULES_CACHE at it and turns
HF_EVALUATE_OFFLINE on in the worker; the folder is only read.
"""

from __future__ import annotations

import hashlib
import json
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
    from evaluate.loading import DownloadMode, _create_importable_file

    if scripts_sha256() != SCRIPTS_SHA256:
        raise RuntimeError(f"builders/evaluate_metrics/ changed: set SCRIPTS_SHA256 = {scripts_sha256()!r}")
    dynamic = out / "evaluate_modules"  # evaluate.config.MODULE_NAME_FOR_DYNAMIC_MODULES
    dynamic.mkdir(parents=True)
    for package in (out, dynamic):
        (package / "__init__.py").touch()
    for name in METRICS:
        _create_importable_file(
            local_path=str(SCRIPTS / f"{name}.py"),
            local_imports=[],
            additional_files=[],
            dynamic_modules_path=str(dynamic),
            module_namespace="metrics",
            name=f"evaluate-metric/{name}",
            download_mode=DownloadMode.REUSE_DATASET_IF_EXISTS,
        )
    # Same bytes on every machine: no lock files, and the metadata names the script by its name only.
    for lock in out.rglob("*.lock"):
        lock.unlink()
    for meta in (dynamic / "metrics").glob("*/*/*.json"):
        meta.write_text(json.dumps({"original file path": f"builders/evaluate_metrics/{meta.stem}.py"}))
