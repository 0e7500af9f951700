"""Word -> model-token alignment for word-level explainers."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

import xai_bench as xb
from xai_bench.adapters._text import row_texts, spans_to_tokens, texts_to_ids


@pytest.fixture(scope="module")
def task():
    return xb.load_task("sentiment.tfidf")


def test_round_trip_and_offsets(task):
    X = task.X[:5]
    rows = row_texts(task, X)
    ids = texts_to_ids(task, [r.text for r in rows], X.shape[1])
    np.testing.assert_array_equal(ids, X)
    for r, toks in zip(rows, task.token_strings(X), strict=True):
        assert [r.text[s:e] for s, e in r.spans] == toks


def test_spans_map_to_token_positions_and_split_evenly(task):
    X = task.X[:1]
    (row,) = row_texts(task, X)
    s0, e0 = row.spans[0]
    s1, e1 = row.spans[1]
    out = spans_to_tokens(row, [(s1, e1, 2.0), (s0, e1, 1.0)], X.shape[1])
    assert out[0] == pytest.approx(0.5) and out[1] == pytest.approx(2.5)
    assert out[2:].sum() == 0


def test_unknown_tokens_recorded_and_empty_rows_rejected(task):
    X = task.X[:2].copy()
    X[0, 1] = task.tokenizer.unk_token_id
    rows = row_texts(task, X)
    assert rows[0].unknown == [1] and rows[1].unknown == []
    X[1] = task.pad_token_id
    with pytest.raises(xb.InvalidInputError, match="row 1 has no tokens"):
        row_texts(task, X)


def test_tokenizer_that_does_not_round_trip_is_a_skip(task):
    class Lossy:
        """Decodes to upper case, which the word-level vocabulary does not know."""

        def __getattr__(self, name):
            return getattr(task.tokenizer, name)

        def decode(self, ids, **kw):
            return task.tokenizer.decode(ids, **kw).upper()

        def __call__(self, *a, **kw):
            return task.tokenizer(*a, **kw)

    lossy = dataclasses.replace(task, tokenizer=Lossy())
    with pytest.raises(xb.IncompatibleError, match="re-tokenizes"):
        row_texts(lossy, task.X[:1])


def test_tokenizer_without_offsets_is_a_skip(task):
    class Slow:
        def __getattr__(self, name):
            return getattr(task.tokenizer, name)

        def __call__(self, *a, return_offsets_mapping=False, **kw):
            if return_offsets_mapping:
                raise NotImplementedError("return_offset_mapping is not available")
            return task.tokenizer(*a, **kw)

    slow = dataclasses.replace(task, tokenizer=Slow())
    with pytest.raises(xb.IncompatibleError, match="fast tokenizer"):
        xb.get_explainer("lime.text").explain(slow, task.X[:1])
