# %% [markdown]
# # Module 4: Text generation
#
# A causal language model does one thing: given the tokens so far, it scores every token of the
# vocabulary as the next one. Everything else — greedy answers, creative sampling, chat replies,
# perplexity — is built on those scores (the *logits*). In this lab you drive SmolLM2-135M-Instruct
# through `generate()`, then rebuild greedy decoding and top-k / top-p sampling yourself from the
# logits. Read `README.md` first; each function's docstring is its spec.
#
# Every function receives ready-made objects or a folder path and must **return plain Python
# values** (ints, floats, strings, lists, dicts). Put experiments under `if __name__ == "__main__":`.

# %%
from __future__ import annotations

import math

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

# %% [markdown]
# ## 1. Loading a model for generation
#
# `AutoModelForCausalLM` adds the language-modelling head (hidden states -> one score per
# vocabulary entry) that `AutoModel` leaves out. Inputs must live on the model's device.


# %%
def load_generator(path: str):
    """Load the tokenizer and causal LM in `path`, ready for batched generation.

    Return (tokenizer, model): the model class with a language-modelling head, in eval mode, on
    the GPU if there is one (else the CPU); the tokenizer padding on the left and with a pad
    token (its end-of-sequence token if it has none).
    """
    ### BEGIN SOLUTION AutoTokenizer + AutoModelForCausalLM; pad_token, padding_side="left"; model.eval();
    ### .to(device)
    tokenizer = AutoTokenizer.from_pretrained(path)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    tokenizer.padding_side = "left"
    device = "cuda" if torch.cuda.is_available() else "cpu"
    model = AutoModelForCausalLM.from_pretrained(path).to(device)
    model.eval()
    return tokenizer, model
    ### END SOLUTION


def loading_report(path: str) -> dict:
    """Load with load_generator(path) and describe what you got.

    Return {"model_class": the model's class name, "training": model.training,
            "device": str(model.device), "pad_token": the tokenizer's pad token string,
            "padding_side": the tokenizer's padding side,
            "next_token": the id the model scores highest after "The capital of France is"}.
    """
    ### BEGIN SOLUTION call load_generator; read the attributes; one forward pass, argmax of the last logits
    tokenizer, model = load_generator(path)
    inputs = tokenizer("The capital of France is", return_tensors="pt").to(model.device)
    with torch.no_grad():
        logits = model(**inputs).logits
    return {
        "model_class": type(model).__name__,
        "training": model.training,
        "device": str(model.device),
        "pad_token": tokenizer.pad_token,
        "padding_side": tokenizer.padding_side,
        "next_token": int(logits[0, -1].argmax()),
    }
    ### END SOLUTION


# %% [markdown]
# ## 2. Batched greedy generation
#
# `model.generate(**inputs, max_new_tokens=n, do_sample=False)` returns the prompt **and** the new
# tokens. Prompts of different lengths must be padded — on the left, with a real pad token.


# %%
def batch_generate(model, tokenizer, prompts: list[str], max_new_tokens: int) -> list[str]:
    """Greedily continue every prompt in one batched generate() call.

    The tokenizer may have no pad token: use its end-of-sequence token. Pad on the left. Return,
    for each prompt, only the newly generated text, decoded without special tokens.
    """
    ### BEGIN SOLUTION set pad_token/padding_side, tokenize with padding, .to(model.device), generate, decode
    ### only the new tokens
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    tokenizer.padding_side = "left"
    inputs = tokenizer(prompts, return_tensors="pt", padding=True).to(model.device)
    with torch.no_grad():
        out = model.generate(
            **inputs, max_new_tokens=max_new_tokens, do_sample=False, pad_token_id=tokenizer.pad_token_id
        )
    new_tokens = out[:, inputs["input_ids"].shape[1] :]
    return tokenizer.batch_decode(new_tokens, skip_special_tokens=True)
    ### END SOLUTION


# %% [markdown]
# ## 3. Chat templates
#
# An instruct model was fine-tuned on conversations in one exact format. The tokenizer carries
# that format as a template: `apply_chat_template` turns a list of messages into the prompt the
# model expects, and `add_generation_prompt=True` opens the assistant's turn.


# %%
def chat_prompt(tokenizer, messages: list[dict]) -> str:
    """The prompt string for `messages` in the model's chat format, ending where the assistant's reply
    begins."""
    ### BEGIN SOLUTION apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    ### END SOLUTION


