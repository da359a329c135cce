"""Hidden graders for module 10. Saved folders are read in the trusted process (safetensors and
JSON/YAML only); pushed repos are read from the grader's own hub store, at the revisions the
student's code created."""

import pytest
import torch
import yaml
from huggingface_hub.repocard_data import model_index_to_eval_results
from safetensors.torch import load_file

from autograder.api import (
    StudentError,
    load_saved_model,
    load_saved_tensors,
    points,
    read_saved_json,
    read_saved_text,
    same_plain,
)
from autograder.hub import HubError, RepoId

WORD_EMBEDDINGS = "embeddings.word_embeddings.weight"
CARD = {
    "model_name": "minilm-emotions",
    "base_model": "sentence-transformers/all-MiniLM-L6-v2",
    "license": "mit",
    "datasets": ["course/emotions-2027"],
    "metrics": ["accuracy", "f1"],
    "language": "en",
    "eval": {
        "task_type": "text-classification",
        "dataset_type": "course/emotions-2027",
        "dataset_name": "Emotions 2027 (hidden split)",
        "metric_type": "accuracy",
        "metric_value": 0.8731,
    },
}
# publish() measures its card's evaluation itself, on these pairs; the grader measures the pushed
# weights on them too, and the two must agree.
PAIRS = [
    ["A man is playing a guitar.", "Someone plays an instrument."],
    ["The cat sleeps on the sofa.", "A kitten is napping on the couch."],
    ["Stocks fell sharply on Monday.", "The recipe needs two eggs."],
    ["How do I reset my password?", "I forgot my password, how can I change it?"],
    ["The train was late again.", "Photosynthesis happens in leaves."],
    ["She won the chess tournament.", "The tournament was won by her."],
]
PUBLISH_CARD = {
    **CARD,
    "eval_pairs": PAIRS,
    "eval": {
        "task_type": "sentence-similarity",
        "dataset_type": "course/pairs-2027",
        "dataset_name": "Sentence pairs (hidden)",
        "metric_type": "cosine_similarity",
    },
}
LABELS = ["anger", "fear", "joy", "love", "sadness", "surprise"]
UNSORTED_LABELS = ["positive", "negative", "neutral"]  # id 0 is the first given, not the first sorted
SCALE = 0.75
OTHER_SCALE = 1.5  # a second update, to another repo


@pytest.fixture(scope="session")
def original(assets) -> dict:
    """MiniLM's tensors as the course ships them, loaded in the trusted process."""
    return load_file(assets.path("minilm") / "model.safetensors")


@pytest.fixture(scope="session")
def published(student, hub) -> dict:
    """The student's publish(): model, tokenizer and card pushed, tagged v1.0."""
    return student.call(
        "publish",
        student.model("minilm", "AutoModel"),
        student.tokenizer("minilm"),
        "minilm-emotions",
        PUBLISH_CARD,
        timeout=300,
    )


@pytest.fixture(scope="session")
def updated(student, hub, published) -> dict:
    """The student's publish_update() on a fresh MiniLM: main before and after, and what it returned."""
    repo = RepoId("model", hub.user, "minilm-emotions")
    before = hub.store.refs(repo) if hub.store.exists(repo) else {"branches": {}, "tags": {}}
    try:  # what embedding_sum() reads at main before the update (test_load_pinned_revision)
        main_before = student.call("embedding_sum", repo.id, "main", timeout=180)
    except StudentError as exc:
        main_before = str(exc)
    commit = student.call("publish_update", student.model("minilm", "AutoModel"), repo.id, SCALE, timeout=300)
    return {"before": before, "commit": commit, "main_before": main_before}


def card_metadata(text: str) -> dict:
    """The YAML front matter of a README, parsed as plain data."""
    if not text.startswith("---"):
        raise AssertionError("the model card has no YAML metadata block (---) at the top")
    try:
        meta = yaml.safe_load(text.split("---", 2)[1])
    except yaml.YAMLError as exc:
        raise AssertionError(f"the model card's metadata is not valid YAML: {exc}") from None
    assert isinstance(meta, dict), "the model card's metadata must be a YAML mapping"
    return meta


