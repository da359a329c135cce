""" "What does this code print?": the answer is whatever the snippet prints, never typed by hand.

Each snippet runs in a fresh interpreter of this venv, offline, in an empty folder, with a timeout,
and with the folders of the assets it names injected as upper-case variables (minilm -> MINILM).
Outputs are cached under the asset cache, keyed by the snippet, the assets' content hashes and the
library versions, so a build only re-runs what changed and `course validate` can re-run everything
to prove the answers reproduce.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from importlib import metadata
from pathlib import Path

from autograder.assets import AssetStore
from autograder.layout import Layout
from autograder.quiz.bank import Code
from autograder.yamlconf import ConfigError

LIBRARIES = ("transformers", "tokenizers", "torch")


class SnippetError(ConfigError):
    """A code question's snippet failed or timed out: the quiz cannot be built."""


def asset_variable(name: str) -> str:
    return name.upper().replace("-", "_")


def run_snippet(code: str, assets: dict[str, str], timeout: float) -> str:
    """Run `code` in a fresh offline interpreter; return its stdout with trailing whitespace removed."""
    prelude = "".join(f"{asset_variable(n)} = {p!r}\n" for n, p in sorted(assets.items()))
    env = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "HF_DATASETS_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "TOKENIZERS_PARALLELISM": "false",
        "OMP_NUM_THREADS": "1",
        "PYTHONHASHSEED": "0",
        "TRANSFORMERS_VERBOSITY": "error",
    }
    with tempfile.TemporaryDirectory(prefix="quiz-snippet-") as tmp:
        try:
            proc = subprocess.run(
                [sys.executable, "-c", prelude + code],
                cwd=tmp,
                env=env,
                capture_output=True,
                text=True,
                timeout=timeout,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise SnippetError(f"timed out after {timeout:g} s") from None
    if proc.returncode != 0:
        tail = "\n".join(proc.stderr.strip().splitlines()[-6:])
        raise SnippetError(f"exited with status {proc.returncode}:\n{tail}")
    return proc.stdout.rstrip()


class CodeRunner:
    """Computes (and caches) the outputs of a bank's code questions."""

    def __init__(self, store: AssetStore, cache: Path, workers: int = 2) -> None:
        self.store = store
        self.cache = cache
        self.workers = workers

    @classmethod
    def for_layout(cls, layout: Layout) -> CodeRunner:
        return cls(
            AssetStore(layout.course, layout.root, layout.asset_cache), layout.asset_cache / "quiz-outputs"
        )

    def key(self, q: Code) -> str:
        digest = hashlib.sha256(q.code.encode())
        for name in sorted(q.assets):
            digest.update(f"\0{name}={self.store.resolve(name).content_hash}".encode())
        for lib in LIBRARIES:
            digest.update(f"\0{lib}={_version(lib)}".encode())
        digest.update(f"\0python={sys.version_info[:3]}".encode())
        return digest.hexdigest()[:24]

    def cached(self, q: Code) -> str | None:
        path = self.cache / f"{self.key(q)}.json"
        return json.loads(path.read_text())["output"] if path.is_file() else None

    def run(self, q: Code) -> str:
        """Run one snippet now, ignoring the cache, and store what it printed."""
        started = time.perf_counter()
        try:
            output = run_snippet(q.code, self.store.paths(q.assets), q.timeout)
        except SnippetError as exc:
            raise SnippetError(f"code question {q.id!r}: the snippet {exc}") from None
        self.cache.mkdir(parents=True, exist_ok=True)
        path = self.cache / f"{self.key(q)}.json"
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(
            json.dumps(
                {
                    "question": q.id,
                    "output": output,
                    "code": q.code,
                    "seconds": round(time.perf_counter() - started, 2),
                },
                indent=1,
            )
        )
        os.replace(tmp, path)
        return output

    def outputs(self, questions: list[Code], fresh: bool = False) -> dict[str, str]:
        """Outputs by question id: from the cache, running (in parallel) only the missing ones,
        or every one when `fresh`."""
        done = {} if fresh else {q.id: out for q in questions if (out := self.cached(q)) is not None}
        todo = [q for q in questions if q.id not in done]
        with ThreadPoolExecutor(max_workers=self.workers) as pool:
            done.update(zip((q.id for q in todo), pool.map(self.run, todo), strict=True))
        return done


def _version(lib: str) -> str:
    try:
        return metadata.version(lib)
    except metadata.PackageNotFoundError:
        return "absent"
