"""Built-in image and text tasks: shapes, accuracy, ground truth, determinism, caching."""

from __future__ import annotations

import numpy as np
import pytest

import xai_bench as xb
from xai_bench.tasks import text as text_tasks
from xai_bench.tasks.image import digits_cnn

pytest.importorskip("torch")
pytest.importorskip("transformers")


@pytest.fixture(scope="session")
def digits():
    return xb.load_task("digits.cnn")


@pytest.fixture(scope="session")
def sentiment():
    return xb.load_task("sentiment.transformer")


@pytest.fixture(scope="session")
def tfidf():
    return xb.load_task("sentiment.tfidf")


def test_tasks_are_listed():
    for name in ("digits.cnn", "sentiment.transformer", "sentiment.tfidf"):
        assert name in xb.list_tasks()


def test_digits_task(digits):
    assert digits.modality is xb.Modality.IMAGE
    assert digits.X.shape[1:] == (1, 8, 8) and digits.X.dtype == np.float64
    assert digits.X.min() == 0.0 and digits.X.max() == 1.0
    assert digits.meta["accuracy"] > 0.93
    assert digits.predict(digits.X[:5]).shape == (5, 10)
    np.testing.assert_array_equal(digits.removal_value(), np.zeros((1, 8, 8)))


def test_digits_rebuild_from_the_disk_cache_is_identical(digits):
    digits_cnn.cache_clear()
    again = digits_cnn()
    assert again is not digits
    np.testing.assert_array_equal(again.predict(again.X[:20]), digits.predict(digits.X[:20]))


def test_text_task_layout(sentiment):
    t = sentiment
    assert t.modality is xb.Modality.TEXT and t.X.dtype == np.int64
    assert (
        t.pad_token_id == t.tokenizer.pad_token_id and t.mask_token_id == t.tokenizer.mask_token_id
    )
    valid = t.valid_mask(t.X)
    # right padding: once padding starts it never stops
    assert not (np.diff(valid.astype(int), axis=1) > 0).any()
    assert t.ground_truth.shape == t.X.shape and not (t.ground_truth & ~valid).any()
    words = set(text_tasks.POSITIVE) | set(text_tasks.NEGATIVE)
    tokens = t.tokenizer.convert_ids_to_tokens(t.X[t.ground_truth].tolist())
    assert set(tokens) <= words
    # every sentence has evidence, and evidence words appear nowhere else
    assert t.ground_truth.any(axis=1).all()
    others = t.tokenizer.convert_ids_to_tokens(t.X[valid & ~t.ground_truth].tolist())
    assert not set(others) & words
    assert t.meta["accuracy"] > 0.95 and t.meta["embedding_layer"] == "embedding"


def test_texts_round_trip(sentiment):
    texts = sentiment.texts(sentiment.X[:30])
    X, record = text_tasks.encode(sentiment.tokenizer, texts)
    np.testing.assert_array_equal(X, sentiment.X[:30, : X.shape[1]])
    assert record["unknown_words"] == []


def test_encode_records_unknown_words_and_truncation(sentiment):
    X, record = text_tasks.encode(sentiment.tokenizer, ["the zorblax was good", "the movie"], 3)
    assert record["unknown_words"] == ["zorblax"]
    assert record["truncation"]["rows"] == [0] and X.shape == (2, 3)
    assert X[0, 1] == sentiment.tokenizer.unk_token_id


@pytest.mark.parametrize("name", ["sentiment.transformer", "sentiment.tfidf"])
def test_masking_evidence_hurts_more_than_masking_filler(name, sentiment, tfidf):
    t = {"sentiment.transformer": sentiment, "sentiment.tfidf": tfidf}[name]
    X, truth = t.X[:100], t.ground_truth[:100]
    rng = np.random.default_rng(0)
    filler = np.zeros_like(truth)
    for i, row in enumerate(t.valid_mask(X) & ~truth):  # as many filler words as evidence words
        filler[i, rng.choice(np.flatnonzero(row), truth[i].sum(), replace=False)] = True
    p = t.predict(X)[np.arange(100), t.y[:100]]
    drop_ev = p - t.predict(np.where(truth, t.mask_token_id, X))[np.arange(100), t.y[:100]]
    drop_fill = p - t.predict(np.where(filler, t.mask_token_id, X))[np.arange(100), t.y[:100]]
    assert (drop_ev > drop_fill).mean() > 0.9


def test_tfidf_task_wraps_the_pipeline(tfidf, sentiment):
    from sklearn.pipeline import Pipeline

    assert isinstance(tfidf.model, Pipeline) and tfidf.is_sklearn
    np.testing.assert_array_equal(tfidf.X, sentiment.X)
    texts = tfidf.texts(tfidf.X[:10])
    np.testing.assert_allclose(tfidf.predict(tfidf.X[:10]), tfidf.model.predict_proba(texts))
    assert tfidf.meta["accuracy"] > 0.95


def test_missing_text_extra_names_it(monkeypatch):
    import sys

    from xai_bench.errors import MissingDependencyError

    monkeypatch.setitem(sys.modules, "tokenizers", None)
    with pytest.raises(MissingDependencyError, match=r"xai-bench\[text\]"):
        text_tasks.build_tokenizer(["a b"])
