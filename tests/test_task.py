"""Task constructors and validation: clear errors (found / expected / fix)."""

from __future__ import annotations

import numpy as np
import pytest

import xai_bench as xb
from xai_bench.errors import InvalidInputError


@pytest.fixture(scope="module")
def logreg():
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(0)
    X = rng.standard_normal((60, 4))
    y = (X[:, 0] > 0).astype(int)
    return LogisticRegression().fit(X, y), X, y


def test_from_sklearn_predicts_probabilities(logreg):
    model, X, y = logreg
    task = xb.Task.from_sklearn(model, X, y)
    np.testing.assert_allclose(task.predict(X[:5]), model.predict_proba(X[:5]))
    assert task.modality is xb.Modality.TABULAR and task.n_outputs == 2
    np.testing.assert_array_equal(task.resolve_targets(X[:5]), model.predict(X[:5]))


def test_nan_is_rejected_with_row_and_column(logreg):
    model, X, _ = logreg
    Xn = X.copy()
    Xn[7, 2] = np.nan
    with pytest.raises(InvalidInputError) as info:
        xb.Task.from_sklearn(model, Xn)
    msg = str(info.value)
    assert "row 7" in msg and "column 2" in msg and "Impute" in msg
    assert isinstance(info.value, ValueError)


def test_predict_instead_of_predict_proba_is_caught(logreg):
    model, X, _ = logreg
    task = xb.Task("labels", xb.Modality.TABULAR, X, model.predict)
    with pytest.raises(InvalidInputError, match="predict_proba"):
        task.predict(X[:4])


def test_logits_are_detected(logreg):
    model, X, _ = logreg
    task = xb.Task("logits", xb.Modality.TABULAR, X, model.decision_function)
    with pytest.raises(InvalidInputError):
        task.predict(X[:4])
    two = xb.Task(
        "logits2",
        xb.Modality.TABULAR,
        X,
        lambda b: np.column_stack([-model.decision_function(b), model.decision_function(b)]),
    )
    with pytest.raises(InvalidInputError, match="logits"):
        two.predict(X[:4])


def test_estimator_without_predict_proba():
    from sklearn.svm import SVC

    with pytest.raises(InvalidInputError, match="predict_proba"):
        xb.Task.from_sklearn(SVC(), np.zeros((3, 2)))


def test_target_out_of_range(logreg):
    model, X, _ = logreg
    task = xb.Task.from_sklearn(model, X)
    with pytest.raises(InvalidInputError, match=r"\[0, 1\]"):
        task.resolve_targets(X[:2], [0, 5])


def test_from_torch_restores_train_mode_and_casts_dtype():
    import torch

    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Dropout(0.5), torch.nn.Linear(4, 2))
    net.train()
    X = np.random.default_rng(0).standard_normal((10, 3))  # float64 into a float32 model
    task = xb.Task.from_torch(net, X)
    p1, p2 = task.predict(X), task.predict(X)
    np.testing.assert_array_equal(p1, p2)  # eval mode: dropout off, deterministic
    assert net.training  # the user's mode is restored
    np.testing.assert_allclose(p1.sum(1), 1.0, atol=1e-6)


def test_builtin_tasks_are_deterministic_and_accurate():
    a = xb.load_task("breast_cancer.mlp")
    assert a.meta["accuracy"] > 0.9
    b = xb.load_task("breast_cancer.gbt")
    assert b.meta["accuracy"] > 0.9
    s = xb.load_task("synthetic.linear")
    assert s.ground_truth[:, :3].all() and not s.ground_truth[:, 3:].any()
    # the synthetic model ignores features 3..7 exactly
    x = s.X[:5].copy()
    x2 = x.copy()
    x2[:, 3:] += 10.0
    np.testing.assert_allclose(s.predict(x), s.predict(x2))


def test_cached_model_reloads_identically(tmp_path, monkeypatch):
    import torch

    from xai_bench.tasks._cache import cached_torch

    monkeypatch.setenv("XAI_BENCH_CACHE", str(tmp_path))
    calls = []

    def build():
        torch.manual_seed(1)
        return torch.nn.Linear(2, 2)

    def train(m):
        calls.append(1)
        with torch.no_grad():
            m.weight.add_(1.0)

    m1 = cached_torch("unit", build, train)
    m2 = cached_torch("unit", build, train)
    assert len(calls) == 1
    torch.testing.assert_close(m1.weight, m2.weight)
    assert list(tmp_path.rglob("*.safetensors"))  # weights on disk, no pickle


@pytest.mark.parametrize("classes", [1, 2, 3, 10, 15, 16, 100])
def test_softmax_rows_equals_torch_softmax_and_ignores_the_batch(classes):
    """The scorer's softmax gives torch's numbers to float32 rounding, and a row gets
    bit-identical probabilities whatever batch it is in (dummy features stay exactly 0)."""
    import torch

    from xai_bench.task import softmax_rows

    logits = torch.randn(513, classes, generator=torch.Generator().manual_seed(0)) * 8
    got, ref = softmax_rows(logits), logits.softmax(-1).double().numpy()
    assert got.dtype == np.float64 and got.shape == ref.shape
    np.testing.assert_allclose(
        got, ref, rtol=0, atol=4 * np.finfo(np.float32).eps
    )  # torch: float32
    np.testing.assert_allclose(got.sum(axis=1), 1.0, rtol=0, atol=1e-6)
    for n in (1, 3, 7, 17, 100):
        alone = softmax_rows(logits[:1])
        batch = softmax_rows(logits[:1].repeat(n, 1))
        assert (batch == alone).all()
        mixed = softmax_rows(torch.cat([logits[5 : 5 + n], logits[:1]]))
        assert (mixed[-1] == alone[0]).all()
