"""Offline stand-ins for the real seq2seq checkpoints course.yaml names by Hub id (t5-small,
facebook/bart-large-cnn, Helsinki-NLP/opus-mt-en-fr).

Online, `HF_HUB_OFFLINE=0 course assets` is where instructors would fetch the real ones; this
machine has no Hub, so each stand-in is a *randomly initialised* miniature of the same architecture
with the date tokenizer: it loads with AutoModelForSeq2SeqLM and runs generate(), it knows nothing.
"""

from __future__ import annotations

from pathlib import Path

NOTE = "# Untrained stand-in\n\nA random {arch} miniature with the course's date tokenizer, for offline API demos only.\n"


def _save(out: Path, needs: dict[str, Path], arch: str, make_config) -> None:
    import torch
    from transformers import AutoModelForSeq2SeqLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(needs["dates-tokenizer"])
    ids = {
        "vocab_size": len(tokenizer),
        "pad_token_id": tokenizer.pad_token_id,
        "eos_token_id": tokenizer.eos_token_id,
        "decoder_start_token_id": tokenizer.pad_token_id,
    }
    torch.manual_seed(0)
    AutoModelForSeq2SeqLM.from_config(make_config(ids)).save_pretrained(out)
    tokenizer.save_pretrained(out)
    (out / "README.md").write_text(NOTE.format(arch=arch))


def build_t5(out: Path, needs: dict[str, Path]) -> None:
    from transformers import T5Config

    _save(
        out,
        needs,
        "T5",
        lambda ids: T5Config(
            d_model=64, d_ff=128, d_kv=16, num_heads=4, num_layers=1, num_decoder_layers=1, **ids
        ),
    )


def build_bart(out: Path, needs: dict[str, Path]) -> None:
    from transformers import BartConfig

    _save(
        out,
        needs,
        "BART",
        lambda ids: BartConfig(
            d_model=64,
            encoder_layers=1,
            decoder_layers=1,
            encoder_attention_heads=4,
            decoder_attention_heads=4,
            encoder_ffn_dim=128,
            decoder_ffn_dim=128,
            bos_token_id=ids["pad_token_id"],
            **ids,
        ),
    )


def build_marian(out: Path, needs: dict[str, Path]) -> None:
    from transformers import MarianConfig

    _save(
        out,
        needs,
        "Marian",
        lambda ids: MarianConfig(
            d_model=64,
            encoder_layers=1,
            decoder_layers=1,
            encoder_attention_heads=4,
            decoder_attention_heads=4,
            encoder_ffn_dim=128,
            decoder_ffn_dim=128,
            **ids,
        ),
    )
