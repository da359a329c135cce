"""Hidden graders for module 9. Data preparation and decoding are compared with the reference on
inputs the student has not seen; the trained model is scored in the trusted process, on 400
held-out dates, from the weights the student's code saved."""

import json

import torch
from transformers import AutoTokenizer

from autograder.api import (
    StudentError,
    load_saved_model,
    points,
    read_saved_json,
    record_metric,
    same_plain,
    training_gap,
)

TOKENIZER = "dates-tokenizer"
THRESHOLD = 0.85  # the reference scored 0.928-0.940 on these 400 dates over seeds 1234, 7, 99 (bench_m09.py)
SAME_TRAINING = 0.01  # largest gap of a tiny training from the reference's with the same seed


def trusted_exact_match(model_dir, tokenizer, pairs: list[dict]) -> float:
    """Greedy-decode the sources with the saved model, in the trusted process; the share of exact targets."""
    model = load_saved_model(model_dir, "AutoModelForSeq2SeqLM")
    hits = 0
    with torch.no_grad():
        for i in range(0, len(pairs), 100):
            chunk = pairs[i : i + 100]
            batch = tokenizer([p["source"] for p in chunk], padding=True, return_tensors="pt")
            out = model.generate(**batch, max_new_tokens=12, num_beams=1, do_sample=False)
            texts = tokenizer.batch_decode(out, skip_special_tokens=True)
            hits += sum(t.strip() == p["target"] for t, p in zip(texts, chunk, strict=True))
    return hits / len(pairs)


@points(2)
def test_preprocess(student, reference, hidden_pairs):
    """preprocess() tokenizes sources as input_ids and targets as labels, truncated to their max lengths."""
    pairs = hidden_pairs[:40]
    sources = [p["source"] for p in pairs] + ["on the " + "very " * 40 + "first of May 1999"]
    targets = [p["target"] for p in pairs] + ["1999-05-01 " * 6]
    got = student.call("preprocess", student.tokenizer(TOKENIZER), sources, targets)
    want = reference.call("preprocess", reference.tokenizer(TOKENIZER), sources, targets)
    assert isinstance(got, dict) and "labels" in got, (
        "preprocess() must return a dict with input_ids, attention_mask and labels"
    )
    assert same_plain(got.get("input_ids"), want["input_ids"]), (
        "input_ids are not the sources' ids (truncated to MAX_SOURCE_LENGTH, ending with </s>)"
    )
    assert same_plain(got.get("attention_mask"), want["attention_mask"]), "attention_mask is wrong"
    if got["labels"] == got["input_ids"]:
        raise AssertionError("labels are a copy of the input ids: the labels are the *target* texts' ids")
    assert same_plain(got["labels"], want["labels"]), (
        "labels must be the targets' ids on their own (text_target=...), truncated to MAX_TARGET_LENGTH"
    )


@points(2)
def test_collator_pads_labels_with_minus_100(student, reference, hidden_pairs):
    """collate() pads inputs with the pad token and labels with -100, which the loss ignores."""
    pairs = [hidden_pairs[i] for i in (3, 7, 11, 19, 23)]
    features = reference.call(
        "preprocess",
        reference.tokenizer(TOKENIZER),
        [p["source"] for p in pairs],
        [p["target"] for p in pairs],
    )
    rows = [{k: features[k][i] for k in features} for i in range(len(pairs))]
    rows[1]["labels"] = rows[1]["labels"][:3]  # one short target, so the labels need padding
    got = student.call("collate", student.tokenizer(TOKENIZER), rows)
    want = reference.call("collate", reference.tokenizer(TOKENIZER), rows)
    assert isinstance(got, dict) and "labels" in got, (
        "collate() must return input_ids, attention_mask and labels"
    )
    assert same_plain(got.get("input_ids"), want["input_ids"]), (
        "input_ids are not padded to the longest with <pad>"
    )
    assert same_plain(got.get("attention_mask"), want["attention_mask"]), (
        "attention_mask is wrong after padding"
    )
    padded = got["labels"][1]
    if isinstance(padded, list) and len(padded) > 3 and padded[3] == 0:
        raise AssertionError(
            "labels are padded with the pad token id: the loss would learn to predict padding. "
            "Pad labels with -100"
        )
    assert same_plain(got["labels"], want["labels"]), "labels must be padded with -100 to the longest label"


