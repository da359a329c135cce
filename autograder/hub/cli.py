"""`course hub serve` and `course hub token`: run the class hub and hand out tokens."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

hub_app = typer.Typer(add_completion=False, no_args_is_help=True, help=__doc__)
ROOT = Annotated[Path, typer.Option("--root", help="folder holding the hub's repos and tokens")]


@hub_app.command()
def serve(
    root: ROOT = Path("hub-data"),
    host: Annotated[
        str, typer.Option(help="address to listen on; loopback unless you mean to share")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option()] = 8808,
    uds: Annotated[str | None, typer.Option(help="listen on this unix socket instead of TCP")] = None,
) -> None:
    """Serve the hub. Clients set HF_ENDPOINT=http://HOST:PORT, HF_TOKEN and HF_HUB_DISABLE_XET=1."""
    from autograder.hub import serve as run

    where = uds or f"http://{host}:{port}"
    typer.echo(f"course hub on {where}, repos in {root.resolve()}")
    run(root, host=host, port=port, uds=uds)


@hub_app.command()
def token(
    users: Annotated[list[str], typer.Argument(help="user names (one namespace each)")],
    root: ROOT = Path("hub-data"),
    admin: Annotated[bool, typer.Option(help="may write to every namespace (instructors, graders)")] = False,
) -> None:
    """Create a token per user and print `user<TAB>token` lines to hand out."""
    from autograder.hub.store import HubStore

    store = HubStore(root)
    for user in users:
        typer.echo(f"{user}\t{store.add_token(user, admin=admin)}")
