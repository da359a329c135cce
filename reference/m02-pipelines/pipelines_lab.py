# %% [markdown]
# # Module 2: Using pre-trained models
#
# `pipeline()` does three things for you: it tokenizes, it runs the model, and it turns the
# model's raw numbers into an answer. In this lab you use it, then take it apart and do each step
# by hand, so that you know what the pipeline hides: Auto classes and task heads, configs and
# parameter counts, batched inference, sentence embeddings for semantic search, and text
# generation. Read `README.md` first; each function's docstring is its spec.
#
# Functions receive ready-made objects (a tokenizer, a model, or the path of a model folder) and
# must **return plain Python values**: numbers, strings, lists and dicts (`.tolist()` a tensor).
# The course's models live in local folders (`course assets` prints where); nothing is downloaded.

# %%
from __future__ import annotations

import torch
from transformers import (  # noqa: F401, RUF100 - unused in the starter until its TODOs are done
    AutoConfig,
    AutoModel,
    AutoModelForSequenceClassification,
    AutoTokenizer,
    pipeline,
)

# %% [markdown]
# ## 1. A pipeline, and the same thing by hand
#
# The `sentiment` asset is MiniLM fine-tuned to tell NEGATIVE from POSITIVE. A pipeline loads
# the tokenizer and the model from its folder and returns `[{"label": ..., "score": ...}]`.


# %%
def pipeline_sentiment(model_dir: str, texts: list[str]) -> list[dict]:
    """Classify `texts` with a text-classification pipeline built from the model folder `model_dir`.

    Return one {"label": str, "score": float} per text, in order, as the pipeline gives them.
    """
    ### BEGIN SOLUTION pipeline("text-classification", model=model_dir), then call it on the texts
    classifier = pipeline("text-classification", model=model_dir)
    return [{"label": r["label"], "score": r["score"]} for r in classifier(texts)]
    ### END SOLUTION


def sentiment_by_hand(tokenizer, model, texts: list[str]) -> list[dict]:
    """Do what the pipeline does, step by step, and return the same list of {"label", "score"}.

    Tokenize the batch (padding, truncation, PyTorch tensors), run the model in eval mode (it may
    arrive in training mode) without gradients, turn each row of logits into probabilities with a
    softmax, take the most probable class, and name it with `model.config.id2label`. The score is
    that class's probability.
    """
    ### BEGIN SOLUTION tokenizer(..., padding=True, truncation=True, return_tensors="pt"); torch.no_grad();
    ### softmax(logits, -1); argmax; id2label
    model.eval()
    batch = tokenizer(texts, padding=True, truncation=True, return_tensors="pt")
    with torch.no_grad():
        logits = model(**batch).logits
    probs = torch.softmax(logits, dim=-1)
    scores, ids = probs.max(dim=-1)
    return [
        {"label": model.config.id2label[i], "score": s}
        for i, s in zip(ids.tolist(), scores.tolist(), strict=True)
    ]
    ### END SOLUTION


# %% [markdown]
# ## 2. Auto classes and task heads
#
# `AutoModel` loads the bare encoder: it returns one vector per token (`last_hidden_state`).
# `AutoModelForSequenceClassification` puts a small *head* on top that maps the first token's
# vector to one score per class. A checkpoint that was never trained for your task has no head
# weights: they are created at random, and the load report lists them as missing keys.


# %%
def compare_heads(model_dir: str, text: str, num_labels: int) -> dict:
    """Load the checkpoint in `model_dir` twice: with AutoModel, and with
    AutoModelForSequenceClassification for `num_labels` classes (ask for the load report with
    `output_loading_info=True`). Run both on `text`.

    Return {"base_class": the AutoModel's class name,
            "head_class": the classifier's class name,
            "hidden_shape": the shape of the base model's last_hidden_state, as a list,
            "logits_shape": the shape of the classifier's logits, as a list,
            "new_parameters": the sorted names of the classifier's newly initialised weights}.
    """
    ### BEGIN SOLUTION load both; output_loading_info=True returns (model, info);
    ### info["missing_keys"] are the new weights
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    base = AutoModel.from_pretrained(model_dir).eval()
    head, info = AutoModelForSequenceClassification.from_pretrained(
        model_dir, num_labels=num_labels, output_loading_info=True
    )
    head.eval()
    batch = tokenizer(text, return_tensors="pt")
    with torch.no_grad():
        hidden = base(**batch).last_hidden_state
        logits = head(**batch).logits
    return {
        "base_class": type(base).__name__,
        "head_class": type(head).__name__,
        "hidden_shape": list(hidden.shape),
        "logits_shape": list(logits.shape),
        "new_parameters": sorted(info["missing_keys"]),
    }
    ### END SOLUTION


# %% [markdown]
# ## 3. Configs and parameter counts
#
# A model's config holds its shape (layers, hidden size, heads) and its task settings (the number
# of labels and their names). Change the config before loading and you get a different model
# from the same checkpoint: fewer layers keep only the first ones; new label names show up in
# every prediction.


# %%
def customised_classifier(model_dir: str, num_layers: int, labels: list[str]) -> dict:
    """Load the config of `model_dir`, keep only its first `num_layers` layers and give it the
    class names `labels` (id i is labels[i]); then load AutoModelForSequenceClassification from
    `model_dir` with that config.

    Return {"num_hidden_layers": from the model's config,
            "id2label": the model's id2label, with string keys ("0", "1", ...),
            "label2id": the model's label2id (labels[i] -> i),
            "n_parameters": the model's parameter count,
            "n_unused": how many checkpoint tensors the smaller model did not use (unexpected keys)}.
    """
    ### BEGIN SOLUTION AutoConfig.from_pretrained; set num_hidden_layers, num_labels, id2label, label2id;
    ### from_pretrained(..., config=config, output_loading_info=True)
    config = AutoConfig.from_pretrained(model_dir)
    config.num_hidden_layers = num_layers
    config.num_labels = len(labels)
    config.id2label = dict(enumerate(labels))
    config.label2id = {label: i for i, label in enumerate(labels)}
    model, info = AutoModelForSequenceClassification.from_pretrained(
        model_dir, config=config, output_loading_info=True
    )
    return {
        "num_hidden_layers": model.config.num_hidden_layers,
        "id2label": {str(k): v for k, v in model.config.id2label.items()},
        "label2id": dict(model.config.label2id),
        "n_parameters": sum(p.numel() for p in model.parameters()),
        "n_unused": len(info["unexpected_keys"]),
    }
    ### END SOLUTION


