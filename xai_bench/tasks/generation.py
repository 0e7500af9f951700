"""Generation tasks: a causal LM continues prompts; each generated step is one unit.

A unit is (sequence, step): its features are the prefix tokens (prompt plus the tokens
generated before that step) and its target is the next token the model generated
greedily. ``X`` holds one right-padded prefix per unit, ``y`` the generated token,
and ``predict_proba`` returns the next-token distribution after the last real prefix
token, so deletion and insertion score generation like classification. A BOS the
tokenizer adds starts every prefix: the model reads it, but it is not a feature
(``Task.valid_mask``), so it is never attributed, ranked or removed.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from .._deps import require
from .._hf import generation_fields
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
    """A generation task: see :func:`xai_bench._hf.generation_fields` for the parameters."""
    fields = generation_fields(
        model, tokenizer, prompts, max_new_tokens=max_new_tokens, truncation=truncation, meta=meta
    )
    return Task(name=name, modality=Modality.GENERATION, **fields)


@cache
def tiny_gpt() -> Task:
    """A 2-layer, 32-dim GPT-2 trained on the sentiment corpus, continuing six prompts."""
    require("torch", "torch")
    require("transformers", "text")
    import torch
    from transformers import GPT2Config, GPT2LMHeadModel

    from .._hf import encode
    from .text import build_tokenizer, sentiment_corpus

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

    model = cached_torch("tiny_gpt", build, fit)  # weights unchanged since v1
    # version 2: [BOS] is not a feature (v1 attributed, ranked and removed it)
    return causal_lm_task(
        model, tok, PROMPTS, name="generation.tiny_gpt", max_new_tokens=3, meta={"version": 2}
    )
