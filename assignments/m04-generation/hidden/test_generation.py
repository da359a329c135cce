"""Hidden graders for module 4. Generation is checked against the trusted process's own run of
SmolLM2; the sampling distribution is checked against transformers' logits warpers on plain lists."""

import math

import torch
from transformers.generation.logits_process import TemperatureLogitsWarper, TopKLogitsWarper, TopPLogitsWarper

from autograder.api import StudentError, points, same_plain

LM = "AutoModelForCausalLM"
SETTINGS = [(1.0, 0, 0.9), (0.7, 5, 1.0), (1.3, 8, 0.6), (0.5, 0, 0.75), (2.0, 30, 0.95)]


def expected_probs(logits: list[float], temperature: float, top_k: int, top_p: float) -> list[float]:
    """What generate(do_sample=True) draws from: transformers' own warpers, in float64."""
    scores = torch.tensor([logits], dtype=torch.float64)
    scores = TemperatureLogitsWarper(temperature)(None, scores)
    if top_k > 0:
        scores = TopKLogitsWarper(top_k)(None, scores)
    if top_p < 1.0:
        scores = TopPLogitsWarper(top_p)(None, scores)
    return torch.softmax(scores, dim=-1)[0].tolist()


def as_floats(value, n: int, what: str) -> list[float]:
    if not isinstance(value, list) or len(value) != n or not all(isinstance(v, int | float) for v in value):
        raise StudentError(f"{what} must return a list of {n} numbers, one per logit")
    if any(math.isnan(v) for v in value):
        raise StudentError(f"{what} returned NaN")
    return [float(v) for v in value]


def token_list(value, what: str) -> list[int]:
    if not isinstance(value, list) or not all(isinstance(v, int) and not isinstance(v, bool) for v in value):
        raise StudentError(f"{what} must return a list of token ids (ints)")
    return value


def trusted_greedy(trusted_lm, prompt: str, max_new_tokens: int) -> list[int]:
    tokenizer, model = trusted_lm
    inputs = tokenizer(prompt, return_tensors="pt")
    with torch.no_grad():
        out = model.generate(**inputs, max_new_tokens=max_new_tokens, do_sample=False)
    return out[0, inputs["input_ids"].shape[1] :].tolist()


def with_pad_token(student, assets, pad_token: str | None, name: str) -> str:
    """A scratch copy of SmolLM2 whose tokenizer's pad token is `pad_token` (None: it has none),
    the weights linked, not copied."""
    from transformers import AutoTokenizer

    source = assets.path("smollm2")
    folder = student.scratch_path(name)
    tokenizer = AutoTokenizer.from_pretrained(source)
    tokenizer.pad_token = pad_token
    tokenizer.save_pretrained(folder)
    for path in folder.iterdir():  # saved files are 0600: the worker runs as another uid
        path.chmod(0o644)
    for file in ("config.json", "generation_config.json", "model.safetensors"):
        (folder / file).symlink_to(source / file)
    return student.scratch(name)


