"""`evaluate.load("accuracy")` offline: the course's evaluate-metrics asset bakes metric modules into
evaluate's module cache, and with the asset's env (HF_MODULES_CACHE, HF_EVALUATE_OFFLINE) the same
student code loads them without the network, from a folder it only reads. Their numbers are checked
against the libraries they stand for: scikit-learn, seqeval, sacrebleu and SQuAD's own definition.

An asset's `env` is the framework's general hook: a module using the asset grades with it, in the
worker and for the reference alike; tested on a course of its own below."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml

from autograder.assets import AssetStore, tree_hash
from autograder.layout import Layout
from builders import evaluate_metrics

Y_TRUE = [0, 1, 1, 0, 1, 1, 0, 0, 1, 1]
Y_PRED = [0, 1, 0, 0, 1, 1, 1, 0, 1, 0]
MULTI_TRUE = [0, 1, 2, 2, 1, 0, 2]
MULTI_PRED = [0, 2, 2, 2, 1, 0, 1]
TAGS_TRUE = [["B-PER", "I-PER", "O", "B-LOC"], ["O", "B-ORG", "I-ORG", "O", "B-MISC"]]
TAGS_PRED = [["B-PER", "I-PER", "O", "B-ORG"], ["O", "B-ORG", "I-ORG", "O", "O"]]
SQUAD_PRED = [
    {"id": "a", "prediction_text": "the Eiffel Tower"},
    {"id": "b", "prediction_text": "in 1889 in Paris"},
    {"id": "c", "prediction_text": "Gustave"},
]
SQUAD_REF = [
    {"id": "a", "answers": {"text": ["Eiffel Tower", "the tower"], "answer_start": [0, 0]}},
    {"id": "b", "answers": {"text": ["1889"], "answer_start": [3]}},
    {"id": "c", "answers": {"text": ["Gustave Eiffel"], "answer_start": [0]}},
]
EM_PRED = ["1999-03-21", "2001-01-02", "Hello!", "x"]
EM_REF = ["1999-03-21", "2001-01-20", "hello", "x"]
BLEU_PRED = ["the cat sat on the mat", "a quick brown fox jumps"]
BLEU_REF = [["the cat sat on the mat"], ["the quick brown fox jumped"]]

# Runs in a fresh interpreter with only the asset's env: the student's side of the story.
STUDENT_CODE = f"""
import json, evaluate
out = {{
    "accuracy": evaluate.load("accuracy").compute(predictions={Y_PRED}, references={Y_TRUE}),
    "precision": evaluate.load("precision").compute(predictions={Y_PRED}, references={Y_TRUE}),
    "recall": evaluate.load("recall").compute(predictions={Y_PRED}, references={Y_TRUE}),
    "f1": evaluate.load("f1").compute(predictions={Y_PRED}, references={Y_TRUE}),
    "f1_macro": evaluate.load("f1").compute(
        predictions={MULTI_PRED}, references={MULTI_TRUE}, average="macro"
    ),
    "seqeval": evaluate.load("seqeval").compute(predictions={TAGS_PRED}, references={TAGS_TRUE}),
    "squad": evaluate.load("squad").compute(predictions={SQUAD_PRED}, references={SQUAD_REF}),
    "exact_match": evaluate.load("exact_match").compute(predictions={EM_PRED}, references={EM_REF}),
    "exact_match_loose": evaluate.load("exact_match").compute(
        predictions={EM_PRED}, references={EM_REF}, ignore_case=True, ignore_punctuation=True),
    "sacrebleu": evaluate.load("sacrebleu").compute(predictions={BLEU_PRED}, references={BLEU_REF}),
}}
print(json.dumps(out, default=float))
"""


@pytest.fixture(scope="module")
def metrics_asset(course: Layout) -> Path:
    store = AssetStore(course.course, course.root, course.asset_cache)
    return store.resolve("evaluate-metrics").path


@pytest.fixture(scope="module")
def offline_results(metrics_asset: Path, course: Layout, tmp_path_factory) -> dict:
    home = tmp_path_factory.mktemp("hf-home")
    before = tree_hash(metrics_asset)
    asset_env = course.course.assets["evaluate-metrics"].env
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(home),
        "HF_HOME": str(home / ".hf"),
        "HF_HUB_OFFLINE": "1",
        "HF_DATASETS_OFFLINE": "1",
        "PYTHONDONTWRITEBYTECODE": "1",  # as the worker runs (python -B): the asset is only read
        **{key: value.replace("{path}", str(metrics_asset)) for key, value in asset_env.items()},
    }
    done = subprocess.run(
        [sys.executable, "-c", STUDENT_CODE], env=env, capture_output=True, text=True, timeout=600, cwd=home
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert tree_hash(metrics_asset) == before, "loading a metric wrote into the baked cache"
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_the_asset_env_is_what_the_tests_use(course):
    assert course.course.assets["evaluate-metrics"].env == {
        "HF_MODULES_CACHE": "{path}",
        "HF_EVALUATE_OFFLINE": "1",
    }


def test_the_scripts_hash_pinned_in_the_builder_is_current():
    assert evaluate_metrics.scripts_sha256() == evaluate_metrics.SCRIPTS_SHA256, (
        f"set SCRIPTS_SHA256 = {evaluate_metrics.scripts_sha256()!r} in builders/evaluate_metrics.py"
    )


def test_classification_metrics_match_scikit_learn(offline_results):
    from sklearn import metrics

    assert offline_results["accuracy"]["accuracy"] == pytest.approx(metrics.accuracy_score(Y_TRUE, Y_PRED))
    assert offline_results["precision"]["precision"] == pytest.approx(metrics.precision_score(Y_TRUE, Y_PRED))
    assert offline_results["recall"]["recall"] == pytest.approx(metrics.recall_score(Y_TRUE, Y_PRED))
    assert offline_results["f1"]["f1"] == pytest.approx(metrics.f1_score(Y_TRUE, Y_PRED))
    macro = metrics.f1_score(MULTI_TRUE, MULTI_PRED, average="macro")
    assert offline_results["f1_macro"]["f1"] == pytest.approx(macro)


@pytest.mark.filterwarnings("ignore:Precision and F-score are ill-defined")  # seqeval's, for ORG: expected
def test_seqeval_matches_seqeval(offline_results):
    from seqeval.metrics import accuracy_score, classification_report

    got = offline_results["seqeval"]
    report = classification_report(TAGS_TRUE, TAGS_PRED, output_dict=True)
    assert got["overall_f1"] == pytest.approx(report["micro avg"]["f1-score"])
    assert got["overall_precision"] == pytest.approx(report["micro avg"]["precision"])
    assert got["overall_recall"] == pytest.approx(report["micro avg"]["recall"])
    assert got["overall_accuracy"] == pytest.approx(accuracy_score(TAGS_TRUE, TAGS_PRED))
    assert got["PER"] == {"precision": 1.0, "recall": 1.0, "f1": 1.0, "number": 1}
    assert got["LOC"]["recall"] == 0.0 and got["ORG"]["number"] == 1


def test_squad_follows_the_official_definition(offline_results):
    # a: "the Eiffel Tower" normalises to "eiffel tower": exact. b: "in 1889 in paris" vs "1889":
    # F1 2*(1/4)*(1/1)/(1/4+1) = 0.4. c: "gustave" vs "gustave eiffel": F1 2*1*0.5/1.5 = 2/3.
    got = offline_results["squad"]
    assert got["exact_match"] == pytest.approx(100 / 3)
    assert got["f1"] == pytest.approx(100 * (1 + 0.4 + 2 / 3) / 3)


def test_exact_match_and_sacrebleu(offline_results):
    import sacrebleu

    assert offline_results["exact_match"]["exact_match"] == pytest.approx(0.5)
    assert offline_results["exact_match_loose"]["exact_match"] == pytest.approx(0.75)
    want = sacrebleu.corpus_bleu(BLEU_PRED, [[refs[0] for refs in BLEU_REF]])
    got = offline_results["sacrebleu"]
    assert got["score"] == pytest.approx(want.score) and got["counts"] == want.counts


MODULES = """
modules:
  - {id: m1, title: One, points: 1, files: [lab.py], assets: [evaluate-metrics]}
