"""Module 10's graders run a class hub of their own.

The hub listens on a unix socket inside the student's scratch folder: the sandboxed worker has no
network, not even loopback, yet a socket file bound into its sandbox reaches it. The worker routes
huggingface_hub through it (a startup hook) and holds a token that writes only to the `student`
namespace. The trusted side reads pushed repos straight from the hub's store on disk.
"""

import tempfile
from pathlib import Path
from types import SimpleNamespace

import pytest

from autograder.hub import HubStore, running_hub

USER = "student"


@pytest.fixture(scope="session")
def hub(student):
    with (
        tempfile.TemporaryDirectory(prefix="course-hub-") as root,
        running_hub(store := HubStore(Path(root)), uds=student.scratch_path("hub.sock")) as socket,
    ):
        token = store.add_token(USER)
        # the next call starts a worker that reaches the hub through its socket
        student.restart(
            env={
                "COURSE_HUB_SOCKET": socket,
                "HF_ENDPOINT": "http://course-hub",
                "HF_TOKEN": token,
                "HF_HUB_DISABLE_XET": "1",
                "HF_HUB_OFFLINE": "0",
                "TRANSFORMERS_OFFLINE": "0",
                "HF_DATASETS_OFFLINE": "0",
            },
            startup=["autograder.hub.client:route_through_socket"],
        )
        yield SimpleNamespace(store=store, user=USER)
        student.restart()  # no client left talking to the hub when it stops
