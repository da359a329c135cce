"""A byte-level BPE tokenizer for the date-normalisation task, trained on its training split.

T5's own SentencePiece vocabulary is not available offline. Pre-tokenizers split punctuation and
runs of digits first, so "1999-03-21" becomes "1999", "-", "03", "-", "21" and the model can copy
numbers piece by piece. Like T5: <pad> is id 0 (also the decoder start token), </s> id 1 and
appended to every sequence, <unk> id 2.
"""

from __future__ import annotations

import json
from pathlib import Path

VOCAB_SIZE = 1000
SPECIALS = ["<pad>", "</s>", "<unk>"]


def build(out: Path, needs: dict[str, Path]) -> None:
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    rows = [json.loads(line) for line in (needs["dates"] / "train.jsonl").read_text().splitlines()]
    tok = Tokenizer(models.BPE(unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Punctuation(),
            pre_tokenizers.Digits(individual_digits=False),
            pre_tokenizers.ByteLevel(add_prefix_space=False),
        ]
    )
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=VOCAB_SIZE,
        special_tokens=SPECIALS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(
        (text for row in rows for text in (row["source"], row["target"])), trainer=trainer
    )
    tok.post_processor = processors.TemplateProcessing(
        single="$A </s>", pair="$A </s> $B </s>", special_tokens=[("</s>", tok.token_to_id("</s>"))]
    )
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok, pad_token="<pad>", eos_token="</s>", unk_token="<unk>", model_max_length=64
    )
    fast.save_pretrained(out)
