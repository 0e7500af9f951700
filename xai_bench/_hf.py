"""Hugging Face plumbing under ``Task.from_transformers``: loading, encoding, scorers.

Nothing here builds a Task: these functions return the fields of one, so the task
contract (``task.py``) and the built-in tasks (``tasks/``) both build on this module.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from typing import Any

import numpy as np

from ._deps import require
from ._tokens import special_token_ids
from ._torch import eval_mode, model_dtype_device
from .errors import InvalidInputError

KINDS = ("auto", "classification", "generation")


def _is_path(obj: Any) -> bool:
    return isinstance(obj, str) or hasattr(obj, "__fspath__")


def _kind_of(architectures: list[str]) -> str:
    causal = any("CausalLM" in a or "LMHead" in a for a in architectures)
    return "generation" if causal else "classification"


@contextlib.contextmanager
def _loading(source: Any) -> Iterator[None]:
    """Turn a failed hub/disk load into a found/expected/fix error."""
    try:
        yield
    except (OSError, ValueError) as exc:
        offline = os.environ.get("HF_HUB_OFFLINE") not in (None, "", "0")
        raise InvalidInputError(
            f"could not load {str(source)!r} ({type(exc).__name__}: {str(exc).splitlines()[0]})",
            "a Hugging Face hub name or a local directory written by save_pretrained",
            "Check the name or path"
            + (" (HF_HUB_OFFLINE is set: only cached models load)" if offline else "")
            + ", or pass the loaded model and tokenizer objects.",
        ) from exc


def load(source: Any, tokenizer: Any, texts: Any, kind: str) -> tuple[Any, Any, str, str]:
    """``(model in eval mode, tokenizer, kind, label)`` from objects, hub names or paths."""
    transformers = require("transformers", "text")
    if kind not in KINDS:
        raise InvalidInputError(f"kind={kind!r}", f"one of {KINDS}", "Pick one of them.")
    if _is_path(source):
        label = str(source).rstrip("/").split("/")[-1]
        if tokenizer is None:
            tokenizer = source
        with _loading(source):
            if kind == "auto":
                config = transformers.AutoConfig.from_pretrained(str(source))
                kind = _kind_of(list(config.architectures or []))
            auto = (
                transformers.AutoModelForCausalLM
                if kind == "generation"
                else transformers.AutoModelForSequenceClassification
            )
            model = auto.from_pretrained(str(source))
    else:
        model, label = source, type(source).__name__.lower()
        if kind == "auto":
            kind = _kind_of([type(model).__name__])
    if _is_path(tokenizer):
        with _loading(tokenizer):
            tokenizer = transformers.AutoTokenizer.from_pretrained(str(tokenizer))
    if tokenizer is None or texts is None or isinstance(texts, str):
        raise InvalidInputError(
            f"tokenizer={type(tokenizer).__name__}, texts={type(texts).__name__}",
            "a tokenizer (or a name/path to load it from) and a list of texts",
            "Pass tokenizer=... and texts=[...] (a list, even for one text).",
        )
    model.eval()
    return model, tokenizer, kind, label


def pad_id(tokenizer: Any) -> int:
    """The tokenizer's pad id, else its EOS id (GPT-2 style tokenizers have no pad)."""
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    if pad is None:
        raise InvalidInputError(
            "a tokenizer without pad and eos tokens", "a pad token id", "Set tokenizer.pad_token."
        )
    return int(pad)


def encode(tokenizer: Any, texts: Any, max_length: int | None = None) -> tuple[np.ndarray, dict]:
    """Right-padded ``(n, L)`` int64 ids, plus a record of unknown words and truncation.

    Rows longer than ``max_length`` keep their first tokens, and the tokenizer's own
    truncation keeps its special tokens ([CLS] ... [SEP] stays closed by [SEP]).
    """
    rows = [list(tokenizer(t, add_special_tokens=True)["input_ids"]) for t in texts]
    truncated = [i for i, r in enumerate(rows) if max_length is not None and len(r) > max_length]
    for i in truncated:
        rows[i] = list(
            tokenizer(texts[i], add_special_tokens=True, truncation=True, max_length=max_length)[
                "input_ids"
            ]
        )
    unk = tokenizer.unk_token_id
    words = {w for t in texts for w in t.split()}
    # a word is unknown when the tokenizer maps any piece of it to the unk token
    unknown = sorted(w for w in words if unk in tokenizer(w, add_special_tokens=False)["input_ids"])
    width = max(len(r) for r in rows)
    X = np.full((len(rows), width), pad_id(tokenizer), dtype=np.int64)
    for i, r in enumerate(rows):
        X[i, : len(r)] = r
    record = {
        "unknown_words": unknown,
        "truncation": {"max_length": max_length, "policy": "keep_first", "rows": truncated},
    }
    return X, record


