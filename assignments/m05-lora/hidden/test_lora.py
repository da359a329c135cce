"""Hidden graders for module 5. The adapter the student saved is read here as data (JSON config and
safetensors) and merged into the trusted base model by hand: W += alpha / r * B @ A. Quality,
reloading, merging and parameter counts are all checked against that; memory is measured by the
OS, on separate workers, never taken from the student's report. The stretch goals (QLoRA, full
fine-tuning) are extra credit, checked the same way on the trusted 4-bit base and the saved model."""

import contextlib
import json
import math

import torch

from autograder.api import (
    StudentError,
    extra_credit,
    load_saved_adapter,
    load_saved_model,
    points,
    record_metric,
    same_plain,
)

LM = "AutoModelForCausalLM"
TEAMS = ["billing", "shipping", "technical"]
BASE_PARAMETERS = 134_515_008  # SmolLM2-135M, the tied embedding counted once
BASE_TENSORS = 272  # its distinct parameter tensors
# r=8 on q_proj (576 -> 576) and v_proj (576 -> 192) of 30 layers: A is r x in, B is out x r
LORA_PARAMETERS = 30 * ((8 * 576 + 576 * 8) + (8 * 576 + 192 * 8))
LORA_TENSORS = 30 * 2 * 2
FEW = "few-tickets"  # the release's data folder: 16 training and 6 validation tickets, for short runs
SAME_TRAINING = 0.01  # relative gap between two adapters' updates trained alike (measured: 3e-5 to 6e-5)


def prompt(ticket: str) -> str:
    return f"Ticket: {ticket}\nTeam:"


def read_adapter(folder) -> tuple[dict, dict[str, torch.Tensor]]:
    """The saved LoRA adapter as plain data: its config and its A/B matrices."""
    try:
        config, tensors = load_saved_adapter(folder, base="smollm2")
    except (OSError, ValueError) as exc:
        raise StudentError(
            f"no readable adapter in {folder.name}/ (adapter_config.json + adapter_model.safetensors): "
            f"save it with model.save_pretrained() ({type(exc).__name__})"
        ) from None
    if (
        config.get("peft_type") != "LORA"
        or config.get("use_dora")
        or config.get("modules_to_save")
        or config.get("bias", "none") != "none"
    ):
        raise StudentError(
            "the saved adapter is not a plain LoRA adapter (peft_type LORA, bias 'none', no DoRA, "
            "no modules_to_save)"
        )
    if (
        not isinstance(config.get("r"), int)
        or config["r"] <= 0
        or not isinstance(config.get("lora_alpha"), int | float)
    ):
        raise StudentError("adapter_config.json must give a positive rank r and a lora_alpha")
    odd = [k for k in tensors if not k.endswith((".lora_A.weight", ".lora_B.weight"))]
    if odd or not tensors:
        raise StudentError(f"the adapter should hold only LoRA A/B matrices, not {odd[:3]}")
    return config, tensors


def adapter_layers(model, config: dict, tensors: dict[str, torch.Tensor]):
    """(layer of `model`, its update alpha / r * B @ A) for each A/B pair of the adapter."""
    modules = dict(model.named_modules())
    scale = config["lora_alpha"] / (math.sqrt(config["r"]) if config.get("use_rslora") else config["r"])
    for key, a in tensors.items():
        if not key.endswith(".lora_A.weight"):
            continue
        name = key.removesuffix(".lora_A.weight").removeprefix("base_model.model.")
        b = tensors.get(key.replace(".lora_A.", ".lora_B."))
        layer = modules.get(name)
        # out_features/in_features: a 4-bit layer's weight is packed, its shape is not the matrix's
        if (
            b is None
            or (getattr(layer, "out_features", None), getattr(layer, "in_features", None))
            != (b.shape[0], a.shape[1])
            or a.shape[0] != b.shape[1]
        ):
            raise StudentError(f"the adapter matrices for {name} do not fit the base model")
        yield layer, scale * (b.float() @ a.float())


