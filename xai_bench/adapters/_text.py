"""Word-level explainers on token-id tasks: texts in, weights aligned back to model tokens.

Word-level methods (LIME-text, ELI5's TextExplainer, SHAP's text masker) perturb
strings and weight character spans. Each row's feature tokens are decoded to text and
re-tokenized with character offsets (the round trip must give back the same ids);
a word's weight then goes to the model token positions its characters cover, split
evenly when a word spans several tokens. Padding gets 0 and is masked. The special
tokens around a row ([CLS] ... [SEP], BOS ... EOS) are not in the text: every
perturbed text gets the row's own ones back, so they are never removed or attributed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import IncompatibleError, InvalidInputError
from ..task import Task


@dataclass(frozen=True)
class TokenText:
    """One row as text: ``spans[k]`` is the character span of model token ``positions[k]``.

    ``prefix`` and ``suffix`` are the special token ids before and after the text.
    """

    text: str
    positions: np.ndarray
    spans: list[tuple[int, int]]
    unknown: list[int]
    prefix: tuple[int, ...] = ()
    suffix: tuple[int, ...] = ()


def content_tokenizer(tokenizer: Any) -> Callable[..., Any]:
    """The tokenizer without its special tokens, for maskers that re-tokenize a row's text."""

    def tokenize(text: Any, **kwargs: Any) -> Any:
        return tokenizer(text, **{**kwargs, "add_special_tokens": False})

    return tokenize


def row_texts(task: Task, X: np.ndarray) -> list[TokenText]:
    """Decode each row's feature tokens to text and locate every token in it by offsets."""
    tok = task.tokenizer
    valid = task.valid_mask(X)
    pad = task.pad_token_id
    unk = getattr(tok, "unk_token_id", None)
    out = []
    for i, (row, keep) in enumerate(zip(np.asarray(X), valid, strict=True)):
        positions = np.flatnonzero(keep)
        ids = [int(t) for t in row[positions]]
        if not ids:
            raise InvalidInputError(
                f"row {i} has no tokens (only padding or special tokens)",
                "at least one token per text",
                "Drop empty or punctuation-only texts before explaining.",
            )
        first, last = positions[0], positions[-1]
        if len(positions) != last - first + 1:
            raise IncompatibleError(
                f"word-level method needs one text per row; row {i} has padding or special "
                f"tokens between its words (positions {first}..{last})"
            )
        present = row != pad if pad is not None else np.ones(len(row), dtype=bool)
        prefix = tuple(int(t) for t in row[:first][present[:first]])
        suffix = tuple(int(t) for t in row[last + 1 :][present[last + 1 :]])
        text = tok.decode(ids, skip_special_tokens=False, clean_up_tokenization_spaces=False)
        try:
            enc = tok(text, add_special_tokens=False, return_offsets_mapping=True)
        except NotImplementedError as exc:  # slow (Python) tokenizers have no offsets
            raise IncompatibleError(
                f"word-level method needs a fast tokenizer with character offsets ({exc})"
            ) from exc
        if list(enc["input_ids"]) != ids:
            raise IncompatibleError(
                "word-level method needs a tokenizer whose decoded text re-tokenizes to the same "
                f"ids (row {i}: {ids[:8]} -> {list(enc['input_ids'])[:8]})"
            )
        unknown = [int(p) for p, t in zip(positions, ids, strict=True) if t == unk]
        spans = [(int(a), int(b)) for a, b in enc["offset_mapping"]]
        out.append(TokenText(text, positions, spans, unknown, prefix, suffix))
    return out


def texts_to_ids(
    task: Task, texts: Iterable[str], length: int, row: TokenText | None = None
) -> np.ndarray:
    """Tokenize perturbed texts into ``(n, length)`` ids, right-padded (truncated past it).

    Each text is placed between ``row``'s special tokens, as the original row was. A text
    with every word removed becomes one mask token: all-padding rows are not valid inputs
    for most models (masked pooling over nothing gives NaN).
    """
    tok = task.tokenizer
    pad = task.pad_token_id if task.pad_token_id is not None else tok.pad_token_id
    empty = [task.mask_token_id if task.mask_token_id is not None else tok.unk_token_id]
    prefix, suffix = (list(row.prefix), list(row.suffix)) if row is not None else ([], [])
    room = length - len(prefix) - len(suffix)
    rows = tok(list(texts), add_special_tokens=False)["input_ids"]
    out = np.full((len(rows), length), pad, dtype=np.int64)
    for i, r in enumerate(rows):
        r = [*prefix, *(r[:room] or empty), *suffix]
        out[i, : len(r)] = r
    return out


def text_scorer(
    task: Task, scorer: Callable[[Any], Any], length: int, row: TokenText | None = None
) -> Callable[[Any], Any]:
    """A strings-in probabilities-out scorer over the task's (counted) scorer, for ``row``."""

    def predict(texts: Any) -> np.ndarray:
        return np.asarray(scorer(texts_to_ids(task, texts, length, row)))

    return predict


def spans_to_tokens(
    row: TokenText, spans: Iterable[tuple[int, int, float]], length: int
) -> np.ndarray:
    """Weights on character spans -> weights on the row's model token positions."""
    out = np.zeros(length)
    starts = np.array([s for s, _ in row.spans])
    ends = np.array([e for _, e in row.spans])
    for start, end, weight in spans:
        hit = np.flatnonzero((starts < end) & (ends > start))
        if len(hit):
            out[row.positions[hit]] += weight / len(hit)
    return out


def alignment_meta(rows: list[TokenText]) -> dict[str, Any]:
    """What to record: unknown-token positions per row, and how words were aligned."""
    return {
        "alignment": "words mapped to model tokens by character offsets",
        "unknown_token_positions": [r.unknown for r in rows],
    }
