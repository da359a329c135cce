"""Hidden graders for module 8. Preprocessing is compared with the reference on hidden inputs, for two
window sizes; spans are checked for their properties (valid, faithfully reported, the best score the
reference finds) under several length bounds; answer() runs on a model the grader builds; the
student's saved model is scored on the hidden split in the trusted process. Two short runs, each
beside the reference's same run, show whether train_qa() follows its seed, epochs, learning rate and
batch size."""

import math
import random
from pathlib import Path

import evaluate
import torch
from transformers import AutoModel, AutoTokenizer

from autograder.api import load_saved_model, points, record_metric, same_plain, training_gap

EM_THRESHOLD = 0.85  # the reference scores 99.3-100% (benchmarks/bench_m07_m08.py, seeds 1234, 7, 99)
MAX_LENGTH, STRIDE = 48, 16
BATCH_SIZE = 16  # the handout's
# Two steps that change no weight: all a run leaves behind is its seeded head (and its step count)
SHORT_RUN = {"epochs": 0.02, "learning_rate": 0.0}
# Two steps that do: their weights show the batches' order (the Trainer's seed) and the learning rate
TRAINED_SHORT_RUN = {"epochs": 0.02, "learning_rate": 1e-3}
SAME_TRAINING = 0.01  # largest gap from the reference's run of the same seed


def _batch(rows: list[dict]) -> dict:
    return {k: [r[k] for r in rows] for k in ("id", "question", "context", "answers")}


def _row(question: str, context: str, answer: str, occurrence: int = 0) -> dict:
    """A hand-made example whose answer is the `occurrence`-th appearance of `answer` in `context`."""
    start = -1
    for _ in range(occurrence + 1):
        start = context.index(answer, start + 1)
    return {"id": f"made-{start}", "question": question, "context": context,
            "answers": {"text": [answer], "answer_start": [start]}}  # fmt: skip


# The answer's text also appears before it: answer_start, not a search for the text, says where it is.
TWICE = [
    _row(
        "Where did she move in 2001?",
        "Ada was born in Paris. In 2001 she moved back to Paris for good.",
        "Paris",
        1,
    ),
    _row(
        "What did the second report cost?",
        "The first report cost 40 euros; the second report cost 40 euros too, and the third one 55 euros.",
        "40 euros",
        1,
    ),
]
# Contexts short enough for one window each: every window is still padded to max_length.
SHORT = [
    _row("Who wrote it?", "Mary wrote it.", "Mary"),
    _row("What colour is the sky?", "The sky is blue today.", "blue"),
]


@points(3)
def test_train_features(student, reference, hidden_split):
    """prepare_train_features() windows each context with a stride and labels the answer's first and last
    token."""
    for rows, max_length, stride in (
        (hidden_split[:40] + TWICE, MAX_LENGTH, STRIDE),
        (hidden_split[:40] + TWICE, 32, 8),
        (SHORT, MAX_LENGTH, STRIDE),
    ):
        batch = _batch(rows)
        got = student.call("prepare_train_features", student.tokenizer("minilm"), batch, max_length, stride)
        want = reference.call(
            "prepare_train_features", reference.tokenizer("minilm"), batch, max_length, stride
        )
        assert isinstance(got, dict) and all(k in got for k in want), (
            f"prepare_train_features() must return a dict with {', '.join(want)}"
        )
        assert same_plain(got["input_ids"], want["input_ids"]), (
            f"the windows are wrong for max_length={max_length}, stride={stride}: truncate only the context, "
            "return the overflowing windows, pad to max_length"
        )
        assert same_plain(got["example_index"], want["example_index"]), (
            "example_index must be overflow_to_sample_mapping"
        )
        for key in ("attention_mask", "token_type_ids"):
            assert same_plain(got[key], want[key]), (
                f"{key} must be the tokenizer's, one row per window "
                f"(max_length={max_length}, stride={stride})"
            )
        for key in ("start_positions", "end_positions"):
            g, w = got[key], want[key]
            assert isinstance(g, list) and len(g) == len(w), f"{key} needs one entry per window"
            for i, (gi, wi) in enumerate(zip(g, w, strict=True)):
                if wi == 0 and gi != 0:
                    raise AssertionError(
                        f"window {i} (max_length={max_length}) does not hold the whole answer: "
                        f"its {key} must be 0, the [CLS] token"
                    )
                assert gi == wi, f"{key} of window {i} (max_length={max_length}) is {gi}, expected {wi}"


