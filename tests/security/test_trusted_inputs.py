"""Every input that crosses into the trusted grader has a bound (docs/security.md lists them): one
test per input, each proving its bound with an input just past it. In-process and model-free."""

from __future__ import annotations

import base64
import json
import os
import struct
from pathlib import Path

import pytest

from autograder.api import load_saved_model, load_saved_tensors
from autograder.grade import artifacts
from autograder.grade.bounded import ADDRESS_SPACE_SLACK, _limit_child, record_out_of_memory
from autograder.grade.results import NOT_RUN, Results, TestResult
from autograder.grade.runner import HIDE_FROM_WORKER, hidden_paths
from autograder.worker.client import StudentError

TINY = {
    "model_type": "bert",
    "vocab_size": 64,
    "hidden_size": 32,
    "num_hidden_layers": 2,
    "num_attention_heads": 2,
    "intermediate_size": 64,
    "max_position_embeddings": 64,
}


def write_safetensors(path: Path, shapes: dict[str, list[int]], header_pad: int = 0) -> None:
    header, offset = {}, 0
    for name, shape in shapes.items():
        size = 4
        for d in shape:
            size *= d
        header[name] = {"dtype": "F32", "shape": shape, "data_offsets": [offset, offset + size]}
        offset += size
    raw = json.dumps(header).encode() + b" " * header_pad
    with open(path, "wb") as fh:
        fh.write(struct.pack("<Q", len(raw)) + raw)
        fh.truncate(8 + len(raw) + offset)  # sparse: the size is declared, not written


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from transformers import BertConfig, BertForSequenceClassification

    folder = tmp_path_factory.mktemp("tiny") / "model"
    BertForSequenceClassification(BertConfig(**TINY)).save_pretrained(folder)
    return folder


def test_saved_model_config_must_be_the_expected_architecture(tiny_model, tmp_path):
    """config.json: the model_type and every dimension of the expected model; allowances bounded."""
    assert load_saved_model(tiny_model, expected=TINY, allow={"num_labels": 2}).config.hidden_size == 32
    for change, message in [
        (
            {"model_type": "roberta"},
            "your saved config says model_type 'roberta'; the expected model is 'bert'",
        ),
        ({"num_hidden_layers": 64}, "your saved config says num_hidden_layers 64; the expected model has 2"),
        (
            {"id2label": {str(i): str(i) for i in range(50)}},
            "your saved config says num_labels 50; at most 10",
        ),
    ]:
        folder = tmp_path / f"changed-{len(change)}-{next(iter(change))}"
        folder.mkdir()
        config = {**json.loads((tiny_model / "config.json").read_text()), **change}
        (folder / "config.json").write_text(json.dumps(config))
        os.link(tiny_model / "model.safetensors", folder / "model.safetensors")
        with pytest.raises(StudentError, match=message.replace("(", r"\(")):
            load_saved_model(folder, expected=TINY, allow={"num_labels": 10})


def test_config_files_are_size_bounded(tiny_model, tmp_path):
    """Any JSON the grader parses from a student folder: at most 1 MiB."""
    path = tmp_path / "config.json"
    path.write_text(json.dumps({**TINY, "padding": "x" * artifacts.MAX_JSON_BYTES}))
    with pytest.raises(StudentError, match="at most 1,048,576 are accepted"):
        artifacts.read_json(path, "your saved config")


def test_weights_must_cover_the_model(tiny_model, tmp_path):
    """safetensors: the tensors named in the headers hold (nearly) every parameter, no more bytes
    than the model in float64; only the headers are read."""
    (tmp_path / "head").mkdir()
    (tmp_path / "head" / "config.json").write_text((tiny_model / "config.json").read_text())
    write_safetensors(
        tmp_path / "head" / "model.safetensors", {"classifier.weight": [2, 32], "classifier.bias": [2]}
    )
    with pytest.raises(StudentError, match="parameters to be initialised"):
        load_saved_model(tmp_path / "head", expected=TINY)
    model = artifacts.meta_model(artifacts.load_config(TINY), "AutoModelForSequenceClassification")
    declared = artifacts.safetensors_header(tiny_model / "model.safetensors")
    artifacts.check_coverage(model, declared)
    huge = {**declared, "extra": artifacts.Tensor("F32", (1024, 1024, 64))}
    with pytest.raises(StudentError, match="takes at most"):
        artifacts.check_coverage(model, huge)


