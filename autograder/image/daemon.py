"""A Docker daemon to build and run the course image: the one DOCKER_HOST names, the system's, or a
private `dockerd` of our own.

The private daemon has its own socket, data root, exec root and pid file, and touches none of the
host's networking (no bridge, no iptables, no ip_forward): containers run with `--network none`,
builds with `--network host`. Its data root persists under the cache folder, so built images and
layers survive between runs. It needs root (dockerd does).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

SYSTEM_SOCKET = Path("/var/run/docker.sock")


class DockerUnavailable(Exception):
    """No daemon can be reached or started here; the message says why."""


def cache_dir() -> Path:
    """Where the base image tar, build contexts and the private daemon live ($COURSE_IMAGE_CACHE)."""
    default = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "course-image"
    return Path(os.environ.get("COURSE_IMAGE_CACHE", default)).absolute()


def reachable(host: str | None) -> bool:
    """A daemon answers at `host` (None: whatever the docker client picks by itself)."""
    if not shutil.which("docker"):
        return False
    env = {**os.environ, **({"DOCKER_HOST": host} if host else {})}
    try:
        done = subprocess.run(
            ["docker", "version", "--format", "{{.Server.Version}}"],
            env=env,
            capture_output=True,
            timeout=15,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return False
    return done.returncode == 0


@dataclass(frozen=True)
class PrivateDaemon:
    home: Path

    @property
    def host(self) -> str:
        return f"unix://{self.home / 'docker.sock'}"

    @property
    def pidfile(self) -> Path:
        return self.home / "dockerd.pid"

    @property
    def log(self) -> Path:
        return self.home / "dockerd.log"

    def pid(self) -> int | None:
        try:
            pid = int(self.pidfile.read_text().strip())
            os.kill(pid, 0)
        except (OSError, ValueError):
            return None
        return pid

    def start(self, timeout: float = 60.0) -> float:
        """Start dockerd unless it runs already; returns the seconds it took to answer."""
        if self.pid() and reachable(self.host):
            return 0.0
        if os.geteuid() != 0:
            raise DockerUnavailable("starting a private Docker daemon needs root (dockerd does)")
        if not shutil.which("dockerd"):
            raise DockerUnavailable(
                "dockerd is not installed: run scripts/install-docker.sh as root (apt-get install docker.io)"
            )
        self.home.mkdir(parents=True, exist_ok=True)
        self.pidfile.unlink(missing_ok=True)  # a stale one from a killed daemon refuses the start
        started = time.monotonic()
        with open(self.log, "ab") as log:
            subprocess.Popen(
                [
                    "dockerd",
                    "--data-root",
                    str(self.home / "root"),
                    "--exec-root",
                    str(self.home / "exec"),
                    "-H",
                    self.host,
                    "--pidfile",
                    str(self.pidfile),
                    "--iptables=false",
                    "--ip-forward=false",
                    "--bridge=none",
                ],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # outlives this command: later `course image` calls reuse it
            )
        while time.monotonic() - started < timeout:
            if reachable(self.host):
                return time.monotonic() - started
            time.sleep(0.3)
        tail = self.log.read_text(errors="replace").splitlines()[-5:]
        raise DockerUnavailable(f"dockerd did not answer in {timeout:.0f} s: " + " | ".join(tail))

    def stop(self, timeout: float = 30.0) -> None:
        """SIGTERM the daemon, wait for it, and unmount the network namespace it leaves mounted."""
        if pid := self.pid():
            os.kill(pid, signal.SIGTERM)
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline and self.pid():
                time.sleep(0.2)
            if self.pid():
                os.kill(pid, signal.SIGKILL)
        netns = self.home / "exec" / "netns" / "default"
        if os.path.ismount(netns):
            subprocess.run(["umount", str(netns)], check=False, capture_output=True)


def connect(start: bool = True) -> tuple[str, PrivateDaemon | None]:
    """DOCKER_HOST if it answers, else the system daemon, else our private one (started if asked).

    Returns the host to put in DOCKER_HOST, and the private daemon when this call started it (its
    caller may stop it; one somebody else started is theirs to stop).
    """
    if host := os.environ.get("DOCKER_HOST"):
        if reachable(host):
            return host, None
        raise DockerUnavailable(f"DOCKER_HOST={host} does not answer (unset it to use a private daemon)")
    if SYSTEM_SOCKET.exists() and reachable(f"unix://{SYSTEM_SOCKET}"):
        return f"unix://{SYSTEM_SOCKET}", None
    daemon = PrivateDaemon(cache_dir() / "docker")
    if daemon.pid() and reachable(daemon.host):
        return daemon.host, None
    if not start:
        raise DockerUnavailable("no Docker daemon is running (`course image build` starts a private one)")
    daemon.start()
    return daemon.host, daemon
