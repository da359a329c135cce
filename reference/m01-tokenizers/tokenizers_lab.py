# %% [markdown]
# # Module 1: Tokenizers
#
# A model never sees text: it sees integer ids. In this lab you take text apart the way two real
# models do — MiniLM (WordPiece, like BERT) and SmolLM2 (byte-level BPE, like GPT-2 and Llama) —
# and put it back together. Read `README.md` first; each function's docstring is its spec.
#
# Every function receives ready-made objects (a tokenizer, a model) and must **return plain
# Python values**: ints, floats, strings, lists and dicts. Convert tensors with `.tolist()`.
#
# Put your own experiments under `if __name__ == "__main__":` at the bottom: the grader imports
# this file, and code outside functions runs at import.

# %%
from __future__ import annotations

from transformers import AutoTokenizer, PreTrainedTokenizerBase  # noqa: F401 - used in the experiments below

SPECIAL_TOKENS = ["[UNK]", "[PAD]", "[CLS]", "[SEP]", "[MASK]"]

# %% [markdown]
# ## 1. Encoding one text
#
# `tokenizer(text)` runs the whole pipeline: normalise, pre-tokenise, split into subwords, map to
# ids, and add the model's special tokens (`[CLS] ... [SEP]` for BERT-style models).


# %%
def encode(tokenizer, text: str) -> list[int]:
    """Return the input ids of `text` exactly as the model expects them, special tokens included."""
    ### BEGIN SOLUTION call the tokenizer on the text and return its input_ids as a list
    return tokenizer(text)["input_ids"]
    ### END SOLUTION


def subword_tokens(tokenizer, text: str) -> list[str]:
    """Return the subword strings `text` is split into, without special tokens (e.g. ['token', '##izer'])."""
    ### BEGIN SOLUTION use tokenizer.tokenize
    return tokenizer.tokenize(text)
    ### END SOLUTION


def round_trip(tokenizer, text: str) -> str:
    """Encode `text`, then decode the ids back to a string without special tokens."""
    ### BEGIN SOLUTION encode, then tokenizer.decode(..., skip_special_tokens=True)
    ids = tokenizer(text)["input_ids"]
    return tokenizer.decode(ids, skip_special_tokens=True)
    ### END SOLUTION


# %% [markdown]
# ## 2. Batches: padding, truncation, attention masks
#
# A batch is a rectangle: shorter texts are padded with the pad token, longer ones cut at
# `max_length`. The attention mask says which positions are real (1) and which are padding (0).


# %%
def encode_batch(tokenizer, texts: list[str], max_length: int) -> dict[str, list[list[int]]]:
    """Encode `texts` as one batch padded and truncated to exactly `max_length` tokens.

    Return {"input_ids": ..., "attention_mask": ...}: lists of `len(texts)` rows of `max_length` ints.
    """
    ### BEGIN SOLUTION pad to max_length, truncate, return input_ids and attention_mask
    enc = tokenizer(texts, padding="max_length", truncation=True, max_length=max_length)
    return {"input_ids": enc["input_ids"], "attention_mask": enc["attention_mask"]}
    ### END SOLUTION


def encode_pair(tokenizer, question: str, context: str, max_length: int) -> dict[str, list[int]]:
    """Encode a (question, context) pair as one sequence of at most `max_length` tokens.

    Cut only the context if the pair is too long, never the question. Return input_ids,
    attention_mask and token_type_ids (0 for the question's segment, 1 for the context's).
    """
    ### BEGIN SOLUTION pass both texts; truncation="only_second"; return the three lists
    enc = tokenizer(
        question, context, truncation="only_second", max_length=max_length, return_token_type_ids=True
    )
    return {k: enc[k] for k in ("input_ids", "attention_mask", "token_type_ids")}
    ### END SOLUTION


def pad_for_generation(tokenizer, prompts: list[str]) -> dict[str, list[list[int]]]:
    """Batch prompts for a decoder-only model that will continue them.

    Generation appends tokens on the right, so padding must go on the **left**. If the tokenizer
    has no pad token, use its end-of-sequence token. Pad to the longest prompt and return
    {"input_ids": ..., "attention_mask": ...}.
    """
    ### BEGIN SOLUTION set padding_side="left" (and a pad_token if missing); pad to the longest
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    tokenizer.padding_side = "left"
    enc = tokenizer(prompts, padding="longest")
    return {"input_ids": enc["input_ids"], "attention_mask": enc["attention_mask"]}
    ### END SOLUTION


# %% [markdown]
# ## 3. Out-of-vocabulary words and subwords
#
# WordPiece marks word-internal pieces with `##` and falls back to `[UNK]` for characters it has
# never seen. Byte-level BPE works on bytes, so it can spell anything, but rare words cost many
# tokens (`Ġ` marks a piece that starts with a space).


# %%
def oov_report(tokenizer, words: list[str]) -> dict[str, dict]:
    """For each word, report how the tokenizer splits it.

    Return {word: {"pieces": [...subword strings...], "n_pieces": int, "is_unknown": bool}} where
    is_unknown is True when any piece is the tokenizer's unknown token.
    """
    ### BEGIN SOLUTION tokenize each word; compare pieces with tokenizer.unk_token
    report = {}
    for word in words:
        pieces = tokenizer.tokenize(word)
        unknown = tokenizer.unk_token is not None and tokenizer.unk_token in pieces
        report[word] = {"pieces": pieces, "n_pieces": len(pieces), "is_unknown": unknown}
    return report
    ### END SOLUTION