def test_safetensors_header_is_bounded(tmp_path):
    """A header past 16 MiB, or offsets past the end of the file, are refused before parsing."""
    path = tmp_path / "model.safetensors"
    path.write_bytes(struct.pack("<Q", 2**40) + b"{}")
    with pytest.raises(StudentError, match="the file is broken"):
        artifacts.safetensors_header(path)
    raw = json.dumps({"w": {"dtype": "F32", "shape": [10**6], "data_offsets": [0, 4 * 10**6]}}).encode()
    path.write_bytes(struct.pack("<Q", len(raw)) + raw + bytes(16))
    with pytest.raises(StudentError, match="does not fit the file"):
        artifacts.safetensors_header(path)


def test_single_tensor_files_are_bounded_by_the_expected_model(tmp_path):
    """A pushed model.safetensors (m10's hub) or a saved head: no more than the expected model's bytes."""
    write_safetensors(tmp_path / "pushed.safetensors", {"w": [1024, 1024, 16]})
    with pytest.raises(StudentError, match="takes at most"):
        load_saved_tensors(tmp_path / "pushed.safetensors", expected=TINY)


def test_private_copy_refuses_links_and_bounds_bytes(tiny_model, tmp_path):
    """Loads read a private copy (no swap between check and load): links refused, bytes capped."""
    folder = tmp_path / "linked"
    folder.mkdir()
    (folder / "config.json").symlink_to(tiny_model / "config.json")
    with pytest.raises(StudentError, match="not a regular file"), artifacts.private_copy(folder):
        pass
    with (
        pytest.raises(StudentError, match="more disk space"),
        artifacts.private_copy(tiny_model, max_bytes=1024),
    ):
        pass


def test_tokenizer_files_are_bounded(tmp_path):
    """Tokenizer files (a vocabulary of millions of entries): at most twice the expected ones + 1 MiB."""
    expected, saved = tmp_path / "expected", tmp_path / "saved"
    expected.mkdir()
    saved.mkdir()
    (expected / "vocab.txt").write_text("\n".join(f"w{i}" for i in range(100)))
    artifacts.check_tokenizer(expected, expected)
    with open(saved / "vocab.txt", "w") as fh:
        fh.writelines(f"w{i}\n" for i in range(400_000))
    with pytest.raises(StudentError, match="your saved tokenizer files take"):
        artifacts.check_tokenizer(saved, expected)


def test_generation_config_is_bounded(tmp_path):
    """generation_config.json: max_length / max_new_tokens within the model's positions, few beams."""
    config = artifacts.load_config(TINY)
    (tmp_path / "generation_config.json").write_text(json.dumps({"max_new_tokens": 64, "num_beams": 4}))
    artifacts.check_generation_config(tmp_path, config)
    for key, value in [("max_new_tokens", 10**9), ("num_beams", 1000), ("max_length", -1)]:
        (tmp_path / "generation_config.json").write_text(json.dumps({key: value}))
        with pytest.raises(StudentError, match=f"says {key}"):
            artifacts.check_generation_config(tmp_path, config)


def test_adapters_are_bounded_by_rank_and_base(tmp_path):
    """A PEFT adapter: rank at most 256, each matrix rank x a base dimension, in all no more than the base."""
    (tmp_path / "adapter_config.json").write_text(json.dumps({"peft_type": "LORA", "r": 4}))
    name = "base_model.model.encoder.layer.0.attention.self.query.lora_{}.weight"
    write_safetensors(
        tmp_path / "adapter_model.safetensors", {name.format("A"): [4, 32], name.format("B"): [32, 4]}
    )
    config, tensors = artifacts.check_adapter(tmp_path, TINY)
    assert config["r"] == 4 and len(tensors) == 2
    write_safetensors(tmp_path / "adapter_model.safetensors", {name.format("A"): [4, 1000]})
    with pytest.raises(StudentError, match="has shape"):
        artifacts.check_adapter(tmp_path, TINY)
    (tmp_path / "adapter_config.json").write_text(json.dumps({"peft_type": "LORA", "r": 10**6}))
    with pytest.raises(StudentError, match="rank r is 1000000"):
        artifacts.check_adapter(tmp_path, TINY)


