"""Hidden graders for module 7. Alignment and metrics are compared with the reference on hidden
sentences (one long enough for truncation to bind); the student's saved model is scored on the hidden
split here, in the trusted process, and the validation F1 train_ner() reports is recomputed. Two
short runs, each beside the reference's same run, show whether train_ner() follows its seed, epochs,
learning rate and batch size."""

import json
import math
import random
from pathlib import Path

import pytest
import torch
from seqeval.metrics import f1_score
from transformers import AutoModel, AutoModelForTokenClassification, AutoTokenizer, pipeline

from autograder.api import StudentError, load_saved_model, points, record_metric, same_plain, training_gap

LABELS = ["O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC", "B-MISC", "I-MISC"]
F1_THRESHOLD = 0.85  # the reference scores 0.944-0.984 (benchmarks/bench_m07_m08.py, seeds 1234, 7, 99)
ENTITY_KEYS = ("entity_group", "word", "start", "end")
# Two steps that change no weight: all a run leaves behind is its seeded head (and its epoch count)
SHORT_RUN = {"epochs": 0.02, "learning_rate": 0.0}
# Two steps that do: their weights show the batches' order (the Trainer's seed) and the learning rate
TRAINED_SHORT_RUN = {"epochs": 0.02, "learning_rate": 1e-3}
SAME_TRAINING = 0.01  # largest gap from the reference's run of the same seed
BATCH_SIZE = 16  # the handout's


def _batch(rows: list[dict]) -> dict:
    return {"tokens": [r["tokens"] for r in rows], "ner_tags": [r["ner_tags"] for r in rows]}


# Words that split into several tokens without "##" (hyphen, apostrophe, ampersand, dots): only
# word_ids() tells where a word starts
PUNCTUATED = {
    "tokens": ["Jean-Luc", "O'Neil", "joined", "AT&T", "in", "the", "U.S.", "in", "2010", "."],
    "ner_tags": [1, 2, 0, 3, 0, 0, 5, 0, 0, 0],
}
# Two sentences: the first ends inside a person's name, the second opens with a predicted I-PER.
# Scored sentence by sentence, that I-PER is an entity of its own; run together, it would extend
# the first sentence's name.
BOUNDARY_LABELS = [[-100, 0, 1, 2, -100], [-100, 0, 0, -100]]
BOUNDARY_PREDICTED = [[0, 0, 1, 2, 0], [0, 2, 0, 0]]


@points(3)
def test_alignment(student, reference, hidden_split):
    """tokenize_and_align_labels() labels each word's first subword and gives -100 to special tokens and
    continuations; sentences are truncated at 128 tokens."""
    rows = hidden_split[:60]
    long_row = {  # ~200 words: truncation at 128 tokens binds
        "tokens": [w for r in hidden_split[60:76] for w in r["tokens"]],
        "ner_tags": [t for r in hidden_split[60:76] for t in r["ner_tags"]],
    }
    batch = _batch([*rows[:30], long_row, *rows[30:], PUNCTUATED])
    got = student.call("tokenize_and_align_labels", student.tokenizer("minilm"), batch)
    want = reference.call("tokenize_and_align_labels", reference.tokenizer("minilm"), batch)
    assert isinstance(got, dict) and all(k in got for k in want), (
        "tokenize_and_align_labels() must return a dict with input_ids, attention_mask and labels"
    )
    assert isinstance(got["input_ids"], list) and len(got["input_ids"]) == len(want["input_ids"]), (
        "input_ids must hold one list per sentence of the batch"
    )
    lengths = [len(ids) for ids in got["input_ids"]]
    assert lengths[30] == 128, (
        f"a sentence of {len(long_row['tokens'])} words became {lengths[30]} tokens: truncate at 128 tokens"
    )
    assert same_plain(got["input_ids"], want["input_ids"]), (
        "the input_ids are wrong: tokenise the lists of words with is_split_into_words=True, truncation at "
        "128 tokens and no padding"
    )
    assert same_plain(got["attention_mask"], want["attention_mask"]), (
        "attention_mask must be the tokenizer's, one list per sentence, no padding"
    )
    assert isinstance(got["labels"], list) and len(got["labels"]) == len(want["labels"]), (
        "labels must hold one list per sentence of the batch"
    )
    for words, g, w in zip(batch["tokens"], got["labels"], want["labels"], strict=True):
        sentence = " ".join(words)
        assert isinstance(g, list) and len(g) == len(w), (
            f"labels must have one entry per token for {sentence!r}"
        )
        assert g[0] == -100 and g[-1] == -100, f"[CLS] and [SEP] must be labelled -100 (in {sentence!r})"
        for i, (gi, wi) in enumerate(zip(g, w, strict=True)):
            if wi == -100 and gi != -100:
                raise AssertionError(f"token {i} of {sentence!r} continues a word: its label must be -100")
            if wi != -100 and gi != wi:
                raise AssertionError(
                    f"token {i} of {sentence!r} starts a word: it must carry that word's label "
                    f"{wi} (is word_ids() read for the right sentence of the batch?)"
                )


