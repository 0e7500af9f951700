"""RELIABILITY.md, "Inputs and models" rows, for Task constructors and the SHAP/LIME/ELI5 adapters."""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd
import pytest

import xai_bench as xb

TABULAR = ["shap.kernel", "shap.permutation", "lime.tabular"]
FAST = {
    "shap.kernel": {"n_samples": 64, "max_background": 10},
    "shap.permutation": {"max_background": 10},
    "lime.tabular": {"n_samples": 200},
}


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((120, 5))
    y = (X[:, 0] + X[:, 1] > 0).astype(int)
    return X, y


@pytest.fixture(scope="module")
def clf(data):
    from sklearn.linear_model import LogisticRegression

    X, y = data
    return LogisticRegression().fit(X, y)


def explainer(name):
    return xb.get_explainer(name, **FAST[name])


class NoCalls:
    """A scorer that must not be reached: bad input is caught before any model call."""

    def __init__(self, fn):
        self.fn, self.armed = fn, False

    def __call__(self, X):
        if self.armed:
            raise AssertionError("the model was called with bad input")
        return self.fn(X)


# -- NaN / inf ------------------------------------------------------------------------------
@pytest.mark.parametrize("name", TABULAR)
@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_nan_inf_in_x_named_with_row_and_column(name, bad, data, clf):
    X, _ = data
    task = xb.Task.from_sklearn(clf, X, background=X)
    Xb = X[:4].copy()
    Xb[2, 3] = bad
    with pytest.raises(xb.InvalidInputError, match=r"row 2, column 3"):
        explainer(name).explain(task, Xb)


def test_nan_in_background_named_by_constructors_and_adapters(data, clf):
    import dataclasses

    import torch

    X, _ = data
    bg = X.copy()
    bg[7, 1] = np.nan
    with pytest.raises(xb.InvalidInputError, match=r"background.*row 7, column 1"):
        xb.Task.from_sklearn(clf, X, background=bg)
    with pytest.raises(xb.InvalidInputError, match=r"background.*row 7, column 1"):
        xb.Task.from_torch(torch.nn.Linear(5, 2), X, background=bg)
    with pytest.raises(xb.InvalidInputError, match=r"X.*row 7, column 1"):
        xb.Task.from_sklearn(clf, bg)
    # a Task built by hand skips the constructors: the adapters still name the cell
    task = dataclasses.replace(xb.Task.from_sklearn(clf, X), background=bg)
    for name in TABULAR:
        with pytest.raises(xb.InvalidInputError, match=r"background.*row 7, column 1"):
            explainer(name).explain(task, X[:2])


# -- strings / categoricals -----------------------------------------------------------------
@pytest.mark.parametrize("name", TABULAR)
def test_object_columns_listed(name, data, clf):
    X, _ = data
    task = xb.Task.from_sklearn(clf, X)
    df = pd.DataFrame(X[:3], columns=[f"c{j}" for j in range(5)])
    df["c2"] = ["a", "b", "c"]
    df["c4"] = pd.Categorical(["x", "y", "x"])
    with pytest.raises(xb.InvalidInputError, match=r"non-numeric columns \['c2', 'c4'\]"):
        explainer(name).explain(task, df)
    arr = X[:3].astype(object)
    arr[:, 1] = "s"
    with pytest.raises(xb.InvalidInputError, match=r"columns \[1\]"):
        explainer(name).explain(task, arr)
    with pytest.raises(xb.InvalidInputError, match="Encode categorical"):
        xb.Task.from_sklearn(clf, df)


