# %% [markdown]
# # Module 5: LoRA fine-tuning with PEFT
#
# Fine-tuning every weight of a model needs memory for the weights, their gradients and two
# optimizer statistics per weight. LoRA freezes the model and trains two small matrices per chosen
# layer instead: a fraction of a percent of the parameters. In this lab you teach
# SmolLM2-135M-Instruct to route support tickets to one of three teams, a task it cannot do out of
# the box, with LoRA and the Trainer; you evaluate before and after, save the adapter, reload it,
# merge it, and measure the memory LoRA saves against full fine-tuning. Read `README.md` first;
# each function's docstring is its spec.
#
# Every function must **return plain Python values**. Put experiments under
# `if __name__ == "__main__":`.

# %%
from __future__ import annotations

import json
import math

import torch
from datasets import Dataset
from peft import LoraConfig, PeftModel, get_peft_model, prepare_model_for_kbit_training
from transformers import (
    AutoModelForCausalLM,
    AutoTokenizer,
    BitsAndBytesConfig,
    DataCollatorForSeq2Seq,
    Trainer,
    TrainingArguments,
)

TEAMS = ["billing", "shipping", "technical"]

# %% [markdown]
# ## 1. The data
#
# The `tickets` folder holds `train.jsonl` (120 tickets) and `valid.jsonl` (30), one JSON object per line:
# `{"ticket": "...", "team": "billing"}`. The model sees `Ticket: <text>\nTeam:` and must continue
# with ` <team>` and its end-of-sequence token.


# %%
def load_examples(path: str) -> list[dict]:
    """The examples of a .jsonl file, as a list of dicts."""
    ### BEGIN SOLUTION one json.loads per non-empty line
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]
    ### END SOLUTION


def prompt(ticket: str) -> str:
    """The text the model continues: "Ticket: <ticket>\\nTeam:"."""
    return f"Ticket: {ticket}\nTeam:"


def tokenize_example(tokenizer, ticket: str, team: str) -> dict[str, list[int]]:
    """One training example: the prompt, then " <team>" and the end-of-sequence token.

    Return {"input_ids", "attention_mask", "labels"}: labels are the input ids with every prompt
    position set to -100, so the loss is computed on the answer (and its end token) only.
    """
    ### BEGIN SOLUTION tokenize prompt and answer separately; input_ids = both + [eos];
    ### labels = [-100] * len(prompt ids) + answer ids + [eos]
    prompt_ids = tokenizer(prompt(ticket))["input_ids"]
    answer_ids = tokenizer(" " + team)["input_ids"] + [tokenizer.eos_token_id]
    return {
        "input_ids": prompt_ids + answer_ids,
        "attention_mask": [1] * (len(prompt_ids) + len(answer_ids)),
        "labels": [-100] * len(prompt_ids) + answer_ids,
    }
    ### END SOLUTION


# %% [markdown]
# ## 2. Evaluating
#
# The answer is one token, so one forward pass per ticket tells us what the model would say
# first: the highest-scoring token after the prompt. Its loss on the right team's token says how
# sure it is.


# %%
def evaluate(model, tokenizer, examples: list[dict]) -> dict:
    """How well `model` routes `examples`, in eval mode (it may come straight from training).

    Return {"accuracy": share of tickets whose highest-scoring next token after prompt(ticket) is
    the token of " <team>", "answer_loss": mean over tickets of -log p(team token | prompt)}.
    """
    ### BEGIN SOLUTION model.eval(); per ticket: logits[0, -1] after the prompt; argmax == team token;
    ### cross-entropy on the team token
    model.eval()
    correct, losses = 0, []
    with torch.no_grad():
        for ex in examples:
            ids = tokenizer(prompt(ex["ticket"]), return_tensors="pt")["input_ids"].to(model.device)
            logits = model(input_ids=ids).logits[0, -1]
            target = tokenizer(" " + ex["team"])["input_ids"][0]
            correct += int(logits.argmax()) == target
            losses.append(-torch.log_softmax(logits, dim=-1)[target].item())
    return {"accuracy": correct / len(examples), "answer_loss": sum(losses) / len(losses)}
    ### END SOLUTION