def _noisy_logits(labels: list[list[int]], rng: random.Random) -> list[list[list[float]]]:
    """Logits that are right 75% of the time on scored tokens and random elsewhere."""
    rows = []
    for label_row in labels:
        row = []
        for gold in label_row:
            best = gold if gold != -100 and rng.random() < 0.75 else rng.randrange(len(LABELS))
            row.append([round(rng.gauss(0, 1) + (4.0 if k == best else 0.0), 4) for k in range(len(LABELS))])
        rows.append(row)
    return rows


@points(2)
def test_compute_metrics(student, reference, hidden_split, seed):
    """compute_metrics() scores entities with seqeval on the first subword of each word, skipping -100."""
    aligned = reference.call(
        "tokenize_and_align_labels", reference.tokenizer("minilm"), _batch(hidden_split[100:160])
    )
    boundary = [
        [[5.0 if k == best else 0.0 for k in range(len(LABELS))] for best in row]
        for row in BOUNDARY_PREDICTED
    ]
    for logits, labels, what in (
        (_noisy_logits(aligned["labels"], random.Random(seed)), aligned["labels"], "hidden sentences"),
        (boundary, BOUNDARY_LABELS, "two sentences, the second opening with a predicted I-PER"),
    ):
        got = student.call("compute_metrics", logits, labels)
        want = reference.call("compute_metrics", logits, labels)
        assert isinstance(got, dict) and all(k in got for k in want), (
            "compute_metrics() must return precision, recall and f1"
        )
        for key in ("precision", "recall", "f1"):
            assert same_plain(got[key], want[key], rel=1e-6), (
                f"on {what}, {key} is {got[key]!r}, expected {want[key]:.4f}: score whole entities "
                "with seqeval, sentence by sentence, only at positions whose label is not -100"
            )


def _id2label(model) -> dict[int, str]:
    return {int(k): v for k, v in model.config.id2label.items()}


@pytest.fixture(scope="session")
def untrained_run(train_ner, seed) -> dict:
    """train_ner() for 2% of an epoch at learning rate 0, with the next seed: a saved model with only
    its new head set, quick to make."""
    return train_ner("short-a", seed=seed + 1, **SHORT_RUN)


@points(1)
def test_saved_model_names_labels(untrained_run):
    """The model train_ner() saves maps label ids to the tag names in its config (id2label /
    label2id)."""
    model = load_saved_model(
        untrained_run["path"], "AutoModelForTokenClassification", expected="minilm", allow={"num_labels": 100}
    )
    names = _id2label(model)
    assert names == dict(enumerate(LABELS)), (
        f"the saved config's id2label is {names}; pass id2label and label2id built from LABELS to "
        "from_pretrained (label id i is LABELS[i], the id the data uses)"
    )
    assert {v: k for k, v in names.items()} == {k: int(v) for k, v in model.config.label2id.items()}, (
        "label2id must be the inverse of id2label"
    )


