"""`course image check`'s comparison: what a student or the gradebook reads must match; where and
how fast the grading ran may not. Pure dicts, no Docker."""

from __future__ import annotations

import copy

from autograder.image.check import cheap_mistake, differences
from autograder.validate import Mistake

HOST = {
    "score": 2.0,
    "output": "",
    "execution_time": 20.2,
    "visibility": "visible",
    "tests": [
        {
            "name": "encode() adds special tokens.",
            "number": "1",
            "score": 2.0,
            "max_score": 2.0,
            "status": "passed",
            "output": "Passed.",
            "extra_data": {"id": "test_encode", "seconds": 6.9, "calls": ["encode"]},
        },
        {
            "name": "decode() drops them.",
            "number": "2",
            "score": 0.0,
            "max_score": 1.0,
            "status": "failed",
            "output": "decode() kept [CLS].",
            "extra_data": {"id": "test_decode", "seconds": 0.4, "calls": ["decode"]},
        },
    ],
    "extra_data": {
        "module": "m01",
        "seed": 1234,
        "libraries": {"torch": "2.13.0+cpu"},
        "grader_version": "0.1.0+abc",
        "sandbox": "bwrap",
        "sandbox_details": {"memory": "cgroup"},
        "metrics": {"train_loss": 0.5, "lora_train_seconds": 40.1, "nf4_seconds_per_token": 0.1},
        "wall_time": 20.2,
        "worker_peak_memory_bytes": 1062326272,
        "reference_cached_calls": 12,
    },
}


def test_only_where_and_how_fast_may_differ():
    container = copy.deepcopy(HOST)
    container["execution_time"] = 31.0
    container["tests"][0]["extra_data"]["seconds"] = 9.1
    container["extra_data"].update(
        sandbox="uid",
        sandbox_details={"memory": "rlimit"},
        wall_time=31.0,
        worker_peak_memory_bytes=2,
        reference_cached_calls=0,
        container={"image": "course:latest", "seconds": 33.0},
    )
    container["extra_data"]["metrics"].update(lora_train_seconds=80.0, nf4_seconds_per_token=0.2)
    assert differences(HOST, container) == []


def test_scores_messages_and_records_must_match():
    container = copy.deepcopy(HOST)
    container["score"] = 3.0
    container["tests"][1].update(score=1.0, status="passed", output="Passed.")
    container["extra_data"]["libraries"]["torch"] = "2.12.0+cpu"
    container["extra_data"]["metrics"]["train_loss"] = 0.6
    got = {d.where: (d.host, d.container) for d in differences(HOST, container)}
    assert got == {
        "score": (2.0, 3.0),
        "tests[1] (test_decode).score": (0.0, 1.0),
        "tests[1] (test_decode).status": ("failed", "passed"),
        "tests[1] (test_decode).output": ("decode() kept [CLS].", "Passed."),
        "extra_data.libraries.torch": ("2.13.0+cpu", "2.12.0+cpu"),
        "extra_data.metrics.train_loss": (0.5, 0.6),
    }


def test_a_missing_test_is_a_difference():
    container = copy.deepcopy(HOST)
    del container["tests"][1]
    where = {d.where for d in differences(HOST, container)}
    assert "tests[1] (test_decode).output" in where
    assert all(w.startswith("tests[1]") for w in where)


def test_the_cheap_mistake_leaves_training_alone():
    trains = Mistake(name="lr", append="def finetune_lora(x):\n    return 0\n", fails=["test_a"])
    cheap = Mistake(name="eos", append="def tokenize(x):\n    return 1\n", fails=["test_b"])
    assert cheap_mistake([trains, cheap]) is cheap
    assert cheap_mistake([trains]) is trains
    assert cheap_mistake([]) is None


def test_progress_bars_and_python_patch_release_are_not_differences():
    bar = "Loading weights: 100%|██████████| 103/103 [00:00<00:00, {}it/s]"
    host, container = copy.deepcopy(HOST), copy.deepcopy(HOST)
    host["tests"][1]["output"] += "\nThe last lines your code printed:\n" + bar.format("16571.92")
    container["tests"][1]["output"] += "\nThe last lines your code printed:\n" + bar.format("3677.68")
    host["extra_data"]["libraries"]["python"] = "3.11.7"
    container["extra_data"]["libraries"]["python"] = "3.11.2"
    assert differences(host, container) == []
    container["extra_data"]["libraries"]["python"] = "3.12.1"
    assert [d.where for d in differences(host, container)] == ["extra_data.libraries.python"]


def test_the_image_folders_stand_for_the_hosts():
    """A library's output names where it read the model: the host's venv, the image's."""
    host, container = copy.deepcopy(HOST), copy.deepcopy(HOST)
    report = "LOAD REPORT from: {}/lib/python3.11/site-packages/minilm/model"
    host["tests"][1]["output"] = report.format("/work/course/.venv")
    container["tests"][1]["output"] = report.format("/autograder/venv")
    assert differences(host, container, {"venv": "/work/course/.venv"}) == []
    assert len(differences(host, container)) == 1