def chat_reply(model, tokenizer, messages: list[dict], max_new_tokens: int) -> str:
    """The assistant's greedy reply to `messages`: only the reply, without special tokens or spaces
    around it."""
    ### BEGIN SOLUTION tokenize chat_prompt(...) (its special tokens are already in the text), generate
    ### greedily, decode the new tokens, strip
    prompt = chat_prompt(tokenizer, messages)
    inputs = tokenizer(prompt, return_tensors="pt", add_special_tokens=False).to(model.device)
    with torch.no_grad():
        out = model.generate(**inputs, max_new_tokens=max_new_tokens, do_sample=False)
    return tokenizer.decode(out[0, inputs["input_ids"].shape[1] :], skip_special_tokens=True).strip()
    ### END SOLUTION


# %% [markdown]
# ## 4. Sampling with generate()
#
# Greedy decoding always picks the top token. Sampling draws the next token at random from the
# model's distribution, reshaped by `temperature` (below 1 sharper, above 1 flatter), `top_k`
# (keep the k best tokens) and `top_p` (keep the smallest set of best tokens whose probability
# reaches p). None of these does anything unless `do_sample=True`.


# %%
def sample_continuations(
    model,
    tokenizer,
    prompt: str,
    n: int,
    max_new_tokens: int,
    temperature: float,
    top_k: int,
    top_p: float,
    seed: int,
) -> list[str]:
    """Sample `n` continuations of `prompt` with generate(), reproducibly for a given `seed`.

    Seed torch with `seed` right before generating. Return the n new texts, without special tokens.
    """
    ### BEGIN SOLUTION torch.manual_seed(seed); generate(do_sample=True, temperature, top_k, top_p,
    ### num_return_sequences=n)
    inputs = tokenizer(prompt, return_tensors="pt").to(model.device)
    torch.manual_seed(seed)
    with torch.no_grad():
        out = model.generate(
            **inputs,
            do_sample=True,
            temperature=temperature,
            top_k=top_k,
            top_p=top_p,
            max_new_tokens=max_new_tokens,
            num_return_sequences=n,
        )
    return tokenizer.batch_decode(out[:, inputs["input_ids"].shape[1] :], skip_special_tokens=True)
    ### END SOLUTION


# %% [markdown]
# ## 5. Decoding by hand
#
# `generate()` is a loop: run the model, look at the logits of the **last** position, choose a
# token, append it, repeat until the end-of-sequence token or the length limit.


# %%
def greedy_decode(model, tokenizer, prompt: str, max_new_tokens: int) -> list[int]:
    """Greedy decoding written as a loop over the model's logits, without generate().

    Return the new token ids: at each step the highest-scoring token; stop after
    `max_new_tokens` tokens or right after emitting the end-of-sequence token (keep it).
    """
    ### BEGIN SOLUTION loop: logits[0, -1].argmax(), append to the ids, stop at eos_token_id
    ids = tokenizer(prompt, return_tensors="pt")["input_ids"].to(model.device)
    new: list[int] = []
    with torch.no_grad():
        for _ in range(max_new_tokens):
            token = int(model(input_ids=ids).logits[0, -1].argmax())
            new.append(token)
            if token == tokenizer.eos_token_id:
                break
            ids = torch.cat([ids, torch.tensor([[token]], device=ids.device)], dim=1)
    return new
    ### END SOLUTION


def filter_probs(logits: list[float], temperature: float, top_k: int, top_p: float) -> list[float]:
    """The next-token distribution that top-k / top-p sampling draws from.

    Divide the logits by `temperature` and take the softmax. If top_k > 0, keep only the top_k
    most probable tokens. Renormalise; then if top_p < 1, keep only the smallest set of most
    probable tokens whose probability adds up to at least top_p. Renormalise again. Return one
    probability per logit: 0.0 outside the kept set, and they sum to 1.
    """
    ### BEGIN SOLUTION softmax(logits / T); zero all but the top_k; renormalise;
    ### sort, cumulative sum, keep tokens whose preceding mass is < top_p; renormalise
    probs = torch.softmax(torch.tensor(logits, dtype=torch.float64) / temperature, dim=-1)
    if top_k > 0:
        kth = torch.topk(probs, min(top_k, probs.numel())).values[-1]
        probs = torch.where(probs >= kth, probs, 0.0)
        probs = probs / probs.sum()
    if top_p < 1.0:
        sorted_probs, order = torch.sort(probs, descending=True)
        mass_before = torch.cumsum(sorted_probs, dim=0) - sorted_probs
        keep = torch.zeros_like(probs, dtype=torch.bool)
        keep[order] = mass_before < top_p
        probs = torch.where(keep, probs, 0.0)
        probs = probs / probs.sum()
    return probs.tolist()
    ### END SOLUTION