@points(2)
def test_loading_report(student, trusted_lm, assets):
    """load_generator() gives a causal LM with its head, in eval mode, on the CPU, padding on the left,
    with a pad token even when the tokenizer has none."""
    got = student.call("loading_report", student.asset("smollm2"))
    assert isinstance(got, dict), "loading_report() must return a dict"
    assert got.get("model_class") == "LlamaForCausalLM", (
        f"the model is a {got.get('model_class')}: load it with AutoModelForCausalLM, which adds the "
        "language-modelling head"
    )
    assert got.get("training") is False, "the model is in training mode: call model.eval() before inference"
    assert got.get("device") == "cpu", (
        "this machine has no GPU: the model must be on the CPU (choose the device, never hard-code 'cuda')"
    )
    assert got.get("pad_token") is not None, "the tokenizer has no pad token: batches cannot be padded"
    assert got.get("padding_side") == "left", "a decoder-only model must be padded on the left for generation"
    tokenizer, model = trusted_lm
    with torch.no_grad():
        want = int(model(**tokenizer("The capital of France is", return_tensors="pt")).logits[0, -1].argmax())
    assert got.get("next_token") == want, (
        "next_token is not the model's highest-scoring token after the prompt"
    )
    bare = student.call("loading_report", with_pad_token(student, assets, None, "smollm2-no-pad"))
    eos = tokenizer.eos_token
    assert isinstance(bare, dict) and bare.get("pad_token") == eos, (
        f"for a tokenizer without a pad token the pad token is {bare.get('pad_token')!r}: use its "
        f"end-of-sequence token ({eos!r}) when tokenizer.pad_token is None"
    )
    own = tokenizer.unk_token  # a pad token of its own that is not the end-of-sequence token
    kept = student.call("loading_report", with_pad_token(student, assets, own, "smollm2-own-pad"))
    assert isinstance(kept, dict) and kept.get("pad_token") == own, (
        f"for a tokenizer whose pad token is {own!r} the pad token became {kept.get('pad_token')!r}: "
        "replace it with the end-of-sequence token only when the tokenizer has none"
    )


# A greeting SmolLM2 answers in 10 tokens, the last its end-of-turn token: a reply that ends by itself
GREETING = [{"role": "user", "content": "Hi!"}]
# SmolLM2's first 7 tokens of reply here end on two line breaks: "The two colours are:\n\n"
COLOURS = [{"role": "user", "content": "Give me two colours, one per line."}]


@points(3)
def test_batch_generate(student, reference, inputs, trusted_lm):
    """batch_generate() continues prompts of different lengths in one batch, even when the tokenizer has
    no pad token."""
    # In the last batch the greeting's reply ends early: generate() pads it with end-of-turn tokens
    greeting = trusted_lm[0].apply_chat_template(GREETING, tokenize=False, add_generation_prompt=True)
    batches = [
        (inputs["batch_prompts"], 5),
        (inputs["batch_prompts"], 2),
        ([greeting, inputs["batch_prompts"][1]], 12),
    ]
    for prompts, max_new_tokens in batches:
        got = student.call(
            "batch_generate",
            student.model("smollm2", LM),
            student.tokenizer("smollm2", pad_token=None),
            prompts,
            max_new_tokens,
        )
        want = reference.call(
            "batch_generate",
            reference.model("smollm2", LM),
            reference.tokenizer("smollm2", pad_token=None),
            prompts,
            max_new_tokens,
        )
        assert isinstance(got, list) and len(got) == len(prompts), (
            "batch_generate() must return one string per prompt"
        )
        for g, w in zip(got, want, strict=True):
            assert isinstance(g, str), "each continuation must be a string"
            assert not any(g.startswith(prompt) for prompt in prompts), (
                "return only the new text: cut the prompt's tokens off the generated ids"
            )
            assert "<|im" not in g and "<|endoftext|>" not in g, (
                f"a continuation still holds special tokens ({g!r}): decode with skip_special_tokens=True"
            )
            assert g == w, (
                f"with max_new_tokens={max_new_tokens} a continuation is {g!r}, expected {w!r}: pad on "
                "the left, generate exactly max_new_tokens new tokens and decode only them, without "
                "special tokens"
            )


@points(1)
def test_chat_prompt(student, reference, inputs):
    """chat_prompt() applies the model's chat template and opens the assistant's turn."""
    got = student.call("chat_prompt", student.tokenizer("smollm2"), inputs["chat"])
    want = reference.call("chat_prompt", reference.tokenizer("smollm2"), inputs["chat"])
    assert isinstance(got, str), "chat_prompt() must return the prompt as a string (tokenize=False)"
    if got != want and want.startswith(got):
        raise AssertionError("the prompt does not open the assistant's turn: add_generation_prompt=True")
    assert got == want, "the prompt is not the model's chat format: use tokenizer.apply_chat_template"