def hidden_f1(folder: Path, rows: list[dict], minilm: Path) -> float:
    """Entity F1 of a saved model on `rows`, predicting each word's tag from its first subword."""
    model = load_saved_model(
        folder, "AutoModelForTokenClassification", expected="minilm", allow={"num_labels": 100}
    )
    if model.config.num_labels != len(LABELS):
        raise StudentError(f"the saved model has {model.config.num_labels} labels; it needs {len(LABELS)}")
    names = _id2label(model)
    if sorted(names.values()) != sorted(LABELS):  # scored anyway; test_saved_model_names_labels says why
        names = dict(enumerate(LABELS))
    tokenizer = AutoTokenizer.from_pretrained(minilm)
    true_tags, pred_tags = [], []
    for start in range(0, len(rows), 50):
        batch = rows[start : start + 50]
        enc = tokenizer(
            [r["tokens"] for r in batch], is_split_into_words=True, padding=True, return_tensors="pt"
        )
        with torch.no_grad():
            predicted = model(input_ids=enc["input_ids"], attention_mask=enc["attention_mask"]).logits.argmax(
                -1
            )
        for i, row in enumerate(batch):
            first = {}
            for t, word in enumerate(enc.word_ids(batch_index=i)):
                if word is not None and word not in first:
                    first[word] = int(predicted[i, t])
            true_tags.append([LABELS[tag] for tag in row["ner_tags"]])
            pred_tags.append([names[first[w]] for w in range(len(row["tokens"]))])
    return float(f1_score(true_tags, pred_tags))


@points(1)
def test_train_report(trained, assets):
    """train_ner() returns the Trainer's evaluation of the validation split, with compute_metrics'
    entity F1, and saves the tokenizer beside the model."""
    saved = {p.name for p in trained["path"].iterdir()} if trained["path"].is_dir() else set()
    assert "tokenizer_config.json" in saved, (
        "save the tokenizer with save_pretrained() into the model's folder too: pipelines load it from there"
    )
    report = trained["report"]
    assert isinstance(report, dict) and isinstance(report.get("eval_f1"), int | float), (
        'train_ner() must return the Trainer\'s evaluation: {"eval_f1": ..., ...} '
        "(pass compute_metrics to the Trainer)"
    )
    rows = [
        json.loads(line) for line in (assets.path("ner-data") / "validation.jsonl").read_text().splitlines()
    ]
    f1 = hidden_f1(trained["path"], rows, assets.path("minilm"))
    assert abs(report["eval_f1"] - f1) <= 0.01, (
        f"train_ner() reports eval_f1 {report['eval_f1']:.4f}, but the saved model's entity F1 on "
        f"validation.jsonl is {f1:.4f}: evaluate the trained model on the validation split"
    )


def _weights(folder: Path) -> dict[str, torch.Tensor]:
    model = load_saved_model(
        folder, "AutoModelForTokenClassification", expected="minilm", allow={"num_labels": 100}
    )
    return model.state_dict()


@points(1)
def test_train_follows_seed_epochs_and_learning_rate(
    untrained_run, train_ner, reference_train_ner, seed, assets
):
    """train_ner() uses the seed, epochs, learning rate and batch size it is given: epochs=0.02 stops
    after 2% of an epoch's batches of 16, learning_rate=0 leaves MiniLM's weights as they were, and two
    short runs (seeds `seed + 1` and `seed`) train what a correct solution trains."""
    report = untrained_run["report"]
    assert isinstance(report, dict) and isinstance(report.get("epoch"), int | float), (
        "train_ner() must return the Trainer's evaluation (trainer.evaluate()), which holds the epoch"
    )
    assert report["epoch"] <= 0.1, (
        f"train_ner(epochs=0.02) trained for {report['epoch']:g} epochs: pass epochs to TrainingArguments"
    )
    # The Trainer runs ceil(epochs * batches per epoch) steps and reports the epoch it reached.
    sentences = len((assets.path("ner-data") / "train.jsonl").read_text().splitlines())
    batches = math.ceil(sentences / BATCH_SIZE)
    steps = math.ceil(SHORT_RUN["epochs"] * batches)
    assert math.isclose(report["epoch"], steps / batches, rel_tol=1e-6), (
        f"train_ner(epochs=0.02) stopped at epoch {report['epoch']:g}; in batches of {BATCH_SIZE}, the "
        f"{sentences} training sentences make {batches} steps an epoch, so it should stop after {steps} "
        f"(epoch {steps / batches:g}): use per_device_train_batch_size={BATCH_SIZE}"
    )
    loaded = AutoModel.from_pretrained(assets.path("minilm")).state_dict()
    body = {f"bert.{k}": v for k, v in loaded.items()}
    weights = _weights(untrained_run["path"])
    changed = [k for k, v in weights.items() if k in body and not torch.equal(v, body[k])]
    assert not changed, (
        f"with learning_rate=0 training changed MiniLM's weights ({changed[0]}): pass learning_rate to "
        "TrainingArguments"
    )
    head = _weights(reference_train_ner("short-a", seed=seed + 1, **SHORT_RUN)["path"])
    assert all(torch.allclose(weights[k], v, atol=1e-6) for k, v in head.items() if k not in body), (
        f"train_ner(seed={seed + 1}) starts from another classification head than a correct solution: "
        "call set_seed(seed) with the seed you are given, before from_pretrained"
    )
    trained = _weights(train_ner("short-b", seed=seed, **TRAINED_SHORT_RUN)["path"])
    want = _weights(reference_train_ner("short-b", seed=seed, **TRAINED_SHORT_RUN)["path"])
    gap = training_gap(trained, want, body)
    assert gap <= SAME_TRAINING, (
        f"train_ner(seed={seed}, epochs=0.02, learning_rate=1e-3) trains another model than a correct "
        f"solution (the weights differ by {gap:.0%} of what its training changed): call set_seed(seed) "
        "before from_pretrained, and give TrainingArguments the seed, epochs and learning rate you are "
        f"given, in batches of {BATCH_SIZE}"
    )


