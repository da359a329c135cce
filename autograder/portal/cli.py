"""`course portal`: serve the web app, run its grader, import the roster, print personal tokens."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from autograder.layout import Layout

portal_app = typer.Typer(no_args_is_help=True, help="The self-hosted submission portal (docs/portal.md).")
roster_app = typer.Typer(no_args_is_help=True, help="Accounts from the LMS roster.")
portal_app.add_typer(roster_app, name="roster")
console = Console()
err = Console(stderr=True)

DbOption = Annotated[
    Path | None,
    typer.Option("--db", help="the portal's SQLite file (default: COURSE_ROOT/portal/portal.sqlite)"),
]
ClusterOption = Annotated[
    str | None,
    typer.Option(help="grade on Dask: a scheduler (tcp://host:8786) or local:N (N worker processes)"),
]


def _layout() -> Layout:
    return Layout.discover()


def db_path(db: Path | None) -> Path:
    return (db or _layout().root / "portal" / "portal.sqlite").absolute()


@portal_app.command()
def serve(
    host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port to listen on")] = 8000,
    db: DbOption = None,
    jobs: Annotated[int, typer.Option("--jobs", help="gradings the grader runs at once")] = 1,
    grader: Annotated[bool, typer.Option(help="start the grader process beside the server")] = True,
    cluster: ClusterOption = None,
    insecure_cookies: Annotated[
        bool, typer.Option(help="session cookie without the Secure flag (plain http beyond localhost)")
    ] = False,
) -> None:
    """Serve the portal; its grader runs as a separate process that drains the queue."""
    import uvicorn

    from autograder.portal.app import create_app
    from autograder.sandbox.kill import die_with_parent

    path = db_path(db)
    app = create_app(_layout(), path, secure_cookies=not insecure_cookies)
    proc = None
    if grader:
        cmd = [
            sys.executable,
            "-m",
            "autograder.cli",
            "portal",
            "grader",
            "--db",
            str(path),
            "--jobs",
            str(jobs),
            *(["--cluster", cluster] if cluster else []),
        ]
        proc = subprocess.Popen(cmd, preexec_fn=die_with_parent)
    console.print(f"portal on http://{host}:{port}/ (database {path})")
    try:
        uvicorn.run(app, host=host, port=port, log_level="warning")
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait()


@portal_app.command("grader")
def grader_command(
    db: DbOption = None,
    jobs: Annotated[int, typer.Option("--jobs", help="gradings at once")] = 1,
    once: Annotated[bool, typer.Option("--once", help="grade what is queued, then stop")] = False,
    cluster: ClusterOption = None,
) -> None:
    """Drain the portal's grading queue (`serve` starts one; run it yourself with --no-grader).
    With --cluster, the Dask workers grade (as `course grade --cluster`) and --jobs is unused."""
    import signal
    import threading

    from rich.markup import escape

    from autograder.batch import BatchError
    from autograder.portal.grader import ClusterQueueGrader, QueueGrader

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    layout, path = _layout(), db_path(db)
    worker = ClusterQueueGrader(layout, path, cluster) if cluster else QueueGrader(layout, path, jobs)
    try:
        worker.run(until_empty=once, stop=stop)
    except BatchError as exc:  # the cluster cannot grade: what is recorded is kept, the rest queued again
        err.print(f"[bold red]error:[/] {escape(str(exc))}", soft_wrap=True, emoji=False)
        raise typer.Exit(2) from None
    finally:
        worker.close()


@roster_app.command("import")
def roster_import(
    roster: Annotated[
        Path, typer.Argument(help="CSV with student_id, name, email, section (and optionally role)")
    ],
    db: DbOption = None,
    url: Annotated[str, typer.Option(help="the portal's address, for the links")] = "http://127.0.0.1:8000",
) -> None:
    """Create (or update) an account per row and print each one's one-time sign-in link."""
    import csv

    from autograder.portal import store

    path = db_path(db)
    store.init(path)
    try:
        with open(roster, newline="", encoding="utf-8-sig") as fh:
            rows = list(csv.DictReader(fh))
    except OSError as exc:
        console.print(f"[red]error:[/] {exc}")
        raise typer.Exit(2) from None
    if not rows or "student_id" not in rows[0]:
        console.print(f"[red]error:[/] {roster}: needs the columns student_id, name, email, section")
        raise typer.Exit(2)
    with store.closing(path) as conn:
        for row in rows:
            sid = (row.get("student_id") or "").strip()
            if not sid:
                continue
            store.upsert_user(
                conn,
                sid,
                name=(row.get("name") or "").strip(),
                email=(row.get("email") or "").strip(),
                section=(row.get("section") or "").strip(),
                role=(row.get("role") or "").strip() or None,
            )
            link = store.new_secret(conn, sid, "link")
            print(f"{sid},{(row.get('email') or '').strip()},{url.rstrip('/')}/signin/{link}")


@portal_app.command()
def token(
    student_id: str,
    role: Annotated[
        str | None, typer.Option(help="student, ta or instructor (sets the account's role)")
    ] = None,
    db: DbOption = None,
) -> None:
    """Print a personal API token for STUDENT_ID (created if new); only its hash is kept."""
    from autograder.portal import store

    path = db_path(db)
    store.init(path)
    with store.closing(path) as conn:
        try:
            store.upsert_user(conn, student_id, role=role)
        except ValueError as exc:
            console.print(f"[red]error:[/] {exc}")
            raise typer.Exit(2) from None
        print(store.new_secret(conn, student_id, "token"))