def merged_copy(base, config: dict, tensors: dict[str, torch.Tensor]):
    """A copy of the base model with the adapter merged in, computed here from the saved matrices."""
    import copy

    model = copy.deepcopy(base)
    with torch.no_grad():
        for layer, update in adapter_layers(model, config, tensors):
            layer.weight += update
    return model.eval()


@contextlib.contextmanager
def adapter_hooks(model, config: dict, tensors: dict[str, torch.Tensor]):
    """`model` computing base + adapter without touching its weights (a 4-bit base cannot take a
    merge): each adapted layer's output gets x @ update.T added, as PEFT's LoRA layer does."""
    handles = []
    try:
        for layer, update in adapter_layers(model, config, tensors):
            handles.append(
                layer.register_forward_hook(lambda _m, inputs, out, t=update.T: out + inputs[0] @ t)
            )
        yield model
    finally:
        for handle in handles:
            handle.remove()


def team_logits(model, tokenizer, tickets: list[str]) -> torch.Tensor:
    team_ids = [tokenizer(" " + t)["input_ids"][0] for t in TEAMS]
    rows = []
    with torch.no_grad():
        for ticket in tickets:
            ids = tokenizer(prompt(ticket), return_tensors="pt")["input_ids"]
            rows.append(model(input_ids=ids).logits[0, -1])
    return torch.stack(rows), team_ids


def quality(model, tokenizer, examples: list[dict]) -> dict:
    logits, team_ids = team_logits(model, tokenizer, [e["ticket"] for e in examples])
    targets = torch.tensor([team_ids[TEAMS.index(e["team"])] for e in examples])
    return {
        "accuracy": (logits.argmax(-1) == targets).float().mean().item(),
        "answer_loss": torch.nn.functional.cross_entropy(logits, targets).item(),
    }


def adapter_gap(base, got: tuple[dict, dict], want: tuple[dict, dict]) -> float:
    """How far apart two adapters' weight updates are, relative to the second's: ~0 for one training."""
    names = {layer: name for name, layer in base.named_modules()}
    ours = {names[layer]: update for layer, update in adapter_layers(base, *got)}
    theirs = {names[layer]: update for layer, update in adapter_layers(base, *want)}
    if ours.keys() != theirs.keys():
        return math.inf
    diff = sum(float((ours[k] - theirs[k]).pow(2).sum()) for k in theirs)
    return math.sqrt(diff / max(sum(float(u.pow(2).sum()) for u in theirs.values()), 1e-30))


def full_update_gap(base, got_folder, want_folder) -> float:
    """How far apart two fully fine-tuned models' weight updates are, relative to the second's."""
    start = dict(base.named_parameters())
    got = dict(load_saved_model(got_folder, LM, expected="smollm2").named_parameters())
    want = dict(load_saved_model(want_folder, LM, expected="smollm2").named_parameters())
    if got.keys() != want.keys() or want.keys() != start.keys():
        return math.inf
    with torch.no_grad():
        diff = sum(float((got[k] - want[k]).pow(2).sum()) for k in want)
        update = sum(float((want[k] - start[k]).pow(2).sum()) for k in want)
    return math.sqrt(diff / max(update, 1e-30))


def short_run(student, reference, fn: str, epochs: int, seed: int) -> tuple[dict, dict, str]:
    """`fn` on the 16 tickets of data/few-tickets/ for `epochs` with `seed`, run by the student (in a
    worker of its own) and by the reference: both reports and the scratch folder each saved to."""
    folder = f"short-{fn}-{epochs}"
    report, _, _ = student.call_alone(
        fn, student.asset("smollm2"), student.data(FEW), student.scratch(folder), epochs, seed
    )
    if not isinstance(report, dict):
        raise StudentError(f"{fn}() must return a dict")
    want = reference.call(
        fn, reference.asset("smollm2"), reference.data(FEW), reference.scratch(folder), epochs, seed
    )
    return report, want, folder