def check_card(meta: dict, want_eval: dict = CARD["eval"], value_tolerance: float = 0.0) -> None:
    """The card's metadata as CARD prescribes; its metric value within `value_tolerance` (given
    as is to write_card(), measured by publish())."""
    for key in ("license", "base_model", "language"):
        value = meta.get(key)
        value = value[0] if isinstance(value, list) and key == "language" and len(value) == 1 else value
        assert value == CARD[key], f"the card's {key} should be {CARD[key]!r}, not {meta.get(key)!r}"
    for key in ("datasets", "metrics"):
        assert meta.get(key) == CARD[key], f"the card's {key} should be {CARD[key]}, not {meta.get(key)!r}"
    assert "model-index" in meta, (
        "the card has no model-index: pass eval_results=[EvalResult(...)] to ModelCardData"
    )
    try:
        name, results = model_index_to_eval_results(meta["model-index"])
    except (KeyError, TypeError, IndexError) as exc:
        raise AssertionError(f"the card's model-index is malformed ({exc})") from None
    assert name == CARD["model_name"], (
        f"the model-index names the model {name!r}, not {CARD['model_name']!r}: ModelCardData(model_name=...)"
    )
    assert len(results) == 1, f"the card should hold exactly one evaluation result, not {len(results)}"
    got = results[0]
    for key, value in want_eval.items():
        assert same_plain(
            getattr(got, key), value, rel=1e-12, abs_=value_tolerance if key == "metric_value" else 0.0
        ), f"the evaluation result's {key} should be {value!r}, not {getattr(got, key)!r}"


def trusted_pair_similarity(tensors: dict, assets, pairs: list[list[str]] = PAIRS) -> float:
    """The grader's own measurement of `pairs` on `tensors` (MiniLM's architecture): the mean cosine
    similarity of attention-masked mean-pooled embeddings."""
    from transformers import AutoConfig, AutoModel, AutoTokenizer

    path = assets.path("minilm")
    model = AutoModel.from_config(AutoConfig.from_pretrained(path))
    model.load_state_dict(tensors, strict=False)
    tokenizer = AutoTokenizer.from_pretrained(path)
    sides = []
    for texts in ([a for a, _ in pairs], [b for _, b in pairs]):
        batch = tokenizer(texts, padding=True, truncation=True, return_tensors="pt")
        with torch.no_grad():
            hidden = model.eval()(**batch).last_hidden_state
        mask = batch["attention_mask"].unsqueeze(-1).float()
        sides.append((hidden * mask).sum(1) / mask.sum(1))
    return torch.nn.functional.cosine_similarity(*sides, dim=-1).mean().item()


def read_file(hub, repo: RepoId, revision: str, path: str) -> tuple[dict, bytes]:
    try:
        entry = hub.store.get_commit(repo, revision)["files"].get(path)
    except HubError as exc:
        raise AssertionError(f"{repo.id} at {revision!r}: {exc.message}") from None
    assert entry is not None, f"{repo.id} has no {path} at revision {revision!r}"
    return entry, hub.store.read(entry)


def pushed_tensors(hub, repo: RepoId, revision: str) -> dict[str, torch.Tensor]:
    entry, _ = read_file(hub, repo, revision, "model.safetensors")
    assert entry["lfs"], "model.safetensors should have gone through LFS"
    try:
        return load_saved_tensors(hub.store.object_path(entry["sha256"]), expected="minilm")
    except Exception as exc:  # noqa: BLE001 - a broken upload is the student's to fix
        raise StudentError(f"the pushed model.safetensors at {revision} does not load: {exc}") from None


def same_tensors(got: dict, want: dict, scale: float = 1.0) -> list[str]:
    """Names of the tensors that differ (word embeddings compared after scaling by `scale`)."""
    bad = [k for k in want if k not in got and k != "embeddings.position_ids"]
    for name, tensor in got.items():
        if name not in want:
            bad.append(name)
            continue
        expected = want[name] * scale if name == WORD_EMBEDDINGS else want[name]
        if tensor.shape != expected.shape or not torch.allclose(tensor, expected, rtol=1e-6, atol=1e-7):
            bad.append(name)
    return bad


