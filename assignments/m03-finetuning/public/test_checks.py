"""Public checks for module 3: run them with `course check m03-finetuning`.

They are quick: none trains the full model. Run train() yourself (see the handout) before you
submit; the grader runs it, then scores your saved model on tweets you have not seen.
"""

import shutil

from autograder.api import points


@points(1)
def test_splits(student, assets):
    """load_splits() makes a 90/10 stratified split of train.csv with int labels."""
    shutil.copy(assets.path("tweets") / "train.csv", student.scratch_path("train.csv"))
    got = student.call("data_summary", student.scratch("train.csv"), student.tokenizer("minilm"), 0.1, 1234)
    n_train, n_val = len(got["train"]["ids"]), len(got["validation"]["ids"])
    assert (n_train, n_val) == (1080, 120), (
        f"expected 1080 training and 120 validation rows, got {n_train}, {n_val}"
    )
    assert "labels" in got["train"]["columns"] and "text" not in got["train"]["columns"], got["train"][
        "columns"
    ]
    assert set(got["train"]["labels"]) == {0, 1}, "labels must be 0 and 1"


@points(1)
def test_collate(student):
    """collate() pads two texts to the longer one."""
    out = student.call("collate", student.tokenizer("minilm"), ["hi", "hello there world"], [0, 1])
    assert [len(r) for r in out["input_ids"]] == [5, 5], out["input_ids"]
    assert out["attention_mask"][0] == [1, 1, 1, 0, 0] and out["labels"] == [0, 1]


@points(1)
def test_metrics(student):
    """compute_metrics() on three predictions, one of them wrong."""
    got = student.call("compute_metrics", [[[0.1, 2.0], [1.0, -1.0], [0.0, 0.5]], [1, 0, 0]])
    want = {"accuracy": 2 / 3, "precision": 0.5, "recall": 1.0, "f1": 2 / 3}
    assert all(abs(got[k] - v) < 1e-9 for k, v in want.items()), f"got {got}, want {want}"


@points(1)
def test_manual_loop_runs(student):
    """manual_train() runs one epoch and returns a finite loss per step."""
    texts = ["great", "awful", "lovely stuff", "terrible stuff"] * 8
    labels = [1, 0, 1, 0] * 8
    got = student.call(
        "manual_train",
        student.tokenizer("minilm"),
        student.model("minilm", "AutoModelForSequenceClassification", num_labels=2),
        texts,
        labels,
        1,
    )
    losses = got["losses"]
    assert len(losses) >= 1 and all(loss == loss and abs(loss) < 1e6 for loss in losses), losses
