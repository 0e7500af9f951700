"""Token ids of text and generation tasks: which ones are features, and checks at entry.

Special tokens that a tokenizer adds around a text ([CLS]/[SEP], BOS/EOS, ...) are
not features: like padding they are never attributed, ranked or removed. The unknown
and mask tokens are not special in that sense (an unknown word, a masked word).
"""

from __future__ import annotations

import contextlib
from typing import Any

import numpy as np

from .errors import InvalidInputError

__all__ = ["check_token_ids", "special_token_ids"]


def special_token_ids(tokenizer: Any) -> np.ndarray:
    """The ids of the tokenizer's special tokens, except unknown and mask."""
    ids = set(getattr(tokenizer, "all_special_ids", None) or ())
    ids -= {getattr(tokenizer, "unk_token_id", None), getattr(tokenizer, "mask_token_id", None)}
    return np.array(sorted(i for i in ids if i is not None), dtype=np.int64)


def vocab_size(task: Any) -> int | None:
    """Ids must be below this: the tokenizer's size, else the model's input embedding's."""
    if task.tokenizer is not None:
        with contextlib.suppress(TypeError):  # HF: base vocabulary plus added tokens
            return len(task.tokenizer)
    embeddings = getattr(task.model, "get_input_embeddings", None)
    size = getattr(embeddings(), "num_embeddings", None) if callable(embeddings) else None
    return int(size) if size is not None else None


def check_token_ids(task: Any) -> None:
    """Refuse token-id inputs that are not integer ids of the vocabulary, or empty rows."""
    size = vocab_size(task)
    for label, ids in (("X", task.X), ("background", task.background)):
        if ids is None:
            continue
        arr = np.asarray(ids)
        if arr.ndim != 2 or arr.dtype.kind not in "iu":
            raise InvalidInputError(
                f"task {task.name!r}: {label} of dtype {arr.dtype} and shape {arr.shape}",
                "integer token ids shaped (n_texts, length)",
                f"Pass the tokenizer's input_ids, e.g. {label}=np.asarray(ids, dtype=np.int64).",
            )
        bad = (arr < 0) | (arr >= size) if size is not None else arr < 0
        if bad.any():
            row, col = np.argwhere(bad)[0]
            raise InvalidInputError(
                f"task {task.name!r}: {label}[{row}, {col}] = {arr[row, col]}"
                f" ({int(bad.sum())} ids out of range)",
                "token ids in [0, vocabulary size" + (f" {size})" if size is not None else ")"),
                "Encode the texts with the task's own tokenizer (Task.from_transformers does).",
            )
    empty = np.flatnonzero(~task.valid_mask(task.X).any(axis=1))
    if len(empty):
        raise InvalidInputError(
            f"task {task.name!r}: rows {empty[:8].tolist()} hold only padding or special tokens",
            "at least one real token per row (padding and [CLS]/[SEP]/BOS/EOS are not features)",
            "Drop empty texts before building the task.",
        )