@points(2)
def test_save_round_trip(student, original):
    """save_round_trip() saves safetensors weights, config and tokenizer files that reload identically."""
    got = student.call(
        "save_round_trip",
        student.model("minilm", "AutoModel"),
        student.tokenizer("minilm"),
        student.scratch("saved"),
    )
    assert isinstance(got, dict), "save_round_trip() must return a dict"
    files = set(got.get("files") or [])
    for name in ("config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"):
        assert name in files, f"{name} is missing from the saved folder (files: {sorted(files)})"
    assert "pytorch_model.bin" not in files, (
        "save the weights as safetensors, not as a pickled pytorch_model.bin"
    )
    assert got.get("same_weights") is True and got.get("same_ids") is True, (
        "the reloaded model or tokenizer should be identical to the original (same_weights/same_ids)"
    )
    model = load_saved_model(student.scratch_path("saved"), "AutoModel", expected="minilm")
    bad = same_tensors(model.state_dict(), original)
    assert not bad, f"the saved weights differ from MiniLM's: {bad[:3]}"


@points(2)
def test_relabel_config(student):
    """relabel_config() saves a config.json whose id2label and label2id name the new labels, in the
    order given."""
    for labels, folder in ((LABELS, "relabelled"), (UNSORTED_LABELS, "relabelled-unsorted")):
        got = student.call("relabel_config", student.asset("minilm"), labels, student.scratch(folder))
        path = student.scratch_path(folder) / "config.json"
        assert path.is_file(), "no config.json was saved to the folder"
        saved = read_saved_json(path)
        want_id2label = {str(i): label for i, label in enumerate(labels)}
        assert saved.get("id2label") == want_id2label, (
            f"for the labels {labels} id2label should be {want_id2label}, not {saved.get('id2label')}"
        )
        assert saved.get("label2id") == {label: i for i, label in enumerate(labels)}, (
            "label2id must map each label to its id"
        )
        assert saved.get("model_type") == "bert" and saved.get("hidden_size") == 384, (
            "keep the rest of MiniLM's config"
        )
        assert isinstance(got, dict) and len(got.get("id2label") or {}) == len(labels), (
            "return the reloaded config as a dict (config.to_dict())"
        )


@points(3)
def test_model_card(student):
    """write_card() writes README.md with license, datasets, metrics, base_model and the eval result."""
    text = student.call("write_card", student.scratch(""), CARD)
    path = student.scratch_path("README.md")
    assert path.is_file(), "write_card() did not save README.md in the folder"
    saved = read_saved_text(path)
    assert isinstance(text, str) and text.strip() == saved.strip(), "return the card's text, as saved"
    check_card(card_metadata(saved))
    body = saved.split("---", 2)[2]
    assert f"Model Card for {CARD['model_name']}" in body, (
        "the card's title does not name the model: ModelCard.from_template(data, model_id=model_name)"
    )


# Pairs of very different lengths: padding must not count in the mean.
OTHER_PAIRS = [
    ["Hi.", "Hello there, how are you doing on this fine and sunny morning?"],
    ["The meeting moved to Thursday afternoon because the room was booked.", "Meeting moved."],
    ["Dogs bark.", "Quantum computers use qubits that can hold superpositions of states."],
]


@points(2)
def test_pair_similarity(student, original, assets):
    """pair_similarity() is the mean cosine similarity of masked mean-pooled embeddings, in eval mode,
    rounded to 4 decimals."""
    for pairs in (PAIRS, OTHER_PAIRS):
        # a model fresh from training, still in training mode: dropout must be switched off
        got = student.call(
            "pair_similarity",
            student.model("minilm", "AutoModel", train=True),
            student.tokenizer("minilm"),
            pairs,
        )
        if not isinstance(got, int | float) or isinstance(got, bool):
            raise StudentError("pair_similarity() must return a number")
        want = trusted_pair_similarity(original, assets, pairs)
        assert round(got, 4) == got, "round the mean similarity to 4 decimals"
        assert same_plain(got, round(want, 4), abs_=1.5e-4), (
            f"pair_similarity() gives {got}, the grader measures {round(want, 4)} on the same pairs: "
            "mean-pool over real tokens only (the attention mask), in eval mode, without gradients"
        )


