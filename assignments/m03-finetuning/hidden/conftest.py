"""Hidden fixtures for module 3: a small CSV with another class balance, clean examples for the
manual loop, the hidden test split, one run of the student's train() shared by its graders, and a
short run of train() beside the reference's same run."""

import csv
import random
from pathlib import Path

import pytest

from autograder.api import StudentError

DATA = Path(__file__).parent / "data"
TRAIN_TIMEOUT = (
    1200  # seconds: two epochs on 1,080 tweets take ~70 s on 2 idle cores, 10x that on a busy machine
)
# The short run's data: the first rows of the public train.csv, enough for a training split that
# holds the "first 100 training examples" train() also evaluates on.
FEW_TWEETS = 120
# The short run's global random state: another one than the reference's, so a train() that leans on
# it (no set_seed) starts from another classification head.
FOREIGN_GLOBAL_SEED = 4242
# Neither sentiment; with it an example is 85-90 MiniLM tokens, cut at MAX_LENGTH (64).
LONG_ASIDE = (
    ", or so I wrote on the train home on a grey Tuesday evening, somewhere between the second and the"
    " third station, with a cold cup of tea in one hand, my bag on the seat next to me, the window"
    " fogged up, a child singing two rows behind, and the conductor walking past twice to check the"
    " tickets of everyone in the carriage before we reached the bridge over the river"
)


@pytest.fixture(scope="session")
def imbalanced_csv() -> Path:
    """200 rows, 15% positive: a split that is not stratified shows it."""
    return DATA / "imbalanced.csv"


@pytest.fixture(scope="session")
def imbalanced_rows(imbalanced_csv) -> dict[str, int]:
    with open(imbalanced_csv, encoding="utf-8", newline="") as fh:
        return {row["id"]: int(row["sentiment"] == "positive") for row in csv.DictReader(fh)}


@pytest.fixture(scope="session")
def clean_examples(seed) -> tuple[list[str], list[int]]:
    """128 unambiguous examples that any working loop fits within a few epochs. One in eight runs on
    past MAX_LENGTH (64) with a neutral aside, so a loop that does not truncate to it sees other
    inputs, and other losses, than one that does."""
    rng = random.Random(seed)
    things = [
        "this phone",
        "the film",
        "our hotel",
        "the pizza",
        "this game",
        "the concert",
        "my new shoes",
        "the app",
        "the service",
        "this book",
        "the weather",
        "our flight",
        "the coffee",
        "this album",
        "the lecture",
        "my laptop",
    ]
    good = ["is wonderful", "is excellent, I love it", "made me so happy", "is the best thing ever"]
    bad = ["is terrible", "is awful, I hate it", "made me so angry", "is the worst thing ever"]
    rows = [(f"{t} {g}", 1) for t in things for g in good] + [(f"{t} {b}", 0) for t in things for b in bad]
    rng.shuffle(rows)
    rows = [(text + LONG_ASIDE if i % 8 == 0 else text, label) for i, (text, label) in enumerate(rows)]
    return [text for text, _ in rows], [label for _, label in rows]


def read_labelled(path: Path) -> dict[str, tuple[str, int]]:
    """id -> (text, label) for a CSV with id, text and a sentiment or label column."""
    with open(path, encoding="utf-8", newline="") as fh:
        return {
            row["id"]: (
                row["text"],
                int(row["label"]) if "label" in row else int(row["sentiment"] == "positive"),
            )
            for row in csv.DictReader(fh)
        }


@pytest.fixture(scope="session")
def public_tweets(assets) -> dict[str, tuple[str, int]]:
    return read_labelled(assets.path("tweets") / "train.csv")


@pytest.fixture(scope="session")
def hidden_test(assets) -> dict[str, tuple[str, int]]:
    return read_labelled(assets.path("tweets-test") / "test.csv")


@pytest.fixture(scope="session")
def train_seed(seed) -> int:
    """The seed train() gets: never the starter's default SEED (1234, also the course's first seed),
    so that a train() that ignores its argument shows."""
    return seed + 1