@points(2)
def test_chat_reply(student, reference, inputs):
    """chat_reply() returns the assistant's greedy reply and nothing else, max_new_tokens long at most."""
    for messages, max_new_tokens in (
        (inputs["chat"], 8),
        (inputs["chat"], 3),
        (GREETING, 12),
        (COLOURS, 7),
    ):
        got = student.call(
            "chat_reply", student.model("smollm2", LM), student.tokenizer("smollm2"), messages, max_new_tokens
        )
        want = reference.call(
            "chat_reply",
            reference.model("smollm2", LM),
            reference.tokenizer("smollm2"),
            messages,
            max_new_tokens,
        )
        assert isinstance(got, str), "chat_reply() must return a string"
        assert "<|im" not in got, "the reply still holds special tokens: decode with skip_special_tokens=True"
        assert messages[-1]["content"] not in got, "the reply includes the prompt: decode only the new tokens"
        if got != want and got.strip() == want:
            raise AssertionError(
                f"with max_new_tokens={max_new_tokens} the reply is {got!r}: strip the spaces and line "
                "breaks around it"
            )
        assert got == want, f"with max_new_tokens={max_new_tokens} the reply is {got!r}, expected {want!r}"


@points(1)
def test_sampling_follows_the_seed(student, inputs):
    """sample_continuations() samples: the same seed repeats the same texts, another seed gives others."""
    prompt = inputs["sample_prompt"]

    def run(seed):
        out = student.call(
            "sample_continuations",
            student.model("smollm2", LM),
            student.tokenizer("smollm2"),
            prompt,
            3,
            3,
            1.0,
            50,
            0.95,
            seed,
        )
        if not isinstance(out, list) or len(out) != 3 or not all(isinstance(t, str) for t in out):
            raise StudentError("sample_continuations() must return a list of n strings")
        return out

    first, again, other = run(11), run(11), run(12)
    assert len(set(first)) > 1, (
        "all the samples are identical: temperature, top_k and top_p are ignored "
        "unless you pass do_sample=True"
    )
    assert first == again, (
        "the same seed gave different samples: call torch.manual_seed(seed) right before generate()"
    )
    assert first != other, "a different seed gave the same samples: seed with the `seed` argument"


def trusted_greedy_text(trusted_lm, prompt: str, max_new_tokens: int) -> str:
    return trusted_lm[0].decode(trusted_greedy(trusted_lm, prompt, max_new_tokens), skip_special_tokens=True)


# (n, max_new_tokens, temperature, top_k, top_p, seed): each leaves one token possible per step
ONE_CHOICE = [
    (2, 4, 1.0, 1, 1.0, 3, "top_k=1"),
    (3, 3, 1.0, 0, 0.01, 4, "top_p=0.01 (and top_k=0)"),
    (2, 4, 0.01, 0, 1.0, 5, "temperature=0.01 (and top_k=0)"),
]


@points(2)
def test_sampling_honours_every_setting(student, trusted_lm, inputs):
    """sample_continuations() passes n, max_new_tokens, temperature, top_k and top_p to generate():
    a setting that leaves one choice per step gives n copies of the greedy continuation."""
    prompt = inputs["sample_prompt"]
    for n, max_new_tokens, temperature, top_k, top_p, seed, what in ONE_CHOICE:
        out = student.call(
            "sample_continuations",
            student.model("smollm2", LM),
            student.tokenizer("smollm2"),
            prompt,
            n,
            max_new_tokens,
            temperature,
            top_k,
            top_p,
            seed,
        )
        if not isinstance(out, list) or not all(isinstance(t, str) for t in out):
            raise StudentError("sample_continuations() must return a list of n strings")
        assert len(out) == n, f"asked for n={n} samples, got {len(out)}: num_return_sequences=n"
        greedy = trusted_greedy_text(trusted_lm, prompt, max_new_tokens)
        assert all(text == greedy for text in out), (
            f"with {what} only the most probable token can be drawn, so every sample should be the "
            f"greedy continuation of {max_new_tokens} tokens: pass temperature, top_k, top_p and "
            "max_new_tokens to generate()"
        )
    # The greeting's reply ends with the end-of-turn token before max_new_tokens
    greeting = trusted_lm[0].apply_chat_template(GREETING, tokenize=False, add_generation_prompt=True)
    out = student.call(
        "sample_continuations",
        student.model("smollm2", LM),
        student.tokenizer("smollm2"),
        greeting,
        2,
        14,
        1.0,
        1,
        1.0,
        6,
    )
    reply = trusted_greedy_text(trusted_lm, greeting, 14)
    assert out == [reply, reply], (
        f"with top_k=1 both samples of the greeting's reply should be {reply!r}, got {out!r}: decode the new "
        "tokens with skip_special_tokens=True"
    )