# -- DataFrame vs numpy ---------------------------------------------------------------------
@pytest.mark.parametrize("name", [*TABULAR, "shap.linear", "eli5.explain_prediction"])
def test_dataframe_and_numpy_give_the_same_result_and_keep_names(name, data):
    from sklearn.linear_model import LogisticRegression

    X, y = data
    cols = ["age", "bmi", "bp", "s1", "s2"]
    df = pd.DataFrame(X, columns=cols)
    model = LogisticRegression().fit(df, y)  # fitted on a frame: sklearn checks the names
    task = xb.Task.from_sklearn(model, df, y, background=df)
    assert task.feature_names == tuple(cols)
    e = xb.get_explainer(name, **FAST.get(name, {}))
    a = e.explain(task, X[:3]).attributions
    b = e.explain(task, df.iloc[:3]).attributions
    c = e.explain(task, df.iloc[:3][cols[::-1]]).attributions  # columns put back in order
    d = e.explain(task, X[:3].astype(np.float32)).attributions
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(a, c)
    np.testing.assert_allclose(a, d, atol=1e-6)
    with pytest.raises(xb.InvalidInputError, match=r"missing \['bp'\] and unexpected \['xx'\]"):
        e.explain(task, df.iloc[:3].rename(columns={"bp": "xx"}))


# -- predict instead of predict_proba, logits -------------------------------------------------
@pytest.mark.parametrize("name", TABULAR)
def test_labels_instead_of_probabilities_rejected(name, data, clf):
    X, _ = data
    for labels in (clf.predict, lambda Z: clf.predict(Z)[:, None]):
        task = xb.Task(name="labels", modality="tabular", X=X, predict_proba=labels)
        with pytest.raises(xb.InvalidInputError, match="predict_proba"):
            explainer(name).explain(task, X[:2])
    from sklearn.linear_model import LinearRegression  # a regressor is a regression task

    reg = xb.Task.from_sklearn(LinearRegression().fit(X, X[:, 0]), X)
    assert reg.output_kind == "regression"


@pytest.mark.parametrize("name", TABULAR)
def test_logits_detected(name, data, clf):
    X, _ = data
    task = xb.Task(
        name="logits", modality="tabular", X=X,
        predict_proba=lambda Z: np.column_stack([-clf.decision_function(Z), clf.decision_function(Z)]),
    )  # fmt: skip
    with pytest.raises(xb.InvalidInputError, match="logits"):
        explainer(name).explain(task, X[:2])


# -- constant feature -----------------------------------------------------------------------
@pytest.mark.parametrize("name", [*TABULAR, "shap.exact"])
def test_constant_feature_gets_zero_and_is_flagged(name, data):
    from sklearn.linear_model import LogisticRegression

    X, y = data
    Xc = X.copy()
    Xc[:, 2] = 1.5
    task = xb.Task.from_sklearn(LogisticRegression().fit(Xc, y), Xc, background=Xc)
    e = xb.get_explainer(name, **FAST.get(name, {})).explain(task, Xc[:4])
    assert e.meta["constant_features"] == [2]
    np.testing.assert_array_equal(e.attributions[:, 2], 0.0)
    assert np.isfinite(e.attributions).all() and np.abs(e.attributions[:, :2]).max() > 0


# -- empty input ----------------------------------------------------------------------------
@pytest.mark.parametrize("name", [*TABULAR, "shap.linear", "eli5.explain_prediction"])
def test_empty_input_rejected_before_any_model_call(name, data, clf):
    X, _ = data
    task = xb.Task.from_sklearn(clf, X)
    guard = NoCalls(task.predict_proba)
    import dataclasses

    task = dataclasses.replace(task, predict_proba=guard)
    guard.armed = True
    for bad in (X[:0], X[0], pd.DataFrame(columns=[f"x{j}" for j in range(5)], dtype=float)):
        with pytest.raises(xb.InvalidInputError, match="empty|1-D"):
            xb.get_explainer(name, **FAST.get(name, {})).explain(task, bad)
    with pytest.raises(xb.InvalidInputError, match="no inputs"):
        xb.Task(name="empty", modality="tabular", X=X[:0], predict_proba=clf.predict_proba)


