"""`course hub`: a small Hugging Face Hub for a class, and for grading pushes offline.

It speaks the part of the Hub HTTP API that `huggingface_hub` (and so `push_to_hub`,
`from_pretrained(revision=...)`, `snapshot_download`, datasets' `push_to_hub`) uses, stores repos
on disk, and gives each student a token that writes only to their own namespace. Point a client at
it with `HF_ENDPOINT=http://127.0.0.1:8808 HF_TOKEN=<token> HF_HUB_DISABLE_XET=1`.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from autograder.hub.store import HubError, HubStore, RepoId

if TYPE_CHECKING:
    import uvicorn

__all__ = ["HubError", "HubStore", "RepoId", "serve", "running_hub"]


def _server(store: HubStore, **where: Any) -> uvicorn.Server:
    import uvicorn

    from autograder.hub.app import create_app

    config = uvicorn.Config(create_app(store), log_level="warning", access_log=False, **where)
    return uvicorn.Server(config)


def serve(root: Path, host: str = "127.0.0.1", port: int = 8808, uds: str | None = None) -> None:
    """Run the hub in the foreground until interrupted."""
    where = {"uds": uds} if uds else {"host": host, "port": port}
    _server(HubStore(root), **where).run()


@contextlib.contextmanager
def running_hub(store: HubStore, uds: Path | None = None, port: int = 0) -> Iterator[str]:
    """Serve `store` from a background thread (on a unix socket, or loopback) while the block runs.

    Yields the socket path, or the http://127.0.0.1:PORT endpoint.
    """
    where = {"uds": str(uds)} if uds else {"host": "127.0.0.1", "port": port}
    server = _server(store, **where)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the course hub did not start")
        time.sleep(0.02)
    try:
        if uds:
            yield str(uds)
        else:
            yield f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