# The tokenizer as shipped, and one whose pad and end tokens are others (the end token a new one,
# so its length grows too): make_config() must read all four from the tokenizer it is given.
OTHER_SPECIALS = {"pad_token": "<unk>", "eos_token": "<end>"}


@points(2)
def test_config(student, reference):
    """make_config() describes the small T5, sized to the tokenizer, decoding from the pad token."""
    for specials in ({}, OTHER_SPECIALS):
        got = student.call("make_config", student.tokenizer(TOKENIZER, **specials))
        want = reference.call("make_config", reference.tokenizer(TOKENIZER, **specials))
        which = f"a tokenizer with {specials}" if specials else "the course's tokenizer"
        assert isinstance(got, dict), "make_config() must return config.to_dict()"
        assert got.get("model_type") == "t5", "the config must be a T5Config"
        assert same_plain(got.get("vocab_size"), want["vocab_size"]), (
            f"with {which}, vocab_size must be the tokenizer's length ({want['vocab_size']}), not "
            f"{got.get('vocab_size')!r}"
        )
        for key in (
            "d_model",
            "d_ff",
            "d_kv",
            "num_heads",
            "num_layers",
            "num_decoder_layers",
            "pad_token_id",
            "eos_token_id",
            "decoder_start_token_id",
            "is_encoder_decoder",
            "dropout_rate",
        ):
            assert same_plain(got.get(key), want[key]), (
                f"with {which}, {key} should be {want[key]!r}, not {got.get(key)!r}"
            )


def padded(rows: list[list[int]], value: int) -> list[list[int]]:
    width = max(map(len, rows))
    return [row + [value] * (width - len(row)) for row in rows]


@points(2)
def test_exact_match(student, reference, assets):
    """exact_match() decodes predictions and -100-padded labels and scores exact matches."""
    tokenizer = AutoTokenizer.from_pretrained(assets.path(TOKENIZER))
    # generated ids start with the decoder start token (<pad>) and are padded with <pad>, or with
    # -100 (the Trainer's padding when it gathers batches of different widths); the last case's
    # texts differ only by spaces around them, which the comparison of stripped strings ignores
    cases = (
        (
            ["2031-11-11", "1999-03-21", "2000-01-01", "19 70-12-29"],
            ["2031-11-11", "1999-03-12", "2000-01-01", "1970-12"],
            tokenizer.pad_token_id,
        ),
        (["1958-08-08", "2046-09-22 ", "2046"], ["1958-08-08", "2046-09", "2046"], tokenizer.pad_token_id),
        (["1999-03-21 ", " 2000-01-01", "2046-09-22"], ["1999-03-21", "2000-01-01", "2046-09"], -100),
    )
    for preds, labels, pad in cases:
        predictions = padded([[tokenizer.pad_token_id, *tokenizer(p)["input_ids"]] for p in preds], pad)
        label_ids = padded([tokenizer(lab)["input_ids"] for lab in labels], -100)
        assert any(-100 in row for row in label_ids), "these cases must exercise label padding"
        got = student.call("exact_match", student.tokenizer(TOKENIZER), predictions, label_ids)
        want = reference.call("exact_match", reference.tokenizer(TOKENIZER), predictions, label_ids)
        assert isinstance(got, int | float), "exact_match() must return a number"
        assert same_plain(float(got), want, rel=1e-9), (
            f"exact_match() should be {want:.3f} here: swap -100 for the pad id in both before decoding, "
            "decode without special tokens and compare the stripped strings"
        )