def check_same_training(call: str, apart: float, report: dict, want: dict, hint: str) -> None:
    """A short run trained what a correct solution trains: weight updates `apart` (relative) within
    SAME_TRAINING, and the same final training loss reported."""
    assert apart <= SAME_TRAINING, (
        f"{call} on the 16 tickets of data/{FEW}/ trains another model than a correct solution "
        f"(their weight updates differ by {apart:.0%}): {hint}"
    )
    assert same_plain(report.get("train_loss"), want["train_loss"], rel=1e-3), (
        f"{call} reports train_loss {report.get('train_loss')}; the Trainer's final training loss "
        f"is {want['train_loss']:.4f}"
    )


def check_stretch_short_run(student, reference, fn: str, seed: int, gap) -> None:
    """`fn` for one epoch with another seed trains what a correct solution trains with those
    arguments (`gap` of the two saved folders); the 3-epoch run alone cannot show a function that
    ignores them."""
    report, want, folder = short_run(student, reference, fn, 1, seed)
    apart = gap(student.scratch_path(folder), reference.scratch_path(folder))
    hint = "pass `epochs` and `seed` on to train_and_save(), at the learning rate the docstring gives"
    check_same_training(f"{fn}(..., epochs=1, seed={seed})", apart, report, want, hint)


def trained_adapter(trained):
    report, folder = trained
    config, tensors = read_adapter(folder)
    return report, config, tensors


def valid_examples(assets) -> list[dict]:
    lines = (assets.path("tickets") / "valid.jsonl").read_text().splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def check_learned(before: dict, after: dict) -> None:
    """The bar every training in this module must clear on the hidden tickets."""
    assert after["accuracy"] >= 0.8, (
        f"after fine-tuning, {after['accuracy']:.0%} of the hidden tickets are routed right "
        f"(base model: {before['accuracy']:.0%}); expected at least 80%"
    )
    assert after["accuracy"] >= before["accuracy"] + 0.3, "fine-tuning did not improve accuracy by 30 points"
    assert after["answer_loss"] <= 0.5 * before["answer_loss"], "the answer loss did not at least halve"


def check_reported(
    report: dict, key: str, measured: dict, fn: str, hint: str, rel: float = 0.02, abs_: float = 0.01
) -> None:
    """`fn`'s reported figures under `key` match what the grader measured on valid.jsonl, the answer
    loss within `rel` (and `abs_`); by default loose enough for an adapter applied another way."""
    got = report.get(key)
    assert isinstance(got, dict), (
        f"{fn}() must return {{'before': {{...}}, 'after': {{...}}, 'train_loss': ...}}"
    )
    assert same_plain(got.get("accuracy"), measured["accuracy"], abs_=0.04) and same_plain(
        got.get("answer_loss"), measured["answer_loss"], rel=rel, abs_=abs_
    ), f"{fn}() reports {got} {key} training; the grader measures {measured} on valid.jsonl ({hint})"


@points(2)
def test_tokenize_example(student, reference, hidden_tickets):
    """tokenize_example() appends the team and the end token, and masks the prompt out of the labels."""
    for ex in hidden_tickets[:5]:
        got = student.call("tokenize_example", student.tokenizer("smollm2"), ex["ticket"], ex["team"])
        want = reference.call("tokenize_example", reference.tokenizer("smollm2"), ex["ticket"], ex["team"])
        assert isinstance(got, dict), "tokenize_example() must return a dict"
        assert same_plain(got.get("input_ids"), want["input_ids"]), (
            "input_ids must be the prompt's ids, then ' <team>' and the end-of-sequence token"
        )
        labels = got.get("labels")
        assert isinstance(labels, list) and len(labels) == len(want["labels"]), (
            "labels must be as long as input_ids"
        )
        if labels == want["input_ids"]:
            raise AssertionError("the labels include the prompt: set every prompt position to -100")
        assert labels == want["labels"], "labels must be -100 on the prompt and the answer's ids after it"
        assert same_plain(got.get("attention_mask"), want["attention_mask"]), "attention_mask is wrong"