def tokens_per_word(tokenizer, text: str) -> float:
    """The average number of subword tokens per whitespace-separated word of `text` (no special tokens)."""
    ### BEGIN SOLUTION len(tokenize(text)) / number of words
    words = text.split()
    return len(tokenizer.tokenize(text)) / len(words)
    ### END SOLUTION


# %% [markdown]
# ## 4. Exploring a vocabulary


# %%
def vocab_facts(tokenizer, prefix: str) -> dict:
    """Facts about a tokenizer's vocabulary.

    Return {"size": the number of tokens including added special tokens,
            "n_with_prefix": how many vocabulary strings start with `prefix` (e.g. "##" or "Ġ"),
            "special_tokens": the sorted list of its special token strings,
            "special_ids": the sorted list of their ids}.
    """
    ### BEGIN SOLUTION use len(tokenizer), get_vocab(), all_special_tokens and all_special_ids
    vocab = tokenizer.get_vocab()
    return {
        "size": len(tokenizer),
        "n_with_prefix": sum(1 for token in vocab if token.startswith(prefix)),
        "special_tokens": sorted(tokenizer.all_special_tokens),
        "special_ids": sorted(tokenizer.all_special_ids),
    }
    ### END SOLUTION


# %% [markdown]
# ## 5. Training your own tokenizer
#
# The `tokenizers` library trains a WordPiece, BPE or Unigram vocabulary on your own text in
# seconds. Build it from parts: a model, a normaliser, a pre-tokeniser, a trainer, and a
# post-processor that adds `[CLS]`/`[SEP]`.


# %%
def train_tokenizer(texts: list[str], algorithm: str, vocab_size: int) -> str:
    """Train a tokenizer on `texts` and return it serialised as JSON (`Tokenizer.to_str()`).

    - algorithm: "wordpiece", "bpe" or "unigram";
    - normaliser: NFKC then lowercase; pre-tokeniser: Whitespace;
    - special tokens SPECIAL_TOKENS, in that order, so that "[UNK]" has id 0 and "[PAD]" id 1;
      "[UNK]" is the unknown token;
    - a post-processor that turns a single text into "[CLS] $A [SEP]".
    """
    ### BEGIN SOLUTION build models.<Algo>, normalizers.Sequence, pre_tokenizers.Whitespace, the matching
    ### trainer, TemplateProcessing
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors, trainers

    if algorithm == "wordpiece":
        tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
        trainer = trainers.WordPieceTrainer(vocab_size=vocab_size, special_tokens=SPECIAL_TOKENS)
    elif algorithm == "bpe":
        tok = Tokenizer(models.BPE(unk_token="[UNK]"))
        trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=SPECIAL_TOKENS)
    elif algorithm == "unigram":
        tok = Tokenizer(models.Unigram())
        trainer = trainers.UnigramTrainer(
            vocab_size=vocab_size, special_tokens=SPECIAL_TOKENS, unk_token="[UNK]"
        )
    else:
        raise ValueError(f"unknown algorithm {algorithm!r}")
    tok.normalizer = normalizers.Sequence([normalizers.NFKC(), normalizers.Lowercase()])
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.train_from_iterator(texts, trainer=trainer)
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]",
        special_tokens=[("[CLS]", tok.token_to_id("[CLS]")), ("[SEP]", tok.token_to_id("[SEP]"))],
    )
    return tok.to_str()
    ### END SOLUTION


# %% [markdown]
# ## 6. The model behind the tokenizer: config and parameters
#
# A model's `config` fixes its shape. Its embedding matrix has one row per vocabulary entry:
# that is where the tokenizer and the model must agree.


# %%
def model_summary(model) -> dict:
    """Describe a loaded model from its config and weights.

    Return {"model_type", "hidden_size", "num_hidden_layers", "num_attention_heads", "vocab_size"}
    from the config, plus "n_parameters": the number of distinct parameters (a weight shared by two
    layers, such as tied input/output embeddings, counts once) and "embedding_rows": the number of
    rows of the input embedding matrix.
    """
    ### BEGIN SOLUTION read model.config; sum p.numel() over model.parameters(); model.get_input_embeddings()
    cfg = model.config
    return {
        "model_type": cfg.model_type,
        "hidden_size": cfg.hidden_size,
        "num_hidden_layers": cfg.num_hidden_layers,
        "num_attention_heads": cfg.num_attention_heads,
        "vocab_size": cfg.vocab_size,
        "n_parameters": sum(p.numel() for p in model.parameters()),
        "embedding_rows": model.get_input_embeddings().weight.shape[0],
    }
    ### END SOLUTION


# %%
if __name__ == "__main__":
    # Try things here. The paths come from `course assets`, which prints where each model lives.
    import sys

    tokenizer = AutoTokenizer.from_pretrained(
        sys.argv[1] if len(sys.argv) > 1 else "sentence-transformers/all-MiniLM-L6-v2"
    )
    print(encode(tokenizer, "Tokenizers turn text into numbers."))
    print(subword_tokens(tokenizer, "Tokenizers turn text into numbers."))
