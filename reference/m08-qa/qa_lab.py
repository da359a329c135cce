# %% [markdown]
# # Module 8: Extractive question answering
#
# An extractive QA model does not write an answer: it points at one in the context. For every
# token it predicts two scores, "the answer starts here" and "the answer ends here"; the answer is
# the best-scoring valid span. You will
#
# 1. turn (question, context, answer) triples into training features: windows of the context,
#    with the answer's start and end **token** positions;
# 2. turn the model's start/end logits back into a span of text;
# 3. fine-tune MiniLM with `AutoModelForQuestionAnswering`;
# 4. write `answer(question, context)`, because transformers 5 removed the QA pipeline.
#
# Read `README.md` first. Functions return plain Python values.

# %%
from __future__ import annotations

import json
from pathlib import Path

MAX_LENGTH = 48  # tokens per window: question + a slice of the context
STRIDE = 16  # tokens that consecutive windows of one context share
MAX_ANSWER_TOKENS = 15


def read_jsonl(path: str | Path) -> list[dict]:
    """SQuAD-style rows: {"id", "question", "context", "answers": {"text": [...], "answer_start": [...]}}."""
    return [json.loads(line) for line in Path(path).read_text().splitlines() if line.strip()]


# %% [markdown]
# ## 1. Training features: windows, offsets and answer positions
#
# `tokenizer(questions, contexts, truncation="only_second", max_length=..., stride=...,
# return_overflowing_tokens=True, return_offsets_mapping=True)` cuts a long context into several
# overlapping windows, each starting with the whole question. `overflow_to_sample_mapping` says
# which example each window came from; `offset_mapping` gives each token's (start, end) character
# span; `sequence_ids(i)` tells question tokens (0) from context tokens (1) and special tokens (None).


# %%
def prepare_train_features(
    tokenizer, examples: dict, max_length: int = MAX_LENGTH, stride: int = STRIDE
) -> dict:
    """Tokenise a batch of examples into windows labelled with answer token positions.

    `examples` is a batch as `Dataset.map(batched=True)` passes it (lists under "question",
    "context", "answers"). Truncate only the context, pad every window to `max_length`, overlap
    windows by `stride`. For each window, `start_positions`/`end_positions` are the indices of the
    first and last token of the answer (the first answer of `answers`); if the answer is not
    entirely inside the window's context, both are 0 (the [CLS] token). Return {"input_ids",
    "token_type_ids", "attention_mask", "start_positions", "end_positions", "example_index"}, one
    entry per window; `example_index` is the window's example in the batch.
    """
    ### BEGIN SOLUTION tokenize with stride/overflow/offsets; for each window find the context's token range
    ### via sequence_ids, then the answer's tokens from the offsets
    enc = tokenizer(
        [q.strip() for q in examples["question"]],
        examples["context"],
        truncation="only_second",
        max_length=max_length,
        stride=stride,
        return_overflowing_tokens=True,
        return_offsets_mapping=True,
        padding="max_length",
    )
    starts, ends = [], []
    for i, offsets in enumerate(enc["offset_mapping"]):
        gold = examples["answers"][enc["overflow_to_sample_mapping"][i]]
        first_char = gold["answer_start"][0]
        last_char = first_char + len(gold["text"][0])
        sequence_ids = enc.sequence_ids(i)
        context_start = sequence_ids.index(1)
        context_end = len(sequence_ids) - 1 - sequence_ids[::-1].index(1)
        if offsets[context_start][0] > first_char or offsets[context_end][1] < last_char:
            starts.append(0)
            ends.append(0)
            continue
        token = context_start
        while token <= context_end and offsets[token][0] <= first_char:
            token += 1
        starts.append(token - 1)
        token = context_end
        while token >= context_start and offsets[token][1] >= last_char:
            token -= 1
        ends.append(token + 1)
    return {
        "input_ids": enc["input_ids"],
        "token_type_ids": enc["token_type_ids"],
        "attention_mask": enc["attention_mask"],
        "start_positions": starts,
        "end_positions": ends,
        "example_index": enc["overflow_to_sample_mapping"],
    }
    ### END SOLUTION


# %% [markdown]
# ## 2. From logits back to text
#
# A span (s, e) scores `start_logits[s] + end_logits[e]`. It is valid only if both tokens are in
# the context (the question and the special tokens have no offsets there: `None`), `s <= e`, and it
# is at most `max_answer_tokens` long. The offsets turn token positions into characters.


