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
        for max_length in (24, 40):  # 24 cuts two of the pairs, 40 only the longest
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
    """pad_for_generation() pads on the left, so every prompt ends at the last position, and falls
    back to the end-of-sequence token when the tokenizer has no pad token."""
    prompts = hidden_texts["prompts"]
    cases = (
        ("smollm2", {}, "SmolLM2's tokenizer"),
        ("smollm2", {"pad_token": None}, "a tokenizer without a pad token"),
        ("minilm", {}, "a tokenizer that pads on the right by default"),
    )
    for name, kwargs, what in cases:
        try:
            got = student.call("pad_for_generation", student.tokenizer(name, **kwargs), prompts)
        except StudentError as exc:
            raise StudentError(f"with {what}: {exc}") from None
        want = reference.call("pad_for_generation", reference.tokenizer(name, **kwargs), prompts)
        assert isinstance(got, dict) and "attention_mask" in got, (
            "pad_for_generation() must return input_ids and attention_mask"
        )
        for mask in got["attention_mask"]:
            assert mask and mask[-1] == 1, (
                f"with {what}, padding is on the right: a decoder-only model would continue from pad tokens"
            )
        assert got == want, (
            f"with {what}, the left-padded batch is not right (pad to the longest prompt with the pad "
            "token, or the end-of-sequence token when there is none)"
        )


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
    # the second text has runs of spaces and a tab: words are what str.split() finds
    for text in (hidden_texts["long"], hidden_texts["sentences"][3]):
        got, want = both(student, reference, "tokens_per_word", student.tokenizer(tokenizer_name), text)
        assert same_plain(got, want, rel=1e-9), (
            f"tokens_per_word() should be {want:.4f} for a hidden text: count the words with str.split(), "
            "which splits on any run of whitespace"
        )


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


def _load_trained(text, algorithm: str) -> Tokenizer:
    assert isinstance(text, str), "train_tokenizer() must return Tokenizer.to_str(), a JSON string"
    try:
        return Tokenizer.from_str(text)  # parses JSON only: no student code runs here
    except Exception as exc:  # noqa: BLE001 - the Rust binding raises bare Exception on bad JSON
        raise StudentError(f"the {algorithm} string is not a serialised tokenizer: {exc}") from None


def _pieces(tok: Tokenizer, text: str, algorithm: str) -> list[str]:
    """The tokens of `text`, with every unknown piece shown as [UNK] (Unigram keeps the original
    text of an unknown piece but gives it the unknown id, 0 by the spec)."""
    try:
        enc = tok.encode(text)
    except Exception as exc:  # noqa: BLE001 - e.g. a Unigram model with no unknown token
        raise AssertionError(
            f"{algorithm}: the trained tokenizer cannot encode a character it never saw ({exc}): "
            "make [UNK] its unknown token"
        ) from None
    return ["[UNK]" if i == 0 else t for t, i in zip(enc.tokens, enc.ids, strict=True)]


# Two vocabulary sizes per algorithm, both below what the corpus would fill (Unigram stops early).
SIZES = {"wordpiece": (200, 120), "bpe": (200, 100), "unigram": (200, 60)}


@points(3)
def test_trained_tokenizers(student, reference, hidden_texts):
    """train_tokenizer() builds a working WordPiece, BPE and Unigram tokenizer to the spec, of the size
    asked for."""
    corpus = _corpus(hidden_texts["corpus_seed"])
    # capitals (lowercase), full-width letters (NFKC), letters NFKC makes capitals (NFKC, then
    # lowercase), punctuation (Whitespace splits it off, runs of it kept together, "_" a word
    # character), and characters the corpus never had ([UNK])
    probes = [
        "The Model SPLITS rare words",
        "every student counts unicode text 42 times",
        "ｔｈｅ ｍｏｄｅｌ, ｃｏｕｎｔｓ",
        "ℌe model counts ㎒",
        "byte-pairs;merges!frequent prefixes",
        "rare words... counts!! user_name",
        "café Ωmega 😀 learns",
    ]
    for algorithm, model_type in (("wordpiece", "WordPiece"), ("bpe", "BPE"), ("unigram", "Unigram")):
        for size in SIZES[algorithm]:
            text = student.call("train_tokenizer", corpus, algorithm, size)
            tok = _load_trained(text, algorithm)
            spec = json.loads(text)
            got_type = (spec.get("model") or {}).get("type") if isinstance(spec, dict) else None
            assert got_type == model_type, f"for {algorithm!r} the model must be {model_type}, not {got_type}"
            want = Tokenizer.from_str(reference.call("train_tokenizer", corpus, algorithm, size))
            assert tok.get_vocab_size() == want.get_vocab_size(), (
                f"asked for vocab_size={size}, the {algorithm} vocabulary has {tok.get_vocab_size()} "
                f"entries; trained to the spec it has {want.get_vocab_size()}: pass vocab_size to the trainer"
            )
            ids = [tok.token_to_id(t) for t in ("[UNK]", "[PAD]", "[CLS]", "[SEP]", "[MASK]")]
            assert ids == [0, 1, 2, 3, 4], f"special tokens must have ids 0-4 in the order given; got {ids}"
            first = _pieces(tok, probes[0], algorithm)
            assert first[:1] == ["[CLS]"] and first[-1:] == ["[SEP]"], (
                "the post-processor must add [CLS] ... [SEP]"
            )
            assert "[UNK]" not in first, (
                f"{algorithm}: capitals became [UNK]: is the lowercase normaliser missing?"
            )
            for probe in probes:
                assert _pieces(tok, probe, algorithm) == _pieces(want, probe, algorithm), (
                    f"{algorithm} (vocab_size={size}): the trained tokenizer splits a hidden probe text "
                    "differently from one trained to the spec (check the normaliser, the pre-tokeniser "
                    "and the unknown token)"
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