def _hidden_logits(
    rng: random.Random, n_tokens: int, context_from: int, context_to: int, longest: int
) -> dict:
    """Logits with traps: the top start sits in the question, a reversed pair scores high, and so does
    a pair one token longer than `longest` allows."""
    start = [rng.gauss(0, 1) for _ in range(n_tokens)]
    end = [rng.gauss(0, 1) for _ in range(n_tokens)]
    s = rng.randrange(context_from + 2, context_to - longest - 1)
    e = min(s + rng.randrange(0, longest), context_to - 1)
    start[s] += 6
    end[e] += 6
    start[rng.randrange(1, context_from)] += 9  # a question token: never a valid start
    end[rng.randrange(context_from, s)] += 7  # an end before the start
    end[s + longest] += 6.5  # an answer one token longer than allowed
    return {"start": [round(x, 4) for x in start], "end": [round(x, 4) for x in end]}


def _check_span(got, logits: dict, offsets: list, context: str, longest: int, best: float) -> None:
    """`got` is a valid span of at most `longest` tokens, reported faithfully, that scores `best`."""
    assert isinstance(got, dict) and {"text", "start", "end", "score"} <= set(got), (
        "best_span() must return a dict with text, start, end and score"
    )
    assert got["text"] == context[got["start"] : got["end"]], (
        "text must be context[start:end], the characters from the start token's start to the end token's end"
    )
    pairs = [
        (s, e)
        for s, so in enumerate(offsets)
        for e, eo in enumerate(offsets)
        if so is not None and eo is not None and so[0] == got["start"] and eo[1] == got["end"]
    ]
    assert pairs, f"{got['text']!r} does not start and end on context tokens' offsets"
    assert any(s <= e for s, e in pairs), f"{got['text']!r}: the start token is after the end token"
    assert any(s <= e < s + longest for s, e in pairs), (
        f"{got['text']!r} is longer than max_answer_tokens={longest} tokens"
    )
    assert any(
        same_plain(got["score"], logits["start"][s] + logits["end"][e], rel=1e-6, abs_=1e-6) for s, e in pairs
    ), "score must be start_logits[s] + end_logits[e] of the span's tokens"
    assert same_plain(got["score"], best, rel=1e-6, abs_=1e-6), (
        f"best_span() picked {got['text']!r} (score {got['score']:.4f}); a valid span of at most "
        f"{longest} tokens scores {best:.4f} (skip tokens without offsets, keep start <= end)"
    )


@points(3)
def test_best_span(student, reference, hidden_split, seed, assets):
    """best_span() returns the highest-scoring valid span: inside the context, start before end, at most
    max_answer_tokens tokens."""
    tokenizer = AutoTokenizer.from_pretrained(assets.path("minilm"))
    rng = random.Random(seed)
    for i, row in enumerate(hidden_split[50:70]):
        context = row["context"] + " " + row["context"]
        enc = tokenizer(row["question"], context, return_offsets_mapping=True)
        sequence_ids = enc.sequence_ids()
        offsets = [list(o) if sequence_ids[t] == 1 else None for t, o in enumerate(enc["offset_mapping"])]
        longest = (15, 1, 4, 9)[i % 4]  # the default, and bounds that bind
        logits = _hidden_logits(rng, len(offsets), sequence_ids.index(1), len(offsets) - 1, longest)
        args = (logits["start"], logits["end"], offsets, context)
        kwargs = {} if longest == 15 else {"max_answer_tokens": longest}
        got = student.call("best_span", *args, **kwargs)
        want = reference.call("best_span", *args, **kwargs)
        _check_span(got, logits, offsets, context, longest, want["score"])
    # Thirty question tokens outscore every context token, as starts and as ends: a search among only
    # the best 20 starts and ends (a speed-up some tutorials use) finds no valid span here
    row = hidden_split[70]
    enc = tokenizer(" ".join(["which"] * 30) + "?", row["context"], return_offsets_mapping=True)
    sequence_ids = enc.sequence_ids()
    offsets = [list(o) if sequence_ids[t] == 1 else None for t, o in enumerate(enc["offset_mapping"])]
    logits = {
        side: [round(rng.gauss(0, 1) + (0 if o else 9), 4) for o in offsets] for side in ("start", "end")
    }
    args = (logits["start"], logits["end"], offsets, row["context"])
    got = student.call("best_span", *args)
    assert got is not None, (
        "best_span() found no span in a window whose context has valid ones (the question's tokens "
        "score highest here): consider every start and end token in the context"
    )
    _check_span(got, logits, offsets, row["context"], 15, reference.call("best_span", *args)["score"])
    no_context = [None] * 8  # a window with no context token has no valid span
    got = student.call("best_span", [1.0] * 8, [1.0] * 8, no_context, "")
    assert got is None, f"best_span() must return None when no token has offsets, not {got!r}"


