"""The portal under a class's deadline rush: 200 students upload within a minute, on loopback.

    .venv/bin/python benchmarks/bench_portal.py [--students 200] [--spread 60] [--grader]

Starts `course portal serve` (one uvicorn process; with --grader its grader too, which then competes
for the same cores) on the tests' mini course, then each simulated student, at a moment spread
evenly over `--spread` seconds, signs in by link and walks a bounded path: the modules page, an
upload through the JSON API, its submission page, its history page and its API status. Reports
latency percentiles per kind of request (the pages' p99 is the figure to watch: under 1 s is the
goal, reported, not asserted), and checks that no upload is lost: every 201 is a queued job in the
database, one per student. The load average is printed: shared cores skew every figure.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from autograder.portal import store  # noqa: E402
from tests.conftest import MINI_GOOD, write_mini_course  # noqa: E402

TIMES: dict[str, list[float]] = {}
LOCK = threading.Lock()


def timed(kind: str, call, *args, **kwargs) -> httpx.Response:
    start = time.perf_counter()
    response = call(*args, **kwargs)
    with LOCK:
        TIMES.setdefault(kind, []).append(time.perf_counter() - start)
    return response


def student(url: str, sid: str, link: str, token: str, at: float) -> int | None:
    """One student's path; the id of the upload the portal accepted (None if refused)."""
    time.sleep(max(0.0, at - time.monotonic()))
    with httpx.Client(base_url=url, timeout=60) as browser:
        timed(
            "page: sign in", browser.get, f"/signin/{link}"
        )  # sets the cookie; the redirect is not followed
        timed("page: modules", browser.get, "/")
        answer = timed(
            "api: upload",
            browser.post,
            "/api/submissions",
            headers={"Authorization": f"Bearer {token}"},
            data={"module": "mini"},
            files={"file": ("mini.py", MINI_GOOD.encode(), "text/x-python")},
        )
        if answer.status_code != 201:
            return None
        job = answer.json()["id"]
        timed("page: submission", browser.get, f"/submissions/{job}")
        timed("page: history", browser.get, "/history")
        timed(
            "api: status",
            browser.get,
            f"/api/submissions/{job}",
            headers={"Authorization": f"Bearer {token}"},
        )
        return job


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--students", type=int, default=200)
    parser.add_argument("--spread", type=float, default=60.0, help="seconds over which the uploads start")
    parser.add_argument("--grader", action="store_true", help="grade while uploading (same cores)")
    args = parser.parse_args()
    console = Console()
    with tempfile.TemporaryDirectory(prefix="bench-portal-") as tmp:
        layout = write_mini_course(Path(tmp) / "course")
        db = Path(tmp) / "portal" / "portal.sqlite"
        store.init(db)
        ids = [f"s{n:03d}" for n in range(args.students)]
        with store.closing(db) as conn:
            for sid in ids:
                store.upsert_user(conn, sid)
            secrets = {
                sid: (store.new_secret(conn, sid, "link"), store.new_secret(conn, sid, "token"))
                for sid in ids
            }
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        cmd = [
            sys.executable,
            "-m",
            "autograder.cli",
            "portal",
            "serve",
            "--port",
            str(port),
            "--db",
            str(db),
        ]
        server = subprocess.Popen(
            [
                *cmd,
                *([] if args.grader else ["--no-grader"]),
                "--insecure-cookies",
            ],  # plain http: no Secure flag
            env={**os.environ, "COURSE_ROOT": str(layout.root)},
            start_new_session=True,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            for _ in range(300):
                try:
                    httpx.get(url, timeout=2)
                    break
                except httpx.HTTPError:
                    time.sleep(0.1)
            start = time.monotonic()
            at = [start + args.spread * n / max(1, args.students - 1) for n in range(args.students)]
            with ThreadPoolExecutor(max_workers=64) as pool:
                accepted = list(
                    pool.map(lambda n: student(url, ids[n], *secrets[ids[n]], at[n]), range(args.students))
                )
            wall = time.monotonic() - start
        finally:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait()
        with store.closing(db) as conn:
            queued = {j.id: j.student for j in store.jobs(conn)}
    table = Table(title=f"{args.students} students over {args.spread:g} s ({wall:.1f} s wall)")
    for col in ("request", "n", "p50 ms", "p95 ms", "p99 ms", "max ms"):
        table.add_column(col, justify="right" if col != "request" else "left")
    pages: list[float] = []
    for kind, values in sorted(TIMES.items()):
        if kind.startswith("page"):
            pages += values
        table.add_row(
            kind,
            str(len(values)),
            *(
                f"{1000 * v:.0f}"
                for v in (pct(values, 0.5), pct(values, 0.95), pct(values, 0.99), max(values))
            ),
        )
    table.add_row(
        "all pages",
        str(len(pages)),
        *(f"{1000 * v:.0f}" for v in (pct(pages, 0.5), pct(pages, 0.95), pct(pages, 0.99), max(pages))),
    )
    console.print(table)
    lost = [n for n, job in enumerate(accepted) if job is None or queued.get(job) != ids[n]]
    console.print(
        f"uploads accepted: {sum(j is not None for j in accepted)}/{args.students}; jobs in the database: "
        f"{len(queued)}; lost or mismatched: {len(lost)}; pages p99 {1000 * pct(pages, 0.99):.0f} ms "
        f"(goal < 1000 ms), mean {1000 * statistics.mean(pages):.0f} ms; "
        f"load average {os.getloadavg()[0]:.1f}"
    )
    if lost:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
