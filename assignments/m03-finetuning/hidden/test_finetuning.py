"""Hidden graders for module 3. The cheap ones check each step on inputs the student has not seen;
the last ones share one run of the student's train() in the worker and judge the saved model here,
in the trusted process, on a hidden test split that the student's code never sees."""

import csv
import io
import math
import random
import shutil
import struct

import torch
from transformers import AutoModel, AutoTokenizer

from autograder.api import (
    StudentError,
    load_saved_model,
    load_saved_tokenizer,
    points,
    read_saved_json,
    record_metric,
    same_plain,
    training_gap,
)

# what torch, numpy and tokenizers say when asked to stack sequences of different lengths
UNPADDED = ("expected sequence of length", "Unable to create tensor", "inhomogeneous", "same length")
# 90 words, ~92 tokens: truncation to MAX_LENGTH (64) binds
LONG_TWEET = " ".join(["the bus was late again and the driver did not even say sorry to anyone"] * 6)
THRESHOLD = 0.85  # hidden-test accuracy to pass; always answering "positive" scores 0.680
# The manual loop's losses against the reference's with the student's settings: the reference's own
# gap is 0.0 measured (float noise at most); the mistakes that pass the convergence test (no
# scheduler step, no model.train(), no shuffle) are 0.036 or more away.
LOSS_TOLERANCE = 1e-3
# The short run's weights against the reference's with the same seed and settings: 0.0 apart measured;
# another seed, batch order or learning rate is ~0.5 of what training changed or more.
SAME_TRAINING = 0.01


# -- 1. data ---------------------------------------------------------------------------------------