@points(3)
def test_greedy_decode_matches_generate(student, trusted_lm, inputs):
    """greedy_decode() picks the same tokens as generate(do_sample=False), token for token, and stops at
    end-of-sequence."""
    for prompt, max_new_tokens in zip(inputs["greedy_prompts"], (10, 3), strict=True):
        got = token_list(
            student.call(
                "greedy_decode",
                student.model("smollm2", LM),
                student.tokenizer("smollm2"),
                prompt,
                max_new_tokens,
            ),
            "greedy_decode()",
        )
        want = trusted_greedy(trusted_lm, prompt, max_new_tokens)
        if got[: len(want)] == want and len(got) > len(want):
            raise AssertionError(
                "greedy_decode() went on after the end-of-sequence token: stop right after it"
            )
        assert got == want, (
            f"for prompt {prompt!r} greedy_decode() gives {got}, generate(do_sample=False) gives {want}"
        )


@points(2)
def test_filter_probs_support_and_renormalisation(student, hidden_logits):
    """filter_probs() keeps exactly the tokens top-k / top-p sampling may draw, renormalised to sum to 1."""
    for logits in hidden_logits:
        for temperature, top_k, top_p in SETTINGS:
            case = f"(temperature={temperature}, top_k={top_k}, top_p={top_p}, {len(logits)} logits)"
            got = as_floats(
                student.call("filter_probs", logits, temperature, top_k, top_p), len(logits), "filter_probs()"
            )
            want = expected_probs(logits, temperature, top_k, top_p)
            kept, should = {i for i, p in enumerate(got) if p > 0}, {i for i, p in enumerate(want) if p > 0}
            assert kept == should, (
                f"{case}: {len(kept)} tokens kept, top-k/top-p sampling keeps {len(should)}"
                + (" (too few: the token that crosses top_p stays in)" if kept < should else "")
            )
            assert abs(sum(got) - 1.0) < 1e-6, f"{case}: the probabilities sum to {sum(got):.6f}: renormalise"
            assert same_plain(got, want, abs_=1e-6), (
                f"{case}: the kept probabilities are not softmax(logits / temperature) renormalised"
            )
    # Four equally likely tokens: two reach top_p=0.5, so the third (whose preceding mass is 0.5) is out
    got = as_floats(student.call("filter_probs", [0.0] * 4, 1.0, 0, 0.5), 4, "filter_probs()")
    assert same_plain(sorted(got), [0.0, 0.0, 0.5, 0.5], abs_=1e-9), (
        f"top_p=0.5 over four equally likely tokens keeps {sum(p > 0 for p in got)} of them: keep the "
        "smallest set whose probability reaches top_p (a token whose preceding mass is already top_p is out)"
    )


@points(1)
def test_filter_probs_on_model_logits(student, trusted_lm, inputs):
    """filter_probs() also works on a real next-token distribution over the whole vocabulary."""
    tokenizer, model = trusted_lm
    with torch.no_grad():
        logits = model(**tokenizer(inputs["sample_prompt"], return_tensors="pt")).logits[0, -1].tolist()
    got = as_floats(student.call("filter_probs", logits, 0.8, 40, 0.9), len(logits), "filter_probs()")
    want = expected_probs(logits, 0.8, 40, 0.9)
    assert {i for i, p in enumerate(got) if p > 0} == {i for i, p in enumerate(want) if p > 0}, (
        "on the model's logits the kept tokens differ from top-k/top-p sampling's"
    )
    assert same_plain(got, want, abs_=1e-5), "on the model's logits the probabilities are wrong"


