"""Hidden graders for module 2. Each compares the student's function with the reference on inputs
the student has not seen; the pipeline and the by-hand classifier must also agree with each other."""

import json
import math

from autograder.api import points, same_plain

TOL = 1e-4  # float32 logits of a padded batch differ from unpadded ones by ~1e-6


def long_text(texts: list[str]) -> str:
    """A text longer than MiniLM's 512 positions: without truncation the model cannot run it."""
    return " ".join(texts[:4] * 20)


def _labels_scores(rows, who: str) -> tuple[list, list]:
    assert isinstance(rows, list) and all(isinstance(r, dict) for r in rows), (
        f"{who} must return a list of {{'label': ..., 'score': ...}} dicts"
    )
    return [r.get("label") for r in rows], [r.get("score") for r in rows]


def renamed_copy(student, assets, renames: dict[str, str]):
    """A scratch copy of the sentiment model whose labels are renamed (the other files linked)."""
    source = assets.path("sentiment")
    folder = student.scratch_path("sentiment-renamed")
    folder.mkdir(parents=True, exist_ok=True)
    config = json.loads((source / "config.json").read_text())
    config["id2label"] = {i: renames[label] for i, label in config["id2label"].items()}
    config["label2id"] = {renames[label]: i for label, i in config["label2id"].items()}
    (folder / "config.json").write_text(json.dumps(config))
    (folder / "config.json").chmod(0o644)  # the worker runs as another uid
    for path in source.iterdir():
        if path.name != "config.json" and not (folder / path.name).exists():
            (folder / path.name).symlink_to(path)
    return student.scratch("sentiment-renamed")


@points(2)
def test_pipeline_sentiment(student, reference, hidden_inputs, assets):
    """pipeline_sentiment() classifies texts with a text-classification pipeline built from the folder
    it is given."""
    texts = hidden_inputs["sentiment_texts"]
    got = student.call("pipeline_sentiment", student.asset("sentiment"), texts)
    want = reference.call("pipeline_sentiment", reference.asset("sentiment"), texts)
    labels, scores = _labels_scores(got, "pipeline_sentiment()")
    assert len(labels) == len(texts), f"pipeline_sentiment() must return one result per text ({len(texts)})"
    assert labels == [r["label"] for r in want], "the labels differ from the sentiment pipeline's"
    assert same_plain(scores, [r["score"] for r in want], abs_=TOL), "the scores differ from the pipeline's"
    renames = {"NEGATIVE": "unhappy", "POSITIVE": "happy"}
    again = student.call("pipeline_sentiment", renamed_copy(student, assets, renames), texts)
    relabelled, rescored = _labels_scores(again, "pipeline_sentiment()")
    assert relabelled == [renames.get(label, label) for label in labels] and same_plain(
        rescored, scores, abs_=TOL
    ), (
        "given another model folder (the same weights, its labels renamed unhappy/happy), "
        f"pipeline_sentiment() returns the labels {relabelled}: build the pipeline from `model_dir` "
        "on every call"
    )


@points(3)
def test_by_hand_matches_pipeline(student, reference, hidden_inputs):
    """sentiment_by_hand() gives the pipeline's labels and scores: softmax probabilities named by id2label."""
    texts = hidden_inputs["sentiment_texts"]
    # handed over in training mode, as a model fresh from training would be
    got = student.call(
        "sentiment_by_hand",
        student.tokenizer("sentiment"),
        student.model("sentiment", "AutoModelForSequenceClassification", train=True),
        texts,
    )
    piped = student.call("pipeline_sentiment", student.asset("sentiment"), texts)
    want = reference.call("pipeline_sentiment", reference.asset("sentiment"), texts)
    labels, scores = _labels_scores(got, "sentiment_by_hand()")
    assert len(labels) == len(texts), f"sentiment_by_hand() must return one result per text ({len(texts)})"
    assert all(isinstance(s, float) for s in scores), "each score must be a float (a probability)"
    if any(s < 0 or s > 1 for s in scores):
        raise AssertionError(
            "some scores are outside [0, 1]: they are logits; apply a softmax to get probabilities"
        )
    assert all(isinstance(label, str) for label in labels), (
        "labels must be the class names from model.config.id2label, not class ids"
    )
    assert labels == [r["label"] for r in want], (
        "the labels differ from the pipeline's: take the argmax, name it with id2label"
    )
    assert same_plain(scores, [r["score"] for r in want], abs_=TOL), (
        "the scores differ from the pipeline's: the score is the softmax probability of the predicted "
        "class, with the model in eval mode (it was handed over in training mode)"
    )
    assert [r.get("label") for r in piped] == labels, (
        "your pipeline_sentiment() and sentiment_by_hand() disagree"
    )
    # a review longer than MiniLM's 512 positions, in a batch with a short one
    long_batch = [long_text(texts), texts[4]]
    got = student.call(
        "sentiment_by_hand",
        student.tokenizer("sentiment"),
        student.model("sentiment", "AutoModelForSequenceClassification"),
        long_batch,
    )
    want = reference.call(
        "sentiment_by_hand",
        reference.tokenizer("sentiment"),
        reference.model("sentiment", "AutoModelForSequenceClassification"),
        long_batch,
    )
    labels, scores = _labels_scores(got, "sentiment_by_hand()")
    assert labels == [r["label"] for r in want] and same_plain(
        scores, [r["score"] for r in want], abs_=TOL
    ), (
        "a text longer than the model's 512 positions is classified wrongly: truncate the batch "
        "(truncation=True)"
    )