@points(3)
def test_publish_and_tag(student, hub, published, original, assets):
    """publish() pushes weights, tokenizer and card to the repo it is given, and tags that commit v1.0;
    the card reports the similarity the pushed weights really score."""
    assert isinstance(published, dict), "publish() must return {'repo_id': ..., 'commit': ...}"
    repo = RepoId("model", hub.user, "minilm-emotions")
    assert published.get("repo_id") == repo.id, (
        f"the repo should be {repo.id}, not {published.get('repo_id')!r}"
    )
    assert hub.store.exists(repo), f"{repo.id} was not created on the hub"
    tags = hub.store.refs(repo)["tags"]
    assert "v1.0" in tags, f"{repo.id} has no tag v1.0 (tags: {sorted(tags)})"
    assert published.get("commit") == tags["v1.0"], "the returned commit is not the one v1.0 points to"
    for path in ("config.json", "tokenizer.json", "tokenizer_config.json"):
        read_file(hub, repo, "v1.0", path)
    tensors = pushed_tensors(hub, repo, "v1.0")
    bad = same_tensors(tensors, original)
    assert not bad, f"the weights at v1.0 are not MiniLM's: {bad[:3]}"
    _, readme = read_file(hub, repo, "v1.0", "README.md")
    measured = round(trusted_pair_similarity(tensors, assets), 4)
    check_card(
        card_metadata(readme.decode("utf-8", "replace")),
        {**PUBLISH_CARD["eval"], "metric_value": measured},
        value_tolerance=1e-4,  # both rounded to 4 decimals from float32 measurements
    )
    # the same release under another name goes to a repo of that name
    again = student.call(
        "publish",
        student.model("minilm", "AutoModel"),
        student.tokenizer("minilm"),
        "minilm-release-2",
        PUBLISH_CARD,
        timeout=300,
    )
    other = RepoId("model", hub.user, "minilm-release-2")
    assert isinstance(again, dict) and again.get("repo_id") == other.id, (
        f"publish(..., 'minilm-release-2', ...) should push to {other.id}, not {again!r}"
    )
    assert hub.store.exists(other) and "v1.0" in hub.store.refs(other)["tags"], (
        f"{other.id} was not created and tagged v1.0"
    )


def mirror_revision(hub, repo: RepoId, revision: str, name: str) -> RepoId:
    """A second repo of the student's, made here, whose main holds `repo` at `revision`."""
    try:
        files = hub.store.get_commit(repo, revision)["files"]
    except HubError as exc:
        raise AssertionError(f"{repo.id} at {revision!r}: {exc.message}") from None
    mirror = RepoId("model", hub.user, name)
    hub.store.create(mirror, owner=hub.user)
    ops = [
        ("lfs", path, e["sha256"], e["size"]) if e["lfs"] else ("add", path, hub.store.read(e))
        for path, e in files.items()
        if path != ".gitattributes"
    ]
    hub.store.commit(mirror, "main", ops, f"copy of {repo.id} at {revision}", author=hub.user)
    return mirror