@points(2)
def test_sample_decode(student, reference, trusted_lm, inputs):
    """sample_decode() is reproducible for a seed, draws every token from the top-k / top-p set, and
    draws exactly as the handout says (one generator for the whole loop, the temperature applied once)."""
    tokenizer, model = trusted_lm
    prompt, settings = inputs["sample_prompt"], (1.0, 5, 0.9)

    def run(seed, max_new_tokens=4, drawn=settings, side=student):
        return token_list(
            side.call(
                "sample_decode",
                side.model("smollm2", LM),
                side.tokenizer("smollm2"),
                prompt,
                max_new_tokens,
                *drawn,
                seed,
            ),
            "sample_decode()",
        )

    first, again, other = run(5), run(5), run(6)
    assert first, "sample_decode() returned no tokens"
    for tokens in (first, other):
        assert len(tokens) == 4 or (len(tokens) < 4 and tokens[-1] == tokenizer.eos_token_id), (
            f"asked for max_new_tokens=4, sample_decode() returned {len(tokens)} tokens: "
            "stop after max_new_tokens tokens or right after the end-of-sequence token"
        )
    assert first == again, (
        "the same seed gave different tokens: draw with a torch.Generator seeded with `seed`"
    )
    prompt_ids = tokenizer(prompt, return_tensors="pt")["input_ids"]
    for tokens in (first, other):
        ids = torch.cat([prompt_ids, torch.tensor([tokens])], dim=1)
        with torch.no_grad():
            logits = model(input_ids=ids).logits[0]
        start = prompt_ids.shape[1] - 1
        for step, token in enumerate(tokens):
            # a hair of slack on top_p: the same token set up to floating-point rounding at the boundary
            allowed = expected_probs(
                logits[start + step].tolist(), settings[0], settings[1], settings[2] + 0.01
            )
            assert 0 <= token < len(allowed) and allowed[token] > 0, (
                f"token {step + 1} ({token}) is outside the top-k/top-p set: sample from filter_probs()"
            )
    assert first != other, "a different seed gave the same tokens: seed the generator with `seed`"
    for seed, max_new_tokens, drawn in ((5, 4, settings), (11, 6, (1.8, 0, 0.95))):
        got = first if seed == 5 else run(seed, max_new_tokens, drawn)
        want = run(seed, max_new_tokens, drawn, side=reference)
        assert got == want, (
            f"with temperature={drawn[0]}, top_k={drawn[1]}, top_p={drawn[2]} and seed {seed}, "
            f"sample_decode() drew {got}; the handout's loop draws {want}: one "
            "torch.Generator().manual_seed(seed) for the whole loop, each token drawn with "
            "torch.multinomial(probs, 1, generator=g) from filter_probs() of the raw last logits "
            "(the temperature applied once, there)"
        )


@points(2)
def test_sample_decode_one_choice_is_greedy(student, trusted_lm, inputs):
    """With one possible token per step (top_k=1, a tiny top_p, or a tiny temperature), sample_decode()
    reproduces greedy decoding."""
    greeting = trusted_lm[0].apply_chat_template(GREETING, tokenize=False, add_generation_prompt=True)
    for prompt, max_new_tokens, temperature, top_k, top_p, seed, what in (
        (inputs["greedy_prompts"][1], 3, 1.0, 1, 1.0, 3, "top_k=1"),
        (inputs["greedy_prompts"][1], 3, 0.01, 0, 1.0, 8, "temperature=0.01"),
        (inputs["greedy_prompts"][1], 3, 1.0, 0, 0.01, 9, "top_p=0.01"),
        (greeting, 14, 1.0, 1, 1.0, 4, "top_k=1, a reply that ends by itself"),
    ):
        want = trusted_greedy(trusted_lm, prompt, max_new_tokens)
        got = token_list(
            student.call(
                "sample_decode",
                student.model("smollm2", LM),
                student.tokenizer("smollm2"),
                prompt,
                max_new_tokens,
                temperature,
                top_k,
                top_p,
                seed,
            ),
            "sample_decode()",
        )
        assert got == want, (
            f"with {what} the only token that may be drawn is the greedy one ({want}), got {got}: pass "
            "temperature, top_k and top_p on to filter_probs(), and stop after max_new_tokens tokens or "
            "right after the end-of-sequence token"
        )


