"""Sampling and model-agnostic adapters: a row's attributions do not depend on its batch."""

from __future__ import annotations

import numpy as np
import pytest

import xai_bench as xb

CASES = [
    ("shap.kernel", "breast_cancer.mlp", {"n_samples": 100, "max_background": 10}),
    ("shap.permutation", "breast_cancer.mlp", {"max_background": 10}),
    ("shap.exact", "synthetic.linear", {"max_background": 10}),
    ("shap.tree", "breast_cancer.gbt", {"max_background": 20}),
    ("shap.linear", "synthetic.linear", {}),
    ("shap.deep", "digits.cnn", {"max_background": 8}),
    ("shap.gradient", "breast_cancer.mlp", {"n_samples": 20, "max_background": 8}),
    ("shap.partition", "sentiment.transformer", {"max_evals": 60}),
    ("lime.tabular", "breast_cancer.gbt", {"n_samples": 200}),
    ("lime.image", "digits.cnn", {"n_samples": 100}),
    ("lime.text", "sentiment.tfidf", {"n_samples": 100}),
    ("eli5.explain_prediction", "sentiment.tfidf", {}),
    ("eli5.text", "sentiment.transformer", {"n_samples": 100}),
    ("eli5.permutation_importance", "breast_cancer.mlp", {"n_iter": 2, "max_rows": 40}),
    ("random", "breast_cancer.mlp", {}),
    ("random", "sentiment.transformer", {}),
    ("captum.gradient_shap", "breast_cancer.mlp", {"n_samples": 8}),
    ("captum.gradient_shap", "digits.cnn", {"n_samples": 4}),
    ("captum.kernel_shap", "breast_cancer.mlp", {"n_samples": 64}),
    ("captum.lime", "breast_cancer.mlp", {"n_samples": 64}),
    ("captum.shapley_value_sampling", "breast_cancer.mlp", {"n_samples": 4}),
]


@pytest.mark.parametrize(
    ("name", "task_id", "params"), CASES, ids=[f"{c[0]}-{c[1]}" for c in CASES]
)
def test_batch_and_single_rows_agree(name, task_id, params):
    task = xb.load_task(task_id)
    X = np.asarray(task.X)[:3]
    if name == "random":  # a row's draws must not depend on its position either
        X = np.asarray(task.X)[:6]
    explainer = xb.get_explainer(name, **params)
    batch = explainer.explain(task, X).attributions
    for i in range(len(X)):
        one = explainer.explain(task, X[i : i + 1]).attributions[0]
        # float32 models: batched and single forward passes round differently
        np.testing.assert_allclose(one, batch[i], rtol=1e-5, atol=1e-7, err_msg=f"row {i}")