@points(2)
def test_evaluate(student, trusted_base, hidden_tickets):
    """evaluate() measures accuracy and answer loss in eval mode, even for a model fresh from training."""
    tokenizer, model = trusted_base
    examples = hidden_tickets[:9]
    got = student.call(
        "evaluate",
        student.model("smollm2", LM, train=True, attention_dropout=0.2),
        student.tokenizer("smollm2"),
        examples,
    )
    want = quality(model, tokenizer, examples)
    assert isinstance(got, dict), "evaluate() must return a dict"
    assert same_plain(got.get("accuracy"), want["accuracy"], abs_=1e-9), "accuracy is wrong"
    assert same_plain(got.get("answer_loss"), want["answer_loss"], rel=1e-3), (
        f"answer_loss is {got.get('answer_loss')}, expected {want['answer_loss']:.4f} "
        "(is the model in eval mode?)"
    )


def check_lora_settings(config: dict, tensors: dict[str, torch.Tensor], whose: str) -> None:
    """`whose` adapter has add_lora()'s settings: r 8, alpha 16, dropout 0.05 on q_proj and v_proj."""
    assert config["r"] == 8 and config["lora_alpha"] == 16, (
        f"{whose}: r={config['r']}, lora_alpha={config['lora_alpha']}: expected 8 and 16"
    )
    assert sorted(config.get("target_modules") or []) == ["q_proj", "v_proj"], (
        f"{whose}: target_modules is {config.get('target_modules')}: expected q_proj and v_proj"
    )
    assert same_plain(config.get("lora_dropout"), 0.05), (
        f"{whose}: lora_dropout is {config.get('lora_dropout')}, expected 0.05"
    )
    assert config.get("task_type") == "CAUSAL_LM", (
        f"{whose}: task_type is {config.get('task_type')!r}: the adapter is for causal language "
        "modelling (CAUSAL_LM)"
    )
    assert len(tensors) == 2 * 2 * 30, (
        f"{whose}: expected an A and a B matrix for q_proj and v_proj in 30 layers, found {len(tensors)}"
    )


@points(2)
def test_add_lora(student):
    """add_lora() wraps the model with new LoRA adapters (rank 8, alpha 16, dropout 0.05, on q_proj
    and v_proj, for causal language modelling) that leave its outputs unchanged until trained."""
    folder = student.call_and_save("add_lora", student.model("smollm2", LM), into="fresh-adapter")
    config, tensors = read_adapter(folder)
    check_lora_settings(config, tensors, "the adapter add_lora() adds")
    moved = [k for k, t in tensors.items() if ".lora_B." in k and bool(t.any())]
    assert not moved, (
        f"add_lora() changes the model's outputs before any training ({moved[0]} is not zero): "
        "keep PEFT's initialisation"
    )


@points(2)
def test_lora_config(trained):
    """The adapter finetune_lora() saved is LoRA with rank 8, alpha 16 and dropout 0.05 on q_proj and
    v_proj."""
    _, config, tensors = trained_adapter(trained)
    check_lora_settings(config, tensors, "the adapter finetune_lora() saved")


@points(2)
def test_trainable_ratio(trained):
    """Counted from the saved adapter, LoRA trains a fraction of a percent of the parameters."""
    _, _, tensors = trained_adapter(trained)
    trainable = sum(t.numel() for t in tensors.values())
    ratio = trainable / (BASE_PARAMETERS + trainable)
    record_metric("trainable_params", trainable)
    record_metric("trainable_ratio", round(ratio, 6))
    assert ratio < 0.01, (
        f"the adapter holds {trainable} parameters, {ratio:.2%} of the model: LoRA should train under 1%"
    )
    assert trainable == LORA_PARAMETERS, (
        f"the adapter holds {trainable} parameters; r=8 on q_proj and v_proj gives {LORA_PARAMETERS}"
    )


@points(2)
def test_trainable_report(student):
    """trainable_report() counts the parameters LoRA trains and all the model's parameters."""
    got = student.call("trainable_report", student.model("smollm2", LM))
    assert isinstance(got, dict), "trainable_report() must return a dict"
    assert got.get("trainable") == LORA_PARAMETERS, (
        f"trainable is {got.get('trainable')}; LoRA as specified trains {LORA_PARAMETERS} "
        "(count only requires_grad parameters)"
    )
    total = BASE_PARAMETERS + LORA_PARAMETERS
    assert got.get("total") == total, (
        f"total is {got.get('total')}, expected {total} (adapters included, the tied embedding once)"
    )
    assert same_plain(got.get("ratio"), LORA_PARAMETERS / total, rel=1e-6), "ratio must be trainable / total"


