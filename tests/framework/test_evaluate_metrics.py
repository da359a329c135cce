"""`evaluate.load("accuracy")` offline: the course's evaluate-metrics asset bakes metric modules into
evaluate's module cache, and with the asset's env (HF_MODULES_CACHE, HF_EVALUATE_OFFLINE) the same
student code loads them without the network, from a folder it only reads. Their numbers are checked
against the libraries they stand for: scikit-learn, seqeval, sacrebleu and SQuAD's own definition.

An asset's `env` is the framework's general hook: a module using the asset grades with it, in the
worker and for the reference alike; tested on a course of its own below."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

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
    "f1_macro": evaluate.load("f1").compute(predictions={MULTI_PRED}, references={MULTI_TRUE}, average="macro"),
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


COURSE = """
course: {id: env-course, title: Env}
assets:
  notes:
    kind: files
    offline: {build: builders/notes.py:build}
    env: {NOTES_FILE: "{path}/notes.txt", NOTES_MODE: "offline"}
modules:
  - {id: m1, title: One, points: 1, files: [lab.py], assets: [notes]}
"""
LAB = '''
import os


def notes() -> list:
    """The NOTES_* environment and the file it names."""
    ### BEGIN SOLUTION
    return [os.environ.get("NOTES_MODE"), open(os.environ["NOTES_FILE"]).read()]
    ### END SOLUTION
'''
HIDDEN = '''
from autograder.api import points


@points(1)
def test_notes(student, reference):
    """The asset's env reaches the student's code and the reference alike."""
    assert student.call("notes") == reference.call("notes") == ["offline", "hello"], "env not set"
'''


def test_an_assets_env_reaches_the_worker_and_the_reference(tmp_path, monkeypatch):
    from autograder.grade.runner import grade

    files = {
        "course.yaml": COURSE,
        "builders/notes.py": "def build(out, needs):\n    (out / 'notes.txt').write_text('hello')\n",
        "reference/m1/lab.py": LAB,
        "assignments/m1/README.md": "# One\n",
        "assignments/m1/hidden/test_m1.py": HIDDEN,
    }
    for rel, text in files.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(textwrap.dedent(text).lstrip())
    monkeypatch.setenv("COURSE_ROOT", str(tmp_path))
    monkeypatch.setenv("COURSE_ASSETS", str(tmp_path / ".assets"))
    for key in ("NOTES_FILE", "NOTES_MODE"):
        monkeypatch.delenv(key, raising=False)
    layout = Layout(tmp_path)
    AssetStore(layout.course, layout.root, layout.asset_cache).resolve("notes")
    results = grade(layout, "m1", tmp_path / "reference" / "m1", tmp_path / "out")
    assert results.score == 1, [t.output for t in results.tests]