def test_out_of_memory_keeps_finished_tests(tmp_path):
    """When the grading is killed for memory, finished tests stay; the rest say why; extra_data too."""
    results = Results(
        tests=[
            TestResult(name="a", max_score=1, number="1", score=1, status="passed", output="Passed."),
            TestResult(name="b", max_score=2, number="2"),
        ]
    )
    results.write(tmp_path / "results.json")
    record_out_of_memory(tmp_path / "results.json", 1024**3, 1024**3, 3)
    data = json.loads((tmp_path / "results.json").read_text())
    assert data["score"] == 1 and data["tests"][0]["output"] == "Passed."
    assert data["tests"][1]["output"].startswith("The grader ran out of memory (1,024 MiB)")
    assert data["extra_data"]["grader_out_of_memory"] == {"limit_bytes": 1024**3, "peak_bytes": 1024**3}
    assert NOT_RUN not in json.dumps(data)
    record_out_of_memory(tmp_path / "none" / "results.json", 1024**3, 0, 3)  # killed before any test
    data = json.loads((tmp_path / "none" / "results.json").read_text())
    assert data["tests"][0]["max_score"] == 3 and data["score"] == 0


def test_hidden_paths_hide_every_secret(mini, tmp_path, monkeypatch):
    """What the sandbox hides: every module's graders, the references, hidden assets, the repo's history
    and releases, this job's results, reference scratch and submission, and batch grading's extras."""
    monkeypatch.setenv(HIDE_FROM_WORKER, os.pathsep.join(["/batch/a", "/batch/b"]))
    out, job, sub = tmp_path / "out", tmp_path / "job", tmp_path / "sub"
    tests_dir = mini.hidden_tests("mini")
    paths = hidden_paths(
        mini, tests_dir, {"public": "/assets/public", "secret": "/assets/secret"}, ["public"], out, job, sub
    )
    assert paths[0] == tests_dir
    for expected in [
        mini.root / "reference",
        mini.root / ".git",
        mini.root / "release",
        Path("/assets/secret"),
        out.resolve(),
        job / "reference",
        sub.resolve(),
        Path("/batch/a"),
        Path("/batch/b"),
    ]:
        assert expected in paths, expected
    assert Path("/assets/public") not in paths
    assert all(mini.hidden_tests(m.id) in paths for m in mini.course.modules)


@pytest.fixture
def hub_client(tmp_path):
    """A class hub with small limits, driven over HTTP like huggingface_hub drives it."""
    from fastapi.testclient import TestClient

    from autograder.hub import HubStore
    from autograder.hub.app import create_app

    store = HubStore(tmp_path / "hub", max_file_bytes=1000, max_repo_bytes=2000, max_store_bytes=3000)
    http = TestClient(create_app(store, max_request_bytes=64 * 1024))
    http.headers["Authorization"] = f"Bearer {store.add_token('alice')}"
    assert http.post("/api/repos/create", json={"name": "m", "type": "model"}).status_code == 200
    return store, http


def commit(http, *files: tuple[str, bytes]):
    lines = [{"key": "header", "value": {"summary": "add"}}]
    lines += [
        {"key": "file", "value": {"path": p, "content": base64.b64encode(d).decode()}} for p, d in files
    ]
    body = "\n".join(json.dumps(line) for line in lines)
    return http.post("/api/models/alice/m/commit/main", content=body)


def test_hub_uploads_are_bounded_per_file_repo_hub_and_request(hub_client):
    """Hub uploads: each file, each repository's revision, the whole hub and each request body."""
    store, http = hub_client
    assert commit(http, ("a.bin", b"a" * 900)).status_code == 200
    assert commit(http, ("big.bin", b"b" * 1001)).status_code == 413  # one file
    assert commit(http, ("b.bin", b"c" * 900)).status_code == 413  # the repository: 2534 > 2000
    batch = http.post(
        "/alice/m.git/info/lfs/objects/batch",
        json={"operation": "upload", "objects": [{"oid": "d" * 64, "size": 10**12}]},
    )
    assert batch.json()["objects"][0]["error"]["code"] == 413  # refused before a byte is sent
    assert http.post("/api/repos/create", json={"name": "n", "padding": "x" * 100_000}).status_code == 413
    assert store.used == 734 + 900  # .gitattributes and a.bin: nothing refused was stored
    for name, fill, status in [("o", b"o", 200), ("p", b"p", 413)]:  # the hub: 2633, then 3632 > 3000
        assert http.post("/api/repos/create", json={"name": name, "type": "model"}).status_code == 200
        lines = [{"key": "header", "value": {"summary": "add"}}]
        lines.append(
            {"key": "file", "value": {"path": "x.bin", "content": base64.b64encode(fill * 999).decode()}}
        )
        body = "\n".join(json.dumps(line) for line in lines)
        assert http.post(f"/api/models/alice/{name}/commit/main", content=body).status_code == status