def predict(model, tokenizer, question: str, context: str, span_fn) -> dict | None:
    """The best span over all windows of the context, as the grader scores a saved model."""
    enc = tokenizer(
        question,
        context,
        truncation="only_second",
        max_length=MAX_LENGTH,
        stride=STRIDE,
        return_overflowing_tokens=True,
        return_offsets_mapping=True,
        padding="max_length",
        return_tensors="pt",
    )
    with torch.no_grad():
        out = model(
            input_ids=enc["input_ids"],
            attention_mask=enc["attention_mask"],
            token_type_ids=enc["token_type_ids"],
        )
    best = None
    for i in range(len(enc["input_ids"])):
        sequence_ids = enc.sequence_ids(i)
        offsets = [
            o if sequence_ids[t] == 1 else None for t, o in enumerate(enc["offset_mapping"][i].tolist())
        ]
        span = span_fn(out.start_logits[i].tolist(), out.end_logits[i].tolist(), offsets, context)
        if span is not None and (best is None or span["score"] > best["score"]):
            best = span
    return best


def hidden_scores(folder: Path, rows: list[dict], minilm: Path, span_fn) -> tuple[float, float]:
    """SQuAD exact match and F1 (evaluate's "squad", as fractions) of a saved model on `rows`;
    `span_fn` is the reference's best_span."""
    model = load_saved_model(folder, "AutoModelForQuestionAnswering", expected="minilm")
    tokenizer = AutoTokenizer.from_pretrained(minilm)
    predictions, references = [], []
    for i, row in enumerate(rows):
        best = predict(model, tokenizer, row["question"], row["context"], span_fn)
        predictions.append({"id": str(i), "prediction_text": best["text"] if best else ""})
        references.append({"id": str(i), "answers": row["answers"]})
    scores = evaluate.load("squad").compute(predictions=predictions, references=references)
    return scores["exact_match"] / 100, scores["f1"] / 100


@points(4)
def test_exact_match_on_hidden_split(trained_model, reference, hidden_split, assets):
    """Your saved model answers at least 85% of questions about people it never saw exactly right."""
    em, f1 = hidden_scores(
        trained_model, hidden_split, assets.path("minilm"), lambda *args: reference.call("best_span", *args)
    )
    record_metric("exact_match", round(100 * em, 2), leaderboard=True)
    record_metric("f1", round(100 * f1, 2))
    assert em >= EM_THRESHOLD, (
        f"exact match on the hidden split is {100 * em:.1f}%; it must reach {100 * EM_THRESHOLD:.0f}%"
    )


@points(1)
def test_train_report(trained, train_windows):
    """train_qa() reports how many windows it trained on and for how many steps, and saves the tokenizer
    beside the model."""
    report = trained["report"]
    assert isinstance(report, dict) and "train_windows" in report and "steps" in report, (
        'train_qa() must return {"train_windows": the number of training windows, "steps": ...}'
    )
    assert report["train_windows"] == train_windows, (
        f"train_qa() reports {report['train_windows']} training windows; windowing train.jsonl with "
        f"MAX_LENGTH and STRIDE gives {train_windows}"
    )
    steps = 2 * math.ceil(train_windows / BATCH_SIZE)
    assert report["steps"] == steps, (
        f"train_qa() reports {report['steps']} steps; 2 epochs of {train_windows} windows in batches of "
        f"{BATCH_SIZE} are {steps}: pass epochs and per_device_train_batch_size=16 to TrainingArguments"
    )
    saved = {p.name for p in trained["path"].iterdir()} if trained["path"].is_dir() else set()
    assert "tokenizer_config.json" in saved, (
        "save the tokenizer with save_pretrained() into the model's folder too: answer() loads it from there"
    )


