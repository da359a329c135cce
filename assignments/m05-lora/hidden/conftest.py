"""Hidden inputs for module 5: tickets the student never saw (drawn by builders/tickets.py with
another seed, disjoint from the public split), the trusted base model in fp32 and in 4-bit, and the
student's trainings (LoRA; QLoRA and full fine-tuning for extra credit), each run once per grading
in a worker of its own, whose peak memory the OS measures."""

import json
from pathlib import Path

import pytest

from autograder.api import StudentError, record_metric

DATA = Path(__file__).parent / "data"
TRAIN_SECONDS = 1800  # 3 epochs of 120 tickets: ~4 CPU-minutes; a shared machine may give a fraction of that


@pytest.fixture(scope="session")
def hidden_tickets() -> list[dict]:
    return [json.loads(line) for line in (DATA / "tickets.jsonl").read_text().splitlines() if line.strip()]


@pytest.fixture(scope="session")
def trusted_base(assets):
    """(tokenizer, model): SmolLM2 loaded here, from the course's own copy."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    path = assets.path("smollm2")
    return AutoTokenizer.from_pretrained(path), AutoModelForCausalLM.from_pretrained(path).eval()


@pytest.fixture(scope="session")
def trusted_nf4(assets):
    """SmolLM2 quantized to 4-bit NF4 here, as the spec asks the student to (float32 compute)."""
    import torch
    from transformers import AutoModelForCausalLM, BitsAndBytesConfig

    nf4 = BitsAndBytesConfig(
        load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_compute_dtype=torch.float32
    )
    return AutoModelForCausalLM.from_pretrained(assets.path("smollm2"), quantization_config=nf4).eval()


def training(student, seed, fn: str, folder: str, label: str) -> tuple[dict, Path]:
    """The report of the student's `fn` (3 epochs on the tickets, the grading seed) and the folder it
    saved to; its peak memory and seconds go to the metrics as <label>_train_peak_bytes / _seconds."""
    report, peak, seconds = student.call_alone(
        fn,
        student.asset("smollm2"),
        student.asset("tickets"),
        student.scratch(folder),
        3,
        seed,
        timeout=TRAIN_SECONDS,
    )
    if not isinstance(report, dict):
        raise StudentError(f"{fn}() must return a dict")
    record_metric(f"{label}_train_peak_bytes", peak)
    record_metric(f"{label}_train_seconds", round(seconds, 1))
    return report, student.scratch_path(folder)


# Session-scoped: a failure is raised again, as the student's, in every test that needs it.
@pytest.fixture(scope="session")
def trained(student, seed):
    """finetune_lora(): its report and the adapter's folder."""
    return training(student, seed, "finetune_lora", "adapter", "lora")


@pytest.fixture(scope="session")
def qlora_trained(student, seed):
    """finetune_qlora() (extra credit): its report and the adapter's folder."""
    return training(student, seed, "finetune_qlora", "qlora-adapter", "qlora")


@pytest.fixture(scope="session")
def full_trained(student, seed):
    """finetune_full() (extra credit): its report and the saved model's folder."""
    return training(student, seed, "finetune_full", "full-model", "full")