@points(2)
def test_greedy_generate(student, reference, hidden_pairs, given_model, sampling_model, other_model):
    """generate() loads a saved model and decodes a padded batch greedily, at most max_new_tokens tokens,
    without special tokens, whatever decoding the model's own generation_config.json asks for."""
    texts = [p["source"] for p in hidden_pairs[:16]]
    cases = ((given_model, 12), (given_model, 5), (sampling_model, 12), (other_model, 12))
    for model, max_new_tokens in cases:
        got = student.call(
            "generate", student.scratch(model), student.tokenizer(TOKENIZER), texts, max_new_tokens
        )
        want = reference.call(
            "generate", reference.scratch(model), reference.tokenizer(TOKENIZER), texts, max_new_tokens
        )
        assert isinstance(got, list) and len(got) == len(texts), "generate() must return one string per text"
        if any("<pad>" in str(g) or "</s>" in str(g) for g in got):
            raise AssertionError(
                "the decoded texts still hold <pad> or </s>: decode with skip_special_tokens=True"
            )
        got = [g.strip() if isinstance(g, str) else g for g in got]  # spaces around a text are free
        want = [w.strip() for w in want]
        if model == sampling_model:
            assert got == want, (
                "generate() is not greedy on a model whose generation_config.json asks for sampling over "
                "3 beams: say do_sample=False and num_beams=1 in the generate() call"
            )
        if model == other_model:
            assert got == want, (
                "given another model's folder, generate() does not decode with that model: load the "
                "model in `model_dir` on every call"
            )
        assert got == want, (
            "generate() does not return the greedy decoding of this model with "
            f"max_new_tokens={max_new_tokens} (num_beams=1, no sampling, the length bound given)"
        )


@points(2)
def test_beam_search(student, reference, hidden_pairs, given_model, sampling_model, other_model):
    """beam_search() returns every input's num_beams hypotheses, best first, at most max_new_tokens tokens,
    whatever decoding the model's own generation_config.json asks for."""
    texts = [p["source"] for p in hidden_pairs[20:28]]
    cases = (
        (given_model, 4, 12),
        (given_model, 3, 6),
        (given_model, 1, 6),
        (sampling_model, 2, 8),
        (other_model, 2, 8),
    )
    for model, num_beams, max_new_tokens in cases:
        got = student.call(
            "beam_search",
            student.scratch(model),
            student.tokenizer(TOKENIZER),
            texts,
            num_beams,
            max_new_tokens,
        )
        want = reference.call(
            "beam_search",
            reference.scratch(model),
            reference.tokenizer(TOKENIZER),
            texts,
            num_beams,
            max_new_tokens,
        )
        assert isinstance(got, list) and len(got) == len(texts), (
            f"beam_search(num_beams={num_beams}) must return one list per input text ({len(texts)}), "
            f"not {len(got) if isinstance(got, list) else type(got).__name__}"
        )
        for hyps in got:
            assert isinstance(hyps, list) and len(hyps) == num_beams, (
                f"each input needs its {num_beams} hypotheses: generate(num_beams={num_beams}, "
                f"num_return_sequences={num_beams})"
            )
        if model == sampling_model:
            assert got == want, (
                "beam_search() samples on a model whose generation_config.json asks for sampling: "
                "say do_sample=False in the generate() call"
            )
        if model == other_model:
            assert got == want, (
                "given another model's folder, beam_search() does not decode with that model: load the "
                "model in `model_dir` on every call"
            )
        assert got == want, (
            f"the hypotheses differ from beam search with num_beams={num_beams}, "
            f"max_new_tokens={max_new_tokens} on this model"
        )


def _tiny_dates(side, assets) -> dict:
    """64 training pairs (one batch) and 8 validation pairs in `side`'s scratch folder: a training of
    seconds, to see what train() does with its seed."""
    folder = side.scratch_path("tiny-dates")
    folder.mkdir(parents=True, exist_ok=True)
    for name, rows in (("train.jsonl", 64), ("valid.jsonl", 8)):
        lines = (assets.path("dates") / name).read_text().splitlines()[:rows]
        (folder / name).write_text("\n".join(lines) + "\n")
    return side.scratch("tiny-dates")


def _weights(folder) -> dict[str, torch.Tensor]:
    return load_saved_model(folder, "AutoModelForSeq2SeqLM").state_dict()


def _reference_weights(reference, assets, name: str, seed: int, **constants) -> dict[str, torch.Tensor]:
    """The reference's train() on the tiny dates (with its settings replaced by `constants`). It runs in
    this process and sets torch's thread count for itself: the grader's own count is put back."""
    threads = torch.get_num_threads()
    try:
        reference.call_with_constants(
            constants,
            "train",
            reference.tokenizer(TOKENIZER),
            _tiny_dates(reference, assets),
            reference.scratch(name),
            seed,
        )
    finally:
        torch.set_num_threads(threads)
    return _weights(reference.scratch_path(name))


