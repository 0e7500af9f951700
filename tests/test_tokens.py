"""Token ids are checked where a text or generation task is built (xai_bench/_tokens.py)."""

from __future__ import annotations

import numpy as np
import pytest

import xai_bench as xb
from xai_bench.errors import InvalidInputError
from xai_bench.tasks.text import build_tokenizer


@pytest.fixture(scope="module")
def tok():
    pytest.importorskip("transformers")
    return build_tokenizer(["the movie was good", "what a dull film"])


def _task(tok, X, modality="text", **kw):
    return xb.Task(
        name="ids", modality=modality, X=X, predict_proba=lambda b: np.full((len(b), 2), 0.5),
        tokenizer=tok, pad_token_id=tok.pad_token_id, mask_token_id=tok.mask_token_id, **kw,
    )  # fmt: skip


def _ids(tok, *texts):
    rows = [tok(t)["input_ids"] for t in texts]
    X = np.full((len(rows), max(map(len, rows))), tok.pad_token_id, dtype=np.int64)
    for i, r in enumerate(rows):
        X[i, : len(r)] = r
    return X


@pytest.mark.parametrize("modality", ["text", "generation"])
def test_float_token_ids_are_refused(tok, modality):
    X = _ids(tok, "the movie was good").astype(np.float64)
    with pytest.raises(InvalidInputError, match=r"X of dtype float64.*integer token ids.*int64"):
        _task(tok, X, modality)
    with pytest.raises(InvalidInputError, match="background of dtype float64"):
        _task(tok, X.astype(np.int64), modality, background=X)


@pytest.mark.parametrize("bad", [-1, "vocab"])
def test_out_of_vocabulary_ids_are_refused(tok, bad):
    X = _ids(tok, "the movie was good", "what a dull film")
    X[1, 2] = len(tok) if bad == "vocab" else bad
    value = X[1, 2]
    with pytest.raises(InvalidInputError) as err:
        _task(tok, X)
    msg = str(err.value)
    assert f"X[1, 2] = {value}" in msg and f"[0, vocabulary size {len(tok)})" in msg
    X[1, 2] = len(tok) - 1  # the largest id is fine
    assert _task(tok, X).X.shape == X.shape


def test_rows_of_only_padding_are_refused_at_construction(tok):
    X = _ids(tok, "the movie was good", "what a dull film")
    X[1] = tok.pad_token_id
    with pytest.raises(InvalidInputError, match=r"rows \[1\] hold only padding or special tokens"):
        _task(tok, X)


def test_rows_of_only_special_tokens_are_refused(special_token_tasks):
    task = special_token_tasks["wordpiece"]
    tok = task.tokenizer
    X = task.X.copy()
    X[2] = tok.pad_token_id
    X[2, :2] = [tok.cls_token_id, tok.sep_token_id]  # what an empty text encodes to
    with pytest.raises(InvalidInputError, match=r"rows \[2\] hold only padding or special"):
        _task(tok, X)
    # unknown and mask tokens are not special: a row of them is a row of (unknown) words
    X[2, 1:3] = [tok.unk_token_id, tok.sep_token_id]
    assert _task(tok, X).valid_mask(X)[2].tolist()[:3] == [False, True, False]