def sample_decode(
    model,
    tokenizer,
    prompt: str,
    max_new_tokens: int,
    temperature: float,
    top_k: int,
    top_p: float,
    seed: int,
) -> list[int]:
    """Top-k / top-p sampling written as a loop, drawing each token from filter_probs().

    Draw with a torch.Generator seeded with `seed`, so the same seed gives the same tokens.
    Return the new token ids; stop like greedy_decode().
    """
    ### BEGIN SOLUTION a torch.Generator().manual_seed(seed);
    ### each step filter_probs(last logits), torch.multinomial(..., generator=g)
    generator = torch.Generator().manual_seed(seed)
    ids = tokenizer(prompt, return_tensors="pt")["input_ids"].to(model.device)
    new: list[int] = []
    with torch.no_grad():
        for _ in range(max_new_tokens):
            logits = model(input_ids=ids).logits[0, -1]
            probs = torch.tensor(filter_probs(logits.tolist(), temperature, top_k, top_p))
            token = int(torch.multinomial(probs, 1, generator=generator))
            new.append(token)
            if token == tokenizer.eos_token_id:
                break
            ids = torch.cat([ids, torch.tensor([[token]], device=ids.device)], dim=1)
    return new
    ### END SOLUTION


# %% [markdown]
# ## 6. Perplexity and long inputs
#
# Perplexity is exp(average negative log-likelihood per predicted token): how surprised the model
# is by a text. Passing `labels=input_ids` makes the model shift them by one and return that mean.
# Every model has a context window (`config.max_position_embeddings`); longer inputs must be cut
# or scored in windows.


# %%
def perplexity(model, tokenizer, text: str) -> float:
    """The model's perplexity on `text`: exp of the mean negative log-likelihood of each token given
    the ones before it.

    The model may come straight from training, still in training mode (dropout on): score it in eval mode.
    """
    ### BEGIN SOLUTION model.eval(); model(input_ids, labels=input_ids).loss is the mean NLL; return exp of it
    model.eval()
    ids = tokenizer(text, return_tensors="pt")["input_ids"].to(model.device)
    with torch.no_grad():
        loss = model(input_ids=ids, labels=ids).loss
    return math.exp(loss.item())
    ### END SOLUTION


def truncate_prompt(tokenizer, text: str, max_tokens: int) -> list[int]:
    """The input ids of `text` cut to at most `max_tokens`, keeping its **end** (the part a continuation
    follows)."""
    ### BEGIN SOLUTION truncation_side="left", truncation=True, max_length=max_tokens
    tokenizer.truncation_side = "left"
    return tokenizer(text, truncation=True, max_length=max_tokens)["input_ids"]
    ### END SOLUTION


def sliding_perplexity(model, tokenizer, text: str, window: int, stride: int) -> float:
    """Perplexity of a text longer than the context window, scored in overlapping windows.

    Windows of at most `window` tokens start every `stride` tokens (0, stride, 2*stride, ...) until
    one reaches the end of the text. Each token after the first is scored exactly once, in the
    first window that contains it as a new token (earlier tokens of the window are context only:
    label them -100). Return exp(total NLL / number of scored tokens).
    """
    ### BEGIN SOLUTION for each window: labels = ids with already-scored positions set to -100;
    ### loss * n_scored summed; exp(total / count)
    ids = tokenizer(text, return_tensors="pt")["input_ids"].to(model.device)
    n = ids.shape[1]
    total_nll, scored, prev_end = 0.0, 0, 0
    with torch.no_grad():
        for begin in range(0, n, stride):
            end = min(begin + window, n)
            chunk = ids[:, begin:end]
            labels = chunk.clone()
            labels[
                :, : max(prev_end - begin, 1)
            ] = -100  # context only (and the window's first token has no prediction)
            count = int((labels[:, 1:] != -100).sum())
            if count:
                total_nll += model(input_ids=chunk, labels=labels).loss.item() * count
                scored += count
            prev_end = end
            if end == n:
                break
    return math.exp(total_nll / scored)
    ### END SOLUTION


# %%
if __name__ == "__main__":
    import sys

    tokenizer, model = load_generator(
        sys.argv[1] if len(sys.argv) > 1 else "HuggingFaceTB/SmolLM2-135M-Instruct"
    )
    print(chat_reply(model, tokenizer, [{"role": "user", "content": "What is the capital of France?"}], 20))
    print(batch_generate(model, tokenizer, ["Once upon a time", "The three primary colours are"], 12))
    print(perplexity(model, tokenizer, "The quick brown fox jumps over the lazy dog."))
