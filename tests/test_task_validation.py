"""Task constructors refuse inputs that do not fit together, where they enter."""

from __future__ import annotations

import numpy as np
import pytest

import xai_bench as xb
from xai_bench.errors import InvalidInputError

torch = pytest.importorskip("torch")


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((40, 3))
    return X, (X[:, 0] > 0).astype(int)


@pytest.fixture(scope="module")
def clf(data):
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression().fit(*data)


@pytest.fixture(scope="module")
def net():
    torch.manual_seed(0)
    return torch.nn.Linear(3, 2)


def _proba(X):
    s = 1 / (1 + np.exp(-np.asarray(X, dtype=np.float64).sum(1)))
    return np.column_stack([1 - s, s])


def _builders(clf, net):
    return {
        "sklearn": lambda X, **kw: xb.Task.from_sklearn(clf, X, **kw),
        "torch": lambda X, **kw: xb.Task.from_torch(net, X, **kw),
        "task": lambda X, **kw: xb.Task("t", "tabular", X, _proba, **kw),
    }


BUILDERS = ["sklearn", "torch", "task"]


@pytest.mark.parametrize("how", BUILDERS)
def test_complex_x_is_refused(how, data, clf, net):
    X = data[0] + 1j  # a float cast would drop the imaginary part with only a warning
    with pytest.raises(InvalidInputError, match="complex numbers"):
        _builders(clf, net)[how](X)


@pytest.mark.parametrize("how", BUILDERS)
@pytest.mark.parametrize("dtype", ["datetime64[D]", "timedelta64[s]"])
def test_datetime_x_is_refused(how, dtype, clf, net):
    X = np.arange(12).reshape(4, 3).astype(dtype)  # a cast would count days since 1970
    with pytest.raises(InvalidInputError, match="dates|durations"):
        _builders(clf, net)[how](X)


def test_complex_images_are_refused():
    conv = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(4, 2))
    with pytest.raises(InvalidInputError, match="complex"):
        xb.Task.from_torch(conv, np.ones((3, 1, 2, 2)) * (1 + 1j))


@pytest.mark.parametrize("how", BUILDERS)
def test_feature_names_of_the_wrong_length(how, data, clf, net):
    with pytest.raises(InvalidInputError, match="2 feature names for 3 features"):
        _builders(clf, net)[how](data[0], feature_names=["a", "b"])


@pytest.mark.parametrize("how", BUILDERS)
@pytest.mark.parametrize("shape", [(10, 4), (10,), (10, 3, 1)])
def test_background_of_the_wrong_shape(how, shape, data, clf, net):
    with pytest.raises(InvalidInputError, match=r"background of shape|background is 1-D"):
        _builders(clf, net)[how](data[0], background=np.zeros(shape))


@pytest.mark.parametrize("baseline", [np.zeros(4), np.zeros((2, 3))])
def test_baseline_that_does_not_fit_one_sample(baseline, data):
    with pytest.raises(InvalidInputError, match="baseline of shape"):
        xb.Task("t", "tabular", data[0], _proba, baseline=baseline)
    # a number or one value per feature is fine
    assert xb.Task("t", "tabular", data[0], _proba, baseline=0.5).removal_value().shape == (3,)


def test_one_dimensional_x_in_from_torch(net):
    with pytest.raises(InvalidInputError, match=r"1-D.*reshape\(-1, 1\)"):
        xb.Task.from_torch(torch.nn.Linear(1, 2), np.arange(5.0))
    with pytest.raises(InvalidInputError, match="1-D"):
        xb.Task.from_torch(net, np.arange(3.0))