def test_notebooks_are_bounded_in_cells(tmp_path):
    """A notebook (20 MiB as any file): at most MAX_NOTEBOOK_CELLS cells reach nbformat."""
    import nbformat

    from autograder.grade.intake import MAX_FILE_BYTES, MAX_NOTEBOOK_CELLS, take_in

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("x = 1") for _ in range(MAX_NOTEBOOK_CELLS + 1)]
    nbformat.write(nb, tmp_path / "lab.ipynb")
    intake = take_in(tmp_path / "lab.ipynb", tmp_path / "work", ["lab.py"])
    assert intake.problem == (
        f"Your submission could not be graded: lab.ipynb has {MAX_NOTEBOOK_CELLS + 1} cells; "
        f"at most {MAX_NOTEBOOK_CELLS} are accepted"
    )
    nb.cells = nb.cells[:3]
    nb.cells[0].outputs = [nbformat.v4.new_output("stream", text="y" * (MAX_FILE_BYTES + 1))]
    nbformat.write(nb, tmp_path / "lab.ipynb")
    assert "larger than 20 MiB" in take_in(tmp_path / "lab.ipynb", tmp_path / "work", ["lab.py"]).problem


BANK = """
quiz: {title: Bounds}
questions:
  - id: single
    type: single
    tags: [basics]
    prompt: Which one is a tokenizer algorithm?
    choices:
      - {text: WordPiece, correct: true, explain: BERT uses it.}
      - {text: Adam, explain: An optimizer.}
"""


def test_quiz_answers_are_bounded(tmp_path, monkeypatch):
    """Quiz responses: one answer at most MAX_ANSWER_CHARS, a responses file at most 64 MiB."""
    from autograder.quiz import grading
    from autograder.quiz.variant import load_quiz
    from autograder.yamlconf import ConfigError
    from tests.quiz.conftest import write_course

    layout = write_course(tmp_path / "course", BANK)
    monkeypatch.setenv("COURSE_ROOT", str(layout.root))
    item = load_quiz(layout, "q1").variant("alice").items[0]
    key = grading.key_response(item)
    assert grading.grade_item(item, key).score == item.points
    long = grading.grade_item(item, key + " " * grading.MAX_ANSWER_CHARS)
    assert long.score == 0 and long.feedback[0] == "Your answer is longer than 10,000 characters."
    path = tmp_path / "responses.csv"
    path.write_text("student,q1\nalice," + "1" * (200 * 1024) + "\n")
    with pytest.raises(ConfigError, match="cannot read responses"):
        grading.read_responses(path)
    with open(path, "wb") as fh:
        fh.truncate(grading.MAX_RESPONSES_BYTES + 1)
    with pytest.raises(ConfigError, match="at most 67,108,864 are read"):
        grading.read_responses(path)


def test_without_a_cgroup_the_grading_gets_an_address_space_limit():
    """The RLIMIT_AS fallback: a soft limit of grader_memory plus slack, the hard limit left open for
    the worker the grading starts (it sets its own)."""
    import resource

    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            _limit_child(None, 1024**3)
            os.write(write, json.dumps(resource.getrlimit(resource.RLIMIT_AS)).encode())
        finally:
            os._exit(0)
    os.close(write)
    os.waitpid(pid, 0)
    soft, hard = json.loads(os.read(read, 1024))
    os.close(read)
    assert soft == 1024**3 + ADDRESS_SPACE_SLACK
    assert hard == resource.getrlimit(resource.RLIMIT_AS)[1]


def test_small_files_graders_read_whole_are_bounded(tmp_path):
    """A config.json or model card a grader reads itself: 1 MiB, else a plain message."""
    from autograder.api import read_saved_json, read_saved_text

    (tmp_path / "config.json").write_text(json.dumps({"id2label": {"0": "a"}}))
    assert read_saved_json(tmp_path / "config.json") == {"id2label": {"0": "a"}}
    with open(tmp_path / "README.md", "wb") as fh:
        fh.truncate(2 * 1024**2)
    with pytest.raises(StudentError, match="README.md is 2,097,152 bytes; at most 1,048,576"):
        read_saved_text(tmp_path / "README.md")