def _check_fields(got, want: dict, fn: str, messages: dict[str, str]) -> None:
    """Each key of `messages` must hold the reference's value; its message says what is wrong."""
    assert isinstance(got, dict), f"{fn}() must return a dict"
    for key, message in messages.items():
        assert same_plain(got.get(key), want[key]), message


@points(2)
def test_compare_heads(student, reference, hidden_inputs):
    """compare_heads() tells the bare encoder from the classifier and lists the newly initialised head."""
    for text, num_labels in hidden_inputs["heads"]:
        got = student.call("compare_heads", student.asset("minilm"), text, num_labels)
        want = reference.call("compare_heads", reference.asset("minilm"), text, num_labels)
        _check_fields(
            got,
            want,
            "compare_heads",
            {
                "base_class": f"base_class should be {want['base_class']!r}",
                "head_class": f"head_class should be {want['head_class']!r}",
                "hidden_shape": (
                    f"hidden_shape should be {want['hidden_shape']}: (batch, tokens, hidden size)"
                ),
                "logits_shape": f"logits_shape should be {want['logits_shape']} for {num_labels} labels",
                "new_parameters": (
                    "new_parameters must be the sorted missing_keys of the classifier's loading info"
                ),
            },
        )


@points(2)
def test_customised_classifier(student, reference, hidden_inputs):
    """customised_classifier() loads a smaller classifier with named labels from a customised config."""
    for num_layers, labels in hidden_inputs["configs"]:
        got = student.call("customised_classifier", student.asset("minilm"), num_layers, labels)
        want = reference.call("customised_classifier", reference.asset("minilm"), num_layers, labels)
        _check_fields(
            got,
            want,
            "customised_classifier",
            {
                "num_hidden_layers": (
                    f"the model should have {num_layers} layers: set config.num_hidden_layers before loading"
                ),
                "id2label": f"id2label should be {want['id2label']}: set id2label and label2id on the config",
                "label2id": (
                    f"label2id should be {want['label2id']}: set it on the config too (id2label alone leaves "
                    "the checkpoint's LABEL_0, LABEL_1...)"
                ),
                "n_parameters": "n_parameters is wrong",
                "n_unused": (
                    "n_unused should count the checkpoint's unexpected keys "
                    "(the weights of the dropped layers)"
                ),
            },
        )


@points(2)
def test_freeze_body(student, reference, hidden_inputs):
    """freeze_body() leaves only the classification head trainable and counts parameters."""
    # a decoder too: its body is model.base_model as well, whatever the attribute's own name
    cases = [("minilm", num_labels) for _, num_labels in hidden_inputs["heads"]] + [("smollm2", 2)]
    for asset, num_labels in cases:
        got = student.call(
            "freeze_body",
            student.model(asset, "AutoModelForSequenceClassification", num_labels=num_labels),
        )
        want = reference.call(
            "freeze_body",
            reference.model(asset, "AutoModelForSequenceClassification", num_labels=num_labels),
        )
        assert isinstance(got, dict), "freeze_body() must return a dict"
        assert same_plain(got.get("total"), want["total"]), "total should count every parameter once"
        assert same_plain(got.get("head"), want["head"]), (
            "head should count the parameters outside model.base_model"
        )
        if got.get("trainable") == want["total"]:
            raise AssertionError(
                "everything is still trainable: set requires_grad = False on the body's parameters"
            )
        assert same_plain(got.get("trainable"), want["trainable"]), (
            "only the head should be trainable (freeze model.base_model, not the whole model)"
        )


