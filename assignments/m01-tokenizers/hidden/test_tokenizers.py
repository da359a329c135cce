"""Hidden graders for module 1. Each compares the student's function with the reference on
inputs the student has not seen, for MiniLM's WordPiece and SmolLM2's byte-level BPE."""

import json
import random

from tokenizers import Tokenizer

from autograder.api import StudentError, points, same_plain


def both(student, reference, fn, *args, **kwargs):
    return student.call(fn, *args, **kwargs), reference.call(fn, *args, **kwargs)


@points(2)
def test_encode_adds_special_tokens(student, reference, hidden_texts, tokenizer_name):
    """encode() returns the model's input ids, special tokens included."""
    for text in hidden_texts["sentences"]:
        got, want = both(student, reference, "encode", student.tokenizer(tokenizer_name), text)
        if isinstance(got, list) and got == want[1:-1]:
            raise AssertionError("encode() is missing the special tokens the model expects ([CLS] ... [SEP])")
        assert got == want, f"encode() gives the wrong ids for {text!r}"


@points(1)
def test_subword_tokens(student, reference, hidden_texts, tokenizer_name):
    """subword_tokens() returns the subword strings, without special tokens."""
    for text in hidden_texts["sentences"]:
        got, want = both(student, reference, "subword_tokens", student.tokenizer(tokenizer_name), text)
        assert got == want, f"subword_tokens() splits {text!r} differently from the tokenizer"


@points(1)
def test_round_trip_drops_special_tokens(student, reference, hidden_texts, tokenizer_name):
    """round_trip() decodes back to text with no special tokens left in it."""
    for text in hidden_texts["sentences"]:
        got, want = both(student, reference, "round_trip", student.tokenizer(tokenizer_name), text)
        assert "[CLS]" not in str(got) and "[SEP]" not in str(got), (
            "round_trip() left special tokens in the text"
        )
        assert got == want, f"round_trip({text!r}) should give {want!r}"


@points(2)
def test_batch_is_padded_and_truncated(student, reference, hidden_texts):
    """encode_batch() returns exactly max_length ids per row, truncating long texts."""
    texts = [*hidden_texts["sentences"][:3], hidden_texts["long"]]
    for max_length in (8, 24):
        got = student.call("encode_batch", student.tokenizer("minilm"), texts, max_length)
        assert isinstance(got, dict) and "input_ids" in got, (
            "encode_batch() must return a dict with input_ids"
        )
        lengths = {len(row) for row in got["input_ids"]}
        assert len(got["input_ids"]) == len(texts), "encode_batch() must return one row per text"
        assert lengths == {max_length}, (
            f"every row must have exactly {max_length} ids; got lengths {sorted(lengths)} (is truncation on?)"
        )
        want = reference.call("encode_batch", reference.tokenizer("minilm"), texts, max_length)
        assert got["input_ids"] == want["input_ids"], "the padded, truncated ids are not right"


@points(2)
def test_padding_is_masked(student, reference, hidden_texts):
    """The attention mask is 0 exactly on padding and 1 on every real token."""
    texts = ["short", hidden_texts["sentences"][1], hidden_texts["sentences"][4]]
    got = student.call("encode_batch", student.tokenizer("minilm"), texts, 20)
    want = reference.call("encode_batch", reference.tokenizer("minilm"), texts, 20)
    assert "attention_mask" in got, "encode_batch() must return attention_mask"
    assert got["attention_mask"] == want["attention_mask"], (
        "attention_mask must be 0 on padding positions and 1 elsewhere"
    )


@points(2)
def test_pair_encoding(student, reference, hidden_texts):
    """encode_pair() keeps the whole question, cuts only the context, and sets token_type_ids."""
    for question, context in hidden_texts["pairs"]:
        for max_length in (24, 64):
            got, want = both(
                student, reference, "encode_pair", student.tokenizer("minilm"), question, context, max_length
            )
            assert isinstance(got, dict) and "token_type_ids" in got, (
                "encode_pair() must return token_type_ids"
            )
            assert same_plain(got.get("token_type_ids"), want["token_type_ids"]), (
                "token_type_ids must be 0 over the question's segment and 1 over the context's"
            )
            assert same_plain(got.get("input_ids"), want["input_ids"]), (
                f"the pair's ids are wrong for max_length={max_length} (truncate only the context)"
            )
            assert same_plain(got.get("attention_mask"), want["attention_mask"]), "attention_mask is wrong"


@points(2)
def test_generation_batch_is_left_padded(student, reference, hidden_texts):
    """pad_for_generation() pads on the left, so every prompt ends at the last position."""
    got, want = both(
        student, reference, "pad_for_generation", student.tokenizer("smollm2"), hidden_texts["prompts"]
    )
    assert isinstance(got, dict) and "attention_mask" in got, (
        "pad_for_generation() must return input_ids and attention_mask"
    )
    for mask in got["attention_mask"]:
        assert mask and mask[-1] == 1, (
            "padding is on the right: a decoder-only model would continue from pad tokens"
        )
    assert got == want, "the left-padded batch is not right (pad to the longest prompt with the pad token)"


