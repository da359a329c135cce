"""The docker command line, pointed at one daemon. The CLI is the interface every Docker install has."""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass
from typing import Any


class DockerError(Exception):
    """A docker command failed; the message carries its last lines."""


@dataclass(frozen=True)
class Docker:
    host: str

    @property
    def env(self) -> dict[str, str]:
        return {**os.environ, "DOCKER_HOST": self.host, "DOCKER_BUILDKIT": "0"}

    def run(self, *args: str, timeout: float | None = None, quiet: bool = True) -> str:
        """Run `docker ARGS`; its output, or DockerError with the tail of what it said."""
        done = subprocess.run(
            ["docker", *args],
            env=self.env,
            stdin=subprocess.DEVNULL,
            capture_output=quiet,
            text=True,
            timeout=timeout,
            check=False,
        )
        if done.returncode != 0:
            tail = "\n".join((done.stderr or done.stdout or "").strip().splitlines()[-8:])
            raise DockerError(f"docker {args[0]} failed (exit {done.returncode}): {tail}")
        return done.stdout or ""

    def exists(self, image: str) -> bool:
        try:
            self.run("image", "inspect", image)
        except DockerError:
            return False
        return True

    def inspect(self, name: str) -> dict[str, Any]:
        """`docker inspect`'s record of a container or image (arbitrary JSON)."""
        info: dict[str, Any] = json.loads(self.run("inspect", name))[0]
        return info

    def image_size(self, image: str) -> int:
        return int(self.run("image", "inspect", "--format", "{{.Size}}", image).strip())
