# %% [markdown]
# # Module 10: Saving and sharing models
#
# A model is only useful to others once it is saved in a format they can load safely, described by
# a model card, and published at a version they can pin. In this lab you save and reload MiniLM,
# relabel its config, write a model card with evaluation results, and push a model, its tokenizer
# and a dataset to a Hub: the class hub (`course hub`), which speaks the same API as huggingface.co.
# Read `README.md` first; each function's docstring is its spec.
#
# The grader runs your functions against its own hub: `HF_ENDPOINT` and `HF_TOKEN` are set for you,
# and your token may write only to your own namespace, which `whoami()["name"]` tells you.

# %%
from __future__ import annotations

import os
import tempfile

import torch
from huggingface_hub import EvalResult, HfApi, ModelCard, ModelCardData
from transformers import AutoConfig, AutoModel, AutoTokenizer

PROBE = "Sharing a model starts with saving it."

# %% [markdown]
# ## 1. Saving and loading: save_pretrained / from_pretrained
#
# `model.save_pretrained(out_dir)` writes `config.json` and the weights as **safetensors**
# (`model.safetensors`): plain tensors that load without running code, unlike pickled
# `pytorch_model.bin` files. The tokenizer saves its own files next to them. `from_pretrained`
# reads the folder back.


# %%
def save_round_trip(model, tokenizer, folder: str) -> dict:
    """Save `model` and `tokenizer` to `folder`, load both back with the Auto classes, and compare.

    Return {"files": the sorted file names in `folder`,
            "same_weights": True if every tensor of the reloaded model equals the original's,
            "same_ids": True if the reloaded tokenizer encodes PROBE to the same ids}.
    """
    ### BEGIN SOLUTION save both with save_pretrained, reload with AutoModel/AutoTokenizer.from_pretrained,
    ### compare state_dicts with torch.equal
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    reloaded = AutoModel.from_pretrained(folder)
    tok = AutoTokenizer.from_pretrained(folder)
    original = model.state_dict()
    same = all(torch.equal(original[k], v) for k, v in reloaded.state_dict().items())
    return {
        "files": sorted(os.listdir(folder)),
        "same_weights": same,
        "same_ids": tok(PROBE)["input_ids"] == tokenizer(PROBE)["input_ids"],
    }
    ### END SOLUTION


# %% [markdown]
# ## 2. The config travels with the model
#
# `config.json` holds the architecture and the label names a classifier predicts. Edit it with
# `AutoConfig`, save it, and every later `from_pretrained` sees the change.


# %%
def relabel_config(model_dir: str, labels: list[str], folder: str) -> dict:
    """Load the config of `model_dir`, give it one label per entry of `labels`, save it to `folder`.

    id2label maps 0, 1, ... to the labels in order and label2id the reverse. Return the saved
    config reloaded from `folder`, as a dict.
    """
    ### BEGIN SOLUTION AutoConfig.from_pretrained(model_dir, num_labels=..., id2label={i: label},
    ### label2id={label: i}); save_pretrained(folder); reload; to_dict()
    config = AutoConfig.from_pretrained(
        model_dir,
        num_labels=len(labels),
        id2label=dict(enumerate(labels)),
        label2id={label: i for i, label in enumerate(labels)},
    )
    config.save_pretrained(folder)
    return AutoConfig.from_pretrained(folder).to_dict()
    ### END SOLUTION


# %% [markdown]
# ## 3. A model card with metadata and evaluation results
#
# The card is the repo's `README.md`: YAML metadata (license, datasets, metrics, base_model, and a
# `model-index` of evaluation results the Hub shows as a table) followed by prose.
# `ModelCardData` and `EvalResult` write the YAML for you. An evaluation result is a claim: report
# what you measured on the model you publish. Here that is a sentence-similarity score.


# %%
def write_card(folder: str, info: dict) -> str:
    """Write a model card to `folder`/README.md and return its text.

    `info` has model_name, base_model, license, datasets (list), metrics (list), language, and
    eval: {task_type, dataset_type, dataset_name, metric_type, metric_value}. Put all of them in
    the metadata (the evaluation as one EvalResult), then render ModelCard.from_template with
    model_id=model_name.
    """
    ### BEGIN SOLUTION ModelCardData(..., eval_results=[EvalResult(**info["eval"])]);
    ### ModelCard.from_template(data, model_id=...); card.save(path)
    data = ModelCardData(
        model_name=info["model_name"],
        base_model=info["base_model"],
        license=info["license"],
        datasets=info["datasets"],
        metrics=info["metrics"],
        language=info["language"],
        eval_results=[EvalResult(**info["eval"])],
    )
    card = ModelCard.from_template(data, model_id=info["model_name"])
    card.save(os.path.join(folder, "README.md"))
    return str(card)
    ### END SOLUTION


def pair_similarity(model, tokenizer, pairs: list[list[str]]) -> float:
    """The evaluation result your card reports: the mean, over `pairs` ([sentence_a, sentence_b]),
    of the cosine similarity of the two sentence embeddings, rounded to 4 decimals.

    A sentence embedding is MiniLM's last hidden state mean-pooled over the real tokens (the
    attention mask, as in module 2), computed in eval mode without gradients.
    """
    ### BEGIN SOLUTION tokenizer(firsts / seconds, padding=True, return_tensors="pt");
    ### model(**batch).last_hidden_state; masked mean; F.cosine_similarity; mean; round(..., 4)
    model.eval()
    embeddings = []
    for texts in ([a for a, _ in pairs], [b for _, b in pairs]):
        batch = tokenizer(texts, padding=True, truncation=True, return_tensors="pt")
        with torch.no_grad():
            hidden = model(**batch).last_hidden_state
        mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
        embeddings.append((hidden * mask).sum(dim=1) / mask.sum(dim=1))
    return round(torch.nn.functional.cosine_similarity(*embeddings, dim=-1).mean().item(), 4)
    ### END SOLUTION