@pytest.fixture(scope="session")
def trained(student, train_seed) -> dict:
    """Run the student's train() once in the worker, with train_seed; its graders share the run."""
    try:
        result = student.call(
            "train",
            student.asset("minilm"),
            student.asset("tweets"),
            student.scratch("model"),
            train_seed,
            timeout=TRAIN_TIMEOUT,
        )
    except StudentError as exc:
        return {"error": str(exc)}
    if not isinstance(result, dict):
        return {"error": "train() must return a dict (see its docstring)"}
    return {"result": result}


@pytest.fixture
def train_result(trained) -> dict:
    """The dict train() returned; if train() failed, its error fails each test that needs it."""
    if "error" in trained:
        raise StudentError(trained["error"])
    return trained["result"]


@pytest.fixture(scope="session")
def short_data(assets) -> str:
    """train.csv's first FEW_TWEETS rows, as a CSV."""
    lines = (assets.path("tweets") / "train.csv").read_text(encoding="utf-8").splitlines(keepends=True)
    return "".join(lines[: FEW_TWEETS + 1])


def _short_run(side, short_data: str, seed: int, call) -> dict:
    """`call(fn, *args)` runs `side`'s train() on the few tweets into scratch folder short-model-SEED:
    {"result": what it returned, "path": the saved folder}, or {"error": why it failed}."""
    data = side.scratch_path("few-tweets")
    data.mkdir(parents=True, exist_ok=True)
    (data / "train.csv").write_text(short_data, encoding="utf-8")
    into = f"short-model-{seed}"
    try:
        result = call("train", side.asset("minilm"), side.scratch("few-tweets"), side.scratch(into), seed)
    except StudentError as exc:
        return {"error": str(exc)}
    if not isinstance(result, dict):
        return {"error": "train() must return a dict (see its docstring)"}
    return {"result": result, "path": side.scratch_path(into)}


def _student_short_run(student, short_data: str, seed: int) -> dict:
    """The student's train() on the few tweets, under another global random state than the reference's."""

    def call(fn, *args):
        return student.call_with_global_seed(FOREIGN_GLOBAL_SEED, fn, *args, timeout=TRAIN_TIMEOUT)

    return _short_run(student, short_data, seed, call)


@pytest.fixture(scope="session")
def short_seeds(train_seed) -> tuple[int, int]:
    """Two more seeds for two short runs: with the full run's, train() is seen with three seeds, so
    one written out as a constant fails where another is given."""
    return train_seed + 1, train_seed + 2


@pytest.fixture(scope="session")
def short_run(student, short_data, short_seeds) -> dict:
    """The short run compared with the reference's (the first short seed)."""
    return _student_short_run(student, short_data, short_seeds[0])


@pytest.fixture(scope="session")
def split_run(student, short_data, short_seeds) -> dict:
    """The short run whose evaluation split is checked (the second short seed)."""
    return _student_short_run(student, short_data, short_seeds[1])


@pytest.fixture(scope="session")
def short_run_settings(student) -> dict:
    """The student's LEARNING_RATE, BATCH_SIZE and EPOCHS (the reference's short run uses them)."""
    settings = {name: student.constant(name) for name in ("LEARNING_RATE", "BATCH_SIZE", "EPOCHS")}
    for name, value in settings.items():
        kind, wanted = ("integer", int) if name == "BATCH_SIZE" else ("number", int | float)
        if isinstance(value, bool) or not isinstance(value, wanted) or value <= 0:
            raise StudentError(f"{name} is {value!r}: it must be a positive {kind}")
    return settings


@pytest.fixture(scope="session")
def reference_short_run(reference, short_data, short_seeds, short_run_settings) -> dict:
    """The reference's train() on the few tweets with the first short seed and the student's settings."""

    def call(fn, *args):
        return reference.call_with_constants(short_run_settings, fn, *args)

    return _short_run(reference, short_data, short_seeds[0], call)


def _result_of(run: dict) -> dict:
    """The dict a short run of train() returned; if it failed, its error fails the test."""
    if "error" in run:
        raise StudentError(f"train() on {FEW_TWEETS} tweets: {run['error']}")
    return run["result"]


@pytest.fixture
def short_result(short_run) -> dict:
    return _result_of(short_run)


@pytest.fixture
def split_result(split_run) -> dict:
    return _result_of(split_run)