@points(2)
def test_perplexity(student, trusted_lm, inputs):
    """perplexity() is exp of the mean next-token negative log-likelihood."""
    tokenizer, model = trusted_lm
    text = inputs["ppl_text"]
    ids = tokenizer(text, return_tensors="pt")["input_ids"]
    with torch.no_grad():
        logits = model(input_ids=ids).logits[0, :-1]
    want = math.exp(torch.nn.functional.cross_entropy(logits, ids[0, 1:]).item())
    # a model fresh from training: in train mode, with dropout that eval() must switch off
    got = student.call(
        "perplexity",
        student.model("smollm2", LM, train=True, attention_dropout=0.2),
        student.tokenizer("smollm2"),
        text,
    )
    assert isinstance(got, int | float) and not isinstance(got, bool), "perplexity() must return a number"
    assert got > 1, f"perplexity {got} is not above 1: return exp(mean NLL), not the loss itself"
    assert same_plain(got, want, rel=1e-3), (
        f"perplexity() gives {got:.3f}; the model's perplexity on this text is "
        f"{want:.3f} (is the model in eval mode?)"
    )


@points(1)
def test_truncate_prompt_keeps_the_end(student, trusted_lm, inputs):
    """truncate_prompt() cuts a long prompt to the limit and keeps its end."""
    tokenizer, _ = trusted_lm
    ids = tokenizer(inputs["truncate_text"])["input_ids"]
    for limit in (7, 20):
        got = student.call("truncate_prompt", student.tokenizer("smollm2"), inputs["truncate_text"], limit)
        assert isinstance(got, list) and len(got) == limit, (
            f"truncate_prompt(..., {limit}) must return {limit} ids"
        )
        assert got == ids[-limit:], (
            "keep the end of the text (truncation_side='left'): a continuation follows the last tokens"
        )
    assert (
        student.call("truncate_prompt", student.tokenizer("smollm2"), "Short one.", 20)
        == tokenizer("Short one.")["input_ids"]
    ), "a prompt shorter than the limit must come back whole"


@points(2)
def test_sliding_perplexity(student, reference, inputs):
    """sliding_perplexity() scores each token once with overlapping windows, and equals perplexity() when
    one window holds it all."""
    text = inputs["long_text"]
    for window, stride in ((48, 24), (32, 20)):
        args = (text, window, stride)
        got = student.call(
            "sliding_perplexity", student.model("smollm2", LM), student.tokenizer("smollm2"), *args
        )
        want = reference.call(
            "sliding_perplexity", reference.model("smollm2", LM), reference.tokenizer("smollm2"), *args
        )
        assert isinstance(got, int | float) and not isinstance(got, bool), (
            "sliding_perplexity() must return a number"
        )
        assert same_plain(got, want, rel=1e-3), (
            f"with window={window}, stride={stride} sliding_perplexity() gives {got:.3f}, expected "
            f"{want:.3f}: windows start every `stride` tokens; score each token once "
            "(label context tokens -100)"
        )
    whole = student.call(
        "sliding_perplexity", student.model("smollm2", LM), student.tokenizer("smollm2"), text, 4096, 2048
    )
    full = reference.call("perplexity", reference.model("smollm2", LM), reference.tokenizer("smollm2"), text)
    assert same_plain(whole, full, rel=1e-3), (
        "with one window covering the text, sliding_perplexity() must equal the perplexity"
    )