"""
LAB = '''
import evaluate


def score(predictions: list, references: list) -> dict:
    """Accuracy, as evaluate computes it."""
    ### BEGIN SOLUTION
    return evaluate.load("accuracy").compute(predictions=predictions, references=references)
    ### END SOLUTION
'''
HIDDEN = '''
from autograder.api import points


@points(1)
def test_score(student, reference):
    """evaluate.load works in the sandboxed worker and for the reference, offline."""
    got = student.call("score", [0, 1, 1, 0], [0, 1, 0, 0])
    want = reference.call("score", [0, 1, 1, 0], [0, 1, 0, 0])
    assert got == want == {"accuracy": 0.75}, f"student {got}, reference {want}"
'''


def test_evaluate_load_works_offline_in_the_worker_and_for_the_reference(course, tmp_path):
    """A module using the asset: its env reaches the sandboxed worker and the reference alike, and
    the same `evaluate.load("accuracy")` runs there with no network. Graded as Gradescope would, in a
    fresh `course grade` process (the course shares this checkout's builder and asset cache)."""
    spec = {"evaluate-metrics": course.course.assets["evaluate-metrics"].model_dump(exclude_defaults=True)}
    header = yaml.safe_dump({"course": {"id": "env-course", "title": "Env"}, "assets": spec})
    files = {
        "course.yaml": header + MODULES,  # the asset as the course declares it: the same build
        "reference/m1/lab.py": LAB,
        "assignments/m1/README.md": "# One\n",
        "assignments/m1/hidden/test_m1.py": HIDDEN,
    }
    for rel, text in files.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(textwrap.dedent(text).lstrip())
    (tmp_path / "builders").symlink_to(course.root / "builders")
    env = {**os.environ, "COURSE_ROOT": str(tmp_path), "COURSE_ASSETS": str(course.asset_cache)}
    env.pop("HF_MODULES_CACHE", None)
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "autograder.cli",
            "grade",
            "m1",
            str(tmp_path / "reference" / "m1"),
            "--out",
            str(tmp_path / "out"),
            "--quiet",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    results = json.loads((tmp_path / "out" / "results.json").read_text())
    assert results["score"] == 1, [t["output"] for t in results["tests"]] or results["output"]
