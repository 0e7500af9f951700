"""ELI5 adapters: weights vs closed forms, unsupported estimators as skips, text alignment."""

from __future__ import annotations

import numpy as np
import pytest

import xai_bench as xb

pytest.importorskip("eli5")


@pytest.fixture(scope="module")
def wine():
    from sklearn.datasets import load_wine
    from sklearn.preprocessing import StandardScaler

    X, y = load_wine(return_X_y=True)
    return StandardScaler().fit_transform(X), y


def test_linear_weights_are_w_times_x_with_bias_apart(wine):
    from sklearn.linear_model import LogisticRegression

    X, y = wine
    clf = LogisticRegression().fit(X, y == 0)
    task = xb.Task.from_sklearn(clf, X[:20])
    e = xb.get_explainer("eli5.explain_prediction").explain(task, X[:4])
    sign = np.where(e.targets == 1, 1.0, -1.0)[:, None]
    np.testing.assert_allclose(e.attributions, sign * clf.coef_[0] * X[:4], atol=1e-10)
    np.testing.assert_allclose(e.meta["base_values"], sign[:, 0] * clf.intercept_[0])
    assert e.meta["output_space"] == "log_odds"


def test_tree_contributions_sum_to_log_odds():
    task = xb.load_task("breast_cancer.gbt")
    X = task.X[:5]
    e = xb.get_explainer("eli5.explain_prediction").explain(task, X)
    margin = task.model.decision_function(X)
    want = np.where(e.targets == 1, margin, -margin)
    np.testing.assert_allclose(e.attributions.sum(1) + e.meta["base_values"], want, atol=1e-8)
    assert e.meta["output_space"] == "log_odds"


def test_unsupported_estimators_are_skips_with_eli5s_reason(wine):
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, y = wine
    for model in (
        HistGradientBoostingClassifier(max_iter=5).fit(X, y),
        make_pipeline(StandardScaler(), LogisticRegression()).fit(X, y),
    ):
        task = xb.Task.from_sklearn(model, X[:10])
        with pytest.raises(xb.IncompatibleError, match="not supported"):
            xb.get_explainer("eli5.explain_prediction").explain(task, X[:2])
    mlp = xb.load_task("breast_cancer.mlp")
    with pytest.raises(xb.IncompatibleError, match="scikit-learn"):
        xb.get_explainer("eli5.explain_prediction").explain(mlp, mlp.X[:1])


def test_text_pipeline_weights_aligned_to_tokens():
    task = xb.load_task("sentiment.tfidf")
    X = task.X[:6]
    e = xb.get_explainer("eli5.explain_prediction").explain(task, X)
    vec, clf = task.model.steps[0][1], task.model.steps[1][1]
    texts = [" ".join(t) for t in task.token_strings(X)]
    margin = clf.decision_function(vec.transform(texts))
    want = np.where(e.targets == 1, margin, -margin)
    # every word occurrence is one token; the weights add up to the decision function
    np.testing.assert_allclose(e.attributions.sum(1) + e.meta["base_values"], want, atol=1e-8)
    top = np.where(task.valid_mask(X), e.attributions, -np.inf).argmax(1)
    assert task.ground_truth[np.arange(6), top].all()


def test_text_explainer_seeded_and_on_evidence():
    task = xb.load_task("sentiment.transformer")
    X = task.X[:4]
    a = xb.get_explainer("eli5.text", n_samples=200).explain(task, X)
    b = xb.get_explainer("eli5.text", n_samples=200).explain(task, X)
    c = xb.get_explainer("eli5.text", n_samples=200, seed=1).explain(task, X)
    np.testing.assert_array_equal(a.attributions, b.attributions)
    assert not np.allclose(a.attributions, c.attributions)
    top = np.where(task.valid_mask(X), a.attributions, -np.inf).argmax(1)
    assert task.ground_truth[np.arange(4), top].mean() >= 0.75
    assert len(a.meta["surrogate_metrics"]) == 4


def test_permutation_importance_is_global_and_zero_on_dummies():
    task = xb.load_task("synthetic.linear")
    X = task.X[:5]
    e = xb.get_explainer("eli5.permutation_importance", n_iter=3).explain(task, X)
    assert xb.get_explainer("eli5.permutation_importance").capabilities.global_only
    assert (e.attributions == e.attributions[0]).all()  # one global vector per sample
    np.testing.assert_array_equal(e.attributions[0, 3:], 0.0)  # shuffling a dummy changes nothing
    assert (e.attributions[0, :3] > 0).all()
    assert np.argmax(e.attributions[0]) == 0  # the largest weight (2.0) matters most