def _write_csv(path, rows: list[tuple[str, str, str]]) -> None:
    with open(path, "w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["id", "text", "sentiment"])
        writer.writerows(rows)


@points(3)
def test_splits_are_labelled_and_stratified(student, imbalanced_csv, imbalanced_rows, assets):
    """load_splits() makes int "labels", a stratified train/validation split chosen by the seed, and
    tokenized columns truncated to MAX_LENGTH."""
    # the worker cannot read hidden/; copyfile, not copy: the hidden file's mode (root-only in the
    # course image) must not come along, or the worker cannot read the copy either
    shutil.copyfile(imbalanced_csv, student.scratch_path("imbalanced.csv"))

    def summary(fraction: float, seed: int) -> dict:
        return student.call(
            "data_summary", student.scratch("imbalanced.csv"), student.tokenizer("minilm"), fraction, seed
        )

    validation_ids = {}
    for fraction, seed in ((0.25, 11), (0.1, 5)):
        got = summary(fraction, seed)
        assert isinstance(got, dict) and {"train", "validation"} <= got.keys(), (
            'load_splits() must return a DatasetDict with "train" and "validation"'
        )
        train, val = got["train"], got["validation"]
        for part in (train, val):
            columns = part.get("columns", [])
            if "labels" not in columns:
                raise AssertionError(
                    f'the columns are {columns}: rename the label column to "labels", the name '
                    "the model's forward() takes"
                )
            assert {"input_ids", "attention_mask"} <= set(columns), (
                "tokenize the texts with map(batched=True)"
            )
            assert "text" not in columns, (
                'drop the "text" column after tokenizing (the collator cannot pad strings)'
            )
            if not all(isinstance(y, int) and not isinstance(y, bool) for y in part.get("labels", [])):
                raise AssertionError(
                    'the labels must be class ids (ints): cast "sentiment" to ClassLabel(names=LABELS) '
                    "so that negative is 0 and positive is 1"
                )
        ids_train, ids_val = [str(i) for i in train["ids"]], [str(i) for i in val["ids"]]
        assert not set(ids_train) & set(ids_val), (
            "some examples are in both the training and the validation split"
        )
        assert sorted(ids_train + ids_val) == sorted(imbalanced_rows), (
            "the two splits must hold every row exactly once"
        )
        truth = [imbalanced_rows[i] for i in ids_train + ids_val]
        assert train["labels"] + val["labels"] == truth, (
            "the labels are wrong: negative must be 0 and positive 1"
        )
        n_val = math.ceil(fraction * len(imbalanced_rows))
        assert abs(len(ids_val) - n_val) <= 1, (
            f"the validation split should hold {n_val} rows for val_fraction={fraction}"
        )
        share = sum(imbalanced_rows.values()) / len(imbalanced_rows)
        assert abs(sum(val["labels"]) - share * len(ids_val)) <= 1, (
            f"the validation split has {sum(val['labels'])} positives out of {len(ids_val)}, but "
            f'{share:.0%} of the data is positive: stratify the split (stratify_by_column="labels")'
        )
        validation_ids[fraction, seed] = sorted(ids_val)
    again = sorted(str(i) for i in summary(0.25, 11)["validation"]["ids"])
    assert again == validation_ids[0.25, 11], "the same seed must give the same split: pass seed to the split"
    other = sorted(str(i) for i in summary(0.25, 12)["validation"]["ids"])
    assert other != validation_ids[0.25, 11], (
        "seeds 11 and 12 gave the same validation split: choose the split with the seed argument"
    )

    words = LONG_TWEET.split()
    rows = [(f"t{i}", " ".join(words[: 3 + 8 * i]), ("negative", "positive")[i % 2]) for i in range(12)]
    _write_csv(student.scratch_path("lengths.csv"), rows)
    got = student.call("data_summary", student.scratch("lengths.csv"), student.tokenizer("minilm"), 0.25, 3)
    tokenizer = AutoTokenizer.from_pretrained(assets.path("minilm"))
    want = {i: min(len(tokenizer(text)["input_ids"]), 64) for i, text, _ in rows}
    lengths = {
        str(i): n
        for part in ("train", "validation")
        for i, n in zip(got[part]["ids"], got[part].get("lengths", []), strict=False)
    }
    assert lengths == want, (
        "the tokenized rows have the wrong lengths: tokenize with truncation to MAX_LENGTH (64) and no "
        "padding (the collator pads each batch)"
    )


@points(2)
def test_collate_pads_each_batch(student, reference):
    """collate() truncates to MAX_LENGTH, pads a batch to its longest example and masks the padding."""
    batches = [
        (
            ["fine", "a much longer tweet that goes on and on about nothing at all", "ok then", "meh!"],
            [1, 0, 1, 0],
        ),
        (["so short", LONG_TWEET, "nice one"], [0, 1, 1]),
    ]
    for texts, labels in batches:
        try:
            got = student.call("collate", student.tokenizer("minilm"), texts, labels)
        except StudentError as exc:
            if not any(sign in str(exc) for sign in UNPADDED):
                raise
            raise AssertionError(
                "the batch could not be built. Texts of different lengths must be padded to one length: "
                f"use DataCollatorWithPadding(tokenizer).\n\n{exc}"
            ) from None
        want = reference.call("collate", reference.tokenizer("minilm"), texts, labels)
        assert isinstance(got, dict), "collate() must return a dict"
        lengths = {len(row) for row in got.get("input_ids", [])}
        assert len(lengths) == 1, "the rows have different lengths: pad the batch"
        width = len(want["input_ids"][0])
        assert lengths == {width}, (
            f"the batch is {lengths.pop()} tokens wide, it should be {width}: truncate each text to "
            "MAX_LENGTH, then pad to the longest text of the batch (dynamic padding), not to a fixed length"
        )
        for key in ("input_ids", "attention_mask", "labels"):
            assert same_plain(got.get(key), want[key]), f"the batch's {key} is wrong"


# -- 2. metrics ------------------------------------------------------------------------------------


def _metric_cases(seed: int) -> dict[str, tuple[list, list]]:
    rng = random.Random(seed)

    def logits_for(predicted: list[int]) -> list[list[float]]:
        return [
            [round(rng.uniform(-2, 2), 3), 0.0] if p == 0 else [0.0, round(rng.uniform(0.1, 3), 3)]
            for p in predicted
        ]

    labels = [rng.randint(0, 1) for _ in range(40)]
    mixed = [y if rng.random() < 0.75 else 1 - y for y in labels]
    skewed = [0] * 45 + [1] * 5
    skewed_pred = [1 if i % 9 == 0 else 0 for i in range(45)] + [1, 1, 0, 1, 0]
    return {
        "balanced": (logits_for(mixed), labels),
        "imbalanced": (logits_for(skewed_pred), skewed),
        "no positive labels": (logits_for([0, 1, 0, 0, 1, 0]), [0] * 6),
        "nothing predicted positive": (logits_for([0] * 8), [1, 0, 1, 0, 0, 1, 0, 0]),
        "all positive and right": (logits_for([1] * 5), [1] * 5),
    }


@points(3)
def test_compute_metrics(student, reference, seed):
    """compute_metrics() gives accuracy, F1, precision and recall of the positive class, edge cases
    included."""
    for case, (logits, labels) in _metric_cases(seed).items():
        got = student.call("compute_metrics", [logits, labels])
        want = reference.call("compute_metrics", [logits, labels])
        assert isinstance(got, dict), "compute_metrics() must return a dict"
        for key, value in want.items():
            assert key in got, f"compute_metrics() has no {key!r}"
            mine = got[key]
            assert isinstance(mine, int | float) and not math.isnan(mine), (
                f"{case}: {key} is {mine!r}; a 0/0 ratio must count as 0.0 (zero_division=0)"
            )
            assert same_plain(float(mine), value, abs_=1e-9), (
                f"{case}: {key} should be {value:.4f}, not {mine:.4f} (binary metrics of class 1, computed "
                "on the argmax of the logits)"
            )


@points(2)
def test_evaluate_in_eval_mode(student, reference, seed):
    """evaluate() scores a model in eval mode, whatever mode it arrives in, and reports compute_metrics'
    numbers."""
    texts = ["what a lovely day", "I can't stand this", "what a lovely day", "meh", "I can't stand this"]
    labels = [1, 0, 1, 0, 0]
    got = student.call(
        "evaluate",
        student.tokenizer("minilm"),
        student.model("minilm", "AutoModelForSequenceClassification", train=True, num_labels=2),
        texts,
        labels,
    )
    assert isinstance(got, dict) and isinstance(got.get("probabilities"), list), (
        'evaluate() must return a dict with "probabilities"'
    )
    probs = got["probabilities"]
    assert len(probs) == len(texts) and all(len(p) == 2 for p in probs), "one pair of probabilities per text"
    assert all(abs(sum(p) - 1) < 1e-4 for p in probs), "each row of probabilities must sum to 1 (softmax)"
    assert same_plain(probs[0], probs[2], abs_=1e-5) and same_plain(probs[1], probs[4], abs_=1e-5), (
        "the same text got different probabilities in one evaluation: the model is still in training mode "
        "(dropout is on); call model.eval() before evaluating"
    )
    logits = [[math.log(max(a, 1e-12)), math.log(max(b, 1e-12))] for a, b in probs]
    want = reference.call("compute_metrics", [logits, labels])
    for key, value in want.items():
        assert same_plain(float(got.get(key, math.nan)), value, abs_=1e-6), (
            f"evaluate()'s {key} does not match compute_metrics() on its own predictions"
        )

    # 96 texts: several batches whatever BATCH_SIZE (8-32) is, and a whole number of them for 8, 12, 16,
    # 24 and 32, so a loop past the end meets an empty batch. The first batch holds long texts, the
    # last only short ones, so a text's padding differs from one batch to the other.
    words = LONG_TWEET.split()
    late = " ".join(words[:80] + ["but", "the", "ride", "home", "was", "lovely"])  # differs past token 64
    early = " ".join(words[:30] + ["lovely", "lovely"] + words[32:])  # differs near token 31
    short = "what a lovely day"
    many = [LONG_TWEET, late, early, short] + [f"tweet number {i} is fine" for i in range(91)] + [short]
    got = student.call(
        "evaluate",
        student.tokenizer("minilm"),
        student.model("minilm", "AutoModelForSequenceClassification", train=True, num_labels=2),
        many,
        [i % 2 for i in range(len(many))],
    )
    probs = got.get("probabilities") if isinstance(got, dict) else None
    assert isinstance(probs, list) and len(probs) == len(many), "one pair of probabilities per text"
    assert same_plain(probs[3], probs[-1], abs_=1e-5), (
        "the same text got different probabilities in two batches padded to different lengths: pass the "
        "attention mask to the model, so that it ignores the padding"
    )
    assert same_plain(probs[0], probs[1], abs_=1e-5), (
        "two texts that differ only after their first 64 tokens got different probabilities: truncate to "
        "MAX_LENGTH"
    )
    assert not same_plain(probs[0], probs[2], abs_=1e-6), (
        "two texts that differ within their first 64 tokens got the same probabilities: truncate to "
        "MAX_LENGTH (64), not shorter"
    )
    alone = student.call(
        "evaluate",
        student.tokenizer("minilm"),
        student.model("minilm", "AutoModelForSequenceClassification", num_labels=2),
        [short],
        [1],
    )
    probs = alone.get("probabilities") if isinstance(alone, dict) else None
    assert isinstance(probs, list) and len(probs) == 1, (
        f"evaluate() on one text gave {len(probs) if isinstance(probs, list) else 'no'} probabilities: the "
        "batches must cover every text, the last one included"
    )


# -- 3. the manual loop ----------------------------------------------------------------------------


def _check_losses(losses, where: str, min_steps: int) -> None:
    """Finite, and the last third of training well under the start and under 0.5: a model that learned
    nothing stays near the entropy of the label shares (0.69 balanced, 0.63 on the tweets)."""
    assert isinstance(losses, list) and len(losses) >= min_steps, (
        f"{where}: expected a loss for each of at least {min_steps} logged steps, got {losses!r:.200}"
    )
    assert all(isinstance(x, int | float) for x in losses), f"{where}: every loss must be a number"
    if not all(math.isfinite(x) for x in losses):
        raise AssertionError(f"{where}: the loss became inf or NaN: the learning rate is far too high")
    third = max(1, len(losses) // 3)
    first, last = losses[0], sum(losses[-third:]) / third
    assert last < min(0.75 * first, 0.5), (
        f"{where}: the loss did not fall enough (first {first:.3f}, mean of the last third {last:.3f}). "
        "Is the learning rate too high (fine-tuning uses 1e-5 to 2e-4), or are the gradients never applied "
        "or never cleared, or the labels wrong?"
    )


@points(3)
def test_manual_loop_converges(student, reference, clean_examples):
    """manual_train() runs a working PyTorch loop: the loss of every step is finite and falls, and one
    epoch gives the losses a loop with your LEARNING_RATE and BATCH_SIZE gives (texts truncated to
    MAX_LENGTH, shuffled batches, training mode, gradients cleared every step, the linear schedule
    stepped)."""
    texts, labels = clean_examples
    got = student.call(
        "manual_train",
        student.tokenizer("minilm"),
        student.model("minilm", "AutoModelForSequenceClassification", num_labels=2),
        texts,
        labels,
        4,
        timeout=600,
    )
    assert isinstance(got, dict), 'manual_train() must return {"losses": [...]}'
    _check_losses(got.get("losses"), "manual_train()", 8)
    one = student.call(
        "manual_train",
        student.tokenizer("minilm"),
        student.model("minilm", "AutoModelForSequenceClassification", num_labels=2),
        texts,
        labels,
        1,
        timeout=600,
    )
    steps = len(one.get("losses") or []) if isinstance(one, dict) else 0
    assert steps and len(got["losses"]) == 4 * steps, (
        f"manual_train() made {len(got['losses'])} steps in 4 epochs but {steps} in one: train for the given "
        "number of epochs, one step per batch of BATCH_SIZE"
    )
    learning_rate, batch_size = student.constant("LEARNING_RATE"), student.constant("BATCH_SIZE")
    assert isinstance(batch_size, int) and 8 <= batch_size <= 32, (
        f"BATCH_SIZE is {batch_size!r}: choose 8 to 32"
    )
    assert isinstance(learning_rate, int | float) and 1e-5 <= learning_rate <= 2e-4, (
        f"LEARNING_RATE is {learning_rate!r}: fine-tuning takes small steps, between 1e-5 and 2e-4"
    )
    assert steps == math.ceil(len(texts) / batch_size), (
        f"manual_train() made {steps} steps in one epoch of {len(texts)} texts; in batches of BATCH_SIZE "
        f"({batch_size}) that is {math.ceil(len(texts) / batch_size)}: pass batch_size to the DataLoader"
    )
    # The same seeded start on both sides (the model's new head included): a correct loop with the
    # student's settings gives the same losses, up to the float noise of another process.
    want = reference.call_with_constants(
        {"LEARNING_RATE": learning_rate, "BATCH_SIZE": batch_size},
        "manual_train",
        reference.tokenizer("minilm"),
        reference.model("minilm", "AutoModelForSequenceClassification", num_labels=2),
        texts,
        labels,
        1,
    )["losses"]
    step, gap = max(
        enumerate(abs(a - b) for a, b in zip(one["losses"], want, strict=True)), key=lambda x: x[1]
    )
    record_metric("manual_loop_max_loss_gap", gap)
    assert gap <= LOSS_TOLERANCE, (
        f"step {step + 1} of one epoch has loss {one['losses'][step]:.4f}; a loop with your LEARNING_RATE "
        f"and BATCH_SIZE has {want[step]:.4f}. Check the loop against the docstring: a shuffled DataLoader "
        "(shuffle=True), texts truncated to MAX_LENGTH, model.train() (dropout on), AdamW at LEARNING_RATE, "
        "and every step: backward, optimizer.step(), scheduler.step(), optimizer.zero_grad()"
    )


# -- 4. Trainer, the saved model and the hidden test split ------------------------------------------


def _predict(model, tokenizer, texts: list[str]) -> list[int]:
    out = []
    with torch.no_grad():
        for start in range(0, len(texts), 64):
            batch = tokenizer(
                texts[start : start + 64], padding=True, truncation=True, max_length=64, return_tensors="pt"
            )
            out.extend(model(**batch).logits.argmax(-1).tolist())
    return out


def _saved(student):
    folder = student.scratch_path("model")
    model = load_saved_model(
        folder, "AutoModelForSequenceClassification", expected="minilm", allow={"num_labels": 100}
    )
    if model.config.num_labels != 2:
        raise StudentError(f"your saved model has {model.config.num_labels} labels; it must have 2")
    return model, load_saved_tokenizer(folder, expected="minilm")


@points(3)
def test_training_loss_falls(train_result):
    """train() logs a training loss that is finite and falls during training."""
    _check_losses(train_result.get("losses"), "train()", 5)


@points(2)
def test_evaluates_on_held_out_data(student, split_result, short_data, short_seeds):
    """train() evaluates on the validation split load_splits() makes with its seed, which shares no
    example with the training data (seen on a short run, on the first 120 tweets of train.csv)."""
    rows = {row["id"]: row for row in csv.DictReader(io.StringIO(short_data))}
    train_ids = {str(i) for i in split_result.get("train_ids") or []}
    eval_ids = [str(i) for i in split_result.get("eval_ids") or []]
    assert train_ids and eval_ids, "train() must return the train_ids and eval_ids it used"
    assert set(eval_ids) <= set(rows) and train_ids <= set(rows), (
        "train_ids and eval_ids must be ids from the train.csv train() was given"
    )
    overlap = train_ids & set(eval_ids)
    assert not overlap, (
        f"{len(overlap)} of the {len(eval_ids)} evaluation examples are also training examples: "
        "evaluate on the validation split, never on the training data"
    )
    fraction = (len(eval_ids) - 0.5) / len(rows)  # VAL_FRACTION, as far as the split can tell
    split = student.call(
        "data_summary",
        student.scratch("few-tweets/train.csv"),
        student.tokenizer("minilm"),
        fraction,
        short_seeds[1],
    )
    assert sorted(str(i) for i in split["validation"]["ids"]) == sorted(eval_ids), (
        f"train() was called with seed={short_seeds[1]}, but its validation split is not load_splits()'s for "
        "that seed: split with the seed argument (and set_seed(seed)), not a constant"
    )


def _weights(folder) -> dict[str, torch.Tensor]:
    model = load_saved_model(
        folder, "AutoModelForSequenceClassification", expected="minilm", allow={"num_labels": 100}
    )
    return model.state_dict()


@points(2)
def test_train_follows_its_seed_and_settings(
    short_run, reference_short_run, short_result, short_seeds, assets
):
    """A short run of train() (the first 120 tweets of train.csv, your LEARNING_RATE, BATCH_SIZE and
    EPOCHS) trains what a correct train() trains with the same seed and settings, whatever the global
    random state, and logs the same losses."""
    if "error" in reference_short_run:
        raise StudentError(f"with your settings, a correct train() fails too: {reference_short_run['error']}")
    want = reference_short_run["result"]
    body = AutoModel.from_pretrained(assets.path("minilm")).state_dict()
    start = {f"bert.{name}": weight for name, weight in body.items()}
    gap = training_gap(_weights(short_run["path"]), _weights(reference_short_run["path"]), start)
    assert gap <= SAME_TRAINING, (
        f"train(seed={short_seeds[0]}) trains another model than a correct solution with your settings (the "
        f"weights differ by {gap:.0%} of what training changed): call set_seed(seed) before "
        "from_pretrained, and give TrainingArguments the seed, LEARNING_RATE, BATCH_SIZE, EPOCHS and the "
        "warmup the docstring names"
    )
    losses = short_result.get("losses")
    assert isinstance(losses, list) and len(losses) == len(want["losses"]), (
        f"train() logged {len(losses) if isinstance(losses, list) else 'no'} training losses on this run; "
        f"logging every 5 steps gives {len(want['losses'])}: set logging_steps=5"
    )
    same = all(
        isinstance(a, int | float) and math.isclose(a, b, rel_tol=1e-3)
        for a, b in zip(losses, want["losses"], strict=True)
    )
    assert same, (
        f"train() logged the losses {losses}, but this training's are "
        f"{[round(x, 4) for x in want['losses']]}: log the Trainer's training loss (log_history's \"loss\")"
    )


@points(2)
def test_reload_gives_same_predictions(student, reference, train_result, public_tweets):
    """The saved model, reloaded, predicts what the trained model predicted, and the reported metrics
    match."""
    eval_ids = [str(i) for i in train_result.get("eval_ids") or []]
    predicted = train_result.get("eval_predictions")
    assert isinstance(predicted, list) and len(predicted) == len(eval_ids) > 0, (
        "train() must return one eval_prediction per eval_id"
    )
    model, tokenizer = _saved(student)
    reloaded = _predict(model, tokenizer, [public_tweets[i][0] for i in eval_ids])
    agree = sum(a == b for a, b in zip(reloaded, predicted, strict=True)) / len(eval_ids)
    assert agree >= 0.99, (
        f"the reloaded model agrees with the trained one on only {agree:.0%} of the validation "
        "split: save the trained model (after trainer.train()) with save_pretrained()"
    )
    truth = [public_tweets[i][1] for i in eval_ids]
    one_hot = [[0.0, 1.0] if p == 1 else [1.0, 0.0] for p in predicted]
    want = reference.call("compute_metrics", [one_hot, truth])
    reported = train_result.get("metrics") or {}
    for key, value in want.items():
        mine = reported.get(key)
        assert isinstance(mine, int | float) and abs(mine - value) < 1e-6, (
            f"the reported validation {key} {mine!r} is not the {key} of eval_predictions ({value:.4f}): "
            "report the final evaluation on the validation split"
        )


@points(5)
def test_hidden_test_accuracy(student, train_result, hidden_test):
    """Your saved model reaches 85% accuracy on tweets you have never seen (always "positive" gets 68.0%)."""
    model, tokenizer = _saved(student)
    rows = list(hidden_test.values())
    predicted = _predict(model, tokenizer, [text for text, _ in rows])
    accuracy = sum(p == y for p, (_, y) in zip(predicted, rows, strict=True)) / len(rows)
    record_metric("accuracy", round(accuracy, 4), leaderboard=True)
    assert accuracy >= THRESHOLD, (
        f"accuracy on the hidden test split is {accuracy:.3f}; it must reach {THRESHOLD} "
        "(the majority class gets 0.680)"
    )


def _points(points: object) -> list[list[float]]:
    """A line's [x, y] points in step order, or [] when they are not pairs of numbers."""
    if not isinstance(points, list) or not all(
        isinstance(p, list) and len(p) == 2 and all(isinstance(v, int | float) for v in p) for p in points
    ):
        return []
    return sorted(points)


def _log_history() -> list[dict]:
    """A Trainer log history as train() produces it: running losses every 10 steps, the two
    evaluations every 20, and the final summary (train_loss, not loss)."""
    history: list[dict] = []
    for step in range(10, 90, 10):
        history.append({"loss": round(0.7 - step / 200, 4), "learning_rate": 1e-4, "step": step})
        if step % 20 == 0:
            train, validation = round(step / 300, 4), round(step / 400, 4)
            history.append({"eval_train_loss": 0.6 - train, "eval_train_accuracy": 0.6 + train, "step": step})
            history.append(
                {
                    "eval_validation_loss": 0.62 - validation,
                    "eval_validation_accuracy": 0.58 + validation,
                    "step": step,
                }
            )
    history.append({"train_runtime": 60.0, "train_loss": 0.45, "step": 80})
    return history


@points(1)
def test_plot_curves_shows_each_series(student):
    """plot_curves() draws the three loss series on the left panel and the two accuracy series on the
    right, each a labelled line with one point per logged step, and saves the PNG."""
    history = _log_history()
    shown = student.call("plot_curves", history, student.scratch("curves-check.png"))
    assert isinstance(shown, dict) and all(isinstance(shown.get(k), dict) for k in ("loss", "accuracy")), (
        'plot_curves() must return {"loss": {label: points}, "accuracy": {...}}, read back from its panels'
    )

    def points_of(key: str) -> list[list[float]]:
        return [[row["step"], row[key]] for row in history if key in row]

    for panel, keys in (("loss", ("loss", "eval_train_loss", "eval_validation_loss")),
                        ("accuracy", ("eval_train_accuracy", "eval_validation_accuracy"))):  # fmt: skip
        lines = shown[panel]
        hidden = [label for label in lines if not label or label.startswith("_")]
        assert not hidden, (
            f"a line of the {panel} panel has no label ({hidden[0]!r}): pass label=... to plot()"
        )
        drawn = sorted(_points(points) for points in lines.values())
        wanted = sorted(_points(points_of(key)) for key in keys)
        assert same_plain(drawn, wanted, abs_=1e-9), (
            f"the {panel} panel shows {len(drawn)} series; it should show {', '.join(keys)} from the log "
            "history, each against its step"
        )
    png = student.scratch_path("curves-check.png")
    assert png.is_file() and _png_size(png.read_bytes()) is not None, "plot_curves() did not save a PNG"


def _png_size(data: bytes) -> tuple[int, int] | None:
    if data[:8] != b"\x89PNG\r\n\x1a\n" or data[12:16] != b"IHDR":
        return None
    return struct.unpack(">II", data[16:24])


@points(1)
def test_saved_config_names_the_labels(student, train_result):
    """The saved config names the classes: id2label {0: "negative", 1: "positive"} and label2id back."""
    config = read_saved_json(student.scratch_path("model") / "config.json")
    id2label = config.get("id2label") if isinstance(config, dict) else None
    assert id2label == {"0": "negative", "1": "positive"}, (
        f"the saved id2label is {id2label!r}: pass id2label (and label2id) naming LABELS to from_pretrained()"
    )
    assert config.get("label2id") == {"negative": 0, "positive": 1}, (
        f"the saved label2id is {config.get('label2id')!r}: it must map LABELS back to 0 and 1"
    )


@points(1)
def test_curves_png(student, train_result):
    """train() plots its loss and accuracy curves into curves.png next to the model."""
    path = student.scratch_path("model") / "curves.png"
    assert path.is_file(), "there is no curves.png in the output folder"
    data = path.read_bytes()
    size = _png_size(data)
    assert size is not None, "curves.png is not a PNG image"
    assert 10_000 <= len(data) <= 5_000_000 and min(size) >= 200, (
        f"curves.png ({size[0]}x{size[1]}, {len(data)} bytes) does not look like two plotted panels"
    )
