"""Controls: the seeded random explainer and the ground-truth oracle."""

from __future__ import annotations

import numpy as np
import pytest

import xai_bench as xb


@pytest.fixture(scope="module")
def linear():
    return xb.load_task("synthetic.linear")


def test_random_is_seeded_standard_normal(linear):
    X = linear.X[:200]
    a = xb.get_explainer("random", seed=3).explain(linear, X)
    b = xb.get_explainer("random", seed=3).explain(linear, X)
    c = xb.get_explainer("random", seed=4).explain(linear, X)
    np.testing.assert_array_equal(a.attributions, b.attributions)
    assert not np.allclose(a.attributions, c.attributions)
    m = a.attributions.size  # within 4 standard errors of N(0, 1)'s mean and deviation
    assert abs(a.attributions.mean()) < 4 / m**0.5
    assert abs(a.attributions.std() - 1) < 4 / (2 * m) ** 0.5
    assert a.meta["seed"] == 3 and a.meta["model_calls"] == 0  # it never asks the model


def test_random_hits_the_evidence_at_chance_rate(linear):
    # P(top-3 of 8 = the 3 evidence features) = 1 / C(8, 3) = 1/56 for a random ranking
    e = xb.get_explainer("random").explain(linear, linear.X)
    top = np.argsort(-np.abs(e.attributions), axis=1)[:, :3]
    hits = np.take_along_axis(linear.ground_truth, top, axis=1).all(1).mean()
    assert hits < 0.08


def test_oracle_is_the_ground_truth(linear):
    e = xb.get_explainer("oracle").explain(linear, linear.X[5:9])
    np.testing.assert_array_equal(e.attributions, linear.ground_truth[5:9].astype(float))
    text = xb.load_task("sentiment.tfidf")
    e = xb.get_explainer("oracle").explain(text, text.X[10:14])
    np.testing.assert_array_equal(e.attributions, text.ground_truth[10:14].astype(float))
    np.testing.assert_array_equal(e.mask, text.valid_mask(text.X[10:14]))


def test_oracle_needs_ground_truth_and_task_rows(linear):
    mlp = xb.load_task("breast_cancer.mlp")
    with pytest.raises(xb.IncompatibleError, match="ground truth"):
        xb.get_explainer("oracle").explain(mlp, mlp.X[:2])
    text = xb.load_task("sentiment.tfidf")
    X = text.X[:2].copy()
    X[0, 0] = text.mask_token_id  # a row the task does not know: its evidence is unknown
    with pytest.raises(xb.InvalidInputError, match="not among the task's samples"):
        xb.get_explainer("oracle").explain(text, X)