# %% [markdown]
# ## 3. LoRA
#
# `LoraConfig` says which layers get adapters (`target_modules`), their rank `r`, the scale
# `lora_alpha` (the update is multiplied by alpha / r) and the dropout on their input.
# `get_peft_model` freezes everything else.


# %%
def add_lora(model):
    """Wrap `model` with LoRA adapters: rank 8, alpha 16, dropout 0.05, on the attention's
    q_proj and v_proj layers, for causal language modelling. Return the PEFT model."""
    ### BEGIN SOLUTION LoraConfig(r=8, lora_alpha=16, lora_dropout=0.05, target_modules=["q_proj", "v_proj"],
    ### task_type="CAUSAL_LM"); get_peft_model
    config = LoraConfig(
        r=8,
        lora_alpha=16,
        lora_dropout=0.05,
        target_modules=["q_proj", "v_proj"],
        bias="none",
        task_type="CAUSAL_LM",
    )
    return get_peft_model(model, config)
    ### END SOLUTION


def trainable_report(model) -> dict:
    """Wrap `model` with add_lora() and count its parameters.

    Return {"trainable": parameters that require gradients, "total": all parameters (adapters
    included, a shared weight once), "ratio": trainable / total}.
    """
    ### BEGIN SOLUTION add_lora; sum numel over parameters() with requires_grad, and over all
    peft_model = add_lora(model)
    trainable = sum(p.numel() for p in peft_model.parameters() if p.requires_grad)
    total = sum(p.numel() for p in peft_model.parameters())
    return {"trainable": trainable, "total": total, "ratio": trainable / total}
    ### END SOLUTION


# %% [markdown]
# ## 4. Training with the Trainer
#
# transformers 5 spellings: `eval_strategy`, `use_cpu=True`, `report_to="none"`,
# `processing_class=` (not `tokenizer=`).


# %%
def load_tokenizer(model_path: str):
    """The model's tokenizer, padding with the end-of-sequence token (SmolLM2 has no pad token)."""
    tokenizer = AutoTokenizer.from_pretrained(model_path)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def train_and_save(
    model, tokenizer, data_dir: str, out_dir: str, epochs: int, seed: int, learning_rate: float
) -> dict:
    """Train `model` (its trainable parameters: LoRA's, or all of them) on data_dir/train.jsonl with the
    Trainer: `epochs` epochs, batch size 8, `learning_rate`, seeded with `seed`, on the CPU, no
    checkpoints, no reports, runs under out_dir + "-runs". Then save it to `out_dir` (a PEFT model
    saves only its adapter) and return {"after": evaluate(...) on data_dir/valid.jsonl,
    "train_loss": the Trainer's final training loss}."""
    ### BEGIN SOLUTION Dataset.from_list(tokenize_example...); DataCollatorForSeq2Seq pads labels with -100;
    ### TrainingArguments(...); Trainer(..., processing_class=tokenizer).train();
    ### save_pretrained(out_dir); evaluate
    examples = Dataset.from_list(
        [
            tokenize_example(tokenizer, ex["ticket"], ex["team"])
            for ex in load_examples(f"{data_dir}/train.jsonl")
        ]
    )
    args = TrainingArguments(
        output_dir=out_dir + "-runs",
        num_train_epochs=epochs,
        per_device_train_batch_size=8,
        learning_rate=learning_rate,
        seed=seed,
        use_cpu=True,
        report_to="none",
        save_strategy="no",
        logging_steps=5,
        disable_tqdm=True,
    )
    trainer = Trainer(
        model=model,
        args=args,
        train_dataset=examples,
        processing_class=tokenizer,
        data_collator=DataCollatorForSeq2Seq(tokenizer, label_pad_token_id=-100),
    )
    loss = trainer.train().training_loss
    model.save_pretrained(out_dir)
    return {"after": evaluate(model, tokenizer, load_examples(f"{data_dir}/valid.jsonl")), "train_loss": loss}
    ### END SOLUTION