@points(1)
def test_train_follows_its_seed(student, reference, assets, seed):
    """train() seeds everything from its seed and trains as the handout says: on 64 pairs it trains
    what a correct solution trains with the same seed, whatever the random state it starts from, and
    another seed gives another model; it trains for the handout's 3 epochs."""
    data = _tiny_dates(student, assets)

    def train(name: str, train_seed: int, global_seed: int):
        metrics = student.call_with_global_seed(
            global_seed, "train", student.tokenizer(TOKENIZER), data, student.scratch(name), train_seed
        )
        return metrics, _weights(student.scratch_path(name))

    metrics, first = train("tiny-a", seed, global_seed=seed + 100)
    epoch = metrics.get("epoch") if isinstance(metrics, dict) else None
    assert isinstance(epoch, int | float), (
        "train() must return trainer.evaluate()'s metrics, which hold the epoch"
    )
    assert epoch == 3, f"train() trained for {epoch:g} epochs; the handout's is 3"
    start = _reference_weights(reference, assets, "tiny-start", seed, EPOCHS=0)
    want = _reference_weights(reference, assets, "tiny-a", seed)
    gap = training_gap(first, want, start)
    assert gap <= SAME_TRAINING, (
        f"train(seed={seed}) on 64 pairs trains another model than a correct solution (the weights differ "
        f"by {gap:.0%} of what its training changed): call set_seed(seed) before building the model, and "
        "give Seq2SeqTrainingArguments the seed, 3 epochs, batch size 64 and learning rate 2e-3"
    )
    _, other = train("tiny-c", seed + 1, global_seed=seed + 100)
    assert any(not torch.equal(v, other[k]) for k, v in first.items()), (
        f"seeds {seed} and {seed + 1} gave the same model: use the seed you are given, in set_seed(seed) "
        "and Seq2SeqTrainingArguments"
    )


@points(1)
def test_saved_model_is_the_configured_t5(reference, trained):
    """train() saves the T5 make_config() describes, with its tokenizer, into output_dir."""
    saved = read_saved_json(trained["path"] / "config.json")
    want = reference.call("make_config", reference.tokenizer(TOKENIZER))
    for key in (
        "model_type",
        "vocab_size",
        "d_model",
        "d_ff",
        "d_kv",
        "num_heads",
        "num_layers",
        "num_decoder_layers",
        "dropout_rate",
        "pad_token_id",
        "eos_token_id",
        "decoder_start_token_id",
    ):
        assert isinstance(saved, dict) and same_plain(saved.get(key), want[key]), (
            f"the saved model's {key} is {saved.get(key) if isinstance(saved, dict) else None!r}, the T5 of "
            f"make_config() has {want[key]!r}: train the model built from make_config(tokenizer)"
        )
    assert (trained["path"] / "tokenizer_config.json").is_file(), (
        "save the tokenizer into output_dir too (tokenizer.save_pretrained)"
    )


@points(4)
def test_trained_model_exact_match(trained, assets, hidden_pairs):
    """Your trained model normalises at least 85% of 400 unseen dates exactly."""
    tokenizer = AutoTokenizer.from_pretrained(assets.path(TOKENIZER))
    em = trusted_exact_match(trained["path"], tokenizer, hidden_pairs)
    record_metric("exact_match", round(em, 4), leaderboard=True)
    assert em >= THRESHOLD, f"exact match on the hidden dates is {em:.3f}; it must reach {THRESHOLD}"


@points(1)
def test_reported_metric_is_generated(trained, assets):
    """train() reports the exact match of generated outputs on valid.jsonl (predict_with_generate)."""
    reported = trained["metrics"].get("eval_exact_match") if isinstance(trained["metrics"], dict) else None
    if not isinstance(reported, int | float):
        raise StudentError("train() must return the evaluation metrics, including eval_exact_match")
    valid = [json.loads(line) for line in (assets.path("dates") / "valid.jsonl").read_text().splitlines()]
    tokenizer = AutoTokenizer.from_pretrained(assets.path(TOKENIZER))
    measured = trusted_exact_match(trained["path"], tokenizer, valid)
    assert abs(reported - measured) <= 0.02, (
        f"train() reported eval_exact_match {reported:.3f}, "
        f"but the saved model's greedy outputs score {measured:.3f}"
    )