def position_limit(model: Any) -> int | None:
    """The model's maximum sequence length from its config, if it states one."""
    config = getattr(model, "config", None)
    for key in ("n_positions", "max_position_embeddings"):
        value = getattr(config, key, None)
        if isinstance(value, int):
            return value
    return None


def ids_classifier(hf_model: Any, pad_token_id: int) -> Any:
    """Wrap a Hugging Face sequence classifier as a module ``ids (n, L) -> logits``.

    Padding gets attention mask 0, so right-padded rows score like unpadded ones.
    """
    from torch import nn

    class IdsClassifier(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = hf_model
            self.pad_token_id = pad_token_id

        def forward(self, ids: Any) -> Any:
            return self.model(
                input_ids=ids, attention_mask=(ids != self.pad_token_id).long()
            ).logits

    return IdsClassifier()


def module_path(root: Any, target: Any) -> str | None:
    """Attribute path of ``target`` inside ``root`` (e.g. ``"model.bert.embeddings.word_embeddings"``)."""
    return next((n for n, m in root.named_modules() if m is target and n), None)


def classification_fields(
    model: Any,
    tokenizer: Any,
    texts: Any,
    *,
    max_length: int | None = None,
    background_texts: Any = None,
) -> dict[str, Any]:
    """Task fields for a sequence classifier over ``texts``; ``model`` is the ids module."""
    texts = [str(t) for t in texts]
    if not texts or any(not t.split() for t in texts):
        raise InvalidInputError(
            f"texts {texts[:4]!r}", "non-empty strings", "Remove empty or blank texts."
        )
    pad = pad_id(tokenizer)
    limit = max_length or position_limit(model)
    X, record = encode(tokenizer, texts, limit)
    module = ids_classifier(model, pad)
    id2label = getattr(model.config, "id2label", None) or {}
    background = None if background_texts is None else encode(tokenizer, background_texts, limit)[0]
    return {
        "X": X,
        "model": module,
        "background": background,
        "class_names": tuple(str(id2label[i]) for i in sorted(id2label)) or None,
        "tokenizer": tokenizer,
        "pad_token_id": pad,
        "mask_token_id": tokenizer.mask_token_id,
        "meta": {
            **record,
            "embedding_layer": module_path(module, model.get_input_embeddings()),
            "model_output": "logits",
        },
    }


def next_token_scorer(model: Any, pad_token_id: int, batch_size: int = 256) -> Any:
    """``prefixes (n, L) -> (n, vocab)`` next-token probabilities after each row's last token."""
    import torch

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


def generation_fields(
    model: Any,
    tokenizer: Any,
    prompts: Any,
    *,
    max_new_tokens: int = 4,
    truncation: str = "left",
    meta: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Task fields for a causal LM: generate greedily and turn every step into a unit.

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

    prompts = [str(p) for p in prompts]
    if not prompts or any(not p.strip() for p in prompts):
        raise InvalidInputError(
            f"prompts {prompts[:4]!r}", "non-empty prompt strings", "Remove empty prompts."
        )
    pad = pad_id(tokenizer)
    limit = position_limit(model)
    room = None if limit is None else limit - max_new_tokens
    encoded, truncated = [], []
    closing = set(special_token_ids(tokenizer).tolist())
    for i, p in enumerate(prompts):
        ids = list(tokenizer(p)["input_ids"])
        while len(ids) > 1 and ids[-1] in closing:  # a prompt goes on: no EOS (or [SEP]) at its end
            ids.pop()
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
            seq = list(ids)
            for step in range(max_new_tokens):
                logits = model(input_ids=torch.tensor([seq])).logits[0, -1]
                token = int(logits.argmax())
                if token in special:
                    break
                prefixes.append(list(seq))
                targets.append(token)
                units.append((i, step))
                seq.append(token)
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
    return {
        "X": X,
        "predict_proba": next_token_scorer(model, pad),
        "y": np.array(targets, dtype=np.int64),
        "model": model,
        "tokenizer": tokenizer,
        "pad_token_id": pad,
        "mask_token_id": tokenizer.mask_token_id,
        "meta": {
            "units": units,
            "prompts": prompts,
            "prompt_ids": encoded,
            "generated_texts": generated,
            "max_new_tokens": max_new_tokens,
            "position_limit": limit,
            "truncation": {"policy": truncation, "rows": truncated},
            **(meta or {}),
        },
    }