# %%
def best_span(
    start_logits: list[float],
    end_logits: list[float],
    offsets: list,
    context: str,
    max_answer_tokens: int = MAX_ANSWER_TOKENS,
) -> dict | None:
    """The best valid answer span of one window, or None if the window has no valid span.

    `offsets[t]` is token t's [start, end] character span in `context`, or None for tokens outside
    the context (question, special tokens, padding). Return {"text": the context's characters from
    the start token's start to the end token's end, "start": that start, "end": that end,
    "score": start_logits[s] + end_logits[e]}.
    """
    ### BEGIN SOLUTION try every start s and end e with s <= e < s + max_answer_tokens, both with offsets;
    ### keep the best sum
    best = None
    for s, s_offset in enumerate(offsets):
        if s_offset is None:
            continue
        for e in range(s, min(s + max_answer_tokens, len(offsets))):
            if offsets[e] is None:
                continue
            score = start_logits[s] + end_logits[e]
            if best is None or score > best["score"]:
                best = {"start": s_offset[0], "end": offsets[e][1], "score": score}
    if best is None:
        return None
    return {"text": context[best["start"] : best["end"]], **best}
    ### END SOLUTION


# %% [markdown]
# ## 3. Fine-tuning
#
# `AutoModelForQuestionAnswering` adds a linear layer with two outputs per token (start and end
# logits). Given `start_positions` and `end_positions` it computes the loss itself.


# %%
def train_qa(
    data_dir: str,
    model_path: str,
    output_dir: str,
    seed: int = 0,
    epochs: float = 2,
    learning_rate: float = 3e-4,
) -> dict:
    """Fine-tune the model at `model_path` on `data_dir`/train.jsonl; save model and tokenizer to
    `output_dir`.

    Call set_seed(seed) first, so that the new head's initialisation follows the seed too: the same
    seed must give the same model. Map the examples with prepare_train_features (drop the original
    columns and example_index), train with the Trainer (batch size 16, the given epochs, learning rate
    and seed; on the CPU; no checkpoints, no reporting), then save_pretrained the model **and** the
    tokenizer to `output_dir`. Return {"train_windows": the number of training windows, "steps": the
    number of optimisation steps trained (the global_step of what Trainer.train() returns)}.
    """
    ### BEGIN SOLUTION set_seed(seed); Dataset.from_list + map(batched=True, remove_columns=...);
    ### AutoModelForQuestionAnswering; Trainer with default_data_collator; save model and tokenizer
    from datasets import Dataset
    from transformers import (
        AutoModelForQuestionAnswering,
        AutoTokenizer,
        Trainer,
        TrainingArguments,
        default_data_collator,
        set_seed,
    )

    set_seed(seed)
    tokenizer = AutoTokenizer.from_pretrained(model_path)
    raw = Dataset.from_list(read_jsonl(Path(data_dir) / "train.jsonl"))
    features = raw.map(
        lambda batch: prepare_train_features(tokenizer, batch), batched=True, remove_columns=raw.column_names
    ).remove_columns("example_index")
    model = AutoModelForQuestionAnswering.from_pretrained(model_path)
    args = TrainingArguments(
        output_dir=f"{output_dir}-trainer",
        per_device_train_batch_size=16,
        num_train_epochs=epochs,
        learning_rate=learning_rate,
        seed=seed,
        use_cpu=True,
        report_to="none",
        save_strategy="no",
        logging_strategy="no",
    )
    trained = Trainer(
        model=model,
        args=args,
        train_dataset=features,
        data_collator=default_data_collator,
        processing_class=tokenizer,
    ).train()
    model.save_pretrained(output_dir)
    tokenizer.save_pretrained(output_dir)
    return {"train_windows": len(features), "steps": trained.global_step}
    ### END SOLUTION


# %% [markdown]
# ## 4. Answering a question
#
# `pipeline("question-answering")` was removed in transformers 5. What it did is short: window the
# context as in training, run the model, find each window's best span, keep the best one.


# %%
def answer(model_dir: str, question: str, context: str) -> dict:
    """Answer `question` from `context` with the QA model saved in `model_dir`.

    Window the context exactly as in training (MAX_LENGTH, STRIDE, only the context truncated),
    run the model on all windows, and return the best_span (MAX_ANSWER_TOKENS) with the highest
    score over all windows: {"text", "start", "end", "score"}.
    """
    ### BEGIN SOLUTION tokenize with overflow + offsets; set offsets of non-context tokens to None;
    ### model(...) in no_grad; best_span per window; keep the max score
    import torch
    from transformers import AutoModelForQuestionAnswering, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForQuestionAnswering.from_pretrained(model_dir).eval()
    enc = tokenizer(
        question.strip(),
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
        span = best_span(out.start_logits[i].tolist(), out.end_logits[i].tolist(), offsets, context)
        if span is not None and (best is None or span["score"] > best["score"]):
            best = span
    return best
    ### END SOLUTION


# %%
if __name__ == "__main__":
    # Paths come from `course assets` (it prints where minilm and qa-data live).
    import sys

    minilm, data = sys.argv[1], sys.argv[2]
    print(train_qa(data, minilm, "qa-model", seed=1))
    print(answer("qa-model", "Where was Anna Costa born?", "This is Anna Costa. She was born in Lyon."))