@points(2)
def test_oov_report(student, reference, hidden_texts, tokenizer_name):
    """oov_report() shows each word's pieces and flags words the tokenizer cannot represent."""
    got, want = both(
        student, reference, "oov_report", student.tokenizer(tokenizer_name), hidden_texts["oov_words"]
    )
    assert isinstance(got, dict), "oov_report() must return a dict keyed by word"
    for word, expected in want.items():
        assert word in got, f"oov_report() has no entry for {word!r}"
        entry = got[word]
        assert same_plain(entry.get("pieces"), expected["pieces"]), f"wrong pieces for {word!r}"
        assert same_plain(entry.get("n_pieces"), expected["n_pieces"]), f"wrong n_pieces for {word!r}"
        assert same_plain(entry.get("is_unknown"), expected["is_unknown"]), (
            f"is_unknown is wrong for {word!r}: compare the pieces with tokenizer.unk_token"
        )


@points(1)
def test_tokens_per_word(student, reference, hidden_texts, tokenizer_name):
    """tokens_per_word() is the mean number of subword tokens per word."""
    text = hidden_texts["long"]
    got, want = both(student, reference, "tokens_per_word", student.tokenizer(tokenizer_name), text)
    assert same_plain(got, want, rel=1e-9), f"tokens_per_word() should be {want:.4f} for this text"


@points(2)
def test_vocab_facts(student, reference, tokenizer_name):
    """vocab_facts() reports the vocabulary size, prefixed entries and special tokens."""
    prefix = "##" if tokenizer_name == "minilm" else "Ġ"
    # Tokens added after training count in the size: the embedding matrix needs a row for each.
    added = {"extra_special_tokens": ["<ent>", "</ent>"]} if tokenizer_name == "minilm" else {}
    got, want = both(student, reference, "vocab_facts", student.tokenizer(tokenizer_name, **added), prefix)
    assert isinstance(got, dict), "vocab_facts() must return a dict"
    for key in ("size", "n_with_prefix", "special_tokens", "special_ids"):
        assert same_plain(got.get(key), want[key]), f"vocab_facts()[{key!r}] is wrong"


def _corpus(seed: int) -> list[str]:
    rng = random.Random(seed)
    subjects = ["the model", "a tokenizer", "every student", "the trainer", "our dataset", "this vocabulary"]
    verbs = ["learns", "splits", "encodes", "merges", "counts", "normalises"]
    objects = [
        "rare words",
        "subword units",
        "byte pairs",
        "frequent prefixes",
        "unicode text",
        "long sentences",
    ]
    return [
        f"{rng.choice(subjects)} {rng.choice(verbs)} {rng.choice(objects)} {rng.randint(0, 99)} times"
        for _ in range(400)
    ]


@points(3)
def test_trained_tokenizers(student, reference, hidden_texts):
    """train_tokenizer() builds a working WordPiece, BPE and Unigram tokenizer to the spec."""
    corpus = _corpus(hidden_texts["corpus_seed"])
    probes = ["The Model SPLITS rare words", "every student counts unicode text 42 times"]
    for algorithm, model_type in (("wordpiece", "WordPiece"), ("bpe", "BPE"), ("unigram", "Unigram")):
        text = student.call("train_tokenizer", corpus, algorithm, 200)
        assert isinstance(text, str), "train_tokenizer() must return Tokenizer.to_str(), a JSON string"
        try:
            tok = Tokenizer.from_str(text)  # parses JSON only: no student code runs here
            spec = json.loads(text)
        except Exception as exc:
            raise StudentError(f"the returned string is not a serialised tokenizer: {exc}") from None
        assert spec["model"]["type"] == model_type, (
            f"for {algorithm!r} the model must be {model_type}, not {spec['model']['type']}"
        )
        assert tok.get_vocab_size() <= 200, (
            f"the {algorithm} vocabulary has {tok.get_vocab_size()} entries; at most 200 were asked"
        )
        ids = [tok.token_to_id(t) for t in ("[UNK]", "[PAD]", "[CLS]", "[SEP]", "[MASK]")]
        assert ids == [0, 1, 2, 3, 4], f"special tokens must have ids 0-4 in the order given; got {ids}"
        enc = tok.encode(probes[0])
        assert enc.tokens[0] == "[CLS]" and enc.tokens[-1] == "[SEP]", (
            "the post-processor must add [CLS] ... [SEP]"
        )
        assert "[UNK]" not in enc.tokens, (
            f"{algorithm}: capitals became [UNK]: is the lowercase normaliser missing?"
        )
        want = Tokenizer.from_str(reference.call("train_tokenizer", corpus, algorithm, 200))
        for probe in probes:
            assert tok.encode(probe).tokens == want.encode(probe).tokens, (
                f"{algorithm}: the trained tokenizer splits {probe!r} differently from one trained to the spec"
            )


@points(2)
def test_model_summary(student, reference, tokenizer_name):
    """model_summary() reads the config and counts distinct parameters (tied weights once)."""
    cls = "AutoModel" if tokenizer_name == "minilm" else "AutoModelForCausalLM"
    got = student.call("model_summary", student.model(tokenizer_name, cls))
    want = reference.call("model_summary", reference.model(tokenizer_name, cls))
    assert isinstance(got, dict), "model_summary() must return a dict"
    for key in (
        "model_type",
        "hidden_size",
        "num_hidden_layers",
        "num_attention_heads",
        "vocab_size",
        "embedding_rows",
    ):
        assert same_plain(got.get(key), want[key]), f"model_summary()[{key!r}] is wrong"
    n = got.get("n_parameters")
    if tokenizer_name == "smollm2" and isinstance(n, int) and n > want["n_parameters"]:
        raise AssertionError(
            "n_parameters counts the tied input/output embedding twice; count model.parameters()"
        )
    assert same_plain(n, want["n_parameters"]), "n_parameters is wrong"