@points(4)
def test_entity_f1_on_hidden_split(trained_model, hidden_split, assets):
    """Your saved model reaches entity-level F1 0.85 on sentences with names and templates it never saw."""
    f1 = hidden_f1(trained_model, hidden_split, assets.path("minilm"))
    record_metric("entity_f1", round(f1, 4), leaderboard=True)
    assert f1 >= F1_THRESHOLD, f"entity F1 on the hidden split is {f1:.3f}; it must reach {F1_THRESHOLD}"


def _grouped(ner, texts: list[str]) -> list[list[dict]]:
    return [
        [
            {
                "entity_group": e["entity_group"],
                "word": e["word"],
                "start": int(e["start"]),
                "end": int(e["end"]),
            }
            for e in ner(text)
        ]
        for text in texts
    ]


@points(2)
def test_pipeline_groups_whole_words(student, hidden_split, assets, seed):
    """extract_entities() runs the token-classification pipeline of the model folder it is given and
    groups whole words into entities."""
    minilm = assets.path("minilm")
    tokenizer = AutoTokenizer.from_pretrained(minilm)
    texts = [" ".join(r["tokens"]) for r in hidden_split[200:210]]
    # probe models with untrained heads (two seeds, one call each): the pipeline's grouping is checked
    for probe_seed, name in ((seed, "probe-ner"), (seed + 1, "probe-ner-2")):
        torch.manual_seed(probe_seed)
        probe = AutoModelForTokenClassification.from_pretrained(
            minilm,
            num_labels=len(LABELS),
            id2label=dict(enumerate(LABELS)),
            label2id={label: i for i, label in enumerate(LABELS)},
        ).eval()
        folder = student.scratch_path(name)
        probe.save_pretrained(folder)
        tokenizer.save_pretrained(folder)
        for path in folder.iterdir():  # safetensors writes 0600; the worker runs as another user
            path.chmod(0o644)
        got = student.call("extract_entities", student.scratch(name), texts)
        accepted = {
            s: _grouped(
                pipeline(
                    "token-classification",
                    model=probe,
                    tokenizer=tokenizer,
                    device="cpu",
                    aggregation_strategy=s,
                ),
                texts,
            )
            for s in ("first", "max", "simple")
        }
        assert isinstance(got, list) and len(got) == len(texts), (
            "extract_entities() must return one list per text"
        )
        for entities in got:
            assert isinstance(entities, list) and all(
                isinstance(e, dict) and set(ENTITY_KEYS) <= set(e) for e in entities
            ), f"each entity must be a dict with {', '.join(ENTITY_KEYS)} (use an aggregation_strategy)"
        got = [[{k: e[k] for k in ENTITY_KEYS} for e in entities] for entities in got]
        if got == accepted["simple"] and got != accepted["first"]:
            raise AssertionError(
                'aggregation_strategy="simple" splits words apart on this model; use "first"'
            )
        assert got in (accepted["first"], accepted["max"]), (
            'the entities differ from the pipeline\'s with aggregation_strategy="first" on the same model'
            + (
                " (a second model folder: build the pipeline from `model_dir` on every call)"
                if name != "probe-ner"
                else ""
            )
        )