@points(2)
def test_update_moves_main_not_the_tag(student, hub, updated, original):
    """publish_update() pushes new weights to main of the repo asked for, scaled as asked; v1.0 still
    holds the first ones."""
    repo = RepoId("model", hub.user, "minilm-emotions")
    refs = hub.store.refs(repo)
    assert updated["commit"] == refs["branches"]["main"], (
        "publish_update() must return the new commit id of main"
    )
    assert refs["tags"].get("v1.0") == updated["before"]["tags"].get("v1.0"), (
        "the v1.0 tag moved: a tag must keep pointing at the release"
    )
    bad = same_tensors(pushed_tensors(hub, repo, "main"), original, scale=SCALE)
    assert not bad, (
        f"main should hold MiniLM with its word embeddings scaled by {SCALE}; these differ: {bad[:3]}"
    )
    assert not same_tensors(pushed_tensors(hub, repo, "v1.0"), original), "the weights at v1.0 changed"
    # another repo, another scale: the update goes to the repo asked for, scaled as asked
    other = mirror_revision(hub, repo, "v1.0", "minilm-other")
    commit = student.call(
        "publish_update", student.model("minilm", "AutoModel"), other.id, OTHER_SCALE, timeout=300
    )
    assert hub.store.refs(repo)["branches"]["main"] == refs["branches"]["main"], (
        f"publish_update(model, {other.id!r}, {OTHER_SCALE}) pushed to {repo.id}: push to the repo_id given"
    )
    assert commit == hub.store.refs(other)["branches"]["main"], (
        f"publish_update(model, {other.id!r}, {OTHER_SCALE}) must return the new commit id of the repo's main"
    )
    bad = same_tensors(pushed_tensors(hub, other, "main"), original, scale=OTHER_SCALE)
    assert not bad, (
        f"publish_update(model, {other.id!r}, {OTHER_SCALE}) should push MiniLM with its word embeddings "
        f"scaled by {OTHER_SCALE}; these differ: {bad[:3]}"
    )


@points(2)
def test_load_pinned_revision(student, hub, updated, original):
    """embedding_sum() loads the model of the repo and at the revision asked for: v1.0 and main differ."""
    repo = RepoId("model", hub.user, "minilm-emotions")
    first, scaled = original[WORD_EMBEDDINGS].sum().item(), (original[WORD_EMBEDDINGS] * SCALE).sum().item()
    # another repo whose main is the first release: the repo id decides which weights load
    mirror = mirror_revision(hub, repo, "v1.0", "minilm-mirror")
    for repo_id, revision, value in (
        (repo.id, "v1.0", first),
        (repo.id, "main", scaled),
        (mirror.id, "main", first),
    ):
        got = student.call("embedding_sum", repo_id, revision, timeout=180)
        assert same_plain(got, value, rel=1e-4), (
            f"embedding_sum({repo_id!r}, {revision!r}) should be {value:.4f}, not {got!r}: "
            "load the repo_id asked for, and pass revision= to from_pretrained"
        )
    # a branch moves: what main held before publish_update() is not what it holds now
    assert same_plain(updated["main_before"], first, rel=1e-4), (
        f"before publish_update(), embedding_sum({repo.id!r}, 'main') gave {updated['main_before']!r}, "
        f"not {first:.4f}: load the revision asked for on every call"
    )


# Two datasets under two names: each call must push to the repo it is asked for.
DATASETS = {
    "course-rows": [{"text": f"sentence number {i} for the course", "label": i % 3} for i in range(17)],
    "course-rows-v2": [{"text": f"another row, number {i}", "label": (i + 1) % 3} for i in range(5)],
}


@points(2)
def test_dataset_push(student, hub):
    """publish_dataset() pushes the rows as Parquet through LFS; load_pushed_dataset() reads them back."""
    for name, rows in DATASETS.items():
        repo_id = student.call("publish_dataset", rows, name, timeout=300)
        repo = RepoId("dataset", hub.user, name)
        assert repo_id == repo.id, f"publish_dataset(rows, {name!r}) should return {repo.id}, not {repo_id!r}"
        assert hub.store.exists(repo), f"the dataset repo {repo.id} was not created"
        files = hub.store.get_commit(repo, "main")["files"]
        parquet = {p: e for p, e in files.items() if p.endswith(".parquet")}
        assert parquet and all(e["lfs"] for e in parquet.values()), (
            "the rows should be stored as Parquet files, through LFS"
        )
        meta = card_metadata(hub.store.read(files["README.md"]).decode()) if "README.md" in files else {}
        splits = {
            s.get("name"): s.get("num_examples") for s in (meta.get("dataset_info") or {}).get("splits", [])
        }
        assert splits.get("train") == len(rows), (
            f"the card of {repo.id} should list a train split of {len(rows)} rows, not {splits}"
        )
    for name, rows in DATASETS.items():
        repo_id = f"{hub.user}/{name}"
        back = student.call("load_pushed_dataset", repo_id, timeout=180)
        assert back == rows, f"load_pushed_dataset({repo_id!r}) does not return the rows pushed to {repo_id}"