def freeze_body(model) -> dict:
    """Freeze every parameter of the pre-trained body (`model.base_model`), so that only the head
    would train, and count.

    Return {"total": all parameters, "trainable": those that still require gradients,
            "head": parameters outside the body}.
    """
    ### BEGIN SOLUTION set requires_grad = False on model.base_model.parameters();
    ### count numel() with and without requires_grad
    for param in model.base_model.parameters():
        param.requires_grad = False
    total = sum(p.numel() for p in model.parameters())
    body = sum(p.numel() for p in model.base_model.parameters())
    return {
        "total": total,
        "trainable": sum(p.numel() for p in model.parameters() if p.requires_grad),
        "head": total - body,
    }
    ### END SOLUTION


# %% [markdown]
# ## 4. Batched inference
#
# One text at a time wastes the machine; a whole data set at once runs out of memory. Run fixed-size
# batches, each padded to its own longest text, with the attention mask so that padding changes
# nothing. Inference needs `model.eval()` (dropout off: the same input always gives the same
# output) and `torch.no_grad()` (no graph kept for a backward pass that never comes).


# %%
def batched_logits(tokenizer, model, texts: list[str], batch_size: int) -> list[list[float]]:
    """Return the model's logits for every text, computed `batch_size` texts at a time.

    The model may arrive in training mode: put it in eval mode. No gradients. Pad and truncate
    each batch. Each text's logits must equal those of the text run alone (padding must not change
    them).
    """
    ### BEGIN SOLUTION model.eval(); loop over slices of batch_size; pad each batch; pass the attention_mask;
    ### torch.no_grad()
    model.eval()
    out: list[list[float]] = []
    with torch.no_grad():
        for start in range(0, len(texts), batch_size):
            batch = tokenizer(
                texts[start : start + batch_size], padding=True, truncation=True, return_tensors="pt"
            )
            out.extend(model(**batch).logits.tolist())
    return out
    ### END SOLUTION


# %% [markdown]
# ## 5. Sentence embeddings and semantic search
#
# MiniLM (all-MiniLM-L6-v2) was trained so that the *mean* of its token vectors is a sentence
# embedding: texts that mean the same end up close. Average only over real tokens (the attention
# mask), then scale each vector to length 1, so that a dot product is the cosine similarity.


# %%
def embed(tokenizer, model, texts: list[str]) -> list[list[float]]:
    """Sentence embeddings of `texts`: the mean of last_hidden_state over real tokens (weighted by
    the attention mask, so padding does not count), L2-normalised to length 1.

    Tokenize with padding and truncation; run the model in eval mode (it may arrive in training
    mode) without gradients.
    """
    ### BEGIN SOLUTION mask = attention_mask.unsqueeze(-1); (hidden * mask).sum(1) / mask.sum(1);
    ### torch.nn.functional.normalize
    model.eval()
    batch = tokenizer(texts, padding=True, truncation=True, return_tensors="pt")
    with torch.no_grad():
        hidden = model(**batch).last_hidden_state
    mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
    mean = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)
    return torch.nn.functional.normalize(mean, p=2, dim=-1).tolist()
    ### END SOLUTION


def semantic_search(tokenizer, model, corpus: list[str], queries: list[str], k: int) -> list[list[int]]:
    """For each query, the indices of the `k` corpus texts most similar to it (cosine similarity
    of their embeddings), most similar first.
    """
    ### BEGIN SOLUTION embed both; scores = queries @ corpus.T; topk
    docs = torch.tensor(embed(tokenizer, model, corpus))
    asked = torch.tensor(embed(tokenizer, model, queries))
    scores = asked @ docs.T
    return scores.topk(k, dim=-1).indices.tolist()
    ### END SOLUTION


# %% [markdown]
# ## 6. Text generation
#
# SmolLM2-135M-Instruct is a small decoder-only model. Greedy decoding (`do_sample=False`) always
# picks the most probable next token, so the output is reproducible. Keep `max_new_tokens` small:
# every new token is another forward pass.


# %%
def generate(model_dir: str, prompts: list[str], max_new_tokens: int) -> list[str]:
    """Continue each prompt with a text-generation pipeline built from `model_dir`, greedily, with
    at most `max_new_tokens` new tokens. Return only the new text of each, not the prompt.
    """
    ### BEGIN SOLUTION pipeline("text-generation", model=model_dir);
    ### do_sample=False, max_new_tokens, return_full_text=False
    generator = pipeline("text-generation", model=model_dir)
    return [
        generator(prompt, max_new_tokens=max_new_tokens, do_sample=False, return_full_text=False)[0][
            "generated_text"
        ]
        for prompt in prompts
    ]
    ### END SOLUTION


# %%
if __name__ == "__main__":
    # Try things here. `course assets` prints the folder of each model; pass them as arguments.
    import sys

    sentiment_dir = sys.argv[1] if len(sys.argv) > 1 else "sentiment-model-folder"
    print(pipeline_sentiment(sentiment_dir, ["I love this!", "What a waste of money."]))
