"""Public checks for module 10: run them with `course check m10-sharing`.

They save and describe a model in your scratch folder; they do not push. The hidden tests also run
a class hub of their own and check what you push there, at the revisions you create.
"""

import json

from autograder.api import points

CARD = {
    "model_name": "my-minilm",
    "base_model": "sentence-transformers/all-MiniLM-L6-v2",
    "license": "apache-2.0",
    "datasets": ["imdb"],
    "metrics": ["accuracy"],
    "language": "en",
    "eval": {
        "task_type": "text-classification",
        "dataset_type": "imdb",
        "dataset_name": "IMDB",
        "metric_type": "accuracy",
        "metric_value": 0.9,
    },
}


@points(1)
def test_round_trip_uses_safetensors(student):
    """save_round_trip() writes model.safetensors and the tokenizer, and reloads them identically."""
    out = student.call(
        "save_round_trip",
        student.model("minilm", "AutoModel"),
        student.tokenizer("minilm"),
        student.scratch("saved"),
    )
    assert "model.safetensors" in out["files"] and "tokenizer.json" in out["files"], out["files"]
    assert out["same_weights"] and out["same_ids"]


@points(1)
def test_relabel(student):
    """relabel_config() saves id2label and label2id."""
    student.call("relabel_config", student.asset("minilm"), ["neg", "pos"], student.scratch("cfg"))
    saved = json.loads((student.scratch_path("cfg") / "config.json").read_text())
    assert saved["id2label"] == {"0": "neg", "1": "pos"} and saved["label2id"] == {"neg": 0, "pos": 1}


@points(1)
def test_card_metadata(student):
    """write_card() puts the license and a model-index with the eval result in the metadata."""
    text = student.call("write_card", student.scratch(""), CARD)
    head = text.split("---")[1]
    assert "license: apache-2.0" in head and "model-index" in head and "value: 0.9" in head, head


@points(1)
def test_pair_similarity(student):
    """pair_similarity() is 1.0 for a sentence paired with itself, and lower for unrelated ones."""
    model, tokenizer = student.model("minilm", "AutoModel"), student.tokenizer("minilm")
    same = student.call("pair_similarity", model, tokenizer, [["The cat sleeps.", "The cat sleeps."]])
    apart = student.call("pair_similarity", model, tokenizer, [["The cat sleeps.", "Stocks fell on Monday."]])
    assert isinstance(same, float) and abs(same - 1.0) < 1e-3, (
        f"a sentence paired with itself scores {same!r}, not 1.0"
    )
    assert isinstance(apart, float) and apart < 0.5, (
        f"unrelated sentences score {apart!r}: are you pooling over the mask?"
    )