@points(3)
def test_batched_logits(student, reference, hidden_inputs):
    """batched_logits() gives each text's own logits, in eval mode, whatever the batch size."""
    texts = [*hidden_inputs["batch_texts"], long_text(hidden_inputs["sentiment_texts"])]
    tokenizer = student.tokenizer("sentiment")
    training = student.model("sentiment", "AutoModelForSequenceClassification", train=True)
    twice = student.call("batched_logits", tokenizer, training, [texts[1], texts[1]], 1)
    assert isinstance(twice, list) and len(twice) == 2, (
        "batched_logits() must return one row of logits per text"
    )
    assert same_plain(twice[0], twice[1], abs_=TOL), (
        "the same text gave different logits twice in one call: the model is still in training mode "
        "(dropout is on); call model.eval() before inference"
    )
    want = reference.call(
        "batched_logits",
        reference.tokenizer("sentiment"),
        reference.model("sentiment", "AutoModelForSequenceClassification"),
        texts,
        1,
    )
    for batch_size in (3, len(texts)):
        got = student.call("batched_logits", tokenizer, training, texts, batch_size)
        assert isinstance(got, list) and len(got) == len(texts), (
            f"batched_logits() must return one row of logits per text ({len(texts)})"
        )
        assert same_plain(got, want, abs_=TOL), (
            f"with batch_size={batch_size} some logits differ from the text run alone: pad and truncate "
            "each batch and pass the attention_mask to the model, so that padding changes nothing"
        )


def _check_embeddings(got, want, n: int) -> None:
    assert isinstance(got, list) and len(got) == n, f"embed() must return one vector per text ({n})"
    for vector in got:
        assert isinstance(vector, list) and len(vector) == len(want[0]), (
            f"each embedding must be a list of {len(want[0])} floats"
        )
        norm = math.sqrt(sum(x * x for x in vector))
        assert abs(norm - 1) < 1e-3, (
            f"an embedding has length {norm:.3f}: L2-normalise each vector to length 1"
        )
    assert same_plain(got, want, abs_=TOL), (
        "the embeddings differ: mean-pool last_hidden_state over real tokens only (weight by the "
        "attention mask), in eval mode, truncating texts longer than the model's 512 positions"
    )


@points(3)
def test_embed(student, reference, hidden_inputs):
    """embed() mean-pools MiniLM's token vectors over real tokens and normalises them."""
    texts = [*hidden_inputs["embed_texts"], long_text(hidden_inputs["sentiment_texts"])]
    got = student.call("embed", student.tokenizer("minilm"), student.model("minilm", train=True), texts)
    want = reference.call("embed", reference.tokenizer("minilm"), reference.model("minilm"), texts)
    _check_embeddings(got, want, len(texts))


@points(3)
def test_semantic_search(student, reference, hidden_inputs, corpus):
    """semantic_search() ranks the corpus for unseen queries as cosine similarity does."""
    queries = hidden_inputs["queries"]
    # the same corpus reversed last: a search must rank the corpus it is given, nothing kept from before
    for texts, k in ((corpus, 3), (corpus, 5), (corpus[::-1], 5)):
        got = student.call(
            "semantic_search", student.tokenizer("minilm"), student.model("minilm"), texts, queries, k
        )
        want = reference.call(
            "semantic_search", reference.tokenizer("minilm"), reference.model("minilm"), texts, queries, k
        )
        assert isinstance(got, list) and len(got) == len(queries), (
            "semantic_search() must return one list per query"
        )
        for query, ranks, expected in zip(queries, got, want, strict=True):
            assert isinstance(ranks, list) and len(ranks) == k, (
                f"with k={k} each query must get exactly k corpus indices"
            )
            if sorted(ranks) == sorted(expected):
                assert ranks == expected, (
                    f"for {query!r} the right texts come back in the wrong order: most similar first"
                )
            assert ranks == expected, (
                f"for {query!r} the top {k} should be {expected} (corpus indices), not {ranks}"
                + (" when the corpus is given in reverse order" if texts is not corpus else "")
            )


@points(2)
def test_generate(student, reference, hidden_inputs):
    """generate() continues prompts greedily and returns only the new text."""
    prompts = hidden_inputs["prompts"]
    for max_new_tokens, asked in ((12, prompts), (4, prompts[:2])):
        got = student.call("generate", student.asset("smollm2"), asked, max_new_tokens, timeout=120)
        want = reference.call("generate", reference.asset("smollm2"), asked, max_new_tokens)
        assert isinstance(got, list) and len(got) == len(asked), (
            "generate() must return one string per prompt"
        )
        for prompt, text, expected in zip(asked, got, want, strict=True):
            assert isinstance(text, str), "each continuation must be a string"
            if text != expected and text.startswith(prompt) and text.endswith(expected):
                raise AssertionError(
                    "the output repeats the prompt: return only the new text (return_full_text=False)"
                )
            assert text == expected, (
                f"with max_new_tokens={max_new_tokens} the greedy continuation of {prompt!r} should be "
                f"{expected!r}, not {text!r}: continue the prompt as given (no chat template), greedily "
                "(do_sample=False), with max_new_tokens new tokens"
            )
