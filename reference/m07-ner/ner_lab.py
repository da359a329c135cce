# %% [markdown]
# # Module 7: Token classification (named-entity recognition)
#
# A token classifier gives every token a label. For NER the labels are CoNLL-style tags:
# `B-PER` starts a person's name, `I-PER` continues it, `O` is outside any entity; the same for
# organisations (ORG), locations (LOC) and everything else (MISC).
#
# The catch: the data is labelled per *word*, the model sees *subword tokens*. You will
#
# 1. align word labels to tokens with `word_ids()`;
# 2. score predictions per entity with seqeval, as NER is scored in the literature;
# 3. fine-tune MiniLM with `AutoModelForTokenClassification` and the `Trainer`;
# 4. use the fine-tuned model through `pipeline("token-classification")`.
#
# Read `README.md` first. Functions return plain Python values (lists, dicts, numbers, strings).

# %%
from __future__ import annotations

import json
from pathlib import Path

LABELS = ["O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC", "B-MISC", "I-MISC"]
IGNORE = -100  # the label id PyTorch's cross-entropy skips


def read_jsonl(path: str | Path) -> list[dict]:
    """One JSON object per line: {"tokens": [words...], "ner_tags": [label ids...]}."""
    return [json.loads(line) for line in Path(path).read_text().splitlines() if line.strip()]


# %% [markdown]
# ## 1. Aligning word labels to subword tokens
#
# `tokenizer(words, is_split_into_words=True)` tokenises a sentence that is already split into
# words. The result's `word_ids(i)` says, for each token of sentence `i`, which word it came from
# (`None` for `[CLS]` and `[SEP]`). The label rule of this course:
#
# - special tokens get -100 (ignored by the loss);
# - the **first** subword of each word gets the word's label;
# - every **continuation** subword gets -100 as well.


# %%
def tokenize_and_align_labels(tokenizer, examples: dict) -> dict:
    """Tokenise a batch of pre-split sentences and align their labels to the tokens.

    `examples` is a batch as `Dataset.map(batched=True)` passes it: {"tokens": [[word, ...], ...],
    "ner_tags": [[label id, ...], ...]}. Truncate at 128 tokens, no padding. Return {"input_ids",
    "attention_mask", "labels"}: one list per sentence, `labels` aligned to the tokens by the rule above.
    """
    ### BEGIN SOLUTION tokenizer(..., is_split_into_words=True, truncation=True);
    ### walk enc.word_ids(batch_index=i)
    enc = tokenizer(examples["tokens"], is_split_into_words=True, truncation=True, max_length=128)
    all_labels = []
    for i, word_labels in enumerate(examples["ner_tags"]):
        labels, previous = [], None
        for word_id in enc.word_ids(batch_index=i):
            if word_id is None or word_id == previous:
                labels.append(IGNORE)
            else:
                labels.append(word_labels[word_id])
            previous = word_id
        all_labels.append(labels)
    return {"input_ids": enc["input_ids"], "attention_mask": enc["attention_mask"], "labels": all_labels}
    ### END SOLUTION


# %% [markdown]
# ## 2. Entity-level scores
#
# Token accuracy flatters a tagger: most words are `O`. NER is scored per **entity**: a predicted
# entity counts only if its type and its exact span match a true one. `seqeval` does this from tag
# strings. The model's output has one row of logits per *token*; score only the positions whose
# label is not -100 (the first subword of each word), so that there is one tag per word.


# %%
def compute_metrics(logits: list, labels: list) -> dict:
    """Entity-level precision, recall and F1 of token-classification logits.

    `logits[i][t]` holds the scores of the len(LABELS) classes for token t of sentence i;
    `labels[i][t]` is the aligned gold label id, -100 where the token is not scored. Take each
    token's best class, keep only positions whose gold label is not -100, turn ids into LABELS
    strings and score with seqeval (evaluate.load("seqeval")). Return {"precision", "recall", "f1"} as floats.
    """
    ### BEGIN SOLUTION argmax per token, drop -100 positions, map ids to LABELS, evaluate.load("seqeval")
    ### overall_precision/recall/f1
    import evaluate
    import numpy as np

    predictions = [np.asarray(row).argmax(-1).tolist() for row in logits]
    true_tags, pred_tags = [], []
    for pred_row, label_row in zip(predictions, labels, strict=True):
        kept = [(p, g) for p, g in zip(pred_row, label_row, strict=True) if g != IGNORE]
        true_tags.append([LABELS[g] for _, g in kept])
        pred_tags.append([LABELS[p] for p, _ in kept])
    scores = evaluate.load("seqeval").compute(predictions=pred_tags, references=true_tags)
    return {name: float(scores[f"overall_{name}"]) for name in ("precision", "recall", "f1")}
    ### END SOLUTION