def finetune_lora(model_path: str, data_dir: str, out_dir: str, epochs: int, seed: int) -> dict:
    """Fine-tune the model in `model_path` with add_lora() on data_dir/train.jsonl for `epochs` epochs,
    with train_and_save() at learning rate 1e-3: `out_dir` gets only the adapter
    (adapter_model.safetensors and adapter_config.json). Return {"before": evaluate(...) on
    data_dir/valid.jsonl before training, "after": ..., "train_loss": ...} (train_and_save's two)."""
    ### BEGIN SOLUTION load_tokenizer; evaluate the base; add_lora; train_and_save(..., 1e-3)
    tokenizer = load_tokenizer(model_path)
    model = AutoModelForCausalLM.from_pretrained(model_path)
    before = evaluate(model, tokenizer, load_examples(f"{data_dir}/valid.jsonl"))
    return {
        "before": before,
        **train_and_save(add_lora(model), tokenizer, data_dir, out_dir, epochs, seed, 1e-3),
    }
    ### END SOLUTION


# %% [markdown]
# ## 5. Reloading and merging
#
# An adapter is useless alone: load the base model, then the adapter onto it. Merging adds
# alpha / r * B @ A into each adapted weight, giving a plain model again, as fast as the base.


# %%
def predict_with_adapter(model_path: str, adapter_dir: str, tickets: list[str]) -> list[list[float]]:
    """Reload the saved adapter onto a fresh base model and score `tickets`.

    Return, for each ticket, the next-token logits after prompt(ticket) of the three team tokens
    (" billing", " shipping", " technical", in that order).
    """
    ### BEGIN SOLUTION PeftModel.from_pretrained(base, adapter_dir).eval(); logits[0, -1][team ids]
    tokenizer = AutoTokenizer.from_pretrained(model_path)
    model = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(model_path), adapter_dir).eval()
    team_ids = [tokenizer(" " + team)["input_ids"][0] for team in TEAMS]
    scores = []
    with torch.no_grad():
        for ticket in tickets:
            ids = tokenizer(prompt(ticket), return_tensors="pt")["input_ids"]
            scores.append(model(input_ids=ids).logits[0, -1, team_ids].tolist())
    return scores
    ### END SOLUTION


def merge_adapter(model_path: str, adapter_dir: str, out_dir: str) -> int:
    """Merge the saved adapter into the base model and save the result to `out_dir` as a plain
    transformers model (no PEFT needed to load it). Return its number of parameters."""
    ### BEGIN SOLUTION PeftModel.from_pretrained(...).merge_and_unload(); save_pretrained(out_dir)
    model = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(model_path), adapter_dir)
    merged = model.merge_and_unload()
    merged.save_pretrained(out_dir)
    return sum(p.numel() for p in merged.parameters())
    ### END SOLUTION


# %% [markdown]
# ## 6. What LoRA saves
#
# Adam keeps two statistics per trained parameter (`exp_avg`, `exp_avg_sq`), each as large as
# the parameter, plus a step counter per tensor; every trained parameter also gets a gradient.


# %%
def training_memory(model_path: str, tickets: list[dict], mode: str, steps: int) -> dict:
    """Train the model in `model_path` for `steps` AdamW steps (lr 1e-4) on one batch made of
    `tickets`, either with add_lora() (mode "lora") or every weight (mode "full").

    Return {"trainable": trainable parameters,
            "gradient_bytes": bytes of all .grad tensors after the last step,
            "optimizer_state_bytes": bytes of every tensor in optimizer.state}.
    The grader measures this call's peak memory itself.
    """
    ### BEGIN SOLUTION build the batch with tokenize_example + DataCollatorForSeq2Seq; add_lora for "lora";
    ### torch.optim.AdamW over trainable params; loss.backward(); step;
    ### count bytes with numel() * element_size()
    tokenizer = load_tokenizer(model_path)
    model = AutoModelForCausalLM.from_pretrained(model_path)
    if mode == "lora":
        model = add_lora(model)
    elif mode != "full":
        raise ValueError(f"mode must be 'lora' or 'full', not {mode!r}")
    model.train()
    collate = DataCollatorForSeq2Seq(tokenizer, label_pad_token_id=-100)
    batch = collate([tokenize_example(tokenizer, ex["ticket"], ex["team"]) for ex in tickets])
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=1e-4)
    for _ in range(steps):
        optimizer.zero_grad()
        model(**batch).loss.backward()
        optimizer.step()
    state = [t for s in optimizer.state.values() for t in s.values() if torch.is_tensor(t)]
    return {
        "trainable": sum(p.numel() for p in params),
        "gradient_bytes": sum(p.grad.numel() * p.grad.element_size() for p in params if p.grad is not None),
        "optimizer_state_bytes": sum(t.numel() * t.element_size() for t in state),
    }
    ### END SOLUTION


