"""The class hub against the real huggingface_hub client (and transformers, datasets on top of it).

Each client call runs in a subprocess: huggingface_hub reads HF_ENDPOINT once, at import.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from autograder.hub import HubStore, RepoId, running_hub


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    store = HubStore(tmp_path_factory.mktemp("hub"))
    tokens = {"alice": store.add_token("alice"), "bob": store.add_token("bob")}
    with running_hub(store) as endpoint:
        yield store, endpoint, tokens


def client(hub, user: str, code: str, tmp_path: Path, socket: str | None = None) -> dict:
    """Run `code` as `user` against the hub; it must print one JSON line as its last output."""
    _, endpoint, tokens = hub
    env = {
        **os.environ,
        "HF_ENDPOINT": endpoint,
        "HF_TOKEN": tokens[user],
        "HF_HUB_DISABLE_XET": "1",
        "HF_HUB_OFFLINE": "0",
        "HF_HOME": str(tmp_path / f"hf-{user}"),
        "HF_DATASETS_OFFLINE": "0",
    }
    prelude = (
        f"from autograder.hub.client import route_through_socket; route_through_socket({socket!r})\n"
        if socket
        else ""
    )
    proc = subprocess.run(
        [sys.executable, "-c", prelude + textwrap.dedent(code)],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


TINY_BERT = """
import json, torch
from transformers import BertConfig, BertModel
torch.manual_seed({seed})
model = BertModel(BertConfig(vocab_size=50, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                             intermediate_size=32))
"""


def test_push_tag_push_then_load_the_tagged_weights(hub, tmp_path):
    """push, tag v1.0, push again: from_pretrained(revision="v1.0") returns the first weights."""
    out = client(
        hub,
        "alice",
        TINY_BERT.format(seed=1)
        + """
from huggingface_hub import HfApi
api = HfApi()
url = model.push_to_hub("tiny")
first = model.embeddings.word_embeddings.weight.sum().item()
api.create_tag("alice/tiny", tag="v1.0")
torch.manual_seed(2)
model.embeddings.word_embeddings.weight.data.normal_()
model.push_to_hub("alice/tiny", commit_message="second")
second = model.embeddings.word_embeddings.weight.sum().item()
old = BertModel.from_pretrained("alice/tiny", revision="v1.0").embeddings.word_embeddings.weight.sum().item()
new = BertModel.from_pretrained("alice/tiny").embeddings.word_embeddings.weight.sum().item()
refs = api.list_repo_refs("alice/tiny")
files = sorted(f.path for f in api.list_repo_tree("alice/tiny", recursive=True))
print(json.dumps({"first": first, "second": second, "old": old, "new": new, "url": str(url),
                  "tags": [t.name for t in refs.tags], "files": files,
                  "commits": [c.title for c in api.list_repo_commits("alice/tiny")]}))
""",
        tmp_path,
    )
    assert out["old"] == pytest.approx(out["first"]) and out["new"] == pytest.approx(out["second"])
    assert out["first"] != pytest.approx(out["second"])
    assert out["tags"] == ["v1.0"]
    assert {"config.json", "model.safetensors", ".gitattributes"} <= set(out["files"])
    assert out["commits"][0] == "second" and out["commits"][-1] == "initial commit"
    store = hub[0]
    entry = store.get_commit(RepoId("model", "alice", "tiny"), "v1.0")["files"]["model.safetensors"]
    assert entry["lfs"], "safetensors weights go through LFS"


def test_a_student_cannot_write_to_another_namespace(hub, tmp_path):
    """bob's token cannot create or push in alice's namespace; reading is allowed."""
    out = client(
        hub,
        "bob",
        """
import json
from huggingface_hub import HfApi, upload_file
from huggingface_hub.errors import HfHubHTTPError
api, codes = HfApi(), []
for call in (lambda: api.create_repo("alice/stolen"),
             lambda: upload_file(path_or_fileobj=b"x", path_in_repo="x.txt", repo_id="alice/tiny"),
             lambda: api.create_tag("alice/tiny", tag="bob-was-here")):
    try:
        call()
        codes.append(200)
    except HfHubHTTPError as exc:
        codes.append(exc.response.status_code)