# %% [markdown]
# ## 4. Pushing, tagging, and loading a pinned revision
#
# `push_to_hub(repo_id)` creates the repo if needed and commits the files (large ones through Git
# LFS). Every push is a commit; a **tag** names one commit for good, so users can pin
# `from_pretrained(repo_id, revision="v1.0")` while you keep pushing to `main`.


# %%
def publish(model, tokenizer, name: str, card_info: dict) -> dict:
    """Push `model`, `tokenizer` and a model card (see write_card) to the repo `<your user>/<name>`,
    then tag that state "v1.0".

    `card_info` is write_card's `info` with no metric_value in its eval, plus "eval_pairs": measure
    the metric_value with pair_similarity(model, tokenizer, card_info["eval_pairs"]) on the model
    you push. Return {"repo_id": the full repo id, "commit": the commit id "v1.0" points to}.
    """
    ### BEGIN SOLUTION HfApi().whoami()["name"] for the namespace; model.push_to_hub; tokenizer.push_to_hub;
    ### the card's eval with metric_value=pair_similarity(...); write_card into a temporary folder,
    ### then ModelCard.load(...).push_to_hub; api.create_tag; api.list_repo_refs
    api = HfApi()
    repo_id = f"{api.whoami()['name']}/{name}"
    model.push_to_hub(repo_id, commit_message="Upload model")
    tokenizer.push_to_hub(repo_id, commit_message="Upload tokenizer")
    measured = {
        **card_info["eval"],
        "metric_value": pair_similarity(model, tokenizer, card_info["eval_pairs"]),
    }
    with tempfile.TemporaryDirectory() as tmp:
        write_card(tmp, {**card_info, "eval": measured})
        ModelCard.load(os.path.join(tmp, "README.md")).push_to_hub(repo_id)
    api.create_tag(repo_id, tag="v1.0")
    tag = next(t for t in api.list_repo_refs(repo_id).tags if t.name == "v1.0")
    return {"repo_id": repo_id, "commit": tag.target_commit}
    ### END SOLUTION


def publish_update(model, repo_id: str, scale: float) -> str:
    """Pretend training changed the model: multiply its word-embedding weights by `scale` and push it
    to `repo_id` again (main moves on, the "v1.0" tag does not). Return the new commit id of main."""
    ### BEGIN SOLUTION scale model.get_input_embeddings().weight in place under torch.no_grad(); push_to_hub;
    ### list_repo_refs(...).branches
    with torch.no_grad():
        model.get_input_embeddings().weight.mul_(scale)
    model.push_to_hub(repo_id, commit_message=f"Scale embeddings by {scale}")
    return next(b.target_commit for b in HfApi().list_repo_refs(repo_id).branches if b.name == "main")
    ### END SOLUTION


def embedding_sum(repo_id: str, revision: str) -> float:
    """Load the model of `repo_id` at `revision` (a tag, branch or commit) with from_pretrained and
    return the sum of its word-embedding weights."""
    ### BEGIN SOLUTION AutoModel.from_pretrained(repo_id, revision=revision);
    ### get_input_embeddings().weight.sum().item()
    model = AutoModel.from_pretrained(repo_id, revision=revision)
    return model.get_input_embeddings().weight.sum().item()
    ### END SOLUTION


# %% [markdown]
# ## 5. Sharing a dataset
#
# `datasets.Dataset.push_to_hub` converts the rows to Parquet, uploads them through LFS under
# `data/`, and writes a dataset card whose metadata lists the splits and their sizes.


# %%
def publish_dataset(rows: list[dict], name: str) -> str:
    """Push `rows` as the "train" split of the dataset repo `<your user>/<name>`; return its repo id."""
    ### BEGIN SOLUTION repo id from whoami(); Dataset.from_list(...), then push_to_hub(..., split="train")
    from datasets import Dataset

    repo_id = f"{HfApi().whoami()['name']}/{name}"
    Dataset.from_list(rows).push_to_hub(repo_id, split="train")
    return repo_id
    ### END SOLUTION


def load_pushed_dataset(repo_id: str) -> list[dict]:
    """Load the "train" split of the dataset repo `repo_id` from the Hub and return its rows."""
    ### BEGIN SOLUTION load_dataset(repo_id, split="train").to_list()
    from datasets import load_dataset

    return load_dataset(repo_id, split="train").to_list()
    ### END SOLUTION


# %%
if __name__ == "__main__":
    # Start a hub and a token first (README.md, "Your own hub"), then:
    #   HF_ENDPOINT=http://127.0.0.1:8808 HF_TOKEN=... HF_HUB_DISABLE_XET=1 \
    #     python sharing_lab.py MINILM_FOLDER
    import sys

    folder = sys.argv[1]
    minilm, tok = AutoModel.from_pretrained(folder), AutoTokenizer.from_pretrained(folder)
    print(save_round_trip(minilm, tok, "minilm-copy"))