@points(2)
def test_short_runs_train_as_specified(student, reference, trusted_base, public_data, seed):
    """finetune_lora() on 16 tickets trains what a correct solution trains (seeded with `seed`, for
    `epochs` epochs, at learning rate 1e-3 in batches of 8), and reports its training loss and the
    base model's and the adapter's figures on valid.jsonl."""
    tokenizer, base = trusted_base
    lines = (public_data / FEW / "valid.jsonl").read_text().splitlines()
    valid = [json.loads(line) for line in lines if line.strip()]
    before = quality(base, tokenizer, valid)
    for run_seed, epochs in ((seed, 1), (seed + 1, 2)):
        report, want, folder = short_run(student, reference, "finetune_lora", epochs, run_seed)
        adapter = read_adapter(student.scratch_path(folder))
        check_same_training(
            f"finetune_lora(..., epochs={epochs}, seed={run_seed})",
            adapter_gap(base, adapter, read_adapter(reference.scratch_path(folder))),
            report,
            want,
            "train with the Trainer seeded with `seed`, for `epochs` epochs, at learning rate 1e-3, "
            "in batches of 8",
        )
        check_reported(report, "before", before, "finetune_lora", "the base model's, before training")
        after = quality(merged_copy(base, *adapter), tokenizer, valid)
        check_reported(report, "after", after, "finetune_lora", "the saved adapter's, in eval mode")


@points(4)
def test_improves_on_hidden_tickets(trained, trusted_base, hidden_tickets):
    """After LoRA fine-tuning the model routes tickets it has never seen, which the base model cannot."""
    _, config, tensors = trained_adapter(trained)
    tokenizer, base = trusted_base
    before = quality(base, tokenizer, hidden_tickets)
    after = quality(merged_copy(base, config, tensors), tokenizer, hidden_tickets)
    for when, q in (("before", before), ("after", after)):
        record_metric(f"{when}_accuracy", round(q["accuracy"], 4), leaderboard=when == "after")
        record_metric(f"{when}_answer_loss", round(q["answer_loss"], 4))
    check_learned(before, after)


@points(2)
def test_reported_evaluation(trained, trusted_base, assets):
    """finetune_lora() reports before/after figures on valid.jsonl that match the base model's and the
    saved adapter's, in eval mode."""
    report, config, tensors = trained_adapter(trained)
    tokenizer, base = trusted_base
    valid = valid_examples(assets)
    after = quality(merged_copy(base, config, tensors), tokenizer, valid)
    check_reported(
        report,
        "after",
        after,
        "finetune_lora",
        "the saved adapter's figures: evaluate in eval mode, after training the LoRA dropout is still on",
    )
    check_reported(
        report,
        "before",
        quality(base, tokenizer, valid),
        "finetune_lora",
        "the base model's figures on valid.jsonl, measured before training",
    )


@points(2)
def test_reloaded_adapter_same_outputs(student, trained, trusted_base, hidden_tickets):
    """The adapter reloaded onto a fresh base model gives the same outputs as the trained one."""
    _, config, tensors = trained_adapter(trained)
    tokenizer, base = trusted_base
    tickets = [e["ticket"] for e in hidden_tickets[:6]]
    logits, team_ids = team_logits(merged_copy(base, config, tensors), tokenizer, tickets)
    got = student.call("predict_with_adapter", student.asset("smollm2"), student.scratch("adapter"), tickets)
    assert isinstance(got, list) and len(got) == len(tickets), (
        "predict_with_adapter() must return one row per ticket"
    )
    assert same_plain(got, logits[:, team_ids].tolist(), abs_=2e-3), (
        "the reloaded adapter's team logits differ from the saved adapter's "
        "(load it with PeftModel.from_pretrained, eval mode)"
    )


