"""LIME adapters: seeding, target column, background as training data."""

from __future__ import annotations

import numpy as np
import pytest

import xai_bench as xb

pytest.importorskip("lime")


@pytest.fixture(scope="module")
def mlp():
    return xb.load_task("breast_cancer.mlp")


def test_lime_tabular_seeded_per_call(mlp):
    X = mlp.X[:3]
    a = xb.get_explainer("lime.tabular", n_samples=300, seed=3).explain(mlp, X)
    b = xb.get_explainer("lime.tabular", n_samples=300, seed=3).explain(mlp, X)
    c = xb.get_explainer("lime.tabular", n_samples=300, seed=4).explain(mlp, X)
    np.testing.assert_array_equal(a.attributions, b.attributions)
    assert not np.allclose(a.attributions, c.attributions)
    # calling the same configured explainer twice gives the same numbers (LIME alone does not)
    e = xb.get_explainer("lime.tabular", n_samples=300, seed=3)
    np.testing.assert_array_equal(e.explain(mlp, X).attributions, e.explain(mlp, X).attributions)
    # and a row's weights do not depend on the rest of the batch
    np.testing.assert_array_equal(e.explain(mlp, X[2:3]).attributions[0], a.attributions[2])
    assert a.meta["seed"] == 3 and a.meta["model_calls"] == 3


def test_lime_tabular_explains_the_requested_column(mlp):
    # p0 = 1 - p1 and LIME's ridge is linear in y: the two columns' weights are opposite
    X = mlp.X[:2]
    e = xb.get_explainer("lime.tabular", n_samples=300)
    w0 = e.explain(mlp, X, targets=0).attributions
    w1 = e.explain(mlp, X, targets=1).attributions
    assert np.abs(w1).max() > 1e-3
    np.testing.assert_allclose(w0, -w1, atol=1e-6)
    assert set(e.explain(mlp, X, targets=0).targets) == {0}


def test_lime_image_superpixels_on_digits():
    task = xb.load_task("digits.cnn")
    X = task.X[:2]
    e = xb.get_explainer("lime.image", n_samples=200).explain(task, X)
    assert all(4 <= k <= 16 for k in e.meta["superpixels"])  # slic works at 8x8
    # pixels of one superpixel share one weight: few distinct values per image
    for a, k in zip(e.attributions, e.meta["superpixels"], strict=True):
        assert 1 < len(np.unique(a)) <= k
    again = xb.get_explainer("lime.image", n_samples=200).explain(task, X)
    np.testing.assert_array_equal(e.attributions, again.attributions)
    other = xb.get_explainer("lime.image", n_samples=200, seed=1).explain(task, X)
    assert not np.allclose(e.attributions, other.attributions)
    assert e.meta["model_calls"] == 2  # one batched call per image, not LIME's batches of 10


@pytest.mark.parametrize("task_id", ["sentiment.tfidf", "sentiment.transformer"])
def test_lime_text_weights_land_on_the_evidence_tokens(task_id):
    task = xb.load_task(task_id)
    X = task.X[:6]
    e = xb.get_explainer("lime.text", n_samples=300).explain(task, X)
    valid = task.valid_mask(X)
    np.testing.assert_array_equal(e.mask, valid)
    assert np.all(e.attributions[~valid] == 0)  # padding carries nothing
    top = np.where(valid, e.attributions, -np.inf).argmax(1)
    assert task.ground_truth[np.arange(6), top].mean() >= 5 / 6
    assert e.meta["unknown_token_positions"] == [[]] * 6
    assert e.meta["removal"] == "word -> [MASK]"