# %% [markdown]
# ## 7. Stretch goals (extra credit)
#
# **QLoRA** keeps the frozen base in 4-bit NF4 (module 6) and trains LoRA adapters on top, in
# float32. `prepare_model_for_kbit_training` readies a quantized model for that (it freezes the
# base, keeps the norms in fp32 and makes the inputs require gradients).
#
# **Full fine-tuning** trains every weight, at a learning rate twenty times smaller than LoRA's.


# %%
def finetune_qlora(model_path: str, data_dir: str, out_dir: str, epochs: int, seed: int) -> dict:
    """finetune_lora(), on a 4-bit base: load the model with every linear layer of its blocks in
    4-bit NF4 computing in float32, prepare it for k-bit training (without gradient checkpointing),
    add_lora(), train_and_save() at 1e-3. Return what finetune_lora() does, "before" and "after"
    measured on the 4-bit model.

    On the CPU, a 4-bit layer run in eval mode without gradients repacks its weights for fast
    inference, and a repacked layer passes no gradient: measure "before" on a copy of its own."""
    ### BEGIN SOLUTION BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type="nf4",
    ### bnb_4bit_compute_dtype=torch.float32); evaluate one loaded copy;
    ### train another: prepare_model_for_kbit_training(model, use_gradient_checkpointing=False), add_lora
    tokenizer = load_tokenizer(model_path)
    nf4 = BitsAndBytesConfig(
        load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_compute_dtype=torch.float32
    )
    base = AutoModelForCausalLM.from_pretrained(model_path, quantization_config=nf4)
    before = evaluate(base, tokenizer, load_examples(f"{data_dir}/valid.jsonl"))
    model = AutoModelForCausalLM.from_pretrained(model_path, quantization_config=nf4)
    model = add_lora(prepare_model_for_kbit_training(model, use_gradient_checkpointing=False))
    return {"before": before, **train_and_save(model, tokenizer, data_dir, out_dir, epochs, seed, 1e-3)}
    ### END SOLUTION


def finetune_full(model_path: str, data_dir: str, out_dir: str, epochs: int, seed: int) -> dict:
    """Fine-tune every weight of the model in `model_path` with train_and_save() at learning rate
    5e-5: `out_dir` gets the whole model. Return what finetune_lora() does."""
    ### BEGIN SOLUTION as finetune_lora without add_lora, at 5e-5
    tokenizer = load_tokenizer(model_path)
    model = AutoModelForCausalLM.from_pretrained(model_path)
    before = evaluate(model, tokenizer, load_examples(f"{data_dir}/valid.jsonl"))
    return {"before": before, **train_and_save(model, tokenizer, data_dir, out_dir, epochs, seed, 5e-5)}
    ### END SOLUTION


# %%
if __name__ == "__main__":
    import sys

    base = sys.argv[1] if len(sys.argv) > 1 else "HuggingFaceTB/SmolLM2-135M-Instruct"
    data = sys.argv[2] if len(sys.argv) > 2 else "."
    report = finetune_lora(base, data, "adapter", 3, 0)
    print(report, "perplexity of the answer:", math.exp(report["after"]["answer_loss"]))