@points(2)
def test_merged_model(student, trained, trusted_base, hidden_tickets):
    """merge_adapter() saves a plain model whose outputs equal base + adapter."""
    _, config, tensors = trained_adapter(trained)
    tokenizer, base = trusted_base
    n = student.call(
        "merge_adapter", student.asset("smollm2"), student.scratch("adapter"), student.scratch("merged")
    )
    assert n == BASE_PARAMETERS, (
        f"the merged model has {n} parameters; merging leaves the base model's {BASE_PARAMETERS}"
    )
    merged = load_saved_model(student.scratch_path("merged"), LM, expected="smollm2")
    assert not any("lora" in name for name, _ in merged.named_parameters()), (
        "the saved model still holds LoRA layers: merge_and_unload()"
    )
    tickets = [e["ticket"] for e in hidden_tickets[:6]]
    got, _ = team_logits(merged, tokenizer, tickets)
    want, _ = team_logits(merged_copy(base, config, tensors), tokenizer, tickets)
    assert torch.allclose(got, want, atol=2e-3), "the merged model's outputs differ from base + adapter"


@points(4)
def test_memory_savings(student, hidden_tickets):
    """LoRA training needs far less memory than full fine-tuning of the same model on the same batch,
    measured by the OS."""
    batch = hidden_tickets[:8]
    # one step for LoRA, two for full: Adam's state exists from the first step on, and a loop one
    # step short then reports none
    lora, lora_peak, _ = student.call_alone("training_memory", student.asset("smollm2"), batch, "lora", 1)
    full, full_peak, _ = student.call_alone("training_memory", student.asset("smollm2"), batch, "full", 2)
    record_metric("lora_peak_bytes", lora_peak)
    record_metric("full_peak_bytes", full_peak)
    # exact: AdamW keeps exp_avg and exp_avg_sq (fp32) per trained parameter and a step counter per tensor
    want = {
        "lora": (LORA_PARAMETERS, 4 * LORA_PARAMETERS, 8 * LORA_PARAMETERS + 4 * LORA_TENSORS),
        "full": (BASE_PARAMETERS, 4 * BASE_PARAMETERS, 8 * BASE_PARAMETERS + 4 * BASE_TENSORS),
    }
    for name, got in (("lora", lora), ("full", full)):
        if not isinstance(got, dict):
            raise StudentError(f"training_memory(..., {name!r}, ...) must return a dict")
        trainable, grads, state = want[name]
        assert got.get("trainable") == trainable, (
            f"{name}: {got.get('trainable')} trainable parameters, expected {trainable}"
        )
        assert got.get("gradient_bytes") == grads, (
            f"{name}: gradient_bytes is {got.get('gradient_bytes')}, expected {grads}"
        )
        assert got.get("optimizer_state_bytes") == state, (
            f"{name}: optimizer_state_bytes is {got.get('optimizer_state_bytes')}, expected {state} "
            "(AdamW: two fp32 moments per parameter and a step counter per tensor)"
        )
    record_metric("lora_optimizer_state_bytes", want["lora"][2])
    record_metric("full_optimizer_state_bytes", want["full"][2])
    untrained = student.call("training_memory", student.asset("smollm2"), batch, "lora", 0)
    assert isinstance(untrained, dict) and (
        untrained.get("trainable"),
        untrained.get("gradient_bytes"),
        untrained.get("optimizer_state_bytes"),
    ) == (LORA_PARAMETERS, 0, 0), (
        f"training_memory(..., 'lora', 0) reports {untrained}: after 0 steps there are no gradients and no "
        "optimizer state yet (train for the given number of steps)"
    )
    assert lora_peak and full_peak, "the peak memory of the training workers could not be measured"
    assert lora_peak <= 0.75 * full_peak, (
        f"LoRA training peaked at {lora_peak / 2**30:.2f} GiB, "
        f"full fine-tuning at {full_peak / 2**30:.2f} GiB: expected LoRA at most 75%"
    )