# %% [markdown]
# ## 3. Fine-tuning
#
# `AutoModelForTokenClassification` puts a fresh linear layer on top of MiniLM: one output per
# label. Give it `id2label`/`label2id` so the saved config (and the pipeline) speak in tag names.
# `DataCollatorForTokenClassification` pads `labels` with -100, so padding is never scored.


# %%
def train_ner(
    data_dir: str,
    model_path: str,
    output_dir: str,
    seed: int = 0,
    epochs: float = 2,
    learning_rate: float = 2e-4,
) -> dict:
    """Fine-tune the model at `model_path` on `data_dir`/train.jsonl and save it to `output_dir`.

    Call set_seed(seed) first, so that the new head's initialisation follows the seed too: the same
    seed must give the same model. Map the data with tokenize_and_align_labels, train with the
    Trainer (batch size 16, the given epochs, learning rate and seed; on the CPU; no checkpoints, no
    reporting), then save the model **and** its tokenizer to `output_dir` with save_pretrained. Its
    config must name the labels (id2label / label2id from LABELS). Return the Trainer's evaluation of
    `data_dir`/validation.jsonl with compute_metrics: {"eval_f1": ..., ...}.
    """
    ### BEGIN SOLUTION set_seed(seed); Dataset.from_list + map(batched=True); AutoModelForTokenClassification
    ### with id2label; Trainer with DataCollatorForTokenClassification; save model and tokenizer
    from datasets import Dataset
    from transformers import (
        AutoModelForTokenClassification,
        AutoTokenizer,
        DataCollatorForTokenClassification,
        Trainer,
        TrainingArguments,
        set_seed,
    )

    set_seed(seed)
    tokenizer = AutoTokenizer.from_pretrained(model_path)
    splits = {}
    for split in ("train", "validation"):
        dataset = Dataset.from_list(read_jsonl(Path(data_dir) / f"{split}.jsonl"))
        splits[split] = dataset.map(
            lambda batch: tokenize_and_align_labels(tokenizer, batch),
            batched=True,
            remove_columns=dataset.column_names,
        )
    model = AutoModelForTokenClassification.from_pretrained(
        model_path,
        num_labels=len(LABELS),
        id2label=dict(enumerate(LABELS)),
        label2id={label: i for i, label in enumerate(LABELS)},
    )
    args = TrainingArguments(
        output_dir=f"{output_dir}-trainer",
        per_device_train_batch_size=16,
        per_device_eval_batch_size=64,
        num_train_epochs=epochs,
        learning_rate=learning_rate,
        seed=seed,
        use_cpu=True,
        report_to="none",
        save_strategy="no",
        eval_strategy="no",
        logging_strategy="no",
    )
    trainer = Trainer(
        model=model,
        args=args,
        train_dataset=splits["train"],
        eval_dataset=splits["validation"],
        data_collator=DataCollatorForTokenClassification(tokenizer),
        processing_class=tokenizer,
        compute_metrics=lambda p: compute_metrics(p.predictions, p.label_ids),
    )
    trainer.train()
    model.save_pretrained(output_dir)  # safetensors + config.json (Trainer.save_model also pickles its args)
    tokenizer.save_pretrained(output_dir)
    return trainer.evaluate()
    ### END SOLUTION


# %% [markdown]
# ## 4. Using the model: the token-classification pipeline
#
# The pipeline tokenises, runs the model and turns per-token tags back into entities. Its
# `aggregation_strategy` decides how subword predictions become words: read the handout for why
# `"simple"` breaks names apart on this model and `"first"` does not.


# %%
def extract_entities(model_dir: str, texts: list[str]) -> list[list[dict]]:
    """Run a token-classification pipeline from `model_dir` on each text, grouping whole words.

    Use aggregation_strategy="first". Return, per text, its entities in order as
    {"entity_group": "PER", "word": "...", "start": int, "end": int} (drop the scores).
    """
    ### BEGIN SOLUTION pipeline("token-classification", model=model_dir, aggregation_strategy="first")
    from transformers import pipeline

    ner = pipeline("token-classification", model=model_dir, aggregation_strategy="first", device="cpu")
    keys = ("entity_group", "word", "start", "end")
    return [[{k: entity[k] for k in keys} for entity in ner(text)] for text in texts]
    ### END SOLUTION


# %%
if __name__ == "__main__":
    # Paths come from `course assets` (it prints where minilm and ner-data live).
    import sys

    minilm, data = sys.argv[1], sys.argv[2]
    print(train_ner(data, minilm, "ner-model", seed=1))
    print(extract_entities("ner-model", ["Maria Okafor flew from Lagos to Oslo for the Nobel Prize ."]))
