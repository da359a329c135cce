"""What the course image costs: build time cold and warm, its size, and a container grading against a
host grading of the same submission.

    .venv/bin/python benchmarks/bench_image.py [--module m01-tokenizers] [--cold]

Cold: the daemon has neither the base image nor the course image (both removed first; the base
tar and the wheelhouse under ~/.cache/course-image stay unless --cold, which deletes them too, as
on a fresh machine). Warm: the same build again, nothing changed (docker's layer cache). Then
module 1's reference is graded once in a container and once with `course grade` here, in the same
run: the ratio is what a container adds per submission (container start, a fresh Python and model
load inside it). The load average is printed: shared cores skew every figure.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from autograder.image.base import base_tar, default_tag  # noqa: E402
from autograder.image.daemon import cache_dir, connect  # noqa: E402
from autograder.image.docker import Docker, DockerError  # noqa: E402

console = Console()
TAG = "course-bench:latest"


def course(*args: str, env: dict[str, str]) -> float:
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "autograder.cli", *args], cwd=ROOT, env=env, check=False)
    if done.returncode != 0:
        raise SystemExit(f"course {' '.join(args)} failed (exit {done.returncode})")
    return time.monotonic() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--module", default="m01-tokenizers")
    parser.add_argument("--cold", action="store_true", help="also delete the cached base tar and wheelhouse")
    args = parser.parse_args()
    host, _ = connect()
    docker = Docker(host)
    env = {**os.environ, "DOCKER_HOST": host}
    for image in (TAG, default_tag()):
        try:
            docker.run("rmi", "-f", image)
        except DockerError:
            pass
    docker.run("image", "prune", "-f")
    docker.run("builder", "prune", "-f")
    if args.cold:
        base_tar(cache_dir()).unlink(missing_ok=True)
        shutil.rmtree(cache_dir() / "wheels", ignore_errors=True)
    build = ["image", "build", "--module", args.module, "--tag", TAG]
    cold = course(*build, env=env)
    warm = course(*build, env=env)
    size = docker.image_size(TAG)

    from autograder.layout import Layout

    layout = Layout(ROOT)
    with tempfile.TemporaryDirectory() as tmp:
        sub = Path(tmp) / "sub"
        sub.mkdir()
        for name in layout.course.module(args.module).files:
            shutil.copy(layout.reference_dir(args.module) / name, sub / name)
        in_container = course(
            "image", "grade", args.module, str(sub), "--out", f"{tmp}/c", "--image", TAG, "--quiet", env=env
        )
        on_host = course("grade", args.module, str(sub), "--out", f"{tmp}/h", "--quiet", env=env)

    table = Table(
        title=f"course image, {args.module} (load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)"
    )
    table.add_column("measure")
    table.add_column("value", justify="right")
    table.add_row(
        f"build, cold ({'fresh machine' if args.cold else 'base tar and wheelhouse cached'})", f"{cold:.0f} s"
    )
    table.add_row("build, warm (nothing changed)", f"{warm:.1f} s")
    table.add_row("image size", f"{size / 1e9:.2f} GB")
    table.add_row("reference graded in a container", f"{in_container:.1f} s")
    table.add_row("reference graded on the host", f"{on_host:.1f} s")
    table.add_row("container / host", f"{in_container / on_host:.2f}x")
    console.print(table)


if __name__ == "__main__":
    main()