@extra_credit(2)
def test_qlora_on_a_4bit_base(
    student, reference, qlora_trained, trusted_nf4, trusted_base, hidden_tickets, assets, seed
):
    """QLoRA: the adapter trained on the 4-bit NF4 base routes hidden tickets on that base, the
    figures you report were measured on it, and a short run follows its `epochs` and `seed`."""
    report, config, tensors = trained_adapter(qlora_trained)
    tokenizer, _ = trusted_base
    assert (config["r"], config["lora_alpha"], sorted(config.get("target_modules") or [])) == (
        8,
        16,
        ["q_proj", "v_proj"],
    ), "the QLoRA adapter should use add_lora()'s settings: r=8, alpha 16 on q_proj and v_proj"
    # The base itself, no adapter: the same 4-bit weights on both sides give the same loss (measured
    # 3e-8 apart); the float32 model's is 0.4% off, so "before" shows whether the base was quantized.
    check_reported(
        report,
        "before",
        quality(trusted_nf4, tokenizer, valid_examples(assets)),
        "finetune_qlora",
        "measure it on the base loaded in 4-bit NF4 with float32 compute, as the docstring says",
        rel=1e-3,
        abs_=0.0,
    )
    before = quality(trusted_nf4, tokenizer, hidden_tickets)
    with adapter_hooks(trusted_nf4, config, tensors) as adapted:
        after = quality(adapted, tokenizer, hidden_tickets)
        valid_after = quality(adapted, tokenizer, valid_examples(assets))
    record_metric("qlora_before_accuracy", round(before["accuracy"], 4))
    record_metric("qlora_accuracy", round(after["accuracy"], 4))
    record_metric("qlora_answer_loss", round(after["answer_loss"], 4))
    check_learned(before, after)
    check_reported(
        report,
        "after",
        valid_after,
        "finetune_qlora",
        "the adapter on the grader's 4-bit NF4 base, float32 compute: is your base quantized that way?",
    )
    base = trusted_base[1]
    check_stretch_short_run(
        student,
        reference,
        "finetune_qlora",
        seed + 1,
        lambda got, want: adapter_gap(base, read_adapter(got), read_adapter(want)),
    )


@extra_credit(2)
def test_lora_versus_full_finetuning(
    student, reference, full_trained, trained, trusted_base, hidden_tickets, assets, seed
):
    """Full fine-tuning: every weight trained and saved, the model routes hidden tickets, a short run
    follows its `epochs` and `seed`; its quality, time and memory are set beside LoRA's."""
    report, folder = full_trained
    tokenizer, base = trusted_base
    model = load_saved_model(folder, LM, expected="smollm2").eval()
    tuned = dict(model.named_parameters())
    assert not any("lora" in name for name in tuned), (
        "the saved model holds LoRA layers: full fine-tuning trains the model itself"
    )
    assert sum(p.numel() for p in tuned.values()) == BASE_PARAMETERS, "the saved model is not SmolLM2-135M"
    unchanged = [
        name for name, p in base.named_parameters() if name not in tuned or torch.equal(p, tuned[name])
    ]
    assert not unchanged, (
        f"{len(unchanged)} of the model's {BASE_TENSORS} weight tensors did not change, "
        f"such as {unchanged[0]}: full fine-tuning trains every weight"
    )
    before = quality(base, tokenizer, hidden_tickets)
    after = quality(model, tokenizer, hidden_tickets)
    record_metric("full_accuracy", round(after["accuracy"], 4))
    record_metric("full_answer_loss", round(after["answer_loss"], 4))
    check_learned(before, after)
    check_reported(
        report,
        "after",
        quality(model, tokenizer, valid_examples(assets)),
        "finetune_full",
        "the saved model's figures: evaluate in eval mode",
    )
    # what each must keep: LoRA an adapter beside the shared base, full fine-tuning a whole model
    adapter_bytes = sum(f.stat().st_size for f in trained[1].glob("*.safetensors"))
    record_metric("lora_saved_bytes", adapter_bytes)
    record_metric("full_saved_bytes", sum(f.stat().st_size for f in folder.glob("*.safetensors")))
    del model, tuned  # the short run trains a whole model in this process too
    check_stretch_short_run(
        student, reference, "finetune_full", seed + 1, lambda got, want: full_update_gap(base, got, want)
    )