print(json.dumps({"codes": codes, "readable": api.model_info("alice/tiny").sha is not None}))
""",
        tmp_path,
    )
    assert out == {"codes": [403, 403, 403], "readable": True}


def test_errors_map_to_the_client_exceptions(hub, tmp_path):
    """Missing repo, revision and file raise the client's own exceptions; creating twice is fine."""
    out = client(
        hub,
        "alice",
        """
import json
from huggingface_hub import HfApi, hf_hub_download
from huggingface_hub.errors import RepositoryNotFoundError, RevisionNotFoundError, EntryNotFoundError
api, seen = HfApi(), []
for exc, call in ((RepositoryNotFoundError, lambda: hf_hub_download("alice/nope", "config.json")),
                  (RevisionNotFoundError,
                   lambda: hf_hub_download("alice/tiny", "config.json", revision="v9")),
                  (EntryNotFoundError, lambda: hf_hub_download("alice/tiny", "missing.json"))):
    try:
        call()
    except exc:
        seen.append(exc.__name__)
url = api.create_repo("alice/tiny", exist_ok=True)
print(json.dumps({"seen": seen, "url": str(url)}))
""",
        tmp_path,
    )
    assert out["seen"] == ["RepositoryNotFoundError", "RevisionNotFoundError", "EntryNotFoundError"]
    assert out["url"].endswith("/alice/tiny")


def test_dataset_push_and_load(hub, tmp_path):
    """datasets' push_to_hub uploads parquet through LFS; load_dataset reads it back at a revision."""
    out = client(
        hub,
        "alice",
        """
import json
from datasets import Dataset, load_dataset
ds = Dataset.from_dict({"text": ["a", "b", "c"], "label": [0, 1, 0]})
ds.push_to_hub("alice/toy")
back = load_dataset("alice/toy", split="train")
print(json.dumps({"rows": back.num_rows, "text": back["text"][:], "label": list(back["label"])}))
""",
        tmp_path,
    )
    assert out == {"rows": 3, "text": ["a", "b", "c"], "label": [0, 1, 0]}
    files = hub[0].get_commit(RepoId("dataset", "alice", "toy"), "main")["files"]
    parquet = [e for p, e in files.items() if p.endswith(".parquet")]
    assert parquet and all(e["lfs"] for e in parquet)


def test_unix_socket_route(tmp_path):
    """A client with no network reaches a hub on a unix socket through route_through_socket."""
    store = HubStore(tmp_path / "hub")
    tokens = {"carol": store.add_token("carol")}
    with running_hub(store, uds=tmp_path / "hub.sock") as socket:
        out = client(
            (store, "http://course-hub", tokens),
            "carol",
            """
import json
from huggingface_hub import HfApi
api = HfApi()
api.create_repo("notes")
api.upload_file(path_or_fileobj=b"hello", path_in_repo="hello.txt", repo_id="carol/notes")
print(json.dumps({"files": sorted(api.list_repo_files("carol/notes"))}))
""",
            tmp_path,
            socket=socket,
        )
    assert out["files"] == [".gitattributes", "hello.txt"]


def test_token_command_hands_out_namespace_tokens(tmp_path):
    """`course hub token` prints one token per user; the store maps each back to its user only."""
    from typer.testing import CliRunner

    from autograder.hub.cli import hub_app

    result = CliRunner().invoke(hub_app, ["token", "dana", "eve", "--root", str(tmp_path)])
    assert result.exit_code == 0, result.output
    lines = dict(line.split("\t") for line in result.output.strip().splitlines())
    store = HubStore(tmp_path)
    assert {user: store.user_for(token)["user"] for user, token in lines.items()} == {
        "dana": "dana",
        "eve": "eve",
    }
    assert store.user_for("hf_not-a-token") is None
    stored = (tmp_path / "tokens.json").read_text()
    assert not any(token in stored for token in lines.values()), "tokens are stored hashed, never as given"