def _weights(folder: Path) -> dict[str, torch.Tensor]:
    return load_saved_model(folder, "AutoModelForQuestionAnswering", expected="minilm").state_dict()


@points(1)
def test_train_follows_seed_epochs_and_learning_rate(
    train_qa, reference_train_qa, train_windows, seed, assets
):
    """train_qa() uses the seed, epochs, learning rate and batch size it is given: epochs=0.02 stops
    after a few steps, learning_rate=0 leaves MiniLM's weights as they were, and two short runs (seeds
    `seed + 1` and `seed`) train what a correct solution trains."""
    first = train_qa("short-a", seed=seed + 1, **SHORT_RUN)
    steps = math.ceil(SHORT_RUN["epochs"] * math.ceil(train_windows / BATCH_SIZE))
    report = first["report"]
    assert isinstance(report, dict) and report.get("steps") == steps, (
        f"train_qa(epochs={SHORT_RUN['epochs']}) must train {steps} steps (batches of {BATCH_SIZE}), it "
        f"reports {report.get('steps') if isinstance(report, dict) else report!r}: pass epochs to "
        "TrainingArguments"
    )
    weights = _weights(first["path"])
    body = {f"bert.{k}": v for k, v in AutoModel.from_pretrained(assets.path("minilm")).state_dict().items()}
    changed = [k for k, v in weights.items() if k in body and not torch.equal(v, body[k])]
    assert not changed, (
        f"with learning_rate=0 training changed MiniLM's weights ({changed[0]}): pass learning_rate to "
        "TrainingArguments"
    )
    head = _weights(reference_train_qa("short-a", seed=seed + 1, **SHORT_RUN)["path"])
    assert all(torch.allclose(weights[k], v, atol=1e-6) for k, v in head.items() if k not in body), (
        f"train_qa(seed={seed + 1}) starts from another QA head than a correct solution: call "
        "set_seed(seed) with the seed you are given, before from_pretrained"
    )
    trained = _weights(train_qa("short-b", seed=seed, **TRAINED_SHORT_RUN)["path"])
    want = _weights(reference_train_qa("short-b", seed=seed, **TRAINED_SHORT_RUN)["path"])
    gap = training_gap(trained, want, body)
    assert gap <= SAME_TRAINING, (
        f"train_qa(seed={seed}, epochs=0.02, learning_rate=1e-3) trains another model than a correct "
        f"solution (the weights differ by {gap:.0%} of what its training changed): call set_seed(seed) "
        "before from_pretrained, and give TrainingArguments the seed, epochs and learning rate you are "
        f"given, in batches of {BATCH_SIZE}"
    )


@points(2)
def test_answer_helper(student, reference, given_model, other_model, hidden_split, assets):
    """answer() windows the context like training, runs the model in the folder it is given and returns
    the best span over all windows."""
    tokenizer = AutoTokenizer.from_pretrained(assets.path("minilm"))
    long_rows = [
        r for r in hidden_split[6:] if len(tokenizer(r["question"], r["context"])["input_ids"]) > MAX_LENGTH
    ]
    for i, row in enumerate(hidden_split[:6] + long_rows[:6]):
        model = (given_model, other_model)[i % 2]  # two models in turn: each call loads the one it is given
        got = student.call("answer", student.scratch(model), row["question"], row["context"])
        want = reference.call("answer", reference.scratch(model), row["question"], row["context"])
        assert isinstance(got, dict) and {"text", "start", "end", "score"} <= set(got), (
            "answer() must return a dict with text, start, end and score"
        )
        assert got["text"] == row["context"][got["start"] : got["end"]], (
            "answer()'s text must be context[start:end]"
        )
        assert (got["start"], got["end"]) == (want["start"], want["end"]), (
            f"answer({row['question']!r}, ...) gave {got['text']!r}; the model's best span over all windows "
            f"is {want['text']!r} (the model in the folder given, windows with MAX_LENGTH and STRIDE, "
            "only the context truncated, the model in eval mode, non-context offsets None, keep the best "
            "score)"
        )
        assert same_plain(got["score"], want["score"], rel=1e-4, abs_=1e-4), (
            f"answer()'s score is {got['score']}; that span's start + end logit is {want['score']}"
        )