@pytest.mark.parametrize("name", ["lime.text", "eli5.text", "shap.partition"])
def test_empty_and_punctuation_only_text(name):
    task = xb.load_task("sentiment.tfidf")
    X = task.X[:2].copy()
    X[1] = task.pad_token_id
    with pytest.raises(xb.InvalidInputError, match="row 1 has no tokens"):
        xb.get_explainer(name).explain(task, X)
    dot = task.tokenizer.convert_tokens_to_ids(".")
    X[1, 0] = dot  # a text that is one punctuation mark: LIME says "low >= high" on its own
    params = {"max_evals": 20} if name == "shap.partition" else {"n_samples": 50}
    if name == "eli5.text":  # every perturbation of one word is empty: a clear error instead
        with pytest.raises(xb.InvalidInputError, match=r"rows \[1\] have a single token"):
            xb.get_explainer(name, **params).explain(task, X)
        return
    e = xb.get_explainer(name, **params).explain(task, X)
    assert np.isfinite(e.attributions).all() and e.mask[1].sum() == 1
    if name == "shap.partition":  # one player gets f(x) - f(masked) exactly
        masked = X[1:].copy()
        masked[0, 0] = task.mask_token_id
        t = e.targets[1]
        want = task.predict(X[1:])[0, t] - task.predict(masked)[0, t]
        assert e.attributions[1, 0] == pytest.approx(want)


# -- thousands of features ------------------------------------------------------------------
def test_thousands_of_features_memory_estimated_and_capped():
    import torch

    rng = np.random.default_rng(0)
    X = rng.standard_normal((60, 2000))
    task = xb.Task.from_torch(torch.nn.Linear(2000, 2), X, background=X)
    e = xb.get_explainer("shap.kernel", n_samples=500, max_memory_mb=50).explain(task, X[:1])
    # 500 coalitions x 2002 columns x 8 bytes = 8 MB per background row: 6 rows fit in 50 MB
    assert e.meta["background_rows"] == 6
    assert "to stay under 50" in e.meta["memory_capped"]
    assert e.meta["memory_estimate_mb"] == pytest.approx(50 * 500 * 2002 * 8 / 2**20, abs=0.1)
    assert np.isfinite(e.attributions).all()
    # shap's default budget (2*2000 + 2048 coalitions) is estimated before anything is allocated
    default = xb.get_explainer("shap.kernel")
    assert default.coalitions(2000) == 6048


# -- unknown words --------------------------------------------------------------------------
def test_unknown_words_recorded_and_aligned():
    task = xb.load_task("sentiment.tfidf")
    X = task.X[:1].copy()
    X[0, 0] = task.tokenizer.unk_token_id
    e = xb.get_explainer("lime.text", n_samples=100).explain(task, X)
    assert e.meta["unknown_token_positions"] == [[0]]
    assert e.attributions.shape == X.shape


# -- target range ---------------------------------------------------------------------------
@pytest.mark.parametrize("name", TABULAR)
def test_target_out_of_range(name, data, clf):
    X, _ = data
    task = xb.Task.from_sklearn(clf, X)
    with pytest.raises(xb.InvalidInputError, match=r"\[0, 1\]"):
        explainer(name).explain(task, X[:2], targets=2)


@pytest.mark.parametrize("name", TABULAR)
def test_one_scalar_per_batch_rejected(name, data, clf):
    X, _ = data
    task = xb.Task(
        name="scalar", modality="tabular", X=X,
        predict_proba=lambda Z: clf.predict_proba(Z)[:, 1].mean(),
    )  # fmt: skip
    with pytest.raises(xb.InvalidInputError, match=r"shape \(\) for 2 input rows"):
        explainer(name).explain(task, X[:2])


# -- missing optional library ---------------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "module", "extra"),
    [("shap.kernel", "shap", "shap"), ("lime.tabular", "lime.lime_tabular", "lime"),
     ("eli5.explain_prediction", "eli5", "eli5")],
)  # fmt: skip
def test_missing_optional_library_names_the_extra(name, module, extra, monkeypatch, data, clf):
    X, _ = data
    task = xb.Task.from_sklearn(clf, X)
    e = xb.get_explainer(name)
    monkeypatch.setitem(sys.modules, module, None)  # what an absent package looks like
    with pytest.raises(xb.MissingDependencyError) as info:
        e.explain(task, X[:1])
    assert f"xai-bench[{extra}] is not installed" in str(info.value)
    assert f"pip install 'xai-bench[{extra}]'" in str(info.value)
