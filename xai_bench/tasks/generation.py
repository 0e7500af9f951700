"""Generation tasks: a causal LM continues prompts; each generated step is one unit.

A unit is (sequence, step): its features are the prefix tokens (prompt plus the tokens
generated before that step) and its target is the next token the model generated
greedily. ``X`` holds one right-padded prefix per unit, ``y`` the generated token,
and ``predict_proba`` returns the next-token distribution after the last real prefix
token, so deletion and insertion score generation like classification.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import numpy as np

from .._deps import require
from ..errors import InvalidInputError
from ..task import Modality, Task
from ._cache import cached_torch

SEED = 0
PROMPTS = (
    "the movie was",
    "i think this film is really",
    "honestly the plot felt",
    "my friend said the book is",
    "what a",
    "overall a",
)


def next_token_scorer(model: Any, pad_token_id: int, batch_size: int = 256) -> Any:
    """``prefixes (n, L) -> (n, vocab)`` next-token probabilities after each row's last token."""
    import torch

    from ..adapters._torch import eval_mode, model_dtype_device

    limit = position_limit(model)

    def predict_proba(prefixes: Any) -> np.ndarray:
        ids = torch.as_tensor(np.asarray(prefixes, dtype=np.int64))
        _, device = model_dtype_device(model)
        keep = ids != pad_token_id
        last = keep.long().cumsum(1).argmax(1)  # index of the last real token
        width = int(last.max()) + 1 if len(ids) else 0
        ids, keep = ids[:, :width], keep[:, :width]  # trailing padding is not input
        if limit is not None and width > limit:
            raise InvalidInputError(
                f"prefixes of {width} tokens",
                f"at most the model's position limit of {limit} tokens",
                "Truncate the prompts (Task.from_transformers and causal_lm_task do it, "
                "recording meta['truncation']).",
            )
        outs = []
        with eval_mode(model), torch.no_grad():
            for s in range(0, len(ids), batch_size):
                chunk, m = ids[s : s + batch_size].to(device), keep[s : s + batch_size].to(device)
                logits = model(input_ids=chunk, attention_mask=m.long()).logits
                rows = torch.arange(len(chunk), device=device)
                outs.append(logits[rows, last[s : s + batch_size].to(device)].float().softmax(-1))
        return torch.cat(outs).cpu().double().numpy()

    return predict_proba


def position_limit(model: Any) -> int | None:
    config = getattr(model, "config", None)
    for key in ("n_positions", "max_position_embeddings"):
        value = getattr(config, key, None)
        if isinstance(value, int):
            return value
    return None


def causal_lm_task(
    model: Any,
    tokenizer: Any,
    prompts: Any,
    *,
    name: str = "generation",
    max_new_tokens: int = 4,
    truncation: str = "left",
    meta: dict[str, Any] | None = None,
) -> Task:
    """Generate greedily from ``prompts`` and turn every step into a unit.

    Parameters
    ----------
    model : transformers causal LM
    tokenizer : Hugging Face tokenizer (its special tokens end a generation)
    prompts : list of str
    max_new_tokens : int
        Steps per prompt; generation also stops at any special token (EOS, ...).
    truncation : {"left", "error"}
        Prompts that would run past the model's position limit keep their last tokens
        ("left", recorded in ``meta["truncation"]``) or raise.
    """
    import torch

    from ..adapters._torch import eval_mode

    prompts = [str(p) for p in prompts]
    if not prompts or any(not p.strip() for p in prompts):
        raise InvalidInputError(
            f"prompts {prompts[:4]!r}", "non-empty prompt strings", "Remove empty prompts."
        )
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    limit = position_limit(model)
    room = None if limit is None else limit - max_new_tokens
    encoded, truncated = [], []
    for i, p in enumerate(prompts):
        ids = list(tokenizer(p)["input_ids"])
        if room is not None and len(ids) > room:
            if truncation != "left":
                raise InvalidInputError(
                    f"prompt {i} has {len(ids)} tokens; with {max_new_tokens} new tokens that "
                    f"exceeds the model's position limit {limit}",
                    f"at most {room} prompt tokens",
                    "Shorten the prompt, lower max_new_tokens, or pass truncation='left'.",
                )
            ids = ids[len(ids) - room :]
            truncated.append(i)
        encoded.append(ids)
    special = set(tokenizer.all_special_ids)
    prefixes, targets, units, generated = [], [], [], []
    with eval_mode(model), torch.no_grad():
        for i, ids in enumerate(encoded):
            seq, new = list(ids), []
            for step in range(max_new_tokens):
                logits = model(input_ids=torch.tensor([seq])).logits[0, -1]
                token = int(logits.argmax())
                if token in special:
                    break
                prefixes.append(list(seq))
                targets.append(token)
                units.append((i, step))
                seq.append(token)
                new.append(token)
            generated.append(tokenizer.decode(seq, skip_special_tokens=True))
    if not units:
        raise InvalidInputError(
            "the model generated no non-special token for any prompt",
            "at least one generated step",
            "Use other prompts or a model that continues them.",
        )
    width = max(len(p) for p in prefixes)
    X = np.full((len(prefixes), width), pad, dtype=np.int64)
    for r, p in enumerate(prefixes):
        X[r, : len(p)] = p
    return Task(
        name=name,
        modality=Modality.GENERATION,
        X=X,
        predict_proba=next_token_scorer(model, pad),
        y=np.array(targets, dtype=np.int64),
        model=model,
        tokenizer=tokenizer,
        pad_token_id=pad,
        mask_token_id=tokenizer.mask_token_id,
        meta={
            "units": units,
            "prompts": prompts,
            "prompt_ids": encoded,
            "generated_texts": generated,
            "max_new_tokens": max_new_tokens,
            "position_limit": limit,
            "truncation": {"policy": truncation, "rows": truncated},
            **(meta or {}),
        },
    )


@cache
def tiny_gpt() -> Task:
    """A 2-layer, 32-dim GPT-2 trained on the sentiment corpus, continuing six prompts."""
    require("torch", "torch")
    require("transformers", "text")
    import torch
    from transformers import GPT2Config, GPT2LMHeadModel

    from .text import build_tokenizer, encode, sentiment_corpus

    corpus = sentiment_corpus()
    tok = build_tokenizer(corpus.texts, add_bos=True)
    config = GPT2Config(
        vocab_size=len(tok), n_positions=32, n_embd=32, n_layer=2, n_head=2,
        bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id,
        pad_token_id=tok.pad_token_id, tie_word_embeddings=False,  # safetensors: no shared tensors
    )  # fmt: skip

    def build() -> Any:
        torch.manual_seed(SEED)
        return GPT2LMHeadModel(config)

    def fit(model: Any) -> None:
        torch.manual_seed(SEED)
        X, _ = encode(tok, [f"{t} {tok.eos_token}" for t in corpus.texts[:600]])
        ids = torch.tensor(X)
        mask = (ids != tok.pad_token_id).long()
        labels = ids.masked_fill(mask == 0, -100)
        opt = torch.optim.Adam(model.parameters(), lr=5e-3)
        gen = torch.Generator().manual_seed(SEED)
        model.train()
        for _ in range(8):
            for idx in torch.randperm(len(ids), generator=gen).split(32):
                opt.zero_grad()
                out = model(input_ids=ids[idx], attention_mask=mask[idx], labels=labels[idx])
                out.loss.backward()
                opt.step()

    model = cached_torch("tiny_gpt", build, fit)
    return causal_lm_task(model, tok, PROMPTS, name="generation.tiny_gpt", max_new_tokens=3)
