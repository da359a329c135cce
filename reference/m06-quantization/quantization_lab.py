# %% [markdown]
# # Module 6: Quantization
#
# A model's weights are numbers, and fp32 spends 4 bytes on each. Quantization stores them in 8 or
# 4 bits instead, trading a little accuracy for a model several times smaller. In this lab you load
# SmolLM2-135M-Instruct in 8-bit (LLM.int8()) and 4-bit NF4 with bitsandbytes, save the quantized
# models, measure memory, speed and perplexity against fp32, and quantize a sequence classifier
# without breaking its new head. Read `README.md` first; each function's docstring is its spec.
#
# Every function must **return plain Python values**. Put experiments under
# `if __name__ == "__main__":`.

# %%
from __future__ import annotations

import math
import time

import torch
from transformers import (
    AutoModelForCausalLM,
    AutoModelForSequenceClassification,
    AutoTokenizer,
    BitsAndBytesConfig,
)

MODES = ("fp32", "int8", "nf4")

# %% [markdown]
# ## 1. Quantization configs
#
# `BitsAndBytesConfig` says how `from_pretrained` should store the weights of every `nn.Linear`
# layer. Embeddings, norms and the output head stay in full precision.


# %%
def quantization_config(mode: str, skip: list[str] | None = None) -> BitsAndBytesConfig | None:
    """The bitsandbytes config for `mode`: None for "fp32"; 8-bit LLM.int8() for "int8"; for "nf4",
    4-bit NormalFloat weights computing in float32. `skip` names modules to leave unquantized."""
    ### BEGIN SOLUTION BitsAndBytesConfig(load_in_8bit=True, ...) / (load_in_4bit=True,
    ### bnb_4bit_quant_type="nf4", bnb_4bit_compute_dtype=torch.float32); llm_int8_skip_modules=skip
    if mode == "fp32":
        return None
    if mode == "int8":
        return BitsAndBytesConfig(load_in_8bit=True, llm_int8_skip_modules=skip)
    if mode == "nf4":
        return BitsAndBytesConfig(
            load_in_4bit=True,
            bnb_4bit_quant_type="nf4",
            bnb_4bit_compute_dtype=torch.float32,
            llm_int8_skip_modules=skip,
        )
    raise ValueError(f"unknown mode {mode!r}; use one of {MODES}")
    ### END SOLUTION


def save_quantized(path: str, mode: str, out_dir: str) -> dict:
    """Load the causal LM in `path` quantized as `mode` ("int8" or "nf4") and save it to `out_dir`.

    Return {"footprint_bytes": model.get_memory_footprint(),
            "quantized_layers": how many of its modules are bitsandbytes layers (Linear8bitLt / Linear4bit)}.
    """
    ### BEGIN SOLUTION from_pretrained(path, quantization_config=quantization_config(mode));
    ### save_pretrained(out_dir); count modules whose class name is Linear8bitLt or Linear4bit
    model = AutoModelForCausalLM.from_pretrained(path, quantization_config=quantization_config(mode))
    model.save_pretrained(out_dir)
    AutoTokenizer.from_pretrained(path).save_pretrained(out_dir)
    quantized = sum(type(m).__name__ in ("Linear8bitLt", "Linear4bit") for m in model.modules())
    return {"footprint_bytes": model.get_memory_footprint(), "quantized_layers": quantized}
    ### END SOLUTION


# %% [markdown]
# ## 2. Measuring: memory, speed, quality
#
# A saved quantized model carries its `quantization_config` in config.json, so a plain
# `from_pretrained(folder)` loads it quantized again, without quantizing anything.


# %%
def measure(path: str, text: str, max_new_tokens: int) -> dict:
    """Load the causal LM in `path` (fp32 or an already quantized folder) and measure it.

    Return {"footprint_bytes": get_memory_footprint(),
            "perplexity": perplexity on `text` (exp of the mean next-token loss),
            "seconds_per_token": wall-clock seconds per token of a greedy generate() of
                                 `max_new_tokens` tokens after `text`}.
    """
    ### BEGIN SOLUTION load tokenizer and model; loss with labels=ids;
    ### time.perf_counter() around generate(min_new_tokens=max_new_tokens, ...)
    tokenizer = AutoTokenizer.from_pretrained(path)
    model = AutoModelForCausalLM.from_pretrained(path).eval()
    ids = tokenizer(text, return_tensors="pt")["input_ids"]
    with torch.no_grad():
        loss = model(input_ids=ids, labels=ids).loss.item()
        start = time.perf_counter()
        model.generate(
            input_ids=ids, max_new_tokens=max_new_tokens, min_new_tokens=max_new_tokens, do_sample=False
        )
        seconds = time.perf_counter() - start
    return {
        "footprint_bytes": model.get_memory_footprint(),
        "perplexity": math.exp(loss),
        "seconds_per_token": seconds / max_new_tokens,
    }
    ### END SOLUTION


# %% [markdown]
# ## 3. Quantizing a classifier
#
# A sequence classifier built on a pretrained encoder gets a **new** head (`classifier`), randomly
# initialised and meant to be trained. bitsandbytes cannot quantize it like the pretrained layers:
# leave it in full precision.


# %%
def quantize_classifier(path: str, texts: list[str], out_dir: str) -> list[list[float]]:
    """Load the encoder in `path` as a 2-label sequence classifier in 8-bit, its new `classifier`
    head left in full precision; save it to `out_dir` and return its logits for `texts`
    (one [negative, positive] pair per text, batched with padding)."""
    ### BEGIN SOLUTION AutoModelForSequenceClassification.from_pretrained(path, num_labels=2,
    ### quantization_config=quantization_config("int8", skip=["classifier"])); save; logits
    tokenizer = AutoTokenizer.from_pretrained(path)
    model = AutoModelForSequenceClassification.from_pretrained(
        path, num_labels=2, quantization_config=quantization_config("int8", skip=["classifier"])
    ).eval()
    model.save_pretrained(out_dir)
    tokenizer.save_pretrained(out_dir)
    with torch.no_grad():
        return model(**tokenizer(texts, return_tensors="pt", padding=True)).logits.tolist()
    ### END SOLUTION


# %%
if __name__ == "__main__":
    import sys

    source = sys.argv[1] if len(sys.argv) > 1 else "HuggingFaceTB/SmolLM2-135M-Instruct"
    sample = "The library opens at nine in the morning and closes at six in the evening."
    print("fp32", measure(source, sample, 8))
    for name in ("int8", "nf4"):
        print(name, save_quantized(source, name, f"smollm2-{name}"), measure(f"smollm2-{name}", sample, 8))
